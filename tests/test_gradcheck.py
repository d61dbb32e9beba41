"""Tests for bpkit.gradcheck: it passes right gradients, catches wrong ones,
reports them readably, and leaves its inputs as it found them.

A check that cannot fail is the worst bug a gradient checker can have, so a
whole section makes sure it can: wrong rules reached through a closure on a
float32 tensor fail, and so does an input the backward pass never reached.
"""
import functools
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, shapes

import bpkit
from bpkit import functional as F
from bpkit import nn
from bpkit import tensor as tensor_mod
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.gradcheck import (
    GradcheckError,
    GradcheckReport,
    gradcheck,
    numerical_grad,
    relative_error,
)
from bpkit.scalar import Value
from bpkit.tensor import Tensor


# ------------------------------------------------------------- numpy helpers

@given(x=shapes(min_dims=1).flatmap(arrays))
def test_numerical_grad_of_known_functions(x):
    np.testing.assert_allclose(numerical_grad(lambda a: np.sum(a ** 2), x), 2 * x, atol=1e-6)
    np.testing.assert_allclose(numerical_grad(lambda a: np.sum(np.sin(a)), x), np.cos(x), atol=1e-6)


def test_numerical_grad_restores_x_and_supports_closures():
    W = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = W.copy()
    grad = numerical_grad(lambda _: float(np.sum(W ** 3)), W)  # f reads W, CS231n style
    np.testing.assert_allclose(grad, 3 * before ** 2, rtol=1e-6)
    assert np.array_equal(W, before)


def test_numerical_grad_with_upstream_gradient():
    x = np.array([0.3, -1.2, 2.0])
    dout = np.array([1.0, 2.0, -1.0])
    np.testing.assert_allclose(numerical_grad(np.tanh, x, df=dout), dout * (1 - np.tanh(x) ** 2),
                               rtol=1e-6)
    with pytest.raises(ShapeError, match="pass df="):
        numerical_grad(np.tanh, x)
    with pytest.raises(ShapeError, match="df has shape"):
        numerical_grad(np.tanh, x, df=np.ones(2))


@given(x=shapes(min_dims=1).flatmap(arrays))
def test_numerical_grad_is_the_same_through_a_closure(x):
    """f reading x through a closure sees every nudge, as f reading its argument does."""
    W = x.copy()
    np.testing.assert_array_equal(numerical_grad(lambda _: np.sum(np.sin(W)), W),
                                  numerical_grad(lambda a: np.sum(np.sin(a)), x))


def test_numerical_grad_on_numbers_and_lists():
    np.testing.assert_allclose(numerical_grad(lambda a: np.sum(a * a), [1.0, 2.0]), [2.0, 4.0], rtol=1e-6)
    assert numerical_grad(lambda a: a ** 3, 2.0) == pytest.approx(12.0, rel=1e-6)
    assert numerical_grad(lambda a: a ** 3, np.float32(2.0)).dtype == np.float64  # a number, too


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64])
def test_numerical_grad_refuses_an_array_it_cannot_nudge_in_float64(dtype):
    """A float64 copy would be an array f never reads through a closure: the gradient
    would be silently zero (the CS231n ``lambda _: loss(W)`` style), so refuse loudly."""
    W = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=dtype)
    with pytest.raises(BpkitTypeError) as info:
        numerical_grad(lambda _: float(np.sum(W.astype(np.float64) ** 3)), W)
    message = str(info.value)
    assert message.startswith(f"numerical_grad: x is a {np.dtype(dtype)} array")
    assert "x = x.astype(np.float64)" in message and "make f use that array" in message
    assert "\n" not in message
    assert W.dtype == dtype


