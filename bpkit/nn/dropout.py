"""Dropout: inverted dropout as a layer (random masks in training, the identity in eval())."""
import numpy as np

from bpkit import functional as F
from bpkit.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zero each entry with probability p in training and scale the rest by 1 / (1 - p); identity in eval().

    x: any shape -> the same shape. The scaling keeps the expected output equal
    to the input, so the eval-time network needs no change (inverted dropout,
    as in PyTorch). rng: np.random.Generator, int seed, or None (fresh entropy);
    the layer keeps one generator and draws a new mask on every call, so a
    seeded model gives the same masks run after run.
    """

    def __init__(self, p=0.5, rng=None):
        self.p = F._probability(p, "Dropout")
        self.rng = np.random.default_rng(rng)

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self):
        return f"p={self.p}"
