"""Layers and losses as functions: linear, softmax, log_softmax, cross_entropy, mse_loss.

Every function here is one primitive of ``bpkit.primitives`` (``linear``,
``log_softmax``) or a composition of them, so none needs a backward of its
own: autograd derives it, and the tests check the result against the closed
form (e.g. d cross_entropy / d logits = (p - onehot) / N).
Names and conventions follow ``torch.nn.functional``.
"""
import numpy as np

from bpkit import primitives as P
from bpkit.errors import BpkitIndexError, BpkitTypeError, ShapeError
from bpkit.tensor import Tensor, _nary, _to_array, _unary

__all__ = ["linear", "softmax", "log_softmax", "nll_loss", "cross_entropy", "mse_loss"]


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
    if reduction not in ("mean", "sum", "none"):
        raise BpkitTypeError(f"nll_loss: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    n, c = logp.shape
    return _nll_loss(logp, _class_indices(target, n, c, "nll_loss"), reduction)


def _nll_loss(logp, y, reduction):
    """nll_loss on checked class indices y (N,) int64."""
    if reduction == "mean" and logp.shape[0] == 0:
        raise ShapeError("nll_loss: cannot average over an empty batch (N = 0)")
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
    if reduction not in ("mean", "sum", "none"):
        raise BpkitTypeError(f"cross_entropy: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    n, c = logits.shape
    y = _class_indices(targets, n, c)  # errors name cross_entropy
    return _nll_loss(log_softmax(logits, axis=1), y, reduction)


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
