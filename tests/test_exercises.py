"""Tests for bpkit.exercises: every chapter's exercises, then the framework itself.

The first part is one generic, parametrized test over every chapter module
that exists (bpkit/exercises/ch*.py) and every exercise in it: the reference
passes, and each listed mistake is rejected with a message containing its
fragment. A chapter author adds an exercise and gets its tests for free.
"""
import importlib
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import bpkit.exercises as ex
from bpkit.exercises import Exercise, check, compare, evaluate, reset_results, results, short_repr
from bpkit.exercises.core import FALLBACK_NOTE, UnknownExerciseError, tries

EXERCISE_DIR = Path(ex.__file__).parent
CHAPTER_MODULES = sorted(p.stem for p in EXERCISE_DIR.glob("ch[0-9]*.py"))


def _load(module_name):
    return importlib.import_module(f"bpkit.exercises.{module_name}")


def _all_exercises():
    params = []
    for name in CHAPTER_MODULES:
        try:
            exercises = _load(name).EXERCISES
        except Exception as err:  # reported by test_chapter_module_imports
            params.append(pytest.param(name, None, id=f"{name}-import", marks=pytest.mark.skip(reason=repr(err))))
            continue
        params += [pytest.param(name, e, id=f"{name}-{e.id}") for e in exercises]
    return params


# ----------------------------------------------------------------------------
# every chapter module, every exercise

@pytest.mark.parametrize("module_name", CHAPTER_MODULES)
def test_chapter_module_imports_and_ids_are_consistent(module_name):
    module = _load(module_name)
    chapter = int(module_name[2:])
    ids = [e.id for e in module.EXERCISES]
    assert ids, f"{module_name} declares no exercises"
    assert len(ids) == len(set(ids)), f"{module_name}: duplicate ids {ids}"
    for e in module.EXERCISES:
        assert isinstance(e, Exercise)
        assert e.chapter == chapter, f"Exercise {e.id} lives in {module_name}"


@pytest.mark.parametrize("module_name, exercise", _all_exercises())
def test_exercise(module_name, exercise):
    assert exercise.title and exercise.hints, f"Exercise {exercise.id} needs a title and hints"
    assert exercise.verify is not None or exercise.get_cases(), f"Exercise {exercise.id} has no cases"
    result = evaluate(exercise, exercise.reference)
    assert result.status == "passed", f"the reference fails its own check: {result.message}"
    assert len(exercise.mistakes) >= 2, f"Exercise {exercise.id} lists {len(exercise.mistakes)} mistakes; it needs at least two"
    for wrong, fragment in exercise.mistakes:
        result = evaluate(exercise, wrong)
        assert result.status in ("not yet", "error"), f"a listed mistake passes Exercise {exercise.id}"
        assert fragment in result.message, f"Exercise {exercise.id}: {fragment!r} not in {result.message!r}"
        assert "\n" not in result.line()


# ----------------------------------------------------------------------------
# the framework, on a throwaway chapter 98

def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _reciprocal(x):
    return 1.0 / x


def _double_first(x):
    y = x.copy()
    y[0] *= 2
    return y


def _verify_positive(fn):
    return None if fn(2.0) > 0 else "should be positive for positive inputs"


FAKE = [
    Exercise(id="98.1", title="the logistic sigmoid", reference=_sigmoid,
             cases=[(np.array([-2.0, 0.0, 3.0]),), (np.zeros((2, 3)),)], hint="use np.exp",
             mistakes=[(lambda z: np.exp(-z), "expected"), (lambda z: 2 * _sigmoid(z), "factor")]),
    Exercise(id="98.2", title="a reciprocal", reference=_reciprocal, cases=[(np.array([1.0, 2.0]),)],
             hint="1 / x", mistakes=[]),
    Exercise(id="98.3", title="double the first entry", reference=_double_first,
             cases=lambda: [(np.array([1.0, 2.0, 3.0]),)], hint="copy first", mistakes=[]),
    Exercise(id="98.4", title="positive", reference=lambda x: x * x, verify=_verify_positive,
             hint="square it", mistakes=[]),
]


@pytest.fixture
def fake_chapter(monkeypatch):
    module = types.ModuleType("bpkit.exercises.ch98")
    module.EXERCISES = FAKE
    monkeypatch.setitem(sys.modules, "bpkit.exercises.ch98", module)
    reset_results()
    yield module
    reset_results()


def _stub(*args):
    raise NotImplementedError("Exercise 98.1: use np.exp")


def test_passing_returns_the_learners_function(fake_chapter, capsys):
    def mine(z):
        return 1 / (1 + np.exp(-z))
    assert check("98.1", mine) is mine
    out = capsys.readouterr().out
    assert out == "✓ Exercise 98.1 (the logistic sigmoid): passed\n"


