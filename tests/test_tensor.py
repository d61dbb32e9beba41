"""Tests for bpkit.tensor: every primitive's gradient, the engine's semantics, errors, speed traps.

The core is one property-based test over PRIMITIVE_CASES, a table with an
entry per primitive in ``bpkit.tensor.PRIMITIVES``: hypothesis draws inputs
(shapes incl. broadcasting and 0-d, values away from kinks) and the test
compares backward() with central differences of sum(out * w). A primitive
missing from the table fails ``test_every_primitive_has_a_case``.
DERIVED_CASES does the same for the compositions (sub, div, mean, .T, ...).
"""
import gc
import weakref

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bpkit.errors import (
    AxisError,
    BackwardError,
    BpkitTypeError,
    GraphError,
    ShapeError,
)
from bpkit.gradcheck import numerical_grad
import bpkit
from bpkit.tensor import PRIMITIVES, Tensor, is_grad_enabled, no_grad, unbroadcast
from strategies import (
    arrays,
    arrays_away_from_zero,
    arrays_without_ties,
    axes,
    broadcastable_shapes,
    matmul_shapes,
    shapes,
    weights_like,
)

# --------------------------------------------------------------- the tables
# Each case strategy draws (inputs, fn): float64 arrays and a function of as
# many Tensors returning a Tensor.


def _with_scalars(draw, a, b, op):
    """Binary op cases: tensor-tensor, tensor-number, number-tensor."""
    form = draw(st.sampled_from(["tt", "tn", "nt"]))
    c = draw(st.sampled_from([1.5, -2, np.float64(0.75), np.float32(3.0)]))
    if form == "tt":
        return [a, b], op
    if form == "tn":
        return [a], lambda x: op(x, c)
    return [a], lambda x: op(c, x)


@st.composite
def add_case(draw):
    sa, sb = draw(broadcastable_shapes())
    return _with_scalars(draw, draw(arrays(sa)), draw(arrays(sb)), lambda x, y: x + y)


@st.composite
def mul_case(draw):
    sa, sb = draw(broadcastable_shapes())
    return _with_scalars(draw, draw(arrays(sa)), draw(arrays(sb)), lambda x, y: x * y)


@st.composite
def matmul_case(draw):
    sa, sb = draw(matmul_shapes())
    return [draw(arrays(sa)), draw(arrays(sb))], lambda x, y: x @ y


@st.composite
def pow_case(draw):
    p = draw(st.sampled_from([2, 3, -1, 0.5, -1.5, 1, 0, np.float64(2.5)]))
    if isinstance(p, int) and p > 0:  # integer powers: any sign of base
        x = draw(arrays(draw(shapes()), -2.0, 2.0))
    else:
        x = draw(arrays(draw(shapes()), 0.3, 2.5))
    return [x], lambda t: t ** p


def unary_case(method, low=-3.0, high=3.0):
    return st.builds(lambda x: ([x], lambda t: getattr(t, method)()),
                     shapes().flatmap(lambda s: arrays(s, low, high)))


@st.composite
def relu_case(draw):
    return [draw(arrays_away_from_zero(draw(shapes()), 0.05))], lambda t: t.relu()


@st.composite
def leaky_relu_case(draw):
    slope = draw(st.sampled_from([0.01, 0.2, -0.5, 1.5]))
    return ([draw(arrays_away_from_zero(draw(shapes()), 0.05))],
            lambda t: bpkit.functional.leaky_relu(t, slope))


@st.composite
def gelu_case(draw):
    approximate = draw(st.sampled_from(["none", "tanh"]))
    return [draw(arrays(draw(shapes()), -4.0, 4.0))], lambda t: bpkit.functional.gelu(t, approximate)


@st.composite
def log_softmax_case(draw):
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return [draw(arrays(shape))], lambda t: t.log_softmax(axis=axis)


@st.composite
def sum_case(draw):
    shape = draw(shapes())
    axis, keepdims = draw(axes(len(shape))), draw(st.booleans())
    return [draw(arrays(shape))], lambda t: t.sum(axis=axis, keepdims=keepdims)


@st.composite
def max_case(draw):
    shape = draw(shapes())
    axis, keepdims = draw(axes(len(shape))), draw(st.booleans())
    return [draw(arrays_without_ties(shape))], lambda t: t.max(axis=axis, keepdims=keepdims)


@st.composite
def reshape_case(draw):
    shape = draw(shapes())
    size = int(np.prod(shape, dtype=int))
    targets = [(size,), (-1,), shape[::-1], (1,) + shape, shape + (1,)]
    if size == 1:
        targets.append(())
    target = draw(st.sampled_from(targets))
    star = draw(st.booleans())
    fn = (lambda t: t.reshape(*target)) if star and target else (lambda t: t.reshape(target))
    return [draw(arrays(shape))], fn


@st.composite
def transpose_case(draw):
    """permute (numpy's transpose(axes)), transpose(a, b) (PyTorch's swap) and transpose() (reverse)."""
    shape = draw(shapes(min_dims=1))
    kind = draw(st.sampled_from(["permute", "swap", "reverse"]))
    if kind == "reverse":
        return [draw(arrays(shape))], lambda t: t.transpose()
    if kind == "swap":
        a, b = (draw(st.integers(-len(shape), len(shape) - 1)) for _ in range(2))
        return [draw(arrays(shape))], lambda t: t.transpose(a, b)
    perm = tuple(draw(st.permutations(range(len(shape)))))
    if draw(st.booleans()):
        perm = tuple(a - len(shape) for a in perm)
    return [draw(arrays(shape))], lambda t: t.permute(*perm)


@st.composite
def getitem_case(draw):
    shape = draw(shapes(min_dims=1))
    n = shape[0]
    kind = draw(st.sampled_from(["basic", "int", "list", "array", "pair", "mask", "tuple_in_tuple",
                                 "mixed", "bool_scalar"]))
    if kind == "basic":  # ints, slices, None, Ellipsis
        index = draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    elif kind == "int":
        index = draw(st.integers(-n, n - 1))
    elif kind in ("list", "array"):  # repeats on purpose: the gradient must add up
        index = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6))
        index = index + index[:1]
        if kind == "array":
            index = np.array(index)
    elif kind == "pair" and len(shape) >= 2:
        k = draw(st.integers(1, 5))
        rows = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)))
        cols = np.array(draw(st.lists(st.integers(0, shape[1] - 1), min_size=k, max_size=k)))
        index = (np.concatenate([rows, rows[:1]]), np.concatenate([cols, cols[:1]]))
    elif kind == "tuple_in_tuple":  # W[(0, 0, 1), :]: a tuple inside the index is advanced too
        rows = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
        index = (tuple(rows + rows[:1]),) + (slice(None),) * (len(shape) - 1)
    elif kind == "mixed" and len(shape) >= 2:  # a slice, then repeated integers
        cols = draw(st.lists(st.integers(0, shape[1] - 1), min_size=1, max_size=5))
        index = (slice(None), np.array(cols + cols[:1]))
    elif kind == "bool_scalar":
        index = draw(st.sampled_from([True, np.True_, (Ellipsis, True)]))
    else:
        index = draw(hnp.arrays(np.bool_, shape[:1]))
    return [draw(arrays(shape))], lambda t: t[index]


