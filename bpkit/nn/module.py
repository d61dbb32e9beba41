"""Module: the base class of every layer, its walks (parameters, modules, buffers) and its state dict.

A ``Module`` is an object whose attributes hold its parameters (Tensors) and
its sub-modules; ``parameters()`` finds them by walking those attributes, so a
learner's own layer needs no registration step. Buffers (numbers a layer keeps
but does not train, such as BatchNorm1d's running statistics) are numpy arrays
named with ``register_buffer``: ``state_dict()`` saves them with the
parameters, ``parameters()`` and the optimizers never see them.
"""
import collections
import threading

import numpy as np

from bpkit.errors import BpkitTypeError, BpkitValueError
from bpkit.grad_mode import no_grad
from bpkit.tensor import Tensor

__all__ = ["Module", "RemovableHandle"]

# what load_state_dict returns, as PyTorch's: the keys it skipped (only possible with strict=False)
IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


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

    A layer of your own takes a few lines; a residual block, for example::

        class Residual(Module):
            def __init__(self, f):
                self.f = f                  # any Module: its parameters are found
            def forward(self, x):
                return x + self.f(x)        # d(x + f(x))/dx = I + df/dx

        block = Residual(Sequential(Linear(64, 64), ReLU(), Linear(64, 64)))

    Buffers: numpy arrays named with ``register_buffer`` (BatchNorm1d's running
    statistics). They are not Tensors, so ``parameters()`` and the optimizers
    never see them; ``state_dict()``/``load_state_dict()`` save and restore
    parameters and buffers together, under PyTorch's keys.
    """

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        hooks = self.__dict__.get("_forward_hooks")
        if hooks:
            for hook in list(hooks.values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after every forward pass of this module; returns a handle.

        As PyTorch's: ``args`` is the tuple of positional inputs; a hook that
        returns something other than None replaces the output. ``handle.remove()``
        (or ``with handle:``) takes the hook away. ``bpkit.diagnostics.layer_stats``
        uses hooks to record what every layer computed, without changing the model.
        """
        if not callable(hook):
            raise BpkitTypeError(f"register_forward_hook: hook must be callable, got {type(hook).__name__}")
        hooks = self.__dict__.setdefault("_forward_hooks", {})
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

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
        """Set training mode here and in every sub-module; returns self (Dropout and BatchNorm1d read it)."""
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

    def register_buffer(self, name, array):
        """Keep ``array`` (a numpy array, or None) as the buffer ``self.<name>``, as PyTorch's register_buffer.

        A buffer is state that is not trained: it is in ``state_dict()`` (and so
        saved and loaded) but not in ``parameters()``, so no optimizer changes
        it. Assigning ``self.<name> = new_array`` later keeps it a buffer. A
        buffer that is None (e.g. no running statistics) is left out of the state dict.
        """
        if not isinstance(name, str) or not name or "." in name:
            raise BpkitTypeError(f"register_buffer: name must be a non-empty string without '.', got {name!r}")
        if isinstance(array, (Tensor, Module)):
            raise BpkitTypeError(f"register_buffer: {name} must be a numpy array or None, not a "
                                 f"{type(array).__name__} (a Tensor attribute is a parameter)")
        names = self.__dict__.setdefault("_buffer_names", [])
        if name not in names and hasattr(self, name):
            raise BpkitValueError(f"register_buffer: {type(self).__name__} already has an attribute {name!r}")
        if name not in names:
            names.append(name)
        setattr(self, name, None if array is None else np.asarray(array))

    def named_buffers(self):
        """(name, array) for every buffer of this module and its sub-modules, e.g. ``("1.running_mean", a)``."""
        return [(f"{prefix}.{name}" if prefix else name, b)
                for prefix, m in self.named_modules() for name, b in m._own_buffers()]

    def buffers(self):
        """Every buffer (numpy array) of this module and its sub-modules."""
        return [b for _, b in self.named_buffers()]

    def _own_buffers(self):
        for name in self.__dict__.get("_buffer_names", ()):
            b = getattr(self, name, None)
            if b is not None:
                yield name, b

    def _state_items(self):
        """(key, Tensor or (module, buffer name)) in PyTorch's order: per module, its parameters, then its buffers.

        As PyTorch's state_dict, a layer used in two places is saved under both
        names (``0.weight`` and ``1.weight``); a module that refers back to one
        that contains it (a cycle) is not followed.
        """
        items = []
        for prefix, m in _module_places(self):
            dot = f"{prefix}." if prefix else ""
            items += [(dot + name, v) for name, v in m._named_members() if isinstance(v, Tensor)]
            items += [(dot + name, (m, name)) for name, _ in m._own_buffers()]
        return items

    def state_dict(self):
        """{key: numpy array} of every parameter and buffer, as copies, with PyTorch's keys.

        Keys as in PyTorch: ``0.weight``, ``1.running_mean``, ``1.num_batches_tracked``.
        Save with ``np.savez(path, **model.state_dict())`` and restore with
        ``model.load_state_dict(np.load(path))``.
        """
        return {key: np.array(v.data if isinstance(v, Tensor) else getattr(*v)) for key, v in self._state_items()}

    def load_state_dict(self, state_dict, strict=True):
        """Copy the arrays of ``state_dict`` (a dict, or what ``np.load`` gives for an .npz) into this module.

        Values are copied into the existing parameters and buffers (cast to
        their dtype), so an optimizer that holds the parameters keeps working.
        strict=True (default): the keys must match exactly; every missing,
        unexpected and wrongly shaped key is named in one error and nothing is
        changed. strict=False skips missing and unexpected keys (a wrong shape
        still raises). Returns ``IncompatibleKeys(missing_keys, unexpected_keys)``.
        """
        if not isinstance(strict, bool):
            raise BpkitTypeError(f"load_state_dict: strict must be True or False, got {type(strict).__name__}")
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise BpkitTypeError(f"load_state_dict: expected a dict of arrays (e.g. np.load('model.npz')), "
                                 f"got {type(state_dict).__name__}")
        own = dict(self._state_items())
        given = {}
        for key in state_dict.keys():
            v = state_dict[key]
            arr = np.asarray(v.data if isinstance(v, Tensor) else v)
            if arr.dtype.kind not in "biuf":
                raise BpkitTypeError(f"load_state_dict: {type(self).__name__}: {key} holds dtype {arr.dtype}, "
                                     "not numbers")
            given[str(key)] = arr
        missing = [k for k in own if k not in given]
        unexpected = [k for k in given if k not in own]
        wrong = [f"{k} (expected {_shape(own[k])}, got {tuple(given[k].shape)})"
                 for k in own if k in given and tuple(given[k].shape) != _shape(own[k])]
        problems = []
        if strict and missing:
            problems.append("missing keys " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys " + ", ".join(unexpected))
        if wrong:
            problems.append("wrong shapes " + ", ".join(wrong))
        if problems:
            raise BpkitValueError(f"load_state_dict: {type(self).__name__}: " + "; ".join(problems))
        with no_grad():
            for key, v in own.items():
                if key not in given:
                    continue
                if isinstance(v, Tensor):
                    v.copy_(given[key])  # in place: counts up the version, as PyTorch's copy_
                elif isinstance(getattr(*v), np.ndarray):
                    np.copyto(getattr(*v), given[key], casting="unsafe")   # in place: views of it see it
                else:                                     # a buffer reassigned to a plain number
                    setattr(*v, given[key].copy())
        return IncompatibleKeys(missing, unexpected)

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


class RemovableHandle:
    """What ``register_forward_hook`` returns: ``remove()`` unregisters the hook (also on leaving ``with``)."""

    _next_id = 0

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_HIDDEN = frozenset({"_forward_hooks"})  # attributes the walks never open (hooks are not parameters)
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
            if name in _HIDDEN and not prefix:
                continue
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


def _module_places(root):
    """(name, Module) for root and every place a module sits under it, depth first in definition order.

    Unlike ``_walk`` a shared module comes at each of its places (PyTorch's
    state_dict walk); only a module already on the path from root (a cycle)
    is skipped. An explicit stack with enter/leave marks: nesting depth is unlimited.
    """
    found, on_path = [], set()
    stack = [(False, "", root)]
    while stack:
        leaving, prefix, m = stack.pop()
        if leaving:
            on_path.discard(id(m))
            continue
        if id(m) in on_path:
            continue
        found.append((prefix, m))
        on_path.add(id(m))
        stack.append((True, prefix, m))
        dot = f"{prefix}." if prefix else ""
        kids = [(dot + name, c) for name, c in m._named_members() if isinstance(c, Module)]
        stack.extend((False, name, c) for name, c in reversed(kids))
    return found


def _indent(text):
    return text.replace("\n", "\n  ")


def _shape(v):
    return tuple(np.shape(v.data if isinstance(v, Tensor) else getattr(*v)))
