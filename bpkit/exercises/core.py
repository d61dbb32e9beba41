"""Checked exercises: ``Exercise`` (what a chapter module declares) and ``check`` (what a notebook calls).

A chapter module ``bpkit/exercises/chNN.py`` holds ``EXERCISES``, a list of
``Exercise`` records: a reference solution, the inputs to try it on (or a
``verify`` function for checks that are not "compare the outputs"), graded
hints and the typical wrong answers the check must catch (the tests make sure
it does).

In a notebook, after the learner's function, the next cell is::

    sigmoid = check("1.1", sigmoid)

``check`` prints exactly one line (passed / not yet / error, with what was
tried, what was expected and what came back) and returns the learner's function
when it passed, otherwise the reference, so Run All always reaches the end.
Hints come only after a try: an open exercise (the stub still raises) gets
none; the first wrong answer gets the first hint (a nudge), each further wrong
answer of the same exercise the next, more specific one. The count of tries
lives in the kernel (``tries()``); the answer itself is only in ``solutions/``.
It never shows a traceback. ``results()`` lists this process's verdicts for
the scoreboard (``python -m bpkit check``). ``assert_passed("1.1")`` raises
unless the last check of 1.1 passed: nbgrader's hidden test in each check cell
(left out of the learner's copies, so their Run All still reaches the end).
"""
import copy
import html
import importlib
import inspect
import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from bpkit.exercises.compare import _ADDRESS, compare, short_repr

__all__ = [
    "Exercise", "Result", "UnknownExerciseError",
    "assert_passed", "check", "evaluate", "get_exercise", "chapter_exercises", "results", "reset_results", "tries",
]

PASSED, NOT_YET, ERROR = "passed", "not yet", "error"
FALLBACK_NOTE = "Using the reference solution so the rest of the chapter runs."
_ID = re.compile(r"^(\d+)\.(\w+)$")


class UnknownExerciseError(LookupError, ValueError):
    """``check`` was given an id that no chapter module declares."""


@dataclass
class Exercise:
    """One checked exercise.

    id: "N.M" (N is the chapter: the record lives in ``bpkit/exercises/chNN.py``).
    title: a few words, shown in the check's line.
    reference: the reference solution (a function).
    cases: argument tuples to call both functions with, or a zero-argument
        callable returning them (for inputs built from a seeded generator).
    hints: graded hints, a nudge first and more specific ones after: the
        k-th wrong answer of this exercise shows hint k (the last one from
        then on). None of them gives the answer away.
    hint: a single hint (older form; the same as ``hints=(hint,)``).
    mistakes: ``(wrong_fn, fragment)`` pairs: typical wrong answers, each of
        which the check must reject with a message containing ``fragment``.
    verify: optional ``verify(learner_fn) -> None | str`` replacing the output
        comparison: ``None`` when right, else a one-line message.
    rtol, atol: tolerances of the output comparison.
    arg_names: names used for the inputs in messages (default: the reference's
        parameter names).
    """

    id: str
    title: str
    reference: Callable
    cases: Any = ()
    hint: str = ""
    hints: tuple = ()
    mistakes: Any = ()
    verify: Optional[Callable] = None
    rtol: float = 1e-6
    atol: float = 1e-8
    arg_names: Optional[tuple] = None

    def __post_init__(self):
        if not _ID.match(str(self.id)):
            raise ValueError(f"Exercise id {self.id!r} should look like '1.2'")
        if not callable(self.reference):
            raise TypeError(f"Exercise {self.id}: reference must be a function")
        if isinstance(self.hints, str):
            raise TypeError(f"Exercise {self.id}: hints must be a tuple of strings, not one string")
        self.hints = tuple(self.hints) or ((self.hint,) if self.hint else ())
        self.hint = self.hints[0] if self.hints else ""

    @property
    def chapter(self):
        return int(_ID.match(self.id).group(1))

    def get_cases(self):
        """The argument tuples (a bare value counts as one argument)."""
        cases = self.cases() if callable(self.cases) else self.cases
        return [c if isinstance(c, tuple) else (c,) for c in cases]


