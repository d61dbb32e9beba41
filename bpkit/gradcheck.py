"""Gradient checking: is a backward rule right? Compare it with central differences.

The building blocks, used by the notebooks and the tests alike:

* ``numerical_grad(f, x, eps)``: d f / d x by central differences, for plain
  numpy code (``f(x) -> float``, x a float64 ndarray), the way CS231n checks
  layers.
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

Why nudge in place: the function may read its input through a closure
(``lambda _: loss(W)``, a layer's weight), so the nudge must land in the very
array, or Tensor, that the function reads. A nudged copy would change nothing,
both gradients would be zero, and the check would pass without checking
anything. So numerical_grad refuses an array it cannot nudge in place, and
gradcheck checks the Tensors it is given (a float32 one with its ``.data``
upcast in place for the check) and fails an input that backward never reached.
"""
import html
import inspect
import sys
import types
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
]


class GradcheckError(AssertionError):
    """gradcheck(..., raise_on_failure=True) found a mismatch; the message is the report's table.

    An AssertionError because it is one: a check of your backward rule failed
    (pytest shows it as a failed assertion, like ``assert gradcheck(...)``).
    """


# ---------------------------------------------------------------- numpy only

def numerical_grad(f, x, eps=1e-6, df=None):
    """d f / d x by central differences; an array shaped like x.

    f: a function of x returning a number (or, with ``df``, an array).
    x: a float64 ndarray (or a number or list, copied to a float64 array
        that f receives).
    df: optional upstream gradient, shaped like f(x): then the result is the
        gradient of sum(f(x) * df), i.e. the vector-Jacobian product that a
        backward function ``backward(dout=df)`` should return.

    x is nudged in place, one element at a time, and always restored, so f
    may also read x through a closure (as CS231n's ``lambda _: loss(W)``
    does). That is also why an ndarray must be float64 already: a float64
    copy of a float32 x would be an array f never reads through its closure,
    and the gradient would come out silently zero. Costs 2 * x.size calls of f.
    """
    x = _nudgeable(x)
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


def _nudgeable(x):
    """x as the float64 array numerical_grad nudges in place, or a one-line error.

    Refused: a Tensor or Value (gradcheck checks those), a non-float64 or
    read-only ndarray: nudging a converted copy would not reach an f that
    reads x through a closure, so the check could never fail.
    """
    if hasattr(x, "_prev"):  # the node protocol of Tensor and Value
        raise BpkitTypeError(
            f"numerical_grad: x is a {type(x).__name__}; numerical_grad nudges numpy arrays, "
            "check a Tensor or Value with gradcheck(fn, x)")
    if not isinstance(x, np.ndarray):  # a number or a list: f can only see it as its argument
        return np.array(x, dtype=np.float64)
    if x.dtype != np.float64:
        raise BpkitTypeError(
            f"numerical_grad: x is a {x.dtype} array, but central differences need float64 and a "
            "float64 copy would not be the array f reads; convert it with x = x.astype(np.float64) "
            "and make f use that array")
    if not x.flags.writeable:
        raise BpkitValueError(
            "numerical_grad: x is read-only, so it cannot be nudged in place; pass a writeable "
            "copy (x = x.copy()) and make f use that array")
    return x


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
    ok: bool  # reached, and |analytic - numeric| <= atol + rtol * |numeric| everywhere
    analytic: np.ndarray  # what backward() gave
    numeric: np.ndarray  # what central differences gave
    reached: bool = True  # False: backward() never reached it (fn did not use it, or used a copy)


