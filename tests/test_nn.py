"""bpkit.nn: parameter discovery, zero_grad, Linear's shapes/init/dtype/errors, Sequential, activations."""
import numpy as np
import pytest

from bpkit import errors
from bpkit.nn import Linear, Module, ReLU, Sequential, Sigmoid, Tanh
from bpkit.tensor import Tensor, no_grad


class Block(Module):
    """A learner-style module: a Linear, a list holding a Linear twice, a bare Tensor, a nested Sequential."""

    def __init__(self):
        self.first = Linear(3, 4, rng=0)
        shared = Linear(4, 4, rng=1)
        self.stack = [shared, shared]
        self.scale = Tensor(np.ones(4), requires_grad=True)
        self.head = Sequential(ReLU(), Linear(4, 2, rng=2))

    def forward(self, x):
        h = self.first(x)
        for layer in self.stack:
            h = layer(h)
        return self.head(h * self.scale)


def test_parameters_are_recursive_deduplicated_and_in_definition_order():
    m = Block()
    expected = [m.first.weight, m.first.bias, m.stack[0].weight, m.stack[0].bias, m.scale,
                m.head[1].weight, m.head[1].bias]
    params = m.parameters()
    assert len(params) == len(expected)
    assert all(p is q for p, q in zip(params, expected))


def test_zero_grad_clears_every_parameter_including_nested():
    m = Block()
    m(Tensor(np.ones((5, 3)))).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_linear_shapes_dtype_and_init_range():
    layer = Linear(100, 7, rng=0)
    assert layer.weight.shape == (7, 100) and layer.bias.shape == (7,)
    assert layer.weight.dtype == layer.bias.dtype == np.float32
    bound = 1 / np.sqrt(100)
    for p in (layer.weight, layer.bias):
        assert np.all(np.abs(p.data) <= bound)
    assert np.abs(layer.weight.data).max() > 0.9 * bound      # uniform: the range is actually used
    y = layer(Tensor(np.ones((5, 100), dtype=np.float32)))
    assert y.shape == (5, 7) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, np.ones((5, 100)) @ layer.weight.data.T + layer.bias.data, rtol=1e-5)
    assert Linear(3, 4, dtype=np.float64).weight.dtype == np.float64


def test_linear_without_bias_and_batched_leading_dims():
    layer = Linear(3, 4, bias=False, rng=0)
    assert layer.bias is None and len(layer.parameters()) == 1
    assert layer(Tensor(np.ones((2, 5, 3), dtype=np.float32))).shape == (2, 5, 4)


def test_linear_gradients():
    layer = Linear(3, 4, dtype=np.float64, rng=0)
    x = np.random.default_rng(1).normal(size=(5, 3))
    dout = np.random.default_rng(2).normal(size=(5, 4))
    (layer(Tensor(x)) * Tensor(dout)).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, dout.T @ x, rtol=1e-12)     # dW = dout.T @ x
    np.testing.assert_allclose(layer.bias.grad, dout.sum(axis=0), rtol=1e-12)  # db = sum over the batch


def test_linear_is_reproducible_from_a_seed_or_generator():
    np.testing.assert_array_equal(Linear(3, 4, rng=5).weight.data, Linear(3, 4, rng=5).weight.data)
    a, b = np.random.default_rng(0), np.random.default_rng(0)
    assert np.array_equal(Linear(3, 4, rng=a).weight.data, Linear(3, 4, rng=b).weight.data)
    assert not np.array_equal(Linear(3, 4, rng=a).weight.data, Linear(3, 4, rng=np.random.default_rng(0)).weight.data)


def test_linear_wrong_number_of_features():
    with pytest.raises(errors.ShapeError) as info:
        Linear(3, 4)(Tensor(np.zeros((5, 2))))
    assert str(info.value) == "Linear(3 -> 4): expected input with 3 features in its last dimension, got shape (5, 2)"


def test_linear_is_one_graph_node():
    layer = Linear(3, 4, rng=0)
    x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = layer(x)
    assert y._op == "linear" and [id(p) for p in y._parents] == [id(x), id(layer.weight), id(layer.bias)]


