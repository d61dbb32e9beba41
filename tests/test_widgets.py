"""Tests for bpkit.widgets: the pure function behind the learning-rate slider, the plots, the widget."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bpkit.widgets import (  # noqa: E402
    ADAPTIVE, GALLERY_LRS, SURFACES, VERDICTS, contraction_factors, critical_lr, explain_lr, gd_trajectory,
    learning_rate_explorer, optimal_lr, plot_factors, plot_lr_gallery, plot_lr_run,
)

SLIDER_LRS = 10.0 ** np.arange(-4, 1.0001, 0.05)      # the values the explorer's slider can take


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
def test_every_verdict_reachable_on_the_slider(optimizer):
    seen = {gd_trajectory(lr, optimizer=optimizer).verdict for lr in SLIDER_LRS}
    assert seen == set(VERDICTS) and set(GALLERY_LRS) == set(VERDICTS)


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_gd_verdicts_come_in_order_of_the_learning_rate(surface):
    ranks = [VERDICTS.index(gd_trajectory(lr, surface=surface).verdict) for lr in SLIDER_LRS]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_the_fastest_fixed_step_zigzags_and_is_called_about_right(surface):
    best = optimal_lr(surface)
    assert best == pytest.approx(2 / 11)
    assert contraction_factors(best, surface) == pytest.approx([9 / 11, 9 / 11])
    fast, careful = gd_trajectory(0.18, surface=surface), gd_trajectory(0.08, surface=surface)
    assert fast.verdict == "about right, zig-zag" and careful.verdict == "about right"
    assert fast.losses[-1] < 1e-4 * careful.losses[-1]       # quadratic: about 2e-8 against 2e-3
    # no fixed learning rate on the slider ends lower after 50 steps than one within 1% of the optimum
    finals = {lr: gd_trajectory(lr, surface=surface).losses[-1] for lr in SLIDER_LRS}
    assert min(finals, key=finals.get) == pytest.approx(best, rel=0.07)


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
def test_runs_converge_exactly_when_every_factor_is_below_one(optimizer):
    for lr in SLIDER_LRS:
        stable = contraction_factors(lr, optimizer=optimizer).max() < 1 - 1e-9
        if abs(lr - critical_lr("quadratic", optimizer)) > 0.01 * lr:       # away from the edge
            assert gd_trajectory(lr, optimizer=optimizer, steps=200).diverged == (not stable), lr


def test_gd_factors_are_one_minus_lr_times_curvature():
    assert contraction_factors(0.05) == pytest.approx([0.95, 0.5])
    assert contraction_factors(0.15) == pytest.approx([0.85, 0.5])     # a zig-zag: 1 - 1.5 = -0.5
    assert contraction_factors(0.01, optimizer="momentum") == pytest.approx([0.9 ** 0.5] * 2)
    with pytest.raises(ValueError, match="unknown optimizer"):
        contraction_factors(0.1, optimizer="lbfgs")


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_divergence_starts_exactly_above_two_over_lambda_max(surface):
    crit = critical_lr(surface, "gd")
    for f in (0.9, 0.99, 0.999, 0.999999):
        traj = gd_trajectory(crit * f, surface=surface)
        assert not traj.diverged and traj.verdict in ("about right, zig-zag", "too large, oscillating"), f
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
        gd_trajectory(0.1, optimizer="lbfgs")
    with pytest.raises(ValueError, match="unknown surface"):
        gd_trajectory(0.1, surface="rosenbrock")


def test_plot_lr_run_draws_titled_panels():
    fig, axes = plt.subplots(1, 3)
    traj = plot_lr_run(0.199, ax_pair=axes[:2], ax_factors=axes[2])
    assert traj.verdict == "too large, oscillating"
    assert "too large, oscillating" in axes[1].get_title()
    assert axes[0].get_title() == "loss, lr = 0.199\n|1 - lr λ| = 0.80, 0.99"
    assert axes[0].get_yscale() == "log" and axes[2].get_xscale() == "log"
    assert all(ax.get_title() and ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    plot_lr_run(10.0)                     # a blown-up run still draws, with its factor panel
    assert len(plt.gcf().axes) == 3
    fig.canvas.draw()


def test_plot_factors_marks_the_fastest_and_the_critical_lr():
    ax = plot_factors(0.1)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["λ = 1", "λ = 10", "diverges above 0.2", "fastest lr 0.182", "lr = 0.1"]
    ax = plot_factors(optimizer="momentum")
    assert "diverges above 0.38" in ax.get_legend_handles_labels()[1]
    ax.figure.canvas.draw()


def test_plot_lr_gallery_shows_the_four_regimes():
    fig, trajs = plot_lr_gallery()
    assert [t.verdict for t in trajs] == list(GALLERY_LRS)
    n = len(GALLERY_LRS)
    assert len(fig.axes) == 2 * n
    assert [ax.get_title() for ax in fig.axes[:n]] == [f"lr = {lr:.3g}: {v}" for v, lr in GALLERY_LRS.items()]
    assert [ax.get_title().split("\n")[0] for ax in fig.axes[n:]] == [
        f"loss, lr = {lr:.3g}" for lr in GALLERY_LRS.values()]
    fig.canvas.draw()


def test_plot_lr_gallery_names_a_surface_given_as_an_object():
    fig, _ = plot_lr_gallery([0.08], surface=SURFACES["rotated"])
    assert fig.get_suptitle().startswith("gd on the rotated surface, 50 steps")


def test_widget_builds_without_a_browser(capsys):
    import ipywidgets as widgets
    box = learning_rate_explorer()
    assert isinstance(box, widgets.VBox)
    slider, dropdown, surfaces = box.children[0].children
    assert isinstance(slider, widgets.FloatLogSlider)
    assert slider.min == -4 and slider.max == 1 and slider.base == 10
    assert set(dropdown.options) == {("gradient descent", "gd"), ("momentum 0.9", "momentum"),
                                     ("Nesterov 0.9", "nesterov"), ("RMSProp", "rmsprop"), ("Adam", "adam")}
    assert set(surfaces.options) == set(SURFACES)
    assert isinstance(box.children[1], widgets.Output)
    capsys.readouterr()
    slider.value = 0.21                   # the callback redraws (outside a kernel, its print reaches stdout)
    dropdown.value = "momentum"
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("lr = ")]
    assert printed == [
        "lr = 0.2100: divergent; |1 - lr λ| = 0.79, 1.10; fastest fixed lr 2 / (λmin + λmax) = 0.182 "
        "(|1 - lr λ| = 0.818 in both directions)",
        "lr = 0.2100: about right, zig-zag; per-step factors 0.95, 0.95",
    ]
    assert printed[0] == explain_lr(0.21)
    assert len(plt.gcf().axes) == 3          # loss, path, and the per-step factors against lr


# ----------------------------------------------------------------------------- chapter 06: more optimizers

@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_nesterov_diverges_exactly_above_its_critical_lr(surface):
    crit = critical_lr(surface, "nesterov")
    assert np.isclose(crit, 2 * 1.9 / (2.8 * 10))               # 2 (1 + beta) / ((1 + 2 beta) lam_max)
    assert not gd_trajectory(0.99 * crit, steps=400, surface=surface, optimizer="nesterov").diverged
    assert gd_trajectory(1.01 * crit, steps=400, surface=surface, optimizer="nesterov").diverged
    assert np.isclose(contraction_factors(crit, surface, "nesterov").max(), 1.0)


def test_nesterov_and_adam_follow_the_chapter_references():
    from bpkit.exercises.ch06 import adam_step, nesterov_step, rmsprop_step
    surf = SURFACES["rotated"]
    for optimizer, lr in (("nesterov", 0.05), ("rmsprop", 0.1), ("adam", 0.3)):
        traj = gd_trajectory(lr, steps=20, surface="rotated", optimizer=optimizer)
        w, a, b = np.array(surf.start), np.zeros(2), np.zeros(2)
        for t in range(1, 21):
            g = surf.grad(w)
            if optimizer == "nesterov":
                w, a = nesterov_step(w, g, a, lr, 0.9)
            elif optimizer == "rmsprop":
                w, a = rmsprop_step(w, g, a, lr, 0.99, 1e-8)
            else:
                w, a, b = adam_step(w, g, a, b, t, lr, 0.9, 0.999, 1e-8)
            assert np.allclose(traj.path[t], w, rtol=1e-12, atol=1e-12), (optimizer, t)


@pytest.mark.parametrize("optimizer", ADAPTIVE)
@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_adaptive_rules_never_diverge_and_their_steps_are_bounded(optimizer, surface):
    assert np.isinf(critical_lr(surface, optimizer))
    assert np.all(np.isnan(contraction_factors(0.1, surface, optimizer)))
    bound = 10.0 if optimizer == "rmsprop" else 1.0             # lr / sqrt(1 - alpha), and about lr for Adam
    for lr in SLIDER_LRS[::4]:
        traj = gd_trajectory(lr, steps=300, surface=surface, optimizer=optimizer)
        assert not traj.diverged and traj.verdict != "divergent" and np.all(np.isfinite(traj.losses))
        assert np.abs(np.diff(traj.path, axis=0)).max() <= bound * lr * (1 + 1e-6)


def test_a_too_large_rate_makes_rmsprop_oscillate_and_a_tiny_one_is_too_small():
    for lr in (0.3, 1.0, 3.0):
        assert gd_trajectory(lr, steps=300, optimizer="rmsprop").verdict == "too large, oscillating"
    assert gd_trajectory(0.1, steps=300, optimizer="rmsprop").verdict == "about right"
    for optimizer in ADAPTIVE:
        assert gd_trajectory(1e-3, steps=300, optimizer=optimizer).verdict == "too small"


@pytest.mark.parametrize("optimizer", ADAPTIVE)
def test_adaptive_plots_say_they_never_diverge(optimizer):
    traj = plot_lr_run(1.0, steps=100, optimizer=optimizer)
    titles = [ax.get_title() for ax in plt.gcf().axes]
    assert any("never diverges" in t for t in titles) and any("no fixed per-step factor" in t for t in titles)
    assert explain_lr(1.0, traj, optimizer=optimizer).startswith(f"lr = 1.0000: {traj.verdict}; adaptive")