@st.composite
def sub_case(draw):
    sa, sb = draw(broadcastable_shapes())
    return _with_scalars(draw, draw(arrays(sa)), draw(arrays(sb)), lambda x, y: x - y)


@st.composite
def div_case(draw):
    sa, sb = draw(broadcastable_shapes())
    a, b = draw(arrays(sa)), draw(arrays_away_from_zero(sb, 0.5))
    form = draw(st.sampled_from(["tt", "tn", "nt"]))
    if form == "tt":
        return [a, b], lambda x, y: x / y
    if form == "tn":
        return [a], lambda x: x / -1.7
    return [b], lambda y: 2.5 / y


@st.composite
def extremum_case(draw, fn):
    """maximum / minimum of two tensors, or of a tensor and a number, away from ties."""
    sa, sb = draw(broadcastable_shapes())
    a, b = draw(arrays(sa)), draw(arrays(sb))
    assume(np.all(np.abs(np.subtract(*np.broadcast_arrays(a, b))) > 0.05))
    if draw(st.booleans()):
        return [a, b], fn
    c = draw(st.sampled_from([0.25, -1.0]))
    assume(np.all(np.abs(a - c) > 0.05))
    return [a], lambda x: fn(x, c)


@st.composite
def where_case(draw):
    sc, sx, sy = draw(broadcastable_shapes(num_shapes=3))
    cond = draw(hnp.arrays(np.bool_, sc))
    x, y = draw(arrays(sx)), draw(arrays(sy))
    form = draw(st.sampled_from(["tt", "tn", "nt"]))
    if form == "tt":
        return [x, y], lambda a, b: bpkit.where(cond, a, b)
    if form == "tn":
        return [x], lambda a: bpkit.where(cond, a, 0.5)
    return [y], lambda b: bpkit.where(Tensor(cond), -2.0, b)


@st.composite
def linear_case(draw):
    lead = draw(shapes(min_dims=0, max_dims=2))
    d, m = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x, w, b = draw(arrays(lead + (d,))), draw(arrays((m, d))), draw(arrays((m,)))
    if draw(st.booleans()):
        return [x, w, b], lambda x, w, b: bpkit.functional.linear(x, w, b)
    return [x, w], lambda x, w: bpkit.functional.linear(x, w)


@st.composite
def clip_case(draw):
    x = draw(arrays(draw(shapes()), -2.0, 2.0))
    low, high = draw(st.sampled_from([(-0.5, 0.5), (None, 0.3), (-0.3, None)]))
    for bound in (low, high):
        if bound is not None:
            assume(np.all(np.abs(x - bound) > 0.05))  # away from the kinks
    return [x], lambda t: t.clamp(low, high)