def test_numerical_grad_refuses_tensors_values_and_read_only_arrays():
    with pytest.raises(BpkitTypeError, match=r"numerical_grad: x is a Tensor.*gradcheck\(fn, x\)"):
        numerical_grad(lambda t: t.sum().item(), Tensor(np.ones(2), requires_grad=True))
    with pytest.raises(BpkitTypeError, match="numerical_grad: x is a Value"):
        numerical_grad(lambda v: v.data, Value(1.0))
    frozen = np.ones(3)
    frozen.flags.writeable = False
    with pytest.raises(BpkitValueError, match="numerical_grad: x is read-only"):
        numerical_grad(np.sum, frozen)


def test_relative_error():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error(1.0, 1.0 + 1e-9) == pytest.approx(5e-10, rel=1e-3)
    assert relative_error([0.0], [1e-12]) < 1e-3  # both ~0: the floor keeps this small
    assert relative_error([1.0], [-1.0]) == 1.0
    with pytest.raises(ShapeError):
        relative_error(np.ones(2), np.ones(3))


# ---------------------------------------------------------------- gradcheck

def test_passes_on_correct_tensor_function():
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(4, 3)), requires_grad=True)
    W = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = Tensor(rng.normal(size=2), requires_grad=True)
    report = gradcheck(lambda x, W, b: ((x @ W + b).tanh() ** 2).sum(), x, W, b)
    assert report and report.ok
    assert [r.name for r in report.rows] == ["x", "W", "b"]
    assert [r.shape for r in report.rows] == [(4, 3), (3, 2), (2,)]
    assert all(r.max_abs_err < 1e-7 for r in report.rows)
    assert report.notes == []  # float64 inputs, one-number output: nothing to add


def test_passes_on_correct_value_function():
    a, b = Value(0.4), Value(-1.3)
    report = gradcheck(lambda a, b: (a * b + a.exp()).tanh() / (1 + b ** 2), a, b)
    assert report
    assert [r.shape for r in report.rows] == [(), ()]


def test_only_tensors_that_require_grad_are_checked():
    x = Tensor(np.ones(3), requires_grad=True)
    c = Tensor(np.arange(3.0))
    report = gradcheck(lambda x, c, k: (x * c * k).sum(), x, c, 2.0)
    assert [r.index for r in report.rows] == [0]


def patch_primitive(monkeypatch, name, wrong):
    """Make the array engine use ``wrong`` as its primitive ``name`` for one test.

    The engine looks each primitive up in the module that defines it
    (bpkit.primitives, or bpkit.tensor before that module existed), so that
    is where it is replaced, and in PRIMITIVES; ``wrong`` takes over the real
    one's attributes, such as ``reads`` (the arrays its vjp reads), so only
    the rule is wrong.
    """
    real = tensor_mod.PRIMITIVES[name]
    home = sys.modules[real.__module__]
    fake = functools.update_wrapper(lambda *args, **kwargs: wrong(*args, **kwargs), real)
    monkeypatch.setattr(home, real.__name__, fake)
    monkeypatch.setitem(tensor_mod.PRIMITIVES, name, fake)


def tanh_wrong(x):
    """The tanh primitive with a learner's typical mistake in its VJP."""
    out = np.tanh(x)

    def vjp(g):
        return (g * (1 - out),)  # forgot the square: should be 1 - out**2

    return out, vjp


def test_catches_a_wrong_tensor_backward_rule(monkeypatch):
    patch_primitive(monkeypatch, "tanh", tanh_wrong)
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    report = gradcheck(lambda x: x.tanh().sum(), x)
    assert not report
    assert not report.rows[0].ok
    assert report.rows[0].max_abs_err > 0.1
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x: x.tanh().sum(), x, raise_on_failure=True)
    assert isinstance(info.value, AssertionError)
    assert str(info.value) == str(report)
    assert "FAILED" in str(info.value) and "NO" in str(info.value)


def value_tanh_wrong(self):
    """Value.tanh with the same mistake in its local derivative."""
    t = math.tanh(self.data)
    return Value(t, (self,), (1.0 - t,), "tanh")  # should be 1 - t*t


