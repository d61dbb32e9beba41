"""The array engine's primitives: each op's forward and its vector-Jacobian product, side by side.

A primitive is one small function of plain numpy arrays, ``prim(arrays...,
params) -> (out, vjp)``: the forward computation and, right below it, the
vector-Jacobian product ``vjp(g) -> (dx, ...)`` that turns the gradient of the
output, ``g`` (same shape as ``out``), into one gradient per input. Primitives
know nothing about graphs; ``bpkit.tensor`` wraps them. ``PRIMITIVES`` maps
each name to its function, and the tests check every entry against central
differences.

Conventions:

* Ops with several inputs take ``need=(bool, ...)`` and return None for an
  input that needs no gradient, so e.g. matmul skips dX for the input batch.
* ``@reads(...)`` says which arrays each input's gradient reads (its inputs
  by name, ``out`` for the output). The engine records the version of those
  tensors at the forward pass and refuses to run the vjp if one of them was
  changed in place since: the gradient would be silently wrong.
* A vjp returns arrays, or a ``Scatter`` (x[index]'s gradient: values at
  one basic index, zero elsewhere), which the engine adds in place.
* A vjp never modifies g. It returns new arrays, views of new arrays, views of
  g, or g itself, but never a view of an array saved from the forward pass and
  never one new array for two inputs: backward() relies on this to know which
  gradients it may keep as a leaf's .grad without copying.
* ``unbroadcast`` is the one function every broadcasting rule uses.
"""
import numpy as np

__all__ = ["unbroadcast", "reads", "Scatter", "PRIMITIVES"]

_BOTH = (True, True)


def reads(*per_input):
    """Declare what each input's gradient reads: one string per input, e.g. ``@reads("b", "a")``.

    Each string lists names of the primitive's array arguments and/or
    ``out``, separated by spaces ("" when the gradient needs none, as for
    add). An input's entry counts only when that input needs a gradient.
    No strings at all (``@reads()``, for ops with any number of inputs such
    as concatenate) means no gradient reads anything saved. Stored on the
    primitive as ``prim.reads``: per input, a tuple of argument positions,
    -1 standing for the output.
    """
    def mark(prim):
        code = prim.__code__
        names = code.co_varnames[:code.co_argcount]
        prim.reads = tuple(tuple(-1 if name == "out" else names.index(name) for name in s.split())
                           for s in per_input)
        return prim
    return mark


# ----------------------------------------------------------- broadcasting


class Scatter:
    """A gradient that is zero except at a basic ``index``, where it is ``values``: x[index]'s vjp.

    The engine adds ``values`` into the input's gradient buffer at ``index``
    (allocating the buffer once), instead of a full array of zeros per slice.
    ``dense()`` gives the ordinary array, for anyone who needs one.
    """

    __slots__ = ("index", "values", "shape", "dtype")

    def __init__(self, index, values, shape, dtype):
        self.index, self.values, self.shape, self.dtype = index, values, shape, dtype

    def dense(self):
        dx = np.zeros(self.shape, self.dtype)
        dx[self.index] = self.values
        return dx



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


# ------------------------------------------------------ elementwise binary


@reads("", "")
def add(a, b, need=_BOTH):
    """out = a + b with broadcasting. a: (*A), b: (*B) -> out: broadcast(A, B).

    da = g and db = g, each summed over the axes it was broadcast along.
    """
    out = a + b

    def vjp(g):
        return (unbroadcast(g, np.shape(a)) if need[0] else None,
                unbroadcast(g, np.shape(b)) if need[1] else None)

    return out, vjp


@reads("", "")
def sub(a, b, need=_BOTH):
    """out = a - b with broadcasting. da = g, db = -g (each unbroadcast)."""
    out = a - b

    def vjp(g):
        return (unbroadcast(g, np.shape(a)) if need[0] else None,
                unbroadcast(-g, np.shape(b)) if need[1] else None)

    return out, vjp


@reads("b", "a")
def mul(a, b, need=_BOTH):
    """out = a * b elementwise with broadcasting. a: (*A), b: (*B).

    da = g * b, db = g * a (each unbroadcast to its input's shape).
    """
    out = a * b

    def vjp(g):
        return (unbroadcast(g * b, np.shape(a)) if need[0] else None,
                unbroadcast(g * a, np.shape(b)) if need[1] else None)

    return out, vjp