@st.composite
def join_case(draw, fn):
    """concatenate or stack of 1 to 3 tensors (stack: one shape; concatenate: one axis differs)."""
    shape = draw(shapes(min_dims=1))
    k = draw(st.integers(1, 3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    if fn is bpkit.stack:
        axis = draw(st.integers(-len(shape) - 1, len(shape)))
        parts = [draw(arrays(shape)) for _ in range(k)]
    else:
        parts = []
        for _ in range(k):
            s = list(shape)
            s[axis] = draw(st.integers(1, 3))
            parts.append(draw(arrays(tuple(s))))
    return parts, lambda *ts: fn(list(ts), axis=axis)


@st.composite
def nll_loss_case(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    reduction = draw(st.sampled_from(["mean", "sum", "none"]))
    return [draw(arrays((n, c)))], lambda t: bpkit.functional.nll_loss(t, labels, reduction=reduction)


@st.composite
def rpow_case(draw):
    base = draw(st.sampled_from([2, 0.5, np.float64(10.0), 1]))
    return [draw(arrays(draw(shapes())))], lambda t: base ** t


def _window_geometry(draw, dims, max_pad=None):
    """Kernel, stride, padding, dilation and an input size the (dilated) kernel fits into, per axis."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    pad = tuple(draw(st.integers(0, 2 if max_pad is None else k // 2)) for k in kernel)
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
                 for k, d, p in zip(kernel, dilation, pad))
    one = draw(st.booleans())   # pass an int when every axis agrees, as callers do
    pick = (lambda t: t[0] if one and len(set(t)) == 1 else t)
    return kernel, pick(stride), pick(pad), pick(dilation), size


@st.composite
def conv_case(draw):
    """conv1d or conv2d: random channels, kernels, strides, paddings ("same" too), dilations; batched or not."""
    dims = draw(st.sampled_from([1, 2]))
    kernel, stride, pad, dilation, size = _window_geometry(draw, dims)
    n, c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    if draw(st.booleans()) and stride in (1, (1,) * dims):
        pad = "same"
        size = tuple(s + 2 for s in size)
    batch = () if draw(st.booleans()) else (n,)
    x, w = draw(arrays(batch + (c_in,) + size)), draw(arrays((c_out, c_in) + kernel))
    conv = bpkit.functional.conv1d if dims == 1 else bpkit.functional.conv2d
    if draw(st.booleans()):
        return [x, w, draw(arrays((c_out,)))], lambda x, w, b: conv(x, w, b, stride, pad, dilation)
    return [x, w], lambda x, w: conv(x, w, None, stride, pad, dilation)


@st.composite
def pool_case(draw, kind):
    """max or average pooling, 1-D or 2-D, random windows; max pooling on inputs without ties."""
    dims = draw(st.sampled_from([1, 2]))
    kernel, stride, pad, dilation, size = _window_geometry(draw, dims, max_pad="half")
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) + size
    F = bpkit.functional
    if kind == "max":
        pool = F.max_pool1d if dims == 1 else F.max_pool2d
        return [draw(arrays_without_ties(shape))], lambda t: pool(t, kernel, stride, pad, dilation)
    pool = F.avg_pool1d if dims == 1 else F.avg_pool2d
    include = draw(st.booleans())
    return [draw(arrays(shape))], lambda t: pool(t, kernel, stride, pad, count_include_pad=include)


@st.composite
def rnn_cell_case(draw, kind):
    """One fused GRU or LSTM step: gi (N, G*H), h (N, H) [, c (N, H)], w_hh (G*H, H), b_hh or None."""
    from bpkit.nn.rnn import _gru_step, _lstm_step
    n, size = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    gates = (3 if kind == "gru" else 4) * size
    gi, h, w = draw(arrays((n, gates))), draw(arrays((n, size))), draw(arrays((gates, size)))
    bias = draw(st.booleans())
    if kind == "gru":
        if bias:
            return [gi, h, w, draw(arrays((gates,)))], lambda gi, h, w, b: _gru_step(gi, h, w, b)
        return [gi, h, w], lambda gi, h, w: _gru_step(gi, h, w, None)
    c = draw(arrays((n, size)))
    which = draw(st.sampled_from([0, 1]))          # the new h or the new c
    if bias:
        return [gi, h, c, w, draw(arrays((gates,)))], lambda gi, h, c, w, b: _lstm_step(gi, (h, c), w, b)[which]
    return [gi, h, c, w], lambda gi, h, c, w: _lstm_step(gi, (h, c), w, None)[which]


PRIMITIVE_CASES = {
    "gru_cell": rnn_cell_case("gru"),
    "lstm_cell": rnn_cell_case("lstm"),
    "conv2d": conv_case(),
    "max_pool2d": pool_case("max"),
    "avg_pool2d": pool_case("avg"),
    "rpow": rpow_case(),
    "add": add_case(),
    "nll_loss": nll_loss_case(),
    "sub": sub_case(),
    "mul": mul_case(),
    "div": div_case(),
    "maximum": extremum_case(bpkit.maximum),
    "minimum": extremum_case(bpkit.minimum),
    "where": where_case(),
    "linear": linear_case(),
    "neg": unary_case("__neg__"),
    "sqrt": unary_case("sqrt", 0.2, 4.0),
    "abs": relu_case().map(lambda c: (c[0], lambda t: t.abs())),
    "clip": clip_case(),
    "concatenate": join_case(bpkit.concatenate),
    "stack": join_case(bpkit.stack),
    "matmul": matmul_case(),
    "pow": pow_case(),
    "exp": unary_case("exp"),
    "log": unary_case("log", 0.2, 4.0),
    "tanh": unary_case("tanh"),
    "sigmoid": unary_case("sigmoid", -6.0, 6.0),
    "relu": relu_case(),
    "leaky_relu": leaky_relu_case(),
    "gelu": gelu_case(),
    "log_softmax": log_softmax_case(),
    "sum": sum_case(),
    "max": max_case(),
    "reshape": reshape_case(),
    "transpose": transpose_case(),
    "getitem": getitem_case(),
}


@st.composite
def mean_case(draw):
    shape = draw(shapes())
    axis, keepdims = draw(axes(len(shape))), draw(st.booleans())
    return [draw(arrays(shape))], lambda t: t.mean(axis=axis, keepdims=keepdims)


def _log_softmax_nll(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - shifted.exp().sum(axis=1, keepdims=True).log()
    return -logp[np.arange(len(labels)), labels].mean()


@st.composite
def mlp_case(draw):
    """A whole small network: linear, relu, linear, log-softmax cross-entropy."""
    n, d, h, c = (draw(st.integers(1, 4)) for _ in range(4))
    x = draw(arrays((n, d)))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    inputs = [draw(arrays((d, h))), draw(arrays_away_from_zero((h,), 0.2)),
              draw(arrays((h, c))), draw(arrays((c,)))]
    assume(np.min(np.abs(x @ inputs[0] + inputs[1])) > 1e-3)  # away from relu's kink

    def fn(w1, b1, w2, b2):
        return _log_softmax_nll((Tensor(x.astype(w1.dtype)) @ w1 + b1).relu() @ w2 + b2, labels)

    return inputs, fn


@st.composite
def matmul_transposed_case(draw):
    """x @ w.T (nn.Linear's layout) and w.T @ x: matmul of a transposed view."""
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    if draw(st.booleans()):
        return [draw(arrays((n, k))), draw(arrays((m, k)))], lambda x, w: x @ w.T
    return [draw(arrays((k, n))), draw(arrays((k, m)))], lambda w, x: w.T @ x


DERIVED_CASES = {
    "matmul_T": matmul_transposed_case(),
    "rsub": shapes().flatmap(arrays).map(lambda x: ([x], lambda t: 1 - t)),
    "mean": mean_case(),
    "min": max_case().map(lambda c: (c[0], lambda t: t.min())),
    "T": shapes().flatmap(arrays).map(lambda x: ([x], lambda t: t.T)),
    "square": shapes().flatmap(arrays).map(lambda x: ([x], lambda t: t ** 2)),
    "sqrt": shapes().flatmap(lambda s: arrays(s, 0.3, 3.0)).map(lambda x: ([x], lambda t: t ** 0.5)),
    "reuse": shapes().flatmap(arrays).map(lambda x: ([x], lambda t: t * t + t.tanh() * t)),
    "mlp": mlp_case(),
}

ALL_CASES = {**PRIMITIVE_CASES, **DERIVED_CASES}


def test_every_primitive_has_a_case():
    assert set(PRIMITIVES) == set(PRIMITIVE_CASES)


def _numeric_vjp(fn, inputs, i, w):
    """d sum(fn(*inputs) * w) / d inputs[i] by central differences (numpy only, no backward)."""
    xs = [np.array(x, dtype=np.float64) for x in inputs]
    return numerical_grad(lambda _: fn(*(Tensor(x) for x in xs)).data, xs[i], df=w)


@pytest.mark.parametrize("name", sorted(ALL_CASES))
@given(data=st.data())
def test_gradient_matches_central_differences(name, data):
    inputs, fn = data.draw(ALL_CASES[name], label="case")
    needs = data.draw(st.lists(st.booleans(), min_size=len(inputs), max_size=len(inputs))
                      .filter(any), label="requires_grad")
    tensors = [Tensor(x, requires_grad=r) for x, r in zip(inputs, needs)]
    out = fn(*tensors)
    w = data.draw(weights_like(out.shape), label="w")
    out.backward(w)
    for i, (t, needed) in enumerate(zip(tensors, needs)):
        if not needed:
            assert t.grad is None
            continue
        numeric = _numeric_vjp(fn, inputs, i, w)
        assert t.grad.shape == t.shape and t.grad.dtype == np.float64
        np.testing.assert_allclose(t.grad, numeric, rtol=1e-5, atol=1e-6, err_msg=f"{name} input {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ALL_CASES))
@settings(max_examples=3)
@given(data=st.data())
def test_dtype_is_kept_forward_and_backward(name, dtype, data):
    inputs, fn = data.draw(ALL_CASES[name], label="case")
    tensors = [Tensor(x.astype(dtype), requires_grad=True) for x in inputs]
    out = fn(*tensors)
    assert out.dtype == dtype
    out.backward(np.ones(out.shape, dtype))
    for t in tensors:
        assert t.grad.dtype == dtype


# ------------------------------------------------------------ engine semantics


def test_long_chain_backpropagates_without_recursion_and_is_freed():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward(retain_graph=True)  # keeps the whole chain linked...
    assert x.grad == pytest.approx(1.00001 ** 100_000, rel=1e-9)
    ref = weakref.ref(y)
    del y  # ...so this frees 100,000 nested nodes: it must not overflow the C stack
    assert ref() is None


def test_node_used_twice_accumulates():
    x = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.data)
    x.grad = None
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 2.0, 2.0])


def test_two_graphs_accumulate_into_leaves():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 + 2 * x.data)


def test_leaf_grads_never_share_memory():
    # y = x + b hands the same gradient array to x and b; later in-place
    # accumulation into x.grad must not leak into b.grad or the caller's array.
    x = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    seed = np.ones(3)
    for _ in range(2):
        (x + b).backward(seed)
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad, [7.0, 7.0, 7.0])
    np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])
    np.testing.assert_allclose(seed, [1.0, 1.0, 1.0])


