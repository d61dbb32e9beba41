"""SymPy helpers for the chain-rule chapter: the three-way check and expression-swell counts.

This module imports SymPy, so ``import bpkit`` never loads it; import it
explicitly: ``from bpkit.symbolic import three_way_check``.

The three-way check computes one gradient three independent ways and compares:

1. **SymPy**: differentiate the expression symbolically, then substitute the point;
2. **finite differences**: central differences of the expression turned into a
   plain float function, ``(f(x + eps) - f(x - eps)) / (2 eps)``;
3. **autograd**: evaluate the same expression with bpkit ``Value`` (or ``Tensor``)
   leaves, call ``backward()`` and read ``.grad``.

When all three agree, a bug would have to be made identically in a computer
algebra system, in plain arithmetic and in the autograd engine: unlikely.
"""
import html
import math

import sympy as sp

__all__ = [
    "three_way_check",
    "ThreeWayReport",
    "evaluate",
    "count_ops",
    "count_ops_with_reuse",
    "swell_counts",
]


# ----------------------------------------------------------------------------- evaluate

def _relu_or_max(args, env_eval):
    vals = [env_eval(a) for a in args]
    numbers = [v for v, a in zip(vals, args) if a.is_number]
    others = [v for v, a in zip(vals, args) if not a.is_number]
    if len(others) == 1 and numbers == [0.0] and hasattr(others[0], "relu"):
        return others[0].relu()
    if all(isinstance(v, float) for v in vals):
        return max(vals)
    raise TypeError("evaluate: Max is only supported as Max(0, x) (ReLU) on autograd values")


# SymPy function class name -> how to apply it to a Value / Tensor (or a float).
_FUNCTIONS = {
    "exp": lambda v: v.exp() if hasattr(v, "exp") else math.exp(v),
    "log": lambda v: v.log() if hasattr(v, "log") else math.log(v),
    "tanh": lambda v: v.tanh() if hasattr(v, "tanh") else math.tanh(v),
}


def evaluate(expr, env, functions=None):
    """Evaluate a SymPy expression with the objects in ``env`` standing for its symbols.

    expr: a SymPy expression built from +, *, ** (any exponent), exp, log, tanh
      and Max(0, x) (as ReLU). env: {Symbol: value}, where a value is a float, a
      bpkit ``Value`` or a ``Tensor``: anything with ``+ * **`` and the methods
      ``exp``, ``log``, ``tanh``, ``relu``. functions: optional extra
      {name: callable} for other SymPy functions (e.g. {"sin": my_sin}).

    The tree is walked once and each distinct sub-expression is computed once
    (a cache keyed by the sub-expression), so shared pieces become shared nodes
    of the autograd graph, the way a hand-written forward pass would reuse them.
    """
    table = dict(_FUNCTIONS, **(functions or {}))
    cache = {}

    def ev(e):
        if e in cache:
            return cache[e]
        if e.is_Symbol:
            if e not in env:
                raise KeyError(f"evaluate: no value given for the symbol {e}")
            out = env[e]
        elif e.is_number:
            out = float(e)
        elif e.is_Add:
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = out + ev(a)
        elif e.is_Mul:
            out = ev(e.args[0])
            for a in e.args[1:]:
                out = out * ev(a)
        elif e.is_Pow:
            base, exponent = e.args
            if exponent.is_number:
                out = ev(base) ** float(exponent)
            else:  # b**y = exp(y log b)
                out = table["exp"](ev(exponent) * table["log"](ev(base)))
        elif isinstance(e, sp.Max):
            out = _relu_or_max(e.args, ev)
        elif isinstance(e, sp.Function) and type(e).__name__ in table:
            (arg,) = e.args
            out = table[type(e).__name__](ev(arg))
        else:
            raise TypeError(f"evaluate: don't know how to evaluate {type(e).__name__} ({e}); "
                            "pass functions={name: callable}")
        cache[e] = out
        return out

    return ev(sp.sympify(expr))


# ----------------------------------------------------------------------------- the check

def _close(a, b, rtol, atol):
    return abs(a - b) <= atol + rtol * max(abs(a), abs(b))


