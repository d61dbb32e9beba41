"""Layers with PyTorch's names: Module, Linear, Sequential, ReLU, Tanh, Sigmoid, Dropout,
BatchNorm1d, LayerNorm.

One module per concept: ``module`` (the base class, its walks and the state
dict), ``linear``, ``container`` (Sequential), ``activation``, ``dropout``,
``normalization``. Seeding: layers that draw random numbers (``Linear``'s
init, ``Dropout``'s masks) take an ``rng`` argument (a ``np.random.Generator``
or an int seed), the same habit as ``np.random.default_rng(0)`` everywhere
else in the course.
"""
from bpkit.nn.activation import ReLU, Sigmoid, Tanh
from bpkit.nn.container import Sequential
from bpkit.nn.dropout import Dropout
from bpkit.nn.linear import Linear
from bpkit.nn.module import Module
from bpkit.nn.normalization import BatchNorm1d, LayerNorm

__all__ = ["Module", "Linear", "Sequential", "ReLU", "Tanh", "Sigmoid", "Dropout", "BatchNorm1d", "LayerNorm"]
