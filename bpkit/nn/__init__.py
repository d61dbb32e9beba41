"""Layers with PyTorch's names: Module, Linear, Sequential, Identity, ReLU, LeakyReLU, GELU,
Tanh, Sigmoid, Dropout, BatchNorm1d, LayerNorm, Conv1d, Conv2d, MaxPool1d/2d, AvgPool1d/2d,
Flatten, RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU; ``nn.init`` (initial values) and
``nn.utils`` (gradient clipping) as in PyTorch.

One module per concept: ``module`` (the base class, its walks, hooks and the
state dict), ``linear``, ``container`` (Sequential), ``activation``,
``dropout``, ``normalization``, ``conv``, ``pooling``, ``flatten``, ``rnn``, ``init``, ``utils``. Seeding: layers that draw random numbers (``Linear``'s
init, ``Dropout``'s masks) take an ``rng`` argument (a ``np.random.Generator``
or an int seed), the same habit as ``np.random.default_rng(0)`` everywhere
else in the course.
"""
from bpkit.nn import init, utils
from bpkit.nn.activation import GELU, Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from bpkit.nn.container import Sequential
from bpkit.nn.conv import Conv1d, Conv2d
from bpkit.nn.dropout import Dropout
from bpkit.nn.flatten import Flatten
from bpkit.nn.linear import Linear
from bpkit.nn.module import Module
from bpkit.nn.normalization import BatchNorm1d, LayerNorm
from bpkit.nn.pooling import AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d
from bpkit.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = ["Module", "Linear", "Sequential", "Identity", "ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid",
           "Dropout", "BatchNorm1d", "LayerNorm", "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d",
           "AvgPool2d", "Flatten", "RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "init", "utils"]
