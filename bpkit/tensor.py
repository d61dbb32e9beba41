"""Tensor: a small array autograd engine with PyTorch's names.

How it is built, in reading order:

1. The primitives live in ``bpkit.primitives``: each op's forward and its
   vector-Jacobian product side by side, on plain numpy arrays.
2. ``Tensor`` wraps an ndarray and records, for each result, its parents and
   the ``vjp`` closure of the primitive that made it. Derived operations
   (``mean``, ``.T``, ``min``, ``clamp`` with one bound, ...) are compositions
   of primitives and have no backward of their own.
3. ``Tensor.backward`` orders the graph with an explicit stack (no recursion,
   so a 100,000-op chain is fine), then walks it once from the output to the
   leaves, calling each ``vjp`` and summing gradients where paths meet.

Semantics follow PyTorch (see CONTRIBUTING.md): ``backward()`` accumulates
into the ``.grad`` of leaves; non-leaf tensors keep their gradient only after
``retain_grad()``; a second ``backward()`` through a freed graph raises
``BackwardError`` (a ``RuntimeError``); under ``with no_grad():`` no graph is
built. Comparisons (``<``, ``>``, ``==``, ...) return plain boolean ndarrays:
they have no gradient, and an array is what a mask wants.

Three safety nets, as in PyTorch, so that no wrong gradient comes silently:

* **Version counters.** Every in-place change (``x -= y`` under no_grad,
  ``add_``, ``zero_``, ``t[i] = v``, an optimizer's step) counts up the
  tensor's ``_version`` (shared with its views). Each node remembers the
  versions of the arrays its vjp reads; backward() refuses to use one that
  changed since.
* **numpy cannot drop the graph.** ``np.asarray(t)``, ``np.where``,
  ``np.exp``, ... on a tensor that requires grad raise and name the bpkit
  operation to use (``np.sum``, ``np.mean``, ``np.max``, ``np.min`` call the
  tensor's own method). ``t.detach().numpy()`` gives the numbers.
* **Advanced indexing accumulates.** An entry picked twice gets both gradients.

Closures keep numpy arrays, never the output Tensor, so graphs hold no
reference cycles and are freed by reference counting as soon as they are
dropped.
"""
import builtins
import math
import operator

import numpy as np

from bpkit import grad_mode as _grad_mode
from bpkit import primitives as P
from bpkit.errors import (
    AxisError,
    BackwardError,
    BpkitIndexError,
    BpkitTypeError,
    BpkitValueError,
    GraphError,
    ShapeError,
)
from bpkit.grad_mode import is_grad_enabled, no_grad
from bpkit.primitives import PRIMITIVES as _CORE_PRIMITIVES
from bpkit.primitives import unbroadcast
from bpkit.primitives_conv import PRIMITIVES as _CONV_PRIMITIVES
from bpkit.primitives_rnn import PRIMITIVES as _RNN_PRIMITIVES

__all__ = ["Tensor", "no_grad", "is_grad_enabled", "unbroadcast", "PRIMITIVES"]

# every primitive of the engine: the tests check each one against finite differences
PRIMITIVES = {**_CORE_PRIMITIVES, **_CONV_PRIMITIVES, **_RNN_PRIMITIVES}


# --------------------------------------------------------- input checking


