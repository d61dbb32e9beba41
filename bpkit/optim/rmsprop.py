"""RMSprop: steps divided by a running root-mean-square of the gradient (``torch.optim.RMSprop``)."""
import numpy as np

from bpkit.optim.optimizer import Optimizer
from bpkit.tensor import no_grad

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012) with ``torch.optim.RMSprop``'s rule and defaults.

    State per parameter p: ``step``, ``square_avg`` (v), ``grad_avg`` (if centered),
    ``momentum_buffer`` (b, if momentum > 0), all starting at 0::

        g = g + weight_decay * p                       (if weight_decay != 0)
        v = alpha * v + (1 - alpha) * g * g
        centered:  g_avg = alpha * g_avg + (1 - alpha) * g;   v~ = v - g_avg**2
        otherwise: v~ = v
        b = momentum * b + g / (sqrt(v~) + eps);  p = p - lr * b   (if momentum > 0)
        p = p - lr * g / (sqrt(v~) + eps)                         (otherwise)

    eps is added outside the square root, as in PyTorch.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def step(self):
        with no_grad():
            for group in self.param_groups:
                lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
                mu, centered = group["momentum"], group["centered"]
                for p, w, g, state in self._with_grads(group):
                    if not state:
                        state.update(step=0, square_avg=np.zeros_like(w))
                    if mu and "momentum_buffer" not in state:
                        state["momentum_buffer"] = np.zeros_like(w)
                    if centered and "grad_avg" not in state:
                        state["grad_avg"] = np.zeros_like(w)
                    state["step"] += 1
                    if wd:
                        d = w * wd
                        d += g
                        g = d
                    v = state["square_avg"]
                    v *= alpha
                    tmp = np.multiply(g, g, out=np.empty_like(w))   # an array even when p is 0-d
                    tmp *= 1 - alpha
                    v += tmp
                    if centered:
                        ga = state["grad_avg"]
                        ga *= alpha
                        np.multiply(g, 1 - alpha, out=tmp)
                        ga += tmp
                        np.multiply(ga, ga, out=tmp)
                        np.subtract(v, tmp, out=tmp)
                        np.sqrt(tmp, out=tmp)
                    else:
                        np.sqrt(v, out=tmp)
                    tmp += eps
                    np.divide(g, tmp, out=tmp)
                    if mu:
                        buf = state["momentum_buffer"]
                        buf *= mu
                        buf += tmp
                        np.multiply(buf, lr, out=tmp)
                    else:
                        tmp *= lr
                    p.sub_(tmp)                     # counted: p._version goes up
