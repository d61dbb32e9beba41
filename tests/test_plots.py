"""Tests for bpkit.plots: graph layout and drawing, decision boundary, loss curve (Agg backend)."""
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpkit.plots import (PALETTE, draw_graph, graph_layout, plot_decision_boundary,  # noqa: E402
                         plot_loss_curve)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


class Node:
    """A learner's own node: only the protocol draw_graph documents (no bpkit inside)."""

    def __init__(self, data, prev=(), op=""):
        self.data, self.grad, self._prev, self._op = data, 0.0, tuple(prev), op

    def __add__(self, other):
        return Node(self.data + other.data, (self, other), "+")

    def __mul__(self, other):
        return Node(self.data * other.data, (self, other), "*")

    def tanh(self):
        return Node(math.tanh(self.data), (self,), "tanh")


class SetNode(Node):
    """micrograd stores parents in a set: a*a then has one parent."""

    def __init__(self, data, prev=(), op=""):
        super().__init__(data, prev, op)
        self._prev = set(prev)


def _neuron(cls=Node):
    x1, x2, w1, w2, b = (cls(v) for v in (2.0, 0.0, -3.0, 1.0, 6.88))
    o = (x1 * w1 + x2 * w2 + b).tanh()
    return o, (x1, x2, w1, w2, b)


def _check_layout(nodes, edges, layers, positions):
    index = {id(n): k for k, n in enumerate(nodes)}
    level = {j: k for k, layer in enumerate(layers) for j in layer}
    assert sorted(level) == list(range(len(nodes)))
    for i, j in edges:
        assert i < j, "topological order: inputs first"
        assert level[i] < level[j], "every arrow points right"
        assert positions[i, 0] < positions[j, 0]
    for j, node in enumerate(nodes):
        assert {index[id(p)] for p in node._prev} == {i for i, jj in edges if jj == j}
    # no two boxes on the same spot
    assert len({tuple(p) for p in positions.round(6)}) == len(nodes)


def test_layout_of_a_neuron():
    o, leaves = _neuron()
    nodes, edges, layers, positions = graph_layout(o)
    assert len(nodes) == 10 and len(edges) == 9
    assert nodes[-1] is o
    _check_layout(nodes, edges, layers, positions)
    # longest path from a leaf: x*w (1), + (2), +b (3), tanh (4)
    assert len(layers) == 5 and layers[-1] == [len(nodes) - 1]


def test_draw_graph_with_bpkit_value():
    from bpkit import Value
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.88)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    d = draw_graph(o, labels={x1: "x1", o: "o"})
    assert len(d.nodes) == 10 and len(d.edges) == 9
    texts = [t.get_text() for t in d.ax.texts]
    assert len(texts) == 10
    assert f"o = tanh\ndata {o.data:.4f}\ngrad 1.0000" in texts
    assert f"x1\ndata 2.0000\ngrad {x1.grad:.4f}" in texts
    assert len(d.ax.patches) == 10 + 9  # one box per node, one arrow per edge
    d.fig.canvas.draw()


def test_draw_graph_duck_typed_node_and_shared_input():
    a, b = Node(3.0), Node(-2.0)
    c = a * b
    e = c + a          # a is used twice: diamond
    f = e * e          # e used twice by one node: one arrow
    f.grad = 1.0
    d = draw_graph(f, show_grad=False, title="mine")
    assert len(d.nodes) == 5
    assert len(d.edges) == 5   # a->c, b->c, c->e, a->e, e->f
    assert d.ax.get_title() == "mine"
    assert all("grad" not in t.get_text() for t in d.ax.texts)
    _check_layout(d.nodes, d.edges, d.layers, d.positions)


def test_set_parents_and_a_leaf_alone():
    a = SetNode(2.0)
    f = a * a
    d = draw_graph(f)
    assert len(d.nodes) == 2 and d.edges == [(0, 1)]
    leaf = draw_graph(Node(1.5))
    assert len(leaf.nodes) == 1 and leaf.edges == []
    assert "leaf\ndata 1.5000\ngrad 0.0000" in [t.get_text() for t in leaf.ax.texts]