class GradcheckReport:
    """The result of gradcheck(): truthy iff every input's gradient matches.

    ``rows`` holds one GradcheckRow per checked input (with both gradients,
    for a closer look); ``notes`` holds one line per thing the numbers do not
    show (an input backward never reached, a projected output, inputs checked
    in float64). ``str(report)`` is a plain-text table and Jupyter shows an
    HTML one, each followed by the notes.
    """

    _HEADER = ("input", "name", "shape", "max abs err", "max rel err", "worst index", "ok")

    def __init__(self, rows, eps, atol, rtol, notes=()):
        self.rows = list(rows)
        self.eps, self.atol, self.rtol = eps, atol, rtol
        self.notes = [notes] if isinstance(notes, str) else list(notes)

    @property
    def ok(self):
        """True iff every checked input's gradient matches."""
        return all(row.ok for row in self.rows)

    def __bool__(self):
        return self.ok

    def _cells(self):
        for r in self.rows:
            verdict = "yes" if r.ok else "NO" if r.reached else "NO (no grad)"
            yield (str(r.index), r.name, str(r.shape), f"{r.max_abs_err:.1e}", f"{r.max_rel_err:.1e}",
                   str(r.worst_index), verdict)

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
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in self._HEADER)
        body = []
        for cells, row in zip(self._cells(), self.rows):
            style = "" if row.ok else ' style="font-weight:bold"'
            body.append(f"<tr{style}>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        notes = "".join(f"<p>note: {esc(note)}</p>" for note in self.notes)
        return (f"<div><p>{esc(self._title())}</p><table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>{notes}</div>")


# --------------------------------------------------------------- gradcheck

def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_on_failure=False):
    """Check the gradients backward() gives for ``fn(*inputs)`` against central differences.

    fn: returns a Tensor with one element or a Value (a loss). If it returns
        a Tensor with more elements, the check is on sum(out * w) for a fixed
        random w (seed 0), which tests every output's backward at once; the
        report says so.
    inputs: passed to fn as they are. Every Tensor with requires_grad=True
        and every Value is checked (to leave a Tensor out, pass it with
        requires_grad=False; a Value, pass a float). The check runs on these
        very objects, so fn may read them through a closure, e.g.
        ``gradcheck(lambda w: F.mse_loss(layer(x), y), layer.weight)``.
        A Tensor that is not float64 (a float32 layer's weight) is checked in
        float64, since float32 is too coarse for central differences: its
        ``.data`` is upcast in place for the check, so fn sees the float64
        numbers and every nudge, and the original array is put back after;
        the report's note lists these inputs.

    An element matches when |analytic - numeric| <= atol + rtol * |numeric|.
    An input that backward() never reached fails whatever the numbers say,
    with a note: fn did not use it, or used a copy of it (``w.data``,
    ``Tensor(w.data)``), and then both gradients are zero and would "match"
    without anything being checked. Decision: this holds for an input that
    fn ignores on purpose too (PyTorch's gradcheck passes that one), because
    gradcheck cannot tell the two apart, and a check that passes without
    checking is the worse mistake; leaving the input out is one edit away.

    Returns a GradcheckReport (truthy iff all match); with
    ``raise_on_failure=True`` a mismatch raises GradcheckError instead, its
    message the report's table.

    Everything is left as it was: each input's ``.data`` (the same array
    object, restored after every nudge) and the ``.grad`` of every node the
    backward reaches (the inputs, and say a model's parameters that fn
    reads): gradcheck clears them for its own backward and puts them back.
    """
    checked = _checked_positions(inputs)
    names = _parameter_names(fn, len(inputs))
    targets = [inputs[i] for i in checked]
    upcast = [(i, names[i], inputs[i].data.dtype) for i in checked
              if _is_tensor(inputs[i]) and inputs[i].data.dtype != np.float64]
    swapped = _swap_in_float64([t for t in targets if _is_tensor(t)])
    cut = _cut_from_history(targets)
    try:
        out = fn(*inputs)
        projection = _projection(out)
        analytic, reached = _analytic_grads(_as_loss(out, projection), targets)
        del out
        numeric = [_numeric_grad(fn, inputs, x, projection, eps) for x in targets]
    finally:
        _restore_history(cut)
        _restore(swapped)

    rows = [_compare(i, names[i], a, n, atol, rtol, r)
            for i, a, n, r in zip(checked, analytic, numeric, reached)]
    notes = [_unreached_note(row, inputs[row.index]) for row in rows if not row.reached]
    if projection is not None:
        notes.append(f"fn returned shape {projection.shape}, not one number; checked sum(out * w) "
                     "for a fixed random w (seed 0)")
    if upcast:
        notes.append(_float64_note(upcast))
    report = GradcheckReport(rows, eps, atol, rtol, notes)
    if raise_on_failure and not report:
        raise GradcheckError(str(report))
    return report


