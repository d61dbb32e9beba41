"""Tests for bpkit.widgets: the pure function behind the learning-rate slider, the plots, the widget."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpkit.widgets import (  # noqa: E402
    GALLERY_LRS, SURFACES, critical_lr, gd_trajectory, learning_rate_explorer, plot_lr_gallery, plot_lr_run,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_critical_learning_rates_follow_the_curvatures():
    for name in SURFACES:
        assert np.allclose(SURFACES[name].curvatures, [1.0, 10.0])
        assert critical_lr(name, "gd") == pytest.approx(0.2)
        assert critical_lr(name, "momentum", momentum=0.9) == pytest.approx(0.38)


@pytest.mark.parametrize("surface", sorted(SURFACES))
@pytest.mark.parametrize("verdict, lr", sorted(GALLERY_LRS.items()))
def test_gallery_lrs_reach_each_regime(surface, verdict, lr):
    assert gd_trajectory(lr, surface=surface).verdict == verdict


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
def test_all_four_verdicts_reachable_on_the_slider_range(optimizer):
    seen = {gd_trajectory(lr, optimizer=optimizer).verdict for lr in np.geomspace(1e-4, 10, 60)}
    assert seen == {"too small", "about right", "oscillating", "divergent"}


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_divergence_starts_exactly_above_two_over_lambda_max(surface):
    crit = critical_lr(surface, "gd")
    for f in (0.9, 0.99, 0.999, 0.999999):
        traj = gd_trajectory(crit * f, surface=surface)
        assert not traj.diverged and traj.verdict == "oscillating", f
    for f in (1.000001, 1.001, 1.01, 1.1, 5.0, 50.0):
        traj = gd_trajectory(crit * f, surface=surface)
        assert traj.diverged and traj.verdict == "divergent", f
    edge = gd_trajectory(crit, surface="quadratic")        # |1 - lr lam| = 1 exactly: bounded, not divergent
    assert not edge.diverged


def test_momentum_diverges_above_its_own_critical_lr():
    crit = critical_lr("quadratic", "momentum")
    assert not gd_trajectory(crit * 0.99, optimizer="momentum").diverged
    assert gd_trajectory(crit * 1.01, optimizer="momentum").diverged
    assert not gd_trajectory(0.25, optimizer="momentum").diverged    # above gd's 0.2, below momentum's 0.38
    assert gd_trajectory(0.25, optimizer="gd").diverged


def test_monotone_below_one_over_lambda_max_zigzag_above():
    slow = gd_trajectory(0.08)
    assert np.all(np.diff(slow.path[:, 1]) > 0) or np.all(np.diff(slow.path[:, 1]) < 0)
    zig = gd_trajectory(0.15)
    steps = np.diff(zig.path[:, 1])
    assert np.all(steps[1:] * steps[:-1] < 0)


@pytest.mark.parametrize("steps", [1, 10, 50])
@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
def test_path_and_loss_shapes(steps, optimizer):
    traj = gd_trajectory(0.05, steps=steps, optimizer=optimizer)
    assert traj.path.shape == (steps + 1, 2)
    assert traj.losses.shape == (steps + 1,)
    assert np.allclose(traj.path[0], SURFACES["quadratic"].start)
    assert np.allclose(traj.losses, SURFACES["quadratic"].loss(traj.path))


def test_gradient_descent_update_rule_is_exact():
    traj = gd_trajectory(0.05, steps=3, start=(1.0, 1.0))
    # along each axis w <- (1 - lr * lam) w with lam = 1 and 10
    expected = np.array([[0.95 ** t, 0.5 ** t] for t in range(4)])
    assert np.allclose(traj.path, expected)


def test_blow_up_stops_the_run_without_warnings():
    with np.errstate(all="raise"):
        traj = gd_trajectory(10.0, steps=500)
    assert traj.diverged and traj.verdict == "divergent"
    assert traj.path.shape == (501, 2) and np.isnan(traj.losses[-1])


def test_custom_start_and_bad_arguments():
    traj = gd_trajectory(0.05, start=(2.0, -1.0))
    assert np.allclose(traj.path[0], [2.0, -1.0])
    with pytest.raises(ValueError, match="learning rate"):
        gd_trajectory(0.0)
    with pytest.raises(ValueError, match="unknown optimizer"):
        gd_trajectory(0.1, optimizer="adam")
    with pytest.raises(ValueError, match="unknown surface"):
        gd_trajectory(0.1, surface="rosenbrock")


def test_plot_lr_run_draws_two_titled_panels():
    fig, axes = plt.subplots(1, 2)
    traj = plot_lr_run(0.19, ax_pair=axes)
    assert traj.verdict == "oscillating"
    assert "oscillating" in axes[1].get_title()
    assert axes[0].get_yscale() == "log"
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    plot_lr_run(10.0)                     # a blown-up run still draws
    fig.canvas.draw()


def test_plot_lr_gallery_shows_the_four_regimes():
    fig, trajs = plot_lr_gallery()
    assert [t.verdict for t in trajs] == list(GALLERY_LRS)
    assert len(fig.axes) == 8
    assert [ax.get_title() for ax in fig.axes[:4]] == [f"lr = {lr:.3g}: {v}" for v, lr in GALLERY_LRS.items()]
    assert [ax.get_title() for ax in fig.axes[4:]] == [f"loss, lr = {lr:.3g}" for lr in GALLERY_LRS.values()]
    fig.canvas.draw()


def test_plot_lr_gallery_names_a_surface_given_as_an_object():
    fig, _ = plot_lr_gallery([0.08], surface=SURFACES["rotated"])
    assert fig.get_suptitle().startswith("gd on the rotated surface, 50 steps")


def test_widget_builds_without_a_browser(capsys):
    import ipywidgets as widgets
    box = learning_rate_explorer()
    assert isinstance(box, widgets.VBox)
    slider, dropdown = box.children[0].children
    assert isinstance(slider, widgets.FloatLogSlider)
    assert slider.min == -4 and slider.max == 1 and slider.base == 10
    assert set(dropdown.options) == {("gradient descent", "gd"), ("momentum 0.9", "momentum")}
    assert isinstance(box.children[1], widgets.Output)
    capsys.readouterr()
    slider.value = 0.21                   # the callback redraws (outside a kernel, its print reaches stdout)
    dropdown.value = "momentum"
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("lr = ")]
    assert printed == ["lr = 0.2100: divergent", "lr = 0.2100: oscillating"]
