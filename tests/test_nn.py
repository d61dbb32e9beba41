"""bpkit.nn: parameter discovery, zero_grad, Linear's shapes/init/dtype/errors, Sequential, activations,
Dropout, BatchNorm1d, LayerNorm, buffers and the state dict."""
import numpy as np
import pytest

from bpkit import errors
from bpkit.gradcheck import gradcheck
from bpkit.nn import BatchNorm1d, Dropout, LayerNorm, Linear, Module, ReLU, Sequential, Sigmoid, Tanh
from bpkit.optim import SGD
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


# ------------------------------------------------------------------------------ Dropout


def test_dropout_layer_masks_are_reproducible_from_a_seed_and_eval_is_identity():
    x = Tensor(np.ones((20, 30)))
    a, b = Dropout(0.4, rng=7), Dropout(0.4, rng=7)
    ya1, ya2 = a(x).data, a(x).data
    np.testing.assert_array_equal(ya1, b(x).data)                    # same seed, same sequence of masks
    np.testing.assert_array_equal(ya2, b(x).data)
    assert not np.array_equal(ya1, ya2)                              # a fresh mask on every call
    assert set(np.unique(ya1)) == {0.0, 1 / 0.6}
    assert a.eval()(x) is x
    assert repr(a) == "Dropout(p=0.4)" and a.parameters() == []
    with pytest.raises(errors.BpkitValueError) as info:
        Dropout(1.2)
    one_line(info, "Dropout", "between 0 and 1", "1.2")


def test_dropout_layer_gradcheck_train_and_eval():
    x = Tensor(np.random.default_rng(0).normal(size=(5, 4)), requires_grad=True)
    layer = Dropout(0.5, rng=3)
    # a fixed mask: every call of fn draws from a generator seeded the same way
    assert gradcheck(lambda z: Dropout(0.5, rng=3)(z), x, raise_on_failure=True)
    assert gradcheck(lambda z: layer.eval()(z), x, raise_on_failure=True)


# -------------------------------------------------------------------------- BatchNorm1d


def batches(shape, n=4, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(1.5, 2.0, size=shape) for _ in range(n)]


@pytest.mark.parametrize("shape", [(8, 3), (5, 3, 4)])
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_running_stats_follow_pytorchs_update_by_hand(shape, momentum):
    bn = BatchNorm1d(3, momentum=momentum, dtype=np.float64)
    mean, var = np.zeros(3), np.ones(3)
    axes = (0,) if len(shape) == 2 else (0, 2)
    for k, x in enumerate(batches(shape), start=1):
        y = bn(Tensor(x))
        # training output: the batch's own mean and biased variance
        s = (1, 3) if len(shape) == 2 else (1, 3, 1)
        np.testing.assert_allclose(y.data, (x - x.mean(axis=axes).reshape(s))
                                   / np.sqrt(x.var(axis=axes).reshape(s) + 1e-5), rtol=1e-10, atol=1e-12)
        m = 1.0 / k if momentum is None else momentum                  # None: the cumulative average
        mean = (1 - m) * mean + m * x.mean(axis=axes)
        var = (1 - m) * var + m * x.var(axis=axes, ddof=1)            # running variance: unbiased
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    assert bn.num_batches_tracked == 4 and bn.num_batches_tracked.dtype == np.int64
    bn.eval()
    x = batches(shape, 1, seed=9)[0]
    s = (1, 3) if len(shape) == 2 else (1, 3, 1)
    np.testing.assert_allclose(bn(Tensor(x)).data, (x - mean.reshape(s)) / np.sqrt(var.reshape(s) + 1e-5),
                               rtol=1e-10)
    assert bn.num_batches_tracked == 4                                 # eval leaves the statistics alone
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)