def test_catches_a_wrong_value_backward_rule(monkeypatch):
    monkeypatch.setattr(Value, "tanh", value_tanh_wrong)
    report = gradcheck(lambda a: a.tanh() * 3, Value(0.8))
    assert not report
    expected_abs = abs(3 * (1 - math.tanh(0.8)) - 3 * (1 - math.tanh(0.8) ** 2))
    assert report.rows[0].max_abs_err == pytest.approx(expected_abs, rel=1e-5)


def test_catches_a_gradient_path_cut_by_reading_data():
    """Using v.data inside fn makes v a constant to backward(): gradcheck sees it."""
    a, b = Value(0.5), Value(2.0)
    report = gradcheck(lambda a, b: a * b.data, a, b)
    assert [r.ok for r in report.rows] == [True, False]
    assert [r.reached for r in report.rows] == [True, False]
    assert report.rows[1].analytic == 0.0 and report.rows[1].numeric == pytest.approx(0.5)
    assert report.notes == [
        "input 1 (b) received no gradient: fn never used it, or used a copy of it (v.data), so "
        "nothing was checked; to leave it out of the check, pass a float instead of a Value"]


def test_report_text_and_html_show_the_numbers():
    x = Tensor(np.array([[0.1, 0.2], [0.3, 0.4]]), requires_grad=True)
    report = gradcheck(lambda x: (x * x).sum(), x)
    row = report.rows[0]
    text = str(report)
    assert repr(report) == text
    lines = text.splitlines()
    assert lines[0].startswith("gradcheck passed")
    assert lines[1].split() == ["input", "name", "shape", "max", "abs", "err", "max", "rel", "err",
                                "worst", "index", "ok"]
    assert f"{row.max_abs_err:.1e}" in lines[2] and f"{row.max_rel_err:.1e}" in lines[2]
    assert "(2, 2)" in lines[2] and lines[2].rstrip().endswith("yes")
    html = report._repr_html_()
    assert "<table>" in html and "<th>max abs err</th>" in html
    assert f"<td>{row.max_abs_err:.1e}</td>" in html and "<td>(2, 2)</td>" in html


def test_report_formatting_is_deterministic():
    Row = bpkit.gradcheck.GradcheckRow
    rows = [Row(0, "x", (3,), 1.234e-9, 5.6e-8, (2,), True, np.zeros(3), np.zeros(3)),
            Row(2, "w", (), 0.5, 0.25, (), False, np.zeros(()), np.zeros(())),
            Row(3, "u", (2,), 0.0, 0.0, (0,), False, np.zeros(2), np.zeros(2), reached=False)]
    report = GradcheckReport(rows, eps=1e-6, atol=1e-5, rtol=1e-3, notes=["first", "second"])
    assert not report
    assert str(report) == "\n".join([
        "gradcheck FAILED (2 of 3 inputs off): |analytic - numeric| <= 1e-05 + 0.001 * |numeric| (eps=1e-06)",
        "input  name  shape  max abs err  max rel err  worst index  ok",
        "0      x     (3,)   1.2e-09      5.6e-08      (2,)         yes",
        "2      w     ()     5.0e-01      2.5e-01      ()           NO",
        "3      u     (2,)   0.0e+00      0.0e+00      (0,)         NO (no grad)",
        "note: first",
        "note: second",
    ])
    html = report._repr_html_()
    assert '<tr style="font-weight:bold"><td>2</td>' in html and "<td>NO (no grad)</td>" in html
    assert html.endswith("</table><p>note: first</p><p>note: second</p></div>")
    assert GradcheckReport(rows[:1], 1e-6, 1e-5, 1e-3, notes="one line").notes == ["one line"]


def test_non_scalar_output_uses_a_fixed_projection():
    x = Tensor(np.array([[0.5, -0.3], [1.2, 0.1]]), requires_grad=True)
    report = gradcheck(lambda x: x.sigmoid() * 2, x)
    assert report
    assert report.notes == ["fn returned shape (2, 2), not one number; checked sum(out * w) "
                            "for a fixed random w (seed 0)"]
    assert "sum(out * w)" in str(report)
    assert "sum(out * w)" in report._repr_html_()


