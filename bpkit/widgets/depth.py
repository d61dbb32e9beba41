"""The depth widget (chapter 08): how a signal fares through many layers, forward and backward.

Three layers, as the learning-rate widget:

1. ``depth_run(depth, activation, init, residual, seed)`` sends one batch of
   real data (standardized digits, 64 features) through an MLP of ``depth``
   blocks of width 64 and a Linear(64, 10) head, takes the cross-entropy loss
   backward, and records per block (``bpkit.diagnostics.layer_stats``): the
   norm of the gradient reaching its output, |dL/dh_l|, its weight's gradient
   norm, and its output's standard deviation. float64 throughout; a run whose
   activations pass 1e100 stops there (``LIMIT``), so nothing overflows.
2. ``plot_depth_run(...)`` draws both profiles on log scales with the verdict in
   the title; ``plot_depth_gallery()`` draws the classic cases side by side.
3. ``depth_explorer()`` wires a depth slider, activation and initialization
   menus, a residual checkbox and a "new draw" button to ``plot_depth_run``.

A block computes h_l = act(W_l h_{l-1} + b_l), or h_{l-1} + act(W_l h_{l-1} + b_l)
with residual connections. The initializations: "naive" N(0, 1); "small"
N(0, 0.01^2); "xavier" (Glorot normal, gain 1); "he" (Kaiming normal, fan_in,
ReLU's gain sqrt(2)). Biases start at 0.

The verdict rule (``verdict``), with r_back = |dL/dh_1| / |dL/dh_L| (how much
the backward signal grew on its way from the last block to the first) and
r_fwd = std(h_L) / std(h_1) (how much the forward signal grew), the first that applies:

1. "exploding" if the forward pass stopped at the limit;
2. "vanishing" if no gradient at all reached some block (all its units dead);
3. "exploding" if r_back > 100 or r_fwd > 100 (growth wins: such a run is unusable either way);
4. "vanishing" if r_back < 1/100 or r_fwd < 1/100;
5. "healthy": both signals kept their scale within a factor of 100 over the whole depth.
"""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bpkit import nn
from bpkit.diagnostics import layer_stats
from bpkit.errors import BpkitTypeError, BpkitValueError
from bpkit.nn import init as nn_init
from bpkit.tensor import Tensor

__all__ = ["DepthRun", "DEPTH_VERDICTS", "DEPTH_ACTIVATIONS", "DEPTH_INITS", "FACTOR", "LIMIT", "verdict",
           "depth_run", "plot_depth_run", "plot_depth_gallery", "depth_explorer"]

DEPTH_VERDICTS = ("vanishing", "healthy", "exploding")
DEPTH_ACTIVATIONS = ("sigmoid", "tanh", "relu", "gelu")
DEPTH_INITS = {"naive": "naive N(0, 1)", "small": "small N(0, 0.01²)", "xavier": "Xavier (Glorot)",
               "he": "He (Kaiming)"}
FACTOR = 100.0   # a signal that grew or shrank by more than this over the network is exploding/vanishing
LIMIT = 1e100    # stop the forward pass once an activation passes this: float64 ends near 1e308
WIDTH = 64       # the digits' 64 features, so every block (the first too) can be residual
MAX_DEPTH = 60

# the classic cases the gallery draws: (activation, init, residual)
GALLERY = (("sigmoid", "naive", False), ("sigmoid", "xavier", False), ("tanh", "small", False),
           ("tanh", "xavier", False), ("relu", "xavier", False), ("relu", "he", False),
           ("relu", "naive", False), ("relu", "small", True), ("sigmoid", "xavier", True))


@dataclass
class DepthRun:
    """One batch through one network: per-block profiles (index 0 is block 1), and the verdict."""
    depth: int
    activation: str
    init: str
    residual: bool
    seed: int
    grad_norm: np.ndarray         # |dL/dh_l|, the gradient reaching block l's output (NaN after a stop)
    weight_grad_norm: np.ndarray  # |dL/dW_l|, what an optimizer would see
    act_std: np.ndarray           # std of block l's output over the batch and units
    stopped_at: object            # None, or the block (1-based) whose output passed LIMIT
    loss: float
    verdict: str
    reason: str


