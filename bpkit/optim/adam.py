"""Adam and AdamW: bias-corrected running means of g and g**2 (``torch.optim.Adam``, ``torch.optim.AdamW``)."""
import math

import numpy as np

from bpkit.optim.optimizer import Optimizer
from bpkit.tensor import no_grad

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with ``torch.optim.Adam``'s rule and defaults.

    State per parameter p: ``step`` t, ``exp_avg`` m, ``exp_avg_sq`` v (and
    ``max_exp_avg_sq`` v_max with amsgrad), all starting at 0::

        t = t + 1
        g = g + weight_decay * p                       (L2 penalty in the gradient; see AdamW)
        m = beta1 * m + (1 - beta1) * g                (running mean of g)
        v = beta2 * v + (1 - beta2) * g * g            (running mean of g**2)
        v_max = max(v_max, v);  use v_max for v below  (if amsgrad)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    The (1 - beta**t) factors undo the bias of m and v towards their zero start.
    """

    _decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def step(self):
        with no_grad():
            for group in self.param_groups:
                lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
                wd, amsgrad = group["weight_decay"], group["amsgrad"]
                for p, w, g, state in self._with_grads(group):
                    if not state:
                        state.update(step=0, exp_avg=np.zeros_like(w), exp_avg_sq=np.zeros_like(w))
                    if amsgrad and "max_exp_avg_sq" not in state:
                        state["max_exp_avg_sq"] = np.zeros_like(w)
                    if wd and self._decoupled:
                        p.mul_(1 - lr * wd)         # AdamW: decay the weights, not the gradient
                    elif wd:
                        d = w * wd
                        d += g
                        g = d
                    state["step"] += 1
                    t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                    m *= beta1
                    tmp = np.multiply(g, 1 - beta1, out=np.empty_like(w))   # an array even when p is 0-d
                    m += tmp
                    v *= beta2
                    np.multiply(g, g, out=tmp)
                    tmp *= 1 - beta2
                    v += tmp
                    if amsgrad:
                        np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                        v = state["max_exp_avg_sq"]
                    step_size = lr / (1 - beta1 ** t)
                    np.sqrt(v, out=tmp)
                    tmp /= math.sqrt(1 - beta2 ** t)   # math.sqrt: a Python float keeps float32
                    tmp += eps
                    np.divide(m, tmp, out=tmp)
                    tmp *= step_size
                    p.sub_(tmp)                     # counted: p._version goes up


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay (``torch.optim.AdamW``).

    Before Adam's step (with no weight decay in g)::

        p = p * (1 - lr * weight_decay)

    so the decay does not pass through m and v, and is not rescaled by sqrt(v).
    Default weight_decay is 1e-2, as in PyTorch.
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
