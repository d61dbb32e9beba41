"""Chapter 00 (Start here): small exercises about a straight line that show how checks work.

Each case list has inputs whose answers differ, chosen so that the shortcuts a
learner might take (slope and intercept swapped, a sign lost, a Python list
instead of an array, the input changed in place, the points mixed up) give a
different answer on at least one case; every such mistake is listed with the
words its message must contain (tests/test_exercises.py tries each one).
"""
import numpy as np

from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "line", "line_through", "zero_crossing"]


def line(x, w, b):
    """The height of the line with slope w and intercept b at x (a number, or an array entry by entry)."""
    return w * x + b


def line_through(x0, y0, x1, y1):
    """The line through (x0, y0) and (x1, y1), x0 != x1, as (w, b): slope and intercept."""
    w = (y1 - y0) / (x1 - x0)
    return w, y0 - w * x0


def zero_crossing(w, b):
    """Where the line with slope w (not 0) and intercept b has height 0."""
    return -b / w


# ----------------------------------------------------------------------------
# typical wrong answers (each must be rejected)

def _line_in_place(x, w, b):
    x *= w  # changes the caller's array
    x += b
    return x


def _line_without_return(x, w, b):
    y = w * x + b  # noqa: F841 -- computed, never returned


def _line_loop(x, w, b):
    return [w * xi + b for xi in x]


def _crossing_without_return(w, b):
    x = -b / w  # noqa: F841


EXERCISES = [
    Exercise(
        id="0.1",
        title="a straight line",
        reference=line,
        cases=[(np.array([-1.0, 0.0, 2.0]), 2.0, 0.5), (3.0, -1.0, 4.0), (np.zeros((2, 2)), 1.5, -1.0),
               (np.array([0.3, -1.7]), 0.7, 0.15)],  # answers with more than one decimal
        hints=(
            "at x = 0 the line is at height b, and every step of 1 in x raises it by w",
            "numpy's arithmetic works entry by entry, so the expression you would write for one number "
            "serves a whole array too: no loop and no list needed",
            "scale x by the slope, then shift by the intercept, and return that new value "
            "(leave x itself unchanged)",
        ),
        mistakes=[
            (lambda x, w, b: w * x, "off by a constant"),            # intercept forgotten
            (lambda x, w, b: x * b + w, "expected"),                 # slope and intercept swapped
            (lambda x, w, b: x + b, "expected"),                     # slope forgotten
            (lambda x, w, b: w * (x + b), "expected"),               # shift before the scaling
            (_line_loop, "wrong type"),                              # a list, not an array
            (_line_in_place, "changed its input"),                   # the caller's x overwritten
            (_line_without_return, "is a `return` missing?"),
            (lambda x, w, b: np.round(w * x + b, 1), "expected"),     # rounded to the answers shown
        ],
    ),
    Exercise(
        id="0.2",
        title="the line through two points",
        reference=line_through,
        cases=[(1.0, 2.0, 5.0, 3.0), (-2.0, 1.0, 2.0, -1.0), (0.5, 2.0, 4.5, 2.0)],
        hints=(
            "the slope is how much y changes for each unit that x changes between the two points",
            "take the change in y and the change in x in the same order (second point minus first); "
            "the slope is their ratio",
            "the point (x0, y0) lies on the line, so its height w x0 + b must equal y0: solve that for b",
        ),
        mistakes=[
            (lambda x0, y0, x1, y1: ((x1 - x0) / (y1 - y0), y0 - (x1 - x0) / (y1 - y0) * x0), "output[0]"),
            (lambda x0, y0, x1, y1: ((y1 - y0) / (x0 - x1), y0 - (y1 - y0) / (x0 - x1) * x0), "output[0]"),
            (lambda x0, y0, x1, y1: ((y1 - y0) / x1 - x0, y0 - ((y1 - y0) / x1 - x0) * x0), "output[0]"),
            (lambda x0, y0, x1, y1: ((y1 - y0) // (x1 - x0), y0 - (y1 - y0) // (x1 - x0) * x0), "output[0]"),
            (lambda x0, y0, x1, y1: ((y1 - y0) / (x1 - x0), y0), "output[1]"),           # b = y0
            (lambda x0, y0, x1, y1: ((y1 - y0) / (x1 - x0), y0 + (y1 - y0) / (x1 - x0) * x0), "output[1]"),
            (lambda x0, y0, x1, y1: ((y1 - y0) / (x1 - x0), y1 - (y1 - y0) / (x1 - x0) * x0), "output[1]"),
            (lambda x0, y0, x1, y1: (y0 - (y1 - y0) / (x1 - x0) * x0, (y1 - y0) / (x1 - x0)), "output[0]"),
            (lambda x0, y0, x1, y1: (y1 - y0) / (x1 - x0), "wrong type"),                # the slope only
        ],
    ),
    Exercise(
        id="0.3",
        title="where a line crosses zero",
        reference=zero_crossing,
        cases=[(2.0, 0.5), (-0.5, 2.0), (4.0, 0.0)],
        hints=(
            "at the crossing the line's height is exactly 0: one equation, one unknown x",
            "first get the term with x alone on one side, then undo the multiplication by w; "
            "mind the sign when b changes sides",
        ),
        mistakes=[
            (lambda w, b: b / w, "wrong sign"),
            (lambda w, b: -w / b, "expected"),
            (lambda w, b: -b * w, "expected"),
            (lambda w, b: np.roots([w, b]), "wrong shape"),  # a 1-entry array, not a number
            (_crossing_without_return, "is a `return` missing?"),
        ],
    ),
]