def test_non_scalar_output_catches_a_wrong_rule(monkeypatch):
    def relu_wrong(x):
        out = np.maximum(x, 0)
        return out, lambda g: (g,)  # passes gradient through even where x < 0

    patch_primitive(monkeypatch, "relu", relu_wrong)
    x = Tensor(np.array([0.5, -0.7, 1.5, -2.0]), requires_grad=True)
    report = gradcheck(lambda x: x.relu(), x)
    assert not report
    assert report.rows[0].worst_index in ((1,), (3,))


def test_inputs_and_their_grads_are_left_as_they_were():
    data = np.array([0.2, -0.4, 0.9])
    x = Tensor(data.copy(), requires_grad=True)
    x.grad = np.array([7.0, 7.0, 7.0])
    v = Value(0.3)
    v.grad = 5.0
    fresh = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    report = gradcheck(lambda x, f: x.exp().sum() + (f * f).sum(), x, fresh)
    assert report
    assert gradcheck(lambda v: v.tanh(), v)
    assert np.array_equal(x.data, data) and v.data == 0.3
    assert np.array_equal(x.grad, [7.0, 7.0, 7.0]) and v.grad == 5.0
    assert fresh.grad is None


def test_grads_of_other_leaves_are_left_as_they_were():
    """A model's parameters, read by fn through a closure, keep their .grad."""
    W = Tensor(np.array([[0.5, -1.0], [2.0, 0.1]]), requires_grad=True)
    W.grad = np.ones((2, 2))
    w = Value(1.5)
    x = Tensor(np.array([0.3, 0.7]), requires_grad=True)
    assert gradcheck(lambda x: (W @ x).tanh().sum(), x)
    assert np.array_equal(W.grad, np.ones((2, 2)))
    v = Value(0.2)
    assert gradcheck(lambda v: (w * v).tanh(), v)
    assert w.grad == 0.0 and v.grad == 0.0


# ------------------------------------------------------ a check that can fail

FLOAT64_NOTE = ("checked in float64, since central differences need it: input 0 (w) is float32; each "
                "was upcast in place for the check (the very tensor fn reads), then its original array "
                "put back")


def unreached_note(label, kind="Tensor"):
    """The note gradcheck adds for an input that backward() never reached."""
    copy, leave_out = (("x.data or Tensor(x.data)", "pass it with requires_grad=False") if kind == "Tensor"
                       else ("v.data", "pass a float instead of a Value"))
    return (f"{label} received no gradient: fn never used it, or used a copy of it ({copy}), "
            f"so nothing was checked; to leave it out of the check, {leave_out}")


class Affine:
    """A Linear-like layer, y = x @ W.T + b, that reads its weight and bias as attributes,
    so checking its weight goes through a closure. With ``flip=True`` its backward rule is
    wrong: the value is right, but W receives -dW (the sign slip of a hand-written VJP).
    Built from public ops only, so it does not depend on how the engine wires its primitives."""

    def __init__(self, weight, bias, flip=False):
        self.weight, self.bias, self.flip = weight, bias, flip

    def __call__(self, x):
        y = x @ self.weight.T
        if self.flip:  # the value of y, the gradient of -y
            y = -y + Tensor(2 * y.data)
        return y + self.bias


