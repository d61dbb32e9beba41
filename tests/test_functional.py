"""bpkit.functional: values against numpy formulas, gradients against central differences, errors."""
import numpy as np
import pytest

from bpkit import errors
from bpkit.functional import (
    batch_norm,
    binary_cross_entropy_with_logits,
    cross_entropy,
    dropout,
    l1_loss,
    layer_norm,
    linear,
    log_softmax,
    mse_loss,
    softmax,
)
from bpkit.gradcheck import gradcheck
from bpkit.tensor import Tensor


def ref_log_softmax(x, axis=-1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def autograd(f, x):
    """The gradient of the scalar Tensor f(Tensor(x)) wrt x, by backward()."""
    t = Tensor(np.array(x, dtype=np.float64), requires_grad=True)
    f(t).backward()
    return np.asarray(t.grad)


RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5))
W = RNG.normal(size=(4, 5))          # a second (4, 5) array: mse target, upstream weights
Y = np.array([0, 3, 3, 1])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_values(axis):
    p = softmax(Tensor(X), axis=axis).data
    np.testing.assert_allclose(p, np.exp(X) / np.exp(X).sum(axis=axis, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(p.sum(axis=axis), 1.0, rtol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0])
def test_log_softmax_values(axis):
    np.testing.assert_allclose(log_softmax(Tensor(X), axis=axis).data, ref_log_softmax(X, axis), rtol=1e-12)


def test_log_softmax_and_softmax_are_stable_for_huge_logits():
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    t = Tensor(x, requires_grad=True)
    out = log_softmax(t)
    np.testing.assert_allclose(out.data, [[0.0, -1e4, -2e4], [-np.log(3)] * 3], rtol=1e-12)
    (out * Tensor(W[:2, :3])).sum().backward()
    assert np.all(np.isfinite(t.grad))
    np.testing.assert_allclose(softmax(Tensor(x)).data, [[1, 0, 0], [1 / 3] * 3], atol=1e-12)
    loss = cross_entropy(Tensor(x), [1, 2])
    np.testing.assert_allclose(loss.item(), (1e4 + np.log(3)) / 2, rtol=1e-12)


@pytest.mark.parametrize("name, f", [
    ("softmax", lambda t: softmax(t)),                       # gradcheck projects a non-scalar output
    ("softmax axis 0", lambda t: softmax(t, axis=0)),
    ("log_softmax", lambda t: log_softmax(t)),
    ("cross_entropy", lambda t: cross_entropy(t, Y)),
    ("cross_entropy, repeated class", lambda t: cross_entropy(t, [2, 2, 2, 2])),
    ("mse_loss", lambda t: mse_loss(t, W)),
])
def test_gradients_match_central_differences(name, f):
    assert gradcheck(f, Tensor(X, requires_grad=True), raise_on_failure=True), name


def test_cross_entropy_value_and_gradient_closed_form():
    n = len(Y)
    np.testing.assert_allclose(cross_entropy(Tensor(X), Y).item(), -ref_log_softmax(X)[np.arange(n), Y].mean(),
                               rtol=1e-12)
    p = np.exp(ref_log_softmax(X))
    onehot = np.eye(X.shape[1])[Y]
    np.testing.assert_allclose(autograd(lambda t: cross_entropy(t, Y), X), (p - onehot) / n, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("targets", [list(Y), Y, Y.astype(np.int32), Tensor(Y)])
def test_cross_entropy_accepts_list_array_and_integer_tensor(targets):
    np.testing.assert_allclose(cross_entropy(Tensor(X), targets).item(), cross_entropy(Tensor(X), Y).item())


def test_float32_stays_float32():
    t = Tensor(X.astype(np.float32), requires_grad=True)
    loss = cross_entropy(t, Y)
    assert loss.dtype == np.float32
    loss.backward()
    assert t.grad.dtype == np.float32
    assert softmax(t).dtype == log_softmax(t).dtype == mse_loss(t, W).dtype == np.float32


@pytest.mark.parametrize("shape", [(4, 5), (2, 4, 5)])
def test_linear_is_x_at_w_transposed_plus_b(shape):
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=shape), rng.normal(size=(3, 5)), rng.normal(size=3)
    np.testing.assert_allclose(linear(Tensor(x), Tensor(w), Tensor(b)).data, x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(linear(Tensor(x), Tensor(w)).data, x @ w.T, rtol=1e-12)   # no bias
    assert gradcheck(lambda x_, w_, b_: linear(x_, w_, b_), Tensor(x, requires_grad=True),
                     Tensor(w, requires_grad=True), Tensor(b, requires_grad=True), raise_on_failure=True)


def test_mse_loss_value():
    np.testing.assert_allclose(mse_loss(Tensor(X), Tensor(W)).item(), np.mean((X - W) ** 2), rtol=1e-12)


# --- errors: one line, naming the function and the problem ---

def one_line(info, *words):
    """The error's message is one line and contains each of words."""
    msg = str(info.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_cross_entropy_target_out_of_range():
    with pytest.raises(errors.BpkitIndexError) as info:
        cross_entropy(Tensor(X), [0, 1, 7, 2])
    one_line(info, "cross_entropy", "7", "C = 5")
    with pytest.raises(IndexError) as info:
        cross_entropy(Tensor(X), [0, -1, 2, 2])
    one_line(info, "cross_entropy", "-1")


def test_cross_entropy_batch_size_mismatch():
    with pytest.raises(errors.ShapeError) as info:
        cross_entropy(Tensor(X), [0, 1, 2])
    one_line(info, "cross_entropy", "4", "3")


def test_cross_entropy_float_targets():
    with pytest.raises(errors.BpkitTypeError) as info:
        cross_entropy(Tensor(X), Y.astype(np.float64))
    one_line(info, "cross_entropy", "integer class indices", "astype")
    with pytest.raises(TypeError) as info:
        cross_entropy(Tensor(X), Tensor(Y.astype(np.float32)))
    one_line(info, "integer")


@pytest.mark.parametrize("shape", [(5,), (2, 2, 5)])
def test_cross_entropy_logits_not_2d(shape):
    with pytest.raises(errors.ShapeError) as info:
        cross_entropy(Tensor(np.zeros(shape)), [0])
    one_line(info, "cross_entropy", "2-D", str(shape))


def test_mse_loss_shape_mismatch():
    with pytest.raises(errors.ShapeError) as info:
        mse_loss(Tensor(np.zeros((4, 1))), np.zeros(4))
    one_line(info, "mse_loss", "(4, 1)", "(4,)")


def test_mse_loss_text_target():
    with pytest.raises(errors.BpkitTypeError) as info:
        mse_loss(Tensor(np.zeros(2)), "ab")
    one_line(info, "mse_loss", "text", "'ab'")


@pytest.mark.parametrize("shapes, words", [
    (((4, 3), (2, 5), None), ["linear", "(4, 3)", "(2, 5)", "in_features = 5"]),
    (((4, 3), (2, 3), (3,)), ["linear", "bias must have shape (2,)", "(3,)"]),
    (((4, 3), (3,), None), ["linear", "weight must be 2-D", "(3,)"]),
    (((), (2, 1), None), ["linear", "input of shape ()", "in_features = 1"]),
])
def test_linear_wrong_shapes(shapes, words):
    x, w, b = (None if s is None else Tensor(np.ones(s)) for s in shapes)
    with pytest.raises(errors.ShapeError) as info:
        linear(x, w, b)
    one_line(info, *words)


# ------------------------------------------------ l1_loss, binary_cross_entropy_with_logits


def test_l1_loss_value_and_gradient_is_sign_over_n():
    target = W.copy()
    target[0, 0] = X[0, 0]                     # a tie: PyTorch's gradient there is 0
    np.testing.assert_allclose(l1_loss(Tensor(X), target).item(), np.abs(X - target).mean())
    np.testing.assert_allclose(autograd(lambda t: l1_loss(t, target), X), np.sign(X - target) / X.size)
    assert autograd(lambda t: l1_loss(t, target), X)[0, 0] == 0
    assert l1_loss(Tensor(X), target, reduction="sum").item() == pytest.approx(np.abs(X - target).sum())
    np.testing.assert_allclose(l1_loss(Tensor(X), target, reduction="none").data, np.abs(X - target))


def ref_bce_with_logits(x, t):
    """The textbook form, in float64 on moderate logits only (it overflows for large ones)."""
    s = 1 / (1 + np.exp(-x))
    return -(t * np.log(s) + (1 - t) * np.log(1 - s))


def test_bce_with_logits_value_and_gradient_closed_form():
    t = (RNG.random(X.shape) > 0.5).astype(float)
    t[1, 1] = 0.25                                        # soft targets too
    x = X.copy()
    x[0, 0] = 0.0                       # the kink of max(x, 0) and |x|: the gradient still is sigmoid - t
    f = lambda z: binary_cross_entropy_with_logits(z, t)
    np.testing.assert_allclose(f(Tensor(x)).item(), ref_bce_with_logits(x, t).mean(), rtol=1e-12)
    np.testing.assert_allclose(autograd(f, x), (1 / (1 + np.exp(-x)) - t) / x.size, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(binary_cross_entropy_with_logits(Tensor(x), t, reduction="none").data,
                               ref_bce_with_logits(x, t), rtol=1e-12)


def test_bce_with_logits_is_finite_for_huge_logits():
    x = np.array([1e4, -1e4, 1e4, -1e4, 50.0, -50.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    xt = Tensor(x, requires_grad=True)
    loss = binary_cross_entropy_with_logits(xt, t, reduction="none")
    loss.sum().backward()
    assert np.all(np.isfinite(loss.data)) and np.all(np.isfinite(xt.grad))
    np.testing.assert_allclose(loss.data, [0, 0, 1e4, 1e4, 0, 0], atol=1e-20)     # confident and right: 0; wrong: |x|
    np.testing.assert_allclose(np.asarray(xt.grad), [0, 0, 1, -1, 0, 0], atol=1e-20)


@pytest.mark.parametrize("f", [l1_loss, binary_cross_entropy_with_logits])
def test_new_losses_pass_gradcheck_and_refuse_mismatched_shapes(f):
    t = RNG.random(X.shape)
    assert gradcheck(lambda z: f(z, t), Tensor(X + 0.01, requires_grad=True), raise_on_failure=True)
    with pytest.raises(errors.ShapeError) as info:
        f(Tensor(X), t[:, :1])
    assert f.__name__ in str(info.value) and "(4, 5)" in str(info.value) and "(4, 1)" in str(info.value)
    with pytest.raises(errors.BpkitTypeError, match="reduction"):
        f(Tensor(X), t, reduction="avg")


# ------------------------------------------------------------------------------ dropout


def test_dropout_scales_kept_entries_and_is_reproducible():
    x = np.arange(1.0, 2001.0).reshape(40, 50)
    y = dropout(Tensor(x), p=0.25, rng=0).data
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75)                  # inverted dropout: 1 / (1 - p)
    assert 0.70 < kept.mean() < 0.80
    np.testing.assert_array_equal(dropout(Tensor(x), p=0.25, rng=0).data, y)            # same seed, same mask
    assert not np.array_equal(dropout(Tensor(x), p=0.25, rng=1).data, y)
    xt = Tensor(x, requires_grad=True)
    dropout(xt, p=0.25, rng=0).sum().backward()
    np.testing.assert_allclose(np.asarray(xt.grad), kept / 0.75)          # the gradient is the scaled mask


def test_dropout_eval_p0_and_p1():
    x = Tensor(X, requires_grad=True)
    assert dropout(x, 0.5, training=False) is x                          # identity, as in PyTorch
    np.testing.assert_array_equal(dropout(x, 0.0, rng=0).data, X)
    np.testing.assert_array_equal(dropout(x, 1.0, rng=0).data, np.zeros_like(X))
    assert dropout(Tensor(X.astype(np.float32)), 0.5, rng=0).dtype == np.float32


def test_dropout_gradcheck_with_a_fixed_mask():
    x = Tensor(X, requires_grad=True)
    assert gradcheck(lambda z: dropout(z, 0.3, rng=np.random.default_rng(5)), x, raise_on_failure=True)
    assert gradcheck(lambda z: dropout(z, 0.3, training=False), x, raise_on_failure=True)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_dropout_p_out_of_range(p):
    with pytest.raises(errors.BpkitValueError) as info:
        dropout(Tensor(X), p)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("dropout:") and "between 0 and 1" in msg


# --------------------------------------------------------------------------- batch_norm


def ref_batch_norm(x, w, b, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    m, v = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return (x - m) / np.sqrt(v + eps) * w.reshape(shape) + b.reshape(shape)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_training_values_running_update_and_gradcheck(shape):
    x = RNG.normal(2.0, 3.0, size=shape)
    w, b = RNG.normal(size=3), RNG.normal(size=3)
    rm, rv = np.full(3, 0.5), np.full(3, 2.0)
    y = batch_norm(Tensor(x), rm, rv, Tensor(w), Tensor(b), training=True, momentum=0.2)
    np.testing.assert_allclose(y.data, ref_batch_norm(x, w, b), rtol=1e-12, atol=1e-12)
    axes = (0,) if len(shape) == 2 else (0, 2)
    np.testing.assert_allclose(rm, 0.8 * 0.5 + 0.2 * x.mean(axis=axes))
    np.testing.assert_allclose(rv, 0.8 * 2.0 + 0.2 * x.var(axis=axes, ddof=1))   # unbiased in the running var
    ts = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(lambda x_, w_, b_: batch_norm(x_, None, None, w_, b_, training=True), *ts,
                     raise_on_failure=True)


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5)])
def test_batch_norm_eval_uses_running_stats_and_gradcheck(shape):
    x = RNG.normal(size=shape)
    w, b = RNG.normal(size=3), RNG.normal(size=3)
    rm, rv = RNG.normal(size=3), RNG.random(3) + 0.5
    s = (1, 3) if len(shape) == 2 else (1, 3, 1)
    y = batch_norm(Tensor(x), rm, rv, Tensor(w), Tensor(b))
    np.testing.assert_allclose(y.data, (x - rm.reshape(s)) / np.sqrt(rv.reshape(s) + 1e-5) * w.reshape(s)
                               + b.reshape(s), rtol=1e-12)
    before = (rm.copy(), rv.copy())
    ts = [Tensor(a, requires_grad=True) for a in (x, w, b)]
    assert gradcheck(lambda x_, w_, b_: batch_norm(x_, rm, rv, w_, b_), *ts, raise_on_failure=True)
    np.testing.assert_array_equal(rm, before[0])                          # eval reads them, never writes
    np.testing.assert_array_equal(rv, before[1])


def test_batch_norm_errors():
    with pytest.raises(errors.BpkitValueError, match=r"Expected more than 1 value per channel when training, "
                                                     r"got input size \(1, 3\)"):
        batch_norm(Tensor(np.ones((1, 3))), None, None, training=True)
    with pytest.raises(errors.ShapeError, match=r"batch_norm: running_mean must have shape \(3,\)"):
        batch_norm(Tensor(np.ones((2, 3))), np.zeros(4), np.ones(4))
    with pytest.raises(errors.ShapeError, match="expected 2D"):
        batch_norm(Tensor(np.ones((2, 3, 4, 5))), None, None, training=True)


# --------------------------------------------------------------------------- layer_norm


@pytest.mark.parametrize("ns", [5, (4, 5)])
def test_layer_norm_values_and_gradcheck(ns):
    x = RNG.normal(1.0, 2.0, size=(2, 3, 4, 5))
    k = 1 if isinstance(ns, int) else len(ns)
    wshape = x.shape[-k:]
    w, b = RNG.normal(size=wshape), RNG.normal(size=wshape)
    axes = tuple(range(4 - k, 4))
    ref = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5) * w + b
    np.testing.assert_allclose(layer_norm(Tensor(x), ns, Tensor(w), Tensor(b)).data, ref, rtol=1e-12, atol=1e-12)
    ts = [Tensor(a, requires_grad=True) for a in (x[0, 0], w, b)]
    assert gradcheck(lambda x_, w_, b_: layer_norm(x_, ns, w_, b_), *ts, raise_on_failure=True)


def test_layer_norm_shape_mismatch():
    with pytest.raises(errors.ShapeError) as info:
        layer_norm(Tensor(np.ones((2, 4))), 3)
    msg = str(info.value)
    assert "\n" not in msg and "normalized_shape=[3]" in msg and "(2, 4)" in msg
    with pytest.raises(errors.ShapeError, match="weight must have shape"):
        layer_norm(Tensor(np.ones((2, 3))), 3, np.ones(4))

