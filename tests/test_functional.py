"""bpkit.functional: values against numpy formulas, gradients against central differences, errors."""
import numpy as np
import pytest

from bpkit import errors
from bpkit.functional import cross_entropy, linear, log_softmax, mse_loss, softmax
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