class ThreeWayReport:
    """Result of :func:`three_way_check`: one row per symbol; truthy iff all three agree.

    rows: list of dicts with keys symbol, sympy, numeric, autograd (the engine's
    gradient, or grad_fn's when one was given), discrepancy
    (the largest pairwise absolute difference) and ok. value: f at the point.
    Shows as a text table (print / repr) and as an HTML table in Jupyter.
    """

    def __init__(self, expr, point, value, rows, rtol, atol, third="autograd"):
        self.expr, self.point, self.value, self.rows = expr, point, value, rows
        self.third = third  # the third column's name: "autograd", or "grad_fn" for a given gradient
        self.rtol, self.atol = rtol, atol
        self.ok = all(r["ok"] for r in rows)

    def __bool__(self):
        return self.ok

    def max_discrepancy(self):
        """Largest absolute disagreement between any two methods, over all symbols."""
        return max((r["discrepancy"] for r in self.rows), default=0.0)

    def _verdict(self):
        return ("all three agree" if self.ok else "MISMATCH") + \
            f" (rtol={self.rtol:g}, atol={self.atol:g}; largest discrepancy {self.max_discrepancy():.1e})"

    def __str__(self):
        head = f"{'symbol':>8}  {'SymPy':>14}  {'finite diff.':>14}  {self.third:>14}  {'discrepancy':>11}"
        lines = [f"f = {self.expr} at {self._point_text()}: f = {self.value:.6g}", head]
        for r in self.rows:
            mark = "" if r["ok"] else "  <-- disagree"
            lines.append(f"{r['symbol']:>8}  {r['sympy']:>14.8f}  {r['numeric']:>14.8f}  "
                         f"{r['autograd']:>14.8f}  {r['discrepancy']:>11.1e}{mark}")
        lines.append(self._verdict())
        return "\n".join(lines)

    __repr__ = __str__

    def _point_text(self):
        return ", ".join(f"{k}={v:g}" for k, v in self.point.items())

    def _repr_html_(self):
        bad = ' style="color:#D55E00;font-weight:bold"'
        cells = "".join(
            f"<tr{'' if r['ok'] else bad}>"
            f"<td>{html.escape(r['symbol'])}</td><td>{r['sympy']:.8f}</td><td>{r['numeric']:.8f}</td>"
            f"<td>{r['autograd']:.8f}</td><td>{r['discrepancy']:.1e}</td></tr>"
            for r in self.rows)
        return (f"<p>f = <code>{html.escape(str(self.expr))}</code> at {html.escape(self._point_text())}: "
                f"f = {self.value:.6g}</p>"
                f"<table><tr><th>symbol</th><th>SymPy</th><th>finite diff.</th><th>{html.escape(self.third)}</th>"
                f"<th>discrepancy</th></tr>{cells}</table><p><b>{html.escape(self._verdict())}</b></p>")


def _autograd_grads(expr, symbols, point, bpkit_fn, engine):
    if engine == "value":
        from bpkit.scalar import Value as leaf_type

        def unwrap(g):
            return float(g)
    elif engine == "tensor":
        from bpkit.tensor import Tensor

        def leaf_type(v):
            return Tensor(float(v), requires_grad=True)

        def unwrap(g):  # a 0-d array (or a 0-d Tensor) holding one number
            return float(g.data) if isinstance(g, Tensor) else float(g)
    else:
        raise ValueError(f"three_way_check: engine must be 'value' or 'tensor', got {engine!r}")
    leaves = [leaf_type(point[s]) for s in symbols]
    if bpkit_fn is not None:
        out = bpkit_fn(*leaves)
    else:  # symbols not differentiated by (data, constants) enter as plain floats
        out = evaluate(expr, {**point, **dict(zip(symbols, leaves))})
    out.backward()
    return [unwrap(leaf.grad) if leaf.grad is not None else 0.0 for leaf in leaves]


