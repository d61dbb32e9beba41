"""What happens inside a network, layer by layer: one forward and backward pass, recorded.

``layer_stats(model, x, y)`` runs the model on one batch with a forward hook on
each layer (``Module.register_forward_hook``, as a PyTorch user would), keeps
each layer's output in the graph with ``retain_grad()``, runs the loss
backward, and returns, per layer: the output's mean, standard deviation and
fraction of exact zeros (dead ReLU units), and the norm of the gradient that
reached that output; per parameter: its norm and its gradient's norm. The
model is left as it was: hooks removed, every ``.grad`` restored.

This is how chapter 08 sees gradients vanish or explode, and what the depth
widget and the gradient-flow plots of the later chapters draw.
"""
from collections import namedtuple

import numpy as np

from bpkit import functional as F
from bpkit.errors import BpkitTypeError, BpkitValueError
from bpkit.nn.module import Module
from bpkit.tensor import Tensor

__all__ = ["layer_stats", "LayerStats", "LayerRecord", "ParamRecord", "robust_norm"]

LayerRecord = namedtuple("LayerRecord", "name kind shape mean std zero_fraction grad_norm")
LayerRecord.__doc__ = """One layer's output: its statistics over the batch, and the norm of dLoss/d(output)."""
ParamRecord = namedtuple("ParamRecord", "name shape norm grad_norm")
ParamRecord.__doc__ = """One parameter: its norm and its gradient's norm (NaN if it got no gradient)."""


class LayerStats:
    """The result of ``layer_stats``: ``layers`` and ``params`` (lists of records), ``loss``, ``stopped``.

    ``stopped`` is None, or the name of the layer whose output passed ``limit``
    (the forward pass stopped there and no backward pass ran: every grad_norm is NaN).
    ``column("std")`` gives one field of every layer as an array; ``print(stats)`` a table.
    """

    def __init__(self, layers, params, loss, stopped):
        self.layers, self.params, self.loss, self.stopped = layers, params, loss, stopped

    def column(self, field, of="layers"):
        """One field of every layer (``of="params"``: every parameter) as a float array."""
        rows = getattr(self, of)
        return np.array([getattr(r, field) for r in rows], dtype=float)

    def table(self):
        """The records as text: one line per layer, then one per parameter."""
        lines = [f"{'layer':<16}{'kind':<12}{'mean':>11}{'std':>11}{'zeros':>7}{'|dL/dout|':>11}"]
        for r in self.layers:
            lines.append(f"{r.name:<16}{r.kind:<12}{r.mean:>11.3g}{r.std:>11.3g}{r.zero_fraction:>7.0%}"
                         f"{r.grad_norm:>11.3g}")
        lines.append(f"{'parameter':<28}{'norm':>11}{'|grad|':>11}")
        for p in self.params:
            lines.append(f"{p.name:<28}{p.norm:>11.3g}{p.grad_norm:>11.3g}")
        if self.stopped is not None:
            lines.append(f"stopped after {self.stopped}: its output passed the limit (exploding)")
        return "\n".join(lines)

    def __repr__(self):
        return self.table()


