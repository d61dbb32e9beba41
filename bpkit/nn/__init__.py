"""Layers with PyTorch's names: Module, Linear, Sequential, Identity, ReLU, LeakyReLU, GELU,
Tanh, Sigmoid, Dropout, BatchNorm1d, LayerNorm; ``nn.init`` (initial values) and
``nn.utils`` (gradient clipping) as in PyTorch.

One module per concept: ``module`` (the base class, its walks, hooks and the
state dict), ``linear``, ``container`` (Sequential), ``activation``,
``dropout``, ``normalization``, ``init``, ``utils``. Seeding: layers that draw random numbers (``Linear``'s
init, ``Dropout``'s masks) take an ``rng`` argument (a ``np.random.Generator``
or an int seed), the same habit as ``np.random.default_rng(0)`` everywhere
else in the course.
"""
from bpkit.nn import init, utils
from bpkit.nn.activation import GELU, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from bpkit.nn.container import Sequential
from bpkit.nn.dropout import Dropout
from bpkit.nn.linear import Linear
from bpkit.nn.module import Module
from bpkit.nn.normalization import BatchNorm1d, LayerNorm

__all__ = ["Module", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid",
           "Dropout", "BatchNorm1d", "LayerNorm", "init", "utils"]
