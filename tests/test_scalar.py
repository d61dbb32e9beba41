"""Tests for bpkit.scalar.Value: every op's derivative, the backward semantics,
long graphs, memory (no reference cycles) and the errors a learner sees."""
import copy
import gc
import math
import pickle
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit.errors import BackwardError, BpkitTypeError, BpkitValueError, ShapeError
from bpkit.gradcheck import numerical_grad
from bpkit.scalar import DivisionByZero, Value
from bpkit.tensor import Tensor


def finite(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


# Inputs are kept away from kinks (relu at 0), poles (1/x at 0), the edge of
# log's domain and overflow, where central differences are not a fair judge.
ANY = finite(-3.0, 3.0)
AWAY_FROM_0 = st.one_of(finite(-3.0, -0.2), finite(0.2, 3.0))
POSITIVE = finite(0.2, 5.0)


# The op table: name -> (the Value methods it exercises, f(*Values), strategy
# for each argument). Every op on Value must appear here (see
# test_every_op_is_in_the_table), so an op without a gradient test is impossible.
UNARY = {
    "neg": ({"__neg__"}, lambda a: -a, ANY),
    "add_const": ({"__add__"}, lambda a: a + 1.5, ANY),
    "radd": ({"__radd__"}, lambda a: 2 + a, ANY),
    "sub_const": ({"__sub__"}, lambda a: a - 1.5, ANY),
    "rsub": ({"__rsub__"}, lambda a: 1 - a, ANY),
    "mul_const": ({"__mul__"}, lambda a: a * 1.5, ANY),
    "rmul": ({"__rmul__"}, lambda a: 2 * a, ANY),
    "div_const": ({"__truediv__"}, lambda a: a / 1.5, ANY),
    "rdiv": ({"__rtruediv__"}, lambda a: 2 / a, AWAY_FROM_0),
    "pow2": ({"__pow__"}, lambda a: a ** 2, ANY),
    "pow3": ({"__pow__"}, lambda a: a ** 3, ANY),
    "pow_neg1": ({"__pow__"}, lambda a: a ** -1, AWAY_FROM_0),
    "pow_half": ({"__pow__"}, lambda a: a ** 0.5, POSITIVE),
    "pow0": ({"__pow__"}, lambda a: a ** 0, ANY),
    "exp": ({"exp"}, lambda a: a.exp(), ANY),
    "log": ({"log"}, lambda a: a.log(), POSITIVE),
    "tanh": ({"tanh"}, lambda a: a.tanh(), ANY),
    "sigmoid": ({"sigmoid"}, lambda a: a.sigmoid(), finite(-8.0, 8.0)),
    "relu": ({"relu"}, lambda a: a.relu(), AWAY_FROM_0),
}
BINARY = {
    "add": ({"__add__"}, lambda a, b: a + b, ANY, ANY),
    "sub": ({"__sub__"}, lambda a, b: a - b, ANY, ANY),
    "mul": ({"__mul__"}, lambda a, b: a * b, ANY, ANY),
    "div": ({"__truediv__"}, lambda a, b: a / b, ANY, AWAY_FROM_0),
}
NARY = {
    "sum": ({"sum"}, lambda *v: Value.sum(v), 4),
    "sum_with_constant": ({"sum"}, lambda *v: Value.sum([*v, 2.5]), 3),
    "dot": ({"dot"}, lambda *v: Value.dot(v[:3], v[3:]), 6),
    "dot_with_constants": ({"dot"}, lambda *v: Value.dot(v, [0.5, -1.0, 2.0]), 3),
    "dot_same_value_twice": ({"dot"}, lambda a, b: Value.dot([a, b, a], [a, a, b]), 2),
}


def check_derivatives(f, xs):
    """backward() of f(*Values) against central differences of f in each input."""
    values = [Value(x) for x in xs]
    f(*values).backward()
    numeric = numerical_grad(lambda x: f(*map(Value, x)).data, xs)
    for v, num in zip(values, numeric):
        assert v.grad == pytest.approx(num, rel=1e-5, abs=1e-6)


def test_every_op_is_in_the_table():
    not_ops = {"__init__", "__repr__", "backward", "_backward", "__rpow__"}
    ops = {name for name in vars(Value) if callable(getattr(Value, name)) and name not in not_ops
           and not name.startswith("__slot")}
    covered = set().union(*(entry[0] for table in (UNARY, BINARY, NARY) for entry in table.values()))
    assert ops - covered == set(), f"ops without a gradient test: {sorted(ops - covered)}"


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_derivative(name, data):
    _, f, strategy = UNARY[name]
    check_derivatives(f, [data.draw(strategy)])


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_derivative(name, data):
    _, f, sa, sb = BINARY[name]
    check_derivatives(f, [data.draw(sa), data.draw(sb)])


@pytest.mark.parametrize("name", sorted(NARY))
@given(data=st.data())
def test_nary_derivative(name, data):
    _, f, n = NARY[name]
    check_derivatives(f, data.draw(st.lists(ANY, min_size=n, max_size=n)))


@given(xs=st.lists(ANY, min_size=3, max_size=3))
def test_composite_expression_derivative(xs):
    def f(a, b, c):
        h = (a * b + c).tanh()
        return (h * h + (a - c).sigmoid() / (1 + b ** 2)).relu() + (c.exp() + 1).log()
    check_derivatives(f, xs)


def test_forward_values_match_math():
    x = Value(0.3)
    assert (x.exp()).data == math.exp(0.3)
    assert (x.log()).data == math.log(0.3)
    assert (x.tanh()).data == math.tanh(0.3)
    assert (x.sigmoid()).data == pytest.approx(1 / (1 + math.exp(-0.3)))
    assert Value(-1000.0).sigmoid().data == 0.0 and Value(1000.0).sigmoid().data == 1.0
    assert (Value(-2.0).relu()).data == 0.0
    assert (2 / x).data == 2 / 0.3 and (1 - x).data == 1 - 0.3
    assert Value.sum([x, 1, x]).data == pytest.approx(1.6)
    assert Value.dot([1.0, 2.0], [x, x]).data == pytest.approx(0.9)


def test_dot_and_sum_accept_numpy_rows():
    w = [Value(1.0), Value(2.0)]
    d = Value.dot(w, np.array([3.0, 4.0]))
    assert d.data == 11.0 and d._prev == tuple(w) and d._local == (3.0, 4.0)
    assert Value.dot(np.array([3.0, 4.0], dtype=np.float32), w).data == 11.0
    assert Value.sum(np.array([1.0, 2.0])).data == 3.0


def test_sum_and_dot_give_one_node():
    a, b = Value(1.0), Value(2.0)
    s = Value.sum([a, b, 3.0])
    assert s._op == "sum" and s._prev == (a, b)
    d = Value.dot([a, b], [4.0, 5.0])
    assert d._op == "dot" and d._prev == (a, b) and d._local == (4.0, 5.0)


# ---------------------------------------------------------------------------
# backward semantics (CONTRIBUTING.md)

def test_node_used_twice_accumulates():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == 7.0
    z = Value(2.0)
    (z + z).backward()
    assert z.grad == 2.0


def test_leaves_accumulate_across_backward_calls():
    w = Value(2.0)
    (w * 3).backward()
    (w * 4).backward()
    assert w.grad == 7.0
    w.grad = 0.0
    (w * 5).backward()
    assert w.grad == 5.0


def test_second_backward_raises_and_changes_nothing():
    x = Value(0.5)
    h = x * 2
    y = h.tanh()
    y.backward()
    grads = (x.grad, h.grad, y.grad)
    with pytest.raises(BackwardError, match="double the gradients"):
        y.backward()
    assert isinstance(BackwardError("x"), RuntimeError)
    assert (x.grad, h.grad, y.grad) == grads
    # a new graph built on a freed one is caught too, as in PyTorch
    with pytest.raises(BackwardError):
        (h * 3).backward()


def test_retain_graph_accumulates_into_leaves_and_refreshes_intermediates():
    x = Value(0.5)
    h = x * 2
    y = h.tanh()
    y.backward(retain_graph=True)
    first_x, first_h = x.grad, h.grad
    assert first_h == pytest.approx(1 - math.tanh(1.0) ** 2)
    y.backward()
    assert x.grad == pytest.approx(2 * first_x)  # leaf: accumulated
    assert h.grad == first_h  # intermediate: fresh
    assert y.grad == 1.0
    with pytest.raises(BackwardError):
        y.backward()


def test_backward_from_a_leaf():
    x = Value(4.0)
    x.backward()
    x.backward()
    assert x.grad == 2.0


def test_constants_are_leaves_and_graph_is_drawable():
    x = Value(2.0)
    y = (x * 3).relu()
    assert y._op == "relu" and x._op == "" and x._prev == ()
    (mul,) = y._prev
    assert mul._op == "*" and mul._prev[0] is x and mul._prev[1].data == 3.0
    assert (x ** 2)._op == "**2"
    w = Value(0.5, label="w")
    assert w.label == "w" and x.label == ""
    x.label = "x"  # settable, as in micrograd's lecture
    assert x.label == "x"


def test_no_grad_builds_no_graph():
    from bpkit import no_grad
    x = Value(2.0)
    with no_grad():
        y = (x * 3).tanh() + Value.dot([x], [2.0])
    assert y._prev == () and y._op == ""
    assert y.data == pytest.approx(math.tanh(6.0) + 4.0)
    y.backward()  # a leaf: d y / d y = 1, nothing reaches x
    assert y.grad == 1.0 and x.grad == 0.0
    assert ((x * 3).tanh())._prev != ()  # grad mode is back on


def test_repr():
    x = Value(2.0)
    (x * x).backward()
    assert repr(x) == "Value(data=2, grad=4)"
    assert repr(Value(0.1)) == "Value(data=0.1, grad=0)"


def test_million_node_chain():
    """No recursion limit, and the chain rule across 1,000,000 nodes is right."""
    x = Value(0.5)
    y = x
    # The graph has no cycles, so the cycle collector has nothing to find; its
    # repeated scans of a growing million-node heap would only slow the build.
    gc.disable()
    try:
        for _ in range(999_999):
            y = -y
    finally:
        gc.enable()
    y = y * y  # y = x**2 whatever the sign: dy/dx = 2x = 1
    assert y._op == "*"
    y.backward()
    assert x.grad == 1.0 and y.data == 0.25


def test_nodes_are_not_reference_cycles():
    """A graph is freed by reference counting alone (micrograd's closures
    make every node a cycle that only the garbage collector can free)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        x = Value(0.7)
        h = (x * 2).tanh()
        y = Value.sum([h * h, Value.dot([h, x], [1.0, 2.0]), h.exp().log()])
        refs = [weakref.ref(h), weakref.ref(y), weakref.ref(y._prev[0])]
        y.backward(retain_graph=True)
        del h, y
        assert [r() for r in refs] == [None, None, None]
        assert x.grad != 0.0  # the leaf is still ours
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------------------
# the node layout: parents and local derivatives in slots, _prev/_local as views

def _tracked_objects_made_by(make):
    """How many objects the cycle collector tracks that make() left alive
    (CPython's count of new container objects since the last collection)."""
    was_enabled = gc.isenabled()
    gc.disable()
    gc.collect()
    try:
        before = gc.get_count()[0]
        kept = make()
        return gc.get_count()[0] - before, kept
    finally:
        if was_enabled:
            gc.enable()


@pytest.mark.parametrize("op, per_node", [
    (lambda h, y: h * y, 1),            # two parents: one object, no tuples
    (lambda h, y: h.tanh(), 1),         # one parent
    (lambda h, y: h - 2.0, 2),          # the node and the leaf for the constant 2.0
])
def test_a_node_with_one_or_two_parents_is_one_object_for_the_collector(op, per_node):
    """Young collections run after every 700 new container objects and a full
    one after about 93,000, so objects per node decide how often the cycle
    collector walks a growing graph (see the module docstring)."""
    x, y, n = Value(0.5), Value(1.0), 1000

    def make():
        nodes, h = [None] * n, x
        for i in range(n):
            h = op(h, y)
            nodes[i] = h
        return nodes
    made, nodes = _tracked_objects_made_by(make)
    assert n * per_node <= made <= n * per_node + 20
    assert len(nodes) == n


def test_prev_and_local_read_as_tuples_for_every_layout():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    cases = [
        (a, (), ()),                                       # a leaf
        (a.tanh(), (a,), (1 - math.tanh(1.0) ** 2,)),      # one parent
        (a * b, (a, b), (2.0, 1.0)),                       # two
        (Value.dot([a, b], [c, 4.0]), (a, b, c), (3.0, 4.0, 1.0)),  # more: tuples
        (Value.sum([a, b]), (a, b), (1.0, 1.0)),           # n-ary with two parents
        (Value.sum([a]), (a,), (1.0,)),
        (Value.sum([1.0, 2.0]), (), ()),                   # no Value in it: a leaf
    ]
    for node, prev, local in cases:
        assert type(node._prev) is tuple and type(node._local) is tuple
        assert node._prev == prev and all(p is q for p, q in zip(node._prev, prev))
        assert node._local == pytest.approx(local, rel=1e-15)
    assert Value.sum([1.0, 2.0])._op == "sum"
    # Value's own constructor takes the same tuples
    v = Value(3.0, (a, b, c), (1.0, 2.0, 3.0), "f", label="v")
    assert v._prev == (a, b, c) and v._local == (1.0, 2.0, 3.0) and v.label == "v"
    v.backward()
    assert (a.grad, b.grad, c.grad) == (1.0, 2.0, 3.0)


@pytest.mark.parametrize("make", [
    lambda a, b, c: a.exp(),
    lambda a, b, c: a * b,
    lambda a, b, c: Value.dot([a, b, c], [a, b, c]),
])
def test_local_is_none_once_backward_has_freed_it(make):
    a, b, c = Value(0.5), Value(2.0), Value(-1.0)
    y = make(a, b, c)
    prev, local = y._prev, y._local
    y.backward(retain_graph=True)
    assert y._local == local
    y.backward()
    assert y._local is None and y._prev == prev  # the structure stays, for drawings


@pytest.mark.parametrize("make", [
    lambda a, b: (a * b).tanh(),
    lambda a, b: (a * b).exp(),
    lambda a, b: Value.dot([a * b, a, b], [2.0, a * b, b]),
])
@pytest.mark.parametrize("freed", [False, True])
def test_setting_prev_and_local_cuts_a_node_from_its_history_and_back(make, freed):
    """What gradcheck's _cut_from_history does: set _prev and _local to () so an
    inner node is a leaf for a while, then put the old tuples (or None) back."""
    a, b = Value(0.5), Value(-1.5)
    h = a * b
    y = make(h, b)
    if freed:
        (y * 1.0).backward()  # frees h's local derivatives (and y's)
    old = h._prev, h._local
    assert (old[1] is None) == freed
    h._prev, h._local = (), ()
    assert h._prev == () and h._local == ()
    a.grad = b.grad = h.grad = 0.0
    z = h * 3.0
    z.backward()
    assert h.grad == 3.0 and a.grad == 0.0  # backward stopped at h
    h._prev, h._local = old
    assert h._prev == old[0] and h._local == old[1]
    if not freed:
        (h * 1.0).backward()
        assert (a.grad, b.grad) == (-1.5, 0.5)
    else:
        with pytest.raises(BackwardError):
            (h * 1.0).backward()
    # the setters take either order, and any iterable
    g = Value(1.0)
    g._local = [4.0, 5.0, 6.0]
    g._prev = [a, b, h]
    assert g._prev == (a, b, h) and g._local == (4.0, 5.0, 6.0)


def test_graphs_with_every_layout_survive_copy_pickle_and_reload():
    """An n-ary node's marker (_b) must still be recognised after pickle and
    after importlib.reload, or backward would read its tuples as two parents."""
    a, b = Value(0.3), Value(-0.7)
    y = Value.dot([a, b, a * b], [b, a.tanh(), 2.0]) + Value.sum([a, b, 1.0, a])
    y.backward(retain_graph=True)
    grads = (a.grad, b.grad)
    for a2, b2, y2 in (copy.deepcopy((a, b, y)), pickle.loads(pickle.dumps((a, b, y)))):
        a2.grad = b2.grad = 0.0
        y2.backward()
        assert (a2.grad, b2.grad) == pytest.approx(grads, rel=1e-15)
    out = _run("""
        import importlib, bpkit.scalar as scalar
        a, b = scalar.Value(0.3), scalar.Value(-0.7)
        d = scalar.Value.dot([a, b, a], [b, a, b])   # built before the reload
        importlib.reload(scalar)
        y = (d * 2.0) * (d + 1.0)                    # built after it, on top of d
        y.backward()
        print(a.grad, b.grad)
    """)
    d = 3 * 0.3 * -0.7  # dot([a, b, a], [b, a, b]) = 3ab; dy/dd = 4d + 2
    assert [float(g) for g in out.split()] == pytest.approx(
        [(4 * d + 2) * 3 * -0.7, (4 * d + 2) * 3 * 0.3], rel=1e-12)


def test_a_none_grad_behind_an_n_ary_node_is_named():
    x, y, z = Value(1.0), Value(2.0), Value(3.0)
    s = Value.sum([x, y, z]) * 2.0
    y.grad = None
    with pytest.raises(BpkitTypeError, match=r"a leaf's .grad is None"):
        s.backward()


# ---------------------------------------------------------------------------
# backward's order comes from the graph alone, not from when nodes were made

# Ops for random graphs: smooth everywhere, and each output at most about
# twice its inputs in size, so central differences are a fair judge.
DAG_OPS = [
    lambda a, b: (a + b) * 0.5,
    lambda a, b: a - b,
    lambda a, b: (a * b).tanh(),
    lambda a, b: a * b.sigmoid(),
    lambda a, b: 2.0 - a,
    lambda a, b: Value.sum([a, b, a]) * 0.5,                  # a parent twice
    lambda a, b: Value.dot([a, b, 0.5], [a.tanh(), a.sigmoid(), b]),  # a twice, plus a constant
]


@given(xs=st.lists(ANY, min_size=1, max_size=4),
       steps=st.lists(st.tuples(st.integers(0, len(DAG_OPS) - 1), st.integers(0, 99),
                                st.integers(0, 99)), min_size=1, max_size=10))
def test_random_graphs_match_central_differences(xs, steps):
    """Random DAGs: each step applies a random op to two earlier nodes (any of
    them, reused at random); the root sums every node made, so most nodes have
    several children."""
    def f(*inputs):
        nodes = list(inputs)
        for op, i, j in steps:
            nodes.append(DAG_OPS[op](nodes[i % len(nodes)], nodes[j % len(nodes)]))
        return Value.sum(nodes[len(inputs):])

    values = [Value(x) for x in xs]
    f(*values).backward()
    numeric = numerical_grad(lambda x: f(*map(Value, x)).data, xs)
    for v, num in zip(values, numeric):
        assert v.grad == pytest.approx(num, rel=1e-5, abs=1e-5)


def _graph():
    """x, and y = f(x) with a node used by several others; dy/dx = 4h + 2 times 3(1 - t^2)."""
    x = Value(0.5)
    h = (x * 3.0).tanh()
    return x, (h * 2.0 + 1.0) * (h + 0.5), (4 * math.tanh(1.5) + 2) * 3 * (1 - math.tanh(1.5) ** 2)


def test_copied_and_unpickled_graphs_give_the_same_gradients():
    """copy.deepcopy and pickle make each node before its parents (which are in
    its state): creation order is then no topological order."""
    x, y, dydx = _graph()
    for x2, y2 in (copy.deepcopy((x, y)), pickle.loads(pickle.dumps((x, y)))):
        z = y2 * 1.0 + 0.0  # new nodes on top of the copied ones
        z.backward()
        assert x2.grad == pytest.approx(dydx, rel=1e-12)
    y.backward()
    assert x.grad == pytest.approx(dydx, rel=1e-12)


def _run(code, stdin=b""):
    """stdout of `code` run in a fresh interpreter (so module state starts anew)."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], input=stdin,
                            capture_output=True, check=True)
    return result.stdout.decode()


def test_graph_saved_in_one_session_and_extended_in_another():
    """A graph pickled here and loaded in a fresh interpreter, then built upon
    there: nodes made in the new session must still come after their parents."""
    made_before = [Value(0.0) for _ in range(1000)]  # this session has made many Values
    x, y, dydx = _graph()
    out = _run("""
        import pickle, sys
        x, y = pickle.loads(sys.stdin.buffer.read())
        z = (y * 1.0 + 0.0).tanh() * 1.0   # built in the new session, on top of y
        z.backward()
        print(x.grad, y.grad, z.data)
    """, stdin=pickle.dumps((x, y)))
    x_grad, y_grad, z = map(float, out.split())
    assert y_grad == pytest.approx(1 - z * z, rel=1e-12)
    assert x_grad == pytest.approx(dydx * (1 - z * z), rel=1e-12)
    assert len(made_before) == 1000


def test_backward_is_right_after_module_reload():
    """importlib.reload (Jupyter's autoreload) runs scalar.py again in the same
    module namespace. Nodes built before and after the reload mix in one graph."""
    out = _run("""
        import importlib, bpkit.scalar as scalar
        made_before = [scalar.Value(0.0) for _ in range(1000)]  # a session with many Values
        x = scalar.Value(0.5)
        h = (x * 3.0).tanh()             # built before the reload
        importlib.reload(scalar)
        y = (h * 2.0 + 1.0) * (h + 0.5)  # built after it, on top of h
        y.backward()
        print(x.grad)
    """)
    assert float(out) == pytest.approx(_graph()[2], rel=1e-12)


# ---------------------------------------------------------------------------
# errors a learner sees

@pytest.mark.parametrize("bad, fragment", [
    (np.zeros(3), "got an array of shape (3,): use bpkit.Tensor for arrays"),
    (np.zeros((2, 2)), "got an array of shape (2, 2)"),
    ([1.0, 2.0, 3.0], "got a list of length 3: use bpkit.Tensor for arrays"),
    ((1.0,), "got a tuple of length 1"),
    ("3.0", "got text ('3.0')"),
    (True, "got a bool (True)"),
    (np.bool_(False), "got a bool (False): write 1.0 or 0.0"),
    (None, "got a NoneType (None)"),
    (1 + 2j, "got a complex"),
])
def test_value_of_non_number_raises(bad, fragment):
    with pytest.raises(BpkitTypeError) as info:
        Value(bad)
    assert "Value holds one number" in str(info.value)
    assert fragment in str(info.value)
    assert isinstance(info.value, TypeError)


def test_value_of_a_value_raises():
    with pytest.raises(BpkitTypeError, match="got a Value"):
        Value(Value(1.0))


def test_numbers_of_every_kind_are_accepted():
    for x in (3, 3.0, np.float32(3.0), np.int64(3), np.array(3.0)):
        v = Value(x)
        assert type(v.data) is float and v.data == 3.0


@pytest.mark.parametrize("make", [
    lambda: Value(1.0) + [1, 2],
    lambda: Value(1.0) * "2",
    lambda: Value(1.0) - np.zeros(2),
    lambda: Value(1.0) / None,
    lambda: Value.sum([Value(1.0), "x"]),
    lambda: Value.dot([Value(1.0)], ["x"]),
])
def test_binary_op_with_non_number_raises(make):
    with pytest.raises(BpkitTypeError, match="Value holds one number"):
        make()


def test_pow_with_value_exponent_raises():
    with pytest.raises(BpkitTypeError, match="exponent must be an int or float, not a Value"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(BpkitTypeError, match="exponent"):
        2 ** Value(3.0)
    with pytest.raises(BpkitTypeError, match="exponent must be an int or float"):
        Value(2.0) ** "2"


def test_log_of_non_positive_raises_with_the_number():
    with pytest.raises(BpkitValueError, match=r"log\(-2\)"):
        Value(-2.0).log()
    with pytest.raises(ValueError, match=r"log\(0\)"):
        Value(0.0).log()


def test_division_by_zero_raises():
    with pytest.raises(DivisionByZero, match="division by zero"):
        Value(1.0) / 0
    with pytest.raises(ZeroDivisionError):
        1 / Value(0.0)
    with pytest.raises(ValueError, match="divides by zero"):
        Value(0.0) ** -1


def test_pow_of_negative_base_with_fraction_raises():
    with pytest.raises(BpkitValueError, match="not a real number"):
        Value(-8.0) ** 0.5


def test_exp_overflow_raises():
    with pytest.raises(BpkitValueError, match=r"exp\(1000\)"):
        Value(1000.0).exp()


@pytest.mark.parametrize("make, fragment", [
    (lambda: Value(1e200) ** 2, r"\*\*: \(1e\+200\) \*\* 2 is too large for a float"),
    (lambda: Value(-1e200) ** 3, "too large for a float"),
    (lambda: Value(1e300) ** 1.5, "too large for a float"),
    (lambda: Value(1e-200) ** -1, r"derivative of x \*\* -1 at x = 1e-200 is too large for a float"),
    (lambda: Value(2.0) ** (10 ** 400), r"an int of about 10\*\*400 is too large for a float"),
    (lambda: Value(10 ** 400), r"Value\(\): an int of about 10\*\*400"),
    (lambda: Value(1.0) + 10 ** 400, r"\+: an int of about 10\*\*400"),
    (lambda: 10 ** 400 * Value(1.0), r"\*: an int of about 10\*\*400"),
    (lambda: Value.sum([Value(1.0), 10 ** 400]), "Value.sum: an int of about 10"),
    (lambda: Value.dot([Value(1.0)], [10 ** 400]), "Value.dot: an int of about 10"),
])
def test_overflow_raises_a_one_line_bpkit_error(make, fragment):
    """Python raises a bare OverflowError here; a learner gets the op and the number."""
    with pytest.raises(BpkitValueError, match=fragment) as info:
        make()
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)


@pytest.mark.parametrize("make, fragment", [
    (lambda: Value.dot(1, 2), r"Value.dot\(a, b\) takes two sequences of Values or numbers; a is an int \(1\)"),
    (lambda: Value.dot([1.0], 2.0), "two sequences of Values or numbers; b is a float"),
    (lambda: Value.dot(Value(1.0), [Value(2.0)]), "; a is a Value"),
    (lambda: Value.dot(np.array(2.0), [1.0]), r"a is an array of shape \(\)"),
    (lambda: Value.sum(3), r"Value.sum\(values\) takes a sequence of Values or numbers; values is an int"),
])
def test_dot_and_sum_of_non_sequences_raise(make, fragment):
    with pytest.raises(BpkitTypeError, match=fragment) as info:
        make()
    assert isinstance(info.value, TypeError) and "\n" not in str(info.value)


def test_dot_and_sum_take_any_iterable():
    a, b = Value(1.0), Value(2.0)
    assert Value.sum(v for v in (a, b, 3)).data == 6.0
    assert Value.dot(iter([a, b]), range(1, 3)).data == 5.0


def test_backward_with_a_leaf_grad_of_none_says_how_to_clear_it():
    """None is how a Tensor's grad is cleared; a Value's grad is a number."""
    x = Value(2.0)
    y = x * 3 + 1
    x.grad = None
    with pytest.raises(BpkitTypeError, match=r"a leaf's .grad is None.*v.grad = 0.0") as info:
        y.backward()
    assert "\n" not in str(info.value)
    x.grad = None
    with pytest.raises(BpkitTypeError, match="grad is None"):
        x.backward()  # from the leaf itself


def test_dot_length_mismatch_raises():
    with pytest.raises(ShapeError, match="lengths 2 and 3 differ"):
        Value.dot([1.0, 2.0], [Value(1.0)] * 3)


# ---------------------------------------------------------------------------
# Value and Tensor agree on the same computation

def test_value_and_tensor_agree_on_a_small_mlp():
    rng = np.random.default_rng(0)
    x, W1, b1, W2 = rng.normal(size=3), rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=4)

    # scalar engine, one Value per number
    xv = [Value(v) for v in x]
    W1v = [[Value(v) for v in row] for row in W1]
    b1v = [Value(v) for v in b1]
    W2v = [Value(v) for v in W2]
    h = [(Value.sum([wi * xi for wi, xi in zip(row, xv)]) + b).tanh() for row, b in zip(W1v, b1v)]
    out = Value.dot(W2v, h).sigmoid()
    loss = -(out.log())
    loss.backward()

    # array engine
    xt, W1t, b1t, W2t = (Tensor(a, requires_grad=True) for a in (x, W1, b1, W2))
    ht = (W1t @ xt + b1t).tanh()
    out_t = (W2t * ht).sum().sigmoid()
    loss_t = -(out_t.log())
    loss_t.backward()

    assert float(loss_t.data) == pytest.approx(loss.data, rel=1e-12)
    np.testing.assert_allclose(xt.grad, [v.grad for v in xv], rtol=1e-10)
    np.testing.assert_allclose(W1t.grad, [[v.grad for v in row] for row in W1v], rtol=1e-10)
    np.testing.assert_allclose(b1t.grad, [v.grad for v in b1v], rtol=1e-10)
    np.testing.assert_allclose(W2t.grad, [v.grad for v in W2v], rtol=1e-10)


def test_retain_graph_is_keyword_only():
    """v.backward(g), Tensor's spelling with a seed gradient, must not silently mean retain_graph=True."""
    x = Value(2.0)
    y = x * x
    with pytest.raises(TypeError):
        y.backward(1.0)
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad == 8.0
