"""Linear: the affine layer y = x @ W.T + b, with PyTorch's shapes, init and dtype."""
import math
import numbers

import numpy as np

from bpkit import functional as F
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.nn.module import Module
from bpkit.tensor import Tensor

__all__ = ["Linear"]


class Linear(Module):
    """Affine layer y = x @ W.T + b, with PyTorch's shapes, default init and dtype.

    x: (..., in_features) -> y: (..., out_features); weight: (out_features,
    in_features); bias: (out_features,). Weight and bias start uniform in
    [-1/sqrt(in_features), 1/sqrt(in_features)] (PyTorch's default, Kaiming-uniform
    with a = sqrt(5)), so the output scale does not grow with the layer width.
    Either size may be 0, as in PyTorch: with no input features the weight is
    empty, the bias starts at zero and the output is the bias for every row.
    dtype defaults to float32 as in PyTorch (half the memory, faster matmuls).
    rng: np.random.Generator, int seed, or None (fresh entropy: not reproducible).
    """

    def __init__(self, in_features, out_features, bias=True, dtype=np.float32, rng=None):
        self.in_features = _size("in_features", in_features)
        self.out_features = _size("out_features", out_features)
        rng = np.random.default_rng(rng)
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0   # PyTorch's bias bound
        self.weight = Tensor(rng.uniform(-bound, bound, (self.out_features, self.in_features)).astype(dtype),
                             requires_grad=True)
        self.bias = (Tensor(rng.uniform(-bound, bound, self.out_features).astype(dtype), requires_grad=True)
                     if bias else None)

    def forward(self, x):
        """x: (..., in_features) Tensor (an ndarray is converted to the layer's dtype).

        One graph node, ``functional.linear``, rather than transpose, matmul and add.
        """
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=self.weight.dtype)
        shape = tuple(x.shape)
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(f"Linear({self.in_features} -> {self.out_features}): expected input with "
                             f"{self.in_features} features in its last dimension, got shape {shape}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def _size(arg, n, layer="Linear"):
    """n as an int if it is a whole number >= 0 (a layer size); else a one-line bpkit error."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        text = repr(n)
        shown = f" {text}" if len(text) <= 40 and "\n" not in text else ""
        raise BpkitTypeError(f"{layer}: {arg} must be an integer number of features, "
                             f"got {type(n).__name__}{shown}")
    if n < 0:
        raise BpkitValueError(f"{layer}: {arg} must be >= 0, got {n}")
    return int(n)
