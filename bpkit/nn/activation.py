"""Activations as layers: ReLU, Tanh, Sigmoid (elementwise, any shape)."""
from bpkit.nn.module import Module

__all__ = ["ReLU", "Tanh", "Sigmoid"]


class ReLU(Module):
    """max(0, x) elementwise; any shape."""

    def forward(self, x):
        return x.relu()


class Tanh(Module):
    """tanh(x) elementwise; any shape."""

    def forward(self, x):
        return x.tanh()


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise; any shape."""

    def forward(self, x):
        return x.sigmoid()