def test_leaf_grads_are_c_ordered_for_transposed_weights():
    w = Tensor(np.ones((3, 4)), requires_grad=True)
    x = Tensor(np.arange(8.0).reshape(2, 4))
    for _ in range(2):
        (x @ w.T).sum().backward()
    assert w.grad.flags.c_contiguous
    np.testing.assert_allclose(w.grad, 2 * np.tile(x.data.sum(0), (3, 1)))


def test_second_backward_through_freed_graph_raises():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * 2).sum()
    loss.backward()
    with pytest.raises(BackwardError, match="retain_graph=True") as info:
        loss.backward()
    assert isinstance(info.value, RuntimeError)
    assert "second time" in str(info.value)
    np.testing.assert_allclose(x.grad, 2 * np.exp(x.data))  # untouched by the failed call


def test_graph_structure_survives_backward_for_drawing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    h = x * c
    loss = h.sum()
    loss.backward()
    assert loss._prev == (h,) and h._prev == (x,) and x._prev == ()
    assert loss._op == "sum" and h._op == "mul" and x._op is None


def test_retain_graph_allows_a_second_accumulating_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad, 4 * x.data)


def test_retain_grad_keeps_intermediate_gradients_only_when_asked():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    k = h * 1
    h.retain_grad()
    (h * k).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    assert k.grad is None and not k.is_leaf and x.is_leaf


def test_no_grad_builds_no_graph_nests_and_restores():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        y = x * 2
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y._parents == ()
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()

    @no_grad()
    def evaluate(t):
        return t * 2

    assert not evaluate(x).requires_grad and is_grad_enabled()


def test_matmul_skips_the_gradient_of_an_input_that_needs_none():
    a, b, g = np.ones((4, 3)), np.ones((3, 2)), np.ones((4, 2))
    _, vjp = PRIMITIVES["matmul"](a, b, need=(False, True))
    da, db = vjp(g)
    assert da is None and db.shape == (3, 2)
    x, w = Tensor(a), Tensor(b, requires_grad=True)
    (x @ w).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2)


def test_max_splits_gradient_among_ties():
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])


def test_max_over_a_non_empty_axis_of_an_empty_tensor():
    assert Tensor(np.ones((0, 3))).max(axis=1).shape == (0,)


def test_unbroadcast_sums_over_broadcast_axes():
    g = np.ones((2, 3, 4))
    assert unbroadcast(g, (3, 1)).tolist() == np.full((3, 1), 8.0).tolist()
    assert unbroadcast(g, ()) == 24.0
    assert unbroadcast(g, (2, 3, 4)) is g


def test_graphs_are_freed_by_refcounting_alone():
    gc.collect()
    gc.disable()
    try:
        x = Tensor(np.ones((3, 2)), requires_grad=True)
        w = Tensor(np.ones((2, 2)), requires_grad=True)
        h = (x @ w).tanh()
        refs = [weakref.ref(h)]
        loss = (h[[0, 0]].sigmoid() * h.max(axis=0) - h.mean()).sum()
        refs.append(weakref.ref(loss))
        del h
        del loss
        assert all(r() is None for r in refs)
        h = (x * 2).relu()  # the same after backward
        refs = [weakref.ref(h)]
        loss = h.sum()
        loss.backward()
        del h, loss
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


# ------------------------------------------------------------------- dtypes


def test_python_and_numpy_scalars_do_not_upcast_float32():
    t = Tensor(np.ones(3, np.float32), requires_grad=True)
    results = [t * 2.5, 2.5 * t, t + 1, 1 - t, t - 0.5, 2 / t, t / 3.0, t ** 2, t ** 0.5, -t,
               np.float64(2.0) * t, t * np.float64(2.0), t.mean(), 2 ** t, t.sigmoid()]
    for r in results:
        assert r.dtype == np.float32
    sum(r.sum() for r in results).backward()
    assert t.grad.dtype == np.float32


def test_mixed_dtypes_give_each_leaf_a_gradient_of_its_own_dtype():
    a = Tensor(np.ones(2, np.float32), requires_grad=True)
    b = Tensor(np.ones(2, np.float64), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


def test_construction_dtypes():
    assert Tensor([1.0, 2.0]).dtype == np.float64
    assert Tensor([1, 2]).dtype == np.int64
    assert Tensor(np.array([1, 2], np.int32)).dtype == np.int32
    assert Tensor([True, False]).dtype == np.bool_
    assert (Tensor([1, 2]) + 1).dtype == np.int64
    assert Tensor([1, 2], dtype=np.float32).dtype == np.float32
    assert (Tensor([1, 2]) / 2).dtype == np.float64


def test_tensor_copies_its_data():
    a = np.zeros(3)
    t = Tensor(a)
    a[0] = 5
    assert t.data[0] == 0


# -------------------------------------------------------------------- API


def test_attributes_and_conversions():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and len(t) == 2
    assert repr(t).startswith("tensor([[1., 2.],") and "requires_grad=True" in repr(t)
    assert "grad_fn=<mul>" in repr(t * 2)
    assert "dtype=float32" in repr(Tensor(np.ones(1, np.float32)))
    assert Tensor(3.5).item() == 3.5 and float(Tensor([2.0])) == 2.0
    assert f"{Tensor(0.12345):.2f}" == "0.12"
    d = t.detach()
    assert not d.requires_grad and d.data is t.data
    assert d.numpy() is t.data
    with pytest.raises(GraphError, match=r"detach\(\).numpy\(\)"):
        t.numpy()  # as in PyTorch: the gradient would be lost
    assert isinstance(np.ones((2, 2)) * t, Tensor)
    assert isinstance(np.ones(2) @ t, Tensor)
    assert (t > 2).dtype == np.bool_ and isinstance(t == t, np.ndarray)
    assert [row.shape for row in t] == [(2,), (2,)]
    assert {t: 1}[t] == 1


def test_in_place_update_of_a_leaf_under_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    data = w.data
    with no_grad():
        w -= 0.5 * w.grad
    assert w.data is data and w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.data, [0.0, 0.0])
    with pytest.raises(GraphError, match="no_grad"):
        w += 1
    y = w * 1
    y += 1  # a non-leaf: rebinds to y + 1
    assert not y.is_leaf


