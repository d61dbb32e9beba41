"""Functions of tensors with PyTorch's names: where, concatenate (cat), stack, clip (clamp), abs,
sqrt, minimum, maximum, flatten.

They are what learners reach for in numpy (``np.where``, ``np.concatenate``,
``np.clip``, ...), which would drop the graph on a tensor that requires grad.
Each is one primitive of ``bpkit.primitives`` or a Tensor method, so the
gradient flows through. ``import bpkit`` offers them as ``bpkit.where`` etc.
"""

import numpy as np

from bpkit import primitives as P
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.tensor import Tensor, _axes, _binary, _nary, _to_array, _torch_names

__all__ = ["where", "concatenate", "cat", "stack", "clip", "clamp", "abs", "sqrt", "minimum", "maximum",
           "flatten"]


def _as_tensor(x, op):
    if isinstance(x, Tensor):
        return x
    return Tensor(_to_array(x, None, op))


def where(condition, input, other):
    """``input`` where ``condition`` is true, else ``other`` (torch.where); all three broadcast.

    condition: a boolean array or tensor (e.g. ``x > 0``); input, other:
    tensors or numbers. The gradient flows to ``input`` where the condition
    holds and to ``other`` elsewhere: ``where(x > 0, x, 0.1 * x)`` is a leaky ReLU.
    """
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise BpkitTypeError(f"where: the condition must be boolean (e.g. x > 0), got dtype {cond.dtype}")
    if input is None or other is None:
        raise BpkitTypeError("where: got None where a tensor or number was expected")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = _as_tensor(input, "where")
    try:
        return _nary("where", P.where, (cond, input, other))
    except ValueError:
        shapes = [np.shape(a.data if isinstance(a, Tensor) else a) for a in (cond, input, other)]
        raise ShapeError(f"where: shapes {shapes[0]}, {shapes[1]} and {shapes[2]} cannot be "
                         "broadcast together") from None


def _sequence(tensors, op):
    """The tensors of concatenate/stack as a list of Tensors, or a clear error."""
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise BpkitTypeError(f"{op}: expects a list or tuple of tensors, got a single "
                             f"{type(tensors).__name__}; wrap them: {op}([a, b])")
    tensors = [_as_tensor(t, op) for t in tensors]
    if not tensors:
        raise BpkitValueError(f"{op}: expects a non-empty list of tensors")
    return tensors


def concatenate(tensors, axis=0, *, dim=None):
    """The tensors joined along an existing ``axis`` (torch.cat; ``dim`` too); they agree on every other axis."""
    axis, _ = _torch_names(axis, False, dim, None, "concatenate", 0)
    tensors = _sequence(tensors, "concatenate")
    if tensors[0].data.ndim == 0:
        raise ShapeError("concatenate: zero-dimensional tensors cannot be concatenated; use stack")
    (ax,) = _axes(axis, tensors[0].data.shape, "concatenate")
    try:
        return _nary("concatenate", P.concatenate, tensors, axis=ax)
    except ValueError:
        shapes = ", ".join(str(t.data.shape) for t in tensors)
        raise ShapeError(f"concatenate: shapes {shapes} must agree except along axis {axis}") from None


cat = concatenate


def stack(tensors, axis=0, *, dim=None):
    """The tensors (all one shape) stacked along a new ``axis`` (torch.stack; ``dim`` too)."""
    axis, _ = _torch_names(axis, False, dim, None, "stack", 0)
    tensors = _sequence(tensors, "stack")
    (ax,) = _axes(axis, tensors[0].data.shape + (1,), "stack")
    shapes = {t.data.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    return _nary("stack", P.stack, tensors, axis=ax)


def clip(input, min=None, max=None):
    """``input`` limited to [min, max] (torch.clamp); see Tensor.clamp."""
    return _as_tensor(input, "clip").clamp(min, max)


clamp = clip


def abs(input):
    """|input| elementwise (torch.abs); the gradient at 0 is 0."""
    return _as_tensor(input, "abs").abs()


def sqrt(input):
    """Square root elementwise (torch.sqrt)."""
    return _as_tensor(input, "sqrt").sqrt()


def maximum(input, other):
    """The larger of two tensors elementwise (torch.maximum); ties split the gradient."""
    return _binary("maximum", P.maximum, _as_tensor(input, "maximum"), other)


def minimum(input, other):
    """The smaller of two tensors elementwise (torch.minimum); ties split the gradient."""
    return _binary("minimum", P.minimum, _as_tensor(input, "minimum"), other)


def flatten(input, start_dim=0, end_dim=-1):
    """Dimensions start_dim..end_dim of input merged into one, as torch.flatten."""
    return _as_tensor(input, "flatten").flatten(start_dim, end_dim)