@reads("b", "b out")
def div(a, b, need=_BOTH):
    """out = a / b elementwise with broadcasting.

    da = g / b and db = -g * a / b**2, computed as -g * out / b: dividing
    twice by b stays finite where b**2 would underflow (b = 1e-200) and gives
    x / x exactly 1, which a * (1 / b) does not.
    """
    out = a / b

    def vjp(g):
        return (unbroadcast(g / b, np.shape(a)) if need[0] else None,
                unbroadcast(-(g * out) / b, np.shape(b)) if need[1] else None)

    return out, vjp


@reads("a b", "a b")
def maximum(a, b, need=_BOTH):
    """out = the larger of a and b, elementwise with broadcasting.

    The gradient goes to the larger input; where a == b it is split in half,
    as in PyTorch's torch.maximum.
    """
    out = np.maximum(a, b)

    def vjp(g):
        share = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0)).astype(out.dtype, copy=False)
        return (unbroadcast(g * share, np.shape(a)) if need[0] else None,
                unbroadcast(g * (1 - share), np.shape(b)) if need[1] else None)

    return out, vjp


@reads("a b", "a b")
def minimum(a, b, need=_BOTH):
    """out = the smaller of a and b, elementwise; ties split the gradient in half (torch.minimum)."""
    out = np.minimum(a, b)

    def vjp(g):
        share = np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0)).astype(out.dtype, copy=False)
        return (unbroadcast(g * share, np.shape(a)) if need[0] else None,
                unbroadcast(g * (1 - share), np.shape(b)) if need[1] else None)

    return out, vjp


@reads("", "", "")
def where(cond, x, y, need=(False, True, True)):
    """out = x where cond is true, else y; cond, x, y broadcast together.

    cond: a boolean array (it gets no gradient). dx = g where cond, else 0;
    dy = g where not cond (each unbroadcast). The gradient of the branch not
    taken is exactly 0, even where that branch is inf or nan.
    """
    out = np.where(cond, x, y)

    def vjp(g):
        zero = np.zeros((), g.dtype)
        return (None,
                unbroadcast(np.where(cond, g, zero), np.shape(x)) if need[1] else None,
                unbroadcast(np.where(cond, zero, g), np.shape(y)) if need[2] else None)

    return out, vjp


# ----------------------------------------------------------------- matmul


@reads("b", "a")
def matmul(a, b, need=_BOTH):
    """out = a @ b, numpy's rules. a: (*batch, N, K) or (K,); b: (*batch, K, M) or (K,).

    For matrices: da = g @ b.T, db = a.T @ g. A 1-D operand is treated as a
    row (a) or column (b) and the batch axes are unbroadcast.
    """
    out = a @ b

    def vjp(g):
        if a.ndim == 2 and b.ndim == 2:  # the common case: no reshaping needed
            # Each gradient comes out in its input's memory order: for x @ w.T
            # dw.T is computed as (g.T @ x).T, so dw is C-ordered and later
            # updates of w run over contiguous memory.
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


@reads("weight", "x", "")
def linear(x, weight, bias, need=(True, True, True)):
    """out = x @ weight.T + bias, as torch.nn.functional.linear. One node for a whole layer.

    x: (*, in), weight: (out, in), bias: (out,) or None -> out: (*, out).
    dx = g @ weight; dweight = g.T @ x (over all leading axes of x);
    dbias = g summed over every axis but the last.
    """
    out = x @ weight.T
    if bias is not None:
        out = out + bias

    def vjp(g):
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        dx = dw = db = None
        if need[0]:
            dx = g @ weight
        if need[1]:
            dw = g2.T @ (x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x)
        if need[2] and bias is not None:
            db = g2.sum(axis=0)
        return dx, dw, db

    return out, vjp


# ---------------------------------------------------------- elementwise unary


@reads("")
def neg(x):
    """out = -x. dx = -g."""
    return -x, lambda g: (-g,)


@reads("x")
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


@reads("out")
def exp(x):
    """out = e ** x elementwise. dx = g * out (exp is its own derivative)."""
    out = np.exp(x)

    def vjp(g):
        return (g * out,)

    return out, vjp


@reads("out")
def rpow(x, base):
    """out = base ** x for a constant positive number base. dx = g * out * ln(base).

    Its own primitive (not exp(x * ln base)): 10 ** 2 is exactly 100 and 1 ** inf is 1.
    """
    out = np.power(base, x)
    log_base = np.log(base).astype(out.dtype) if isinstance(base, np.generic) else np.log(base)

    def vjp(g):
        return (g * (out * log_base),)

    return out, vjp


@reads("x")
def log(x):
    """out = natural log of x, elementwise (x > 0). dx = g / x."""
    out = np.log(x)

    def vjp(g):
        return (g / x,)

    return out, vjp


