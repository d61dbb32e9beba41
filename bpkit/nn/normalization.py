"""Normalization layers: BatchNorm1d (batch statistics, running statistics as buffers) and LayerNorm."""
import numbers

import numpy as np

from bpkit import functional as F
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.nn.module import Module
from bpkit.tensor import Tensor

__all__ = ["BatchNorm1d", "LayerNorm"]


def _as_input(x, dtype):
    return x if isinstance(x, Tensor) else Tensor(x, dtype=dtype)


def _number(value, name, op):
    """value as a float if it is a real number >= 0 (eps, momentum); else a one-line bpkit error."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise BpkitTypeError(f"{op}: {name} must be a number, got {type(value).__name__}")
    if not value >= 0:
        raise BpkitValueError(f"{op}: {name} must be >= 0, got {value}")
    return float(value)


class BatchNorm1d(Module):
    """Normalize each channel with the batch's statistics, then scale and shift: PyTorch's BatchNorm1d.

    x: (N, C) or (N, C, L) -> the same shape; C = num_features. Training:
    the batch's mean and biased variance over N (and L), and the buffers
    running_mean, running_var (the unbiased variance) follow
    running = (1 - momentum) * running + momentum * batch; num_batches_tracked
    counts the batches (momentum=None: a cumulative average, 1 / num_batches_tracked).
    eval(): the running statistics instead. weight (ones) and bias (zeros),
    shape (C,), are parameters if affine=True. track_running_stats=False keeps
    no statistics and always uses the batch's.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 dtype=np.float32):
        if isinstance(num_features, (bool, np.bool_)) or not isinstance(num_features, numbers.Integral):
            raise BpkitTypeError(f"BatchNorm1d: num_features must be an integer, got {type(num_features).__name__}")
        if num_features < 1:
            raise BpkitValueError(f"BatchNorm1d: num_features must be >= 1, got {num_features}")
        self.num_features = int(num_features)
        self.eps = _number(eps, "eps", "BatchNorm1d")
        self.momentum = None if momentum is None else _number(momentum, "momentum", "BatchNorm1d")
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.dtype = np.dtype(dtype)      # what an ndarray input becomes (a Tensor keeps its own)
        c = self.num_features
        self.weight = Tensor(np.ones(c, dtype), requires_grad=True) if affine else None
        self.bias = Tensor(np.zeros(c, dtype), requires_grad=True) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype))
            self.register_buffer("running_var", np.ones(c, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        """Running mean 0, running variance 1, no batches tracked (in place)."""
        if self.track_running_stats:
            self.running_mean[...] = 0
            self.running_var[...] = 1
            self.num_batches_tracked[...] = 0

    def forward(self, x):
        x = _as_input(x, self.dtype)
        shape = tuple(x.shape)
        if len(shape) not in (2, 3):
            raise ShapeError(f"BatchNorm1d: expected 2D (N, C) or 3D (N, C, L) input, got shape {shape}")
        if shape[1] != self.num_features:
            raise ShapeError(f"BatchNorm1d({self.num_features}): expected {self.num_features} channels in "
                             f"dimension 1 of the input, got shape {shape}")
        batch_stats = self.training or not self.track_running_stats
        if batch_stats and x.size // shape[1] <= 1:
            raise BpkitValueError(f"BatchNorm1d: Expected more than 1 value per channel when training, "
                                  f"got input size {shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        update = self.training and self.track_running_stats
        return F.batch_norm(x, self.running_mean if update or not batch_stats else None,
                            self.running_var if update or not batch_stats else None,
                            self.weight, self.bias, batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class LayerNorm(Module):
    """Normalize each sample over its last dimensions (normalized_shape), then scale and shift: PyTorch's LayerNorm.

    x: (*, *normalized_shape) -> the same shape. The mean and biased variance
    are each sample's own, so training and eval() agree and a batch of one is
    fine. weight (ones) and bias (zeros) have shape normalized_shape if
    elementwise_affine=True (bias=False leaves out the bias, as in PyTorch).
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, dtype=np.float32):
        self.normalized_shape = F._normalized_shape(normalized_shape, "LayerNorm")
        self.eps = _number(eps, "eps", "LayerNorm")
        self.elementwise_affine = bool(elementwise_affine)
        self.dtype = np.dtype(dtype)      # what an ndarray input becomes (a Tensor keeps its own)
        ns = self.normalized_shape
        self.weight = Tensor(np.ones(ns, dtype), requires_grad=True) if elementwise_affine else None
        self.bias = Tensor(np.zeros(ns, dtype), requires_grad=True) if elementwise_affine and bias else None

    def forward(self, x):
        x = _as_input(x, self.dtype)
        ns, shape = self.normalized_shape, tuple(x.shape)
        if shape[len(shape) - len(ns):] != ns or len(shape) < len(ns):
            raise ShapeError(f"LayerNorm{ns}: expected input with shape [*, {', '.join(map(str, ns))}], "
                             f"got shape {shape}")
        return F.layer_norm(x, ns, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
                + ("" if self.bias is not None or not self.elementwise_affine else ", bias=False"))