def _to_array(data, dtype=None, op="Tensor"):
    """Numbers, nested lists or an ndarray -> a new ndarray of numbers (or a bpkit error)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (str, bytes)):
        raise BpkitTypeError(
            f"{op}: cannot make a tensor from text {data!r:.40}; pass numbers, e.g. [1.0, 2.0]")
    if data is None:  # np.array(None, dtype=float) would be nan
        raise BpkitTypeError(f"{op}: got None where numbers were expected")
    try:
        arr = np.array(data, dtype=dtype)
    except ValueError as e:
        if "inhomogeneous" in str(e) or "sequence" in str(e):
            raise ShapeError(
                f"{op}: the nested lists have rows of different lengths, so they do not "
                "form a rectangular tensor") from None
        raise BpkitTypeError(f"{op}: cannot convert the data to numbers ({e})") from None
    except TypeError as e:
        raise BpkitTypeError(f"{op}: cannot convert {type(data).__name__} to numbers ({e})") from None
    except OverflowError:
        raise BpkitValueError(f"{op}: a number in the data is too large for "
                              f"{'dtype ' + np.dtype(dtype).name if dtype is not None else 'a tensor'}") from None
    kind = arr.dtype.kind
    if kind == "O" and builtins.any(type(v) is int and not -2 ** 63 <= v < 2 ** 64 for v in arr.flat):
        raise BpkitValueError(f"{op}: a number in the data is too large for a tensor (beyond 64-bit integers)")
    if kind not in "biuf":
        what = {"U": "text", "S": "text", "O": "Python objects", "c": "complex numbers"}.get(
            kind, f"dtype {arr.dtype}")
        raise BpkitTypeError(
            f"{op}: a tensor holds real numbers (bool, int or float), but this data holds {what}")
    return arr


def _check_float(dtype, op="Tensor"):
    if dtype.kind != "f":
        raise BpkitTypeError(
            f"{op}: only floating-point tensors can require gradients, but this one has dtype "
            f"{dtype}; use float data, e.g. Tensor([1.0, 2.0], requires_grad=True)")


def _constant(x, dtype, op):
    """A non-Tensor operand as numpy data of its own (an ndarray is copied).

    Python and numpy scalars become scalars of a float tensor's dtype, so
    ``2.0 * t`` stays float32 when ``t`` is float32; lists become arrays.
    Integer and boolean arrays take a float tensor's dtype too (as integer
    tensors do in PyTorch); float arrays keep theirs (numpy's promotion), so
    only a float64 array upcasts a float32 tensor.
    """
    if isinstance(x, (float, int, np.number, np.bool_)):
        if dtype.kind == "f":
            try:
                return dtype.type(x)
            except OverflowError:
                raise BpkitValueError(f"{op}: the number {_describe_number(x)} is too large for a float") from None
        return x.item() if isinstance(x, np.generic) else x
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise BpkitTypeError(f"{op}: cannot combine a tensor with an array of dtype {x.dtype}")
        if dtype.kind == "f" and x.dtype.kind != "f":
            return x.astype(dtype)
        return x.copy()  # the graph may read it in backward: changes to the caller's array must not reach it
    if isinstance(x, (list, tuple)):
        return _to_array(x, dtype if dtype.kind == "f" else None, op)  # Python data: like a scalar
    raise BpkitTypeError(f"{op}: cannot combine a tensor with {type(x).__name__} {x!r:.40}")


def _axes(axis, shape, op):
    """Normalize ``axis`` (None, int or tuple of ints, negatives allowed) to None or a sorted tuple."""
    if axis is None:
        return None
    ndim = len(shape)
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    if not items:
        raise AxisError(f"{op}: axis=() names no axis (numpy would do nothing, PyTorch would reduce "
                        "everything); write axis=None for all axes")
    out = []
    for ax in items:
        try:
            ax = operator.index(ax)
        except TypeError:
            raise BpkitTypeError(f"{op}: axis must be an int or a tuple of ints, got {ax!r}") from None
        if not -ndim <= ax < ndim:
            raise AxisError(
                f"{op}: axis {ax} is out of range for a tensor with {ndim} dimensions (shape {shape})")
        out.append(ax % ndim)
    if len(set(out)) != len(out):
        raise AxisError(f"{op}: axis {axis} names the same dimension twice")
    return tuple(sorted(out))


def _index_part(i):
    """One part of an index as numpy takes it, as a copy of its own (backward applies it again).

    A Tensor gives its data, a list an (integer, if empty) array; a list of
    lists is refused: numpy reads it as one array, PyTorch as a tuple of indices.
    """
    if isinstance(i, Tensor):
        i = i.data
    if isinstance(i, list):
        if builtins.any(isinstance(j, (list, tuple, slice, Tensor, np.ndarray)) for j in i):
            raise BpkitIndexError(
                "getitem: a list of lists as an index is ambiguous (numpy reads it as one array, "
                "PyTorch as one index per axis); write t[np.array(...)] or t[[...], [...]]")
        i = np.array(i)
        if i.size == 0:
            i = i.astype(np.intp)
    elif isinstance(i, np.ndarray):
        i = i.copy()
    return i


def _matmul_message(sa, sb):
    if not sa or not sb:
        return (f"matmul: both operands need at least 1 dimension, got shapes {sa} and {sb} "
                "(use * to multiply by a scalar)")
    ka, kb = sa[-1], (sb[-2] if len(sb) > 1 else sb[0])
    if ka != kb:
        return f"matmul: shapes {sa} and {sb} do not align ({ka} != {kb})"
    return f"matmul: the batch dimensions of shapes {sa} and {sb} cannot be broadcast together"


def _tensor_words(message):
    return message.replace("arrays", "tensors").replace("array", "tensor")


# ------------------------------------------------------------ graph plumbing

_new = object.__new__


def _released(g):
    raise BackwardError("backward: this part of the graph was already freed")


def _result(out, op, parents, vjp, saved=(), counter=None):
    """Wrap a primitive's output; with ``vjp`` None the result is a plain leaf.

    saved: (version counter, version, shape) of each tensor the vjp reads.
    counter: the version counter to share (for a view of an input's data).
    """
    t = _new(Tensor)
    t.data = out if type(out) is np.ndarray else np.asarray(out)
    t.grad = None
    t._requires_grad = vjp is not None
    t._parents = parents
    t._vjp = vjp
    t._op = op if vjp is not None else None
    t._retain = False
    t._vc = [0] if counter is None else counter
    t._saved = saved
    return t


def _saved_versions(prim, inputs, need, out_vc, out_shape):
    """The (counter, version, shape) of every tensor whose array ``prim``'s vjp will read.

    ``prim.reads`` says, per input, which arguments (or -1: the output) that
    input's gradient reads; only inputs that need a gradient count, so x @ W
    with a constant x records W's version only if x needs a gradient (as
    PyTorch does).
    """
    saved = []
    for spec, needed in zip(prim.reads, need):
        if not needed:
            continue
        for j in spec:
            if j < 0:
                entry = (out_vc, 0, out_shape)
            else:
                t = inputs[j]
                if not isinstance(t, Tensor):
                    continue
                entry = (t._vc, t._vc[0], t.data.shape)
            if not any(e[0] is entry[0] for e in saved):
                saved.append(entry)
    return tuple(saved)


_VIEWS = (P.reshape, P.transpose, P.getitem)  # may return a view of their input's memory


def _unary(op, prim, x, *params):
    """Apply a one-input primitive to Tensor x; the result joins the graph only if x requires grad."""
    out, vjp = prim(x.data, *params)
    counter = None
    if prim in _VIEWS and type(out) is np.ndarray and out.base is not None \
            and np.may_share_memory(out, x.data):
        counter = x._vc  # a view: an in-place change to either is a change to both
    if x._requires_grad and _grad_mode._grad_enabled:
        spec = prim.reads[0]
        if not spec:
            return _result(out, op, (x,), vjp, (), counter)
        vc = [0] if counter is None else counter
        saved = tuple((vc, vc[0], np.shape(out)) if j < 0 else (x._vc, x._vc[0], x.data.shape)
                      for j in spec)
        return _result(out, op, (x,), vjp, saved, vc)
    return _result(out, op, (), None, (), counter)


def _operands(op, a, b):
    """(array a, array b, a requires grad, b requires grad) for a binary op on Tensors and numbers."""
    if isinstance(a, Tensor):
        ad, ar = a.data, a._requires_grad
        if isinstance(b, Tensor):
            return ad, b.data, ar, b._requires_grad
        return ad, _constant(b, ad.dtype, op), ar, False
    bd = b.data
    return _constant(a, bd.dtype, op), bd, False, b._requires_grad


def _binary(op, prim, a, b):
    """Apply a binary primitive; ``op`` names it in errors and in the graph."""
    ad, bd, ar, br = _operands(op, a, b)
    try:
        out, vjp = prim(ad, bd, need=(ar, br))
    except ValueError:
        sa, sb = np.shape(ad), np.shape(bd)
        if prim is P.matmul:
            raise ShapeError(_matmul_message(sa, sb)) from None
        raise ShapeError(f"{op}: shapes {sa} and {sb} cannot be broadcast together") from None
    except (OverflowError, TypeError) as e:
        raise _arithmetic_error(op, ad, bd, e) from None
    if (ar or br) and _grad_mode._grad_enabled:
        if prim.reads[0] or prim.reads[1]:
            vc = [0]
            saved = _saved_versions(prim, (a, b), (ar, br), vc, np.shape(out))
            return _result(out, op, (a if ar else None, b if br else None), vjp, saved, vc)
        return _result(out, op, (a if ar else None, b if br else None), vjp)
    return _result(out, op, (), None)


def _arithmetic_error(op, ad, bd, e):
    """A one-line bpkit error for numpy's OverflowError/TypeError in integer or boolean arithmetic."""
    if isinstance(e, OverflowError):
        return BpkitValueError(
            f"{op}: {_tensor_words(str(e))}; the number does not fit the tensor's dtype, so convert "
            "the tensor first, e.g. Tensor(t.data.astype(np.int64)) or a float tensor")
    return BpkitTypeError(
        f"{op}: not defined for tensors of dtypes {np.result_type(ad).name} and "
        f"{np.result_type(bd).name} ({_tensor_words(str(e)).split(chr(10))[0]})")


def _nary(op, prim, inputs, **params):
    """Apply a primitive with any number of inputs (Tensors, or constants taking the first tensor's dtype)."""
    dtype = next(t.data.dtype for t in inputs if isinstance(t, Tensor))
    arrays = [t.data if isinstance(t, Tensor) else None if t is None else _constant(t, dtype, op)
              for t in inputs]
    need = tuple(isinstance(t, Tensor) and t._requires_grad for t in inputs)
    out, vjp = prim(*arrays, need=need, **params)
    if any(need) and _grad_mode._grad_enabled:
        vc = [0]
        saved = _saved_versions(prim, inputs, need, vc, np.shape(out)) if prim.reads else ()
        parents = tuple(t if n else None for t, n in zip(inputs, need))
        return _result(out, op, parents, vjp, saved, vc)
    return _result(out, op, (), None)


def _graph_order(root):
    """The nodes that need a gradient, each before all of its parents.

    A depth-first search with an explicit stack (no recursion, so chains of any
    length work). A node is listed after all its parents, then the list is
    reversed. Raises BackwardError if it meets a graph freed by an earlier
    backward(), before any gradient is touched.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        if node._vjp is _released:
            raise BackwardError(
                "backward: this graph was already used by a backward() call and its saved values "
                "were freed; going through it again would add the same gradients a second time. "
                "Run the forward pass again, or pass retain_graph=True to the first backward()")
        visited.add(id(node))
        stack.append((node, True))
        for p in node._parents:
            if p is not None and id(p) not in visited:
                stack.append((p, False))
    order.reverse()
    return order


def _check_versions(node):
    """Raise if an array that node's vjp reads was changed in place since the forward pass."""
    for counter, version, shape in node._saved:
        if counter[0] != version:
            raise BackwardError(
                f"backward: one of the variables needed for gradient computation has been modified "
                f"by an inplace operation: a tensor of shape {shape} that {node._op} saved for its "
                f"backward pass is at version {counter[0]}, but was at version {version} in the "
                "forward pass, so its gradient would be wrong. Redo the forward pass after the "
                "change (e.g. call optimizer.step() only after backward()), or change a copy")


# ------------------------------------------------------------------ Tensor


class Tensor:
    """An n-dimensional array that records the operations applied to it.

    ``Tensor(data, requires_grad=False, dtype=None)`` copies ``data`` (numbers,
    nested lists or an ndarray) into ``.data``, like ``torch.tensor``. Python
    floats become float64; an ndarray keeps its dtype (float32 stays float32
    through every operation, forward and backward; Python numbers, lists and
    integer arrays never upcast it, a float64 ndarray does, as in numpy).
    Only floating-point tensors can require gradients.

    Operations: ``+ - * / **`` (numbers on either side, numpy broadcasting),
    ``@``, ``exp log sqrt abs tanh sigmoid relu clamp``, ``maximum minimum``,
    ``sum mean max min`` (axis, keepdims; or dim, keepdim), ``reshape``, ``transpose`` (swaps
    two axes, as PyTorch), ``permute``, ``.T``, indexing
    (ints, slices, None, integer and boolean arrays: repeated indices add up in
    backward), and the functions ``bpkit.where``, ``concatenate``, ``stack``.
    Comparisons give boolean ndarrays. numpy functions on a tensor that
    requires grad raise and say what to use (they would drop the graph).
    In place: ``x -= y`` and ``add_``/``sub_``/``mul_``/``div_``/``zero_``/
    ``fill_``/``copy_``/``clamp_``/``t[i] = v`` change ``.data`` and count up
    ``_version``; on a leaf that requires grad only under ``no_grad()``.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_parents", "_vjp", "_op", "_retain",
                 "_vc", "_saved", "__weakref__")
    __array_priority__ = 1000  # ndarray * Tensor -> Tensor.__rmul__
    __hash__ = object.__hash__  # == is elementwise, yet tensors can be dict keys

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        if type(requires_grad) is not bool and type(requires_grad) is not np.bool_:
            raise BpkitTypeError(f"Tensor: requires_grad must be True or False, got {requires_grad!r:.40}")
        if requires_grad:
            _check_float(self.data.dtype)
        self.grad = None
        self._requires_grad = bool(requires_grad)
        self._parents = ()
        self._vjp = None
        self._op = None
        self._retain = False
        self._vc = [0]
        self._saved = ()

    # -- attributes
    @property
    def shape(self):
        """The shape tuple, as numpy's."""
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        """Number of entries."""
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    def numel(self):
        """Number of entries (PyTorch's name; ``.size`` is numpy's, a number, not a method)."""
        return self.data.size

    def dim(self):
        """Number of axes (PyTorch's name for ``.ndim``)."""
        return self.data.ndim

    @property
    def _version(self):
        """How many in-place changes this tensor's data (or a view sharing it) has had (PyTorch's name)."""
        return self._vc[0]

    @property
    def requires_grad(self):
        """Whether gradients flow to this tensor (settable on leaves only)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if self._vjp is not None:
            raise BackwardError(
                "requires_grad: only leaf tensors (made by you, not by an operation) can change "
                "requires_grad; use .detach() to get a leaf")
        if flag:
            _check_float(self.data.dtype, "requires_grad")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag=True):
        """Set requires_grad in place and return self (PyTorch's spelling)."""
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self):
        """True for tensors you created (and results of no_grad): backward fills their .grad."""
        return self._vjp is None

    @property
    def _prev(self):
        """The parents that take part in the graph (the node protocol of bpkit.plots.draw_graph)."""
        return tuple(p for p in self._parents if p is not None)

    @property
    def T(self):
        """The tensor with its axes reversed (the transpose, for a matrix)."""
        return _unary("transpose", P.transpose, self, None)

    def __len__(self):
        if self.data.ndim == 0:
            raise BpkitTypeError("len: a 0-d tensor has no length")
        return len(self.data)

    def __iter__(self):
        if self.data.ndim == 0:
            raise BpkitTypeError("iter: cannot iterate over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.float64, np.int64, np.bool_):
            extra += f", dtype={self.data.dtype}"
        if self._vjp is not None:
            extra += f", grad_fn=<{self._op}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __format__(self, spec):
        if spec and self.data.size == 1:
            return format(self.data.item(), spec)
        return format(repr(self), spec)

    def item(self):
        """The single entry as a Python number."""
        if self.data.size != 1:
            raise ShapeError(
                f"item: only a tensor with exactly one element can become a Python number; "
                f"this one has shape {self.data.shape}")
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ShapeError(
                f"bool: the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use np.any(t.data) or np.all(t.data)")
        return bool(self.data)

    # -- numpy: never a silent exit from the graph
    def numpy(self):
        """The data as an ndarray (shared, not copied); refused if it requires grad, as in PyTorch."""
        if self._requires_grad:
            raise GraphError("numpy: can't call numpy() on a tensor that requires grad (its gradient "
                             "would be lost); use t.detach().numpy() for the numbers")
        return self.data

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad:
            raise GraphError(
                "numpy: can't turn a tensor that requires grad into an array: numpy would compute "
                "without the graph and its gradient would be lost; use bpkit operations, or "
                "t.detach().numpy() for the numbers")
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """numpy ufuncs on tensors: the operators (ndarray + Tensor) run as Tensor ops; others refuse."""
        return _numpy_bridge.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """numpy functions on tensors: np.sum/mean/max/min call the method; others refuse on a graph."""
        return _numpy_bridge.array_function(func, args, kwargs)

    def detach(self):
        """A new leaf sharing this tensor's data (and its version counter), outside any graph."""
        return _result(self.data, None, (), None, (), self._vc)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward()."""
        if not self._requires_grad:
            raise BackwardError("retain_grad: this tensor does not require grad, so it gets no gradient")
        self._retain = True

    # -- arithmetic (each a primitive or a composition of primitives)
    def __add__(self, other):
        return _binary("add", P.add, self, other)

    def __radd__(self, other):
        return _binary("add", P.add, other, self)

    def __sub__(self, other):
        return _binary("sub", P.sub, self, other)

    def __rsub__(self, other):
        return _binary("sub", P.sub, other, self)

    def __mul__(self, other):
        return _binary("mul", P.mul, self, other)

    def __rmul__(self, other):
        return _binary("mul", P.mul, other, self)

    def __pos__(self):
        return self

    def __abs__(self):
        """abs(t): |t| elementwise, as t.abs()."""
        return self.abs()

    def __neg__(self):
        if self.data.dtype == np.bool_:
            raise BpkitTypeError("neg: negation, the `-` operator, on a bool tensor is not supported; "
                                 "use ~t.data for logical not, or 1 - t")
        return _unary("neg", P.neg, self)

    def __truediv__(self, other):
        """a / b: its own primitive (a * (1 / b) would round twice and underflow)."""
        a = _as_float(self)
        if isinstance(other, Tensor):
            other = _as_float(other)
        return _binary("div", P.div, a, other)

    def __rtruediv__(self, other):
        """b / a, for a non-Tensor b."""
        return _binary("div", P.div, other, _as_float(self))

    def __pow__(self, p):
        """a ** p for a number p (a tensor exponent is not supported)."""
        if isinstance(p, Tensor) or np.ndim(p) != 0 or not isinstance(p, (int, float, np.number)):
            raise BpkitTypeError(
                f"pow: the exponent must be a number, got {type(p).__name__}; for a tensor "
                "exponent b write (b * a.log()).exp()")
        try:
            return _unary("pow", P.pow_, self, _exponent(p, self.data.dtype))
        except ValueError as e:  # e.g. integers to negative integer powers
            raise BpkitValueError(f"pow: {_tensor_words(str(e))}") from None

    def __rpow__(self, base):
        """c ** a for a positive number c (its own primitive: d/da = c ** a * ln c)."""
        if not isinstance(base, (int, float, np.number)) or not base > 0:
            raise BpkitValueError(f"pow: the base of number ** tensor must be a positive number, got {base!r}")
        a = _as_float(self)
        return _unary("rpow", P.rpow, a, _exponent(base, a.data.dtype))

    def __matmul__(self, other):
        return _binary("matmul", P.matmul, self, other)

    def __rmatmul__(self, other):
        return _binary("matmul", P.matmul, other, self)

    # -- in place: change .data and count a new version
    def _check_inplace(self, op, other=None):
        """Refuse an in-place change that a graph could not follow (PyTorch refuses the first two too)."""
        if not _grad_mode._grad_enabled:
            return
        if self._requires_grad and self._vjp is None:
            raise GraphError(
                f"{op}: a leaf tensor that requires grad cannot be changed in place (its gradient "
                "would no longer match); do it inside `with no_grad():`, as optimizers do")
        if self._requires_grad:
            raise GraphError(
                f"{op}: this tensor is part of a graph, and bpkit does not record in-place changes; "
                "write y = y + x (a new tensor) instead")
        if isinstance(other, Tensor) and other._requires_grad:
            raise GraphError(
                f"{op}: the other operand requires grad, and an in-place change would not be recorded "
                "in the graph; write y = y + x (a new tensor) instead")

    def _write(self, op, ufunc, *operands):
        """self.data = ufunc(self.data, *operands), in place, then count the change."""
        ods = [o.data if isinstance(o, Tensor) else o for o in operands]
        try:
            ufunc(self.data, *ods, out=self.data)
        except ValueError as e:
            if "read-only" in str(e):
                raise GraphError(f"{op}: this tensor's data is read-only") from None
            raise ShapeError(f"{op}: shape {np.shape(ods[0])} cannot be broadcast into shape "
                             f"{self.data.shape}") from None
        except TypeError as e:
            raise BpkitTypeError(f"{op}: {_tensor_words(str(e))}") from None
        except OverflowError as e:
            raise BpkitValueError(f"{op}: {_tensor_words(str(e))}; the number does not fit the "
                                  f"tensor's dtype {self.data.dtype}") from None
        self._vc[0] += 1
        return self

    def _inplace(self, other, symbol, forward, ufunc):
        """x op= y: in place (a new version) unless it would have to join a graph; then x = x op y."""
        if _grad_mode._grad_enabled and (self._requires_grad
                                         or (isinstance(other, Tensor) and other._requires_grad)):
            if self._requires_grad and self._vjp is None:
                self._check_inplace(f"{symbol}=")  # raises: a leaf that requires grad
            return forward(other)  # rebinds, so the graph records it (PyTorch would change x in place)
        return self._write(f"{symbol}=", ufunc, other)

    def __iadd__(self, other):
        return self._inplace(other, "+", self.__add__, np.add)

    def __isub__(self, other):
        return self._inplace(other, "-", self.__sub__, np.subtract)

    def __imul__(self, other):
        return self._inplace(other, "*", self.__mul__, np.multiply)

    def __itruediv__(self, other):
        return self._inplace(other, "/", self.__truediv__, np.true_divide)

    def add_(self, other, alpha=1):
        """self += alpha * other, in place (torch.Tensor.add_)."""
        self._check_inplace("add_", other)
        return self._write("add_", np.add, _scaled(other, alpha, "add_"))

    def sub_(self, other, alpha=1):
        """self -= alpha * other, in place (torch.Tensor.sub_)."""
        self._check_inplace("sub_", other)
        return self._write("sub_", np.subtract, _scaled(other, alpha, "sub_"))

    def mul_(self, other):
        """self *= other, in place."""
        self._check_inplace("mul_", other)
        return self._write("mul_", np.multiply, other)

    def div_(self, other):
        """self /= other, in place."""
        self._check_inplace("div_", other)
        return self._write("div_", np.true_divide, other)

    def zero_(self):
        """Fill with zeros, in place."""
        return self.fill_(0)

    def fill_(self, value):
        """Fill with one number, in place."""
        self._check_inplace("fill_")
        return self._fill(value)

    def _fill(self, value):
        if value is None:
            raise BpkitTypeError("fill_: got None where a number was expected")
        try:
            self.data[...] = value
        except (TypeError, ValueError, OverflowError) as e:
            raise BpkitTypeError(f"fill_: {_tensor_words(str(e))}") from None
        self._vc[0] += 1
        return self

    def copy_(self, src):
        """Copy src's numbers into this tensor, in place (broadcast to its shape, cast to its dtype)."""
        self._check_inplace("copy_", src)
        src = src.data if isinstance(src, Tensor) else _to_array(src, None, "copy_")
        try:
            np.copyto(self.data, src, casting="unsafe")
        except ValueError:
            raise ShapeError(f"copy_: shape {np.shape(src)} cannot be broadcast into shape "
                             f"{self.data.shape}") from None
        self._vc[0] += 1
        return self

    def clamp_(self, min=None, max=None):
        """Limit the entries to [min, max], in place."""
        self._check_inplace("clamp_")
        low, high = _bounds(min, max, "clamp_", self.data.dtype)
        return self._write("clamp_", np.clip, low, high)

    def __setitem__(self, index, value):
        """t[index] = value, in place (under no_grad for a leaf that requires grad)."""
        self._check_inplace("setitem", value)
        value = value.data if isinstance(value, Tensor) else value
        try:
            self.data[_index(index)] = value
        except IndexError as e:
            raise BpkitIndexError(f"setitem: {_tensor_words(str(e))} (shape {self.data.shape})") from None
        except (TypeError, ValueError, OverflowError) as e:
            raise BpkitValueError(f"setitem: {_tensor_words(str(e))}") from None
        self._vc[0] += 1

    # -- comparisons: plain boolean ndarrays, outside the graph
    def _compare(self, other, ufunc, op):
        od = other.data if isinstance(other, Tensor) else other
        try:
            return ufunc(self.data, od)
        except ValueError:
            raise ShapeError(
                f"{op}: shapes {self.data.shape} and {np.shape(od)} cannot be broadcast together") from None
        except TypeError:
            raise BpkitTypeError(f"{op}: cannot compare a tensor with {type(od).__name__} {od!r:.40}") from None

    def __lt__(self, other):
        return self._compare(other, np.less, "lt")

    def __le__(self, other):
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other):
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other):
        return self._compare(other, np.greater_equal, "ge")

    def __eq__(self, other):
        return self._compare(other, np.equal, "eq")

    def __ne__(self, other):
        return self._compare(other, np.not_equal, "ne")

    # -- elementwise functions
    def exp(self):
        return _unary("exp", P.exp, _as_float(self))

    def log(self):
        return _unary("log", P.log, _as_float(self))

    def sqrt(self):
        """Square root, elementwise; its gradient is infinite at 0."""
        return _unary("sqrt", P.sqrt, _as_float(self))

    def abs(self):
        """|x| elementwise; the gradient at 0 is 0, as in PyTorch."""
        return _unary("abs", P.abs_, self)

    def tanh(self):
        return _unary("tanh", P.tanh, _as_float(self))

    def sigmoid(self):
        return _unary("sigmoid", P.sigmoid, _as_float(self))

    def relu(self):
        return _unary("relu", P.relu, self)

    def clamp(self, min=None, max=None):
        """Entries limited to [min, max] (numbers; either may be None), as torch.clamp.

        The gradient passes where min <= x <= max (ends included) and is 0 outside.
        """
        low, high = _bounds(min, max, "clamp", self.data.dtype)
        try:
            return _unary("clamp", P.clip, self, low, high)
        except ValueError:
            raise ShapeError(f"clamp: bounds of shapes {np.shape(low)} and {np.shape(high)} cannot be "
                             f"broadcast with shape {self.data.shape}") from None

    clip = clamp

    def maximum(self, other):
        """The larger of self and other, elementwise; ties split the gradient (torch.maximum)."""
        return _binary("maximum", P.maximum, self, other)

    def minimum(self, other):
        """The smaller of self and other, elementwise; ties split the gradient (torch.minimum)."""
        return _binary("minimum", P.minimum, self, other)

    def log_softmax(self, axis=-1, *, dim=None):
        """log(softmax(x)) along ``axis`` (or PyTorch's ``dim``), computed stably (see the primitive)."""
        axis, _ = _torch_names(axis, False, dim, None, "log_softmax", -1)
        if self.data.ndim == 0:
            raise ShapeError("log_softmax: needs at least one axis, got a 0-d tensor")
        return _unary("log_softmax", P.log_softmax, _as_float(self), _axes(axis, self.data.shape, "log_softmax"))

    # -- reductions
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Sum over ``axis`` (None: everything; int or tuple; negatives count from the end)."""
        axis, keepdims = _torch_names(axis, keepdims, dim, keepdim, "sum")
        return _unary("sum", P.sum_, self, _axes(axis, self.data.shape, "sum"), _flag(keepdims, "sum"))

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Largest entry over ``axis``; the gradient is split evenly among ties."""
        axis, keepdims = _torch_names(axis, keepdims, dim, keepdim, "max")
        axes = _axes(axis, self.data.shape, "max")
        _nonempty(self.data.shape, axes, "max")
        return _unary("max", P.max_, self, axes, _flag(keepdims, "max"))

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Smallest entry over ``axis``: -max(-x); the gradient is split evenly among ties."""
        axis, keepdims = _torch_names(axis, keepdims, dim, keepdim, "min")
        _nonempty(self.data.shape, _axes(axis, self.data.shape, "min"), "min")
        return -((-self).max(axis, keepdims))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Average over ``axis``: the sum times 1/n."""
        axis, keepdims = _torch_names(axis, keepdims, dim, keepdim, "mean")
        axes = _axes(axis, self.data.shape, "mean")
        shape = self.data.shape
        n = self.data.size if axes is None else math.prod(shape[a] for a in axes)
        if n == 0:
            raise ShapeError(f"mean: cannot average over zero elements (shape {shape}, axis {axis})")
        total = _unary("sum", P.sum_, _as_float(self), axes, _flag(keepdims, "mean"))
        return _binary("mean", P.mul, total, 1.0 / n)

    # -- shape
    def flatten(self, start_dim=0, end_dim=-1):
        """Dimensions start_dim..end_dim merged into one, as torch.flatten (a reshape: same entries)."""
        n = self.data.ndim
        if n == 0:
            return self.reshape(1)
        lo, hi = (_flatten_dim(d, n, name) for d, name in ((start_dim, "start_dim"), (end_dim, "end_dim")))
        if lo > hi:
            raise AxisError(f"flatten: start_dim ({start_dim}) cannot come after end_dim ({end_dim}) "
                            f"for a {n}-D tensor")
        shape = self.data.shape
        return self.reshape(shape[:lo] + (math.prod(shape[lo:hi + 1]),) + shape[hi + 1:])

    def reshape(self, *shape):
        """Same entries, new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one -1 is inferred."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        try:
            shape = tuple(operator.index(n) for n in shape)
        except TypeError:
            raise BpkitTypeError(f"reshape: the new shape must be whole numbers, got {shape}") from None
        try:
            return _unary("reshape", P.reshape, self, shape)
        except ValueError:
            old, n = self.data.shape, self.data.size
            known = math.prod(k for k in shape if k != -1)
            if shape.count(-1) > 1:
                why = "only one dimension can be -1"
            elif -1 in shape:
                why = f"{n} is not a multiple of {known}"
            elif builtins.any(k < 0 for k in shape):
                why = "sizes cannot be negative"
            else:
                why = f"{known} elements"
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {old} ({n} elements) into {shape} ({why})"
            ) from None

    def transpose(self, *dims):
        """Swap two axes, as torch.transpose: ``t.transpose(0, 1)``; no arguments reverses all (as ``.T``).

        (numpy's ``a.transpose(1, 0, 2)`` permutes instead: that is ``t.permute(1, 0, 2)`` here.)
        """
        if not dims:
            return _unary("transpose", P.transpose, self, None)
        if len(dims) != 2 or isinstance(dims[0], (tuple, list)):
            raise BpkitTypeError(
                f"transpose: takes two axes to swap, e.g. t.transpose(0, 1); to reorder all axes "
                f"use t.permute(...), got {dims}")
        dim0, dim1 = dims
        ndim = self.data.ndim
        a, b = (_axes(d, self.data.shape, "transpose")[0] for d in (dim0, dim1))
        perm = list(range(ndim))
        perm[a], perm[b] = perm[b], perm[a]
        return _unary("transpose", P.transpose, self, tuple(perm))

    def permute(self, *dims):
        """Reorder the axes: ``t.permute(2, 0, 1)`` or a tuple (torch.permute; numpy's transpose(axes))."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = dims[0]
        ndim = self.data.ndim
        try:
            norm = [operator.index(a) for a in dims]
        except TypeError:
            raise BpkitTypeError(f"permute: axes must be ints, got {dims}") from None
        if (len(norm) != ndim or not builtins.all(-ndim <= a < ndim for a in norm)
                or sorted(a % ndim for a in norm) != list(range(ndim))):
            raise AxisError(
                f"permute: axes {tuple(dims)} are not a permutation of the {ndim} dimensions of "
                f"a tensor of shape {self.data.shape}")
        return _unary("transpose", P.transpose, self, tuple(a % ndim for a in norm))

    def __getitem__(self, index):
        index = _index(index)
        try:
            return _unary("getitem", P.getitem, self, index)
        except IndexError as e:
            raise BpkitIndexError(f"getitem: {_tensor_words(str(e))} (shape {self.data.shape})") from None
        except (TypeError, ValueError) as e:
            raise BpkitIndexError(f"getitem: invalid index {index!r:.60} ({_tensor_words(str(e))})") from None

    # -- backward
    def backward(self, grad=None, retain_graph=False):
        """Add d(self)/d(leaf) (times ``grad``) into the ``.grad`` of every leaf that requires grad.

        ``grad`` is the gradient of some final scalar with respect to this
        tensor; it may be left out only when this tensor has one element (a
        loss). Afterwards the arrays the graph saved for backward are freed,
        unless ``retain_graph=True``; its structure stays, so it can still be
        drawn, but a second backward() through it raises BackwardError. If an
        array a node saved was changed in place since the forward pass,
        backward() raises BackwardError instead of giving a wrong gradient.
        """
        if not self._requires_grad:
            raise BackwardError(
                "backward: this tensor does not require grad, so there is nothing to differentiate; "
                "create the inputs with requires_grad=True (and not under no_grad())")
        data = self.data
        if grad is None:
            if data.size != 1:
                raise BackwardError(
                    f"backward: grad can be left out only for a tensor with one element (a loss), but "
                    f"this one has shape {data.shape}; call .sum() first or pass grad= of that shape")
            seed, owned = np.ones(data.shape, data.dtype), True
        else:
            seed = grad.data if isinstance(grad, Tensor) else _to_array(grad, None, "backward")
            if seed.shape != data.shape:
                raise ShapeError(
                    f"backward: grad has shape {seed.shape} but the tensor has shape {data.shape}; "
                    "they must be equal")
            if seed.dtype != data.dtype:
                seed = seed.astype(data.dtype)
            owned = False  # the caller's array: never accumulate into it in place

        order = _graph_order(self)
        for node in order:  # before any gradient is touched: all or nothing
            if node._saved:
                _check_versions(node)
        # id(node) -> (gradient so far, whether we alone hold that array). Only
        # an array we alone hold may become a leaf's .grad without a copy:
        # later backward calls add into .grad in place.
        grads = {id(self): (seed, owned)}
        for node in order:
            entry = grads.pop(id(node), None)
            if entry is None:
                continue
            g, owned = entry
            vjp = node._vjp
            if vjp is None:  # a leaf: accumulate into .grad
                old = node.grad
                if old is None:  # a C-ordered array of its own, so updates are fast and safe
                    node.grad = g if owned and g.flags.c_contiguous else g.copy()
                elif (type(old) is np.ndarray and old.shape == g.shape and old.dtype == g.dtype
                      and old.flags.writeable):
                    old += g
                else:
                    node.grad = old + g
                continue
            if node._retain:
                node.grad = g if owned else g.copy()
            dgs = vjp(g)
            parents = node._parents
            # A view of g (transpose, reshape) may take g over if we alone hold g.
            pass_on = owned and not node._retain
            if not retain_graph:  # free the saved arrays now; a second pass would raise
                node._vjp = _released
                node._saved = ()
            for p, d in zip(parents, dgs):
                if p is None or d is None:
                    continue
                if type(d) is P.Scatter:
                    _scatter_into(grads, p, d)
                    continue
                if type(d) is not np.ndarray:
                    d = np.asarray(d)
                if d.shape != p.data.shape:  # a wrong backward rule must never pass silently
                    raise BackwardError(
                        f"backward: the backward rule of {node._op} returned a gradient of shape "
                        f"{d.shape} for an input of shape {p.data.shape}")
                pdtype = p.data.dtype
                if d.dtype != pdtype:
                    d = d.astype(pdtype)
                key = id(p)
                prev = grads.get(key)
                if prev is None:
                    grads[key] = (d, _owns(d, g, pass_on))
                else:
                    total = prev[0] + d
                    grads[key] = (total if type(total) is np.ndarray else np.asarray(total), True)


def _flatten_dim(d, n, name):
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)):
        raise BpkitTypeError(f"flatten: {name} must be an int, got {d!r:.40}")
    if not -n <= d < n:
        raise AxisError(f"flatten: {name}={d} is out of range for a {n}-D tensor")
    return int(d) % n