@dataclass
class Result:
    """A verdict: status is "passed", "not yet" or "error"; message is one line."""

    id: str
    title: str
    status: str
    message: str = ""

    @property
    def passed(self):
        return self.status == PASSED

    def line(self):
        """The one line ``check`` shows."""
        head = f"Exercise {self.id} ({self.title})"
        if self.passed:
            return f"✓ {head}: passed"
        mark = "○" if self.message.startswith(f"Exercise {self.id} is still open") else "✗"
        sep = ":" if mark == "○" else " —"
        return f"{mark} {head}: {self.status}{sep} {self.message} {FALLBACK_NOTE}"

    def html(self):
        colour = {PASSED: "#009E73", NOT_YET: "#D55E00", ERROR: "#D55E00"}[self.status]
        line = html.escape(self.line())
        return (f'<div class="bpkit-check bpkit-{self.status.replace(" ", "-")}" '
                f'style="font-family: monospace; border-left: 4px solid {colour}; padding-left: 6px">'
                f"{line}</div>")

    def as_dict(self):
        return {"id": self.id, "status": self.status, "message": self.message}


# ----------------------------------------------------------------------------
# finding exercises

def _chapter_module(chapter):
    name = f"bpkit.exercises.ch{chapter:02d}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise
        raise UnknownExerciseError(f"check: there are no exercises for chapter {chapter} (no module {name})") from None


def chapter_exercises(chapter):
    """The ``Exercise`` list of chapter ``chapter`` (an int)."""
    return list(_chapter_module(int(chapter)).EXERCISES)


def get_exercise(exercise_id):
    """The ``Exercise`` with this id, e.g. ``get_exercise("1.1")``."""
    match = _ID.match(str(exercise_id))
    if not match:
        raise UnknownExerciseError(f"check: {exercise_id!r} is not an exercise id; ids look like '1.2'")
    exercises = chapter_exercises(int(match.group(1)))
    for exercise in exercises:
        if exercise.id == exercise_id:
            return exercise
    known = ", ".join(e.id for e in exercises) or "none"
    raise UnknownExerciseError(f"check: there is no Exercise {exercise_id} (chapter {match.group(1)} has {known})")


# ----------------------------------------------------------------------------
# evaluating a learner's function

def _arg_names(exercise, n):
    names = list(exercise.arg_names or ())
    if not names:
        try:
            params = inspect.signature(exercise.reference).parameters.values()
            names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            names = []
    if len(names) < n:
        return ["input"] if n == 1 else [f"input {i + 1}" for i in range(n)]
    return names[:n]


def _describe(names, args):
    """'x = array([1., 2.]), W of shape (30, 4), b = 0.5': big arrays by their shape only."""
    parts = []
    for name, arg in zip(names, args):
        if isinstance(arg, np.ndarray) and arg.size > 8:
            parts.append(f"{name} of shape {arg.shape}")
        else:
            parts.append(f"{name} = {short_repr(arg, limit=100)}")
    return ", ".join(parts)


def _exception_text(err):
    text = re.sub(r"\s+", " ", str(err)).strip()
    text = _ADDRESS.sub("", text)
    if len(text) > 160:
        text = text[:157] + "..."
    return f"raised {type(err).__name__}" + (f": {text}" if text else "")


def _with_hint(exercise, message, attempt=1):
    """message, then the hint for this attempt (1: the nudge; later ones more specific)."""
    message = message.rstrip(". ")
    hints = exercise.hints
    if not hints:
        return f"{message}."
    k = min(max(attempt, 1), len(hints))
    label = "Hint" if len(hints) == 1 else f"Hint {k} of {len(hints)}"
    return f"{message}. {label}: {hints[k - 1].rstrip('.')}."


def _still_open(exercise):
    return Result(exercise.id, exercise.title, NOT_YET,
                  f"Exercise {exercise.id} is still open: write its body, then run this cell again.")


def evaluate(exercise, fn, attempt=1):
    """Judge ``fn`` against ``exercise`` (an ``Exercise`` or an id); returns a ``Result``. Shows nothing.

    attempt: which wrong answer this would be (1 = the first), choosing the hint.
    """
    if not isinstance(exercise, Exercise):
        exercise = get_exercise(exercise)
    if not callable(fn):
        return Result(exercise.id, exercise.title, ERROR,
                      _with_hint(exercise, f"check expects your function, but got {short_repr(fn, limit=60)}",
                                 attempt))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _evaluate(exercise, fn, attempt)


