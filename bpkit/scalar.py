"""Value: the scalar autograd engine the course starts with.

It is micrograd-sized (one number per node, a handful of ops) but built so a
learner can push it hard:

* Each op computes its output **and its local derivatives** (d out / d parent,
  plain floats) in the same few lines, and stores them on the new node next
  to its parents. Backward is then one rule for every op:
  ``parent.grad += local * node.grad`` (the chain rule).
* No closures: micrograd's ``_backward`` closure captures ``out``, so every
  node is a reference cycle and most of the run time goes to the garbage
  collector. Here a node only points at its parents, so graphs are freed by
  reference counting the moment the last name for them goes away.
* One object per node. Python's cycle collector still visits container
  objects (anything that can hold references: a Value, a tuple, a list) now
  and then: with CPython's default thresholds, a young collection after every
  700 new ones, and a full pass over the whole heap after about 93,000. A
  node that kept its parents and local derivatives in two tuples, ``_prev``
  and ``_local``, would be three such objects. So a node with one or two
  parents keeps them in slots of its own, ``_a`` and ``_b``, with ``_da`` =
  d out / d a and ``_db`` = d out / d b; only an n-ary node (``Value.sum``,
  ``Value.dot``) holds tuples. With a third of the objects the collector runs
  a third as often while a graph is built, and a training step of
  micrograd's demo network (about 66,000 nodes) no longer starts a full pass
  by itself (benchmarks/README.md has the figures). ``_prev`` and ``_local``
  still read, and can be set, as tuples: they are properties over the slots.
* Backward visits the nodes in an order found from the graph alone (a
  depth-first search over the parents with an explicit stack, not recursion),
  so a chain of a million nodes is fine, and so are graphs that were copied,
  unpickled, or built partly before an ``importlib.reload``.

Semantics are PyTorch's (see CONTRIBUTING.md): ``backward()`` accumulates into
leaves, gives intermediate nodes fresh gradients, and refuses a second pass
through the same graph unless the first one passed ``retain_graph=True``.
Under ``with bpkit.no_grad():`` ops return leaves (no graph), as for Tensor.
"""
import gc
import math
import numbers
from operator import mul

from bpkit import grad_mode as _grad_mode  # no_grad() state, shared by both engines
from bpkit.errors import BackwardError, BpkitTypeError, BpkitValueError, ShapeError

__all__ = ["Value", "DivisionByZero"]


class DivisionByZero(BpkitValueError, ZeroDivisionError):
    """x / 0 or 0 ** -k: a bpkit ValueError that ``except ZeroDivisionError`` also catches."""


