"""Plotting helpers for the course (matplotlib loads only when this module is imported).

Every figure in the course uses ``PALETTE``, the Okabe-Ito colour-blind-safe
palette, and has a title and labelled axes.
"""
import matplotlib.pyplot as plt

__all__ = ["PALETTE", "use_course_style"]

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]


def use_course_style():
    """Set the course's defaults: the palette as colour cycle, a grid, readable sizes."""
    plt.rcParams.update({
        "axes.prop_cycle": plt.cycler(color=PALETTE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.figsize": (6.4, 4.0),
        "figure.dpi": 80,
        "font.size": 11,
    })
