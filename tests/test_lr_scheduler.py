"""bpkit.optim.lr_scheduler: each schedule against its formula worked out here, momentum cycling, state, errors.

The expected values come from each scheduler's documented closed form, written
out in this file (never from the module under test): the schedulers compute
most of them recursively, as PyTorch does, so agreement to rounding also shows
that the recursion follows the closed form. Optimizers are small fakes with
PyTorch's ``param_groups`` layout (plus the real bpkit optimizers once they
have ``param_groups``).
"""
import copy
import math
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bpkit import errors
from bpkit.optim import lr_scheduler as sch
from bpkit.optim.lr_scheduler import (CosineAnnealingLR, ExponentialLR, LambdaLR, LinearLR, LRScheduler,
                                      MultiStepLR, OneCycleLR, SequentialLR, StepLR)

BASE_LRS = (0.1, 0.03)      # two param groups with different base lrs in every schedule test


class FakeSGD:
    """PyTorch's layout for an SGD-like optimizer: one dict per param group, "momentum" in each."""

    def __init__(self, lrs=BASE_LRS, momentum=0.9):
        self.defaults = {"lr": lrs[0], "momentum": momentum}
        self.param_groups = [{"params": [], "lr": lr, "momentum": momentum} for lr in lrs]

    def step(self):
        pass


class FakeAdam:
    """An Adam-like optimizer: "betas" (beta1, beta2) in each group, no "momentum"."""

    def __init__(self, lrs=BASE_LRS, betas=(0.9, 0.999)):
        self.defaults = {"lr": lrs[0], "betas": betas}
        self.param_groups = [{"params": [], "lr": lr, "betas": betas} for lr in lrs]

    def step(self):
        pass


class FakePlain:
    """Only an lr per group (no defaults attribute either): nothing for OneCycleLR to cycle."""

    def __init__(self, lrs=BASE_LRS):
        self.param_groups = [{"params": [], "lr": lr} for lr in lrs]

    def step(self):
        pass


def run(opt, sched, steps):
    """The lr of each group that optimizer.step() sees at t = 0 .. steps-1: shape (steps, groups)."""
    out = []
    for _ in range(steps):
        out.append([g["lr"] for g in opt.param_groups])
        opt.step()
        sched.step()
    return np.array(out)


def expected(formula, steps, lrs=BASE_LRS):
    """formula(base_lr, t) for t = 0 .. steps-1 and each group: shape (steps, groups)."""
    return np.array([[formula(base, t) for base in lrs] for t in range(steps)])


def assert_close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-15)


# ---------------------------------------------------------------- each schedule against its formula

