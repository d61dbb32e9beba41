"""Tests for bpkit.symbolic: the three-way check and the expression-swell counters."""
import math
import subprocess
import sys

import pytest
import sympy as sp

from bpkit.symbolic import (
    count_ops, count_ops_with_reuse, evaluate, swell_counts, three_way_check,
)

x, y, w1, w2, b1, b2 = sp.symbols("x y w1 w2 b1 b2")


def _sigmoid(z):
    return 1 / (1 + sp.exp(-z))


# name -> (expression, symbols to differentiate by, point)
CASES = {
    "sigmoid composition": (_sigmoid(_sigmoid(2 * x - 1) * y), [x, y], {x: 0.3, y: -1.2}),
    "product and quotient": (x * y / (1 + x ** 2) + sp.log(1 + y ** 2) * x, [x, y], {x: 0.7, y: 1.9}),
    "tanh, exp and a square root": (sp.tanh(x * y) + sp.exp(-x) * sp.sqrt(y), [x, y], {x: -0.4, y: 2.5}),
    "power with a symbolic exponent": (x ** y, [x, y], {x: 1.7, y: 0.6}),
    "two-layer net, squared error": (
        (w2 * sp.tanh(w1 * x + b1) + b2 - y) ** 2 / 2, [w1, b1, w2, b2],
        {x: 0.5, y: 1.0, w1: 0.8, b1: -0.3, w2: -1.1, b2: 0.2}),
    "relu as Max(0, .)": (sp.Max(0, w1 * x + b1) * w2, [w1, b1, w2], {x: 1.5, w1: 0.4, b1: 0.1, w2: 2.0}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_three_methods_agree(name):
    expr, syms, point = CASES[name]
    report = three_way_check(expr, syms, point)
    assert report, str(report)
    assert report.max_discrepancy() < 1e-7
    assert len(report.rows) == len(syms)
    assert [r["symbol"] for r in report.rows] == [str(s) for s in syms]


@pytest.mark.parametrize("name", ["sigmoid composition", "two-layer net, squared error", "relu as Max(0, .)"])
def test_three_methods_agree_with_tensor_engine(name):
    expr, syms, point = CASES[name]
    report = three_way_check(expr, syms, point, engine="tensor")
    assert report, str(report)


def test_unknown_engine():
    with pytest.raises(ValueError, match="engine"):
        three_way_check(x * y, [x], {x: 1.0, y: 2.0}, engine="jax")


def test_point_as_sequence_and_value():
    expr = x ** 2 * y
    report = three_way_check(expr, [x, y], [3.0, 2.0])
    assert report
    assert report.value == pytest.approx(18.0)
    assert report.rows[0]["sympy"] == pytest.approx(12.0)
    assert report.rows[1]["sympy"] == pytest.approx(9.0)


def test_wrong_grad_fn_is_caught():
    expr = _sigmoid(w1 * x)
    # forgot the inner derivatives: s(1 - s) instead of s(1 - s) x and s(1 - s) w1
    def wrong(w1v, xv):
        s = 1 / (1 + math.exp(-w1v * xv))
        return [s * (1 - s), s * (1 - s)]

    report = three_way_check(expr, [w1, x], {w1: 0.5, x: 2.0}, grad_fn=wrong)
    assert not report
    assert [r["ok"] for r in report.rows] == [False, False]
    assert "MISMATCH" in str(report) and "disagree" in str(report) and "grad_fn" in str(report)
    assert "MISMATCH" in report._repr_html_()


def test_wrong_bpkit_fn_is_caught():
    # the autograd side computes a different function (a sign slip): caught
    expr = x * sp.exp(-y)
    report = three_way_check(expr, [x, y], {x: 1.0, y: 0.5}, bpkit_fn=lambda a, b: a * b.exp())
    assert not report
    right = three_way_check(expr, [x, y], {x: 1.0, y: 0.5}, bpkit_fn=lambda a, b: a * (-b).exp())
    assert right


def test_a_correct_grad_fn_passes():
    expr = x * y
    assert three_way_check(expr, [x, y], {x: 2.0, y: 3.0}, grad_fn=lambda a, b: [b, a])


def test_missing_value_raises():
    with pytest.raises(ValueError, match="no value"):
        three_way_check(x * y, [x], {x: 1.0})


def test_report_text_and_html():
    report = three_way_check(x ** 3, [x], {x: 2.0})
    text = str(report)
    assert "SymPy" in text and "finite diff." in text and "autograd" in text
    assert "all three agree" in text
    assert "12.00000000" in text
    html = report._repr_html_()
    assert html.startswith("<p>") and "<table>" in html and "all three agree" in html
    assert "<th>autograd</th>" in html and "{" not in html


def test_evaluate_floats_and_shared_nodes():
    from bpkit.scalar import Value
    expr = sp.exp(x) * sp.exp(x) + x
    assert evaluate(expr, {x: 0.5}) == pytest.approx(math.exp(1.0) + 0.5)
    v = Value(0.5)
    out = evaluate(sp.tanh(x) + sp.tanh(x) ** 2, {x: v})
    out.backward()
    t = math.tanh(0.5)
    assert v.grad == pytest.approx((1 + 2 * t) * (1 - t * t))


def test_evaluate_unknown_function():
    with pytest.raises(TypeError, match="sin"):
        evaluate(sp.sin(x), {x: 1.0})
    assert evaluate(sp.sin(x), {x: 1.0}, functions={"sin": math.sin}) == pytest.approx(math.sin(1.0))


def test_count_ops():
    assert count_ops(x * y + 1) == 2
    assert count_ops([x * y, x + y]) == 2
    # the same sub-expression twice costs once with reuse
    e = sp.exp(x * y)
    assert count_ops_with_reuse([e + 1, e * 2]) < count_ops([e + 1, e * 2])


def test_swell_grows_faster_without_reuse():
    def chain(depth):
        ws = sp.symbols(f"w1:{depth + 1}")
        a = x
        for w in ws:
            a = sp.tanh(w * a)
        return (a - y) ** 2, ws

    counts = [swell_counts(*chain(d)) for d in (1, 2, 4)]
    naive, reused = zip(*counts)
    assert all(r <= n for n, r in counts)
    assert naive[2] / naive[0] > reused[2] / reused[0]


def test_import_bpkit_does_not_import_sympy():
    code = "import sys, bpkit; bpkit.Value; assert 'sympy' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
