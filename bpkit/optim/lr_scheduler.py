"""Learning-rate schedulers with PyTorch's names, defaults and per-step numbers.

A scheduler changes ``group["lr"]`` in an optimizer's ``param_groups`` once per
``scheduler.step()``, which comes *after* ``optimizer.step()``::

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = CosineAnnealingLR(opt, T_max=100)     # sets the lr for step 0 at once
    for t in range(100):
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()                                # uses eta_t
        sched.step()                              # eta_t -> eta_{t+1}

Notation (the chapters' eta is the learning rate): ``t`` is ``last_epoch``, the
number of ``step()`` calls since construction (0 right after it), ``eta_t`` is
the lr the optimizer uses at step t, ``eta_0`` is the group's ``base_lr``
(``group["initial_lr"]``, the lr it had when the first scheduler was attached).

Like ``torch.optim.lr_scheduler``, most schedulers update ``eta`` *recursively*
(``eta_t`` from ``eta_{t-1}``), so two schedulers on one optimizer compose by
multiplying; each docstring gives the closed form that recursion follows, and
``SequentialLR`` uses that closed form when it hands over to the next scheduler.
The numbers are PyTorch's (the same float operations in the same order).

Anything that is not an optimizer (no ``param_groups``: a list of dicts with an
``"lr"``) and every bad argument raise a one-line bpkit error.
"""
import math
import numbers
import types
import warnings
from bisect import bisect_right
from collections import Counter

from bpkit.errors import BpkitTypeError, BpkitValueError

__all__ = [
    "LRScheduler",
    "StepLR",
    "MultiStepLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "LinearLR",
    "LambdaLR",
    "OneCycleLR",
    "SequentialLR",
]


# ---------------------------------------------------------------- argument checks

def _checked_optimizer(name, optimizer):
    """optimizer if it has ``param_groups``, a non-empty list of dicts each with "lr"; else raise."""
    what = type(optimizer).__name__
    groups = getattr(optimizer, "param_groups", None)
    if groups is None:
        raise BpkitTypeError(f"{name}: expected an optimizer (with param_groups, a list of dicts with 'lr'), "
                             f"got {what}, which has no param_groups")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, dict) for g in groups):
        raise BpkitTypeError(f"{name}: expected an optimizer whose param_groups is a non-empty list of dicts, "
                             f"got {what} with param_groups of type {type(groups).__name__}")
    for i, group in enumerate(groups):
        if "lr" not in group:
            raise BpkitTypeError(f"{name}: param_groups[{i}] of {what} has no 'lr' to schedule")
    return optimizer


def _shown(value):
    """A bad value as it would be typed, or its type if that is long."""
    text = repr(value)
    return text if len(text) <= 40 and "\n" not in text else f"a {type(value).__name__}"


def _int(name, arg, value, low):
    """value if it is an int >= low; else raise a one-line error naming the scheduler and argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise BpkitTypeError(f"{name}: {arg} must be an integer, got {_shown(value)} ({type(value).__name__})")
    if value < low:
        rule = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise BpkitValueError(f"{name}: {arg} must be {rule}, got {value}")
    return int(value)


def _real(name, arg, value, low=None, high=None, low_open=False, high_open=False):
    """float(value) if it is a real number in the given interval (open or closed ends); else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BpkitTypeError(f"{name}: {arg} must be a number, got {_shown(value)} ({type(value).__name__})")
    x = float(value)
    lo_ok = low is None or (x > low if low_open else x >= low)
    hi_ok = high is None or (x < high if high_open else x <= high)
    if math.isnan(x) or not (lo_ok and hi_ok):
        if low is not None and high is not None:
            rule = f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        elif low is not None:
            rule = f"{'>' if low_open else '>='} {low}"
        else:
            rule = f"{'<' if high_open else '<='} {high}"
        raise BpkitValueError(f"{name}: {arg} must be {rule}, got {value}")
    return value