def test_requires_grad_on_integers_is_refused():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor([1, 2], requires_grad=True)
    t = Tensor([1, 2])
    with pytest.raises(BpkitTypeError):
        t.requires_grad = True


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize("make, exc, words", [
    (lambda: Tensor(np.ones((3, 4))) + Tensor(np.ones(5)), ShapeError,
     ["add", "(3, 4)", "(5,)", "cannot be broadcast"]),
    (lambda: Tensor(np.ones((3, 4))) - np.ones(5), ShapeError, ["sub", "(3, 4)", "(5,)"]),
    (lambda: Tensor(np.ones((3, 4))) * Tensor(np.ones(5)), ShapeError, ["mul", "(3, 4)", "(5,)"]),
    (lambda: Tensor(np.ones((3, 4))) / Tensor(np.ones(5)), ShapeError, ["div", "(3, 4)", "(5,)"]),
    (lambda: Tensor(np.ones((4, 3))) @ Tensor(np.ones((2, 5))), ShapeError,
     ["matmul: shapes (4, 3) and (2, 5) do not align (3 != 2)"]),
    (lambda: Tensor(np.ones(3)) @ Tensor(np.ones(4)), ShapeError, ["matmul", "(3,)", "(4,)", "3 != 4"]),
    (lambda: Tensor(np.ones((2, 2, 3))) @ Tensor(np.ones((3, 3, 2))), ShapeError, ["matmul", "batch"]),
    (lambda: Tensor(2.0) @ Tensor(np.ones(3)), ShapeError, ["matmul", "()", "at least 1 dimension"]),
    (lambda: Tensor(np.ones((2, 3))).reshape(4, 2), ShapeError,
     ["reshape: cannot reshape a tensor of shape (2, 3) (6 elements) into (4, 2) (8 elements)"]),
    (lambda: Tensor(np.ones((2, 3))).reshape(4, -1), ShapeError, ["reshape", "(2, 3)", "(4, -1)"]),
    (lambda: Tensor(np.ones((2, 3))).permute(0, 0), AxisError, ["permute", "(0, 0)", "(2, 3)"]),
    (lambda: Tensor(np.ones((2, 3))).permute(0, 2), AxisError, ["permute", "(0, 2)"]),
    (lambda: Tensor(np.ones((2, 3))).transpose(0, 2), AxisError, ["transpose", "axis 2"]),
    (lambda: Tensor(np.ones((2, 3, 4))).transpose(1, 0, 2), TypeError, ["transpose", "permute"]),
    (lambda: Tensor(np.ones((2, 3))).transpose(1), TypeError, ["transpose", "two axes"]),
    (lambda: Tensor(np.ones(3))[[[0], [1, 2]]], IndexError, ["getitem", "list of lists"]),
    (lambda: Tensor(np.ones(3)).sum(axis=()), IndexError, ["sum", "axis=()", "axis=None"]),
    (lambda: Tensor([1.0]) + 10 ** 400, ValueError, ["add", "too large"]),
    (lambda: Tensor([1.0]) ** 10 ** 400, ValueError, ["pow", "too large"]),
    (lambda: Tensor(10 ** 400), ValueError, ["Tensor", "too large"]),
    (lambda: Tensor([300], dtype=np.int8), ValueError, ["Tensor", "int8"]),
    (lambda: Tensor(np.array([1], np.int8)).add_(300), ValueError, ["add_", "int8"]),
    (lambda: Tensor(np.array([1], np.int8)).fill_(1000), TypeError, ["fill_"]),
    (lambda: Tensor(np.array([1], np.int8)).__setitem__(0, 300), ValueError, ["setitem"]),
    (lambda: Tensor([1.0]).add_(Tensor([1.0]), alpha=10 ** 400), ValueError, ["add_", "alpha"]),
    (lambda: Tensor([1.0, 2.0]).clamp(np.zeros(3)), ValueError, ["clamp", "(3,)", "(2,)"]),
    (lambda: Tensor([1.0]).clamp("a"), TypeError, ["clamp", "str"]),
    (lambda: Tensor([1, 2]).clamp_(0.5), TypeError, ["clamp_"]),
    (lambda: bpkit.where(np.array([True]), Tensor([1.0]), None), TypeError, ["where", "None"]),
    (lambda: Tensor([1.0]).copy_(None), TypeError, ["copy_", "None"]),
    (lambda: Tensor([1.0]) < "a", TypeError, ["lt", "str"]),
    (lambda: Tensor([1.0], requires_grad="yes"), TypeError, ["requires_grad", "True or False"]),
    (lambda: Tensor([1.0]).sum(axis=0, dim=0), TypeError, ["sum", "dim"]),
    (lambda: Tensor(np.ones(3))[5], IndexError, ["getitem", "5", "size 3"]),
    (lambda: Tensor(np.ones(3))[[0, 7]], IndexError, ["getitem", "7"]),
    (lambda: Tensor(np.ones(3))[0, 0], IndexError, ["getitem", "too many indices"]),
    (lambda: Tensor(np.ones(3))[1.5], IndexError, ["getitem"]),
    (lambda: Tensor("1.0"), TypeError, ["text"]),
    (lambda: Tensor(["1", "2"]), TypeError, ["text"]),
    (lambda: Tensor([[1.0, 2.0], [3.0]]), ValueError, ["rows of different lengths"]),
    (lambda: Tensor(np.array([1, None], dtype=object)), TypeError, ["Python objects"]),
    (lambda: Tensor([1.0, None]), TypeError, ["Python objects"]),
    (lambda: Tensor([1j]), TypeError, ["complex"]),
    (lambda: Tensor(None, dtype=np.float64), TypeError, ["None"]),
    (lambda: bpkit.functional.mse_loss(Tensor([1.0]), None), TypeError, ["mse_loss", "None"]),
    (lambda: Tensor(np.ones((2, 3))).sum(axis=2), AxisError, ["sum", "axis 2", "2 dimensions"]),
    (lambda: Tensor(np.ones((2, 3))).mean(axis=-3), IndexError, ["mean", "axis -3"]),
    (lambda: Tensor(np.ones((2, 3))).max(axis=(0, 5)), ValueError, ["max", "axis 5"]),
    (lambda: Tensor(np.ones((2, 3))).sum(axis=(0, -2)), AxisError, ["sum", "twice"]),
    (lambda: Tensor(np.ones(3)) ** Tensor(np.ones(3)), TypeError, ["pow", "exponent"]),
    (lambda: Tensor(np.ones(3)) + "a", TypeError, ["add", "str"]),
    (lambda: Tensor(np.ones(3)).item(), ValueError, ["item", "(3,)"]),
    (lambda: len(Tensor(1.0)), TypeError, ["0-d"]),
    (lambda: Tensor(np.array([100], np.int8)) + 200, ValueError, ["add", "200", "int8", "convert"]),
    (lambda: Tensor(np.array([1], np.uint8)) * -1, ValueError, ["mul", "-1", "uint8"]),
    (lambda: -Tensor([True, False]), TypeError, ["neg", "bool"]),
    (lambda: Tensor([True]) - Tensor([True]), TypeError, ["sub", "bool"]),
    (lambda: Tensor([1.0]).sum(keepdims="x"), TypeError, ["sum", "keepdims", "True or False"]),
    (lambda: np.sum(Tensor([1.0]), where=[True]), TypeError, ["sum", "where="]),
    (lambda: Tensor([1.0]).clamp(), ValueError, ["clamp", "min and max"]),
    (lambda: Tensor([1.0, 2.0]).min(axis=1), IndexError, ["min", "axis 1"]),
    (lambda: Tensor(np.ones((0, 2))).min(), ValueError, ["min", "empty"]),
    (lambda: Tensor([1.0]).sqrt() @ Tensor(np.ones((2, 2))), ValueError, ["matmul", "(1,)", "(2, 2)"]),
    (lambda: bpkit.where(np.array([1, 0]), Tensor([1.0, 2.0]), 0.0), TypeError, ["where", "boolean"]),
    (lambda: bpkit.where(np.array([True]), Tensor([1.0, 2.0]), Tensor(np.ones(3))), ValueError,
     ["where", "(2,)", "(3,)"]),
    (lambda: bpkit.concatenate(Tensor([1.0])), TypeError, ["concatenate", "list"]),
    (lambda: bpkit.concatenate([]), ValueError, ["concatenate", "non-empty"]),
    (lambda: bpkit.concatenate([Tensor(np.ones((2, 2))), Tensor(np.ones((3, 3)))]), ValueError,
     ["concatenate", "(2, 2)", "(3, 3)"]),
    (lambda: bpkit.stack([Tensor(np.ones(2)), Tensor(np.ones(3))]), ValueError, ["stack", "same shape"]),
    (lambda: bpkit.stack([Tensor(np.ones(2))], axis=3), IndexError, ["stack", "axis 3"]),
])
def test_bad_input_raises_a_bpkit_error_naming_the_facts(make, exc, words):
    with pytest.raises(exc) as info:
        make()
    message = str(info.value)
    assert type(info.value).__module__ == "bpkit.errors"
    assert "\n" not in message
    for word in words:
        assert word in message