@pytest.mark.parametrize("step_size, gamma", [(1, 0.5), (3, 0.1), (7, 0.9), (10, 2.0)])
def test_steplr(step_size, gamma):
    opt = FakeSGD()
    got = run(opt, StepLR(opt, step_size, gamma), 35)
    assert_close(got, expected(lambda b, t: b * gamma ** (t // step_size), 35))


def test_steplr_default_gamma_by_hand():
    opt = FakeSGD(lrs=(1.0,))
    got = run(opt, StepLR(opt, step_size=2), 6)[:, 0]
    assert_close(got, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


@given(step_size=st.integers(1, 12), gamma=st.floats(0.05, 1.5))
def test_steplr_property(step_size, gamma):
    opt = FakeSGD()
    got = run(opt, StepLR(opt, step_size, gamma), 32)
    assert_close(got, expected(lambda b, t: b * gamma ** (t // step_size), 32))


@pytest.mark.parametrize("milestones, gamma", [([5, 10, 20], 0.1), ([3, 3, 8, 8, 8, 30], 0.5), ([25, 4, 4], 0.3)])
def test_multisteplr_counts_repeated_milestones(milestones, gamma):
    # a milestone given k times multiplies by gamma**k there; the order given does not matter
    opt = FakeSGD()
    got = run(opt, MultiStepLR(opt, milestones, gamma), 35)
    assert_close(got, expected(lambda b, t: b * gamma ** sum(m <= t for m in milestones), 35))


def test_multisteplr_by_hand():
    opt = FakeSGD(lrs=(1.0,))
    got = run(opt, MultiStepLR(opt, milestones=[2, 2, 4], gamma=0.5), 6)[:, 0]
    assert_close(got, [1.0, 1.0, 0.25, 0.25, 0.125, 0.125])


@given(gamma=st.floats(0.5, 1.1))
def test_exponentiallr(gamma):
    opt = FakeSGD()
    got = run(opt, ExponentialLR(opt, gamma), 40)
    assert_close(got, expected(lambda b, t: b * gamma ** t, 40))


def cosine(base, t, T_max, eta_min):
    """eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2 (SGDR without restarts: defined for every t)."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T_max)) / 2


@pytest.mark.parametrize("T_max, eta_min", [(10, 0.0), (7, 0.001), (30, 0.01), (1, 0.0), (3, 0.005)])
def test_cosine_recursive_form_follows_closed_form(T_max, eta_min):
    # three full half-periods and more: past T_max the lr climbs back (the t = T_max + 1 step is additive)
    steps = max(35, 3 * T_max + 2)
    opt = FakeSGD()
    got = run(opt, CosineAnnealingLR(opt, T_max, eta_min), steps)
    want = expected(lambda b, t: cosine(b, t, T_max, eta_min), steps)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15 + 1e-12 * max(BASE_LRS))


def test_cosine_landmarks():
    # base lr at t = 0, halfway at T_max / 2, eta_min at T_max, back to the base lr at 2 * T_max
    opt = FakeSGD(lrs=(1.0,))
    got = run(opt, CosineAnnealingLR(opt, T_max=4, eta_min=0.2), 9)[:, 0]
    np.testing.assert_allclose(got[[0, 2, 4, 8]], [1.0, 0.6, 0.2, 1.0], rtol=1e-12)


@given(T_max=st.integers(1, 20), eta_min=st.floats(0.0, 0.02))
def test_cosine_property(T_max, eta_min):
    opt = FakeSGD()
    got = run(opt, CosineAnnealingLR(opt, T_max, eta_min), 40)
    want = expected(lambda b, t: cosine(b, t, T_max, eta_min), 40)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-13)


def linear(base, t, start_factor, end_factor, total_iters):
    return base * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)


@pytest.mark.parametrize("start_factor, end_factor, total_iters",
                         [(1 / 3, 1.0, 5), (0.1, 1.0, 10), (1.0, 0.2, 8), (0.5, 0.5, 4), (0.25, 0.0, 12)])
def test_linearlr(start_factor, end_factor, total_iters):
    opt = FakeSGD()
    got = run(opt, LinearLR(opt, start_factor, end_factor, total_iters), 35)
    assert_close(got, expected(lambda b, t: linear(b, t, start_factor, end_factor, total_iters), 35))


def test_linearlr_defaults_by_hand():
    # start_factor 1/3, end_factor 1, total_iters 5: 0.3 * (1/3 + (2/3) * t / 5)
    opt = FakeSGD(lrs=(0.3,))
    got = run(opt, LinearLR(opt), 7)[:, 0]
    assert_close(got, [0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.3])


@given(start_factor=st.floats(0.01, 1.0), end_factor=st.floats(0.0, 1.0), total_iters=st.integers(1, 25))
def test_linearlr_property(start_factor, end_factor, total_iters):
    opt = FakeSGD()
    got = run(opt, LinearLR(opt, start_factor, end_factor, total_iters), 32)
    want = expected(lambda b, t: linear(b, t, start_factor, end_factor, total_iters), 32)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


def test_lambdalr_one_function_and_one_per_group():
    opt = FakeSGD()
    got = run(opt, LambdaLR(opt, lambda t: 0.95 ** t), 35)
    assert_close(got, expected(lambda b, t: b * 0.95 ** t, 35))
    opt = FakeSGD()
    got = run(opt, LambdaLR(opt, [lambda t: t // 3, lambda t: 1 / (1 + t)]), 35)
    want = np.array([[0.1 * (t // 3), 0.03 / (1 + t)] for t in range(35)])
    assert_close(got, want)


def onecycle(t, max_lr, T, pct_start=0.3, anneal="cos", base_m=0.85, max_m=0.95, div=25.0, final_div=1e4,
             three_phase=False):
    """(lr, momentum) at step t of the 1cycle policy, from its documented phases."""
    lo = max_lr / div
    end = lo / final_div
    if three_phase:
        phases = [(pct_start * T - 1, lo, max_lr, max_m, base_m),
                  (2 * pct_start * T - 2, max_lr, lo, base_m, max_m),
                  (T - 1, lo, end, max_m, max_m)]
    else:
        phases = [(pct_start * T - 1, lo, max_lr, max_m, base_m), (T - 1, max_lr, end, base_m, max_m)]
    s0 = 0.0
    for i, (s1, a, b, ma, mb) in enumerate(phases):
        if t <= s1 or i == len(phases) - 1:
            x = (t - s0) / (s1 - s0)
            if anneal == "cos":
                w = (1 - math.cos(math.pi * x)) / 2     # 0 -> 1 along half a cosine
            else:
                w = x
            return a + (b - a) * w, ma + (mb - ma) * w
        s0 = s1


ONECYCLE_ARGS = [
    dict(total_steps=40),
    dict(epochs=4, steps_per_epoch=10, pct_start=0.25, anneal_strategy="linear"),
    dict(total_steps=40, three_phase=True),
    dict(total_steps=40, three_phase=True, anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
    dict(total_steps=40, base_momentum=0.8, max_momentum=0.99, pct_start=0.5),
]


def _formula_kwargs(kw):
    names = {"pct_start": "pct_start", "anneal_strategy": "anneal", "base_momentum": "base_m",
             "max_momentum": "max_m", "div_factor": "div", "final_div_factor": "final_div",
             "three_phase": "three_phase"}
    return {names[k]: v for k, v in kw.items() if k in names}


@pytest.mark.parametrize("fake", [FakeSGD, FakeAdam])
@pytest.mark.parametrize("kw", ONECYCLE_ARGS)
def test_onecycle_lr_and_momentum(fake, kw):
    opt = fake()
    max_lrs = (1.0, 0.3)
    sched = OneCycleLR(opt, list(max_lrs), **kw)
    T = kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]
    for t in range(T):
        for g, m in zip(opt.param_groups, max_lrs):
            lr, mom = onecycle(t, m, T, **_formula_kwargs(kw))
            np.testing.assert_allclose(g["lr"], lr, rtol=1e-10)
            if fake is FakeSGD:
                np.testing.assert_allclose(g["momentum"], mom, rtol=1e-12)
            else:
                np.testing.assert_allclose(g["betas"][0], mom, rtol=1e-12)
                assert isinstance(g["betas"], tuple) and g["betas"][1] == 0.999   # beta2 untouched
        opt.step()
        sched.step()


def test_onecycle_landmarks_and_stored_lrs():
    # total 100, pct 0.3: warm-up ends at step 29 (lr = max_lr, momentum = base), last step 99 (lr = min)
    opt = FakeSGD(lrs=(0.5,))
    sched = OneCycleLR(opt, max_lr=2.0, total_steps=100)
    group = opt.param_groups[0]
    assert group["initial_lr"] == 2.0 / 25 and group["max_lr"] == 2.0 and group["min_lr"] == 2.0 / 25 / 1e4
    assert sched.base_lrs == [2.0 / 25]
    seen = {}
    for t in range(100):
        seen[t] = (group["lr"], group["momentum"])
        sched.step()
    np.testing.assert_allclose(seen[0], (0.08, 0.95), rtol=1e-12)
    np.testing.assert_allclose(seen[29], (2.0, 0.85), rtol=1e-12)
    np.testing.assert_allclose(seen[99], (8e-6, 0.95), rtol=1e-12)
    assert all(seen[t][0] < seen[t + 1][0] for t in range(29))          # warm-up rises
    assert all(seen[t][0] > seen[t + 1][0] for t in range(29, 99))      # annealing falls


@given(T=st.integers(12, 60), pct_start=st.floats(0.1, 0.9), three_phase=st.booleans(),
       anneal=st.sampled_from(["cos", "linear"]))
def test_onecycle_property(T, pct_start, three_phase, anneal):
    opt = FakeAdam(lrs=(0.1,))
    try:
        sched = OneCycleLR(opt, 0.7, total_steps=T, pct_start=pct_start, three_phase=three_phase,
                           anneal_strategy=anneal)
    except errors.BpkitValueError as e:           # a phase of no length: refused (see test_bad_input)
        assert "of the cycle no steps" in str(e)
        return
    for t in range(T):
        lr, mom = onecycle(t, 0.7, T, pct_start=pct_start, anneal=anneal, three_phase=three_phase)
        np.testing.assert_allclose(opt.param_groups[0]["lr"], lr, rtol=1e-9)
        np.testing.assert_allclose(opt.param_groups[0]["betas"][0], mom, rtol=1e-9)
        sched.step()


def test_onecycle_without_momentum_cycling_leaves_momentum():
    opt = FakeSGD(momentum=0.5)
    sched = OneCycleLR(opt, 1.0, total_steps=30, cycle_momentum=False)
    run(opt, sched, 30)
    assert [g["momentum"] for g in opt.param_groups] == [0.5, 0.5]
    opt = FakePlain()
    run(opt, OneCycleLR(opt, 1.0, total_steps=30, cycle_momentum=False), 30)   # fine without momentum


def test_onecycle_steps_past_total_steps_raise():
    opt = FakeSGD()
    sched = OneCycleLR(opt, 1.0, total_steps=5)
    for _ in range(5):
        sched.step()                              # last_epoch 5 = total_steps is still allowed, as in PyTorch
    with pytest.raises(errors.BpkitValueError, match="OneCycleLR: step.. called 6 times, but total_steps is 5"):
        sched.step()


def test_sequential_warmup_then_cosine():
    opt = FakeSGD()
    sched = SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, T_max=30, eta_min=0.001)],
                         milestones=[5])
    got = run(opt, sched, 40)
    want = expected(lambda b, t: linear(b, t, 0.1, 1.0, 5) if t < 5 else cosine(b, t - 5, 30, 0.001), 40)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-15)


def test_sequential_three_schedulers_restart_from_base():
    # each scheduler starts from the base lr at its milestone, not from where the previous one stopped
    opt = FakeSGD()
    sched = SequentialLR(opt, [ExponentialLR(opt, 0.9), StepLR(opt, 3, 0.5), LinearLR(opt, 0.5, 0.1, 6)],
                         milestones=[4, 12])

    def want(b, t):
        if t < 4:
            return b * 0.9 ** t
        if t < 12:
            return b * 0.5 ** ((t - 4) // 3)
        return linear(b, t - 12, 0.5, 0.1, 6)
    assert_close(run(opt, sched, 35), expected(want, 35))


def test_sequential_with_repeated_multistep_milestones_and_lambda():
    opt = FakeSGD()
    sched = SequentialLR(opt, [MultiStepLR(opt, [2, 2], 0.5), LambdaLR(opt, lambda t: 1 / (t + 1)),
                               ExponentialLR(opt, 0.95)], milestones=[6, 20])

    def want(b, t):
        return b * 0.25 if 2 <= t < 6 else b if t < 6 else b / (t - 6 + 1) if t < 20 else b * 0.95 ** (t - 20)
    assert_close(run(opt, sched, 35), expected(want, 35))


# ---------------------------------------------------------------- the shared machinery

def test_construction_sets_step_zero_and_initial_lr():
    opt = FakeSGD()
    sched = LinearLR(opt, start_factor=0.5, total_iters=4)
    assert [g["lr"] for g in opt.param_groups] == [0.05, 0.015]         # eta at t = 0 at once
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.03]
    assert sched.base_lrs == [0.1, 0.03] and sched.last_epoch == 0
    assert sched.get_last_lr() == [0.05, 0.015]
    sched.get_last_lr()[0] = 1.0                  # a copy: changing it changes nothing
    assert sched.get_last_lr() == [0.05, 0.015]
    sched.step()
    assert sched.last_epoch == 1 and sched.get_last_lr() == [g["lr"] for g in opt.param_groups]


def test_two_schedulers_on_one_optimizer_compose():
    # the recursive forms multiply: StepLR and ExponentialLR together give both factors;
    # the second scheduler keeps the first's initial_lr as its base
    opt = FakeSGD()
    a = StepLR(opt, 4, 0.5)
    b = ExponentialLR(opt, 0.9)
    assert b.base_lrs == [0.1, 0.03]
    got = []
    for _ in range(35):
        got.append([g["lr"] for g in opt.param_groups])
        a.step()
        b.step()
    assert_close(np.array(got), expected(lambda base, t: base * 0.5 ** (t // 4) * 0.9 ** t, 35))


def test_lr_changed_from_outside_is_kept_by_recursive_schedulers():
    opt = FakeSGD(lrs=(1.0,))
    sched = ExponentialLR(opt, 0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 10.0
    sched.step()
    assert opt.param_groups[0]["lr"] == 5.0


def test_get_lr_outside_step_warns():
    opt = FakeSGD()
    sched = StepLR(opt, 3)
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()                               # no warning inside step()


class Param:
    """A parameter as the schedulers see it: only its version counter, which an optimizer step counts up."""

    def __init__(self):
        self._version = 0


class FakeSGDWithParams(FakeSGD):
    def __init__(self):
        super().__init__()
        for group in self.param_groups:
            group["params"] = [Param()]

    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                p._version += 1


def test_scheduler_step_before_optimizer_step_warns():
    opt = FakeSGDWithParams()
    sched = StepLR(opt, 3)
    with pytest.warns(UserWarning, match="before `optimizer.step..`"):
        sched.step()
    with warnings.catch_warnings():               # only the first step is checked, as in PyTorch
        warnings.simplefilter("error")
        sched.step()


def test_right_order_does_not_warn():
    opt = FakeSGDWithParams()
    sched = SequentialLR(opt, [LinearLR(opt, 0.5, total_iters=2), StepLR(opt, 3)], milestones=[2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(opt, sched, 10)
        opt2 = FakeSGDWithParams()
        run(opt2, CosineAnnealingLR(opt2, 5), 10)


def make_all(opt):
    """One of each scheduler on opt (OneCycleLR's total_steps leaves room for the 30 steps)."""
    return {
        "StepLR": lambda: StepLR(opt, 3, 0.5),
        "MultiStepLR": lambda: MultiStepLR(opt, [4, 4, 9], 0.3),
        "ExponentialLR": lambda: ExponentialLR(opt, 0.9),
        "CosineAnnealingLR": lambda: CosineAnnealingLR(opt, 12, 0.001),
        "LinearLR": lambda: LinearLR(opt, 0.2, 0.9, 15),
        "LambdaLR": lambda: LambdaLR(opt, lambda t: 1 / (1 + t)),
        "OneCycleLR": lambda: OneCycleLR(opt, [1.0, 0.5], total_steps=40),
        "SequentialLR": lambda: SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5),
                                                   CosineAnnealingLR(opt, 20)], milestones=[5]),
    }


@pytest.mark.parametrize("name", list(make_all(FakeSGD())))
def test_state_dict_round_trip(name):
    # run 10 steps, save scheduler and optimizer state, resume in a fresh pair: the next 20 steps agree
    opt = FakeSGD()
    sched = make_all(opt)[name]()
    run(opt, sched, 10)
    saved_sched = pickle.loads(pickle.dumps(sched.state_dict()))     # plain data (a lambda is stored as None)
    saved_groups = copy.deepcopy(opt.param_groups)
    reference = run(opt, sched, 20)

    opt2 = FakeSGD()
    sched2 = make_all(opt2)[name]()
    for g, s in zip(opt2.param_groups, saved_groups):
        g.update(s)
    sched2.load_state_dict(saved_sched)
    assert sched2.last_epoch == 10
    assert sched2.get_last_lr() == [g["lr"] for g in saved_groups]
    np.testing.assert_array_equal(run(opt2, sched2, 20), reference)


def test_lambdalr_state_dict_keeps_callable_objects_state():
    class Factor:
        def __init__(self, k):
            self.k = k

        def __call__(self, t):
            return self.k ** t

    opt = FakeSGD()
    sched = LambdaLR(opt, [Factor(0.9), lambda t: 1.0])
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"k": 0.9}, None]
    sched2 = LambdaLR(FakeSGD(), [Factor(0.5), lambda t: 1.0])
    sched2.load_state_dict(state)
    assert sched2.lr_lambdas[0].k == 0.9 and "lr_lambdas" in state


def test_repr_and_base_class():
    opt = FakeSGD()
    assert repr(StepLR(opt, 2)) == "StepLR(last_epoch=0, lr=[0.1, 0.03])"
    assert issubclass(OneCycleLR, LRScheduler) and issubclass(SequentialLR, LRScheduler)
    assert set(sch.__all__) == {"LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
                                "LinearLR", "LambdaLR", "OneCycleLR", "SequentialLR"}


# ---------------------------------------------------------------- the real optimizers, once they have param_groups

def _real(kind, **kwargs):
    from bpkit.optim import SGD, Adam
    from bpkit.tensor import Tensor
    p = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt = (SGD if kind == "SGD" else Adam)([p], lr=0.1, **kwargs)
    if not isinstance(getattr(opt, "param_groups", None), list):
        pytest.skip(f"bpkit.optim.{kind} has no param_groups yet")
    return opt, p


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_real_optimizer_onecycle(kind):
    opt, p = _real(kind, **({"momentum": 0.9} if kind == "SGD" else {}))
    sched = OneCycleLR(opt, 1.0, total_steps=30)
    key = (lambda g: g["momentum"]) if kind == "SGD" else (lambda g: g["betas"][0])
    for t in range(30):
        lr, mom = onecycle(t, 1.0, 30)
        np.testing.assert_allclose(opt.param_groups[0]["lr"], lr, rtol=1e-10)
        np.testing.assert_allclose(key(opt.param_groups[0]), mom, rtol=1e-12)
        opt.zero_grad()
        p.sum().backward()
        opt.step()
        sched.step()


def test_real_sgd_scheduler_step_first_warns():
    opt, p = _real("SGD")
    sched = ExponentialLR(opt, 0.9)
    with pytest.warns(UserWarning, match="before `optimizer.step..`"):
        sched.step()


def test_real_sgd_uses_the_scheduled_lr():
    opt, p = _real("SGD")
    sched = StepLR(opt, 1, 0.5)
    want = np.array([1.0, -2.0])
    for t in range(4):
        opt.zero_grad()
        p.sum().backward()                        # gradient 1 everywhere
        opt.step()
        want = want - 0.1 * 0.5 ** t
        sched.step()
    np.testing.assert_allclose(p.data, want, rtol=1e-12)


# ---------------------------------------------------------------- bad input: one line from bpkit.errors

class NoGroups:
    pass


BAD = [
    (lambda: StepLR([0.1], 3), errors.BpkitTypeError, "StepLR: expected an optimizer"),
    (lambda: StepLR(NoGroups(), 3), errors.BpkitTypeError, "NoGroups, which has no param_groups"),
    (lambda: ExponentialLR(type("O", (), {"param_groups": [{"params": []}]})(), 0.9), errors.BpkitTypeError,
     "param_groups[0] of O has no 'lr'"),
    (lambda: CosineAnnealingLR(type("O", (), {"param_groups": []})(), 5), errors.BpkitTypeError, "non-empty list"),
    (lambda: StepLR(FakeSGD(), 0), errors.BpkitValueError, "step_size must be a positive integer, got 0"),
    (lambda: StepLR(FakeSGD(), -2), errors.BpkitValueError, "step_size must be a positive integer, got -2"),
    (lambda: StepLR(FakeSGD(), 2.5), errors.BpkitTypeError, "step_size must be an integer"),
    (lambda: StepLR(FakeSGD(), 3, gamma=-0.5), errors.BpkitValueError, "StepLR: gamma must be >= 0, got -0.5"),
    (lambda: MultiStepLR(FakeSGD(), [3, 6], gamma=-1), errors.BpkitValueError, "gamma must be >= 0"),
    (lambda: ExponentialLR(FakeSGD(), -0.9), errors.BpkitValueError, "ExponentialLR: gamma must be >= 0"),
    (lambda: ExponentialLR(FakeSGD(), float("nan")), errors.BpkitValueError, "gamma must be >= 0, got nan"),
    (lambda: ExponentialLR(FakeSGD(), "0.9"), errors.BpkitTypeError, "gamma must be a number"),
    (lambda: MultiStepLR(FakeSGD(), 5), errors.BpkitTypeError, "milestones must be a list"),
    (lambda: MultiStepLR(FakeSGD(), [3, 4.5]), errors.BpkitTypeError, "milestones[1] must be an integer"),
    (lambda: CosineAnnealingLR(FakeSGD(), 0), errors.BpkitValueError, "T_max must be a positive integer"),
    (lambda: CosineAnnealingLR(FakeSGD(), 10, eta_min=-0.1), errors.BpkitValueError, "eta_min must be >= 0"),
    (lambda: LinearLR(FakeSGD(), start_factor=0), errors.BpkitValueError, "start_factor must be in (0, 1], got 0"),
    (lambda: LinearLR(FakeSGD(), start_factor=1.5), errors.BpkitValueError, "start_factor must be in (0, 1]"),
    (lambda: LinearLR(FakeSGD(), end_factor=-0.1), errors.BpkitValueError, "end_factor must be in [0, 1]"),
    (lambda: LinearLR(FakeSGD(), total_iters=-1), errors.BpkitValueError, "total_iters must be an integer >= 0"),
    (lambda: LambdaLR(FakeSGD(), [lambda t: 1.0]), errors.BpkitValueError, "expected 2 lr_lambdas"),
    (lambda: LambdaLR(FakeSGD(), [lambda t: 1.0] * 3), errors.BpkitValueError, "expected 2 lr_lambdas"),
    (lambda: LambdaLR(FakeSGD(), 0.5), errors.BpkitTypeError, "lr_lambda must be a function"),
    (lambda: LambdaLR(FakeSGD(), [lambda t: 1.0, 2]), errors.BpkitTypeError, "lr_lambda[1] must be a function"),
    (lambda: OneCycleLR(FakeSGD(), 1.0), errors.BpkitValueError,
     "give total_steps, or both epochs and steps_per_epoch"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, epochs=3), errors.BpkitValueError, "give total_steps"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=0), errors.BpkitValueError, "total_steps must be a positive"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, epochs=2, steps_per_epoch=0), errors.BpkitValueError,
     "steps_per_epoch must be a positive integer"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=10, pct_start=1.2), errors.BpkitValueError,
     "pct_start must be in [0, 1]"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=10, pct_start=0.1), errors.BpkitValueError,
     "pct_start=0.1 with total_steps=10 leaves phase 1 of the cycle no steps"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=10, pct_start=1.0), errors.BpkitValueError,
     "pct_start=1.0 with total_steps=10 leaves phase 2 of the cycle no steps"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=4, pct_start=0.625, three_phase=True), errors.BpkitValueError,
     "leaves phase 3 of the cycle no steps"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=10, anneal_strategy="cosine"), errors.BpkitValueError,
     "anneal_strategy must be 'cos' or 'linear', got 'cosine'"),
    (lambda: OneCycleLR(FakeSGD(), [1.0, 2.0, 3.0], total_steps=10), errors.BpkitValueError,
     "max_lr has 3 values but the optimizer has 2 param groups"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=10, base_momentum=[0.8]), errors.BpkitValueError,
     "base_momentum has 1 values"),
    (lambda: OneCycleLR(FakeSGD(), 1.0, total_steps=10, div_factor=0), errors.BpkitValueError,
     "div_factor must be > 0"),
    (lambda: OneCycleLR(FakePlain(), 1.0, total_steps=10), errors.BpkitValueError,
     "FakePlain has no momentum or betas to cycle; pass cycle_momentum=False"),
    (lambda: SequentialLR(FakeSGD(), [], []), errors.BpkitValueError, "at least one scheduler"),
    (lambda: SequentialLR(FakeSGD(), [StepLR(FakeSGD(), 2)], []), errors.BpkitValueError,
     "schedulers[0] (StepLR) belongs to another optimizer"),
    (lambda: SequentialLR(FakeSGD(), ["StepLR"], []), errors.BpkitTypeError, "not a learning-rate scheduler"),
]


def _sequential(milestones):
    opt = FakeSGD()
    return SequentialLR(opt, [StepLR(opt, 2), ExponentialLR(opt, 0.9), StepLR(opt, 3)], milestones)


BAD += [
    (lambda: _sequential([5, 5]), errors.BpkitValueError, "milestones must be increasing, got [5, 5]"),
    (lambda: _sequential([8, 3]), errors.BpkitValueError, "milestones must be increasing, got [8, 3]"),
    (lambda: _sequential([5]), errors.BpkitValueError, "3 schedulers need 2 milestones, got 1"),
    (lambda: _sequential([5, 7.5]), errors.BpkitTypeError, "milestones[1] must be an integer"),
]


@pytest.mark.parametrize("make, cls, words", BAD, ids=[w for _, _, w in BAD])
def test_bad_input(make, cls, words):
    with pytest.raises(cls) as info:
        make()
    message = str(info.value)
    assert words in message
    assert "\n" not in message and isinstance(info.value, errors.BpkitError)
    assert message.split(":")[0] in sch.__all__                      # names the scheduler first
