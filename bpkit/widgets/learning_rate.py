"""The learning-rate widget (chapters 05-06): a pure function behind a log-scale slider.

The widget is three layers, so each can be tested and read on its own:

1. ``gd_trajectory(lr, ...)`` runs gradient descent (or heavy-ball momentum)
   on a 2-D loss surface and classifies the run (``VERDICTS``): "too small",
   "about right", "about right, zig-zag", "too large, oscillating" or
   "divergent". ``contraction_factors`` and ``optimal_lr`` give the theory
   beside it. Pure numpy, no drawing: the tests call them.
2. ``plot_lr_run(lr, ...)`` draws one run: the loss per step (log scale) and the
   path on the contour plot of the surface, with the verdict in the title, and
   optionally the per-step factors against the learning rate.
   ``plot_lr_gallery(...)`` draws the regimes side by side: the static
   picture a reader sees when the notebook is only read, not run.
3. ``learning_rate_explorer(...)`` wires a ``FloatLogSlider`` (1e-4 to 10) and
   an optimizer dropdown to ``plot_lr_run`` with ``interactive_output``.

The surfaces are quadratics f(w) = 1/2 (w - w*)^T H (w - w*) whose Hessian H
has the curvatures (eigenvalues) 1 and 10, so everything about them is known
in closed form. Along an eigenvector with curvature lam, one gradient-descent
step multiplies the distance to the minimum by (1 - lr * lam). Hence:

* lr < 1 / lam_max:          every coordinate shrinks without changing sign;
* 1 / lam_max < lr < 2 / lam_max: the steep coordinate flips sign every step
  (a zig-zag across the valley) but still shrinks. The zig-zag is harmless:
  the run converges as long as |1 - lr * lam| < 1 for every curvature, and
  the fastest fixed step, 2 / (lam_min + lam_max) = 0.18 here, zig-zags;
  only just below 2 / lam_max is the steep factor so close to 1 that the
  oscillation barely decays ("too large, oscillating");
* lr > 2 / lam_max = 0.2:    the steep coordinate grows by |1 - lr*lam_max| > 1
  per step: the run diverges, however many steps it takes to show.

Heavy-ball momentum (PyTorch's form: v <- beta v + g, w <- w - lr v) is stable
along a direction with curvature lam exactly when lr * lam < 2 (1 + beta), so
its critical learning rate is 2 (1 + beta) / lam_max = 0.38 for beta = 0.9.
``critical_lr`` returns both. matplotlib and ipywidgets are imported here only.
"""
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Surface", "SURFACES", "Trajectory", "VERDICTS", "critical_lr", "optimal_lr", "contraction_factors",
    "gd_trajectory", "ADAPTIVE", "OPTIMIZERS", "plot_lr_run", "plot_factors", "plot_lr_gallery", "explain_lr", "learning_rate_explorer", "GALLERY_LRS",
]

# The verdicts, from the smallest learning rates to the largest (gd_trajectory's docstring defines them).
VERDICTS = ("too small", "about right", "about right, zig-zag", "too large, oscillating", "divergent")

# Verdict thresholds, in one place (the docstring of gd_trajectory explains them).
TOO_SLOW_FRACTION = 1e-2      # not converged: the final loss is still above 1% of the starting loss
ZIGZAG_FRACTION = 0.5         # zig-zag: the steep-direction step flips sign in >= half the steps
BLOW_UP = 1e8                 # stop a run once its loss exceeds this multiple of the starting loss


@dataclass(frozen=True)
class Surface:
    """A 2-D quadratic loss f(w) = 1/2 (w - minimum)^T hessian (w - minimum).

    hessian: (2, 2) symmetric positive definite; curvatures: its eigenvalues,
    ascending; steep: (2,) unit eigenvector of the largest curvature (the
    direction along which a too-large step overshoots first); start: (2,) the
    default starting point; extent: (xmin, xmax, ymin, ymax) of the plots.
    """
    name: str
    hessian: np.ndarray
    minimum: np.ndarray
    start: tuple
    extent: tuple

    @property
    def curvatures(self):
        return np.linalg.eigvalsh(self.hessian)

    @property
    def steep(self):
        return np.linalg.eigh(self.hessian)[1][:, -1]

    def loss(self, w):
        """f at w: (..., 2) -> (...). Works on a grid of points as well as on one point."""
        d = np.asarray(w, dtype=float) - self.minimum
        return 0.5 * np.einsum("...i,ij,...j->...", d, self.hessian, d)

    def grad(self, w):
        """Gradient H (w - minimum): (2,) -> (2,)."""
        return self.hessian @ (np.asarray(w, dtype=float) - self.minimum)


