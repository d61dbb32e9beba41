"""Initial values for weights, in place, with torch.nn.init's names, arguments and formulas.

Why it matters (chapter 08): a layer's output variance is fan_in * Var(w) * E[x^2],
and its backward signal's variance is fan_out * Var(w) * E[g^2]. Choose Var(w)
so that neither grows nor shrinks from layer to layer and a deep network's
activations and gradients keep their scale:

* Xavier/Glorot (tanh, sigmoid, linear): Var(w) = gain^2 * 2 / (fan_in + fan_out),
  a compromise between the forward (fan_in) and the backward (fan_out) condition.
* Kaiming/He (ReLU family): Var(w) = gain^2 / fan, with gain^2 = 2 for ReLU
  because ReLU zeroes half of its inputs, halving E[x^2].

Every function changes ``tensor.data`` in place (under ``no_grad``, so no graph
records it; the tensor's version counter moves, as PyTorch's does) and returns
the tensor. ``generator``: a ``np.random.Generator``, an int seed, or None (fresh
entropy): the same habit as ``rng=`` in the rest of bpkit (PyTorch takes a
``torch.Generator`` here). The draws follow PyTorch's distributions, not its
random stream: the numbers differ from torch's, the statistics do not.

Fans as PyTorch computes them: for a weight of shape (out, in, *kernel), fan_in
= in * prod(kernel) and fan_out = out * prod(kernel); a Linear weight (out, in)
has fan_in = in, fan_out = out.
"""
import math
import numbers
import warnings

import numpy as np

from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.grad_mode import no_grad
from bpkit.tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "ones_", "zeros_", "eye_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "sigmoid")
_KNOWN = (*_LINEAR, "tanh", "relu", "leaky_relu", "selu")


def calculate_gain(nonlinearity, param=None):
    """The factor by which an activation shrinks the signal's scale, to be undone by the init.

    linear, conv and sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu:
    sqrt(2 / (1 + negative_slope^2)) with negative_slope = param (default 0.01);
    selu: 3/4. The values are PyTorch's (sigmoid's 1 is its convention, not a derivation).
    """
    if nonlinearity in _LINEAR:
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, (bool, np.bool_)):
            slope = param
        else:
            raise BpkitValueError(f"negative_slope {param!r:.40} not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise BpkitValueError(f"Unsupported nonlinearity {nonlinearity!r:.40}; known: {', '.join(_KNOWN)}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): (in * prod(kernel), out * prod(kernel))."""
    shape = _tensor(tensor, "_calculate_fan_in_and_fan_out").shape
    if len(shape) < 2:
        raise ShapeError(f"Fan in and fan out can not be computed for tensor with fewer than 2 "
                         f"dimensions (got shape {shape})")
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise BpkitValueError(f"Mode {mode!r:.40} not supported, please use one of fan_in, fan_out")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, generator=None):
    """Fill with draws from U(a, b)."""
    return _draw(tensor, "uniform_", lambda rng, shape: rng.uniform(a, b, shape), generator)


def normal_(tensor, mean=0.0, std=1.0, generator=None):
    """Fill with draws from N(mean, std^2)."""
    return _draw(tensor, "normal_", lambda rng, shape: rng.normal(mean, std, shape), generator)


def constant_(tensor, val):
    """Fill with the number val."""
    t = _tensor(tensor, "constant_")
    with no_grad():
        return t.fill_(val)


def ones_(tensor):
    """Fill with 1."""
    return constant_(tensor, 1.0)


def zeros_(tensor):
    """Fill with 0."""
    return constant_(tensor, 0.0)


def eye_(tensor):
    """Fill a 2-D tensor with the identity matrix (ones on the diagonal, as many as fit)."""
    t = _tensor(tensor, "eye_")
    if t.ndim != 2:
        raise ShapeError(f"eye_: Only tensors with 2 dimensions are supported (got shape {t.shape})")
    with no_grad():
        return t.copy_(np.eye(*t.shape))


def xavier_uniform_(tensor, gain=1.0, generator=None):
    """Fill with U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, 2010).

    The variance a^2 / 3 = gain^2 * 2 / (fan_in + fan_out) balances the forward and backward passes.
    """
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain=1.0, generator=None):
    """Fill with N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Fill with U(-bound, bound), bound = sqrt(3) * gain / sqrt(fan) (He et al., 2015).

    gain = calculate_gain(nonlinearity, a), ``a`` the negative slope of a leaky ReLU
    (0 gives ReLU's sqrt(2)). mode="fan_in" keeps the forward activations' variance,
    "fan_out" the backward gradients'.
    """
    return _kaiming(tensor, a, mode, nonlinearity, generator, "kaiming_uniform_")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """Fill with N(0, std^2), std = gain / sqrt(fan) (He et al., 2015); arguments as kaiming_uniform_."""
    return _kaiming(tensor, a, mode, nonlinearity, generator, "kaiming_normal_")


def _kaiming(tensor, a, mode, nonlinearity, generator, op):
    t = _tensor(tensor, op)
    if 0 in t.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return t
    std = calculate_gain(nonlinearity, a) / math.sqrt(_calculate_correct_fan(t, mode))
    if op == "kaiming_uniform_":
        bound = math.sqrt(3.0) * std
        return uniform_(t, -bound, bound, generator)
    return normal_(t, 0.0, std, generator)


def orthogonal_(tensor, gain=1, generator=None):
    """Fill with a (semi-)orthogonal matrix times gain (Saxe et al., 2013), PyTorch's recipe.

    The tensor is viewed as (rows, cols) = (shape[0], numel // shape[0]); a Gaussian
    matrix's QR factor Q, with the signs fixed by R's diagonal so the draw is uniform
    over orthogonal matrices, fills it. All singular values are 1: the layer keeps
    every direction's length, forward and backward.
    """
    t = _tensor(tensor, "orthogonal_")
    if t.ndim < 2:
        raise ShapeError(f"orthogonal_: Only tensors with 2 or more dimensions are supported "
                         f"(got shape {t.shape})")
    if t.data.size == 0:
        return t
    _float(t, "orthogonal_")
    rows = t.shape[0]
    cols = t.data.size // rows
    flat = np.random.default_rng(generator).normal(0.0, 1.0, (rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    with no_grad():
        return t.copy_((gain * q).reshape(t.shape))


def _tensor(tensor, op):
    if not isinstance(tensor, Tensor):
        hint = "; wrap it: bpkit.Tensor(array, requires_grad=True)" if isinstance(tensor, np.ndarray) else ""
        raise BpkitTypeError(f"init.{op}: expected a Tensor (e.g. a layer's weight), "
                             f"got {type(tensor).__name__}{hint}")
    return tensor


def _float(t, op):
    if t.data.dtype.kind != "f":
        raise BpkitTypeError(f"init.{op}: random initial values need a float tensor, this one has "
                             f"dtype {t.data.dtype}")


def _draw(tensor, op, sample, generator):
    """Fill tensor in place with sample(rng, shape), drawn in float64 and cast to its dtype."""
    t = _tensor(tensor, op)
    _float(t, op)
    values = sample(np.random.default_rng(generator), t.shape)
    with no_grad():
        return t.copy_(values)