def verdict(grad_norm, act_std, stopped_at=None):
    """(verdict, reason) for the profiles of one run, by the rule in the module docstring."""
    grad_norm, act_std = np.asarray(grad_norm, float), np.asarray(act_std, float)
    if stopped_at is not None:
        return "exploding", f"the activations passed {LIMIT:.0e} at block {stopped_at}: the run stopped there"
    depth = len(act_std)
    with np.errstate(divide="ignore", invalid="ignore"):
        r_back = grad_norm[0] / grad_norm[-1]
        r_fwd = act_std[-1] / act_std[0]
    back = (f"the gradient reaching block 1 is {r_back:.1e} times the one reaching block {depth}")
    fwd = f"the activations' spread at block {depth} is {r_fwd:.1e} times block 1's"
    if not np.all(grad_norm > 0):
        return "vanishing", "no gradient at all reaches some block (every unit there is dead)"
    if r_back > FACTOR:
        return "exploding", back
    if r_fwd > FACTOR:
        return "exploding", fwd
    if r_back < 1 / FACTOR:
        return "vanishing", back
    if not r_fwd >= 1 / FACTOR:
        return "vanishing", fwd
    return "healthy", f"{back}; {fwd} (both within a factor of {FACTOR:.0f})"


@lru_cache(maxsize=1)
def _digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-8), y


class Block(nn.Module):
    """act(lin(h)), plus h itself when residual: the skip connection is one addition."""

    def __init__(self, lin, act, residual):
        self.lin, self.act, self.residual = lin, act, residual

    def forward(self, h):
        out = self.act(self.lin(h))
        return h + out if self.residual else out


def _check(depth, activation, init, width, batch):
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
        raise BpkitValueError(f"depth_run: depth must be a whole number >= 1, got {depth!r:.40}")
    if activation not in DEPTH_ACTIVATIONS:
        raise BpkitValueError(f"depth_run: unknown activation {activation!r:.40}; "
                              f"choose one of {', '.join(DEPTH_ACTIVATIONS)}")
    if init not in DEPTH_INITS:
        raise BpkitValueError(f"depth_run: unknown init {init!r:.40}; choose one of {', '.join(DEPTH_INITS)}")
    for name, v in (("width", width), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise BpkitTypeError(f"depth_run: {name} must be a whole number >= 1, got {v!r:.40}")


def depth_run(depth, activation="tanh", init="xavier", residual=False, seed=0, width=WIDTH, batch=256):
    """Run one batch of digits through an MLP of ``depth`` blocks; profiles and verdict as a ``DepthRun``.

    seed draws both the batch (``batch`` rows of the 1797) and the weights, so
    the same arguments give the same run. width: the blocks' units (64 by
    default; with another width the first block maps 64 -> width and is never
    residual). Pure: no drawing, float64, no warnings.
    """
    _check(depth, activation, init, width, batch)

    X, y = _digits()
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(X), size=min(batch, len(X)), replace=False)
    acts = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}
    blocks, sizes = [], [X.shape[1]] + [width] * depth
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        blocks.append(Block(nn.Linear(fan_in, fan_out, dtype=np.float64, rng=rng), acts[activation](),
                            bool(residual) and fan_in == fan_out))
    head = nn.Linear(width, 10, dtype=np.float64, rng=rng)
    for lin in [b.lin for b in blocks] + [head]:
        _initialize(lin, init, rng)
    model = nn.Sequential(*blocks, head)
    with _one_thread():
        stats = layer_stats(model, Tensor(X[rows]), y[rows], layers=[Block], limit=LIMIT)
    stopped_at = None
    if stats.stopped is not None:
        stopped_at = int(stats.stopped) + 1   # Sequential names its blocks "0", "1", ...
    grad = stats.column("grad_norm")
    std = stats.column("std")
    wgrad = np.array([p.grad_norm for p in stats.params if p.name.endswith("lin.weight")])
    kind, reason = verdict(grad, std, stopped_at)
    return DepthRun(depth, activation, init, bool(residual), seed, grad, wgrad, std, stopped_at,
                    float("nan") if stats.loss is None else stats.loss, kind, reason)


def _initialize(lin, init, rng):
    nn_init.zeros_(lin.bias)
    if init == "naive":
        nn_init.normal_(lin.weight, 0.0, 1.0, generator=rng)
    elif init == "small":
        nn_init.normal_(lin.weight, 0.0, 0.01, generator=rng)
    elif init == "xavier":
        nn_init.xavier_normal_(lin.weight, generator=rng)
    else:
        nn_init.kaiming_normal_(lin.weight, nonlinearity="relu", generator=rng)


