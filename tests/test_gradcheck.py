"""Tests for bpkit.gradcheck: it passes right gradients, catches wrong ones,
reports them readably, and leaves its inputs as it found them."""
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from strategies import arrays, shapes
from hypothesis import strategies as st

import bpkit
from bpkit import tensor as tensor_mod
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.gradcheck import (
    GradcheckError,
    GradcheckReport,
    PrecisionWarning,
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


def test_numerical_grad_on_lists_and_float32():
    np.testing.assert_allclose(numerical_grad(lambda a: np.sum(a * a), [1.0, 2.0]), [2.0, 4.0], rtol=1e-6)
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    with pytest.warns(PrecisionWarning, match="float32"):
        g = numerical_grad(lambda a: np.sum(a * a), x32)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-6)


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


def test_catches_a_wrong_tensor_backward_rule(monkeypatch):
    def tanh_wrong(x):
        out = np.tanh(x)

        def vjp(g):
            return (g * (1 - out),)  # forgot the square: should be 1 - out**2

        return out, vjp

    monkeypatch.setattr(tensor_mod, "tanh", tanh_wrong)
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


def test_catches_a_wrong_value_backward_rule(monkeypatch):
    def tanh_wrong(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1.0 - t,), "tanh")  # should be 1 - t*t

    monkeypatch.setattr(Value, "tanh", tanh_wrong)
    report = gradcheck(lambda a: a.tanh() * 3, Value(0.8))
    assert not report
    expected_abs = abs(3 * (1 - math.tanh(0.8)) - 3 * (1 - math.tanh(0.8) ** 2))
    assert report.rows[0].max_abs_err == pytest.approx(expected_abs, rel=1e-5)


def test_catches_a_gradient_path_cut_by_reading_data():
    """Using v.data inside fn makes v a constant to backward(): gradcheck sees it."""
    a, b = Value(0.5), Value(2.0)
    report = gradcheck(lambda a, b: a * b.data, a, b)
    assert [r.ok for r in report.rows] == [True, False]
    assert report.rows[1].analytic == 0.0 and report.rows[1].numeric == pytest.approx(0.5)


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
    rows = [bpkit.gradcheck.GradcheckRow(0, "x", (3,), 1.234e-9, 5.6e-8, (2,), True, np.zeros(3), np.zeros(3)),
            bpkit.gradcheck.GradcheckRow(2, "w", (), 0.5, 0.25, (), False, np.zeros(()), np.zeros(()))]
    report = GradcheckReport(rows, eps=1e-6, atol=1e-5, rtol=1e-3)
    assert not report
    assert str(report) == "\n".join([
        "gradcheck FAILED (1 of 2 inputs off): |analytic - numeric| <= 1e-05 + 0.001 * |numeric| (eps=1e-06)",
        "input  name  shape  max abs err  max rel err  worst index  ok",
        "0      x     (3,)   1.2e-09      5.6e-08      (2,)         yes",
        "2      w     ()     5.0e-01      2.5e-01      ()           NO",
    ])
    assert '<tr style="font-weight:bold"><td>2</td>' in report._repr_html_()


def test_non_scalar_output_uses_a_fixed_projection():
    x = Tensor(np.array([[0.5, -0.3], [1.2, 0.1]]), requires_grad=True)
    report = gradcheck(lambda x: x.sigmoid() * 2, x)
    assert report
    assert "fn returned shape (2, 2)" in report.note and "sum(out * w)" in str(report)
    assert "sum(out * w)" in report._repr_html_()


def test_non_scalar_output_catches_a_wrong_rule(monkeypatch):
    def relu_wrong(x):
        out = np.maximum(x, 0)
        return out, lambda g: (g,)  # passes gradient through even where x < 0

    monkeypatch.setattr(tensor_mod, "relu", relu_wrong)
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


def test_float32_inputs_are_checked_as_float64_copies():
    x = Tensor(np.array([0.5, 1.5], dtype=np.float32), requires_grad=True)
    with pytest.warns(PrecisionWarning, match="input 0 is float32"):
        report = gradcheck(lambda x: (x ** 3).sum(), x)
    assert report
    assert x.data.dtype == np.float32 and x.grad is None


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
