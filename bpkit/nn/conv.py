"""Conv1d and Conv2d: convolution layers with PyTorch's arguments, shapes, default init and dtype."""
import math

import numpy as np

from bpkit import functional as F
from bpkit.convolution import _ints
from bpkit.errors import BpkitValueError
from bpkit.nn.linear import _size
from bpkit.nn.module import Module
from bpkit.tensor import Tensor

__all__ = ["Conv1d", "Conv2d"]


class _ConvNd(Module):
    """What Conv1d and Conv2d share: the weight (C_out, C_in, *kernel), the bias (C_out,), PyTorch's init."""

    _dims = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", dtype=np.float32, rng=None):
        name = type(self).__name__
        self.in_channels = _size("in_channels", in_channels, name)
        self.out_channels = _size("out_channels", out_channels, name)
        if groups != 1:
            raise BpkitValueError(f"{name}: groups={groups!r:.20} is not supported by bpkit (groups=1 only)")
        if padding_mode != "zeros":
            raise BpkitValueError(f"{name}: padding_mode={padding_mode!r:.20} is not supported by bpkit "
                                  f"('zeros' only)")
        self.kernel_size = _ints(name, "kernel_size", kernel_size, self._dims, 1)
        self.stride = _ints(name, "stride", stride, self._dims, 1)
        self.padding = padding if isinstance(padding, str) else _ints(name, "padding", padding, self._dims, 0)
        self.dilation = _ints(name, "dilation", dilation, self._dims, 1)
        self.groups = groups
        self.padding_mode = padding_mode
        # PyTorch's default: kaiming_uniform_(a=sqrt(5)) and a bias in the same range, i.e. U(-1/sqrt(fan_in),
        # 1/sqrt(fan_in)) for both, fan_in = in_channels * prod(kernel_size)
        fan_in = self.in_channels * math.prod(self.kernel_size)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        rng = np.random.default_rng(rng)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Tensor(rng.uniform(-bound, bound, shape).astype(dtype), requires_grad=True)
        self.bias = (Tensor(rng.uniform(-bound, bound, self.out_channels).astype(dtype), requires_grad=True)
                     if bias else None)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0,) * self._dims, "valid"):
            text += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text


class Conv1d(_ConvNd):
    """1-D convolution layer: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out), as torch.nn.Conv1d.

    weight: (out_channels, in_channels, kernel_size); bias: (out_channels,).
    Default init as PyTorch's: both U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
    in_channels * kernel_size. dtype float32 by default; rng: a seed or Generator.
    """

    _dims = 1

    def forward(self, x):
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)


class Conv2d(_ConvNd):
    """2-D convolution layer: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out), as torch.nn.Conv2d.

    weight: (out_channels, in_channels, kH, kW); bias: (out_channels,). kernel_size,
    stride, padding, dilation: an int or a pair; padding also "valid"/"same".
    Default init as PyTorch's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in =
    in_channels * kH * kW. dtype float32 by default; rng: a seed or Generator.
    """

    _dims = 2

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)
