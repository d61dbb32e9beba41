"""How numpy meets a Tensor: never a silent exit from the graph.

numpy hands a Tensor to ``Tensor.__array_ufunc__`` / ``__array_function__``,
which call ``array_ufunc`` / ``array_function`` here. The operators
(``ndarray * Tensor`` lands in np.multiply) become Tensor operations, and
np.sum / mean / max / min call the Tensor's method. Anything else would run on
the bare array and lose the gradient without a word, so on a tensor that
requires grad it raises GraphError and names the bpkit operation to use
instead; on a tensor that does not, numpy runs on its data and returns an
ndarray, as it would on the array.
"""
import builtins
import inspect

import numpy as np

from bpkit import primitives as P
from bpkit.errors import BpkitTypeError, GraphError
from bpkit.tensor import Tensor, _binary

__all__ = ["array_ufunc", "array_function"]


def array_ufunc(ufunc, method, inputs, kwargs):
    """A numpy ufunc called on tensors: an operator as a Tensor op, anything else refused or on the data."""
    if method == "__call__" and not kwargs:
        reflected = _OPERATOR_UFUNCS.get(ufunc)
        if reflected is not None:
            return reflected(*inputs)
    return _numpy_fallback(ufunc, inputs, kwargs, method)


def array_function(func, args, kwargs):
    """A numpy function called on tensors: np.sum & co. as the Tensor method, anything else refused or on the data."""
    if func in _METADATA and args and isinstance(args[0], Tensor):
        return func(args[0].data, *args[1:], **kwargs)   # reads the shape only: no gradient is lost
    method = _NUMPY_REDUCTIONS.get(func)
    if method is not None and isinstance(args[0] if args else kwargs.get("a"), Tensor):
        return _numpy_reduction(func, method, args, kwargs)
    return _numpy_fallback(func, args, kwargs)


_OPERATOR_UFUNCS = {
    np.add: lambda a, b: _binary("add", P.add, a, b),
    np.subtract: lambda a, b: _binary("sub", P.sub, a, b),
    np.multiply: lambda a, b: _binary("mul", P.mul, a, b),
    np.true_divide: lambda a, b: (a.__truediv__(b) if isinstance(a, Tensor) else b.__rtruediv__(a)),
    np.matmul: lambda a, b: _binary("matmul", P.matmul, a, b),
    np.power: lambda a, b: (a ** b if isinstance(a, Tensor) else b.__rpow__(a)),
    np.negative: lambda a: -a,
    np.less: lambda a, b: _compare_any(a, b, np.less, "lt"),
    np.less_equal: lambda a, b: _compare_any(a, b, np.less_equal, "le"),
    np.greater: lambda a, b: _compare_any(a, b, np.greater, "gt"),
    np.greater_equal: lambda a, b: _compare_any(a, b, np.greater_equal, "ge"),
    np.equal: lambda a, b: _compare_any(a, b, np.equal, "eq"),
    np.not_equal: lambda a, b: _compare_any(a, b, np.not_equal, "ne"),
}

_METADATA = {np.shape, np.ndim, np.size}

_NUMPY_REDUCTIONS = {np.sum: "sum", np.mean: "mean", np.max: "max", np.amax: "max",
                     np.min: "min", np.amin: "min"}

