"""Tests for the depth widget (bpkit.widgets.depth): the verdict rule, the classic cases, the plots, the wiring."""
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpkit.errors import BpkitValueError  # noqa: E402
from bpkit.widgets import (DEPTH_ACTIVATIONS, DEPTH_INITS, DEPTH_VERDICTS, depth_explorer, depth_run,  # noqa: E402
                           plot_depth_gallery, plot_depth_run)
from bpkit.widgets.depth import FACTOR, GALLERY, MAX_DEPTH, verdict  # noqa: E402

SEEDS = range(4)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ---------------------------------------------------------------- the rule, on made-up profiles

@pytest.mark.parametrize("grad, std, expected", [
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], "healthy"),
    ([50.0, 1.0], [1.0, 60.0], "healthy"),             # both within the factor of 100
    ([101.0, 1.0], [1.0, 1.0], "exploding"),           # the backward signal grew
    ([1.0, 1.0], [1.0, 101.0], "exploding"),           # the forward signal grew
    ([0.009, 1.0], [1.0, 1.0], "vanishing"),           # the backward signal shrank
    ([1.0, 1.0], [1.0, 0.009], "vanishing"),           # the forward signal shrank
    ([0.0, 1.0], [1.0, 1.0], "vanishing"),             # nothing reached block 1
    ([1.0, 0.0], [1.0, 1.0], "vanishing"),             # nothing reached the last block (all dead)
    ([1e-5, 1.0], [1.0, 1e5], "exploding"),            # growth wins: the run is unusable either way
])
def test_verdict_rule(grad, std, expected):
    assert verdict(grad, std)[0] == expected
    assert FACTOR == 100


def test_a_stopped_run_is_exploding_and_says_where():
    kind, reason = verdict([np.nan] * 3, [1.0, 1e50, 1e120], stopped_at=3)
    assert kind == "exploding" and "block 3" in reason


# ---------------------------------------------------------------- the classic cases, over several draws

@pytest.mark.parametrize("activation, init, residual, expected", [
    ("sigmoid", "naive", False, "vanishing"),     # saturated sigmoids: sigma' <= 1/4 and mostly ~0
    ("sigmoid", "xavier", False, "vanishing"),    # even with Xavier: 1/4 per layer is not undone
    ("tanh", "small", False, "vanishing"),
    ("tanh", "xavier", False, "healthy"),         # what Xavier was designed for
    ("relu", "xavier", False, "vanishing"),       # ReLU halves the variance each layer: 2^-25 over 50
    ("relu", "he", False, "healthy"),             # He's factor 2 undoes it
    ("relu", "naive", False, "exploding"),        # N(0, 1): x sqrt(64 / 2) = 5.7 per layer
    ("tanh", "naive", False, "exploding"),        # the chaotic regime: the backward signal grows
    ("relu", "small", True, "healthy"),           # residual + a small branch: near the identity
    ("relu", "he", True, "exploding"),            # residual adds the variances: it doubles per block
])
def test_classic_cases_at_depth_50(activation, init, residual, expected):
    for seed in SEEDS:
        assert depth_run(50, activation, init, residual, seed).verdict == expected


def test_relu_he_stays_within_a_small_factor_over_50_layers():
    for seed in SEEDS:
        run = depth_run(50, "relu", "he", seed=seed)
        assert run.act_std.max() / run.act_std.min() < FACTOR / 4
        assert run.grad_norm.max() / run.grad_norm.min() < FACTOR / 10


def test_narrow_layers_spread_much_more_between_draws():
    def spread(width):   # the largest over the smallest final activation std among 8 draws (a dead net: 0)
        last = np.array([depth_run(50, "relu", "he", seed=s, width=width).act_std[-1] for s in range(8)])
        return last.max() / last.min() if last.min() > 0 else np.inf
    assert spread(64) < FACTOR / 4
    assert spread(8) > 1000


def test_profiles_have_one_entry_per_block_and_a_draw_is_reproducible():
    a, b, c = depth_run(7, "gelu", "he", True, 3), depth_run(7, "gelu", "he", True, 3), depth_run(7, "gelu", "he", True, 4)
    assert a.grad_norm.shape == a.act_std.shape == a.weight_grad_norm.shape == (7,)
    assert np.array_equal(a.grad_norm, b.grad_norm) and not np.array_equal(a.grad_norm, c.grad_norm)
    assert depth_run(1, "sigmoid", "naive").verdict == "healthy"   # one block: nothing to vanish over


def test_every_control_setting_runs_without_warnings_at_max_depth():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            for act in DEPTH_ACTIVATIONS:
                for init in DEPTH_INITS:
                    for residual in (False, True):
                        run = depth_run(MAX_DEPTH, act, init, residual)
                        assert run.verdict in DEPTH_VERDICTS


def test_an_exploding_run_stops_before_overflow():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        run = depth_run(200, "relu", "naive")
    assert run.verdict == "exploding" and run.stopped_at is not None and run.stopped_at < 200
    assert np.isnan(run.loss)


@pytest.mark.parametrize("kwargs, match", [(dict(depth=0), "depth must be"), (dict(activation="elu"), "unknown activation"),
                                           (dict(init="lecun"), "unknown init")])
def test_bad_arguments(kwargs, match):
    args = dict(depth=3, activation="tanh", init="xavier") | kwargs
    with pytest.raises(BpkitValueError, match=match):
        depth_run(**args)


# ---------------------------------------------------------------- drawing and wiring

def test_plot_depth_run_titles_the_verdict():
    run = plot_depth_run(30, "sigmoid", "xavier")
    fig = plt.gcf()
    assert len(fig.axes) == 2 and fig.axes[0].get_yscale() == "log"
    assert fig._suptitle.get_text().startswith("vanishing: sigmoid, Xavier (Glorot), 30 blocks")
    assert run.verdict == "vanishing"
    plot_depth_run(200, "relu", "naive")      # a stopped run draws a note instead of gradients


def test_gallery_covers_every_verdict():
    runs = plot_depth_gallery()
    assert len(runs) == len(GALLERY) and {r.verdict for r in runs} == set(DEPTH_VERDICTS)


def test_explorer_builds_and_every_control_redraws(capsys):
    import ipywidgets as widgets
    box = depth_explorer()
    depth, act, init = box.children[0].children
    residual, seed, again = box.children[1].children
    assert isinstance(depth, widgets.IntSlider) and depth.min == 1 and depth.max >= 50
    assert set(act.options) == set(DEPTH_ACTIVATIONS) and len(act.options) >= 4
    assert [v for _, v in init.options] == list(DEPTH_INITS)
    assert isinstance(residual, widgets.Checkbox) and isinstance(again, widgets.Button)
    capsys.readouterr()
    depth.value = 50
    act.value = "sigmoid"
    init.value = "naive"
    residual.value = True
    again.click()
    printed = [line for line in capsys.readouterr().out.splitlines() if line.split(":")[0] in DEPTH_VERDICTS]
    assert len(printed) == 5 and printed[1].startswith("vanishing") and printed[3].startswith("healthy")
    assert seed.value == 1
