"""Layers with PyTorch's names: Module, Linear, Sequential, ReLU, Tanh, Sigmoid.

A ``Module`` is an object whose attributes hold its parameters (Tensors) and
its sub-modules; ``parameters()`` finds them by walking those attributes, so a
learner's own layer needs no registration step. Seeding: ``Linear`` takes an
``rng`` argument (a ``np.random.Generator`` or an int seed), the same habit as
``np.random.default_rng(0)`` everywhere else in the course.
"""
import math
import numbers
import threading

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

    Names follow PyTorch: ``fc1.weight`` for an attribute, ``blocks.0.weight``
    for a list item, ``heads.key.weight`` for a dict item, ``0.weight`` for a
    layer of a Sequential. The walks keep a memo of what they have seen (as
    PyTorch's ``named_modules`` does), so a layer used twice comes once and a
    child that refers back to its parent ends the walk instead of looping.
    ``parameters()``, ``modules()`` and the ``named_*`` methods return lists
    (PyTorch's return generators; ``list(...)`` and ``for`` work on both).
    """

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def named_children(self):
        """(name, sub-Module) for each direct sub-Module, each once, in the order the attributes were set."""
        found, seen = [], set()
        for name, v in self._named_members():
            if isinstance(v, Module) and id(v) not in seen:
                seen.add(id(v))
                found.append((name, v))
        return found

    def children(self):
        """The direct sub-Modules, each once, in the order their attributes were set."""
        return [m for _, m in self.named_children()]

    def named_modules(self):
        """(name, Module) for this module (name "") and every module under it, each once, depth first."""
        return [(name, v) for name, v in _walk(self) if isinstance(v, Module)]

    def modules(self):
        """This module and every module under it, each once, depth first."""
        return [m for _, m in self.named_modules()]

    def named_parameters(self):
        """(name, Tensor) for every parameter, e.g. ``("0.weight", W)``, each once, in definition order."""
        return [(name, v) for name, v in _walk(self) if isinstance(v, Tensor)]

    def parameters(self):
        """Every parameter Tensor of this module and its sub-modules, each once, in definition order."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self):
        """Set ``.grad`` to None on every parameter, nested ones included (backward accumulates)."""
        for p in self.parameters():
            p.grad = None

    def train(self, mode=True):
        """Set training mode here and in every sub-module; returns self. (No bpkit layer behaves differently yet.)"""
        if not isinstance(mode, bool):
            raise BpkitTypeError(f"train: mode must be True or False, got {type(mode).__name__}")
        key = (id(self), threading.get_ident())
        if key in _in_train:  # a back-reference: this module is already being switched
            return self
        _in_train.add(key)
        try:
            self.training = mode
            for m in self.children():  # each child's own train(), so a layer may override it (as in PyTorch)
                m.train(mode)
        finally:
            _in_train.discard(key)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def extra_repr(self):
        """The text inside the parentheses of ``repr``, e.g. ``in_features=3, out_features=4``."""
        return ""

    def __repr__(self):
        """PyTorch's layout: a ``(name): Layer(...)`` line per sub-module; a cycle is named, not followed."""
        key = (id(self), threading.get_ident())
        if key in _in_repr:
            return f"<back-reference to the {type(self).__name__} above>"
        _in_repr.add(key)
        try:
            extra = self.extra_repr()
            lines = extra.split("\n") if extra else []
            # every place a sub-module sits (a layer used twice shows twice, as in PyTorch)
            lines += [f"({name}): {_indent(repr(m))}"
                      for name, m in self._named_members() if isinstance(m, Module)]
        finally:
            _in_repr.discard(key)
        if not lines:
            return f"{type(self).__name__}()"
        if len(lines) == 1 and extra:
            return f"{type(self).__name__}({extra})"
        body = "\n".join("  " + line for line in lines)
        return f"{type(self).__name__}(\n{body}\n)"

    def _named_members(self):
        """(name, Tensor or Module) for each one held directly: attributes, and items of lists, tuples, dicts."""
        return _members(vars(self).items())


_in_repr = set()   # (module id, thread id) of each repr being built: a second visit is a cycle
_in_train = set()  # the same for train(): a child that refers back to its parent ends the walk


def _members(pairs):
    """Yield (name, value) for the Tensors and Modules in (name, value) pairs, opening lists, tuples, dicts.

    An item of a container is named "container.index" or "container.key". Each
    container is opened once, so one that contains itself does not loop. An
    explicit stack: nesting depth is unlimited. Modules are not opened (``_walk``
    does that).
    """
    opened = set()
    stack = [("", iter(pairs))]
    while stack:
        prefix, items = stack[-1]
        for name, v in items:
            if isinstance(v, (Tensor, Module)):
                yield f"{prefix}{name}", v
            elif isinstance(v, (list, tuple, dict)) and id(v) not in opened:
                opened.add(id(v))
                stack.append((f"{prefix}{name}.", iter(v.items() if isinstance(v, dict) else enumerate(v))))
                break
        else:
            stack.pop()


def _walk(root):
    """(name, item) for root (name "") and every Module and Tensor under it, depth first in definition order.

    Each object comes once, under the first name that reaches it (a memo of ids,
    as in PyTorch's named_modules), so shared layers and cycles end the walk there.
    """
    found, seen = [("", root)], {id(root)}
    stack = [("", root._named_members())]
    while stack:
        prefix, members = stack[-1]
        for name, v in members:
            if id(v) not in seen:
                seen.add(id(v))
                found.append((prefix + name, v))
                if isinstance(v, Module):
                    stack.append((f"{prefix}{name}.", v._named_members()))
                    break
        else:
            stack.pop()
    return found


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

    def _named_members(self):
        # the layers are named "0", "1", ... as in PyTorch ("0.weight"), not "layers.0"
        others = [(k, v) for k, v in vars(self).items() if k != "layers"]
        return _members([*((str(i), m) for i, m in enumerate(self.layers)), *others])

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