def test_array_data_and_none_grad_are_shown():
    n = Node(np.ones((2, 3)))
    n.grad = None
    d = draw_graph(n)
    assert "leaf\ndata array(2, 3)\ngrad -" in [t.get_text() for t in d.ax.texts]
    one = Node(np.array([0.25]))
    one.grad = np.array([[1.5]])
    assert "leaf\ndata 0.2500\ngrad 1.5000" in [t.get_text() for t in draw_graph(one).ax.texts]


def test_draw_graph_with_bpkit_tensor():
    from bpkit import Tensor
    W = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    loss = (Tensor(np.ones((4, 2))) @ W + b).tanh().sum()
    loss.backward()
    d = draw_graph(loss)
    texts = [t.get_text() for t in d.ax.texts]
    assert any("data array(2, 3)\ngrad array(2, 3)" in t for t in texts)
    assert any(f"data {float(loss.data):.4f}" in t for t in texts)   # the one-element root
    ids = [id(n) for n in d.nodes]
    assert id(W) in ids and id(b) in ids and d.nodes[-1] is loss
    _check_layout(d.nodes, d.edges, d.layers, d.positions)
    d.fig.canvas.draw()


def test_large_graph_has_no_recursion_error_and_figure_is_capped():
    x = Node(0.5)
    y = x
    for k in range(200):   # a 400-node chain with side inputs, deeper than any figure
        y = (y * Node(0.99)).tanh() if k % 2 else y + x
    nodes, edges, layers, positions = graph_layout(y)
    assert len(nodes) > 200
    _check_layout(nodes, edges, layers, positions)
    d = draw_graph(y, max_size=(20.0, 10.0))
    w, h = d.fig.get_size_inches()
    assert w <= 20.0 + 1e-9 and h <= 10.0 + 1e-9


def test_very_deep_chain_is_iterative():
    y = Node(1.0)
    for _ in range(5000):
        y = y + Node(0.0)
    nodes, edges, layers, _ = graph_layout(y)
    assert len(nodes) == 10001 and len(edges) == 10000 and len(layers) == 5001


def test_draw_into_given_axes():
    fig, ax = plt.subplots()
    o, _ = _neuron()
    d = draw_graph(o, ax=ax)
    assert d.ax is ax and d.fig is fig


@pytest.mark.parametrize("kind", ["logit", "proba", "labels", "multiclass"])
def test_decision_boundary(kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    fns = {
        "logit": lambda P: P[:, 0] + P[:, 1],
        "proba": lambda P: 1 / (1 + np.exp(-(P[:, 0] + P[:, 1])))[:, None],
        "labels": lambda P: (P.sum(axis=1) > 0).astype(int),
        "multiclass": lambda P: np.stack([-P.sum(axis=1), P.sum(axis=1)], axis=1),
    }
    ax = plot_decision_boundary(fns[kind], X, y, resolution=30, title="t")
    assert ax.get_title() == "t" and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.collections) >= 3   # filled regions, boundary, points
    ax.figure.canvas.draw()


def test_decision_boundary_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        plot_decision_boundary(lambda P: P[:, 0], np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="predictions"):
        plot_decision_boundary(lambda P: P[:3, 0], np.zeros((5, 2)), np.zeros(5), resolution=5)


def test_loss_curve():
    ax = plot_loss_curve([1.0, 0.5, 0.25], label="run 1", logy=True)
    plot_loss_curve([1.0, 0.7], ax=ax, label="run 2", color=PALETTE[1])
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert ax.get_title() and ax.get_xlabel() == "step"


def test_import_bpkit_does_not_load_matplotlib():
    import subprocess
    import sys
    code = "import sys, bpkit; bpkit.Value; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_decision_boundary_colours_minus_one_plus_one_labels_like_their_side():
    """With labels -1/+1 and one score, class -1 takes side 0's colour and +1 side 1's."""
    from matplotlib.colors import to_hex

    X = np.array([[-1.0, -1.0], [-2.0, 0.5], [1.0, 1.0], [2.0, -0.5]])
    y = np.array([-1, -1, 1, 1])
    ax = plot_decision_boundary(lambda P: P.sum(axis=1), X, y, resolution=10)
    points = ax.collections[-2:]
    assert [to_hex(c.get_facecolor()[0]) for c in points] == [PALETTE[0].lower(), PALETTE[1].lower()]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class -1", "class 1"]
