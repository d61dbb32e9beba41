"""SGD: stochastic gradient descent with momentum, dampening and Nesterov (``torch.optim.SGD``)."""
import numpy as np

from bpkit.errors import BpkitValueError
from bpkit.optim.optimizer import Optimizer
from bpkit.tensor import no_grad

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum (``torch.optim.SGD``'s rule).

    For each parameter p with gradient g = dL/dp, at step t = 1, 2, ...::

        g = g + weight_decay * p                       (if weight_decay != 0)
        b = g                   at t = 1               (momentum_buffer, if momentum != 0)
        b = momentum * b + (1 - dampening) * g   at t > 1
        g = g + momentum * b   if nesterov, else g = b
        p = p - lr * g

    Nesterov is PyTorch's reformulation (the step uses g + momentum * b, so no
    look-ahead evaluation is needed); it requires momentum > 0 and dampening 0.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    @classmethod
    def _check_together(cls, group):
        if group.get("nesterov") and (group.get("momentum", 0) <= 0 or group.get("dampening", 0) != 0):
            raise BpkitValueError(f"{cls.__name__}: Nesterov momentum requires a momentum and zero dampening "
                                  f"(got momentum={group.get('momentum')}, dampening={group.get('dampening')})")

    def step(self):
        with no_grad():
            for group in self.param_groups:
                lr, mu, damp = group["lr"], group["momentum"], group["dampening"]
                wd, nesterov = group["weight_decay"], group["nesterov"]
                for p, w, g, state in self._with_grads(group):
                    if wd:
                        d = w * wd
                        d += g
                        g = d
                    if mu:
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            buf = state["momentum_buffer"] = np.array(g, dtype=w.dtype)   # a copy
                        else:
                            buf *= mu
                            buf += g if damp == 0 else (1 - damp) * g
                        g = g + mu * buf if nesterov else buf
                    p.sub_(lr * g)                  # counted: p._version goes up
