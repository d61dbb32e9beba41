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
attributes (``opt.lr = 0.01`` changes the learning rate for the next step),
checked whenever they are set, so a typo fails at once with a one-line error
instead of inside numpy at the next step.
"""
import math
import numbers
from collections.abc import Iterable

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

    # the hyperparameters each subclass has: checked by __setattr__, shown by repr
    _hyperparameters = ()

    def __setattr__(self, name, value):
        """Check a hyperparameter whenever it is set, in ``__init__`` or later (``opt.lr = 0.01``)."""
        if name in self._hyperparameters:
            value = _checked(type(self).__name__, name, value)
        object.__setattr__(self, name, value)

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

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)}" for k in self._hyperparameters)
        return f"{type(self).__name__}({len(self.params)} parameters, {args})"


# PyTorch's words for each hyperparameter in its errors ("Invalid learning rate: -0.1")
_WHAT = {"lr": "learning rate", "momentum": "momentum value", "weight_decay": "weight_decay value",
         "eps": "epsilon value"}


def _checked(opt, arg, value):
    """value as a float (betas: a pair of floats) if it is allowed; else raise a one-line bpkit error.

    Every hyperparameter is a number >= 0, and each of Adam's betas is in [0, 1),
    as torch.optim checks; the error names the optimizer, the argument and the rule.
    """
    if arg != "betas":
        return _number(opt, _WHAT[arg], arg, value)
    rule = "betas must be a pair (beta1, beta2)"
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise BpkitTypeError(f"{opt}: invalid betas: {_shown(value)} ({rule}, got {type(value).__name__})")
    pair = tuple(value)
    if len(pair) != 2:
        raise BpkitValueError(f"{opt}: invalid betas: {_shown(value)} ({rule}, got {len(pair)} "
                              f"value{'s' if len(pair) != 1 else ''})")
    return tuple(_number(opt, f"beta parameter at index {i}", f"betas[{i}]", b, upper=1)
                 for i, b in enumerate(pair))


def _number(opt, what, arg, value, upper=None):
    """float(value) if it is a real number in [0, upper) (or >= 0 without upper); else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BpkitTypeError(f"{opt}: invalid {what}: {_shown(value)} "
                             f"({arg} must be a number, got {type(value).__name__})")
    rule = f"{arg} must be >= 0" if upper is None else f"{arg} must be in [0, {upper})"
    try:
        x = float(value)
    except OverflowError:                      # an int beyond float's range
        x = math.inf if value > 0 else -math.inf
    if math.isnan(x):
        raise BpkitValueError(f"{opt}: invalid {what}: nan ({rule}, not NaN)")
    if not (x >= 0 and (upper is None or x < upper)):
        text = str(value)
        raise BpkitValueError(f"{opt}: invalid {what}: {text if len(text) <= 40 else x} ({rule})")
    return x


def _shown(value):
    """A bad value as it would be typed (None, '0.1', (0.9,)), or its type if that is long."""
    text = repr(value)
    return text if len(text) <= 40 and "\n" not in text else f"a {type(value).__name__}"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (``torch.optim.SGD``'s rule).

    g = grad + weight_decay * p
    buf = g on the first step, then buf = momentum * buf + g   (only if momentum > 0)
    p -= lr * buf   (or lr * g without momentum)
    """

    _hyperparameters = ("lr", "momentum", "weight_decay")

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay   # checked, before params as in PyTorch
        super().__init__(params)

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

    _hyperparameters = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay   # checked
        super().__init__(params)

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