def test_stub_is_not_yet_without_a_hint_and_falls_back(fake_chapter, capsys):
    got = check("98.1", _stub)
    assert got is _sigmoid
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert out.startswith("○ Exercise 98.1 (the logistic sigmoid): not yet: Exercise 98.1 is still open: "
                          "write its body, then run this cell again.")
    assert "np.exp" not in out  # hints come after a try, not before
    assert out.rstrip().endswith(FALLBACK_NOTE)
    assert results() == [{"id": "98.1", "status": "not yet",
                          "message": "Exercise 98.1 is still open: write its body, then run this cell again."}]
    assert tries("98.1") == 0


def test_hints_are_graded_and_come_after_failed_tries(fake_chapter, monkeypatch, capsys):
    graded = Exercise(id="98.5", title="graded", reference=_sigmoid, cases=[(np.array([0.5]),)],
                      hints=("think about the range", "it is 1 / (1 + something)", "np.exp(-z)"))
    monkeypatch.setattr(fake_chapter, "EXERCISES", FAKE + [graded])
    wrong = lambda z: z  # noqa: E731
    seen = []
    for _ in range(4):
        check("98.5", wrong)
        seen.append(capsys.readouterr().out)
    assert "Hint 1 of 3: think about the range." in seen[0] and "Hint 2" not in seen[0]
    assert "Hint 2 of 3: it is 1 / (1 + something)." in seen[1]
    assert "Hint 3 of 3: np.exp(-z)." in seen[2] and "Hint 3 of 3" in seen[3]
    assert tries("98.5") == 4
    check("98.5", _stub)  # an open stub is no try
    assert tries("98.5") == 4
    assert check("98.5", _sigmoid) is _sigmoid and tries("98.5") == 4
    reset_results()
    assert tries() == {}
    with pytest.raises(TypeError, match="tuple of strings"):
        Exercise(id="98.6", title="t", reference=_sigmoid, hints="one string")


def test_exception_is_an_error_naming_the_input(fake_chapter, capsys):
    def boom(z):
        return 1 // int(z[1])
    assert check("98.1", boom) is _sigmoid
    out = capsys.readouterr().out
    assert "Traceback" not in out and out.count("\n") == 1
    assert "raised ZeroDivisionError: integer division or modulo by zero on input z = array([-2., 0., 3.])" in out
    assert results()[0]["status"] == "error"


def test_mutating_the_input_is_caught(fake_chapter):
    def in_place(x):
        x[0] *= 2
        return x
    r = evaluate("98.3", in_place)
    assert r.status == "not yet" and "changed its input x in place" in r.message
    assert evaluate("98.3", _double_first).passed


def test_verify_exercises(fake_chapter):
    assert evaluate("98.4", lambda x: x * x).passed
    r = evaluate("98.4", lambda x: -x)
    assert r.status == "not yet" and "should be positive" in r.message and "Hint: square it" in r.message
    assert "still open" in evaluate("98.4", _stub).message
    assert evaluate("98.4", lambda x: 1 / 0).status == "error"


def test_not_callable_and_unknown_ids(fake_chapter):
    assert evaluate("98.1", 3).status == "error"
    with pytest.raises(UnknownExerciseError, match="no Exercise 98.9"):
        check("98.9", _sigmoid)
    with pytest.raises(UnknownExerciseError, match="no exercises for chapter 97"):
        check("97.1", _sigmoid)
    with pytest.raises(ValueError, match="not an exercise id"):
        check("one", _sigmoid)


def test_results_order_and_replacement(fake_chapter, capsys):
    check("98.1", _stub)
    check("98.2", _reciprocal)
    check("98.1", _sigmoid)
    assert [(r["id"], r["status"]) for r in results()] == [("98.1", "passed"), ("98.2", "passed")]
    reset_results()
    assert results() == []


def test_display_in_ipython_is_one_deterministic_line(fake_chapter, monkeypatch):
    shown = []
    import IPython
    import IPython.display
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    check("98.1", lambda z: 2 * _sigmoid(z))
    (bundle,) = shown
    assert set(bundle) == {"text/plain", "text/html"}
    assert "\n" not in bundle["text/plain"] and bundle["text/plain"].startswith("✗ Exercise 98.1")
    assert "factor of 2.00" in bundle["text/plain"]
    assert "0x" not in bundle["text/html"] and "&lt;" not in bundle["text/html"][:10]


# ----------------------------------------------------------------------------
# the comparator's messages

def test_compare_equal_things():
    assert compare(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12])) is None
    assert compare(1.5, np.float64(1.5)) is None
    assert compare(2, 2.0) is None
    assert compare((np.ones(2), 3.0), [np.ones(2), 3.0]) is None
    assert compare({"W": np.eye(2)}, {"W": np.eye(2)}) is None
    assert compare(np.array([np.nan, 1.0]), np.array([np.nan, 1.0])) is None


