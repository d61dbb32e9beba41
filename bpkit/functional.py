"""Layers and losses as functions: linear, relu, leaky_relu, gelu, tanh, sigmoid, softmax,
log_softmax, nll_loss, cross_entropy, mse_loss, l1_loss, binary_cross_entropy_with_logits,
dropout, batch_norm, layer_norm; and, from
``bpkit.convolution``, conv1d, conv2d, max_pool1d, max_pool2d, avg_pool1d, avg_pool2d.

Every function here is one primitive of ``bpkit.primitives`` (``linear``,
``log_softmax``) or a composition of them, so none needs a backward of its
own: autograd derives it, and the tests check the result against the closed
form (e.g. d cross_entropy / d logits = (p - onehot) / N) or, for the
normalizations, against finite differences.
Names and conventions follow ``torch.nn.functional``.
"""
import numbers

import numpy as np

from bpkit import primitives as P
from bpkit.errors import BpkitIndexError, BpkitTypeError, BpkitValueError, ShapeError
from bpkit.convolution import avg_pool1d, avg_pool2d, conv1d, conv2d, max_pool1d, max_pool2d
from bpkit.tensor import Tensor, _as_float, _nary, _to_array, _unary

__all__ = ["linear", "relu", "leaky_relu", "gelu", "tanh", "sigmoid", "softmax", "log_softmax", "nll_loss", "cross_entropy", "mse_loss", "l1_loss",
           "binary_cross_entropy_with_logits", "dropout", "batch_norm", "layer_norm",
           "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"]


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def linear(input, weight, bias=None):
    """input @ weight.T + bias, as torch.nn.functional.linear: one graph node for a whole layer.

    input: (*, in_features); weight: (out_features, in_features); bias:
    (out_features,) or None -> (*, out_features). Its backward gives
    d input = g @ weight, d weight = g.T @ input, d bias = g summed over rows.
    """
    x, w = _as_tensor(input), _as_tensor(weight)
    if w.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape {w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: input of shape {x.shape} does not fit weight of shape {w.shape} "
                         f"(its last dimension must be in_features = {w.shape[1]})")
    if bias is not None:
        bias = _as_tensor(bias)
        if bias.shape != (w.shape[0],):
            raise ShapeError(f"linear: bias must have shape ({w.shape[0]},), got {bias.shape}")
    return _nary("linear", P.linear, (x, w, bias))


def relu(input):
    """max(input, 0) elementwise, as torch.nn.functional.relu."""
    return _as_tensor(input).relu()


def tanh(input):
    """tanh elementwise, as torch.nn.functional.tanh."""
    return _as_tensor(input).tanh()


def sigmoid(input):
    """1 / (1 + exp(-input)) elementwise, as torch.nn.functional.sigmoid."""
    return _as_tensor(input).sigmoid()


def leaky_relu(input, negative_slope=0.01):
    """input where input > 0, else negative_slope * input, as torch.nn.functional.leaky_relu.

    A small slope for negative inputs keeps a gradient flowing where ReLU's is 0
    (a "dead" unit never recovers). One primitive; its slope at 0 is negative_slope.
    """
    if isinstance(negative_slope, (bool, np.bool_)) or not isinstance(negative_slope, numbers.Real):
        raise BpkitTypeError(f"leaky_relu: negative_slope must be a number, got {type(negative_slope).__name__}")
    return _unary("leaky_relu", P.leaky_relu, _as_float(_as_tensor(input)), float(negative_slope))


def gelu(input, approximate="none"):
    """x * Phi(x), Phi the standard normal CDF, as torch.nn.functional.gelu.

    approximate: "none" (exact, with erf) or "tanh" (the tanh formula of
    Hendrycks and Gimpel, PyTorch's approximate="tanh"). Smooth everywhere,
    close to ReLU for large |x|, slightly negative for small negative x.
    """
    if approximate not in ("none", "tanh"):
        raise BpkitValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r:.40}")
    return _unary("gelu", P.gelu, _as_float(_as_tensor(input)), approximate)