def test_linear_with_no_input_features_outputs_the_bias():
    # PyTorch accepts Linear(0, n): the weight is (n, 0), the bias starts at 0 (bound 0 when fan_in = 0)
    layer = Linear(0, 3, dtype=np.float64, rng=0)
    assert layer.weight.shape == (3, 0)
    np.testing.assert_array_equal(layer.bias.data, np.zeros(3))
    with no_grad():
        layer.bias.copy_(np.array([1.0, -2.0, 0.5]))
    x = Tensor(np.zeros((5, 0)), requires_grad=True)
    y = layer(x)
    np.testing.assert_array_equal(y.data, np.tile([1.0, -2.0, 0.5], (5, 1)))   # the bias, for every row
    dout = np.random.default_rng(0).normal(size=(5, 3))
    (y * Tensor(dout)).sum().backward()
    np.testing.assert_allclose(layer.bias.grad, dout.sum(axis=0), rtol=1e-12)   # db = sum over the batch
    assert layer.weight.grad.shape == (3, 0) and x.grad.shape == (5, 0)


def test_linear_with_no_output_features():
    layer = Linear(3, 0, rng=0)
    assert layer.weight.shape == (0, 3) and layer.bias.shape == (0,)
    x = Tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
    y = layer(x)
    assert y.shape == (2, 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros((2, 3)))


@pytest.mark.parametrize("sizes, error, words", [
    ((-1, 3), errors.BpkitValueError, ["Linear", "in_features must be >= 0", "-1"]),
    ((3, -2), errors.BpkitValueError, ["Linear", "out_features must be >= 0", "-2"]),
    ((2.5, 3), errors.BpkitTypeError, ["Linear", "in_features must be an integer", "float 2.5"]),
    ((3, 4.0), errors.BpkitTypeError, ["out_features must be an integer", "float 4.0"]),
    ((3, "4"), errors.BpkitTypeError, ["out_features must be an integer", "str '4'"]),
    ((None, 4), errors.BpkitTypeError, ["in_features must be an integer", "NoneType"]),
    ((True, 4), errors.BpkitTypeError, ["in_features must be an integer", "bool"]),
])
def test_linear_sizes_must_be_whole_numbers_at_least_zero(sizes, error, words):
    with pytest.raises(error) as info:
        Linear(*sizes)
    one_line(info, *words)
    assert Linear(np.int64(2), 3).weight.shape == (3, 2)          # numpy integers are integers


def test_sequential_indexing_len_and_forward():
    model = Sequential(Linear(2, 8, rng=0), Tanh(), Linear(8, 1, rng=1))
    assert len(model) == 3 and isinstance(model[1], Tanh) and isinstance(model[-1], Linear)
    assert isinstance(model[:2], Sequential) and len(model[:2]) == 2
    assert len(model.parameters()) == 4
    x = Tensor(np.ones((6, 2), dtype=np.float32))
    np.testing.assert_allclose(model(x).data, model[2](model[1](model[0](x))).data)
    with pytest.raises(TypeError):
        Sequential(Linear(2, 2), ReLU)          # the class, not an instance


def test_activations():
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(ReLU()(Tensor(x)).data, np.maximum(x, 0))
    np.testing.assert_allclose(Tanh()(Tensor(x)).data, np.tanh(x), rtol=1e-12)
    np.testing.assert_allclose(Sigmoid()(Tensor(x)).data, 1 / (1 + np.exp(-x)), rtol=1e-12)


