"""The course's interactive widgets, each three layers: a pure function, a plot, the wiring.

* ``learning_rate`` (chapters 05-06): gradient descent and its variants on a 2-D
  surface, one learning rate at a time (``learning_rate_explorer``).
* ``depth`` (chapter 08): one batch of real data through an MLP of any depth,
  its per-layer gradient norms and activation spread (``depth_explorer``).

The pure functions take no drawing library; matplotlib and ipywidgets are
imported only by the plotting and wiring functions.
"""
from bpkit.widgets.depth import (DEPTH_ACTIVATIONS, DEPTH_INITS, DEPTH_VERDICTS, DepthRun, depth_explorer,
                                 depth_run, plot_depth_gallery, plot_depth_run)
from bpkit.widgets.learning_rate import (ADAPTIVE, GALLERY_LRS, OPTIMIZERS, SURFACES, VERDICTS, Surface, Trajectory,
                                         contraction_factors, critical_lr, explain_lr, gd_trajectory,
                                         learning_rate_explorer, optimal_lr, plot_factors, plot_lr_gallery,
                                         plot_lr_run)

__all__ = [
    "Surface", "SURFACES", "Trajectory", "VERDICTS", "critical_lr", "optimal_lr", "contraction_factors",
    "gd_trajectory", "ADAPTIVE", "OPTIMIZERS", "plot_lr_run", "plot_factors", "plot_lr_gallery", "explain_lr",
    "learning_rate_explorer", "GALLERY_LRS",
    "DepthRun", "DEPTH_VERDICTS", "DEPTH_ACTIVATIONS", "DEPTH_INITS", "depth_run", "plot_depth_run",
    "plot_depth_gallery", "depth_explorer",
]
