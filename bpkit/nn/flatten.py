"""Flatten: dimensions start_dim..end_dim merged into one, as torch.nn.Flatten (start_dim=1: keeps the batch)."""
from bpkit.nn.module import Module
from bpkit.tensor import Tensor

__all__ = ["Flatten"]


class Flatten(Module):
    """(N, C, H, W) -> (N, C * H * W) by default, so a convolutional stack can feed a Linear layer."""

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        x = x if isinstance(x, Tensor) else Tensor(x)
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