def test_named_parameters_and_modules_use_pytorchs_names():
    m = Block()
    assert [name for name, _ in m.named_parameters()] == [
        "first.weight", "first.bias", "stack.0.weight", "stack.0.bias", "scale", "head.1.weight", "head.1.bias"]
    assert all(p is q for (_, p), q in zip(m.named_parameters(), m.parameters()))
    assert [name for name, _ in m.named_modules()] == ["", "first", "stack.0", "head", "head.0", "head.1"]
    assert m.modules()[0] is m and m.modules()[2] is m.stack[0]
    assert [name for name, _ in m.named_children()] == ["first", "stack.0", "head"]     # the shared layer once
    assert m.children() == [c for _, c in m.named_children()]
    seq = Sequential(Linear(2, 3), ReLU(), Linear(3, 1))
    assert [name for name, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


class Heads(Module):
    """Layers kept in a dict (with a nested list) and an attribute."""

    def __init__(self):
        self.trunk = Linear(2, 3, rng=0)
        self.heads = {"a": Linear(3, 1, rng=1), "b": [Tanh(), Linear(3, 2, rng=2)]}


def test_layers_in_a_dict_are_named_and_shown_by_repr():
    m = Heads()
    assert [name for name, _ in m.named_parameters()] == [
        "trunk.weight", "trunk.bias", "heads.a.weight", "heads.a.bias", "heads.b.1.weight", "heads.b.1.bias"]
    assert repr(m) == "\n".join([
        "Heads(",
        "  (trunk): Linear(in_features=2, out_features=3, bias=True)",
        "  (heads.a): Linear(in_features=3, out_features=1, bias=True)",
        "  (heads.b.0): Tanh()",
        "  (heads.b.1): Linear(in_features=3, out_features=2, bias=True)",
        ")"])
    m.extra_repr = lambda: "two heads"                 # as in PyTorch: extra_repr first, then the layers
    assert repr(m).splitlines()[:3] == [
        "Heads(", "  two heads", "  (trunk): Linear(in_features=2, out_features=3, bias=True)"]


class Parent(Module):
    """A parent whose child refers back to it, and containers that contain themselves."""

    def __init__(self):
        self.fc = Linear(2, 2, rng=0)
        self.child = Child(self)
        self.loop = [Tensor(np.ones(2), requires_grad=True)]
        self.loop.append(self.loop)                 # a list inside itself
        self.table = {"w": Tensor(np.ones(3), requires_grad=True)}
        self.table["self"] = self.table             # a dict inside itself
        self.pair = (self.loop, self.table)


class Child(Module):
    def __init__(self, parent):
        self.parent = parent
        self.me = self
        self.w = Tensor(np.zeros(2), requires_grad=True)


def test_cycles_end_the_walk_instead_of_recursing():
    m = Parent()
    assert [name for name, _ in m.named_parameters()] == ["fc.weight", "fc.bias", "child.w", "loop.0", "table.w"]
    assert [name for name, _ in m.named_modules()] == ["", "fc", "child"]
    assert m.children() == [m.fc, m.child]
    assert m.child.children() == [m, m.child]            # its direct sub-modules, back-references included
    assert [name for name, _ in m.child.named_modules()] == ["", "parent", "parent.fc"]
    assert m.eval() is m and not m.training and not m.child.training and not m.fc.training
    assert m.train().child.training
    m.zero_grad()
    assert repr(m) == "\n".join([
        "Parent(",
        "  (fc): Linear(in_features=2, out_features=2, bias=True)",
        "  (child): Child(",
        "    (parent): <back-reference to the Parent above>",
        "    (me): <back-reference to the Child above>",
        "  )",
        ")"])
    assert repr(m.child).splitlines()[1] == "  (parent): Parent("        # printed from the child, the parent is inside


def test_deep_nesting_needs_no_recursion():
    root = node = Tanh()
    for _ in range(5000):                               # far beyond Python's recursion limit
        node.next = Tanh()
        node = node.next
    node.w = Tensor(np.ones(1), requires_grad=True)
    assert len(root.modules()) == 5001 and [p is node.w for p in root.parameters()] == [True]
    assert root.named_parameters()[0][0] == "next." * 5000 + "w"


def test_train_calls_each_childs_own_train_once():
    calls = []

    class Noisy(ReLU):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(mode)

    m = Parent()
    m.child.noisy = Noisy()
    m.eval()
    assert calls == [False] and not m.child.noisy.training


def test_train_mode_must_be_a_bool():
    with pytest.raises(errors.BpkitTypeError) as info:
        Sequential(ReLU()).train("False")
    one_line(info, "train", "True or False", "str")


def test_train_eval_and_repr():
    model = Sequential(Linear(2, 8), ReLU(), Linear(8, 1))
    assert model.eval() is model and not model.training and not model[0].training
    assert model.train().training and model[2].training
    text = repr(model)
    assert text.splitlines()[0] == "Sequential("
    assert "(0): Linear(in_features=2, out_features=8, bias=True)" in text and "(1): ReLU()" in text


def one_line(info, *words):
    """The error's message is one line and contains each of words."""
    msg = str(info.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