def three_way_check(expr, symbols, point, bpkit_fn=None, grad_fn=None, engine="value",
                    eps=1e-6, rtol=1e-6, atol=1e-8):
    """Compare SymPy, central differences and autograd on the gradient of ``expr``.

    expr: a SymPy expression (scalar). symbols: the symbols to differentiate by
    (a sequence, in order). point: {symbol: float}, or floats in the order of
    ``symbols``; every free symbol of expr needs a value.
    bpkit_fn: optional; called with one autograd leaf per symbol (``Value`` or,
      with engine="tensor", a 0-d ``Tensor``), returns the output node. By default
      the expression itself is evaluated on the leaves (see :func:`evaluate`).
    grad_fn: optional; a function of the point's floats returning the gradient
      directly (a list, one per symbol): use it to check a hand-derived or
      hand-coded backward pass instead of the engine.
    eps: central-difference step. Two numbers agree when
      |a - b| <= atol + rtol * max(|a|, |b|).
    Returns a :class:`ThreeWayReport` (truthy iff every pair agrees on every symbol).
    """
    symbols = list(symbols)
    if not isinstance(point, dict):
        point = dict(zip(symbols, point))
    point = {sp.sympify(k): float(v) for k, v in point.items()}
    missing = expr.free_symbols - set(point)
    if missing:
        raise ValueError(f"three_way_check: no value for {sorted(map(str, missing))}")
    values = [point[s] for s in symbols]

    # 1. SymPy: differentiate, then substitute.
    exact = [float(sp.diff(expr, s).subs(point).evalf()) for s in symbols]

    # 2. central differences of the expression as a plain float function.
    f = sp.lambdify(list(point), expr, "math")

    def f_moved(symbol, x):
        """f at the point, with ``symbol`` moved to ``x``."""
        return float(f(*[x if k == symbol else v for k, v in point.items()]))

    numeric = [(f_moved(s, point[s] + eps) - f_moved(s, point[s] - eps)) / (2 * eps) for s in symbols]

    # 3. autograd (or the learner's gradient function).
    if grad_fn is not None:
        auto = [float(g) for g in grad_fn(*values)]
        if len(auto) != len(symbols):
            raise ValueError(f"three_way_check: grad_fn returned {len(auto)} numbers for {len(symbols)} symbols")
    else:
        auto = _autograd_grads(expr, symbols, point, bpkit_fn, engine)

    rows = []
    for s, a, n, g in zip(symbols, exact, numeric, auto):
        disc = max(abs(a - n), abs(a - g), abs(n - g))
        ok = _close(a, n, rtol, atol) and _close(a, g, rtol, atol) and _close(n, g, rtol, atol)
        rows.append({"symbol": str(s), "sympy": a, "numeric": n, "autograd": g,
                     "discrepancy": disc, "ok": ok})
    value = float(expr.subs(point).evalf())
    return ThreeWayReport(expr, {str(k): v for k, v in point.items()}, value, rows, rtol, atol,
                          third="grad_fn" if grad_fn is not None else "autograd")


# ----------------------------------------------------------------------------- expression swell

def count_ops(exprs):
    """Number of arithmetic operations in an expression, or summed over a list of them.

    A thin wrapper over ``sympy.count_ops`` (each +, *, /, **, exp, ... counts one)
    that also accepts a list, so a whole gradient can be measured at once.
    """
    if isinstance(exprs, (list, tuple)):
        return int(sum(sp.count_ops(e) for e in exprs))
    return int(sp.count_ops(exprs))


def count_ops_with_reuse(exprs):
    """Operations needed when every repeated sub-expression is computed once and reused.

    Runs SymPy's common-subexpression elimination (``sympy.cse``) and counts the
    operations of the intermediate assignments plus those of the final
    expressions. This is the dynamic-programming saving that backpropagation
    makes by storing the forward pass's values and the running upstream gradient.
    """
    if not isinstance(exprs, (list, tuple)):
        exprs = [exprs]
    replacements, reduced = sp.cse(list(exprs))
    return count_ops([r for _, r in replacements]) + count_ops(list(reduced))


def swell_counts(loss, wrt):
    """(ops written out, ops with reuse) for the whole gradient of ``loss`` w.r.t. ``wrt``.

    loss: a SymPy expression, fully substituted (no intermediate symbols).
    wrt: the symbols (e.g. all weights). The first number is what you get by
    differentiating the substituted loss and writing each partial derivative out
    on its own; the second is the same gradient with shared sub-expressions
    computed once (:func:`count_ops_with_reuse`).
    """
    grads = [sp.diff(loss, w) for w in wrt]
    return count_ops(grads), count_ops_with_reuse(grads)
