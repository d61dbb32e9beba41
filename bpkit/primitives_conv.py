"""Convolution and pooling primitives: each forward (im2col) and its vector-Jacobian product, side by side.

Same conventions as ``bpkit.primitives`` (plain numpy arrays in, ``(out, vjp)``
out, ``@reads`` for the version checks). Everything is 2-D, layout (N, C, H, W)
and weights (C_out, C_in, kH, kW); the 1-D functions of ``bpkit.convolution``
run these on (N, C, 1, L). Arguments arrive checked and normalized: stride and
dilation as pairs, padding as ((top, bottom), (left, right)).

The shared idea: a window view. ``_windows(xp, ...)`` is a strided view of the
padded input, shape (N, C, H_out, W_out, kH, kW), no copy: entry [n, c, i, j,
a, b] is the input pixel that kernel offset (a, b) sees at output (i, j).

* convolution forward: copy the view into the im2col matrix (per example: one
  row per number an output position sees, C_in * kH * kW of them; one column
  per output position, H_out * W_out) and multiply by the flattened weight:
  one (batched) matrix product.
* backward: d weight = g @ cols^T summed over the batch (the same matrix again:
  a shared weight's gradient sums over every position it was used at); d input: weight^T @ g gives
  each position's gradient for the numbers it saw; they are added back to the
  input one kernel offset at a time, each a strided slice of the padded input
  (kH * kW vectorized additions; never np.add.at, which is slow). For stride 1
  that sum *is* a full convolution of g with the flipped kernel.
* pooling: the same view, reduced over its last two axes; the backward adds
  back per kernel offset too.
"""
import numpy as np

from bpkit.primitives import reads

__all__ = ["conv2d", "max_pool2d", "avg_pool2d", "out_size", "PRIMITIVES"]


def out_size(size, k, stride, pad_total, dilation):
    """Output length along one axis: floor((size + pads - dilation * (k - 1) - 1) / stride) + 1."""
    return (size + pad_total - dilation * (k - 1) - 1) // stride + 1


def _pad(x, padding, value=0.0):
    (pt, pb), (pl, pr) = padding
    if pt == pb == pl == pr == 0:
        return x
    return np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=value)