def softmax(x, axis=-1, *, dim=None):
    """Softmax along ``axis``: exp(x) / sum(exp(x)), computed as exp(log_softmax(x)).

    x: any shape, e.g. logits (N, C). Returns probabilities of the same shape
    that are positive and sum to 1 along ``axis``; stable for logits like 1e4.
    """
    return log_softmax(x, axis, dim=dim).exp()


def log_softmax(x, axis=-1, *, dim=None):
    """log(softmax(x)) along ``axis``, as (x - m) - log(sum(exp(x - m))) with m = max.

    x: any shape, e.g. logits (N, C). Taking the log of softmax() instead would
    give log(0) = -inf for very negative logits; this form never does. It is one
    primitive of the engine (``Tensor.log_softmax``, forward and backward side by
    side in ``bpkit.tensor``), because every classifier's loss goes through it.
    """
    return _as_tensor(x).log_softmax(axis, dim=dim)


def _class_indices(targets, n, c, op="cross_entropy"):
    """Check targets and return them as an int64 array (N,), with messages for each mistake."""
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "iu" and t.size > 0:         # "iu": signed or unsigned integers (not bool)
        raise BpkitTypeError(
            f"{op}: targets must be integer class indices, got dtype {t.dtype}; "
            f"convert with np.asarray(targets).astype(np.int64)")
    if t.ndim != 1:
        raise ShapeError(f"{op}: targets must be 1-D class indices (N,), got shape {t.shape}")
    if t.shape[0] != n:
        raise ShapeError(f"{op}: {'logits' if op == 'cross_entropy' else 'input'} have batch size {n} "
                         f"but targets have {t.shape[0]}")
    if n and (t.min() < 0 or t.max() >= c):
        i = int(np.flatnonzero((t < 0) | (t >= c))[0])
        raise BpkitIndexError(
            f"{op}: target {int(t[i])} (at position {i}) is out of range for "
            f"C = {c} classes (valid: 0 to {c - 1})")
    return t.astype(np.int64)  # a copy of its own: nll_loss's backward reads it again


def nll_loss(input, target, reduction="mean"):
    """Negative log-likelihood of the target classes, as torch.nn.functional.nll_loss.

    input: (N, C) log-probabilities (e.g. from log_softmax); target: (N,)
    integer class indices in 0..C-1. reduction: "mean" (default), "sum" or
    "none" (one loss per row). One graph node: its backward sends -1 (or -1/N)
    to each row's target entry.
    """
    logp = _as_tensor(input)
    if len(logp.shape) != 2:
        raise ShapeError(f"nll_loss: input must be 2-D (N, C), got shape {logp.shape}")
    n, c = logp.shape
    return _nll_loss(logp, _class_indices(target, n, c, "nll_loss"), reduction, "nll_loss")


def _nll_loss(logp, y, reduction, op):
    """nll_loss on checked class indices y (N,) int64; ``op`` names the caller in errors."""
    if reduction not in ("mean", "sum", "none"):
        raise BpkitTypeError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    if reduction == "mean" and logp.shape[0] == 0:
        raise ShapeError(f"{op}: cannot average over an empty batch (N = 0)")
    return _unary("nll_loss", P.nll_loss, logp, y, reduction)


def cross_entropy(logits, targets, reduction="mean"):
    """Mean negative log-likelihood of the target classes: -mean_i log softmax(logits)[i, y_i].

    logits: (N, C) Tensor of unnormalised scores; targets: (N,) integer class
    indices in 0..C-1 (list, ndarray or integer Tensor). Returns a scalar
    Tensor (reduction "sum" and "none" as in nll_loss). As in PyTorch it is
    nll_loss(log_softmax(logits)): two graph nodes, whose chained backward
    gives d loss / d logits = (softmax(logits) - onehot(targets)) / N.
    """
    logits = _as_tensor(logits)
    if len(logits.shape) != 2:
        raise ShapeError(f"cross_entropy: logits must be 2-D (N, C), got shape {logits.shape}")
    n, c = logits.shape
    y = _class_indices(targets, n, c)  # errors name cross_entropy
    return _nll_loss(log_softmax(logits, axis=1), y, reduction, "cross_entropy")