def _is_tensor(x):
    """isinstance(x, Tensor), importing the engine only when gradcheck runs."""
    from bpkit.tensor import Tensor
    return isinstance(x, Tensor)


def _checked_positions(inputs):
    """The positions of the inputs gradcheck checks: Tensors that require grad, and Values."""
    from bpkit.scalar import Value
    checked = [i for i, x in enumerate(inputs)
               if isinstance(x, Value) or (_is_tensor(x) and x.requires_grad)]
    if not checked:
        raise BpkitValueError(
            "gradcheck: no input to check: pass Tensors with requires_grad=True or Values")
    return checked


def _swap_in_float64(tensors):
    """Give each Tensor that lacks one a writeable float64 ``.data``, in place on the same object.

    In place, because fn may read the tensor through a closure: a float64
    copy passed as the argument would be a tensor fn never reads. Returns
    (tensor, old data, old grad) for each one changed, for _restore.
    """
    swapped, seen = [], set()
    for t in tensors:
        if id(t) in seen or (t.data.dtype == np.float64 and t.data.flags.writeable):
            continue
        seen.add(id(t))
        swapped.append((t, t.data, t.grad))
        t.data = np.array(t.data, dtype=np.float64)  # a new array: the learner's is never written
    return swapped


def _restore(swapped):
    """Put back the very arrays (and .grad) that _swap_in_float64 replaced."""
    for t, data, grad in reversed(swapped):
        t.data, t.grad = data, grad


def _leaf_links(x):
    """The engine's attributes that tie x to the operation that made it, with a leaf's values."""
    return {"_parents": (), "_vjp": None} if _is_tensor(x) else {"_prev": (), "_local": ()}


def _cut_from_history(inputs):
    """Make each input that an operation produced a leaf for the check, so backward stops there.

    The check is about d fn / d input, not about what came before the input,
    and the graph before it may already be freed by an earlier backward().
    Returns (input, its old links) for _restore_history.
    """
    cut = []
    for x in inputs:
        if x._prev and all(x is not done for done, _ in cut):
            leaf = _leaf_links(x)
            cut.append((x, {name: getattr(x, name) for name in leaf}))
            for name, value in leaf.items():
                setattr(x, name, value)
    return cut


def _restore_history(cut):
    """Reattach the inputs that _cut_from_history made leaves."""
    for x, links in reversed(cut):
        for name, value in links.items():
            setattr(x, name, value)


def _projection(out):
    """None if fn's output is one number (a loss), else the fixed w (seed 0) of sum(out * w)."""
    from bpkit.scalar import Value
    if isinstance(out, Value):
        return None
    if not _is_tensor(out):
        raise BpkitTypeError(
            f"gradcheck: fn must return a Tensor or a Value, not {type(out).__name__}")
    if out.data.size == 1:
        return None
    return np.random.default_rng(0).standard_normal(out.data.shape)


def _as_loss(out, w):
    """fn's output as a one-number graph to call backward() on."""
    from bpkit.scalar import Value
    from bpkit.tensor import Tensor
    if isinstance(out, Value):
        return out
    return out.sum() if w is None else (out * Tensor(w)).sum()


def _as_number(out, w):
    """fn's output as a float, for central differences: the number _as_loss builds as a graph."""
    from bpkit.scalar import Value
    if isinstance(out, Value):
        return out.data
    if w is None:
        return float(np.sum(out.data, dtype=np.float64))
    return float(np.sum(out.data * w))


