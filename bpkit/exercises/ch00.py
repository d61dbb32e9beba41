"""Chapter 00 (Start here): the demo exercise that shows how checks work."""
import numpy as np

from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "line"]


def line(x, w, b):
    """y = w x + b for a number or elementwise for an array x; w, b: numbers."""
    return w * x + b


EXERCISES = [
    Exercise(
        id="0.1",
        title="a straight line",
        reference=line,
        cases=[(np.array([-1.0, 0.0, 2.0]), 2.0, 0.5), (3.0, -1.0, 4.0), (np.zeros((2, 2)), 1.5, -1.0)],
        hint="multiply x by the slope w, then add the intercept b",
        mistakes=[
            (lambda x, w, b: w * x, "off by a constant"),
            (lambda x, w, b: x * b + w, "expected"),
            (lambda x, w, b: [w * x + b], "wrong type"),
        ],
    ),
]