def _rotated_hessian(curvatures, degrees):
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    r = np.array([[c, -s], [s, c]])
    return r @ np.diag(curvatures) @ r.T


SURFACES = {
    # axis-aligned valley: shallow along w1 (curvature 1), steep along w2 (curvature 10)
    "quadratic": Surface("quadratic", np.diag([1.0, 10.0]), np.zeros(2), (-4.0, 2.0), (-5.0, 5.0, -3.0, 3.0)),
    # the same curvatures, valley turned by 30 degrees: a step now mixes both coordinates
    "rotated": Surface("rotated", _rotated_hessian([1.0, 10.0], 30.0), np.zeros(2), (-4.0, 2.0),
                       (-5.0, 5.0, -3.5, 3.5)),
}

OPTIMIZERS = ("gd", "momentum", "nesterov", "rmsprop", "adam")
# Adaptive rules divide by a running RMS of the gradients: their steps are bounded (about lr for Adam,
# lr / sqrt(1 - alpha) = 10 lr for RMSProp), so they never diverge on a quadratic; no fixed per-step factor.
ADAPTIVE = ("rmsprop", "adam")
RMSPROP_ALPHA, ADAM_BETAS, EPS = 0.99, (0.9, 0.999), 1e-8

# One learning rate per regime for plain gradient descent on both surfaces (see the module docstring);
# 0.18 is about the fastest fixed step, 2 / (lam_min + lam_max) = 0.1818.
GALLERY_LRS = {"too small": 0.005, "about right": 0.08, "about right, zig-zag": 0.18,
               "too large, oscillating": 0.199, "divergent": 0.21}


@dataclass
class Trajectory:
    """One run of ``gd_trajectory``.

    path: (steps + 1, 2) parameters w_0 .. w_steps (NaN after a run was stopped
    for blowing up); losses: (steps + 1,) f(w_t), NaN likewise; diverged: bool;
    verdict: one of ``VERDICTS``;
    lr, optimizer, surface: what was run.
    """
    path: np.ndarray
    losses: np.ndarray
    diverged: bool
    verdict: str
    lr: float
    optimizer: str
    surface: str


def _surface(surface):
    if isinstance(surface, Surface):
        return surface
    if surface not in SURFACES:
        raise ValueError(f"gd_trajectory: unknown surface {surface!r}; choose one of {sorted(SURFACES)}")
    return SURFACES[surface]


def critical_lr(surface="quadratic", optimizer="gd", momentum=0.9):
    """The learning rate above which the run diverges: 2 / lam_max (gd), 2 (1 + beta) / lam_max (momentum),
    2 (1 + beta) / ((1 + 2 beta) lam_max) (Nesterov, PyTorch's form), inf for the adaptive rules (never)."""
    lam_max = _surface(surface).curvatures[-1]
    if optimizer == "gd":
        return 2.0 / lam_max
    if optimizer == "momentum":
        return 2.0 * (1.0 + momentum) / lam_max
    if optimizer == "nesterov":
        return 2.0 * (1.0 + momentum) / ((1.0 + 2.0 * momentum) * lam_max)
    if optimizer in ADAPTIVE:
        return np.inf
    raise ValueError(f"critical_lr: unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}")


def optimal_lr(surface="quadratic"):
    """The fastest fixed learning rate of gradient descent: 2 / (lam_min + lam_max).

    It balances the two extreme factors, 1 - lr lam_min = -(1 - lr lam_max), so
    both shrink by (lam_max - lam_min) / (lam_max + lam_min) per step (9/11 here).
    It lies above 1 / lam_max whenever lam_max > lam_min: the fastest run zig-zags.
    """
    lam = _surface(surface).curvatures
    return 2.0 / (lam[0] + lam[-1])


