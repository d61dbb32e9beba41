"""Gradient checking: is a backward rule right? Compare it with central differences.

The building blocks, used by the notebooks and the tests alike:

* ``numerical_grad(f, x, eps)``: d f / d x by central differences, for plain
  numpy code (``f(x) -> float``, x an ndarray), the way CS231n checks layers.
* ``relative_error(a, b)``: max |a - b| / max(|a| + |b|, 1e-8), one number
  that says how far two gradients are apart (about 1e-7 or less in float64
  means they agree).
* ``gradcheck(fn, *inputs)``: runs ``fn`` on Tensors or Values, takes the
  gradients that backward() gives, compares them with central differences and
  returns a ``GradcheckReport``: truthy when every number matches, shown as a
  small table (plain text and HTML).

Why central differences: (f(x + eps) - f(x - eps)) / (2 eps) is off from the
true derivative by about eps**2 (the one-sided form is off by about eps), so
with eps = 1e-6 in float64 the method error is ~1e-12 and rounding is ~1e-10.
In float32 rounding alone is ~1e-1 at that eps: always check in float64.
"""
import html
import inspect
import sys
import types
import warnings
from typing import NamedTuple

import numpy as np

from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError

__all__ = [
    "gradcheck",
    "numerical_grad",
    "relative_error",
    "GradcheckReport",
    "GradcheckRow",
    "GradcheckError",
    "PrecisionWarning",
]


class GradcheckError(AssertionError):
    """gradcheck(..., raise_on_failure=True) found a mismatch; the message is the report's table.

    An AssertionError because it is one: a check of your backward rule failed
    (pytest shows it as a failed assertion, like ``assert gradcheck(...)``).
    """


class PrecisionWarning(UserWarning):
    """The check is run in float64 because float32 is too coarse for central differences."""


# ---------------------------------------------------------------- numpy only