def test_backward_errors():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        with no_grad():
            (x * 2).sum().backward()
    y.backward(np.ones((2, 3)))  # the right grad works
    np.testing.assert_allclose(x.grad, np.full((2, 3), 2.0))


def test_integer_and_boolean_array_operands():
    """Integer/bool arrays take a float tensor's dtype (PyTorch's rule); unsigned ones don't wrap."""
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x * np.array([1, 2]) - np.array([1, 2], np.uint8) + np.array([True, False])
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [1.0, 2.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])
    assert x.grad.dtype == np.float32
    assert (x * [1, 2]).dtype == (x * [0.5, 2.0]).dtype == np.float32  # Python lists, too
    np.testing.assert_array_equal((Tensor([5, 6]) - np.array([1, 2], np.uint8)).data, [4, 4])


# ------------------------------------------------ advanced indexing, the whole class


@st.composite
def index_tuples(draw):
    """(shape, index): random indices numpy accepts, mixing ints, slices, None, Ellipsis,
    integer lists/arrays/tuples with repeats and boolean masks."""
    shape = draw(shapes(min_dims=1, max_dims=3))
    parts, dim = [], 0
    while dim < len(shape) and draw(st.booleans()) or not parts:
        if dim >= len(shape):
            break
        n = shape[dim]
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "array", "tuple", "mask"]))
        if kind == "int":
            parts.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            parts.append(slice(draw(st.none() | st.integers(-n, n)), draw(st.none() | st.integers(-n, n)),
                               draw(st.sampled_from([None, 1, 2, -1]))))
        elif kind == "none":
            parts.append(None)
            continue
        elif kind == "mask":
            parts.append(draw(hnp.arrays(np.bool_, (n,))))
        else:
            picks = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4))
            picks = picks + picks[:1]  # at least one repeat
            parts.append({"list": list, "array": np.array, "tuple": tuple}[kind](picks))
        dim += 1
    return shape, tuple(parts)


def _reference_index_grad(shape, index, g):
    """What every index's gradient must be: np.add.at adds once per pick."""
    dx = np.zeros(shape)
    np.add.at(dx, index, g)
    return dx


@given(case=index_tuples(), data=st.data())
def test_every_index_accumulates_like_np_add_at(case, data):
    shape, index = case
    x = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    try:
        expected_out = x[index]
    except IndexError:  # e.g. two integer arrays of different lengths: numpy refuses, so must bpkit
        with pytest.raises(IndexError):
            Tensor(x, requires_grad=True)[index]
        return
    t = Tensor(x, requires_grad=True)
    out = t[index]
    np.testing.assert_array_equal(out.data, expected_out)
    g = data.draw(weights_like(out.shape))
    out.backward(g)
    np.testing.assert_allclose(t.grad, _reference_index_grad(shape, index, g), rtol=1e-12)


def test_tuple_inside_an_index_counts_a_repeated_row_twice():
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    w[(0, 0, 1), :].sum().backward()
    np.testing.assert_array_equal(w.grad, [[2, 2], [1, 1], [0, 0]])


# ---------------------------------------------- numpy functions cannot drop the graph

NUMPY_CALLS = [  # (name, call on a tensor t, words the message must contain)
    ("np.where", lambda t: np.where(t.data > 0, t, 0.1 * t), "bpkit.where"),
    ("np.dot", lambda t: np.dot(t, t), "a @ b"),
    ("np.concatenate", lambda t: np.concatenate([t, t]), "bpkit.concatenate"),
    ("np.stack", lambda t: np.stack([t, t]), "bpkit.stack"),
    ("np.clip", lambda t: np.clip(t, 0, 1), "clamp"),
    ("np.exp", np.exp, "t.exp()"),
    ("np.log", lambda t: np.log(t), "t.log()"),
    ("np.tanh", np.tanh, "t.tanh()"),
    ("np.sqrt", np.sqrt, "sqrt"),
    ("np.abs", np.abs, "abs"),
    ("np.square", np.square, "t ** 2"),
    ("np.maximum", lambda t: np.maximum(t, 0), "bpkit.maximum"),
    ("np.minimum", lambda t: np.minimum(t, 0), "bpkit.minimum"),
    ("np.reshape", lambda t: np.reshape(t, -1), "t.reshape"),
    ("np.transpose", np.transpose, "t.T"),
    ("np.outer", lambda t: np.outer(t, t), "reshape"),
    ("np.linalg.norm", np.linalg.norm, "** 0.5"),
    ("np.asarray", np.asarray, "detach().numpy()"),
    ("np.array", np.array, "detach().numpy()"),
    ("np.cumsum", np.cumsum, "bpkit's tensor operations"),
    ("np.sin", np.sin, "bpkit's tensor operations"),
]