def _per_group(name, arg, value, optimizer, **rule):
    """One checked number per param group: a list/tuple of that length, or one number for all."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise BpkitValueError(f"{name}: {arg} has {len(value)} values but the optimizer has "
                                  f"{n} param group{'s' if n != 1 else ''}")
        return [_real(name, f"{arg}[{i}]", v, **rule) for i, v in enumerate(value)]
    return [_real(name, arg, value, **rule)] * n


# ---------------------------------------------------------------- the base class

class LRScheduler:
    """Base class: holds the optimizer, ``base_lrs`` and ``last_epoch``; subclasses define ``get_lr()``.

    Constructing a scheduler stores ``group["initial_lr"]`` (only if the group
    has none yet, so a second scheduler keeps the first's base) and does the
    initial step: ``last_epoch`` becomes 0 and ``group["lr"]`` is eta_0's
    scheduled value. Each ``step()`` then adds 1 to ``last_epoch`` and writes
    ``get_lr()`` into the groups.
    """

    def __init__(self, optimizer):
        self.optimizer = _checked_optimizer(type(self).__name__, optimizer)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._initial_step()

    def _initial_step(self):
        """The step construction does: last_epoch -1 -> 0 (``_is_initial`` tells get_lr it is this one)."""
        self._step_count = 0
        self._versions_at_start = self._param_versions()
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self):
        """The lr of each param group for the current ``last_epoch`` (called by ``step()``).

        To read the current learning rates, use ``get_last_lr()``: most
        schedulers compute eta_t from eta_{t-1}, so a call outside ``step()``
        would give the *next* value (PyTorch warns too).
        """
        raise NotImplementedError

    def _closed_form_lr(self):
        """eta at ``last_epoch`` from ``base_lrs`` alone (SequentialLR's handover); None: use get_lr()."""
        return None

    def step(self):
        """Advance the schedule by one: call it after ``optimizer.step()``.

        The first call warns (as PyTorch does) if no optimizer step has changed a
        parameter since construction: called first, it skips eta_0. bpkit sees
        this in the parameters' version counters, which every optimizer step
        counts up, instead of patching ``optimizer.step`` as PyTorch does.
        """
        if self._step_count == 1:
            versions = self._param_versions()
            if versions is not None and versions == self._versions_at_start:
                warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`: call "
                              "`optimizer.step()` first, or the first value of the learning-rate schedule "
                              "is skipped", UserWarning, stacklevel=2)
        self._step_count += 1
        self._update_lr()

    def _param_versions(self):
        """The sum of the params' ``_version`` counters (None if no param in the groups has one)."""
        versions = [p._version for group in self.optimizer.param_groups
                    for p in group.get("params", ()) if hasattr(p, "_version")]
        return sum(versions) if versions else None

    def _update_lr(self, epoch=None):
        """last_epoch += 1 and the recursive get_lr(); or (epoch given) jump there with the closed form."""
        self._in_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                values = self._closed_form_lr()
                if values is None:
                    values = self.get_lr()
        finally:
            self._in_step = False
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _warn_outside_step(self):
        if not getattr(self, "_in_step", False):
            warnings.warn("To get the last learning rate computed by the scheduler, please use `get_last_lr()`.",
                          UserWarning, stacklevel=3)

    def _current_lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self):
        """The learning rates the last ``step()`` (or the construction) set, one per param group."""
        return list(self._last_lr)

    def state_dict(self):
        """Everything needed to resume the schedule: every attribute except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict):
        """Resume from ``state_dict()``'s output (load the optimizer's state as well)."""
        self.__dict__.update(state_dict)

    def __repr__(self):
        lrs = ", ".join(f"{lr:.6g}" for lr in self._last_lr)
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr=[{lrs}])"


# ---------------------------------------------------------------- the schedulers

class StepLR(LRScheduler):
    """Multiply the lr by gamma every step_size steps.

    eta_t = eta_0 * gamma ** (t // step_size)
    (recursively: eta_t = gamma * eta_{t-1} when t is a positive multiple of step_size, else eta_{t-1})
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = _int("StepLR", "step_size", step_size, low=1)
        self.gamma = _real("StepLR", "gamma", gamma, low=0)
        super().__init__(optimizer)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    """Multiply the lr by gamma at each milestone (twice at a milestone given twice).

    eta_t = eta_0 * gamma ** (number of milestones m with m <= t)
    """

    def __init__(self, optimizer, milestones, gamma=0.1):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise BpkitTypeError(f"MultiStepLR: milestones must be a list of step numbers, got {_shown(milestones)}")
        milestones = list(milestones)
        for i, m in enumerate(milestones):
            _int("MultiStepLR", f"milestones[{i}]", m, low=0)
        self.milestones = Counter(int(m) for m in milestones)
        self.gamma = _real("MultiStepLR", "gamma", gamma, low=0)
        super().__init__(optimizer)

    def get_lr(self):
        self._warn_outside_step()
        if self.last_epoch not in self.milestones:
            return self._current_lrs()
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _closed_form_lr(self):
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch) for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every step.

    eta_t = eta_0 * gamma ** t      (recursively: eta_t = gamma * eta_{t-1})
    """

    def __init__(self, optimizer, gamma):
        self.gamma = _real("ExponentialLR", "gamma", gamma, low=0)
        super().__init__(optimizer)

    def get_lr(self):
        self._warn_outside_step()
        if self._is_initial:
            return self._current_lrs()
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneal the lr from eta_0 down to eta_min along half a cosine over T_max steps.

    eta_t = eta_min + (eta_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2

    Computed recursively, as PyTorch does (so it composes with other changes to the lr):
    eta_t = eta_min + (eta_{t-1} - eta_min) * (1 + cos(pi * t / T_max)) / (1 + cos(pi * (t - 1) / T_max)),
    which follows the closed form to rounding. Past T_max the cosine goes on, so the
    lr climbs back to eta_0 at 2 * T_max (SGDR without restarts); at t = T_max + 1
    (+ multiples of 2 * T_max), where the ratio would be 0 / 0, the step is additive:
    eta_t = eta_{t-1} + (eta_0 - eta_min) * (1 - cos(pi / T_max)) / 2.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = _int("CosineAnnealingLR", "T_max", T_max, low=1)
        self.eta_min = _real("CosineAnnealingLR", "eta_min", eta_min, low=0)
        super().__init__(optimizer)

    def get_lr(self):
        self._warn_outside_step()
        t, T = self.last_epoch, self.T_max
        if self._is_initial:
            return self._current_lrs()
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base_lr - self.eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - self.eta_min) + self.eta_min
                for group in self.optimizer.param_groups]

    def _closed_form_lr(self):
        return [self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    """Warm-up: scale the lr by a factor going linearly from start_factor to end_factor in total_iters steps.

    eta_t = eta_0 * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)

    Computed recursively, as PyTorch does: eta_0 * start_factor at t = 0, then for
    1 <= t <= total_iters eta_t = eta_{t-1} * (1 + (end_factor - start_factor)
    / (total_iters * start_factor + (t - 1) * (end_factor - start_factor))), then constant.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        self.start_factor = _real("LinearLR", "start_factor", start_factor, low=0, high=1, low_open=True)
        self.end_factor = _real("LinearLR", "end_factor", end_factor, low=0, high=1)
        self.total_iters = _int("LinearLR", "total_iters", total_iters, low=0)
        super().__init__(optimizer)

    def get_lr(self):
        self._warn_outside_step()
        t, n = self.last_epoch, self.total_iters
        if t == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or t > n:
            return self._current_lrs()
        d = self.end_factor - self.start_factor
        return [group["lr"] * (1.0 + d / (n * self.start_factor + (t - 1) * d))
                for group in self.optimizer.param_groups]

    def _closed_form_lr(self):
        n = self.total_iters
        frac = min(n, self.last_epoch) / n if n else 0.0     # total_iters=0: the recursion stays at start_factor
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)
                for base_lr in self.base_lrs]


class LambdaLR(LRScheduler):
    """The lr is base_lr times a function of the step: eta_t = eta_0 * lr_lambda(t).

    lr_lambda: one function of the step number t (an int) returning a factor, or a
    list of them, one per param group.
    """

    def __init__(self, optimizer, lr_lambda):
        _checked_optimizer("LambdaLR", optimizer)
        n = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n:
                raise BpkitValueError(f"LambdaLR: expected {n} lr_lambdas (one per param group), "
                                      f"got {len(lr_lambda)}")
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n
        for i, fn in enumerate(lambdas):
            if not callable(fn):
                where = f"lr_lambda[{i}]" if isinstance(lr_lambda, (list, tuple)) else "lr_lambda"
                raise BpkitTypeError(f"LambdaLR: {where} must be a function of the step number, "
                                     f"got {_shown(fn)} ({type(fn).__name__})")
        self.lr_lambdas = lambdas
        super().__init__(optimizer)

    def get_lr(self):
        self._warn_outside_step()
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def state_dict(self):
        """As the base class, but a plain function is not saved (None); a callable object's __dict__ is."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "lr_lambdas")}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(vars(fn))
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        lambdas = state.pop("lr_lambdas")
        self.__dict__.update(state)
        for fn, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018): warm up to max_lr, then anneal far below the start.

    With T = total_steps (or epochs * steps_per_epoch), p = pct_start,
    eta_start = max_lr / div_factor (stored as initial_lr), eta_end = eta_start / final_div_factor:

    two phases (default): eta goes eta_start -> max_lr over steps 0 .. p*T - 1,
                          then max_lr -> eta_end up to step T - 1;
    three_phase=True:     eta_start -> max_lr (to p*T - 1), max_lr -> eta_start (to 2*p*T - 2),
                          eta_start -> eta_end (to T - 1).

    Within a phase from step s0 to s1, with x = (t - s0) / (s1 - s0) going 0 -> 1:
    "cos": a + (b - a) * (1 - cos(pi * x)) / 2      (written as b + (a - b) / 2 * (cos(pi * x) + 1))
    "linear": a + (b - a) * x

    cycle_momentum (on by default): the momentum moves the opposite way, between
    max_momentum (at eta_start) and base_momentum (at max_lr): ``group["momentum"]``
    for SGD-like optimizers, ``group["betas"][0]`` (beta1) for Adam-like ones.
    step() may be called total_steps times after construction; once more raises.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):
        name = "OneCycleLR"
        _checked_optimizer(name, optimizer)
        if total_steps is not None:
            self.total_steps = _int(name, "total_steps", total_steps, low=1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = (_int(name, "epochs", epochs, low=1)
                                * _int(name, "steps_per_epoch", steps_per_epoch, low=1))
        else:
            raise BpkitValueError(f"{name}: give total_steps, or both epochs and steps_per_epoch "
                                  f"(got total_steps=None, epochs={epochs}, steps_per_epoch={steps_per_epoch})")
        pct_start = _real(name, "pct_start", pct_start, low=0, high=1)
        if anneal_strategy not in ("cos", "linear"):
            raise BpkitValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {_shown(anneal_strategy)}")
        div_factor = _real(name, "div_factor", div_factor, low=0, low_open=True)
        final_div_factor = _real(name, "final_div_factor", final_div_factor, low=0, low_open=True)
        T = self.total_steps
        warm_end = float(pct_start * T) - 1
        # each phase: (last step, lr from, lr to, momentum from, momentum to), keys into the param group
        if three_phase:
            self._schedule_phases = [
                (warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (float(2 * pct_start * T) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._schedule_phases = [
                (warm_end, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                (T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        # a phase of no length (warm-up when pct_start * total_steps = 1; the last phase when
        # pct_start = 1, or (total_steps + 1) / (2 * total_steps) with three_phase) would be 0 / 0
        # at a step it serves: PyTorch's ZeroDivisionError, refused here at once
        start = 0.0
        for i, phase in enumerate(self._schedule_phases):
            if phase[0] == start:
                raise BpkitValueError(f"{name}: pct_start={pct_start} with total_steps={T} leaves phase {i + 1} of "
                                      f"the cycle no steps (0 / 0 in its formula); choose another pct_start")
            start = phase[0]
        self._anneal_func_type = anneal_strategy

        max_lrs = _per_group(name, "max_lr", max_lr, optimizer, low=0)
        for group, m in zip(optimizer.param_groups, max_lrs):
            group["initial_lr"] = m / div_factor
            group["max_lr"] = m
            group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            defaults = getattr(optimizer, "defaults", None)
            keys = set(defaults) if isinstance(defaults, dict) else set().union(*optimizer.param_groups)
            if "momentum" not in keys and "betas" not in keys:
                raise BpkitValueError(f"{name}: {type(optimizer).__name__} has no momentum or betas to cycle; "
                                      f"pass cycle_momentum=False")
            self.use_beta1 = "betas" in keys
            max_momentums = _per_group(name, "max_momentum", max_momentum, optimizer, low=0)
            base_momentums = _per_group(name, "base_momentum", base_momentum, optimizer, low=0)
            for group, m_hi, m_lo in zip(optimizer.param_groups, max_momentums, base_momentums):
                if self.use_beta1:
                    group["betas"] = (m_hi, *group["betas"][1:])
                else:
                    group["momentum"] = m_hi
                group["max_momentum"] = m_hi
                group["base_momentum"] = m_lo
        super().__init__(optimizer)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        self._warn_outside_step()
        t = self.last_epoch
        if t > self.total_steps:
            raise BpkitValueError(f"OneCycleLR: step() called {t} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr_a, lr_b, m_a, m_b) in enumerate(self._schedule_phases):
                if t <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    lr = self._anneal(group[lr_a], group[lr_b], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[m_a], group[m_b], pct)
                    break
                start_step = end_step
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs


class SequentialLR(LRScheduler):
    """Run schedulers one after another: schedulers[i] from milestones[i-1] (its own step 0) on.

    milestones: increasing step numbers, one fewer than schedulers. At a milestone
    the next scheduler restarts from its own step 0 using its closed form from the
    group's base lr (so its lr does not depend on where the previous one left off):
    e.g. LinearLR warm-up for 5 steps, then CosineAnnealingLR, is
    ``SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, T_max=95)], milestones=[5])``.
    """

    def __init__(self, optimizer, schedulers, milestones):
        name = "SequentialLR"
        _checked_optimizer(name, optimizer)
        schedulers = list(schedulers) if isinstance(schedulers, (list, tuple)) else schedulers
        if not isinstance(schedulers, list):
            raise BpkitTypeError(f"{name}: schedulers must be a list of schedulers, got {_shown(schedulers)}")
        if not schedulers:
            raise BpkitValueError(f"{name}: expects at least one scheduler, got an empty list")
        for i, s in enumerate(schedulers):
            if not isinstance(s, LRScheduler):
                raise BpkitTypeError(f"{name}: schedulers[{i}] is a {type(s).__name__}, not a learning-rate scheduler")
            if s.optimizer is not optimizer:
                raise BpkitValueError(f"{name}: schedulers[{i}] ({type(s).__name__}) belongs to another optimizer; "
                                      f"every scheduler must be built on the one passed to SequentialLR")
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise BpkitTypeError(f"{name}: milestones must be a list of step numbers, got {_shown(milestones)}")
        milestones = list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise BpkitValueError(f"{name}: {len(schedulers)} schedulers need {len(schedulers) - 1} "
                                  f"milestone{'s' if len(schedulers) != 2 else ''}, got {len(milestones)}")
        for i, m in enumerate(milestones):
            _int(name, f"milestones[{i}]", m, low=0)
            if i and m <= milestones[i - 1]:
                raise BpkitValueError(f"{name}: milestones must be increasing, got {milestones}")
        self._schedulers = schedulers
        self._milestones = [int(m) for m in milestones]
        self.last_epoch = 0
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]

        for group in optimizer.param_groups:      # back to the base lr: undo what the schedulers' constructors did
            group["lr"] = group["initial_lr"]
        self._recursive_undo()
        idx = bisect_right(self._milestones, 0)   # only the scheduler for step 0 does its initial step
        self._schedulers[idx]._initial_step()
        self._last_lr = schedulers[idx].get_last_lr()

    def _recursive_undo(self, sched=None):
        """last_epoch -= 1 in every scheduler inside (their constructors each stepped once)."""
        sched = self if sched is None else sched
        if hasattr(sched, "_schedulers"):
            for s in sched._schedulers:
                self._recursive_undo(s)
        else:
            sched.last_epoch -= 1

    def step(self):
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)               # handover: the next scheduler's step 0, closed form
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        """As the base class, with each inner scheduler's own state_dict."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        inner = state.pop("_schedulers")
        self.__dict__.update(state)
        for s, saved in zip(self._schedulers, inner):
            s.load_state_dict(saved)