def robust_norm(a):
    """The 2-norm of all entries of a, without overflow for entries near 1e200 (scaled by max |a|)."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a))
    if not np.isfinite(scale):
        return float(scale) if not np.isnan(scale) else float("nan")
    if scale == 0:
        return 0.0
    return float(scale * np.sqrt(np.sum(np.square(a / scale))))


def _robust_std(a):
    scale = np.max(np.abs(a)) if a.size else 0.0
    if scale == 0 or not np.isfinite(scale):
        return float(np.std(a)) if np.isfinite(scale) else float("nan")
    return float(scale * np.std(a / scale))


class _Stop(Exception):
    """Raised by the hook to end a forward pass whose activations passed the limit."""


def layer_stats(model, input, target, loss_fn=F.cross_entropy, layers=None, limit=None):
    """Record each layer's output statistics and gradient norms over one forward and backward pass.

    model: a Module; input, target: one batch (``loss_fn(model(input), target)``
    must be a scalar Tensor; default cross_entropy, so target holds class
    labels). layers: which modules to record, by default every module with
    no sub-modules (each Linear and each activation of an MLP); or a list of
    module classes (e.g. ``[Linear]``) or names (as in ``model.named_modules()``).
    A module called twice gives two records ("name", "name (call 2)").
    limit: if a recorded output has an entry larger than this in absolute value,
    the forward pass stops there (``stats.stopped`` names the layer), so an
    exploding network is reported before its numbers overflow.

    Returns a ``LayerStats``. The model's parameters keep the ``.grad`` they had before.
    """
    if not isinstance(model, Module):
        raise BpkitTypeError(f"layer_stats: model must be a Module, got {type(model).__name__}")
    chosen = _chosen(model, layers)
    outputs, names = [], {}
    stopped = None

    def record(name):
        def hook(module, args, out):
            t = out if isinstance(out, Tensor) else next((o for o in _flat(out) if isinstance(o, Tensor)), None)
            if t is None:
                return None
            calls = names[name] = names.get(name, 0) + 1
            label = name if calls == 1 else f"{name} (call {calls})"
            if t.requires_grad:
                t.retain_grad()
            outputs.append((label, type(module).__name__, t))
            if limit is not None and not np.all(np.abs(t.data) <= limit):
                raise _Stop(label)
            return None
        return hook

    handles = [m.register_forward_hook(record(name)) for name, m in chosen]
    params = list(model.named_parameters())
    saved = [p.grad for _, p in params]
    loss = None
    try:
        for _, p in params:
            p.grad = None
        try:
            loss = loss_fn(model(input), target)
        except _Stop as stop:
            stopped = stop.args[0]
        if loss is not None:
            if not isinstance(loss, Tensor) or loss.data.size != 1:
                raise BpkitValueError("layer_stats: loss_fn must return a scalar Tensor, got "
                                      f"{type(loss).__name__} of shape {np.shape(loss)}")
            if loss.requires_grad:
                loss.backward()
        layer_rows = [_layer_record(label, kind, t) for label, kind, t in outputs]
        param_rows = [ParamRecord(name, p.shape, robust_norm(p.data),
                                  robust_norm(p.grad) if p.grad is not None else float("nan"))
                      for name, p in params]
    finally:
        for h in handles:
            h.remove()
        for (_, p), g in zip(params, saved):
            p.grad = g
    return LayerStats(layer_rows, param_rows, None if loss is None else float(loss.item()), stopped)


def _layer_record(label, kind, t):
    a = np.asarray(t.data, dtype=np.float64)
    mean = float(np.mean(a)) if a.size and np.all(np.isfinite(a)) and np.max(np.abs(a)) < 1e300 else float("nan")
    grad = robust_norm(t.grad) if t.grad is not None else float("nan")
    return LayerRecord(label, kind, t.shape, mean, _robust_std(a), float(np.mean(a == 0)) if a.size else 0.0, grad)


def _flat(out):
    """The items of a (possibly nested) tuple/list output, e.g. an RNN's (output, (h, c))."""
    if isinstance(out, (tuple, list)):
        for o in out:
            yield from _flat(o)
    else:
        yield out


def _chosen(model, layers):
    """(name, module) pairs to record."""
    named = [(n, m) for n, m in model.named_modules() if n or not list(m.children())]
    if layers is None:
        return [(n or type(m).__name__, m) for n, m in named if not list(m.children())]
    if isinstance(layers, (str, type)):
        layers = [layers]
    picked, unknown = [], []
    for want in layers:
        if isinstance(want, type):
            picked += [(n, m) for n, m in named if isinstance(m, want)]
        elif isinstance(want, str):
            hits = [(n, m) for n, m in named if n == want]
            picked += hits
            if not hits:
                unknown.append(want)
        else:
            raise BpkitTypeError(f"layer_stats: layers must hold module classes or names, got "
                                 f"{type(want).__name__}")
    if unknown:
        known = ", ".join(n for n, _ in named if n)
        raise BpkitValueError(f"layer_stats: no module named {unknown[0]!r} in the model (names: {known})")
    order = {id(m): i for i, (_, m) in enumerate(named)}
    seen, result = set(), []
    for n, m in sorted(picked, key=lambda nm: order[id(nm[1])]):
        if id(m) not in seen:
            seen.add(id(m))
            result.append((n, m))
    return result
