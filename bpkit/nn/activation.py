"""Activations as layers: ReLU, LeakyReLU, GELU, Tanh, Sigmoid (elementwise, any shape), and Identity."""
from bpkit import functional as F
from bpkit.errors import BpkitValueError
from bpkit.nn.module import Module

__all__ = ["Identity", "ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid"]


class Identity(Module):
    """Returns its input unchanged; takes (and ignores) any arguments, as torch.nn.Identity.

    A placeholder where a layer is optional: ``norm = BatchNorm1d(n) if use_norm else Identity()``.
    """

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, input):
        return input


class ReLU(Module):
    """max(0, x) elementwise; any shape.

    ``inplace`` is accepted for PyTorch's signature; bpkit always returns a new tensor
    (the input may be needed by another gradient).
    """

    def __init__(self, inplace=False):
        self.inplace = inplace

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else negative_slope * x; any shape. As torch.nn.LeakyReLU (default slope 0.01).

    ``inplace`` is accepted for PyTorch's signature; bpkit always returns a new tensor.
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        F.leaky_relu(0.0, negative_slope)  # the same one-line error for a slope that is not a number
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class GELU(Module):
    """x * Phi(x) (Phi the standard normal CDF) elementwise, as torch.nn.GELU.

    approximate="tanh" uses the tanh formula instead of erf, as in PyTorch.
    """

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise BpkitValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r:.40}")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    """tanh(x) elementwise; any shape."""

    def forward(self, x):
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise; any shape."""

    def forward(self, x):
        return F.sigmoid(x)