def _analytic_grads(loss, inputs):
    """What backward() gives each input (zeros where it gives nothing), and whether it reached each.

    The ``.grad`` of every node of the graph (the inputs, and e.g. a model's
    parameters that fn reads) and of every input is cleared for this
    backward and put back after it; retain_graph=True keeps usable any graph
    the learner built before the call that fn reads through a closure.
    """
    from bpkit.scalar import Value
    nodes = _graph_nodes(loss)
    in_graph = {id(node) for node in nodes}
    reached = [id(x) in in_graph for x in inputs]
    holders = nodes + list(inputs)
    saved = [h.grad for h in holders]
    try:
        for h in holders:
            h.grad = 0.0 if isinstance(h, Value) else None
        if isinstance(loss, Value) or loss.requires_grad:
            loss.backward(retain_graph=True)
        analytic = [np.zeros(np.shape(x.data)) if x.grad is None else np.array(x.grad, dtype=np.float64)
                    for x in inputs]
    finally:
        for h, g in zip(holders, saved):
            h.grad = g
    return analytic, reached


def _numeric_grad(fn, inputs, x, w, eps):
    """Central differences of fn's number in input x, nudging x itself; no graph is built."""
    from bpkit.scalar import Value
    from bpkit.tensor import no_grad

    def evaluate():
        with no_grad():
            return _as_number(fn(*inputs), w)

    if not isinstance(x, Value):  # a Tensor with float64 .data: numerical_grad nudges it in place
        return numerical_grad(lambda _: evaluate(), x.data, eps)

    def at(v):  # a Value holds a float, not an array: copy each nudged number into it
        x.data = float(v)
        return evaluate()

    old = x.data
    try:
        return numerical_grad(at, old, eps)
    finally:
        x.data = old


def _graph_nodes(root):
    """Every node of root's graph, root included, found with an explicit stack over ``_prev``
    (the node protocol Value and Tensor share: the parents a gradient flows to)."""
    nodes, seen, stack = [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for p in node._prev:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return nodes


def _compare(index, name, analytic, numeric, atol, rtol, reached=True):
    """One report row; its worst index is the element furthest beyond atol + rtol * |numeric|.

    An input backward never reached fails whatever the numbers say (see gradcheck)."""
    err = np.abs(analytic - numeric)
    over = err / (atol + rtol * np.abs(numeric))  # > 1 where an element fails
    worst = np.unravel_index(int(np.argmax(over)), numeric.shape) if numeric.size else ()
    return GradcheckRow(
        index=index, name=name, shape=tuple(numeric.shape),
        max_abs_err=float(err.max()) if err.size else 0.0,
        max_rel_err=relative_error(analytic, numeric),
        worst_index=tuple(int(j) for j in worst),
        ok=bool(reached and np.all(over <= 1.0)),
        analytic=analytic, numeric=numeric, reached=reached)


def _label(index, name):
    """How notes name an input: 'input 0 (w)', or 'input 0' when fn's parameter has no name."""
    return f"input {index}" if name == "-" else f"input {index} ({name})"


def _unreached_note(row, x):
    """Why a row failed although its numbers may agree: backward never reached that input."""
    copy, leave_out = (("v.data", "pass a float instead of a Value") if not _is_tensor(x) else
                       ("x.data or Tensor(x.data)", "pass it with requires_grad=False"))
    return (f"{_label(row.index, row.name)} received no gradient: fn never used it, or used a copy "
            f"of it ({copy}), so nothing was checked; to leave it out of the check, {leave_out}")


def _float64_note(upcast):
    """Which inputs were checked in float64 although they are float32 (or another float)."""
    which = ", ".join(f"{_label(i, name)} is {dtype}" for i, name, dtype in upcast)
    return (f"checked in float64, since central differences need it: {which}; each was upcast in "
            "place for the check (the very tensor fn reads), then its original array put back")


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