def test_batchnorm_defaults_buffers_and_repr():
    bn = BatchNorm1d(4)
    assert bn.weight.dtype == np.float32 and np.all(bn.weight.data == 1) and np.all(bn.bias.data == 0)
    assert bn.parameters() == [bn.weight, bn.bias]                     # buffers are not parameters
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert np.all(bn.running_mean == 0) and np.all(bn.running_var == 1) and bn.running_var.dtype == np.float32
    assert repr(bn) == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    bare = BatchNorm1d(4, affine=False, track_running_stats=False)
    assert bare.parameters() == [] and bare.buffers() == [] and bare.state_dict() == {}
    x = np.random.default_rng(0).normal(size=(6, 4))
    np.testing.assert_allclose(bare.eval()(Tensor(x)).data, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-6)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batchnorm_gradcheck_train_and_eval(shape):
    bn = BatchNorm1d(3, dtype=np.float64)
    rng = np.random.default_rng(1)
    bn.weight.data[:] = rng.normal(size=3)
    bn.bias.data[:] = rng.normal(size=3)
    x = Tensor(rng.normal(size=shape), requires_grad=True)
    assert gradcheck(lambda x_, w, b: bn(x_), x, bn.weight, bn.bias, raise_on_failure=True)
    bn.eval()
    assert gradcheck(lambda x_, w, b: bn(x_), x, bn.weight, bn.bias, raise_on_failure=True)


def test_batchnorm_errors_are_one_line():
    bn = BatchNorm1d(3)
    with pytest.raises(errors.BpkitValueError) as info:
        bn(Tensor(np.ones((1, 3))))
    one_line(info, "Expected more than 1 value per channel when training, got input size (1, 3)")
    assert bn.num_batches_tracked == 0                                # nothing counted for a refused batch
    bn.eval()(Tensor(np.ones((1, 3))))                                  # eval: a batch of one is fine
    with pytest.raises(errors.ShapeError) as info:
        bn(Tensor(np.ones((2, 4))))
    one_line(info, "BatchNorm1d(3)", "3 channels", "(2, 4)")
    with pytest.raises(errors.ShapeError) as info:
        bn(Tensor(np.ones((2, 3, 4, 5))))
    one_line(info, "2D", "3D", "(2, 3, 4, 5)")
    with pytest.raises(errors.BpkitValueError) as info:
        BatchNorm1d(0)
    one_line(info, "num_features")


def test_batchnorm_buffers_are_not_trained_by_an_optimizer():
    model = Sequential(Linear(3, 4, rng=0), BatchNorm1d(4))
    opt = SGD(model.parameters(), lr=0.1)
    model(Tensor(np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32))).sum().backward()
    before = model[1].running_mean.copy()
    opt.step()
    np.testing.assert_array_equal(model[1].running_mean, before)
    assert len(opt.params) == 4                                         # two weights, two biases: no buffer


# ---------------------------------------------------------------------------- LayerNorm


def test_layernorm_values_defaults_and_gradcheck():
    ln = LayerNorm((3, 4), dtype=np.float64)
    assert ln.weight.shape == ln.bias.shape == (3, 4)
    assert repr(ln) == "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True)"
    rng = np.random.default_rng(2)
    ln.weight.data[:] = rng.normal(size=(3, 4))
    ln.bias.data[:] = rng.normal(size=(3, 4))
    x = Tensor(rng.normal(size=(2, 3, 4)), requires_grad=True)
    xs = x.data
    ref = ((xs - xs.mean(axis=(1, 2), keepdims=True)) / np.sqrt(xs.var(axis=(1, 2), keepdims=True) + 1e-5)
           * ln.weight.data + ln.bias.data)
    np.testing.assert_allclose(ln(x).data, ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ln.eval()(x).data, ln.train()(x).data)       # no mode dependence
    assert gradcheck(lambda x_, w, b: ln(x_), x, ln.weight, ln.bias, raise_on_failure=True)
    assert LayerNorm(4, elementwise_affine=False).parameters() == []
    assert LayerNorm(4)(Tensor(np.ones((1, 4)))).shape == (1, 4)                   # a batch of one is fine


def test_layernorm_shape_mismatch_is_one_line():
    with pytest.raises(errors.ShapeError) as info:
        LayerNorm(5)(Tensor(np.ones((2, 4))))
    one_line(info, "LayerNorm", "[*, 5]", "(2, 4)")
    with pytest.raises(errors.BpkitValueError) as info:
        LayerNorm(0)
    one_line(info, "normalized_shape")


# ---------------------------------------------------------------------------- state dict


def make_model(seed):
    return Sequential(Linear(3, 8, rng=seed), BatchNorm1d(8), ReLU(), Dropout(0.2, rng=seed), LayerNorm(8),
                      Linear(8, 2, rng=seed + 1))


def test_state_dict_keys_are_pytorchs_and_values_are_copies():
    model = make_model(0)
    sd = model.state_dict()
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                        "1.num_batches_tracked", "4.weight", "4.bias", "5.weight", "5.bias"]
    assert all(isinstance(v, np.ndarray) for v in sd.values())
    sd["0.weight"][...] = 99
    sd["1.running_mean"][...] = 99
    assert not np.any(model[0].weight.data == 99) and not np.any(model[1].running_mean == 99)


