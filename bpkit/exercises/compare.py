"""The shared comparator behind ``check``: is the learner's output the expected one?

``compare(expected, got)`` returns ``None`` when they agree and otherwise one
line a learner understands: wrong type, wrong shape (both shapes), wrong dtype,
NaN/inf where none was expected, off by a constant factor, wrong sign, looks
transposed, off by a constant, or "expected ... but got ...". It understands
floats, ints, bools, numpy arrays and scalars, tuples/lists/dicts of those, and
bpkit ``Tensor``s and ``Value``s (compared by their ``.data``).

``short_repr(x)`` is the short, one-line, deterministic repr used in every
message (numpy's ``array2string`` with 4 digits and few items; no memory
addresses), so nbval can compare the check cells' output.
"""
import re

import numpy as np

__all__ = ["compare", "short_repr"]

_ADDRESS = re.compile(r"\s*at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,16}")
_THRESHOLD = 8  # arrays with more entries than this are summarised


# ----------------------------------------------------------------------------
# short, deterministic reprs

def _bpkit_kind(x):
    """'Tensor' or 'Value' for bpkit's autograd objects, else None (duck-typed: no import)."""
    cls = type(x)
    if cls.__name__ in ("Tensor", "Value") and cls.__module__.startswith("bpkit") and hasattr(x, "data"):
        return cls.__name__
    return None


def _float_repr(x, precision):
    x = float(x)
    if not np.isfinite(x):
        return repr(x)  # 'nan', 'inf', '-inf'
    if x != 0 and (abs(x) < 10.0 ** -precision or abs(x) >= 1e6):
        return np.format_float_scientific(x, precision=precision, unique=True, trim="-")
    return np.format_float_positional(x, precision=precision, unique=True, trim="0")


def _one_line(text):
    """Collapse numpy's line breaks and alignment padding: 'array([-1. ,  2. ])' -> 'array([-1., 2.])'."""
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([,\]\)])", r"\1", text)
    return re.sub(r"([\[\(])\s+", r"\1", text)


def short_repr(x, precision=4, limit=160):
    """A short one-line repr of ``x`` for messages (4 significant decimals, few items)."""
    text = _short(x, precision)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _short(x, precision):
    kind = _bpkit_kind(x)
    if kind == "Tensor":
        return f"Tensor({_short(np.asarray(x.data), precision)})"
    if kind == "Value":
        return f"Value(data={_short(x.data, precision)})"
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype != object:
        return _short(x.item(), precision)
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            body = _ADDRESS.sub("", repr(x.tolist()))
        else:
            body = np.array2string(
                x, precision=precision, threshold=_THRESHOLD, edgeitems=2,
                separator=", ", suppress_small=True, max_line_width=10**6,
            )
        text = f"array({_one_line(body)})"
        if x.size > _THRESHOLD or x.ndim > 2:
            text += f" of shape {x.shape}"
        return text
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, (int, np.integer)):
        return repr(int(x))
    if isinstance(x, (float, np.floating)):
        return _float_repr(x, precision)
    if isinstance(x, (tuple, list)):
        items = [_short(v, precision) for v in x[:4]]
        if len(x) > 4:
            items.append("...")
        if isinstance(x, tuple):
            return "(" + ", ".join(items) + ("," if len(x) == 1 else "") + ")"
        return "[" + ", ".join(items) + "]"
    if isinstance(x, dict):
        items = [f"{k!r}: {_short(v, precision)}" for k, v in list(x.items())[:4]]
        if len(x) > 4:
            items.append("...")
        return "{" + ", ".join(items) + "}"
    return _one_line(_ADDRESS.sub("", repr(x)))


# ----------------------------------------------------------------------------
# the comparator

def _type_name(x):
    if x is None:
        return "None"
    kind = _bpkit_kind(x)
    if kind:
        return f"a bpkit {kind}"
    if isinstance(x, np.ndarray):
        return f"a numpy array of shape {x.shape}"
    if isinstance(x, (bool, np.bool_)):
        return "a bool"
    if isinstance(x, (int, float, np.number)):
        return "a single number"
    return f"a {type(x).__name__}"


def _is_number(x):
    return isinstance(x, (int, float, complex, np.number, np.bool_)) or (
        isinstance(x, np.ndarray) and x.ndim == 0
    )


def _dtype_group(dtype):
    return {"b": "bool", "i": "integer", "u": "integer", "f": "float", "c": "complex"}.get(dtype.kind, "other")


def _none_message(expected):
    return f"returned None (is a `return` missing?) where {_type_name(expected)} was expected"


