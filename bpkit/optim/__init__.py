"""Optimizers with PyTorch's names, defaults, update rules and argument checks.

SGD, Adagrad, RMSprop, Adam, AdamW share one interface (as in ``torch.optim``)::

    opt = Adam(model.parameters(), lr=1e-3)
    for xb, yb in batches:
        opt.zero_grad()              # backward() accumulates, so clear first
        loss_fn(model(xb), yb).backward()
        opt.step()                   # update every parameter in place

``opt.param_groups`` is a list of dicts ("params" and each hyperparameter by
PyTorch's key, read afresh at every step, checked whenever set);
``opt.state[p]`` is the per-parameter state, named as in PyTorch;
``opt.state_dict()`` / ``opt.load_state_dict(sd)`` save and restore both.
With one group, ``opt.lr`` (and the other hyperparameters) read and write it.
Each module: optimizer.py (the base class), sgd.py, adagrad.py, rmsprop.py, adam.py;
``bpkit.optim.lr_scheduler`` holds the learning-rate schedulers (torch.optim.lr_scheduler's).
"""
from bpkit.optim.adagrad import Adagrad
from bpkit.optim.adam import Adam, AdamW
from bpkit.optim.optimizer import Optimizer
from bpkit.optim.rmsprop import RMSprop
from bpkit.optim.sgd import SGD
from bpkit.optim import lr_scheduler  # noqa: E402 (after the optimizers it schedules)

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "lr_scheduler"]