def test_state_dict_round_trip_through_savez_gives_identical_outputs(tmp_path):
    model = make_model(0)
    opt = SGD(model.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    for _ in range(3):                                        # train a little: parameters and statistics move
        opt.zero_grad()
        model(Tensor(rng.normal(size=(16, 3)).astype(np.float32))).sum().backward()
        opt.step()
    path = tmp_path / "model.npz"
    np.savez(path, **model.state_dict())
    fresh = make_model(5)
    fresh.load_state_dict(np.load(path))
    x = Tensor(rng.normal(size=(4, 3)).astype(np.float32))
    model.eval(), fresh.eval()
    np.testing.assert_array_equal(fresh(x).data, model(x).data)
    assert fresh[1].num_batches_tracked == 3
    for (k, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=k)


def test_load_state_dict_copies_into_the_same_tensors():
    model, other = make_model(0), make_model(1)
    w = model[0].weight
    version = w._version
    model.load_state_dict(other.state_dict())
    assert model[0].weight is w and w._version > version                  # an optimizer keeps working
    np.testing.assert_array_equal(w.data, other[0].weight.data)


def test_load_state_dict_strict_names_every_problem_in_one_line():
    model = make_model(0)
    sd = model.state_dict()
    del sd["1.running_var"], sd["5.bias"]
    sd["extra.weight"] = np.zeros(3)
    sd["0.weight"] = np.zeros((8, 4))
    before = model[1].running_mean.copy(), model[0].bias.data.copy()
    with pytest.raises(errors.BpkitValueError) as info:
        model.load_state_dict(sd)
    one_line(info, "load_state_dict", "Sequential", "missing keys 1.running_var, 5.bias",
             "unexpected keys extra.weight", "0.weight (expected (8, 3), got (8, 4))")
    np.testing.assert_array_equal(model[0].bias.data, before[1])             # nothing was loaded
    sd["0.weight"] = np.zeros((8, 3))
    result = model.load_state_dict(sd, strict=False)
    assert result.missing_keys == ["1.running_var", "5.bias"] and result.unexpected_keys == ["extra.weight"]
    assert np.all(model[0].weight.data == 0)
    with pytest.raises(errors.BpkitTypeError) as info:
        model.load_state_dict([1, 2])
    one_line(info, "load_state_dict", "dict")


def test_register_buffer_in_a_learners_module():
    class Counter(Module):
        def __init__(self):
            self.lin = Linear(2, 2, rng=0)
            self.register_buffer("seen", np.zeros(2))

        def forward(self, x):
            self.seen = self.seen + 1                                # reassigned: still a buffer
            return self.lin(x)

    c = Counter()
    c(Tensor(np.ones((1, 2), dtype=np.float32)))
    assert c.parameters() == [c.lin.weight, c.lin.bias]
    assert list(c.state_dict()) == ["seen", "lin.weight", "lin.bias"]
    np.testing.assert_array_equal(c.state_dict()["seen"], [1, 1])
    with pytest.raises(errors.BpkitTypeError) as info:
        c.register_buffer("w", Tensor(np.ones(2)))
    one_line(info, "register_buffer", "Tensor")
    with pytest.raises(errors.BpkitValueError) as info:
        c.register_buffer("lin", np.zeros(2))
    one_line(info, "register_buffer", "already has an attribute 'lin'")
    c.seen = 2.0                                                     # a plain number is saved and loaded too
    sd = c.state_dict()
    assert sd["seen"].shape == () and sd["seen"] == 2.0
    c.seen = 5.0
    c.load_state_dict(sd)
    assert c.seen == 2.0



def test_state_dict_names_a_shared_layer_at_each_place_and_survives_cycles():
    shared = Linear(2, 2, rng=0)
    model = Sequential(shared, ReLU(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]   # as PyTorch's
    assert len(model.parameters()) == 2                                                # each tensor once
    m = Block()
    assert list(m.state_dict()) == ["scale", "first.weight", "first.bias", "stack.0.weight", "stack.0.bias",
                                    "stack.1.weight", "stack.1.bias", "head.1.weight", "head.1.bias"]
    m.head.parent = m                                                   # a back-reference ends the walk
    assert len(m.state_dict()) == 9
    m.load_state_dict(m.state_dict())