def numerical_grad(f, x, eps=1e-6, df=None):
    """d f / d x by central differences; an array shaped like x.

    f: a function of x returning a number (or, with ``df``, an array).
    x: an ndarray of floats (or a number/list, copied to float64).
    df: optional upstream gradient, shaped like f(x): then the result is the
        gradient of sum(f(x) * df), i.e. the vector-Jacobian product that a
        backward function ``backward(dout=df)`` should return.

    A float64 ndarray x is perturbed in place, one element at a time, and
    always restored, so f may also read x through a closure (as CS231n's
    ``lambda _: loss(W)`` does). Costs 2 * x.size calls of f.
    """
    if not (isinstance(x, np.ndarray) and x.dtype == np.float64):
        if isinstance(x, np.ndarray) and x.dtype.kind == "f":
            warnings.warn(
                f"numerical_grad: x is {x.dtype}, too coarse for central differences; "
                "checking a float64 copy (f receives the copy)", PrecisionWarning, stacklevel=2)
        x = np.array(x, dtype=np.float64)
    dfa = None if df is None else np.asarray(df, dtype=np.float64)

    def scalar(value):
        value = np.asarray(value, dtype=np.float64)
        if dfa is not None:
            if value.shape != dfa.shape:
                raise ShapeError(f"numerical_grad: f(x) has shape {value.shape} but df has shape {dfa.shape}")
            return float(np.sum(value * dfa))
        if value.size != 1:
            raise ShapeError(
                f"numerical_grad: f(x) has shape {value.shape}, not one number; "
                "pass df= (the upstream gradient, shaped like f(x)) to check sum(f(x) * df)")
        return float(value.reshape(()))

    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + eps
            f_plus = scalar(f(x))
            x[idx] = old - eps
            f_minus = scalar(f(x))
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """max over elements of |a - b| / max(|a| + |b|, 1e-8): 0 when equal, 1 when unrelated.

    Symmetric in a and b, and the 1e-8 floor keeps two tiny gradients (both
    ~0) from looking far apart. In float64 a correct gradient usually gives
    1e-7 or less.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ShapeError(f"relative_error: shapes {a.shape} and {b.shape} differ")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-8)))


# ------------------------------------------------------------------ report

class GradcheckRow(NamedTuple):
    """One checked input: where it is, how far analytic and numeric gradients are apart."""
    index: int  # position in gradcheck's *inputs
    name: str  # the parameter name of fn, if it has one
    shape: tuple
    max_abs_err: float  # max |analytic - numeric|
    max_rel_err: float  # relative_error(analytic, numeric)
    worst_index: tuple  # the element furthest beyond its tolerance
    ok: bool  # |analytic - numeric| <= atol + rtol * |numeric| everywhere
    analytic: np.ndarray  # what backward() gave
    numeric: np.ndarray  # what central differences gave


class GradcheckReport:
    """The result of gradcheck(): truthy iff every input's gradient matches.

    ``rows`` holds one GradcheckRow per checked input (with both gradients,
    for a closer look); ``str(report)`` is a plain-text table and Jupyter
    shows an HTML one.
    """

    _HEADER = ("input", "name", "shape", "max abs err", "max rel err", "worst index", "ok")

    def __init__(self, rows, eps, atol, rtol, note=""):
        self.rows = list(rows)
        self.eps, self.atol, self.rtol = eps, atol, rtol
        self.note = note

    @property
    def ok(self):
        """True iff every checked input's gradient matches."""
        return all(row.ok for row in self.rows)

    def __bool__(self):
        return self.ok

    def _cells(self):
        for r in self.rows:
            yield (str(r.index), r.name, str(r.shape), f"{r.max_abs_err:.1e}", f"{r.max_rel_err:.1e}",
                   str(r.worst_index), "yes" if r.ok else "NO")

    def _title(self):
        bad = sum(not r.ok for r in self.rows)
        verdict = "passed" if bad == 0 else f"FAILED ({bad} of {len(self.rows)} inputs off)"
        return (f"gradcheck {verdict}: |analytic - numeric| <= {self.atol:g} + {self.rtol:g} * |numeric| "
                f"(eps={self.eps:g})")

    def __str__(self):
        table = [self._HEADER, *self._cells()]
        widths = [max(len(row[i]) for row in table) for i in range(len(self._HEADER))]
        lines = [self._title()]
        lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self._HEADER)
        body = []
        for cells, row in zip(self._cells(), self.rows):
            style = "" if row.ok else ' style="font-weight:bold"'
            body.append(f"<tr{style}>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        note = f"<p>note: {esc(self.note)}</p>" if self.note else ""
        return (f"<div><p>{esc(self._title())}</p><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>{note}</div>")


# --------------------------------------------------------------- gradcheck

def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_on_failure=False):
    """Check the gradients backward() gives for ``fn(*inputs)`` against central differences.

    fn: returns a Tensor with one element or a Value (a loss). If it returns
        a Tensor with more elements, the check is on sum(out * w) for a fixed
        random w (seed 0), which tests every output's backward at once; the
        report says so.
    inputs: passed to fn as they are, except: every Tensor with
        requires_grad=True and every Value is checked. A float32 Tensor is
        replaced by a float64 copy (with a PrecisionWarning), since float32
        is too coarse for central differences.

    An element matches when |analytic - numeric| <= atol + rtol * |numeric|.
    Returns a GradcheckReport (truthy iff all match); with
    ``raise_on_failure=True`` a mismatch raises GradcheckError instead, its
    message the report's table.

    Inputs are restored after each perturbation, and ``.grad`` is left as it
    was before the call, on the inputs and on every other leaf the backward
    reaches (say a model's parameters that fn uses): gradcheck clears them
    for its own backward and puts the old values back.
    """
    from bpkit.scalar import Value
    from bpkit.tensor import Tensor, no_grad

    args = list(inputs)
    checked = []  # positions in args
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            if a.data.dtype != np.float64:
                warnings.warn(
                    f"gradcheck: input {i} is {a.data.dtype}, too coarse for central differences; "
                    "checking a float64 copy of it", PrecisionWarning, stacklevel=2)
                args[i] = Tensor(a.data.astype(np.float64), requires_grad=True)
            checked.append(i)
        elif isinstance(a, Value):
            checked.append(i)
    if not checked:
        raise BpkitValueError(
            "gradcheck: no input to check: pass Tensors with requires_grad=True or Values")
    names = _parameter_names(fn, len(args))

    # fn's output as one number: itself, or sum(out * w) for a fixed random w.
    note = ""
    projection = None
    out = fn(*args)
    if isinstance(out, Tensor):
        if out.data.size != 1:
            projection = np.random.default_rng(0).standard_normal(out.data.shape)
            note = (f"fn returned shape {out.data.shape}, not one number; checked sum(out * w) "
                    "for a fixed random w (seed 0)")
    elif not isinstance(out, Value):
        raise BpkitTypeError(
            f"gradcheck: fn must return a Tensor or a Value, not {type(out).__name__}")

    def as_loss(out):
        if projection is None:
            return out if isinstance(out, Value) else out.sum()
        return (out * Tensor(projection)).sum()

    def value_of(out):
        if isinstance(out, Value):
            return out.data
        if projection is None:
            return float(np.sum(out.data, dtype=np.float64))
        return float(np.sum(out.data * projection))

    # 1. Analytic gradients. Every leaf this backward reaches (the inputs, and
    #    e.g. a model's parameters that fn reads) gets its .grad back afterwards.
    loss = as_loss(out)
    leaves = _leaves(loss)
    for i in checked:  # inputs not reached (fn ignores them) are leaves too
        if not any(a is args[i] for a in leaves):
            leaves.append(args[i])
    saved = [leaf.grad for leaf in leaves]
    try:
        for leaf in leaves:
            leaf.grad = 0.0 if isinstance(leaf, Value) else None
        if isinstance(loss, Value) or loss.requires_grad:
            loss.backward()
        analytic = []
        for i in checked:
            g = args[i].grad
            if isinstance(args[i], Value):
                analytic.append(np.array(float(g)))
            else:
                analytic.append(np.zeros(args[i].data.shape) if g is None else np.array(g, dtype=np.float64))
    finally:
        for leaf, g in zip(leaves, saved):
            leaf.grad = g
    del out, loss

    # 2. Numeric gradients: perturb one number at a time, no graph needed.
    def evaluate():
        with no_grad():
            return value_of(fn(*args))

    rows = []
    for k, i in enumerate(checked):
        a = args[i]
        if isinstance(a, Value):
            def at(x, a=a):  # a Value holds a float, not an array: copy the nudged x into it
                a.data = float(x)
                return evaluate()

            old = a.data
            try:
                numeric = numerical_grad(at, old, eps)
            finally:
                a.data = old
        else:  # a float64 Tensor: numerical_grad nudges its .data in place
            numeric = numerical_grad(lambda _: evaluate(), a.data, eps)
        rows.append(_compare(i, names[i], analytic[k], numeric, atol, rtol))

    report = GradcheckReport(rows, eps, atol, rtol, note)
    if raise_on_failure and not report:
        raise GradcheckError(str(report))
    return report