# numpy function -> what to write with bpkit instead
_INSTEAD = {
    np.where: "bpkit.where(condition, x, y)",
    np.dot: "a @ b",
    np.matmul: "a @ b",
    np.inner: "(a * b).sum(axis=-1)",
    np.concatenate: "bpkit.concatenate([a, b], axis=...)",
    np.stack: "bpkit.stack([a, b], axis=...)",
    np.vstack: "bpkit.concatenate([a, b], axis=0)",
    np.hstack: "bpkit.concatenate([a, b], axis=-1)",
    np.clip: "t.clamp(min, max) or bpkit.clip(t, min, max)",
    np.exp: "t.exp()",
    np.log: "t.log()",
    np.tanh: "t.tanh()",
    np.sqrt: "t.sqrt() or bpkit.sqrt(t)",
    np.square: "t ** 2",
    np.absolute: "t.abs() or bpkit.abs(t)",
    np.maximum: "bpkit.maximum(a, b) (or t.relu() for maximum(t, 0))",
    np.minimum: "bpkit.minimum(a, b)",
    np.fmax: "bpkit.maximum(a, b)",
    np.fmin: "bpkit.minimum(a, b)",
    np.reshape: "t.reshape(shape)",
    np.transpose: "t.transpose(...) or t.T",
    np.ravel: "t.reshape(-1)",
    np.squeeze: "t.reshape(...)",
    np.expand_dims: "t.reshape(...) or t[None]",
    np.tile: "bpkit.concatenate([t, t, ...])",
    np.outer: "a.reshape(-1, 1) * b.reshape(1, -1)",
    np.prod: "a product of tensors with *",
    np.linalg.norm: "(t ** 2).sum() ** 0.5",
    np.mean: "t.mean(axis=...)",
    np.sum: "t.sum(axis=...)",
}


def _compare_any(a, b, ufunc, op):
    """A comparison with a Tensor on either side: a boolean ndarray."""
    if isinstance(a, Tensor):
        return a._compare(b, ufunc, op)
    flipped = {"lt": ("gt", np.greater), "le": ("ge", np.greater_equal), "gt": ("lt", np.less),
               "ge": ("le", np.less_equal), "eq": ("eq", np.equal), "ne": ("ne", np.not_equal)}
    name, reverse = flipped[op]
    return b._compare(a, reverse, name)


def _tensors_in(obj, depth=0):
    """The Tensors in numpy-call arguments, looking inside lists, tuples and dicts."""
    if isinstance(obj, Tensor):
        yield obj
    elif depth < 3 and isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors_in(item, depth + 1)
    elif depth < 3 and isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors_in(item, depth + 1)


def _unwrap(obj, depth=0):
    """The same arguments with every Tensor replaced by its data."""
    if isinstance(obj, Tensor):
        return obj.data
    if depth < 3 and isinstance(obj, (list, tuple)):
        return type(obj)(_unwrap(item, depth + 1) for item in obj)
    if depth < 3 and isinstance(obj, dict):
        return {k: _unwrap(v, depth + 1) for k, v in obj.items()}
    return obj


def _numpy_fallback(func, args, kwargs, method="__call__"):
    """Run a numpy function on the tensors' data, unless one requires grad: then say what to use."""
    name = f"np.{getattr(func, '__name__', func)}"
    if method != "__call__":
        name += f".{method}"
    if builtins.any(t._requires_grad for t in _tensors_in((args, kwargs))):
        instead = _INSTEAD.get(func, "bpkit's tensor operations (see help(bpkit.Tensor))")
        raise GraphError(
            f"{name}: numpy cannot record operations on a tensor that requires grad, so the gradient "
            f"through it would be lost; use {instead}, or t.detach().numpy() for the numbers alone")
    args, kwargs = _unwrap(args), _unwrap(kwargs)
    if method == "__call__":
        return func(*args, **kwargs)
    return getattr(func, method)(*args, **kwargs)


def _numpy_reduction(func, method, args, kwargs):
    """np.sum(t, axis=..., keepdims=...) and friends: the Tensor's own method, numpy's keywords accepted."""
    name = f"np.{func.__name__}"
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
    except TypeError as e:
        raise BpkitTypeError(f"{name}: {e}") from None
    params = dict(bound.arguments)
    x = params.pop("a")
    axis = params.pop("axis", None)
    keepdims = params.pop("keepdims", False)
    for key, value in params.items():
        if value is not None and value is not np._NoValue:
            raise BpkitTypeError(
                f"{name}: the argument {key}= is not supported on a tensor; call "
                f"t.{method}(axis=..., keepdims=...) (and convert the result if needed)")
    if keepdims is np._NoValue:
        keepdims = False
    return getattr(x, method)(axis=axis, keepdims=keepdims)
