"""Adagrad: per-coordinate steps shrinking with the sum of squared gradients (``torch.optim.Adagrad``)."""
import numpy as np

from bpkit.optim.optimizer import Optimizer
from bpkit.tensor import no_grad

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011) with ``torch.optim.Adagrad``'s rule and defaults.

    State per parameter p: ``sum`` (starts at initial_accumulator_value), ``step``::

        t = t + 1
        g = g + weight_decay * p                       (if weight_decay != 0)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        sum = sum + g * g
        p = p - lr_t * g / (sqrt(sum) + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def step(self):
        with no_grad():
            for group in self.param_groups:
                lr, lr_decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
                for p, w, g, state in self._with_grads(group):
                    if not state:
                        state.update(step=0, sum=np.full_like(w, group["initial_accumulator_value"]))
                    state["step"] += 1
                    if wd:
                        d = w * wd
                        d += g
                        g = d
                    clr = lr / (1 + (state["step"] - 1) * lr_decay)
                    s = state["sum"]
                    tmp = np.multiply(g, g, out=np.empty_like(w))   # an array even when p is 0-d
                    s += tmp
                    np.sqrt(s, out=tmp)
                    tmp += eps
                    np.divide(g, tmp, out=tmp)
                    tmp *= clr
                    p.sub_(tmp)                     # counted: p._version goes up