def _leaves(root):
    """The leaves of root's graph that can hold a gradient, found with an
    explicit stack over ``_prev`` (the node protocol Value and Tensor share)."""
    leaves, seen, stack = [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        parents = node._prev
        if not parents:
            if getattr(node, "requires_grad", True):  # Values always; Tensors if they require grad
                leaves.append(node)
            continue
        for p in parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return leaves


def _compare(index, name, analytic, numeric, atol, rtol):
    """One report row; its worst index is the element furthest beyond atol + rtol * |numeric|."""
    err = np.abs(analytic - numeric)
    over = err / (atol + rtol * np.abs(numeric))  # > 1 where an element fails
    worst = np.unravel_index(int(np.argmax(over)), numeric.shape) if numeric.size else ()
    return GradcheckRow(
        index=index, name=name, shape=tuple(numeric.shape),
        max_abs_err=float(err.max()) if err.size else 0.0,
        max_rel_err=relative_error(analytic, numeric),
        worst_index=tuple(int(j) for j in worst),
        ok=bool(np.all(over <= 1.0)),
        analytic=analytic, numeric=numeric)


def _parameter_names(fn, n):
    """fn's positional parameter names (for the report), '-' where there is none."""
    names = ["-"] * n
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return names
    for i, p in enumerate(params[:n]):
        if p.kind == p.VAR_POSITIONAL:
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names[i] = p.name
    return names


# `bpkit.gradcheck` is this module (bpkit/__init__.py loads it lazily, as a
# submodule), and it is callable, so both the chapters' `bpkit.gradcheck(fn, x)`
# and `bpkit.gradcheck.numerical_grad` work, whatever was imported first.
# (Importing the function eagerly in bpkit/__init__.py instead would shadow
# the module and make `import bpkit` load numpy.)
class _CallableModule(types.ModuleType):
    def __call__(self, fn, *inputs, **kwargs):
        """gradcheck(fn, *inputs, ...): see bpkit.gradcheck.gradcheck."""
        return gradcheck(fn, *inputs, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
