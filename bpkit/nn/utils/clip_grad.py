"""Gradient clipping, as torch.nn.utils: rescale (by norm) or cut (by value) the gradients in place.

Between ``loss.backward()`` and ``optimizer.step()``. Clipping by norm keeps the
gradient's direction and caps its length: one huge gradient (an exploding
network, a cliff in the loss surface) then moves the weights by at most
``lr * max_norm``. Clipping by value cuts each entry separately, which can
change the direction.

bpkit keeps ``.grad`` as a numpy array; these functions change those arrays in
place, as PyTorch changes its ``.grad`` tensors.
"""
import math
import numbers

import numpy as np

from bpkit.errors import BpkitTypeError, NonFiniteError
from bpkit.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their joint norm is at most max_norm; return the norm before.

    The joint norm is the norm of the vector of all gradient entries of all
    parameters (``norm_type``: any p >= 1, or ``float("inf")`` for the largest
    |entry|). Every gradient is multiplied by min(1, max_norm / (total + 1e-6)),
    PyTorch's formula, so under the limit nothing changes. Parameters whose
    ``.grad`` is None are skipped. Returns the total norm as a 0-d Tensor.
    ``error_if_nonfinite=True`` raises instead of scaling by a NaN or infinite norm.
    ``max_norm`` <= 0 is accepted, as in PyTorch (it zeroes the gradients).
    ``foreach`` is accepted for PyTorch's signature and ignored.
    """
    params = _parameters(parameters, "clip_grad_norm_")
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(params, max_norm, total)
    return total


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of all entries of ``tensors`` (arrays or Tensors) taken together, as a 0-d Tensor.

    Computed as PyTorch does: the norm of the vector of each tensor's norm
    (equal to the norm of everything concatenated, without building it).
    """
    norm_type = _norm_type(norm_type)
    arrays = [np.asarray(t.data if isinstance(t, Tensor) else t) for t in _parameters(tensors, "get_total_norm",
                                                                                     any_kind=True)]
    if not arrays:
        return Tensor(0.0)
    dtype = np.result_type(*arrays)
    if norm_type == math.inf:
        total = max(np.max(np.abs(a)) if a.size else 0.0 for a in arrays)
    else:
        norms = [np.linalg.norm(a.ravel(), norm_type) for a in arrays]
        total = np.linalg.norm(np.array(norms), norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise NonFiniteError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
            f"cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
            f"anyway, set `error_if_nonfinite=False`")
    return Tensor(np.asarray(total, dtype=dtype if dtype.kind == "f" else np.float64))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Multiply every ``.grad`` by min(1, max_norm / (total_norm + 1e-6)), in place (PyTorch's formula)."""
    if isinstance(max_norm, (bool, np.bool_)) or not isinstance(max_norm, numbers.Real):
        raise BpkitTypeError(f"clip_grad_norm_: max_norm must be a number, got {type(max_norm).__name__}")
    total = float(total_norm.item() if isinstance(total_norm, Tensor) else total_norm)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        coef = min(max_norm / (total + 1e-6), 1.0) if not math.isnan(total) else math.nan
    for p in _parameters(parameters, "clip_grad_norm_"):
        if p.grad is not None:
            _scale(p, coef)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Cut every gradient entry to [-clip_value, clip_value], in place. Returns None, as PyTorch."""
    if isinstance(clip_value, (bool, np.bool_)) or not isinstance(clip_value, numbers.Real):
        raise BpkitTypeError(f"clip_grad_value_: clip_value must be a number, got {type(clip_value).__name__}")
    clip_value = float(clip_value)
    for p in _parameters(parameters, "clip_grad_value_"):
        if p.grad is not None:
            g = p.grad
            if isinstance(g, np.ndarray) and g.flags.writeable:
                np.clip(g, -clip_value, clip_value, out=g)
            else:
                p.grad = np.clip(g, -clip_value, clip_value)


def _scale(p, coef):
    g = p.grad
    if isinstance(g, np.ndarray) and g.flags.writeable:
        g *= g.dtype.type(coef)
    else:
        p.grad = np.asarray(g) * coef


def _norm_type(norm_type):
    try:
        value = float(norm_type)
    except (TypeError, ValueError):
        raise BpkitTypeError(f"clip_grad_norm_: norm_type must be a number or 'inf', "
                             f"got {norm_type!r:.40}") from None
    return value


def _parameters(parameters, op, any_kind=False):
    """A list from one Tensor or an iterable of them (a generator is read once, as in PyTorch)."""
    if isinstance(parameters, (Tensor, np.ndarray)):
        return [parameters]
    try:
        items = list(parameters)
    except TypeError:
        raise BpkitTypeError(f"{op}: expected a Tensor or an iterable of Tensors (e.g. model.parameters()), "
                             f"got {type(parameters).__name__}") from None
    for i, p in enumerate(items):
        if not isinstance(p, Tensor) and not (any_kind and isinstance(p, np.ndarray)):
            raise BpkitTypeError(f"{op}: item {i} is a {type(p).__name__}, not a Tensor "
                                 f"(pass model.parameters())")
    return items