class Value:
    """One number in a computation graph, with the gradient that flows into it.

    ``Value(x)`` makes a leaf: x is an int or float (or a numpy scalar).
    Arithmetic on Values builds the graph; ``loss.backward()`` fills ``.grad``
    of every node that ``loss`` depends on.

    Attributes a learner (or ``bpkit.plots.draw_graph``) reads:
      data   the number (float)
      grad   d(last backward root) / d(this node), float
      label  an optional name for drawings, e.g. Value(2.0, label="x")
      _op    the op that made this node ('' for a leaf), e.g. '*', 'tanh'
      _prev  the parents, a tuple of Values (empty for a leaf)
      _local d(this node) / d(parent) for each parent, a tuple of floats
             (None once a backward without retain_graph has used them)

    ``_prev`` and ``_local`` are views of where a node really keeps its links
    (so that a node with one or two parents is one object, see the module
    docstring), and can be set, e.g. ``v._prev, v._local = (), ()`` makes v
    a leaf:

      parents  _a                _b           _da                 _db
      none     None              -            -                   -
      one      the parent        None         d out / d _a        -
      two      the first         the second   d out / d _a        d out / d _b
      more     tuple of parents  _MANY        tuple, one each     -

    ``-`` is a slot that layout leaves unused (nothing reads it). ``_da`` (and
    ``_db``) are None once a backward without retain_graph has used the node.
    """

    __slots__ = ("data", "grad", "label", "_op", "_a", "_b", "_da", "_db", "__weakref__")

    def __init__(self, data, _prev=(), _local=(), _op="", *, label=""):
        if type(data) is not float:
            data = _as_number(data, "Value()")
        self.data = data
        self.grad = 0.0
        self.label = label
        if _prev and _grad_mode._grad_enabled:
            self._prev, self._local, self._op = _prev, _local, _op
        else:  # a leaf (inside bpkit.no_grad() too: no graph)
            self._a, self._op = None, ""

    @property
    def _prev(self):
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is None:
            return (a,)
        if b is _MANY:
            return a
        return (a, b)

    @_prev.setter
    def _prev(self, parents):
        parents = tuple(parents)
        if not parents:
            self._a = None
        elif len(parents) == 1:
            self._a, self._b = parents[0], None
        elif len(parents) == 2:
            self._a, self._b = parents
        else:
            self._a, self._b = parents, _MANY

    @property
    def _local(self):
        if self._a is None:
            return ()
        da, b = self._da, self._b
        if da is None or b is _MANY:  # freed, or n-ary: the tuple itself
            return da
        if b is None:
            return (da,)
        return (da, self._db)

    @_local.setter
    def _local(self, local):  # stored by its own length, so _prev may be set before or after
        if local is None:
            self._da = None
            return
        local = tuple(local)
        if len(local) == 1:
            self._da = local[0]
        elif len(local) == 2:
            self._da, self._db = local
        else:
            self._da = local

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # ------------------------------------------------------------------
    # Binary ops. Constants are wrapped as leaf Values so the graph shows them.
    # Each op: output, then its parents, then d out / d parent for each parent.

    def __add__(self, other):
        other = other if isinstance(other, Value) else _const(other, "+")
        return _binary(self.data + other.data, self, other, 1.0, 1.0, "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else _const(other, "*")
        return _binary(self.data * other.data, self, other, other.data, self.data, "*")

    def __sub__(self, other):
        other = other if isinstance(other, Value) else _const(other, "-")
        return _binary(self.data - other.data, self, other, 1.0, -1.0, "-")

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else _const(other, "/")
        a, b = self.data, other.data
        if b == 0.0:
            raise DivisionByZero(f"/: division by zero ({a:g} / 0)")
        out = a / b
        # d(a/b)/da = 1/b,  d(a/b)/db = -a/b**2 = -out/b
        return _binary(out, self, other, 1.0 / b, -out / b, "/")

    def __pow__(self, k):
        if type(k) is not float and type(k) is not int and (
                isinstance(k, Value) or not isinstance(k, numbers.Real) or _is_bool(k)):
            raise BpkitTypeError(
                f"**: the exponent must be an int or float, not {_describe(k)} "
                "(Value ** Value is not supported: write (b * a.log()).exp() for a ** b)")
        k = _as_number(k, "**")
        x = self.data
        if x == 0.0 and k < 0:
            raise DivisionByZero(f"**: 0 ** {k:g} divides by zero")
        try:
            out = x ** k
        except OverflowError:
            raise BpkitValueError(f"**: ({x:g}) ** {k:g} is too large for a float{_LIMIT}") from None
        if isinstance(out, complex):
            raise BpkitValueError(f"**: ({x:g}) ** {k:g} is not a real number")
        # d(x**k)/dx = k * x**(k-1); infinite for 0 < k < 1 at x = 0 (e.g. sqrt)
        if k == 0:
            local = 0.0
        elif x == 0.0 and k < 1:
            local = math.inf
        else:
            try:
                local = k * x ** (k - 1)
            except OverflowError:  # e.g. x ** -1 at x = 1e-200: out is fine, its slope is not
                raise BpkitValueError(f"**: the derivative of x ** {k:g} at x = {x:g} is too "
                                      f"large for a float{_LIMIT}") from None
        return _unary(out, self, local, f"**{k:g}")

    def __neg__(self):
        return _unary(-self.data, self, -1.0, "neg")

    # Reflected forms: `2 * v`, `1 - v`, `2 / v`, `2 + v`.
    def __radd__(self, other):
        return _const(other, "+") + self

    def __rmul__(self, other):
        return _const(other, "*") * self

    def __rsub__(self, other):
        return _const(other, "-") - self

    def __rtruediv__(self, other):
        return _const(other, "/") / self

    def __rpow__(self, other):
        raise BpkitTypeError(
            "**: a Value as the exponent is not supported: write "
            "(v * math.log(c)).exp() for c ** v")

    # ------------------------------------------------------------------
    # Unary ops.

    def exp(self):
        x = self.data
        try:
            out = math.exp(x)
        except OverflowError:
            raise BpkitValueError(
                f"exp: exp({x:g}) is too large for a float (the limit is about exp(709.78))"
            ) from None
        return _unary(out, self, out, "exp")  # d e^x / dx = e^x

    def log(self):
        x = self.data
        if x <= 0.0:
            raise BpkitValueError(f"log: log({x:g}) is undefined: log needs a positive number")
        return _unary(math.log(x), self, 1.0 / x, "log")

    def tanh(self):
        t = math.tanh(self.data)
        return _unary(t, self, 1.0 - t * t, "tanh")

    def sigmoid(self):
        x = self.data
        if x >= 0.0:  # two forms, so exp never overflows
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return _unary(s, self, s * (1.0 - s), "sigmoid")

    def relu(self):
        x = self.data
        if x > 0.0:
            return _unary(x, self, 1.0, "relu")
        return _unary(0.0, self, 0.0, "relu")

    # ------------------------------------------------------------------
    # n-ary helpers: one node instead of a chain of n binary nodes. Same
    # gradients, far fewer nodes, so forward and backward are much faster.
    # Plain numbers in the inputs are constants: they enter `data` but are
    # not parents (no leaf nodes are made for them).

    @staticmethod
    def sum(values):
        """sum(values) as one node; d sum / d v_i = 1 for every Value v_i.

        Python's built-in sum() works too, but builds 0 + v0 + v1 + ... as
        a chain of len(values) nodes.
        """
        prev, total = [], 0.0
        for v in _sequence(values, "Value.sum(values) takes a sequence of Values or numbers; values"):
            if isinstance(v, Value):
                prev.append(v)
                total += v.data
            else:
                total += _as_number(v, "Value.sum")
        return _nary(total, prev, (1.0,) * len(prev), "sum")

    @staticmethod
    def dot(a, b):
        """sum_i a[i] * b[i] as one node: a neuron's weighted sum in one step.

        a, b: sequences of the same length, of Values or numbers.
        d dot / d a[i] = b[i] and d dot / d b[i] = a[i].
        """
        a = _sequence(a, "Value.dot(a, b) takes two sequences of Values or numbers; a")
        b = _sequence(b, "Value.dot(a, b) takes two sequences of Values or numbers; b")
        if len(a) != len(b):
            raise ShapeError(f"Value.dot: lengths {len(a)} and {len(b)} differ")
        a_values, b_values = _all_values(a), _all_values(b)
        ad = [v.data for v in a] if a_values else [_data(v, "Value.dot") for v in a]
        bd = [v.data for v in b] if b_values else [_data(v, "Value.dot") for v in b]
        out = sum(map(mul, ad, bd), 0.0)
        if a_values and b_values:  # the common case: no constants
            return _nary(out, (*a, *b), (*bd, *ad), "dot")
        prev, local = [], []
        for v, d in zip(a, bd):
            if isinstance(v, Value):
                prev.append(v)
                local.append(d)
        for v, d in zip(b, ad):
            if isinstance(v, Value):
                prev.append(v)
                local.append(d)
        return _nary(out, prev, local, "dot")

    # ------------------------------------------------------------------

    def backward(self, *, retain_graph=False):
        """Fill ``.grad`` of every node this one depends on (d self / d node).

        ``retain_graph`` is keyword-only: ``v.backward(g)`` (Tensor's form, with
        a seed gradient) would otherwise silently mean retain_graph=True.

        Leaves (nodes with no parents: the numbers you made with Value(...))
        accumulate: their grads are added to, so clear them between steps
        (``p.grad = 0.0``). Intermediate nodes get fresh grads each call.
        A second backward through the same graph raises BackwardError, since
        it would add the same gradients twice; pass ``retain_graph=True`` to
        the first call if you mean to do that.
        """
        # backward makes no reference cycles, so pause the cycle collector: it
        # would otherwise walk the whole graph several times while we work.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._backward(retain_graph)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _backward(self, retain_graph):
        order = _graph_order(self)  # the nodes with parents, each after its parents
        for node in order:  # intermediate nodes get fresh gradients
            node.grad = 0.0
        node = self  # the node being worked on, for the error message below
        try:
            if order:
                self.grad = 1.0
            else:  # backward from a leaf: d self / d self = 1, accumulated
                self.grad += 1.0
            # The chain rule, one rule for every op: parent.grad += local * node.grad.
            # Children come before their parents, so a node's grad is complete
            # before it is passed on. The slots are read directly (see the table
            # in Value's docstring): building _prev and _local tuples would cost
            # more than the arithmetic.
            for node in reversed(order):
                g = node.grad
                b = node._b
                if b is None:  # one parent
                    node._a.grad += node._da * g
                elif b is _MANY:  # a sum or dot: tuples of parents and local derivatives
                    for p, d in zip(node._a, node._da):
                        p.grad += d * g
                else:  # two parents
                    node._a.grad += node._da * g
                    b.grad += node._db * g
                if not retain_graph:  # used: freed, as in PyTorch, so a second pass is caught
                    node._da = node._db = None
        except TypeError:  # a leaf's grad that is no number, e.g. None (Tensor's way to clear)
            bad = [v.grad for v in (node, *node._prev) if not isinstance(v.grad, numbers.Real)]
            if not bad:
                raise
            what = "None" if bad[0] is None else _describe(bad[0])
            raise BpkitTypeError(
                f"backward: a leaf's .grad is {what}, not a number; clear Value grads with "
                "v.grad = 0.0 (None is Tensor's way), then run the forward pass again") from None


def _graph_order(root):
    """The nodes with parents that root depends on (root too), each listed
    after all of its parents: a topological order found from the graph alone.

    A depth-first search with an explicit stack, not recursion, so there is no
    recursion limit. Visiting a node pushes the node, then None (a marker),
    then its parents not yet visited; when the marker comes back to the top,
    everything above it (the parents and all they depend on) has been listed,
    so the node under the marker is listed. Leaves are left out: they only
    receive. Raises BackwardError, before any gradient is touched, on a graph
    that an earlier backward() has freed.
    """
    if root._a is None:
        return []
    order, seen, stack = [], set(), [root]
    append, pop = stack.append, stack.pop
    while stack:
        node = pop()
        if node is None:  # the marker: the node under it has all its parents listed
            order.append(pop())
        elif node not in seen:  # (a node may be pushed by several children)
            if node._da is None:
                raise BackwardError(_FREED)
            seen.add(node)
            append(node)
            append(None)
            a, b = node._a, node._b
            if b is _MANY:
                for p in a:
                    if p._a is not None and p not in seen:
                        append(p)
            else:
                if a._a is not None and a not in seen:
                    append(a)
                if b is not None and b._a is not None and b not in seen:
                    append(b)
    return order


_FREED = ("backward: this graph was already used by a backward() call, and a second pass "
          "would double the gradients; pass retain_graph=True to the first backward() if "
          "you mean to go through it again")


# ----------------------------------------------------------------------
# Building nodes. Ops make them here, not through Value(...): building the
# graph is most of a forward pass, so these skip __init__'s checks and set
# the slots of Value's table directly. Under bpkit.no_grad() an op's output
# is a leaf (no graph), as for Tensor.

_MANY = ...  # _b of a node with more than two parents (all in _a); a builtin
# singleton, so it is still the same object after pickle or importlib.reload
_new = object.__new__


def _unary(out, a, da, op):
    """The output of an op with one parent a: out = op(a), da = d out / d a."""
    v = _new(Value)
    v.data = out if type(out) is float else float(out)
    v.grad = 0.0
    v.label = ""
    if _grad_mode._grad_enabled:
        v._op = op
        v._a, v._b = a, None
        v._da = da
    else:
        v._op, v._a = "", None
    return v


def _binary(out, a, b, da, db, op):
    """The output of an op with parents a, b: out = a op b, da = d out / d a, db = d out / d b."""
    v = _new(Value)
    v.data = out if type(out) is float else float(out)
    v.grad = 0.0
    v.label = ""
    if _grad_mode._grad_enabled:
        v._op = op
        v._a, v._b = a, b
        v._da, v._db = da, db
    else:
        v._op, v._a = "", None
    return v


def _nary(out, prev, local, op):
    """The output of Value.sum or Value.dot: parents prev, local[i] = d out / d prev[i].
    (Through the _prev and _local setters, which pick the layout by length.)"""
    v = _new(Value)
    v.data = out if type(out) is float else float(out)
    v.grad = 0.0
    v.label = ""
    if _grad_mode._grad_enabled:
        v._op = op
        v._prev, v._local = prev, local
    else:
        v._op, v._a = "", None
    return v


def _const(x, op):
    """A plain number in an op (the 2 in v * 2) as a leaf Value, so the graph
    shows it. Anything but one real number raises an error naming op.
    (A leaf built like the ops' nodes, without the extra call.)"""
    v = _new(Value)
    v.data = x if type(x) is float else _as_number(x, op)
    v.grad = 0.0
    v.label = ""
    v._op, v._a = "", None
    return v


def _describe(x):
    """A learner-facing name for what was passed, e.g. 'an array of shape (3,)'."""
    if isinstance(x, Value):
        return "a Value"
    if _is_bool(x):
        return f"a bool ({bool(x)})"
    shape = getattr(x, "shape", None)
    if shape is not None and not isinstance(x, numbers.Number):
        return f"{'an array' if type(x).__name__ == 'ndarray' else 'a ' + type(x).__name__} of shape {tuple(shape)}"
    if isinstance(x, (list, tuple)):
        return f"a {type(x).__name__} of length {len(x)}"
    if isinstance(x, str):
        return f"text ({x!r})"
    name = type(x).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name} ({x!r})"


