"""bpkit: the toolkit behind the backpropagation course.

The core is numpy only: ``Value`` (scalar autograd for teaching), ``Tensor``
(array autograd with PyTorch's names), ``no_grad``, the functions on tensors
(``where``, ``concatenate``/``cat``, ``stack``, ``clip``/``clamp``, ``abs``,
``sqrt``, ``minimum``, ``maximum``, ``flatten``), ``gradcheck`` and the ``functional``,
``nn`` and ``optim`` modules. Plotting, widgets and SymPy
helpers live in their own modules and load matplotlib, ipywidgets or SymPy
only when imported, so ``import bpkit`` stays fast.
"""
from importlib import import_module

__version__ = "0.1.0"

# name -> module that defines it; loaded on first use (PEP 562), so importing
# bpkit loads not even numpy (`python -m bpkit doctor` must run, and say what
# is missing, under a Python without the course's packages).
_EXPORTS = {
    "Value": "bpkit.scalar",
    "Tensor": "bpkit.tensor",
    "no_grad": "bpkit.grad_mode",
    # functions on tensors that numpy's would drop the graph in (torch.where, torch.cat, ...)
    **{name: "bpkit.ops" for name in (
        "where", "concatenate", "cat", "stack", "clip", "clamp", "abs", "sqrt", "minimum", "maximum",
        "flatten")},
}
# `bpkit.gradcheck` is always the module (callable: bpkit.gradcheck(fn, ...)
# runs gradcheck.gradcheck), so bpkit.gradcheck.numerical_grad works too.
_SUBMODULES = {"functional", "nn", "optim", "errors", "gradcheck", "diagnostics"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
    elif name in _SUBMODULES:
        value = import_module(f"bpkit.{name}")
    else:
        raise AttributeError(f"module 'bpkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
