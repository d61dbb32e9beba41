"""Checked exercises for the course notebooks.

``check("1.1", sigmoid)`` judges a learner's function against the reference in
``bpkit/exercises/ch01.py``, shows one line and returns the function to use
next; ``results()`` lists this process's verdicts. See ``core.py``.
"""
from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import (
    Exercise,
    Result,
    UnknownExerciseError,
    assert_passed,
    chapter_exercises,
    check,
    evaluate,
    get_exercise,
    reset_results,
    results,
    tries,
)

__all__ = [
    "Exercise", "Result", "UnknownExerciseError", "assert_passed", "chapter_exercises", "check",
    "compare", "evaluate", "get_exercise", "reset_results", "results", "short_repr", "tries",
]