def mse_loss(pred, target):
    """Mean squared error: mean((pred - target)**2) over every element.

    pred, target: the same shape, e.g. (N, 1). Shapes must match exactly: with
    (N, 1) and (N,) broadcasting would silently compare every pair (N, N).
    """
    pred = _as_tensor(pred)
    if not isinstance(target, Tensor):
        target = Tensor(_to_array(target, pred.dtype, "mse_loss"))
    if tuple(pred.shape) != tuple(target.shape):
        raise ShapeError(
            f"mse_loss: pred has shape {tuple(pred.shape)} but target has shape "
            f"{tuple(target.shape)}; they must be the same (reshape one of them)")
    diff = pred - target
    return (diff * diff).mean()


def _same_shape_target(input, target, op):
    """(input, target) as Tensors of one shape; target takes input's dtype; a mismatch is a one-line error."""
    input = _as_tensor(input)
    if not isinstance(target, Tensor):
        target = Tensor(_to_array(target, input.dtype, op))
    if tuple(input.shape) != tuple(target.shape):
        raise ShapeError(f"{op}: input has shape {tuple(input.shape)} but target has shape "
                         f"{tuple(target.shape)}; they must be the same (reshape one of them)")
    return input, target


def _reduce(loss, reduction, op):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise BpkitTypeError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def l1_loss(input, target, reduction="mean"):
    """Mean absolute error: mean(|input - target|) over every element, as torch.nn.functional.l1_loss.

    input, target: the same shape. The gradient is sign(input - target) / n
    (0 where they are equal, as in PyTorch). reduction: "mean", "sum" or "none".
    """
    input, target = _same_shape_target(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """-[t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))], averaged, for logits x and targets t in [0, 1].

    input: logits of any shape, e.g. (N,) or (N, 1); target: the same shape
    (probabilities, usually 0 or 1). Computed in the log-sum-exp form
    max(x, 0) - x t + log(1 + exp(-|x|)), so logits like +-1e4 give finite
    losses and gradients (log(sigmoid(x)) would give log(0) = -inf). The
    gradient is (sigmoid(x) - t) / n; at x = 0 too, since maximum splits its
    tie evenly (1/2) and |x|'s gradient there is 0.
    """
    x, t = _same_shape_target(input, target, "binary_cross_entropy_with_logits")
    loss = x.maximum(0.0) - x * t + (1.0 + (-x.abs()).exp()).log()
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _probability(p, op):
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise BpkitTypeError(f"{op}: p must be a number in [0, 1], got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise BpkitValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def dropout(input, p=0.5, training=True, rng=None):
    """Inverted dropout, as torch.nn.functional.dropout: each entry zeroed with probability p.

    input: any shape. In training the kept entries are scaled by 1 / (1 - p),
    so the expected output equals the input and nothing changes at eval time;
    with training=False it returns the input itself. p = 1 gives zeros.
    rng: np.random.Generator, int seed, or None (fresh entropy: not reproducible).
    The mask is a constant of the graph: the gradient is mask / (1 - p).
    """
    p = _probability(p, "dropout")
    x = _as_tensor(input)
    if not training or p == 0.0:
        return x
    keep = np.random.default_rng(rng).random(x.shape) >= p
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    dtype = x.dtype if x.dtype.kind == "f" else np.float32
    return x * (keep * scale).astype(dtype)


def _stat(a, name, c, op):
    """A running statistic or affine parameter as an array or Tensor of shape (C,), or None."""
    if a is None:
        return None
    shape = tuple(a.shape) if isinstance(a, (Tensor, np.ndarray)) else np.shape(a)
    if shape != (c,):
        raise ShapeError(f"{op}: {name} must have shape ({c},) for an input with C = {c} channels, got {shape}")
    return a


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalization over (N,) or (N, L), per channel, as torch.nn.functional.batch_norm.

    input: (N, C) or (N, C, L). training=True: normalize with the batch's mean
    and biased variance, and update running_mean / running_var (numpy arrays
    (C,), or None) in place: running = (1 - momentum) * running + momentum *
    batch, with the unbiased variance n / (n - 1) * var. training=False:
    normalize with the running statistics. Then y = x_hat * weight + bias
    (weight, bias: (C,) or None). A composition of Tensor ops: autograd gives
    the gradient through the batch statistics too.
    """
    x = _as_tensor(input)
    if x.ndim not in (2, 3):
        raise ShapeError(f"batch_norm: expected 2D (N, C) or 3D (N, C, L) input, got shape {tuple(x.shape)}")
    c = x.shape[1]
    running_mean = _stat(running_mean, "running_mean", c, "batch_norm")
    running_var = _stat(running_var, "running_var", c, "batch_norm")
    weight, bias = _stat(weight, "weight", c, "batch_norm"), _stat(bias, "bias", c, "batch_norm")
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, c) if x.ndim == 2 else (1, c, 1)     # a (C,) array broadcast against the channels
    if training:
        n = x.size // c
        if n <= 1:
            raise BpkitValueError(f"batch_norm: Expected more than 1 value per channel when training, "
                                  f"got input size {tuple(x.shape)}")
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        x_hat = centered / (var + eps).sqrt()
        for run, batch in ((running_mean, mean.data), (running_var, var.data * (n / (n - 1)))):
            if run is not None:                               # numpy only: no graph for the statistics
                run = run.data if isinstance(run, Tensor) else run
                run *= 1.0 - momentum                         # in place, as PyTorch's
                run += (momentum * batch.reshape(c)).astype(run.dtype)
    else:
        if running_mean is None or running_var is None:
            raise BpkitValueError("batch_norm: running_mean and running_var are needed when training=False")
        rm = np.asarray(running_mean.data if isinstance(running_mean, Tensor) else running_mean)
        rv = np.asarray(running_var.data if isinstance(running_var, Tensor) else running_var)
        dtype = x.dtype if x.dtype.kind == "f" else np.float32
        # constants of the graph: a copy of the statistics as they are now (later updates do not reach it)
        x_hat = (x - rm.reshape(shape).astype(dtype)) * (1.0 / np.sqrt(rv.reshape(shape) + eps)).astype(dtype)
    if weight is not None:
        x_hat = x_hat * (weight.reshape(shape) if isinstance(weight, Tensor) else np.reshape(weight, shape))
    if bias is not None:
        x_hat = x_hat + (bias.reshape(shape) if isinstance(bias, Tensor) else np.reshape(bias, shape))
    return x_hat


def _normalized_shape(normalized_shape, op):
    items = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    try:
        out = tuple(int(n) for n in items)
    except (TypeError, ValueError):
        raise BpkitTypeError(f"{op}: normalized_shape must be an int or a tuple of ints, "
                             f"got {normalized_shape!r:.40}") from None
    if any(isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 1 for n in items) or not out:
        raise BpkitValueError(f"{op}: normalized_shape must be positive ints, got {normalized_shape!r:.40}")
    return out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalization over the last len(normalized_shape) axes, as torch.nn.functional.layer_norm.

    input: (*, *normalized_shape); weight, bias: normalized_shape or None.
    Each sample is normalized with its own mean and biased variance over those
    axes (the same in training and eval), then y = x_hat * weight + bias.
    """
    ns = _normalized_shape(normalized_shape, "layer_norm")
    x = _as_tensor(input)
    k = len(ns)
    if tuple(x.shape[x.ndim - k:]) != ns or x.ndim < k:
        raise ShapeError(f"layer_norm: given normalized_shape={list(ns)}, expected input with shape "
                         f"[*, {', '.join(map(str, ns))}], but got input of shape {tuple(x.shape)}")
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None and tuple(np.shape(a.data if isinstance(a, Tensor) else a)) != ns:
            raise ShapeError(f"layer_norm: {name} must have shape {ns} (normalized_shape), "
                             f"got {tuple(np.shape(a.data if isinstance(a, Tensor) else a))}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out