def _windows(xp, kernel, stride, dilation, out_hw):
    """The (N, C, H_out, W_out, kH, kW) strided view of padded input xp (no copy)."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    (kh, kw), (st_h, st_w), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    return np.lib.stride_tricks.as_strided(
        xp, shape=(n, c, ho, wo, kh, kw),
        strides=(sn, sc, sh * st_h, sw * st_w, sh * dh, sw * dw), writeable=False)


def _offset_slices(kernel, stride, dilation, out_hw):
    """For each kernel offset (a, b): the strided slice of the padded input it reads at every output."""
    (kh, kw), (st_h, st_w), (dh, dw), (ho, wo) = kernel, stride, dilation, out_hw
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + st_h * (ho - 1) + 1, st_h)
            cols = slice(b * dw, b * dw + st_w * (wo - 1) + 1, st_w)
            yield a, b, (slice(None), slice(None), rows, cols)


def _unpad(dxp, padding, shape):
    (pt, _), (pl, _) = padding
    return dxp[:, :, pt:pt + shape[2], pl:pl + shape[3]]


def _geometry(x_shape, kernel, stride, padding, dilation):
    (pt, pb), (pl, pr) = padding
    ho = out_size(x_shape[2], kernel[0], stride[0], pt + pb, dilation[0])
    wo = out_size(x_shape[3], kernel[1], stride[1], pl + pr, dilation[1])
    return ho, wo


@reads("weight", "x", "")
def conv2d(x, weight, bias, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), need=(True, True, True)):
    """out[n, o, i, j] = bias[o] + sum over c, a, b of weight[o, c, a, b] * xp[n, c, i*s + a*d, j*s + b*d].

    x: (N, C_in, H, W), weight: (C_out, C_in, kH, kW), bias: (C_out,) or None
    -> out: (N, C_out, H_out, W_out); xp is x zero-padded. (A cross-correlation,
    as in every deep-learning library.) dx, dweight, dbias as in the module docstring.
    The im2col matrix is laid out (N, C_in * kH * kW, H_out * W_out): the copy
    then reads whole rows of the input, and out = weight @ cols is already NCHW.
    """
    n = x.shape[0]
    c_out, c_in, kh, kw = weight.shape
    ho, wo = _geometry(x.shape, (kh, kw), stride, padding, dilation)
    xp = _pad(x, padding)
    win = _windows(xp, (kh, kw), stride, dilation, (ho, wo))                 # (N, C, Ho, Wo, kH, kW), a view
    cols = np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c_in * kh * kw, ho * wo)
    w2 = weight.reshape(c_out, -1)
    out = w2 @ cols                                                          # (N, C_out, Ho*Wo)
    if bias is not None:
        out += bias[:, None]
    out = out.reshape(n, c_out, ho, wo)

    def vjp(g):
        g3 = g.reshape(n, c_out, ho * wo)
        dx = dw = db = None
        if need[1]:
            dw = np.matmul(g3, cols.transpose(0, 2, 1)).sum(axis=0).reshape(weight.shape)
        if need[2] and bias is not None:
            db = g3.sum(axis=(0, 2))
        if need[0]:
            dcols = (w2.T @ g3).reshape(n, c_in, kh, kw, ho, wo)            # each position's share, per offset
            dxp = np.zeros(xp.shape, dtype=dcols.dtype)
            for a, b, where in _offset_slices((kh, kw), stride, dilation, (ho, wo)):
                dxp[where] += dcols[:, :, a, b]
            dx = _unpad(dxp, padding, x.shape)
        return dx, dw, db

    return out, vjp


@reads("x out")
def max_pool2d(x, kernel=(2, 2), stride=(2, 2), padding=((0, 0), (0, 0)), dilation=(1, 1)):
    """The largest entry of each window (padding counts as -inf, so it never wins).

    dx: each window's gradient goes to one entry, its maximum; on a tie the first
    maximum in the window in row-major order (np.argmax's rule), so the total
    gradient is conserved. Overlapping windows (stride < kernel) add up.
    """
    ho, wo = _geometry(x.shape, kernel, stride, padding, dilation)
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad(x, padding, fill)
    win = _windows(xp, kernel, stride, dilation, (ho, wo))
    flat = win.reshape(*win.shape[:4], -1)          # copies: (N, C, Ho, Wo, kH * kW)
    arg = flat.argmax(axis=-1)
    out = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def vjp(g):
        dxp = np.zeros(xp.shape, dtype=g.dtype)
        kw = kernel[1]
        for a, b, where in _offset_slices(kernel, stride, dilation, (ho, wo)):
            dxp[where] += np.where(arg == a * kw + b, g, 0)
        return (_unpad(dxp, padding, x.shape),)

    return out, vjp


@reads("")
def avg_pool2d(x, kernel=(2, 2), stride=(2, 2), padding=((0, 0), (0, 0)), count_include_pad=True):
    """The mean of each window. Padding is zeros; count_include_pad=False divides by the real entries only.

    dx: each window's gradient, divided by its divisor, goes to every entry of the window.
    """
    ho, wo = _geometry(x.shape, kernel, stride, padding, (1, 1))
    xp = _pad(x, padding)
    win = _windows(xp, kernel, stride, (1, 1), (ho, wo))
    if count_include_pad:
        divisor = np.asarray(kernel[0] * kernel[1], dtype=x.dtype)
    else:  # how many real (unpadded) entries each window covers
        ones = _pad(np.ones((1, 1) + x.shape[2:], dtype=x.dtype), padding)
        divisor = _windows(ones, kernel, stride, (1, 1), (ho, wo)).sum(axis=(-2, -1))
    out = (win.sum(axis=(-2, -1)) / divisor).astype(x.dtype, copy=False)

    def vjp(g):
        share = g / divisor
        dxp = np.zeros(xp.shape, dtype=g.dtype)
        for _, _, where in _offset_slices(kernel, stride, (1, 1), (ho, wo)):
            dxp[where] += share
        return (_unpad(dxp, padding, x.shape),)

    return out, vjp


PRIMITIVES = {"conv2d": conv2d, "max_pool2d": max_pool2d, "avg_pool2d": avg_pool2d}
