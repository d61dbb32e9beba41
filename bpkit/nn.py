"""Layers with PyTorch's names: Module, Linear, Sequential, ReLU, Tanh, Sigmoid.

A ``Module`` is an object whose attributes hold its parameters (Tensors) and
its sub-modules; ``parameters()`` finds them by walking those attributes, so a
learner's own layer needs no registration step. Seeding: ``Linear`` takes an
``rng`` argument (a ``np.random.Generator`` or an int seed), the same habit as
``np.random.default_rng(0)`` everywhere else in the course.
"""
import math
import numbers

import numpy as np

from bpkit import functional as F
from bpkit.errors import BpkitTypeError, BpkitValueError, ShapeError
from bpkit.tensor import Tensor

__all__ = ["Module", "Linear", "Sequential", "ReLU", "Tanh", "Sigmoid"]


class Module:
    """Base class: subclasses set attributes in ``__init__`` and define ``forward``.

    Every Tensor found in an attribute (directly, or inside a list, tuple or
    dict, or inside a sub-Module) counts as a parameter, whether or not it
    requires grad: an optimizer then says clearly if one was created without
    ``requires_grad=True``, instead of silently never training it.
    """

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def children(self):
        """The direct sub-Modules, in the order their attributes were set."""
        return [m for m in _walk(vars(self).values()) if isinstance(m, Module)]

    def parameters(self):
        """Every parameter Tensor of this module and its sub-modules, each once, in definition order."""
        params, seen = [], set()
        for item in _walk(vars(self).values()):
            found = item.parameters() if isinstance(item, Module) else [item] if isinstance(item, Tensor) else []
            for p in found:
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params

    def zero_grad(self):
        """Set ``.grad`` to None on every parameter, nested ones included (backward accumulates)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Set training mode here and in every sub-module; returns self. (No bpkit layer behaves differently yet.)"""
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def extra_repr(self):
        """The text inside the parentheses of ``repr``, e.g. ``in_features=3, out_features=4``."""
        return ""

    def __repr__(self):
        lines = [f"({name}): {_indent(repr(m))}" for name, m in _named_children(self)]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        body = "\n".join("  " + line for line in lines)
        return f"{type(self).__name__}(\n{body}\n)"


def _walk(values):
    """Yield the Tensors and Modules in ``values``, looking inside lists, tuples and dicts."""
    for v in values:
        if isinstance(v, (Tensor, Module)):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _walk(v)
        elif isinstance(v, dict):
            yield from _walk(v.values())


def _named_children(module):
    """(name, sub-Module) pairs for repr: attributes, and list/tuple items ("0", "1", ... in a Sequential)."""
    for name, v in vars(module).items():
        if isinstance(v, Module):
            yield name, v
        elif isinstance(v, (list, tuple)):
            for i, m in enumerate(v):
                if isinstance(m, Module):
                    yield (str(i) if isinstance(module, Sequential) else f"{name}[{i}]"), m


def _indent(text):
    return text.replace("\n", "\n  ")


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


def _size(arg, n):
    """n as an int if it is a whole number >= 0 (a layer size); else a one-line bpkit error."""
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        text = repr(n)
        shown = f" {text}" if len(text) <= 40 and "\n" not in text else ""
        raise BpkitTypeError(f"Linear: {arg} must be an integer number of features, "
                             f"got {type(n).__name__}{shown}")
    if n < 0:
        raise BpkitValueError(f"Linear: {arg} must be >= 0, got {n}")
    return int(n)


class Sequential(Module):
    """Modules applied one after another: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``.

    Indexable (``model[0]`` is the first layer, a slice gives a Sequential) and has ``len``.
    """

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            if isinstance(m, type) and issubclass(m, Module):
                raise BpkitTypeError(f"Sequential: argument {i} is the class {m.__name__}, not a layer; "
                                     f"add parentheses: {m.__name__}()")
            if not isinstance(m, Module):
                raise BpkitTypeError(f"Sequential: argument {i} has type {type(m).__name__}, not a Module")
        self.layers = list(modules)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


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