def _as_number(x, op):
    """x as a float, or a one-line error naming `op` if x is not one real number."""
    if type(x) is float or type(x) is int or (  # the common cases, before the slower ABC check
            isinstance(x, numbers.Real) and not _is_bool(x)):
        try:
            return float(x)
        except OverflowError:  # an int (or Fraction) beyond the largest float
            what = f"an int of about 10**{int(x.bit_length() * math.log10(2))}" if isinstance(
                x, int) else f"a {type(x).__name__}"
            raise BpkitValueError(f"{op}: {what} is too large for a float{_LIMIT}") from None
    if type(x).__name__ == "ndarray" and x.shape == () and x.dtype.kind in "iuf":
        return float(x)  # a 0-d array holds one number
    what = _describe(x)
    if isinstance(x, Value):
        hint = ": use the Value itself, or Value(v.data) for a new leaf"
    elif _is_bool(x):
        hint = ": write 1.0 or 0.0 if you mean a number"
    elif getattr(x, "shape", None) is not None or isinstance(x, (list, tuple)):
        hint = ": use bpkit.Tensor for arrays"
    elif isinstance(x, str):
        hint = ": convert it with float(...) first"
    else:
        hint = ""
    raise BpkitTypeError(f"{op}: Value holds one number; got {what}{hint}")


_LIMIT = " (the limit is about 1.8e308)"


def _sequence(xs, message):
    """xs as a list or tuple; if xs cannot be iterated, a one-line error:
    message, then what xs is."""
    if isinstance(xs, (list, tuple)):
        return xs
    try:
        items = iter(xs)
    except TypeError:
        raise BpkitTypeError(f"{message} is {_describe(xs)}") from None
    return list(items)


def _is_bool(x):
    return type(x).__name__ in ("bool", "bool_")  # Python's bool and numpy's


def _all_values(seq):
    """True if every item of seq is a Value (checked by type: numpy scalars also have a .data)."""
    return all(issubclass(t, Value) for t in set(map(type, seq)))


def _data(v, op):
    if isinstance(v, Value):
        return v.data
    return v if type(v) is float else _as_number(v, op)
