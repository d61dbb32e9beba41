"""Tensor: a small array autograd engine with PyTorch's names.

How it is built, in reading order:

1. ``unbroadcast(grad, shape)``: the one function every binary rule uses to
   undo numpy broadcasting in the backward pass.
2. The primitives. Each is one small function ``prim(arrays..., params) ->
   (out, vjp)``: the forward computation and, right below it, the
   vector-Jacobian product ``vjp(g) -> (dx, ...)`` that turns the gradient of
   the output, ``g`` (same shape as ``out``), into one gradient per input.
   They take and return plain numpy arrays and know nothing about graphs.
   ``PRIMITIVES`` maps each name to its function; the tests check every entry.
3. ``Tensor``: wraps an ndarray and records, for each result, its parents and
   the ``vjp`` closure of the primitive that made it. Derived operations
   (``-``, ``/``, ``mean``, ``.T``, ...) are compositions of primitives and have
   no backward of their own.
4. ``Tensor.backward``: orders the graph with an explicit stack (no recursion,
   so a 100,000-op chain is fine), then walks it once from the output to the
   leaves, calling each ``vjp`` and summing gradients where paths meet.

Semantics follow PyTorch (see CONTRIBUTING.md): ``backward()`` accumulates
into the ``.grad`` of leaves; non-leaf tensors keep their gradient only after
``retain_grad()``; a second ``backward()`` through a freed graph raises
``BackwardError`` (a ``RuntimeError``); under ``with no_grad():`` no graph is
built. Comparisons (``<``, ``>``, ``==``, ...) return plain boolean ndarrays:
they have no gradient, and an array is what ``np.where`` or a mask wants.

Closures keep numpy arrays, never the output Tensor, so graphs hold no
reference cycles and are freed by reference counting as soon as they are
dropped.
"""
import functools
import math
import operator

import numpy as np

from bpkit.errors import (
    AxisError,
    BackwardError,
    BpkitIndexError,
    BpkitTypeError,
    BpkitValueError,
    ShapeError,
)

__all__ = ["Tensor", "no_grad", "is_grad_enabled", "unbroadcast", "PRIMITIVES"]


# ---------------------------------------------------------------- grad mode

_grad_enabled = True


def is_grad_enabled():
    """True unless inside ``with no_grad():``."""
    return _grad_enabled


class no_grad:
    """Context manager (or decorator) under which operations build no graph.

    Results made inside have ``requires_grad=False`` and no parents: use it for
    evaluation and for parameter updates such as ``w.data -= lr * w.grad``
    (or ``w -= lr * w.grad``, which then updates ``w`` in place). It nests,
    and the previous state is restored even when the block raises.
    """

    __slots__ = ("_saved",)

    def __init__(self):
        self._saved = []

    def __enter__(self):
        global _grad_enabled
        self._saved.append(_grad_enabled)
        _grad_enabled = False
        return self

    def __exit__(self, *exc_info):
        global _grad_enabled
        _grad_enabled = self._saved.pop()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with no_grad():
                return func(*args, **kwargs)

        return wrapper


# ----------------------------------------------------------- broadcasting