@given(sizes=st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4)), data=st.data())
def test_a_float32_weight_read_through_a_closure_is_the_one_checked(sizes, data):
    """The issue's bug: gradcheck checked a float64 copy that fn never read, so a wrong rule
    passed. Now the wrong rule fails, the right one passes, and the float32 weight keeps its
    very array (dtype, values) and its .grad."""
    n, d_in, d_out = sizes
    W = Tensor(data.draw(arrays((d_out, d_in), -1.0, 1.0), "W").astype(np.float32), requires_grad=True)
    b = Tensor(data.draw(arrays((d_out,), -1.0, 1.0), "b").astype(np.float32), requires_grad=True)
    x = Tensor(data.draw(arrays((n, d_in), 0.1, 2.0), "x").astype(np.float32))  # > 0, so dW != 0
    y = Tensor(x.data @ W.data.T + b.data + 1.0)  # every residual is about -1
    W.grad = dW_before = np.full(W.shape, 7.0, dtype=np.float32)
    data_before, values_before = W.data, W.data.copy()

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the report says it all; no warning
        right = gradcheck(lambda w: F.mse_loss(Affine(W, b)(x), y), W)
        wrong = gradcheck(lambda w: F.mse_loss(Affine(W, b, flip=True)(x), y), W)

    assert right, str(right)
    assert right.rows[0].max_abs_err < 1e-6
    assert not wrong and wrong.rows[0].reached
    assert wrong.rows[0].max_abs_err > 1e-2
    assert right.notes == wrong.notes == [FLOAT64_NOTE]
    assert W.data is data_before and W.data.dtype == np.float32
    assert np.array_equal(W.data, values_before)
    assert W.grad is dW_before and W.grad.dtype == np.float32 and np.all(W.grad == 7.0)
    assert b.grad is None and b.data.dtype == np.float32


def test_the_issue_example_a_linear_layer_weight(monkeypatch):
    """``gradcheck(lambda w: F.mse_loss(layer(x), y), layer.weight)`` on a float32 nn.Linear."""
    layer = nn.Linear(3, 2, rng=0)
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(5, 3)).astype(np.float32))
    y = rng.normal(size=(5, 2)).astype(np.float32)
    weight = layer.weight.data
    assert weight.dtype == np.float32

    report = gradcheck(lambda w: F.mse_loss(layer(x), y), layer.weight)
    assert report and report.notes == [FLOAT64_NOTE]
    patch_primitive(monkeypatch, "tanh", tanh_wrong)
    report = gradcheck(lambda w: F.mse_loss(layer(x).tanh(), y), layer.weight)
    assert not report and report.rows[0].reached and report.rows[0].max_abs_err > 1e-3
    assert layer.weight.data is weight and weight.dtype == np.float32
    assert layer.weight.grad is None and layer.bias.grad is None


@pytest.mark.parametrize("kind", ["Tensor", "Value"])
@given(x=shapes(max_dims=2).flatmap(lambda s: arrays(s, -1.5, 1.5)))
def test_an_input_fn_never_uses_fails_with_a_note(kind, x):
    """Both gradients are zero, so the numbers agree; the row fails anyway, and says why."""
    if kind == "Tensor":
        used, unused = Tensor(x, requires_grad=True), Tensor(x.copy(), requires_grad=True)
    else:
        used, unused = Value(float(x.flat[0])), Value(1.0)
    report = gradcheck(lambda a, u: (a * a).sum() if kind == "Tensor" else a * a, used, unused)
    assert [r.ok for r in report.rows] == [True, False]
    assert [r.reached for r in report.rows] == [True, False]
    assert report.rows[1].max_abs_err == 0.0
    assert report.notes == [unreached_note("input 1 (u)", kind)]
    assert str(report).splitlines()[3].endswith("NO (no grad)")
    with pytest.raises(GradcheckError, match=r"input 1 \(u\) received no gradient"):
        gradcheck(lambda a, u: (a * a).sum() if kind == "Tensor" else a * a, used, unused,
                  raise_on_failure=True)


@pytest.mark.parametrize("copy", [
    lambda w: Tensor(w.data),
    lambda w: Tensor(w.data.astype(np.float32)),
    lambda w: w.detach(),
])
def test_an_input_fn_reads_only_as_a_copy_fails_with_a_note(copy):
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    report = gradcheck(lambda w: (copy(w) ** 2).sum(), w)
    assert not report and not report.rows[0].reached
    assert report.notes == [unreached_note("input 0 (w)")]