def _as_float(t):
    """Division, sqrt and mean are float operations: integer/bool tensors take part as float64 (like numpy)."""
    if t.data.dtype.kind == "f":
        return t
    return _result(t.data.astype(np.float64), None, (), None)


def _scatter_into(grads, p, d):
    """Add a Scatter gradient into p's entry of grads, in a buffer backward() alone holds."""
    if d.shape != p.data.shape:  # a wrong backward rule must never pass silently
        raise BackwardError(f"backward: the backward rule of getitem returned a gradient of shape "
                            f"{d.shape} for an input of shape {p.data.shape}")
    prev = grads.get(id(p))
    if prev is None:
        buf = np.zeros(p.data.shape, p.data.dtype)
    elif prev[1] and type(prev[0]) is np.ndarray and prev[0].flags.writeable and prev[0].dtype == p.data.dtype:
        buf = prev[0]
    else:
        buf = np.array(prev[0], dtype=p.data.dtype)
    buf[d.index] += d.values
    grads[id(p)] = (buf, True)


def _owns(d, g, pass_on):
    """Whether gradient ``d`` (returned by a vjp called with ``g``) is memory no one else holds."""
    if d is g or not d.flags.writeable:  # shared, or a read-only broadcast view
        return False
    base = d.base
    if base is None:  # a new array
        return True
    if base is g or (base is g.base and base is not None):  # a view of g
        return pass_on
    return type(base) is np.ndarray  # a view of an array the vjp made, e.g. (g.T @ x).T