def contraction_factors(lr, surface="quadratic", optimizer="gd", momentum=0.9):
    """Per-step factor by which the distance to the minimum shrinks along each curvature direction.

    Returns an array, one entry per curvature (ascending). Gradient descent:
    |1 - lr lam|. Momentum (heavy ball): the spectral radius of the step's 2x2
    matrix [[1 - lr lam, -lr beta], [lam, beta]] acting on (distance, velocity).
    Nesterov (PyTorch's form): the same for [[1 - lr lam (1 + beta), -lr beta^2], [lam, beta]].
    Every factor below 1: the run converges; the largest sets its speed.
    The adaptive rules are not linear, so they have no such factor: NaN for each curvature.
    """
    lam = _surface(surface).curvatures
    if optimizer == "gd":
        return np.abs(1.0 - lr * lam)
    if optimizer in ("momentum", "nesterov"):
        factors = []
        for l in lam:
            if optimizer == "momentum":
                m = np.array([[1.0 - lr * l, -lr * momentum], [l, momentum]])
            else:
                m = np.array([[1.0 - lr * l * (1.0 + momentum), -lr * momentum ** 2], [l, momentum]])
            factors.append(np.max(np.abs(np.linalg.eigvals(m))))
        return np.array(factors)
    if optimizer in ADAPTIVE:
        return np.full(len(lam), np.nan)
    raise ValueError(f"contraction_factors: unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}")