class _one_thread:
    """Limit BLAS to one thread while a run computes: its matrices are small, and threads only contend."""

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # threadpoolctl comes with scikit-learn; without it, run as configured
            self._limits = None
            return self
        self._limits = threadpool_limits(limits=1, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self._limits is not None:
            self._limits.restore_original_limits()


_COLOUR = {"vanishing": 0, "healthy": 2, "exploding": 3}


def _span_decades(ax, values, decades=4):
    """Make a log y-axis show at least ``decades`` powers of ten around the data: a flat profile looks flat."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return
    lo, hi = np.log10(v.min()), np.log10(v.max())
    if hi - lo < decades:
        mid = (hi + lo) / 2
        ax.set_ylim(10 ** (mid - decades / 2), 10 ** (mid + decades / 2))


def plot_depth_run(depth=50, activation="tanh", init="xavier", residual=False, seed=0, axes=None, run=None):
    """Draw one run (or ``run``, a DepthRun): gradient norms and activation spread per block, log scales."""
    import matplotlib.pyplot as plt
    run = run or depth_run(depth, activation, init, residual, seed)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_g, ax_a = axes
    colour = f"C{_COLOUR[run.verdict]}"
    blocks = np.arange(1, len(run.act_std) + 1)
    if np.any(np.isfinite(run.grad_norm)):
        ax_g.semilogy(blocks, run.grad_norm, "o-", ms=3, color=colour, label="|dL/dh_l| (reaching block l)")
        ax_g.semilogy(blocks, run.weight_grad_norm[:len(blocks)], "--", color="0.5", label="|dL/dW_l|")
        ax_g.legend(fontsize=8, loc="best")
        _span_decades(ax_g, np.concatenate([run.grad_norm, run.weight_grad_norm]))
    else:
        ax_g.text(0.5, 0.5, "no backward pass:\nthe forward pass exploded", ha="center", va="center",
                  transform=ax_g.transAxes)
    ax_g.set_xlabel("block l")
    ax_g.set_title("gradient norm per block")
    ax_a.semilogy(blocks, run.act_std, "o-", ms=3, color=colour)
    _span_decades(ax_a, run.act_std)
    ax_a.set_xlabel("block l")
    ax_a.set_title("activation std per block")
    for ax in axes:
        ax.set_xlim(0.5, max(run.depth, len(blocks)) + 0.5)
        ax.grid(True, which="major", alpha=0.3)
    skip = ", residual" if run.residual else ""
    ax_g.figure.suptitle(f"{run.verdict}: {run.activation}, {DEPTH_INITS[run.init]}{skip}, "
                         f"{run.depth} blocks (draw {run.seed})", color=colour)
    ax_g.figure.tight_layout()
    return run


def plot_depth_gallery(depth=50, seed=0, cases=GALLERY):
    """The classic cases at one depth, one small panel each (gradient reaching each block), verdicts in titles."""
    import matplotlib.pyplot as plt
    cols = 3
    rows = -(-len(cases) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(11, 2.6 * rows), sharex=True)
    runs = []
    for ax, (act, init, residual) in zip(np.ravel(axes), cases):
        run = depth_run(depth, act, init, residual, seed)
        runs.append(run)
        blocks = np.arange(1, len(run.grad_norm) + 1)
        ax.semilogy(blocks, run.grad_norm, "o-", ms=2, color=f"C{_COLOUR[run.verdict]}")
        _span_decades(ax, run.grad_norm)
        ax.set_title(f"{act}, {init}{' + residual' if residual else ''}: {run.verdict}", fontsize=9,
                     color=f"C{_COLOUR[run.verdict]}")
        ax.grid(True, alpha=0.3)
    for ax in np.ravel(axes)[len(cases):]:
        ax.set_visible(False)
    fig.supxlabel("block l")
    fig.supylabel("|dL/dh_l|")
    fig.tight_layout()
    return runs


def explain_depth(run):
    """One line under the plot: the verdict's reason and the loss."""
    return f"{run.verdict}: {run.reason}. Loss on this batch: {run.loss:.3f}."


def depth_explorer(depth=20, activation="tanh", init="xavier", residual=False):
    """Depth slider (1-60), activation and init menus, residual checkbox and a "new draw" button.

    Returns the ipywidgets VBox. Each change redraws ``plot_depth_run`` for a fresh
    network; "new draw" picks another batch and other random weights.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    depth_w = widgets.IntSlider(value=depth, min=1, max=MAX_DEPTH, description="depth", continuous_update=False)
    act_w = widgets.Dropdown(options=list(DEPTH_ACTIVATIONS), value=activation, description="activation")
    init_w = widgets.Dropdown(options=[(label, key) for key, label in DEPTH_INITS.items()], value=init,
                              description="init")
    res_w = widgets.Checkbox(value=residual, description="residual connections")
    seed_w = widgets.BoundedIntText(value=0, min=0, max=10**6, description="draw", layout={"width": "150px"})
    again = widgets.Button(description="new draw", icon="refresh")

    def new_draw(_):
        seed_w.value = seed_w.value + 1

    again.on_click(new_draw)

    def draw(depth, activation, init, residual, seed):
        run = plot_depth_run(depth, activation, init, residual, seed)
        plt.show()
        print(explain_depth(run))

    out = widgets.interactive_output(draw, {"depth": depth_w, "activation": act_w, "init": init_w,
                                            "residual": res_w, "seed": seed_w})
    return widgets.VBox([widgets.HBox([depth_w, act_w, init_w]), widgets.HBox([res_w, seed_w, again]), out])
