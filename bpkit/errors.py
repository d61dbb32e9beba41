"""The error classes a learner sees when bpkit is handed bad input.

Each one subclasses a builtin exception as well as ``BpkitError``, so
``except ValueError`` (or ``TypeError``, ``IndexError``, ``RuntimeError``)
keeps working exactly as it would with numpy or PyTorch, while
``except bpkit.errors.BpkitError`` catches everything bpkit raises on purpose.
Messages are one line: the operation, then the problem in the learner's terms,
e.g. ``matmul: shapes (4, 3) and (2, 5) do not align (3 != 2)``.
"""

__all__ = [
    "BpkitError",
    "BpkitValueError",
    "ShapeError",
    "AxisError",
    "BpkitTypeError",
    "BpkitIndexError",
    "BackwardError",
    "GraphError",
    "NonFiniteError",
]


class BpkitError(Exception):
    """Base class of every error bpkit raises on purpose."""


class BpkitValueError(BpkitError, ValueError):
    """A value is out of its allowed range (e.g. a negative learning rate)."""


class ShapeError(BpkitValueError):
    """Shapes do not fit together: broadcasting, matmul, reshape, ragged lists."""


class AxisError(ShapeError, IndexError):
    """An axis is out of range or repeated (a ValueError and an IndexError, like numpy's)."""


class BpkitTypeError(BpkitError, TypeError):
    """An argument has the wrong kind (text instead of numbers, integers that cannot require grad)."""


class BpkitIndexError(BpkitError, IndexError):
    """An index is out of range or not something a tensor can be indexed with."""


class BackwardError(BpkitError, RuntimeError):
    """backward() cannot run: nothing requires grad, the graph was freed, or no seed gradient."""


class GraphError(BpkitError, RuntimeError):
    """An operation would silently lose the graph or corrupt what it saved for backward.

    For example ``np.where(x > 0, x, 0)`` or ``np.asarray(x)`` on a tensor that
    requires grad (numpy cannot record operations), or an in-place change to a
    tensor that is part of a graph.
    """


class NonFiniteError(BpkitError, RuntimeError):
    """A number that must be finite is NaN or infinite (e.g. the gradient norm clip_grad_norm_ would scale by)."""