@pytest.mark.parametrize("expected, got, fragment", [
    (np.ones((4, 3)), np.ones((4, 1)), "wrong shape: expected shape (4, 3) but got shape (4, 1)"),
    (np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3).T, "looks transposed"),
    (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 3.0], [2.0, 4.0]]), "looks transposed"),
    (np.array([1.0, 2.0]), np.array([1, 2]), "wrong dtype: expected float64 values but got int64"),
    (1.0, True, "wrong dtype: expected a float64 but got a bool"),
    (np.array([True, False]), np.array([True, True]), "expected array([True, False]) but got array([True, True])"),
    (np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]), "looks off by a factor of 2.00"),
    (np.array([1.0, 2.0, 3.0]), np.array([-1.0, -2.0, -3.0]), "wrong sign"),
    (np.array([1.0, 2.0, 3.0]), np.array([1.0, np.nan, 3.0]), "got NaN where none was expected"),
    (np.array([1.0, 2.0]), np.array([np.inf, 2.0]), "got inf where none was expected"),
    (np.array([1.0, 2.0, 3.0]), np.array([1.5, 2.5, 3.5]), "off by a constant 0.5000"),
    # close but not within tolerance: the offset and the values in enough digits to see it
    (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0]) + 2e-4, "off by a constant 0.0002 in every entry "
     "(expected array([1., 2., 3.]), got array([1.0002, 2.0002, 3.0002]))"),
    (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]), "expected array([1., 2., 3.]) but got array([1., 2.5, 3.])"),
    (np.array([1.0, 2.0]), [1.0, 2.0], "wrong type: expected a numpy array"),
    (np.array([1.0, 2.0]), None, "returned None"),
    (1.0, np.ones(3), "expected a single number but got an array of shape (3,)"),
    (1.0, 0.5, "factor of 0.50"),
    (1.0, 1.3, "expected 1.0 but got 1.3"),
    ((np.ones(2), 1.0), (np.ones(2),), "expected 2 values but got 1"),
    ((np.ones(2), 1.0), (np.ones(2), 2.5), "in output[1]: expected 1.0 but got 2.5"),
    ({"W": np.ones(2), "b": 0.0}, {"W": np.ones(2)}, "missing the key(s) 'b'"),
    ({"W": np.ones(2)}, {"W": np.ones(3)}, "in ['W']: wrong shape"),
])
def test_compare_messages(expected, got, fragment):
    message = compare(expected, got)
    assert message is not None and fragment in message, message
    assert "\n" not in message


def test_a_ratio_near_one_is_not_called_a_factor():
    """Just outside a tight tolerance: say expected/got with enough digits, not 'factor of 1.00'."""
    expected = np.array([2.7, 4.5, 7.4])
    message = compare(expected, expected * (1 + 2e-6), rtol=1e-7, atol=1e-9)
    assert message is not None and "factor" not in message, message
    assert message.startswith("expected array([2.7, 4.5, 7.4]) but got array([2.7000054")


class _FakeTensor:  # stands in for bpkit.Tensor / bpkit.Value (duck-typed by name + module)
    def __init__(self, data):
        self.data = np.asarray(data, dtype=float)


Tensor = type("Tensor", (_FakeTensor,), {"__module__": "bpkit.tensor"})
Value = type("Value", (), {"__module__": "bpkit.scalar", "__init__": lambda self, d: setattr(self, "data", d)})


def test_compare_tensors_and_values():
    assert compare(Tensor([1.0, 2.0]), Tensor([1.0, 2.0])) is None
    assert "factor of 2.00" in compare(Tensor([1.0, 2.0]), Tensor([2.0, 4.0]))
    assert "expected a bpkit Tensor but got a numpy array" in compare(Tensor([1.0]), np.array([1.0]))
    assert compare(Value(0.5), Value(0.5)) is None
    assert "expected 0.5 but got 0.7" in compare(Value(0.5), Value(0.7))
    assert "expected a bpkit Value but got a single number" in compare(Value(0.5), 0.5)
    assert short_repr(Tensor([1.0, 2.0])) == "Tensor(array([1., 2.]))"
    assert short_repr(Value(0.25)) == "Value(data=0.25)"


def test_compare_real_bpkit_objects():
    from bpkit import Tensor as T, Value as V

    assert compare(T(np.ones(2)), T(np.ones(2))) is None
    assert "shape" in compare(T(np.ones(2)), T(np.ones(3)))
    assert compare(V(1.0), V(1.0)) is None
    assert "wrong sign" in compare(V(1.0), V(-1.0))


def test_short_repr_is_short_and_has_no_addresses():
    assert short_repr(np.array([-2.0, 0.0, 3.0])) == "array([-2., 0., 3.])"
    assert short_repr(np.array([0.119202922, 0.5])) == "array([0.1192, 0.5])"
    big = short_repr(np.arange(100.0).reshape(10, 10))
    assert "of shape (10, 10)" in big and len(big) <= 160 and "\n" not in big
    assert not re.search(r"0x[0-9a-f]{6,}", short_repr(object()))
    assert short_repr(np.float64(0.4013123)) == "0.4013"