@reads("out")
def sqrt(x):
    """out = square root of x, elementwise (x >= 0). dx = g / (2 * out): infinite at x = 0."""
    out = np.sqrt(x)

    def vjp(g):
        return (g / (2 * out),)

    return out, vjp


@reads("x")
def abs_(x):
    """out = |x| elementwise. dx = g * sign(x): 0 at x = 0, as in PyTorch."""
    out = np.abs(x)

    def vjp(g):
        return (g * np.sign(x),)

    return out, vjp


@reads("out")
def tanh(x):
    """out = tanh(x) elementwise. dx = g * (1 - out ** 2)."""
    out = np.tanh(x)

    def vjp(g):
        return (g * (1 - out * out),)

    return out, vjp


@reads("out")
def sigmoid(x):
    """out = 1 / (1 + e ** -x) elementwise. dx = g * out * (1 - out).

    A fused primitive rather than a composition: 1 / (1 + exp(-x)) overflows
    for x < -709 and gives four graph nodes; this form only ever takes exp of
    a non-positive number and keeps tiny outputs accurate.
    """
    e = np.exp(-np.abs(x))  # in (0, 1]: cannot overflow
    out = np.where(x >= 0, 1.0, e) / (1.0 + e)
    if out.dtype != x.dtype:  # np.where with 1.0 gives float64 for 0-d float32 input
        out = out.astype(x.dtype)

    def vjp(g):
        return (g * (out * (1 - out)),)

    return out, vjp


@reads("out")
def relu(x):
    """out = max(x, 0) elementwise. dx = g where x > 0, else 0 (0 at the kink)."""
    out = np.maximum(x, 0)

    def vjp(g):
        return (g * (out > 0),)

    return out, vjp


@reads("x")
def leaky_relu(x, negative_slope):
    """out = x where x > 0, else negative_slope * x. dx = g, or g * negative_slope where x <= 0.

    At the kink (x == 0) the slope is negative_slope, as in PyTorch.
    """
    slope = np.asarray(negative_slope, x.dtype)
    out = np.where(x > 0, x, x * slope)

    def vjp(g):
        return (g * np.where(x > 0, np.ones((), x.dtype), slope),)

    return out, vjp


_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)


@reads("x")
def gelu(x, approximate="none"):
    """out = x * Phi(x), Phi the standard normal CDF (approximate="none"), or its tanh form.

    "tanh": Phi(x) ~ (1 + tanh(sqrt(2/pi) * (x + 0.044715 x**3))) / 2, as PyTorch's
    GELU(approximate="tanh"). dx = g * (Phi(x) + x * Phi'(x)), each form differentiated
    exactly, so the gradient matches the forward actually computed.
    erf comes from scipy.special, imported on first use (``import bpkit`` stays fast).
    """
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)
        t = np.tanh(inner)
        cdf = 0.5 * (1 + t)
        pdf = 0.5 * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
    else:
        from scipy.special import erf
        cdf = 0.5 * (1 + erf(x / np.sqrt(2.0)))
        pdf = np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    out = (x * cdf).astype(x.dtype, copy=False)

    def vjp(g):
        return ((g * (cdf + x * pdf)).astype(g.dtype, copy=False),)

    return out, vjp


@reads("x")
def clip(x, low, high):
    """out = x limited to [low, high] (either may be None; numbers or arrays that broadcast with x).

    dx = g where low <= x <= high (ends included, as PyTorch's clamp), else 0,
    summed back to x's shape if the bounds broadcast it.
    """
    out = np.clip(x, low, high)

    def vjp(g):
        inside = np.ones(out.shape, bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        return (unbroadcast(g * inside, x.shape),)

    return out, vjp


# ----------------------------------------------------------- softmax family


@reads("out")
def log_softmax(x, axis=-1):
    """out = x - log(sum(exp(x))) along ``axis``. x: (*S) -> out: (*S).

    dx = g - softmax(x) * sum(g) along ``axis``, with softmax(x) = exp(out).
    A fused primitive: the composition needs six graph nodes, and this op sits
    under every classifier's loss, so one node keeps training fast. The max is
    subtracted first (log-sum-exp), so logits of 1e4 neither overflow nor give NaN.
    """
    if x.size == 0:  # nothing to normalise (e.g. an empty axis): an empty result
        return x.copy(), lambda g: (np.zeros_like(g),)
    z = x - x.max(axis=axis, keepdims=True)
    out = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))

    def vjp(g):
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)

    return out, vjp