def test_a_copy_made_before_the_call_fails_although_the_numbers_agree():
    """The old bug's shape: fn reads a float64 copy through a closure and never sees w."""
    w = Tensor(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    copy = Tensor(w.data.astype(np.float64), requires_grad=True)
    report = gradcheck(lambda w: (copy ** 3).sum(), w)
    assert not report
    assert report.rows[0].max_abs_err == 0.0 and not report.rows[0].reached
    assert report.notes[0] == unreached_note("input 0 (w)")
    assert copy.grad is None and w.grad is None


def test_an_output_that_needs_no_gradient_fails_every_row():
    t = Tensor(np.ones(2), requires_grad=True)
    report = gradcheck(lambda t: Tensor(np.ones(3)) * 2, t)
    assert not report and not report.rows[0].reached
    assert not gradcheck(lambda v: Value(3.0), Value(1.0))


def test_a_value_read_through_a_closure_is_the_one_checked(monkeypatch):
    w = Value(0.7)
    x = Value(0.3)

    def model():  # reads w and x through a closure, like a neuron's weight
        return (w * x).tanh()

    assert gradcheck(lambda w: model(), w)
    monkeypatch.setattr(Value, "tanh", value_tanh_wrong)
    report = gradcheck(lambda w: model(), w)
    assert not report and report.rows[0].reached
    assert w.data == 0.7 and w.grad == 0.0 and x.grad == 0.0


def test_inputs_made_by_an_operation_are_checked_up_to_themselves():
    """backward stops at the inputs (even if the graph before them was already freed),
    and the inputs keep their place in that graph."""
    w = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    z = w * 2
    z.sum().backward()  # frees the graph behind z
    assert gradcheck(lambda z: z.tanh().sum(), z)
    assert not z.is_leaf and z.grad is None and np.array_equal(w.grad, [2.0, 2.0])

    a = Value(0.4)
    b = a * 3
    assert gradcheck(lambda b: (b * b).exp(), b)
    assert b._prev[0] is a and a.grad == 0.0


def test_everything_is_put_back_when_fn_raises():
    W = Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    before = W.data
    seen = []

    def fn(w):
        seen.append(W.data.dtype)  # what a closure sees
        if len(seen) == 3:  # during the second nudge
            raise RuntimeError("boom")
        return (W * W).sum()

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(fn, W)
    assert seen == [np.float64] * 3
    assert W.data is before and np.array_equal(before, np.array([1.0, 2.0], dtype=np.float32))
    assert W.grad is None


def test_bad_calls():
    with pytest.raises(BpkitValueError, match="no input to check"):
        gradcheck(lambda x: x.sum(), Tensor(np.ones(2)))
    with pytest.raises(BpkitTypeError, match="must return a Tensor or a Value, not float"):
        gradcheck(lambda v: 1.0, Value(1.0))


@pytest.mark.parametrize("first", [
    "import bpkit; bpkit.gradcheck",
    "from bpkit import gradcheck",
    "import bpkit.gradcheck",
    "from bpkit.gradcheck import numerical_grad",
])
def test_bpkit_gradcheck_is_the_callable_module_whatever_is_imported_first(first):
    """bpkit.gradcheck(fn, x) and bpkit.gradcheck.numerical_grad both work, in any import order."""
    code = (f"{first}\n"
            "import sys, bpkit\n"
            "from bpkit import gradcheck\n"
            "import bpkit.gradcheck as module\n"
            "assert gradcheck is module is bpkit.gradcheck is sys.modules['bpkit.gradcheck']\n"
            "assert bpkit.gradcheck(lambda v: v * v, bpkit.Value(2.0))\n"
            "assert abs(bpkit.gradcheck.numerical_grad(lambda x: x ** 2, 3.0) - 6.0) < 1e-6\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@given(x=shapes(min_dims=1, max_dims=2).flatmap(lambda s: arrays(s, -1.5, 1.5)),
       op=st.sampled_from(["tanh", "sigmoid", "exp"]))
def test_passes_on_tensor_ops(x, op):
    t = Tensor(x, requires_grad=True)
    assert gradcheck(lambda t: getattr(t, op)() * t, t, raise_on_failure=True)