def _evaluate(exercise, fn, attempt):
    def verdict(status, message):
        return Result(exercise.id, exercise.title, status, _with_hint(exercise, message, attempt))

    if exercise.verify is not None:
        try:
            message = exercise.verify(fn)
        except NotImplementedError:
            return _still_open(exercise)
        except Exception as err:
            return verdict(ERROR, _exception_text(err))
        return Result(exercise.id, exercise.title, PASSED, "passed") if message is None else verdict(NOT_YET, message)

    for args in exercise.get_cases():
        names = _arg_names(exercise, len(args))
        # both functions get copies, so args itself shows what the inputs were
        expected = exercise.reference(*copy.deepcopy(args))
        given = copy.deepcopy(args)
        try:
            got = fn(*given)
        except NotImplementedError:
            return _still_open(exercise)
        except Exception as err:
            return verdict(ERROR, f"{_exception_text(err)} on input {_describe(names, args)}")
        for name, before, after in zip(names, args, given):
            if compare(before, after, rtol=0.0, atol=0.0):
                return verdict(NOT_YET, (
                    f"your function changed its input {name} in place (it was {short_repr(before, limit=80)}, "
                    f"afterwards {short_repr(after, limit=80)}); work on a copy or build a new array"))
        message = compare(expected, got, rtol=exercise.rtol, atol=exercise.atol)
        if message:
            return verdict(NOT_YET, f"for {_describe(names, args)}, {message}")
    return Result(exercise.id, exercise.title, PASSED, "passed")


# ----------------------------------------------------------------------------
# the record of this process's checks (read by the scoreboard)

_RESULTS = {}
_TRIES = {}  # exercise id -> wrong answers so far in this kernel (chooses the hint)


def results():
    """This process's verdicts, in the order the checks ran: dicts with id, status, message.

    Checking the same id again replaces its earlier entry (keeping its place).
    """
    return [r.as_dict() for r in _RESULTS.values()]


def reset_results():
    """Forget every verdict and every count of tries recorded so far."""
    _RESULTS.clear()
    _TRIES.clear()


def tries(exercise_id=None):
    """Wrong answers checked so far in this kernel: for one exercise id, or a dict of all."""
    return dict(_TRIES) if exercise_id is None else _TRIES.get(str(exercise_id), 0)


def _show(result):
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is None:
        print(result.line())
        return
    from IPython.display import display
    display({"text/plain": result.line(), "text/html": result.html()}, raw=True)


def check(exercise_id, fn):
    """Check the learner's ``fn`` for exercise ``exercise_id``; show one line; return what to use next.

    Returns ``fn`` when it passed, otherwise the reference solution (so the
    rest of the chapter runs). An unknown id raises ``UnknownExerciseError``.
    """
    exercise = get_exercise(exercise_id)
    result = evaluate(exercise, fn, attempt=_TRIES.get(exercise.id, 0) + 1)
    if not result.passed and not result.message.startswith(f"Exercise {exercise.id} is still open"):
        _TRIES[exercise.id] = _TRIES.get(exercise.id, 0) + 1  # a real try: the next one gets the next hint
    _RESULTS[exercise.id] = result
    _show(result)
    return fn if result.passed else exercise.reference


def assert_passed(exercise_id):
    """Raise ``AssertionError`` unless the last ``check`` of ``exercise_id`` in this kernel passed.

    nbgrader scores a test cell by whether it raises, and ``check`` never
    does (so a learner's Run All reaches the end): each check cell of
    ``solutions/`` ends with this call inside nbgrader's ``### BEGIN HIDDEN
    TESTS`` region, which ``python -m bpkit build`` and nbgrader's release
    leave out and ``nbgrader autograde`` puts back. Shows nothing.
    """
    exercise_id = str(exercise_id)
    result = _RESULTS.get(exercise_id)
    if result is None:
        raise AssertionError(f"Exercise {exercise_id} was not checked in this kernel (its check cell did not run check)")
    if not result.passed:
        raise AssertionError(f"Exercise {result.id} ({result.title}): {result.status}: {result.message}")