@reads("")
def nll_loss(logp, target, reduction="mean"):
    """out = minus the log-probabilities of the target classes: logp: (N, C), target: (N,) ints.

    reduction: "mean" (over N), "sum" or "none" (out: (N,)). Each row's
    gradient is -g (divided by N for "mean") at its target column and 0
    elsewhere: every row picks one entry, so plain assignment is exact.
    """
    n = logp.shape[0]
    rows = np.arange(n)
    picked = -logp[rows, target]
    out = picked if reduction == "none" else picked.sum() if reduction == "sum" else picked.sum() / n
    shape, dtype = logp.shape, logp.dtype

    def vjp(g):
        d = np.zeros(shape, dtype)
        d[rows, target] = -(g / n if reduction == "mean" else g)
        return (d,)

    return out, vjp


# ---------------------------------------------------------------- reductions


@reads("")
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


@reads("x out")
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


# ------------------------------------------------------- shapes and indexing


@reads("")
def reshape(x, shape):
    """out = x with a new shape (same entries, same order). dx = g reshaped back."""
    out = x.reshape(shape)
    in_shape = x.shape

    def vjp(g):
        return (np.reshape(g, in_shape),)

    return out, vjp


@reads("")
def transpose(x, axes=None):
    """out = x with its axes permuted (None: reversed). dx = g with the inverse permutation."""
    out = x.transpose(axes)
    inverse = None if axes is None else tuple(np.argsort(axes))

    def vjp(g):
        return (np.transpose(g, inverse),)

    return out, vjp


def is_basic_index(index):
    """True when numpy indexes with ``index`` by views only (ints, slices, None, Ellipsis).

    Everything else (integer or boolean arrays, lists, tuples inside the index,
    bools) is advanced indexing: an entry may be picked more than once.
    """
    parts = index if type(index) is tuple else (index,)
    for i in parts:
        if i is None or i is Ellipsis or type(i) is slice:
            continue
        if isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_)):
            continue
        return False
    return True


@reads("")
def getitem(x, index):
    """out = x[index], for any index numpy accepts.

    dx is zeros with g placed where the entries came from. For a basic index
    (ints, slices) the vjp returns a ``Scatter`` instead of building those
    zeros: the engine adds g into the input's gradient in place, so taking
    one step after another out of a sequence costs O(steps), not O(steps^2).
    With advanced
    indexing an entry can be picked more than once (``x[[0, 0]]``,
    ``x[(0, 0, 1), :]``) and must get the sum of its gradients: numpy's
    ``dx[index] = g`` would keep only the last one. So the same index is
    applied to the entries' flat positions, and np.bincount adds g up per
    position (faster than np.add.at, and exact for any mix of index kinds).
    """
    out = x[index]
    shape, dtype, size = x.shape, x.dtype, x.size
    basic = is_basic_index(index)
    if basic and type(out) is not np.ndarray:  # one entry: a 0-d view, so in-place changes reach x
        out = x[(index if type(index) is tuple else (index,)) + (Ellipsis,)]

    def vjp(g):
        if basic:  # each entry at most once: the engine adds g in at index (see Scatter)
            return (Scatter(index, g, shape, dtype),)
        positions = np.arange(size).reshape(shape)[index]
        dx = np.bincount(positions.ravel(), weights=np.ravel(g), minlength=size)
        return (dx.reshape(shape).astype(dtype, copy=False),)

    return out, vjp


@reads()
def concatenate(*xs, axis=0, need=None):
    """out = the inputs joined along an existing ``axis``. dx_i = the slice of g that x_i became."""
    out = np.concatenate(xs, axis=axis)
    ends = np.cumsum([x.shape[axis] for x in xs])[:-1]

    def vjp(g):
        return tuple(np.split(g, ends, axis=axis))

    return out, vjp


@reads()
def stack(*xs, axis=0, need=None):
    """out = the inputs (all one shape) stacked along a new ``axis``. dx_i = g's i-th slice there."""
    out = np.stack(xs, axis=axis)

    def vjp(g):
        return tuple(np.take(g, i, axis=axis) for i in range(len(xs)))

    return out, vjp


PRIMITIVES = {
    "add": add,
    "sub": sub,
    "mul": mul,
    "div": div,
    "maximum": maximum,
    "minimum": minimum,
    "where": where,
    "matmul": matmul,
    "linear": linear,
    "neg": neg,
    "pow": pow_,
    "rpow": rpow,
    "exp": exp,
    "log": log,
    "sqrt": sqrt,
    "abs": abs_,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "gelu": gelu,
    "clip": clip,
    "log_softmax": log_softmax,
    "nll_loss": nll_loss,
    "sum": sum_,
    "max": max_,
    "reshape": reshape,
    "transpose": transpose,
    "getitem": getitem,
    "concatenate": concatenate,
    "stack": stack,
}