@pytest.mark.parametrize("name, call, words", NUMPY_CALLS, ids=[c[0] for c in NUMPY_CALLS])
def test_numpy_functions_refuse_a_tensor_that_requires_grad(name, call, words):
    t = Tensor([0.5, 2.0], requires_grad=True)
    with pytest.raises(GraphError) as info:
        call(t)
    message = str(info.value)
    assert "\n" not in message and words in message
    assert isinstance(info.value, RuntimeError)


@pytest.mark.parametrize("name, call, words", NUMPY_CALLS, ids=[c[0] for c in NUMPY_CALLS])
def test_numpy_functions_run_on_a_tensor_without_grad(name, call, words):
    data = np.array([0.5, 2.0])
    got = call(Tensor(data))
    want = call(data) if name != "np.where" else np.where(data > 0, data, 0.1 * data)
    np.testing.assert_allclose(np.asarray(got.data if isinstance(got, Tensor) else got), want)


@pytest.mark.parametrize("func, method", [(np.sum, "sum"), (np.mean, "mean"), (np.max, "max"),
                                          (np.amax, "max"), (np.min, "min"), (np.amin, "min")])
def test_numpy_reductions_call_the_tensor_method_with_numpys_keywords(func, method):
    x = np.array([[1.0, -2.0, 3.0], [4.0, 0.5, -6.0]])
    t = Tensor(x, requires_grad=True)
    out = func(t, axis=0, keepdims=True)
    assert isinstance(out, Tensor) and out.requires_grad
    np.testing.assert_allclose(out.data, func(x, axis=0, keepdims=True))
    out.sum().backward()
    ref = Tensor(x, requires_grad=True)
    getattr(ref, method)(axis=0, keepdims=True).sum().backward()
    np.testing.assert_allclose(t.grad, ref.grad)
    assert func(t, 1).shape == (2,) and func(t).shape == ()
    with pytest.raises(BpkitTypeError, match=f"{func.__name__}.*out=.*not supported"):
        func(t, axis=0, out=np.empty(3))


def test_operators_with_an_ndarray_on_the_left_stay_in_the_graph():
    t = Tensor([1.0, 2.0], requires_grad=True)
    a = np.array([3.0, 4.0])
    for out in (a + t, a - t, a * t, a / t, a @ t, -t, np.add(a, t), np.multiply(t, a)):
        assert isinstance(out, Tensor) and out.requires_grad
    (a / t).sum().backward()
    np.testing.assert_allclose(t.grad, -a / t.data ** 2)
    assert (a > t).dtype == np.bool_ and (a > t).tolist() == [True, True]


def test_leaky_relu_with_bpkit_where():
    x = Tensor([-2.0, 3.0], requires_grad=True)
    bpkit.where(x > 0, x, 0.1 * x).sum().backward()
    np.testing.assert_allclose(x.grad, [0.1, 1.0])


def test_where_sends_no_nan_from_the_branch_not_taken():
    x = Tensor([-1.0, 4.0], requires_grad=True)
    safe = bpkit.where(x.data > 0, x.clamp(min=1e-12).sqrt(), 0.0)
    safe.sum().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.25])


# ------------------------------------------ in-place changes after every primitive


@pytest.mark.parametrize("name", sorted(ALL_CASES))
@given(data=st.data())
def test_an_in_place_change_after_the_forward_pass_is_caught_or_harmless(name, data):
    """Change an input or the output in place between forward and backward: backward must either
    refuse (the vjp reads that array) or give exactly the gradient of the unchanged graph."""
    inputs, fn = data.draw(ALL_CASES[name], label="case")
    reference = [Tensor(x, requires_grad=True) for x in inputs]
    out_ref = fn(*reference)
    w = data.draw(weights_like(out_ref.shape), label="w")
    out_ref.backward(w)

    tensors = [Tensor(x, requires_grad=True) for x in inputs]
    out = fn(*tensors)
    victim = data.draw(st.sampled_from(["out"] + list(range(len(tensors)))), label="victim")
    how = data.draw(st.sampled_from(["add_", "isub", "setitem", "mul_"]), label="how")
    target = out if victim == "out" else tensors[victim]
    with no_grad():
        if how == "add_":
            target.add_(0.375)
        elif how == "isub":
            target -= 0.375
        elif how == "setitem":
            target[...] = 0.625
        else:
            target.mul_(-1.5)
    assert target._version == 1
    try:
        out.backward(w)
    except BackwardError as e:
        assert "modified by an inplace operation" in str(e) and "\n" not in str(e)
        assert all(t.grad is None for t in tensors)  # refused before touching any gradient
        return
    for t, r in zip(tensors, reference):
        np.testing.assert_allclose(t.grad, r.grad, rtol=1e-12, atol=1e-12, err_msg=name)


def test_the_issues_in_place_examples_raise():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    x = Tensor(np.ones((3, 2)), requires_grad=True)
    loss = (x @ w).sum()
    with no_grad():
        w -= 10  # the weight matmul needs for dx
    with pytest.raises(BackwardError, match="modified by an inplace operation"):
        loss.backward()

    x = Tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()
    with no_grad():
        y *= 2  # exp's backward reads its output
    with pytest.raises(BackwardError, match=r"shape \(2,\) that exp saved"):
        y.sum().backward()


def test_views_share_the_version_counter():
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    loss = (x @ w.T).sum()  # matmul saved the view w.T
    with no_grad():
        w.reshape(-1)[0] = 5.0  # a change through another view of the same memory
    assert w._version == 1
    with pytest.raises(BackwardError):
        loss.backward()
    d = w.detach()
    d.zero_()
    assert w._version == 2 and np.all(w.data == 0)


def test_in_place_refusals_and_successes():
    w = Tensor([1.0, 2.0], requires_grad=True)
    for change in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.__setitem__(0, 1.0),
                   lambda: w.clamp_(0, 1)):
        with pytest.raises(GraphError, match="no_grad"):
            change()
    y = w * 2
    with pytest.raises(GraphError, match="part of a graph"):
        y.add_(1)
    c = Tensor([1.0, 2.0])
    c += 1  # no graph involved: in place, as in PyTorch
    c.sub_(Tensor([1.0, 1.0]), alpha=2).mul_(3).div_(2)
    np.testing.assert_allclose(c.data, [0.0, 1.5])
    assert c._version == 4
    with pytest.raises(BpkitTypeError):
        Tensor([1, 2]).add_(0.5)  # a float result cannot be stored in an int tensor
    with pytest.raises(ShapeError):
        Tensor([1.0, 2.0]).add_(np.ones(3))


# --------------------------------------------------------------- division


def test_division_is_its_own_primitive():
    x = Tensor(np.linspace(0.1, 3.0, 30), requires_grad=True)
    assert np.all((x / x).data == 1.0)
    np.testing.assert_array_equal((Tensor([0.0, 1e-300]) / 1e-310).data, np.array([0.0, 1e-300]) / 1e-310)
    b = Tensor(np.array([1e-30], np.float32), requires_grad=True)
    (Tensor(np.array([1e-30], np.float32)) / b).sum().backward()
    np.testing.assert_allclose(b.grad, [-1e30], rtol=1e-6)  # -a / b**2 with b**2 = 1e-60 (underflows in float32)
    assert (x / x)._op == "div"