def unbroadcast(grad, shape):
    """Sum ``grad`` (the broadcast result's shape) back down to ``shape``.

    If an input of shape ``shape`` was broadcast to ``grad.shape`` in the
    forward pass, each of its entries was used once per copy, so its gradient
    is the sum over the copies: over the leading axes numpy added, and over
    every axis where ``shape`` has size 1 but ``grad`` does not. Returns
    ``grad`` itself (no copy) when nothing was broadcast.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=axes).reshape(shape) if axes else grad.reshape(shape)


# ------------------------------------------------------------- primitives
#
# prim(inputs..., params) -> (out, vjp); vjp(g) -> one gradient per input.
# Binary primitives take need=(bool, bool) and return None for an input that
# needs no gradient, so e.g. matmul skips dX for the input batch.
# A vjp never modifies g. It returns new arrays, views of new arrays, views
# of g, or g itself, but never a view of an array saved from the forward pass
# and never one new array for two inputs: backward() relies on this to know
# which gradients it may keep as a leaf's .grad without copying.

_BOTH = (True, True)


def add(a, b, need=_BOTH):
    """out = a + b with broadcasting. a: (*A), b: (*B) -> out: broadcast(A, B).

    da = g and db = g, each summed over the axes it was broadcast along.
    """
    out = a + b

    def vjp(g):
        return (unbroadcast(g, np.shape(a)) if need[0] else None,
                unbroadcast(g, np.shape(b)) if need[1] else None)

    return out, vjp


def mul(a, b, need=_BOTH):
    """out = a * b elementwise with broadcasting. a: (*A), b: (*B).

    da = g * b, db = g * a (each unbroadcast to its input's shape).
    """
    out = a * b

    def vjp(g):
        return (unbroadcast(g * b, np.shape(a)) if need[0] else None,
                unbroadcast(g * a, np.shape(b)) if need[1] else None)

    return out, vjp


def matmul(a, b, need=_BOTH):
    """out = a @ b, numpy's rules. a: (*batch, N, K) or (K,); b: (*batch, K, M) or (K,).

    For matrices: da = g @ b.T, db = a.T @ g. A 1-D operand is treated as a
    row (a) or column (b) and the batch axes are unbroadcast.
    """
    out = a @ b

    def vjp(g):
        if a.ndim == 2 and b.ndim == 2:  # the common case: no reshaping needed
            # Each gradient comes out in its input's memory order: for x @ w.T
            # (nn.Linear) dw.T is computed as (g.T @ x).T, so dw is C-ordered
            # and later updates of w run over contiguous memory.
            da = db = None
            if need[0]:
                da = (b @ g.T).T if _f_ordered(a) else g @ b.T
            if need[1]:
                db = (g.T @ a).T if _f_ordered(b) else a.T @ g
            return da, db
        a2 = a if a.ndim > 1 else a[None, :]  # (K,) -> (1, K)
        b2 = b if b.ndim > 1 else b[:, None]  # (K,) -> (K, 1)
        g2 = np.asarray(g)
        if b.ndim == 1:
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]  # now (*batch, N, M)
        da = db = None
        if need[0]:
            da = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if need[1]:
            db = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape).reshape(b.shape)
        return da, db

    return out, vjp


def _f_ordered(x):
    """True for a transposed view of a C-ordered matrix (Fortran order only)."""
    return x.flags.f_contiguous and not x.flags.c_contiguous


def pow_(x, p):
    """out = x ** p for a constant number p. x: any shape.

    dx = g * p * x ** (p - 1).
    """
    out = x ** p

    def vjp(g):
        if p == 0:
            return (np.zeros_like(g),)
        return (g * (p * x ** (p - 1)),)

    return out, vjp


def exp(x):
    """out = e ** x elementwise. dx = g * out (exp is its own derivative)."""
    out = np.exp(x)

    def vjp(g):
        return (g * out,)

    return out, vjp


def log(x):
    """out = natural log of x, elementwise (x > 0). dx = g / x."""
    out = np.log(x)

    def vjp(g):
        return (g / x,)

    return out, vjp


def tanh(x):
    """out = tanh(x) elementwise. dx = g * (1 - out ** 2)."""
    out = np.tanh(x)

    def vjp(g):
        return (g * (1 - out * out),)

    return out, vjp


def sigmoid(x):
    """out = 1 / (1 + e ** -x) elementwise. dx = g * out * (1 - out).

    A fused primitive rather than a composition: 1 / (1 + exp(-x)) overflows
    for x < -709 and gives four graph nodes; this form only ever takes exp of
    a non-positive number and keeps tiny outputs accurate.
    """
    e = np.exp(-np.abs(x))  # in (0, 1]: cannot overflow
    out = np.where(x >= 0, 1.0, e) / (1.0 + e)

    def vjp(g):
        return (g * (out * (1 - out)),)

    return out, vjp


def relu(x):
    """out = max(x, 0) elementwise. dx = g where x > 0, else 0 (0 at the kink)."""
    out = np.maximum(x, 0)

    def vjp(g):
        return (g * (x > 0),)

    return out, vjp


def log_softmax(x, axis=-1):
    """out = x - log(sum(exp(x))) along ``axis``. x: (*S) -> out: (*S).

    dx = g - softmax(x) * sum(g) along ``axis``, with softmax(x) = exp(out).
    A fused primitive: the composition needs six graph nodes, and this op sits
    under every classifier's loss, so one node keeps training fast. The max is
    subtracted first (log-sum-exp), so logits of 1e4 neither overflow nor give NaN.
    """
    z = x - x.max(axis=axis, keepdims=True)
    out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

    def vjp(g):
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return out, vjp


def sum_(x, axis=None, keepdims=False):
    """out = x summed over ``axis`` (None: all; a tuple of non-negative ints).

    x: (*S) -> out: S without the summed axes (or with size 1 if keepdims).
    Every entry of x contributed once, so dx is g copied back along the
    summed axes (a read-only broadcast view: no memory is spent).
    """
    out = x.sum(axis=axis, keepdims=keepdims)
    shape = x.shape

    def vjp(g):
        if not keepdims and axis is not None:
            g = np.expand_dims(g, axis)
        return (np.broadcast_to(g, shape),)

    return out, vjp


def max_(x, axis=None, keepdims=False):
    """out = largest entry of x over ``axis`` (None: all; a tuple of non-negative ints).

    x: (*S) -> out: S without those axes (size 1 if keepdims). The gradient
    flows to the entries that attain the max, split evenly among ties.
    """
    out_k = x.max(axis=axis, keepdims=True)
    if keepdims:
        out = out_k
    else:
        out = out_k.reshape(()) if axis is None else np.squeeze(out_k, axis)

    def vjp(g):
        g_k = g if keepdims else np.reshape(g, out_k.shape)
        winners = x == out_k
        count = winners.sum(axis=axis, keepdims=True, dtype=x.dtype)
        return (winners * (g_k / count),)

    return out, vjp


def reshape(x, shape):
    """out = x with a new shape (same entries, same order). dx = g reshaped back."""
    out = x.reshape(shape)
    in_shape = x.shape

    def vjp(g):
        return (np.reshape(g, in_shape),)

    return out, vjp


def transpose(x, axes=None):
    """out = x with its axes permuted (None: reversed). dx = g with the inverse permutation."""
    out = x.transpose(axes)
    inverse = None if axes is None else tuple(np.argsort(axes))

    def vjp(g):
        return (np.transpose(g, inverse),)

    return out, vjp


def getitem(x, index):
    """out = x[index]: ints, slices, None, Ellipsis, integer/boolean arrays.

    dx is zeros with g placed where the entries came from. An entry picked
    twice (``x[[0, 0]]``) gets both gradients added: np.add.at accumulates,
    plain assignment would keep only the last one.
    """
    out = x[index]
    shape, dtype = x.shape, x.dtype
    parts = index if type(index) is tuple else (index,)
    advanced = any(isinstance(i, np.ndarray) for i in parts)

    def vjp(g):
        dx = np.zeros(shape, dtype)
        if advanced:
            np.add.at(dx, index, g)
        else:
            dx[index] = g
        return (dx,)

    return out, vjp


PRIMITIVES = {
    "add": add,
    "mul": mul,
    "matmul": matmul,
    "pow": pow_,
    "exp": exp,
    "log": log,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "log_softmax": log_softmax,
    "sum": sum_,
    "max": max_,
    "reshape": reshape,
    "transpose": transpose,
    "getitem": getitem,
}


# --------------------------------------------------------- input checking


def _to_array(data, dtype=None, op="Tensor"):
    """Numbers, nested lists or an ndarray -> a new ndarray of numbers (or a bpkit error)."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (str, bytes)):
        raise BpkitTypeError(
            f"{op}: cannot make a tensor from text {data!r:.40}; pass numbers, e.g. [1.0, 2.0]")
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
    kind = arr.dtype.kind
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
    """A non-Tensor operand as numpy data.

    Python and numpy scalars become scalars of a float tensor's dtype, so
    ``2.0 * t`` stays float32 when ``t`` is float32; lists become arrays.
    Integer and boolean arrays take a float tensor's dtype too (as integer
    tensors do in PyTorch); float arrays keep theirs (numpy's promotion), so
    only a float64 array upcasts a float32 tensor.
    """
    if isinstance(x, (float, int, np.number, np.bool_)):
        if dtype.kind == "f":
            return dtype.type(x)
        return x.item() if isinstance(x, np.generic) else x
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            raise BpkitTypeError(f"{op}: cannot combine a tensor with an array of dtype {x.dtype}")
        if dtype.kind == "f" and x.dtype.kind != "f":
            return x.astype(dtype)
        return x
    if isinstance(x, (list, tuple)):
        return _to_array(x, dtype if dtype.kind == "f" else None, op)  # Python data: like a scalar
    raise BpkitTypeError(f"{op}: cannot combine a tensor with {type(x).__name__} {x!r:.40}")


def _axes(axis, shape, op):
    """Normalize ``axis`` (None, int or tuple of ints, negatives allowed) to None or a sorted tuple."""
    if axis is None:
        return None
    ndim = len(shape)
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
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
    """One part of an index as numpy takes it: a Tensor's data, a list as an (integer, if empty) array."""
    if isinstance(i, Tensor):
        i = i.data
    if isinstance(i, list):
        i = np.asarray(i)
        if i.size == 0:
            i = i.astype(np.intp)
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


def _result(out, op, parents, vjp):
    """Wrap a primitive's output; with ``vjp`` None the result is a plain leaf."""
    t = _new(Tensor)
    t.data = out if type(out) is np.ndarray else np.asarray(out)
    t.grad = None
    t._requires_grad = vjp is not None
    t._parents = parents
    t._vjp = vjp
    t._op = op if vjp is not None else None
    t._retain = False
    return t


def _unary(op, prim, x, *params):
    """Apply a one-input primitive to Tensor x; the result joins the graph only if x requires grad."""
    out, vjp = prim(x.data, *params)
    if x._requires_grad and _grad_enabled:
        return _result(out, op, (x,), vjp)
    return _result(out, op, (), None)


def _binary(op, prim, a, b):
    """Apply a binary primitive; ``op`` names it in errors and in the graph."""
    if isinstance(a, Tensor):
        ad, ar = a.data, a._requires_grad
        if isinstance(b, Tensor):
            bd, br = b.data, b._requires_grad
        else:
            bd, br = _constant(b, ad.dtype, op), False
    else:
        bd, br = b.data, b._requires_grad
        ad, ar = _constant(a, bd.dtype, op), False
    try:
        out, vjp = prim(ad, bd, need=(ar, br))
    except ValueError:
        sa, sb = np.shape(ad), np.shape(bd)
        if prim is matmul:
            raise ShapeError(_matmul_message(sa, sb)) from None
        raise ShapeError(f"{op}: shapes {sa} and {sb} cannot be broadcast together") from None
    if (ar or br) and _grad_enabled:
        return _result(out, op, (a if ar else None, b if br else None), vjp)
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
    ``@``, ``exp log tanh sigmoid relu``, ``sum mean max`` (axis, keepdims),
    ``reshape transpose .T``, indexing (ints, slices, None, integer arrays:
    repeated indices add up in backward). Comparisons give boolean ndarrays.
    ``np.exp(t)`` raises (numpy functions would silently drop the graph): use
    ``t.exp()`` or ``np.exp(t.data)``. ``x -= y`` on a leaf that requires grad
    works only under ``no_grad()``, where it updates ``x.data`` in place.
    """

    __slots__ = ("data", "grad", "_requires_grad", "_parents", "_vjp", "_op", "_retain",
                 "__weakref__")
    __array_priority__ = 1000  # ndarray * Tensor -> Tensor.__rmul__
    __array_ufunc__ = None  # np.exp(t) raises instead of silently dropping the graph
    __hash__ = object.__hash__  # == is elementwise, yet tensors can be dict keys

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = _to_array(data, dtype)
        if requires_grad:
            _check_float(self.data.dtype)
        self.grad = None
        self._requires_grad = bool(requires_grad)
        self._parents = ()
        self._vjp = None
        self._op = None
        self._retain = False

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
        return _unary("transpose", transpose, self, None)

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

    def numpy(self):
        """The data as an ndarray (shared, not copied: changing one changes the other)."""
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def detach(self):
        """A new leaf sharing this tensor's data, outside any graph."""
        return _result(self.data, None, (), None)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward()."""
        if not self._requires_grad:
            raise BackwardError("retain_grad: this tensor does not require grad, so it gets no gradient")
        self._retain = True

    # -- arithmetic (each a primitive or a composition of primitives)
    def __add__(self, other):
        return _binary("add", add, self, other)

    def __radd__(self, other):
        return _binary("add", add, other, self)

    def __mul__(self, other):
        return _binary("mul", mul, self, other)

    def __rmul__(self, other):
        return _binary("mul", mul, other, self)

    def __neg__(self):
        return _binary("neg", mul, self, -1)

    def __sub__(self, other):
        """a - b = a + (-1) * b."""
        if not isinstance(other, Tensor):
            other = _constant(other, self.data.dtype, "sub")
            if isinstance(other, np.ndarray) and other.dtype.kind in "bu":
                # -x wraps around for unsigned integers and fails for booleans
                other = other.astype(np.result_type(other.dtype, np.int8))
            return _binary("sub", add, self, -other)
        return _binary("sub", add, self, _binary("neg", mul, other, -1))

    def __rsub__(self, other):
        """b - a = (-1) * a + b, for a non-Tensor b."""
        return _binary("sub", add, _binary("neg", mul, self, -1), other)

    def __truediv__(self, other):
        """a / b = a * b ** -1 (for a number b: a * (1 / b))."""
        a = _as_float(self)
        if not isinstance(other, Tensor):
            other = _constant(other, a.data.dtype, "div")
            if np.ndim(other) == 0:
                inv = 1 / other if other != 0 else math.copysign(math.inf, other)
                return _binary("div", mul, a, inv)
            other = Tensor(other)
        b = _as_float(other)
        return _binary("div", mul, a, _unary("pow", pow_, b, _exponent(-1, b.data.dtype)))

    def __rtruediv__(self, other):
        """b / a = b * a ** -1, for a non-Tensor b."""
        a = _as_float(self)
        return _binary("div", mul, other, _unary("pow", pow_, a, _exponent(-1, a.data.dtype)))

    def __pow__(self, p):
        """a ** p for a number p (a tensor exponent is not supported)."""
        if isinstance(p, Tensor) or np.ndim(p) != 0 or not isinstance(p, (int, float, np.number)):
            raise BpkitTypeError(
                f"pow: the exponent must be a number, got {type(p).__name__}; for a tensor "
                "exponent b write (b * a.log()).exp()")
        try:
            return _unary("pow", pow_, self, _exponent(p, self.data.dtype))
        except ValueError as e:  # e.g. integers to negative integer powers
            raise BpkitValueError(f"pow: {_tensor_words(str(e))}") from None

    def __rpow__(self, base):
        """c ** a = exp(a * ln c) for a positive number c."""
        if not isinstance(base, (int, float, np.number)) or not base > 0:
            raise BpkitValueError(f"pow: the base of number ** tensor must be a positive number, got {base!r}")
        return (self * math.log(base)).exp()

    def __matmul__(self, other):
        return _binary("matmul", matmul, self, other)

    def __rmatmul__(self, other):
        return _binary("matmul", matmul, other, self)

    # in place: on a graph they rebind (x = x + y); under no_grad they change .data
    def _inplace(self, other, symbol, forward, ufunc):
        if _grad_enabled:
            if self._requires_grad and self._vjp is None:
                raise BackwardError(
                    f"{symbol}=: a leaf tensor that requires grad cannot be changed in place "
                    "(its gradient would no longer match); update it inside `with no_grad():`, "
                    f"as optimizers do, or write x = x {symbol} y")
            return forward(other)
        od = other.data if isinstance(other, Tensor) else other
        try:
            ufunc(self.data, od, out=self.data)
        except ValueError:
            raise ShapeError(
                f"{symbol}=: shape {np.shape(od)} cannot be broadcast into shape {self.data.shape}") from None
        except TypeError as e:
            raise BpkitTypeError(f"{symbol}=: {e}") from None
        return self

    def __iadd__(self, other):
        return self._inplace(other, "+", self.__add__, np.add)

    def __isub__(self, other):
        return self._inplace(other, "-", self.__sub__, np.subtract)

    def __imul__(self, other):
        return self._inplace(other, "*", self.__mul__, np.multiply)

    def __itruediv__(self, other):
        return self._inplace(other, "/", self.__truediv__, np.true_divide)

    def __setitem__(self, index, value):
        raise BpkitTypeError(
            "setitem: tensors do not support item assignment (it would break the graph); "
            "change t.data[...] of a leaf instead")

    # -- comparisons: plain boolean ndarrays, outside the graph
    def _compare(self, other, ufunc, op):
        od = other.data if isinstance(other, Tensor) else other
        try:
            return ufunc(self.data, od)
        except ValueError:
            raise ShapeError(
                f"{op}: shapes {self.data.shape} and {np.shape(od)} cannot be broadcast together") from None

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
        return _unary("exp", exp, self)

    def log(self):
        return _unary("log", log, self)

    def tanh(self):
        return _unary("tanh", tanh, self)

    def sigmoid(self):
        return _unary("sigmoid", sigmoid, self)

    def relu(self):
        return _unary("relu", relu, self)

    def log_softmax(self, axis=-1):
        """log(softmax(x)) along ``axis``, computed stably (see the primitive)."""
        if self.data.ndim == 0:
            raise ShapeError("log_softmax: needs at least one axis, got a 0-d tensor")
        return _unary("log_softmax", log_softmax, self, _axes(axis, self.data.shape, "log_softmax"))

    # -- reductions
    def sum(self, axis=None, keepdims=False):
        """Sum over ``axis`` (None: everything; int or tuple; negatives count from the end)."""
        return _unary("sum", sum_, self, _axes(axis, self.data.shape, "sum"), keepdims)

    def max(self, axis=None, keepdims=False):
        """Largest entry over ``axis``; the gradient is split evenly among ties."""
        axes = _axes(axis, self.data.shape, "max")
        shape = self.data.shape
        if self.data.size == 0 and (axes is None or any(shape[a] == 0 for a in axes)):
            raise ShapeError(f"max: cannot take the max of an empty tensor (shape {self.data.shape})")
        return _unary("max", max_, self, axes, keepdims)

    def mean(self, axis=None, keepdims=False):
        """Average over ``axis``: the sum times 1/n."""
        axes = _axes(axis, self.data.shape, "mean")
        shape = self.data.shape
        n = self.data.size if axes is None else math.prod(shape[a] for a in axes)
        if n == 0:
            raise ShapeError(f"mean: cannot average over zero elements (shape {shape}, axis {axis})")
        return _binary("mean", mul, _unary("sum", sum_, self, axes, keepdims), 1.0 / n)

    # -- shape
    def reshape(self, *shape):
        """Same entries, new shape: ``t.reshape(2, 3)`` or ``t.reshape((2, 3))``; one -1 is inferred."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        try:
            shape = tuple(operator.index(n) for n in shape)
        except TypeError:
            raise BpkitTypeError(f"reshape: the new shape must be whole numbers, got {shape}") from None
        try:
            return _unary("reshape", reshape, self, shape)
        except ValueError:
            old, n = self.data.shape, self.data.size
            known = math.prod(k for k in shape if k != -1)
            if shape.count(-1) > 1:
                why = "only one dimension can be -1"
            elif -1 in shape:
                why = f"{n} is not a multiple of {known}"
            elif any(k < 0 for k in shape):
                why = "sizes cannot be negative"
            else:
                why = f"{known} elements"
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {old} ({n} elements) into {shape} ({why})"
            ) from None

    def transpose(self, *axes):
        """Permute the axes: ``t.transpose(1, 0, 2)`` or a tuple; no arguments reverses them."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        if not axes:
            return _unary("transpose", transpose, self, None)
        ndim = self.data.ndim
        try:
            norm = [operator.index(a) for a in axes]
        except TypeError:
            raise BpkitTypeError(f"transpose: axes must be ints, got {axes}") from None
        if (len(norm) != ndim or not all(-ndim <= a < ndim for a in norm)
                or sorted(a % ndim for a in norm) != list(range(ndim))):
            raise AxisError(
                f"transpose: axes {tuple(axes)} are not a permutation of the {ndim} dimensions of "
                f"a tensor of shape {self.data.shape}")
        return _unary("transpose", transpose, self, tuple(a % ndim for a in norm))

    def __getitem__(self, index):
        if type(index) is tuple:
            index = tuple(_index_part(i) for i in index)
        else:
            index = _index_part(index)
        try:
            return _unary("getitem", getitem, self, index)
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
        drawn, but a second backward() through it raises BackwardError.
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
            for p, d in zip(parents, dgs):
                if p is None or d is None:
                    continue
                if type(d) is not np.ndarray:
                    d = np.asarray(d)
                pdtype = p.data.dtype
                if d.dtype != pdtype:
                    d = d.astype(pdtype)
                key = id(p)
                prev = grads.get(key)
                if prev is None:
                    grads[key] = (d, _owns(d, g, pass_on))
                else:
                    grads[key] = (prev[0] + d, True)


def _as_float(t):
    """Division is a float operation: integer/bool tensors take part as float64 (like numpy)."""
    if t.data.dtype.kind == "f":
        return t
    return _result(t.data.astype(np.float64), None, (), None)


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
        return dtype.type(p)
    return p.item() if isinstance(p, np.generic) else p
