"""Convolution and pooling on Tensors, as torch.nn.functional's: conv1d, conv2d, max_pool1d/2d, avg_pool1d/2d.

These functions check and normalize their arguments (one clear line per
mistake), then call the primitives of ``bpkit.primitives_conv``, where each
forward and its backward stand side by side. Layouts as PyTorch's: (N, C, L)
and (N, C, H, W), or unbatched (C, L) and (C, H, W); weights (C_out, C_in, k)
and (C_out, C_in, kH, kW). The 1-D functions run the 2-D primitives on a
height of 1. ``bpkit.functional`` re-exports all of them.
"""
import numbers

import numpy as np

from bpkit import primitives_conv as PC
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.tensor import Tensor, _nary, _unary

__all__ = ["conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation) of (N, C_in, H, W) input with (C_out, C_in, kH, kW) weight.

    stride, padding, dilation: an int or a pair (height, width); padding may
    also be "valid" (none) or "same" (output as large as the input; stride 1
    only), as in PyTorch. Zero padding. Returns (N, C_out, H_out, W_out), with
    H_out = floor((H + 2 pad - dilation (kH - 1) - 1) / stride) + 1.
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation) of (N, C_in, L) input with (C_out, C_in, k) weight -> (N, C_out, L_out).

    Arguments as conv2d's, each an int (or a 1-tuple); padding may be "valid" or "same".
    """
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The largest entry of each kernel_size window; stride defaults to kernel_size.

    Padding (at most half the kernel, as in PyTorch) never wins: it
    counts as -inf. The gradient of each window goes to one entry, its first
    maximum in row-major order.
    """
    return _pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The largest entry of each window of (N, C, L) input; as max_pool2d along one axis."""
    return _pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """The mean of each kernel_size window; stride defaults to kernel_size.

    Zero padding (at most half the kernel). count_include_pad=True (PyTorch's
    default) divides every window by kH * kW, padding included; False divides by
    the number of real entries in the window.
    """
    return _pool("avg_pool2d", 2, input, kernel_size, stride, padding, 1, ceil_mode, False,
                 count_include_pad, divisor_override)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """The mean of each window of (N, C, L) input; as avg_pool2d along one axis."""
    return _pool("avg_pool1d", 1, input, kernel_size, stride, padding, 1, ceil_mode, False, count_include_pad)


# ------------------------------------------------------------------ argument checks


def _ints(op, name, value, dims, minimum):
    """An int or a tuple of ``dims`` ints, each >= minimum, as a tuple of dims ints."""
    items = value if isinstance(value, (tuple, list)) else (value,) * dims
    if len(items) != dims or not all(isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))
                                     for v in items):
        raise BpkitTypeError(f"{op}: {name} must be an int or a tuple of {dims} ints, got {value!r:.40}")
    if any(v < minimum for v in items):
        word = "positive" if minimum == 1 else "non-negative"
        raise BpkitValueError(f"{op}: {name} must be {word}, got {value!r:.40}")
    return tuple(int(v) for v in items)


def _input(op, dims, input, dtype=None):
    """input as a Tensor of rank dims + 2 (batched) and whether it came unbatched."""
    if not isinstance(input, Tensor):
        arr = np.asarray(input)
        input = Tensor(arr, dtype=dtype if dtype is not None and arr.dtype.kind != "f" else None)
    layout = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
    if input.ndim not in (dims + 1, dims + 2):
        raise ShapeError(f"{op}: expected {dims + 1}-D (unbatched) or {dims + 2}-D input {layout}, "
                         f"got {input.ndim}-D input of shape {input.shape}")
    unbatched = input.ndim == dims + 1
    if unbatched:
        input = input.reshape((1,) + input.shape)
    if dims == 1:
        input = input.reshape(input.shape[:2] + (1,) + input.shape[2:])
    return input, unbatched


def _output(out, dims, unbatched):
    if dims == 1:
        out = out.reshape(out.shape[:2] + out.shape[3:])
    return out.reshape(out.shape[1:]) if unbatched else out


def _conv(op, dims, input, weight, bias, stride, padding, dilation, groups):
    if not isinstance(weight, Tensor):
        weight = Tensor(weight)
    if weight.ndim != dims + 2:
        shape = "(C_out, C_in, k)" if dims == 1 else "(C_out, C_in, kH, kW)"
        raise ShapeError(f"{op}: weight must be {dims + 2}-D {shape}, got shape {weight.shape}")
    if groups != 1:
        raise BpkitValueError(f"{op}: groups={groups!r:.20} is not supported by bpkit (groups=1 only)")
    x, unbatched = _input(op, dims, input, weight.dtype)
    if x.dtype != weight.dtype:
        raise BpkitTypeError(f"{op}: input is {x.dtype} but weight is {weight.dtype}; use one dtype for both "
                             f"(e.g. build the layer with dtype={x.dtype.name}, or convert the input with "
                             f"x.astype(np.{weight.dtype.name}))")
    if x.shape[1] != weight.shape[1]:
        raise ShapeError(f"{op}: input has {x.shape[1]} channels but the weight expects {weight.shape[1]} "
                         f"(weight shape {weight.shape} is (C_out, C_in, {'k' if dims == 1 else 'kH, kW'}))")
    if bias is not None:
        bias = bias if isinstance(bias, Tensor) else Tensor(bias, dtype=weight.dtype)
        if bias.shape != (weight.shape[0],):
            raise ShapeError(f"{op}: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    kernel = weight.shape[2:]
    stride = _ints(op, "stride", stride, dims, 1)
    dilation = _ints(op, "dilation", dilation, dims, 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise BpkitValueError(f"{op}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r:.20}")
        if padding == "same" and any(s != 1 for s in stride):
            raise BpkitValueError(f"{op}: padding='same' is not supported for strided convolutions")
        totals = [0 if padding == "valid" else d * (k - 1) for k, d in zip(kernel, dilation)]
        pads = [(t // 2, t - t // 2) for t in totals]
    else:
        pads = [(p, p) for p in _ints(op, "padding", padding, dims, 0)]
    x_size = x.shape[2:] if dims == 2 else x.shape[3:]
    _fits(op, x_size, kernel, pads, dilation)
    if dims == 1:
        weight = weight.reshape(weight.shape[:2] + (1,) + weight.shape[2:])
        stride, dilation, pads = (1,) + stride, (1,) + dilation, [(0, 0)] + pads
    out = _nary(op, PC.conv2d, (x, weight, bias), stride=stride, padding=tuple(pads), dilation=dilation)
    return _output(out, dims, unbatched)


def _fits(op, size, kernel, pads, dilation):
    """The dilated kernel must fit in the padded input along every axis."""
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padded = [n + a + b for n, (a, b) in zip(size, pads)]
    if any(s > p for s, p in zip(spans, padded)):
        dims = "x".join(map(str, spans))
        raise ShapeError(f"{op}: the kernel (spanning {dims} with its dilation) is larger than the padded "
                         f"input ({'x'.join(map(str, padded))})")


def _pool(op, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
          count_include_pad=True, divisor_override=None):
    if ceil_mode:
        raise BpkitValueError(f"{op}: ceil_mode=True is not supported by bpkit (floor only)")
    if return_indices:
        raise BpkitValueError(f"{op}: return_indices=True is not supported by bpkit")
    if divisor_override is not None:
        raise BpkitValueError(f"{op}: divisor_override is not supported by bpkit")
    x, unbatched = _input(op, dims, input)
    if x.dtype.kind != "f":
        raise BpkitTypeError(f"{op}: pooling needs a float input, got {x.dtype}")
    kernel = _ints(op, "kernel_size", kernel_size, dims, 1)
    stride = kernel if stride is None or stride == () else _ints(op, "stride", stride, dims, 1)
    pad = _ints(op, "padding", padding, dims, 0)
    dilation = _ints(op, "dilation", dilation, dims, 1)
    for p, k in zip(pad, kernel):
        if p > k // 2:
            raise BpkitValueError(f"{op}: pad should be smaller than or equal to half of kernel size, but got "
                                  f"padding={padding!r:.20} and kernel_size={kernel_size!r:.20}")
    pads = [(p, p) for p in pad]
    _fits(op, x.shape[2:] if dims == 2 else x.shape[3:], kernel, pads, dilation)
    if dims == 1:
        kernel, stride, dilation, pads = (1,) + kernel, (1,) + stride, (1,) + dilation, [(0, 0)] + pads
    if op.startswith("max"):
        out = _unary(op, PC.max_pool2d, x, kernel, stride, tuple(pads), dilation)
    else:
        out = _unary(op, PC.avg_pool2d, x, kernel, stride, tuple(pads), bool(count_include_pad))
    return _output(out, dims, unbatched)