# ------------------------------------------------------------- no_grad forms


def test_no_grad_decorates_without_parentheses_and_keeps_generators_honest():
    x = Tensor([1.0], requires_grad=True)

    @no_grad
    def evaluate(t):
        return t * 2

    assert not evaluate(x).requires_grad and is_grad_enabled()
    assert evaluate.__name__ == "evaluate"

    @no_grad()
    def batches(n):
        for _ in range(n):
            assert not is_grad_enabled()  # inside the generator: no graph
            got = yield x * 2
            assert got is None or got == "sent"

    gen = batches(3)
    first = next(gen)
    assert not first.requires_grad
    assert is_grad_enabled()  # between the yields: the caller's mode
    assert not gen.send("sent").requires_grad
    assert is_grad_enabled()
    gen.close()
    assert is_grad_enabled()


# ------------------------------------------ what a review against PyTorch turned up


def test_transpose_swaps_two_axes_as_in_pytorch():
    x = Tensor([[0.0, 1.0], [2.0, 3.0]], requires_grad=True)
    np.testing.assert_array_equal(x.transpose(0, 1).data, [[0, 2], [1, 3]])
    np.testing.assert_array_equal(x.transpose(-2, -1).data, x.data.T)
    (x.transpose(0, 1) * Tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    np.testing.assert_array_equal(x.grad, [[1, 3], [2, 4]])
    assert Tensor(np.ones((2, 3, 4))).transpose(0, 2).shape == (4, 3, 2)
    assert Tensor(np.ones((2, 3, 4))).permute(2, 0, 1).shape == (4, 2, 3)


def test_what_a_node_keeps_cannot_be_changed_behind_its_back():
    """Index tensors and arrays, targets, bounds and ndarray operands are the graph's own copies."""
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    idx, arr_idx, a, lo = Tensor([0, 1]), np.array([0, 0]), np.array([1.0, 2.0, 3.0]), Tensor([1.5, 1.5, 1.5])
    ys = [x[idx], x[arr_idx], x * a, a * x, x / a, bpkit.maximum(x, a), x.clamp(lo)]
    idx[0] = 2
    arr_idx[:] = 2
    a[:] = 0.0
    lo[...] = 5.0
    sum(y.sum() for y in ys).backward()
    # index, index array, x * a, a * x, x / a, maximum (ties with a: half), clamp (x >= 1.5)
    np.testing.assert_allclose(x.grad, [1 + 2 + 1 + 1 + 1 + 0.5, 1 + 2 + 2 + 0.5 + 0.5 + 1,
                                        3 + 3 + 1 / 3 + 0.5 + 1])

    logits = Tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    target = np.array([0])
    loss = bpkit.functional.cross_entropy(logits, target)
    target[0] = 2
    loss.backward()
    assert logits.grad[0, 0] < 0 and logits.grad[0, 2] > 0  # still the gradient for class 0


def test_integer_tensors_give_float_results_for_float_functions():
    t = Tensor([1, 2, 3])
    np.testing.assert_allclose(t.sigmoid().data, 1 / (1 + np.exp(-np.array([1.0, 2.0, 3.0]))))
    for out in (t.exp(), t.log(), t.tanh(), t.sqrt(), t.log_softmax(), Tensor(True).sigmoid(), 2 ** t):
        assert out.dtype == np.float64
    assert (10 ** Tensor([2.0])).item() == 100.0 and (1 ** Tensor([np.inf])).item() == 1.0


def test_a_single_entry_is_a_view_so_in_place_changes_reach_the_tensor():
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    with no_grad():
        for wi in w:
            wi -= 10.0
        w[1].zero_()
    np.testing.assert_array_equal(w.data, [-9.0, 0.0, -7.0])
    assert w._version == 4


def test_a_backward_rule_that_returns_the_wrong_shape_is_refused(monkeypatch):
    from bpkit import primitives

    def bad_add(a, b, need=(True, True)):
        return a + b, lambda g: (g, g)  # forgets to unbroadcast

    bad_add.reads = primitives.add.reads
    monkeypatch.setattr(primitives, "add", bad_add)
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.ones((1, 4)), requires_grad=True)
    with pytest.raises(BackwardError, match=r"add returned a gradient of shape \(3, 4\) for an input of shape \(1, 4\)"):
        (x + b).sum().backward()


def test_a_leaf_reached_twice_gets_an_array_gradient():
    x = Tensor(2.0, requires_grad=True)
    bpkit.stack([x, x]).sum().backward()
    assert type(x.grad) is np.ndarray and x.grad == 2.0
    x.grad[...] = 0.0


def test_pytorch_spellings():
    t = Tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    assert abs(t).data.tolist() == [[1, 2], [3, 4]] and (+t) is t
    assert t.numel() == 4 and t.dim() == 2
    assert t.sum(dim=0, keepdim=True).shape == (1, 2) and t.max(dim=1).shape == (2,)
    assert bpkit.cat([t, t], dim=1).shape == (2, 4) and bpkit.stack([t, t], dim=-1).shape == (2, 2, 2)
    assert bpkit.functional.softmax(t, dim=0).shape == (2, 2)


def test_log_softmax_over_an_empty_axis_is_empty():
    t = Tensor(np.ones((2, 0)), requires_grad=True)
    out = t.log_softmax(axis=1)
    assert out.shape == (2, 0)
    out.sum().backward()
    assert t.grad.shape == (2, 0)


def test_clamp_with_bounds_that_broadcast_x():
    x = Tensor([0.5, -1.0, 2.0], requires_grad=True)
    out = x.clamp(np.zeros((2, 3)))
    assert out.shape == (2, 3)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 2.0])


def test_numpy_shape_ndim_size_read_a_tensor_that_requires_grad():
    t = Tensor(np.zeros((2, 3)), requires_grad=True)
    assert np.shape(t) == (2, 3) and np.ndim(t) == 2 and np.size(t) == 6 and np.size(t, 1) == 3


def test_slices_add_their_gradients_in_place_with_dense_ones_and_in_any_order():
    x = Tensor(np.arange(5.0), requires_grad=True)
    y = (x[1:] * 2).sum() + x[:-1].sum() + (x * x).sum() + x[2]
    y.backward()
    assert np.array_equal(x.grad, [1, 3, 3 + 1, 3, 2] + 2 * np.arange(5.0))
    steps = Tensor(np.ones((50, 3), np.float32), requires_grad=True)
    total = steps[0].sum()
    for t in range(1, 50):
        total = total + steps[t].sum() * t
    total.backward()
    assert steps.grad.dtype == np.float32 and np.array_equal(steps.grad[:, 0], np.maximum(np.arange(50), 1))
