"""Chapter 00 (Start here): small exercises about a straight line that show how checks work."""
import numpy as np

from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "line", "line_through", "zero_crossing"]


def line(x, w, b):
    """y = w x + b for a number or elementwise for an array x; w, b: numbers."""
    return w * x + b


def line_through(x0, y0, x1, y1):
    """The line through (x0, y0) and (x1, y1), x0 != x1, as (w, b): slope and intercept."""
    w = (y1 - y0) / (x1 - x0)
    return w, y0 - w * x0


def zero_crossing(w, b):
    """Where the line y = w x + b crosses y = 0, i.e. x = -b / w (w != 0)."""
    return -b / w


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
    Exercise(
        id="0.2",
        title="the line through two points",
        reference=line_through,
        cases=[(1.0, 2.0, 5.0, 3.0), (-2.0, 1.0, 2.0, -1.0), (0.5, 2.0, 4.5, 2.0)],
        hint="the slope is rise over run, (y1 - y0) / (x1 - x0); then pick b so that w x0 + b = y0",
        mistakes=[
            (lambda x0, y0, x1, y1: ((x1 - x0) / (y1 - y0), y0 - (x1 - x0) / (y1 - y0) * x0), "output[0]"),
            (lambda x0, y0, x1, y1: ((y1 - y0) / (x1 - x0), y0), "output[1]"),
            (lambda x0, y0, x1, y1: (y1 - y0) / (x1 - x0), "wrong type"),
        ],
    ),
    Exercise(
        id="0.3",
        title="where a line crosses zero",
        reference=zero_crossing,
        cases=[(2.0, 0.5), (-0.5, 2.0), (4.0, 0.0)],
        hint="solve w x + b = 0 for x",
        mistakes=[
            (lambda w, b: b / w, "wrong sign"),
            (lambda w, b: -w / b, "expected"),
        ],
    ),
]