def compare(expected, got, rtol=1e-6, atol=1e-8):
    """``None`` if ``got`` matches ``expected`` (within rtol/atol), else a one-line message."""
    # bpkit autograd objects: the type must match, then their data is compared
    kind = _bpkit_kind(expected)
    if kind:
        if _bpkit_kind(got) != kind:
            return f"wrong type: expected a bpkit {kind} but got {_type_name(got)}"
        return compare(expected.data, got.data, rtol, atol)
    if _bpkit_kind(got):
        return f"wrong type: expected {_type_name(expected)} but got {_type_name(got)}"

    if expected is None:
        return None if got is None else f"expected None but got {short_repr(got)}"
    if got is None:
        return _none_message(expected)

    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"wrong type: expected a dict but got {_type_name(got)}"
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing:
            return f"the dict is missing the key(s) {', '.join(map(repr, missing))}"
        if extra:
            return f"the dict has unexpected key(s) {', '.join(map(repr, extra))}"
        for key in expected:
            message = compare(expected[key], got[key], rtol, atol)
            if message:
                return f"in [{key!r}]: {message}"
        return None

    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return f"wrong type: expected a {type(expected).__name__} of {len(expected)} values but got {_type_name(got)}"
        if len(got) != len(expected):
            return f"expected {len(expected)} values but got {len(got)}"
        for i, (e, g) in enumerate(zip(expected, got)):
            message = compare(e, g, rtol, atol)
            if message:
                return f"in output[{i}]: {message}"
        return None

    if isinstance(expected, str):
        return None if got == expected else f"expected {expected!r} but got {short_repr(got)}"

    if isinstance(expected, np.ndarray) and expected.ndim > 0:
        if not isinstance(got, np.ndarray):
            hint = " (np.array(...) turns it into one)" if isinstance(got, (list, tuple)) else ""
            return f"wrong type: expected a numpy array of shape {expected.shape} but got {_type_name(got)}{hint}"
        if got.ndim == 0:
            return f"wrong shape: expected shape {expected.shape} but got shape ()"
        return _compare_arrays(expected, got, rtol, atol)

    if _is_number(expected):
        if isinstance(got, np.ndarray) and got.ndim > 0:
            if got.size == 1:
                return f"wrong shape: expected a single number but got an array of shape {got.shape} (use .item() or float(...))"
            return f"wrong type: expected a single number but got an array of shape {got.shape}"
        if not _is_number(got):
            return f"wrong type: expected a single number but got {_type_name(got)}"
        return _compare_arrays(np.asarray(expected), np.asarray(got), rtol, atol)

    # anything else: plain equality
    try:
        same = bool(expected == got)
    except Exception:  # ambiguous or failing __eq__
        same = False
    return None if same else f"expected {short_repr(expected)} but got {short_repr(got)}"


def _nice_factor(r):
    """For a single number a ratio is only telling when it is 2, 3, 1/2, ... (a classic slip)."""
    for v in (abs(r), 1 / abs(r) if r else 0):
        if 2 <= v <= 10 and abs(v - round(v)) < 1e-6 * v:
            return True
    return False


def _compare_arrays(expected, got, rtol, atol):
    scalar = expected.ndim == 0
    if not scalar and got.shape != expected.shape:
        if (expected.ndim >= 2 and got.shape == expected.shape[::-1]
                and _dtype_group(got.dtype) in ("float", "integer", "bool")
                and np.allclose(got.T, expected, rtol=rtol, atol=atol, equal_nan=True)):
            return f"looks transposed: expected shape {expected.shape} but got shape {got.shape} (the values match the transpose)"
        return f"wrong shape: expected shape {expected.shape} but got shape {got.shape}"

    eg, gg = _dtype_group(expected.dtype), _dtype_group(got.dtype)
    if eg != gg and not (scalar and {eg, gg} <= {"integer", "float"}):
        if scalar:
            return f"wrong dtype: expected a {expected.dtype} but got a {got.dtype}"
        return f"wrong dtype: expected {expected.dtype} values but got {got.dtype}"
    if eg in ("bool", "other"):  # no tolerance, no factor or sign to spot: equal or not
        return None if np.array_equal(expected, got) else f"expected {short_repr(expected)} but got {short_repr(got)}"

    e = expected.astype(np.result_type(expected.dtype, np.float64))
    g = got.astype(np.result_type(got.dtype, np.float64))
    for label, test in (("NaN", np.isnan), ("inf", np.isinf)):
        bad = test(g) & ~test(e)
        if bad.any():
            where = "" if scalar else f" (at {int(bad.sum())} of {bad.size} entries, e.g. index {tuple(int(i) for i in np.argwhere(bad)[0])})"
            return f"got {label} where none was expected{where}: an overflow or a 0/0 somewhere?"
    if np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True):
        return None

    finite = np.isfinite(e) & np.isfinite(g)
    big = finite & (np.abs(e) > max(10 * atol, 1e-12))
    if big.any() and np.allclose(g[finite], -e[finite], rtol=rtol, atol=atol):
        return f"wrong sign: got the negative of the expected values ({short_repr(expected)})"
    if big.any():
        r = float(np.median(g[big] / e[big]))
        # a ratio within 1% of 1 is closeness, not a factor: fall through to "expected ... got"
        if (r != 0 and np.isfinite(r) and abs(r - 1) > 0.01
                and np.allclose(g[finite], r * e[finite], rtol=max(rtol, 1e-6), atol=atol)
                and (not scalar or _nice_factor(r))):
            return f"looks off by a factor of {_float_repr(r, 2) if abs(r) < 0.01 or abs(r) >= 1e6 else f'{r:.2f}'} (expected {short_repr(expected)}, got {short_repr(got)})"
    if not scalar and e.ndim >= 2 and e.shape[-1] == e.shape[-2]:
        if np.allclose(np.swapaxes(g, -1, -2), e, rtol=rtol, atol=atol):
            return "looks transposed: the values match the transpose of the expected matrix"
    if not scalar and e.size >= 2 and finite.all():
        d = g - e
        if np.allclose(d, d.flat[0], rtol=0, atol=max(atol, rtol * float(np.abs(e).max()))):
            es, gs = short_repr(expected), short_repr(got)
            if es == gs:  # close, but not within tolerance: show enough digits to see it
                es, gs = short_repr(expected, precision=10), short_repr(got, precision=10)
            c = float(d.flat[0])
            shown = f"{c:.4f}" if abs(c) >= 1e-3 else f"{c:.3g}"  # a tiny offset in digits that show it
            return f"looks off by a constant {shown} in every entry (expected {es}, got {gs})"

    es, gs = short_repr(expected), short_repr(got)
    if es == gs:
        es, gs = short_repr(expected, precision=10), short_repr(got, precision=10)
    message = f"expected {es} but got {gs}"
    if not scalar:
        diff = np.where(finite, np.abs(g - e), np.inf)
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
        message += f" (largest difference {_float_repr(diff[idx], 4)} at index {idx})"
    return message