def _exponent(p, dtype):
    """A numeric exponent as a scalar of a float tensor's dtype (keeps float32 float32)."""
    if dtype.kind == "f":
        try:
            return dtype.type(p)
        except OverflowError:
            raise BpkitValueError(f"pow: the number {_describe_number(p)} is too large for a float") from None
    return p.item() if isinstance(p, np.generic) else p


def _describe_number(x):
    """A number for a message: huge integers by their digit count, not thousands of digits."""
    digits = len(str(builtins.abs(x))) if isinstance(x, int) else 0
    return f"(an integer of {digits} digits)" if digits > 20 else repr(x)


def _scaled(other, alpha, op):
    """other * alpha for add_/sub_ (alpha=1: other as it is)."""
    if alpha == 1:
        return other
    try:
        return (other.data if isinstance(other, Tensor) else np.asarray(other)) * alpha
    except OverflowError:
        raise BpkitValueError(f"{op}: alpha={_describe_number(alpha)} is too large for a float") from None


def _torch_names(axis, keepdims, dim, keepdim, op, axis_default=None):
    """numpy's axis/keepdims or PyTorch's dim/keepdim: either spelling, not both."""
    if dim is not None:
        if axis is not None and axis != axis_default:
            raise BpkitTypeError(f"{op}: give axis= or dim= (PyTorch's name for it), not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return axis, keepdims


def _flag(value, op):
    """keepdims and similar switches must be True or False (numpy would take any object's truth)."""
    if type(value) is bool or type(value) is np.bool_:
        return bool(value)
    raise BpkitTypeError(f"{op}: keepdims must be True or False, got {value!r:.40}")


def _nonempty(shape, axes, op):
    if math.prod(shape) == 0 and (axes is None or builtins.any(shape[a] == 0 for a in axes)):
        raise ShapeError(f"{op}: cannot take the {op} of an empty tensor (shape {shape})")


def _bounds(low, high, op, dtype):
    """clamp's bounds as numbers or arrays of the tensor's dtype, copies of their own (no gradient flows to them)."""
    if low is None and high is None:
        raise BpkitValueError(f"{op}: at least one of min and max must be given")
    out = []
    for b in (low, high):
        if isinstance(b, Tensor):
            if b._requires_grad:
                raise BpkitTypeError(f"{op}: bounds that require grad are not supported; "
                                     "use bpkit.maximum / bpkit.minimum")
            b = b.data
        out.append(None if b is None else _constant(b, dtype, op))  # a copy: backward compares x with it
    return tuple(out)


def _index(index):
    """An index as numpy takes it (Tensors become their data, lists arrays)."""
    if type(index) is tuple:
        return tuple(_index_part(i) for i in index)
    return _index_part(index)


# numpy functions and ufuncs on a Tensor go through bpkit.numpy_bridge (it builds on Tensor)
from bpkit import numpy_bridge as _numpy_bridge  # noqa: E402
