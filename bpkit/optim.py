"""Optimizers with PyTorch's names, defaults, update rules and argument checks: SGD, Adam.

One interface for all (as in ``torch.optim``)::

    opt = Adam(model.parameters(), lr=1e-3)
    for xb, yb in batches:
        opt.zero_grad()              # backward() accumulates, so clear first
        loss_fn(model(xb), yb).backward()
        opt.step()                   # update every parameter in place

The per-parameter state is explicit: ``opt.state[i]`` is a dict for
``opt.params[i]`` (``momentum_buffer`` for SGD; ``step``, ``exp_avg``,
``exp_avg_sq`` for Adam), named as in PyTorch. Hyperparameters are plain
attributes (``opt.lr = 0.01`` changes the learning rate for the next step).
"""
import math

import numpy as np

from bpkit.errors import BpkitTypeError, BpkitValueError
from bpkit.tensor import Tensor, no_grad

__all__ = ["Optimizer", "SGD", "Adam"]


class Optimizer:
    """Base class: holds the parameters and their state; subclasses define ``step()``.

    params: any iterable of Tensors created with ``requires_grad=True`` (a list,
    ``model.parameters()``, a generator). Duplicates are kept once, so a shared
    tensor is not updated twice. Parameters whose ``.grad`` is None are skipped.
    """

    def __init__(self, params):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise BpkitTypeError(f"{name}: params should be an iterable of Tensors, got a single Tensor "
                                 f"(wrap it in a list: [x])")
        params = list(params)                      # a generator can only be read once
        if not params:
            raise BpkitValueError(f"{name}: optimizer got an empty parameter list")
        self.params, seen = [], set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise BpkitTypeError(f"{name}: optimizer can only optimize Tensors, "
                                     f"but parameter {i} has type {type(p).__name__}")
            if not p.requires_grad:
                raise BpkitValueError(f"{name}: parameter {i} (shape {tuple(p.shape)}) does not require grad; "
                                      f"create it with requires_grad=True")
            if not p.is_leaf:
                raise BpkitValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} was made by an "
                                      f"operation); pass the tensors you created with requires_grad=True")
            if id(p) not in seen:
                seen.add(id(p))
                self.params.append(p)
        self.state = [{} for _ in self.params]

    def zero_grad(self):
        """Set ``.grad`` to None on every parameter (the next backward starts from nothing)."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient, in place (dtype kept).

        The write is ``p.sub_(update)`` under ``no_grad()``, as in torch.optim:
        it counts up ``p._version``, so a graph that saved ``p`` before the step
        refuses to backward instead of giving gradients for weights that are gone.
        """
        raise NotImplementedError

    def _with_grads(self):
        """(param, its gradient, its state) for each parameter whose ``.grad`` is not None."""
        for p, state in zip(self.params, self.state):
            if p.grad is not None:
                yield p, np.asarray(p.grad), state

    def _hyper(self):
        """The hyperparameters shown by repr (each subclass lists its own)."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v}" for k, v in self._hyper().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


def _check(name, what, value, ok, rule):
    """Raise the one-line error ``name: invalid what: value (rule)`` unless ok (PyTorch's wording)."""
    if not ok:
        raise BpkitValueError(f"{name}: invalid {what}: {value} ({rule})")


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (``torch.optim.SGD``'s rule).

    g = grad + weight_decay * p
    buf = g on the first step, then buf = momentum * buf + g   (only if momentum > 0)
    p -= lr * buf   (or lr * g without momentum)
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
        _check("SGD", "learning rate", lr, lr >= 0, "must be >= 0")
        _check("SGD", "momentum value", momentum, momentum >= 0, "must be >= 0")
        _check("SGD", "weight_decay value", weight_decay, weight_decay >= 0, "must be >= 0")
        super().__init__(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay

    def _hyper(self):
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}

    def step(self):
        with no_grad():
            for p, g, state in self._with_grads():
                if self.weight_decay:
                    g = g + self.weight_decay * p.data
                if self.momentum:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, dtype=p.data.dtype)
                    else:
                        buf *= self.momentum
                        buf += g
                    g = buf
                p.sub_(self.lr * g)                 # counted: p._version goes up


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with ``torch.optim.Adam``'s update rule and defaults.

    t += 1;  g = grad + weight_decay * p
    m = beta1 * m + (1 - beta1) * g          (exp_avg: running mean of g)
    v = beta2 * v + (1 - beta2) * g**2       (exp_avg_sq: running mean of g**2)
    p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    The (1 - beta**t) factors undo the bias of m and v towards their zero start.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        _check("Adam", "learning rate", lr, lr >= 0, "must be >= 0")
        _check("Adam", "epsilon value", eps, eps >= 0, "must be >= 0")
        for i in (0, 1):
            _check("Adam", f"beta parameter at index {i}", betas[i], 0.0 <= betas[i] < 1.0, "must be in [0, 1)")
        _check("Adam", "weight_decay value", weight_decay, weight_decay >= 0, "must be >= 0")
        super().__init__(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay

    def _hyper(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}

    def step(self):
        beta1, beta2 = self.betas
        with no_grad():
            for p, g, state in self._with_grads():
                if self.weight_decay:
                    g = g + self.weight_decay * p.data
                if not state:
                    state.update(step=0, exp_avg=np.zeros_like(p.data), exp_avg_sq=np.zeros_like(p.data))
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * (g * g)
                step_size = self.lr / (1 - beta1 ** t)
                denom = np.sqrt(v) / math.sqrt(1 - beta2 ** t) + self.eps   # math.sqrt: a Python float keeps float32
                update = m / denom
                update *= step_size                 # in place: no second temporary
                p.sub_(update)                      # counted: p._version goes up