def gd_trajectory(lr, steps=50, surface="quadratic", start=None, optimizer="gd", momentum=0.9):
    """Run ``steps`` updates from ``start`` and classify the run from what it did.

    lr: learning rate (> 0); steps: number of updates; surface: a name in
    ``SURFACES`` or a ``Surface``; start: (2,) starting point (default: the
    surface's); optimizer: "gd" (w <- w - lr g), "momentum" (v <- beta v + g,
    w <- w - lr v, PyTorch's heavy ball, beta = ``momentum``), "nesterov"
    (the same v, w <- w - lr (g + beta v)), "rmsprop" (alpha 0.99) or "adam"
    (betas 0.9, 0.999, bias-corrected), both with eps 1e-8 outside the root.

    The verdict, checked in this order, from the run alone:

    * "divergent": the loss became non-finite or passed ``BLOW_UP`` times its
      start, or the distance to the minimum along the steep direction reached
      a new high in the last quarter of the run (it is growing). For gradient
      descent that distance is |1 - lr lam_max|^t |u_0|, so this fires for every
      lr > 2 / lam_max and never for lr <= 2 / lam_max. With momentum the
      distance oscillates on its way down, so within 50 steps the boundary
      2 (1 + beta) / lam_max is found to within about 0.1%, not exactly.
      An adaptive rule ("rmsprop", "adam") is "divergent" only if it blows up,
      which its bounded steps never do on these surfaces: a too-large lr
      shows as "too large, oscillating" (it keeps swinging around the minimum).
      It counts as converged only if its loss stayed below 1% of the start
      over the last quarter of the run (it may dip and be kicked out again);
      if not, it is "too large, oscillating" when it had reached 1% of the
      start before (and was thrown out again), else "too small".
    * converged or not: the final loss is below 1% of the starting loss, or not;
      zig-zag or not: the step along the steep direction flipped sign in at
      least half of the consecutive pairs of steps. Then:
      "too small" (not converged, no zig-zag: the flat direction is slow),
      "too large, oscillating" (not converged, zig-zag: lr is so close to
      2 / lam_max that the steep direction barely shrinks),
      "about right" (converged, no zig-zag) and "about right, zig-zag"
      (converged with a zig-zag, which is harmless while |1 - lr lam| < 1 for
      every curvature; the fastest fixed step 2 / (lam_min + lam_max) is one).

    Returns a ``Trajectory`` with path (steps + 1, 2) and losses (steps + 1,).
    """
    if not lr > 0:
        raise ValueError(f"gd_trajectory: the learning rate must be > 0, got {lr}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"gd_trajectory: unknown optimizer {optimizer!r}; choose one of {OPTIMIZERS}")
    surf = _surface(surface)
    w = np.array(surf.start if start is None else start, dtype=float)
    path = np.full((steps + 1, 2), np.nan)
    losses = np.full(steps + 1, np.nan)
    path[0], losses[0] = w, surf.loss(w)
    v, s = np.zeros(2), np.zeros(2)
    blew_up = False
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = surf.grad(w)
            if optimizer in ("momentum", "nesterov"):
                v = momentum * v + g
                w = w - lr * (v if optimizer == "momentum" else g + momentum * v)
            elif optimizer == "rmsprop":
                s = RMSPROP_ALPHA * s + (1 - RMSPROP_ALPHA) * g * g
                w = w - lr * g / (np.sqrt(s) + EPS)
            elif optimizer == "adam":
                (b1, b2) = ADAM_BETAS
                v = b1 * v + (1 - b1) * g
                s = b2 * s + (1 - b2) * g * g
                w = w - lr * (v / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + EPS)
            else:
                w = w - lr * g
            path[t], losses[t] = w, surf.loss(w)
            if not np.isfinite(losses[t]) or losses[t] > BLOW_UP * max(losses[0], 1e-300):
                blew_up = True
                break
    n = t + 1 if blew_up else steps + 1                 # number of recorded points
    u = np.abs((path[:n] - surf.minimum) @ surf.steep)  # distance to the minimum along the steep direction
    tail = max(1, (n - 1) // 4)
    growing = n > tail + 1 and u[-tail:].max() > u[:-tail].max()
    diverged = bool(blew_up or (growing and optimizer not in ADAPTIVE))

    du = np.diff((path[:n] - surf.minimum) @ surf.steep)  # steep-direction steps
    flips = np.mean(du[1:] * du[:-1] < 0) if len(du) > 1 else 0.0
    zigzag = flips >= ZIGZAG_FRACTION
    converged = losses[n - 1] <= TOO_SLOW_FRACTION * losses[0]
    if optimizer in ADAPTIVE:       # an adaptive run may dip and be kicked out again: it must stay down
        converged = np.nanmax(losses[n - 1 - tail:n]) <= TOO_SLOW_FRACTION * losses[0]
    if optimizer in ADAPTIVE and not diverged and not converged:
        # bounded steps: not converged is either slow (never got near), or a run that reached the
        # minimum's neighbourhood and was thrown out again: too large, oscillating
        zigzag = bool(np.nanmin(losses[:n]) <= TOO_SLOW_FRACTION * losses[0])
    if diverged:
        verdict = "divergent"
    elif not converged:
        verdict = "too large, oscillating" if zigzag else "too small"
    else:
        verdict = "about right, zig-zag" if zigzag else "about right"
    return Trajectory(path, losses, diverged, verdict, float(lr), optimizer, surf.name)


# ----------------------------------------------------------------------------- drawing

_VERDICT_COLOUR = {"too small": 5, "about right": 2, "about right, zig-zag": 4,
                   "too large, oscillating": 1, "divergent": 3}   # PALETTE indices


def _draw_contours(ax, surf):
    from bpkit.plots import PALETTE
    x0, x1, y0, y1 = surf.extent
    xs, ys = np.meshgrid(np.linspace(x0, x1, 121), np.linspace(y0, y1, 121))
    z = surf.loss(np.stack([xs, ys], axis=-1))
    levels = np.geomspace(0.05, z.max(), 12)
    ax.contour(xs, ys, z, levels=levels, colors=PALETTE[7], alpha=0.35, linewidths=0.8)
    ax.plot(*surf.minimum, marker="*", markersize=12, color=PALETTE[7], linestyle="none")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")


def _factors_text(lr, surface, optimizer, momentum):
    """'|1 - lr λ| = 0.82, 0.80' (gd) or 'factors 0.95, 0.95' (momentum), one per curvature."""
    if optimizer in ADAPTIVE:
        return "adaptive: no fixed per-step factor"
    factors = ", ".join(f"{f:.2f}" for f in contraction_factors(lr, surface, optimizer, momentum))
    return f"|1 - lr λ| = {factors}" if optimizer == "gd" else f"per-step factors {factors}"


def plot_lr_run(lr, ax_pair=None, steps=50, surface="quadratic", start=None, optimizer="gd", momentum=0.9,
                ax_factors=None):
    """Draw one run: loss per step (log scale) on the left, the path on the contours on the right.

    ax_pair: two matplotlib Axes to draw into, or None for a new figure (with
    a third panel, the per-step factors against lr: ``plot_factors``).
    ax_factors: an Axes for that third panel when ax_pair is given (optional).
    The verdict, the per-step factors and the critical learning rate are in
    the titles. Returns the ``Trajectory`` that was drawn (so a caller can assert on it).
    """
    import matplotlib.pyplot as plt
    from bpkit.plots import PALETTE

    traj = gd_trajectory(lr, steps=steps, surface=surface, start=start, optimizer=optimizer, momentum=momentum)
    surf = _surface(surface)
    if ax_pair is None:
        _, axes = plt.subplots(1, 3, figsize=(14, 3.9), constrained_layout=True)
        ax_pair, ax_factors = axes[:2], axes[2]
    ax_loss, ax_path = ax_pair
    colour = PALETTE[_VERDICT_COLOUR[traj.verdict]]

    ok = np.isfinite(traj.losses) & (traj.losses > 0)
    ax_loss.semilogy(np.arange(steps + 1)[ok], traj.losses[ok], color=colour, marker=".", markersize=4)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("loss (log scale)")
    ax_loss.set_title(f"loss, lr = {lr:.3g}\n{_factors_text(lr, surf, optimizer, momentum)}")

    _draw_contours(ax_path, surf)
    ax_path.plot(traj.path[:, 0], traj.path[:, 1], color=colour, marker="o", markersize=3, linewidth=1.2)
    ax_path.plot(*traj.path[0], marker="s", color=PALETTE[0], markersize=7, linestyle="none")
    crit = critical_lr(surf, optimizer, momentum)
    never = "never diverges" if np.isinf(crit) else f"critical lr = {crit:.3g}"
    ax_path.set_title(f"{optimizer}: {traj.verdict}  ({never})")
    if ax_factors is not None:
        plot_factors(lr, ax=ax_factors, surface=surf, optimizer=optimizer, momentum=momentum)
    return traj


def plot_factors(lr=None, ax=None, surface="quadratic", optimizer="gd", momentum=0.9):
    """The per-step factor along each curvature direction against the learning rate (log x).

    Marks the critical learning rate (a factor reaches 1) and, for gradient
    descent, the fastest fixed step 2 / (lam_min + lam_max), where the largest
    factor is smallest; lr (optional) is drawn as a vertical line. Returns the Axes.
    """
    import matplotlib.pyplot as plt
    from bpkit.plots import PALETTE

    surf = _surface(surface)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.8), constrained_layout=True)
    if optimizer in ADAPTIVE:
        ax.text(0.5, 0.5, f"{optimizer} is adaptive:\nits steps are bounded by about lr,\nso no learning rate "
                "diverges;\ntoo large a one keeps it oscillating", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("per-step factor")
        ax.set_title("no fixed per-step factor")
        return ax
    lrs = np.geomspace(1e-4, 10, 400)
    factors = np.array([contraction_factors(r, surf, optimizer, momentum) for r in lrs])
    for k, lam in enumerate(surf.curvatures):
        ax.semilogx(lrs, factors[:, k], color=PALETTE[k], label=f"λ = {lam:g}")
    ax.axhline(1.0, color=PALETTE[7], linewidth=0.8, linestyle=":")
    crit = critical_lr(surf, optimizer, momentum)
    ax.axvline(crit, color=PALETTE[3], linewidth=0.8, linestyle="--", label=f"diverges above {crit:.3g}")
    if optimizer == "gd":
        best = optimal_lr(surf)
        ax.plot([best], [contraction_factors(best, surf).max()], marker="*", markersize=11, color=PALETTE[2],
                 linestyle="none", label=f"fastest lr {best:.3g}")
    if lr is not None:
        ax.axvline(lr, color=PALETTE[4], linewidth=1.2, label=f"lr = {lr:.3g}")
    ax.set_ylim(0, 1.6)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("per-step factor" if optimizer != "gd" else "|1 - lr λ| per step")
    ax.set_title("per-step factor (< 1: converges)")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def plot_lr_gallery(lrs=None, steps=50, surface="quadratic", optimizer="gd", momentum=0.9):
    """The regimes side by side: one column per learning rate, path on top, loss below.

    lrs: a dict {label: lr} or a sequence of learning rates (default: ``GALLERY_LRS``,
    one per regime for plain gradient descent). Returns (figure, list of Trajectory).
    """
    import matplotlib.pyplot as plt

    lrs = GALLERY_LRS if lrs is None else lrs
    items = list(lrs.values()) if isinstance(lrs, dict) else list(lrs)
    fig, axes = plt.subplots(2, len(items), figsize=(3.1 * len(items), 6.2), constrained_layout=True,
                             squeeze=False)
    trajs = []
    for k, lr in enumerate(items):
        traj = plot_lr_run(lr, ax_pair=(axes[1, k], axes[0, k]), steps=steps, surface=surface,
                           optimizer=optimizer, momentum=momentum)
        axes[0, k].set_title(f"lr = {lr:.3g}: {traj.verdict}")  # the loss panel keeps plot_lr_run's title
        trajs.append(traj)
    crit = critical_lr(surface, optimizer, momentum)
    never = "never diverges" if np.isinf(crit) else f"critical lr = {crit:.3g}"
    fig.suptitle(f"{optimizer} on the {_surface(surface).name} surface, {steps} steps ({never})")
    return fig, trajs


def explain_lr(lr, traj=None, surface="quadratic", optimizer="gd", momentum=0.9):
    """The line the explorer prints under its plot: verdict, per-step factors, and (gd) the fastest lr."""
    traj = traj or gd_trajectory(lr, surface=surface, optimizer=optimizer, momentum=momentum)
    line = f"lr = {lr:.4f}: {traj.verdict}; {_factors_text(lr, surface, optimizer, momentum)}"
    if optimizer == "gd":
        best = optimal_lr(surface)
        line += (f"; fastest fixed lr 2 / (λmin + λmax) = {best:.3f} "
                 f"(|1 - lr λ| = {contraction_factors(best, surface).max():.3f} in both directions)")
    return line


def learning_rate_explorer(lr=0.05, steps=50, surface="quadratic", start=None):
    """A log-scale learning-rate slider (1e-4 to 10), an optimizer and a surface dropdown redrawing ``plot_lr_run``.

    Returns the ipywidgets VBox (display it, or leave it as a cell's last
    expression). The drawing runs in an ``interactive_output``, so the same
    function the tests call is what the reader sees.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    slider = widgets.FloatLogSlider(value=lr, base=10, min=-4, max=1, step=0.05, description="lr",
                                    readout_format=".4f", continuous_update=False)
    dropdown = widgets.Dropdown(options=[("gradient descent", "gd"), ("momentum 0.9", "momentum"),
                                         ("Nesterov 0.9", "nesterov"), ("RMSProp", "rmsprop"), ("Adam", "adam")],
                                value="gd", description="optimizer")
    surfaces = widgets.Dropdown(options=list(SURFACES), value=surface, description="surface")

    def draw(lr, optimizer, surface):
        traj = plot_lr_run(lr, steps=steps, surface=surface, start=start, optimizer=optimizer)
        plt.show()
        print(explain_lr(lr, traj, surface=surface, optimizer=optimizer))

    out = widgets.interactive_output(draw, {"lr": slider, "optimizer": dropdown, "surface": surfaces})
    return widgets.VBox([widgets.HBox([slider, dropdown, surfaces]), out])
