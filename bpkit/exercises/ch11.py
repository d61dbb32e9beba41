"""Chapter 11 (Beyond backprop): references, cases, hints and typical mistakes.

Notation follows the notebook. A network is a list of n blocks (callables
Tensor -> Tensor); checkpointing cuts it into segments of ``every`` blocks.
A dual number carries a value and a tangent (its derivative along one
direction). Estimators of d/d(mu, sigma) E[f(z)], z = mu + sigma * eps with
eps ~ N(0, 1), return one row per sample. A Hessian-vector product H v is
taken from a gradient function by central differences. FGSM moves an input x
(pixels in [0, 1]) by eps times the sign of the loss's gradient with respect
to x.
"""
import copy
import math

import numpy as np

from bpkit import functional as F
from bpkit import nn
from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise
from bpkit.grad_mode import is_grad_enabled, no_grad
from bpkit.tensor import Tensor

__all__ = ["EXERCISES", "checkpointed_backward", "Dual", "ste_quantize", "score_function_estimates",
           "hvp", "fgsm"]


# ============================================================================ 11.1 checkpointing

def checkpointed_backward(blocks, x, loss_fn, every):
    """Exercise 11.1's reference: the gradients of loss_fn(blocks(x)) with only segment inputs kept.

    Forward phase under no_grad, keeping the input of each segment of ``every``
    blocks; then, from the last segment to the first, run the segment again
    with a graph and backpropagate through it (the upstream gradient is the
    gradient that reached the next segment's input). Returns the loss (float).
    """
    with no_grad():
        kept = _segment_inputs(blocks, x, every)
    return _backward_by_segments(blocks, kept, loss_fn, every)


def _segment_inputs(blocks, x, every):
    """The forward phase: the input of every segment of ``every`` blocks (as arrays)."""
    kept, h = [], x
    for i, block in enumerate(blocks):
        if i % every == 0:
            kept.append(h.data if isinstance(h, Tensor) else np.asarray(h))
        h = block(h if isinstance(h, Tensor) else Tensor(h))
    return kept


def _backward_by_segments(blocks, kept, loss_fn, every):
    """The backward phase: each segment recomputed from its kept input, last first; returns the loss."""
    upstream, loss_value = None, None
    for s in reversed(range(len(kept))):
        a = Tensor(kept[s], requires_grad=True)
        h = a
        for block in blocks[s * every:(s + 1) * every]:
            h = block(h)
        if upstream is None:
            loss = loss_fn(h)
            loss_value = float(loss.data)
            loss.backward()
        else:
            h.backward(upstream)
        upstream = a.grad
    return loss_value


class _Recorder:
    """Wraps block i: records (i, grad mode on?, which blocks already hold a parameter gradient)."""

    def __init__(self, index, block, trace, blocks_with_params):
        self.index, self.block, self.trace, self.all = index, block, trace, blocks_with_params

    def __call__(self, h):
        done = tuple(j for j, b in self.all if any(p.grad is not None for p in b.parameters()))
        self.trace.append((self.index, is_grad_enabled(), done))
        return self.block(h)


def _ckpt_case(kind):
    """(blocks, x, loss_fn, every, text): two nets whose gradients and segmentations differ."""
    if kind == 0:
        rng = np.random.default_rng(110)
        widths, acts, every = (4, 5, 5, 3), (nn.Tanh, nn.Tanh, nn.Sigmoid), 2
        x = rng.normal(size=(6, 4))
        text = "6 blocks (Linear, Tanh, Linear, Tanh, Linear, Sigmoid), every = 2, loss = mean of squares"

        def loss_fn(out):
            return (out * out).mean()
    else:
        rng = np.random.default_rng(111)
        widths, acts, every = (3, 6, 4, 2), (nn.Tanh, nn.ReLU, None), 3
        x = rng.normal(size=(5, 3))
        text = "5 blocks (Linear, Tanh, Linear, ReLU, Linear), every = 3 (a shorter last segment), loss = sum of cubes"

        def loss_fn(out):
            return (out * out * out).sum()
    blocks = []
    for k, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:])):
        blocks.append(nn.Linear(d_in, d_out, dtype=np.float64, rng=rng))
        if acts[k] is not None:
            blocks.append(acts[k]())
    return blocks, x, loss_fn, every, text


def _plain_grads(blocks, x, loss_fn):
    h = Tensor(x)
    for block in blocks:
        h = block(h)
    loss = loss_fn(h)
    loss.backward()
    return float(loss.data), [None if p.grad is None else p.grad.copy() for b in blocks for p in b.parameters()]


def _run_recorded(fn, blocks, x, loss_fn, every):
    trace = []
    with_params = [(i, b) for i, b in enumerate(blocks) if b.parameters()]
    wrapped = [_Recorder(i, b, trace, with_params) for i, b in enumerate(blocks)]
    value = fn(wrapped, x.copy(), loss_fn, every)
    grads = [None if p.grad is None else p.grad.copy() for b in blocks for p in b.parameters()]
    return value, grads, trace


def _verify_checkpointed(fn):
    for kind in (0, 1):
        blocks, x, loss_fn, every, text = _ckpt_case(kind)
        n = len(blocks)
        expected_loss, expected_grads = _plain_grads(copy.deepcopy(blocks), x, loss_fn)
        ref_blocks = copy.deepcopy(blocks)
        _, _, ref_trace = _run_recorded(checkpointed_backward, ref_blocks, x, loss_fn, every)
        value, grads, trace = _run_recorded(fn, blocks, x, loss_fn, every)
        where = f"for {text}"
        names = [f"block {i}'s {name}" for i, b in enumerate(blocks) for name, _ in b.named_parameters()]
        for name, got in zip(names, grads):
            if got is None:
                return (f"{where}, {name} received no gradient: the gradient must reach every block (is every "
                        f"block in a segment, does each segment's input require grad, and does its gradient become "
                        f"the upstream of the segment before?)")
        for name, want, got in zip(names, expected_grads, grads):
            message = compare(want, got, rtol=1e-7, atol=1e-10)
            if message:
                return f"{where}, the gradient of {name} differs from plain backpropagation's: {message}"
        if not isinstance(value, (float, int, np.floating)) or not math.isclose(float(value), expected_loss,
                                                                                 rel_tol=1e-9, abs_tol=1e-12):
            kind = ("" if isinstance(value, (float, int, np.floating))
                    else f" (a {type(value).__name__}: float(...) makes it one)")
            return (f"{where}, the returned loss should be the float {expected_loss:.6g}, "
                    f"got {short_repr(value)}{kind}")
        calls = [sum(1 for i, _, _ in trace if i == j) for j in range(n)]
        if any(c != 2 for c in calls):
            j = next(j for j, c in enumerate(calls) if c != 2)
            return (f"{where}, the gradients are right, but block {j} ran {calls[j]} time{'s' * (calls[j] != 1)}; with checkpointing "
                    f"each block runs twice: once in the forward phase without a graph, once when its segment "
                    f"is recomputed")
        with_graph = [(i, done) for i, grad_on, done in trace if grad_on]
        forward_phase = trace[:n]
        if [(i, grad_on) for i, grad_on, _ in forward_phase] != [(i, False) for i in range(n)]:
            return (f"{where}, the gradients are right, but the forward phase built a graph (its first {n} "
                    f"block calls should run blocks 0 to {n - 1} in order with grad disabled): run it under "
                    f"no_grad(), keeping only each segment's input")
        ref_with_graph = [(i, done) for i, grad_on, done in ref_trace if grad_on]
        if [i for i, _ in with_graph] != [i for i, _ in ref_with_graph]:
            return (f"{where}, the gradients are right, but the blocks were recomputed in the order "
                    f"{[i for i, _ in with_graph]}; the backward phase goes segment by segment from the last "
                    f"({[i for i, _ in ref_with_graph]})")
        for (i, done), (_, ref_done) in zip(with_graph, ref_with_graph):
            if done != ref_done:
                return (f"{where}, the gradients are right, but block {i} was recomputed before the segments "
                        f"after it had been backpropagated: the graphs of several segments were alive at once, "
                        f"which spends the memory checkpointing saves; backpropagate each segment right after "
                        f"recomputing it")
    return None


def _ckpt_plain(blocks, x, loss_fn, every):
    """Plain backpropagation: right gradients, every activation kept."""
    h = Tensor(x)
    for block in blocks:
        h = block(h)
    loss = loss_fn(h)
    loss.backward()
    return float(loss.data)


def _ckpt_sum_upstream(blocks, x, loss_fn, every):
    """Backpropagates each earlier segment from out.sum(), forgetting the upstream gradient."""
    with no_grad():
        kept = _segment_inputs(blocks, x, every)
    value = None
    for s in reversed(range(len(kept))):
        h = Tensor(kept[s], requires_grad=True)
        for block in blocks[s * every:(s + 1) * every]:
            h = block(h)
        if value is None:
            loss = loss_fn(h)
            value = float(loss.data)
            loss.backward()
        else:
            h.sum().backward()
    return value


def _ckpt_drops_remainder(blocks, x, loss_fn, every):
    """Cuts len(blocks) // every full segments and forgets the blocks left over."""
    return checkpointed_backward(blocks[: len(blocks) - len(blocks) % every], x, loss_fn, every)


def _ckpt_from_the_input(blocks, x, loss_fn, every):
    """Keeps nothing: recomputes everything before a segment from x again, for every segment."""
    starts = list(range(0, len(blocks), every))
    upstream, value = None, None
    for s in reversed(range(len(starts))):
        h = Tensor(x)
        with no_grad():
            for block in blocks[: starts[s]]:
                h = block(h)
        a = Tensor(h.data, requires_grad=True)
        h = a
        for block in blocks[starts[s]:starts[s] + every]:
            h = block(h)
        if upstream is None:
            loss = loss_fn(h)
            value = float(loss.data)
            loss.backward()
        else:
            h.backward(upstream)
        upstream = a.grad
    return value


def _ckpt_all_graphs_first(blocks, x, loss_fn, every):
    """Recomputes every segment (last first) before backpropagating any: all graphs alive at once."""
    with no_grad():
        kept = _segment_inputs(blocks, x, every)
    outs = {}
    for s in reversed(range(len(kept))):
        a = Tensor(kept[s], requires_grad=True)
        h = a
        for block in blocks[s * every:(s + 1) * every]:
            h = block(h)
        outs[s] = (a, h)
    upstream, value = None, None
    for s in reversed(range(len(kept))):
        a, h = outs[s]
        if upstream is None:
            loss = loss_fn(h)
            value = float(loss.data)
            loss.backward()
        else:
            h.backward(upstream)
        upstream = a.grad
    return value


def _ckpt_forward_with_graph(blocks, x, loss_fn, every):
    """Right segments and recomputation, but the forward phase forgot no_grad."""
    return _backward_by_segments(blocks, _segment_inputs(blocks, x, every), loss_fn, every)


# ============================================================================ 11.2 dual numbers

class Dual:
    """Exercise 11.2's reference: a dual number value + tangent * e, with e**2 = 0."""

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = value, tangent

    def __repr__(self):
        return f"Dual({self.value!r}, {self.tangent!r})"

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Dual) else Dual(other, 0.0)

    def __add__(self, other):
        other = self._lift(other)
        return Dual(self.value + other.value, self.tangent + other.tangent)

    def __mul__(self, other):
        other = self._lift(other)
        return Dual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)

    def __truediv__(self, other):
        other = self._lift(other)
        return Dual(self.value / other.value,
                    (self.tangent * other.value - self.value * other.tangent) / (other.value * other.value))

    def __pow__(self, k):
        return Dual(self.value ** k, k * self.value ** (k - 1) * self.tangent)

    def exp(self):
        return Dual(np.exp(self.value), np.exp(self.value) * self.tangent)

    def sin(self):
        return Dual(np.sin(self.value), np.cos(self.value) * self.tangent)

    # derived: no rule of their own
    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __radd__(self, other):
        return self._lift(other) + self

    def __rmul__(self, other):
        return self._lift(other) * self

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self


_DUAL_OPS = ("__add__", "__mul__", "__truediv__", "__pow__", "exp", "sin")


def _dual_tests():
    """(description, f(cls) -> result, expected value, expected tangent): each op alone, then compositions.

    Tangents differ from 1 and values from 0 and 1, so a forgotten chain-rule factor shows.
    """
    a, ta, b, tb = 1.5, 0.5, -2.0, 3.0
    c, tc = 0.7, -1.25
    tests = [
        ("Dual(1.5, 0.5) + Dual(-2.0, 3.0)", lambda D: D(a, ta) + D(b, tb), a + b, ta + tb),
        ("Dual(1.5, 0.5) + 4.0", lambda D: D(a, ta) + 4.0, a + 4.0, ta),
        ("Dual(1.5, 0.5) * Dual(-2.0, 3.0)", lambda D: D(a, ta) * D(b, tb), a * b, ta * b + a * tb),
        ("Dual(1.5, 0.5) * 3.0", lambda D: D(a, ta) * 3.0, 3 * a, 3 * ta),
        ("Dual(1.5, 0.5) / Dual(-2.0, 3.0)", lambda D: D(a, ta) / D(b, tb), a / b, (ta * b - a * tb) / b ** 2),
        ("Dual(-2.0, 3.0) / 4.0", lambda D: D(b, tb) / 4.0, b / 4, tb / 4),
        ("Dual(1.5, 0.5) ** 3", lambda D: D(a, ta) ** 3, a ** 3, 3 * a ** 2 * ta),
        ("Dual(1.5, 0.5) ** -0.5", lambda D: D(a, ta) ** -0.5, a ** -0.5, -0.5 * a ** -1.5 * ta),
        ("Dual(0.7, -1.25).exp()", lambda D: D(c, tc).exp(), math.exp(c), math.exp(c) * tc),
        ("Dual(0.7, -1.25).sin()", lambda D: D(c, tc).sin(), math.sin(c), math.cos(c) * tc),
        ("Dual(-2.0, 3.0).sin()", lambda D: D(b, tb).sin(), math.sin(b), math.cos(b) * tb),
    ]
    # compositions, using the derived operations too (numbers on the left, subtraction, negation)
    x, t = 0.8, 2.0
    f = lambda v: 2.0 / v - v ** 2 * 3.0 + 1.0  # noqa: E731
    tests.append(("2 / x - x**2 * 3 + 1 at Dual(0.8, 2.0)", lambda D: f(D(x, t)), f(x), (-2.0 / x ** 2 - 6 * x) * t))
    g = lambda v: (v * v).sin() * (-v).exp()  # noqa: E731
    dg = (math.cos(x * x) * 2 * x * math.exp(-x) - math.sin(x * x) * math.exp(-x)) * t
    tests.append(("sin(x * x) * exp(-x) at Dual(0.8, 2.0)", lambda D: g(D(x, t)), math.sin(x * x) * math.exp(-x), dg))
    # arrays: values and tangents may be numpy arrays (one direction, many points)
    xs, ts = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.5, -2.0])
    tests.append(("Dual(array([0.5, -1., 2.]), array([1., 0.5, -2.])).sin() * 2.0",
                  lambda D: D(xs, ts).sin() * 2.0, 2 * np.sin(xs), 2 * np.cos(xs) * ts))
    return tests


def _verify_dual(cls):
    if not isinstance(cls, type):
        return f"check expects your class Dual itself (not an instance or a function), got {short_repr(cls)}"
    for text, build, value, tangent in _dual_tests():
        got = build(cls)
        if not (hasattr(got, "value") and hasattr(got, "tangent")):
            return f"{text} should give a Dual (with .value and .tangent), got {short_repr(got)}"
        message = compare(value, got.value)
        if message:
            return f"{text}: the value is wrong: {message}"
        message = compare(tangent, got.tangent)
        if message:
            return f"{text}: the value is right but the tangent is wrong: {message}"
    return None


def _dual_with(name, method):
    return type(f"Dual_{name.strip('_')}", (Dual,), {name: method})


_DUAL_MISTAKES = [
    # the product rule as the product of the tangents
    (_dual_with("__mul__", lambda s, o: Dual(s.value * Dual._lift(o).value, s.tangent * Dual._lift(o).tangent)),
     "Dual(1.5, 0.5) * Dual(-2.0, 3.0): the value is right but the tangent is wrong"),
    # the quotient rule with the sign of the second term flipped
    (_dual_with("__truediv__", lambda s, o: Dual(s.value / Dual._lift(o).value,
                                                (s.tangent * Dual._lift(o).value + s.value * Dual._lift(o).tangent)
                                                / Dual._lift(o).value ** 2)),
     "Dual(1.5, 0.5) / Dual(-2.0, 3.0): the value is right but the tangent is wrong"),
    # the power rule without lowering the exponent
    (_dual_with("__pow__", lambda s, k: Dual(s.value ** k, k * s.value ** k * s.tangent)),
     "Dual(1.5, 0.5) ** 3: the value is right but the tangent is wrong"),
    # the chain rule's inner factor forgotten: right only when the tangent is 1
    (_dual_with("exp", lambda s: Dual(np.exp(s.value), np.exp(s.value))),
     "Dual(0.7, -1.25).exp(): the value is right but the tangent is wrong"),
    (_dual_with("sin", lambda s: Dual(np.sin(s.value), np.cos(s.value))),
     "Dual(0.7, -1.25).sin(): the value is right but the tangent is wrong"),
    # sin's derivative with cos's sign
    (_dual_with("sin", lambda s: Dual(np.sin(s.value), -np.cos(s.value) * s.tangent)),
     "Dual(0.7, -1.25).sin(): the value is right but the tangent is wrong"),
    # adding keeps only one tangent
    (_dual_with("__add__", lambda s, o: Dual(s.value + Dual._lift(o).value, s.tangent)),
     "Dual(1.5, 0.5) + Dual(-2.0, 3.0): the value is right but the tangent is wrong"),
    # a plain number treated as a Dual with tangent 1 (a variable, not a constant)
    (_dual_with("__mul__", lambda s, o: Dual.__mul__(s, o if isinstance(o, Dual) else Dual(o, 1.0))),
     "Dual(1.5, 0.5) * 3.0: the value is right but the tangent is wrong"),
    # math.sin instead of np.sin: fails on arrays
    (_dual_with("sin", lambda s: Dual(math.sin(s.value), math.cos(s.value) * s.tangent)), "raised TypeError"),
    (lambda value, tangent=0.0: Dual(value, tangent), "your class Dual itself"),
]


# ============================================================================ 11.3 straight-through estimator

def ste_quantize(x, step):
    """Exercise 11.3's reference: step * round(x / step) forward, the identity's gradient backward."""
    return x + (step * np.round(x.data / step) - x.data)


def _ste_cases():
    rng = np.random.default_rng(113)
    return [
        (np.array([-1.3, -0.49, 0.2, 0.51, 2.7]), 1.0, np.array([1.0, -2.0, 0.5, 3.0, -1.5])),
        (rng.normal(size=(3, 4)) * 2, 0.25, rng.normal(size=(3, 4))),
    ]


def _verify_ste(fn):
    for x, step, w in _ste_cases():
        where = f"for x = {short_repr(x, limit=70)}, step = {step:g}"
        xt = Tensor(x.copy(), requires_grad=True)
        out = fn(xt, step)
        if not isinstance(out, Tensor):
            return (f"{where}: your function returned {type(out).__name__}, not a Tensor; the result must stay in "
                    f"the graph so that a gradient can flow back to x")
        message = compare(step * np.round(x / step), out.data)
        if message:
            return f"{where}: the forward values are wrong: {message}"
        if not np.array_equal(xt.data, x):
            return f"{where}: your function changed x in place; build a new tensor"
        if not out.requires_grad:
            return (f"{where}: the values are right but the result does not require grad: no gradient can reach x "
                    f"(rounding the data gives a constant; the gradient has to pass around it)")
        (out * Tensor(w)).sum().backward()
        if xt.grad is None:
            return f"{where}: the values are right but no gradient reached x"
        message = compare(w, xt.grad)
        if message:
            extra = ""
            if np.allclose(xt.grad, 0.0):
                extra = (" (all zeros: that is rounding's true derivative; the straight-through estimator "
                         "replaces it by the identity's)")
            return f"{where}: the values are right but the gradient reaching x should be the upstream gradient itself: {message}{extra}"
    return None


_STE_MISTAKES = [
    (lambda x, step: Tensor(step * np.round(x.data / step)), "does not require grad"),
    (lambda x, step: np.round(x.data / step) * step, "not a Tensor"),
    (lambda x, step: x * 0.0 + step * np.round(x.data / step), "all zeros"),
    (lambda x, step: x + (np.round(x.data) - x.data), "forward values are wrong"),
    (lambda x, step: x / step + (np.round(x.data / step) - x.data / step), "forward values are wrong"),
    (lambda x, step: (x + (np.round(x.data / step) - x.data)) * step, "gradient reaching x"),
    (lambda x, step: x * (step * np.round(x.data / step) / np.where(x.data == 0, 1.0, x.data)), "gradient reaching x"),
]


# ============================================================================ 11.4 score function

def score_function_estimates(f, mu, sigma, eps):
    """Exercise 11.4's reference: per-sample f(z) * d log p(z) / d(mu, sigma), z = mu + sigma * eps. (n, 2)."""
    z = mu + sigma * eps
    fz = f(z)
    return np.stack([fz * eps / sigma, fz * (eps ** 2 - 1.0) / sigma], axis=1)


class _Named:
    """A function of z shown by its formula in messages."""

    def __init__(self, fn, text):
        self.fn, self.text = fn, text

    def __call__(self, z):
        return self.fn(z)

    def __repr__(self):
        return self.text

    def __deepcopy__(self, memo):  # a fixed function: the check's copies of the inputs share it
        return self


_sf_square_minus_two = _Named(lambda z: (z - 2.0) ** 2, "(z - 2)**2")
_sf_sin_plus = _Named(lambda z: np.sin(z) + z, "sin(z) + z")
_sf_step = _Named(lambda z: (z > 1.0).astype(float), "1 if z > 1 else 0")


def _sf_cases():
    rng = np.random.default_rng(114)
    return [
        (_sf_square_minus_two, 0.5, 1.5, rng.normal(size=6)),
        (_sf_sin_plus, -0.3, 0.4, rng.normal(size=5)),
        (_sf_step, 1.2, 2.0, rng.normal(size=7)),
    ]


_SF_MISTAKES = [
    # the mu score taken as eps (right only for sigma = 1)
    (lambda f, mu, s, e: np.stack([f(mu + s * e) * e, f(mu + s * e) * (e ** 2 - 1) / s], axis=1), "expected"),
    # (z - mu) without dividing by sigma^2
    (lambda f, mu, s, e: np.stack([f(mu + s * e) * s * e, f(mu + s * e) * (e ** 2 - 1) / s], axis=1), "expected"),
    # the sigma score without the -1 (the normalizing constant's derivative forgotten)
    (lambda f, mu, s, e: np.stack([f(mu + s * e) * e / s, f(mu + s * e) * e ** 2 / s], axis=1), "expected"),
    # z in place of z - mu
    (lambda f, mu, s, e: np.stack([f(mu + s * e) * (mu + s * e) / s ** 2, f(mu + s * e) * (e ** 2 - 1) / s], axis=1),
     "expected"),
    # the average over samples instead of one row per sample
    (lambda f, mu, s, e: score_function_estimates(f, mu, s, e).mean(axis=0), "shape"),
    # f evaluated at eps, not at the sample z
    (lambda f, mu, s, e: np.stack([f(e) * e / s, f(e) * (e ** 2 - 1) / s], axis=1), "expected"),
]


# ============================================================================ 11.5 Hessian-vector product

def hvp(grad_fn, w, v, eps=1e-4):
    """Exercise 11.5's reference: H(w) v by a central difference of gradients along v."""
    w = np.asarray(w, dtype=float)
    v = np.asarray(v, dtype=float)
    return (grad_fn(w + eps * v) - grad_fn(w - eps * v)) / (2.0 * eps)


def _grad_cubic_fn(w):
    """The gradient of sum(w^3) / 3 + w0 * w1^2: its Hessian depends on w."""
    g = w ** 2
    g = g.copy()
    g[0] += w[1] ** 2
    g[1] += 2 * w[0] * w[1]
    return g


def _grad_logsumexp_fn(w):
    """The gradient of log(sum(exp(A w))) for a fixed 4 x 3 matrix A."""
    A = np.array([[1.0, -0.5, 0.3], [0.2, 0.8, -1.0], [-0.7, 0.1, 0.6], [0.4, 0.4, 0.4]])
    z = A @ w
    p = np.exp(z - z.max())
    return A.T @ (p / p.sum())


_grad_cubic = _Named(_grad_cubic_fn, "the gradient of sum(w**3) / 3 + w[0] * w[1]**2")
_grad_logsumexp = _Named(_grad_logsumexp_fn, "the gradient of log(sum(exp(A @ w))), A fixed (4, 3)")


def _hvp_cases():
    return [
        (_grad_cubic, np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.0, -2.0]), 1e-4),
        (_grad_logsumexp, np.array([0.5, -1.0, 2.0]), np.array([2.0, 0.0, -1.0]), 1e-4),
        (_grad_cubic, np.array([2.0, 1.0, -1.0]), np.array([-1.0, 0.5, 0.0]), 1e-3),
    ]


def _verify_hvp(fn):
    for grad_fn, w, v, eps in _hvp_cases():
        where = f"for grad_fn = {grad_fn!r}, w = {short_repr(w)}, v = {short_repr(v)}, eps = {eps:g}"
        given_w, given_v = w.copy(), v.copy()
        got = fn(grad_fn, given_w, given_v, eps)
        if not (np.array_equal(given_w, w) and np.array_equal(given_v, v)):
            return f"{where}: your function changed w or v in place; step on copies"
        message = compare(hvp(grad_fn, w, v, eps), got)
        if message is None:
            continue
        if np.shape(got) == w.shape:
            got = np.asarray(got, dtype=float)
            for sign in (1.0, -1.0):
                one_sided = (grad_fn(w + sign * eps * v) - grad_fn(w)) / (sign * eps)
                if np.allclose(got, one_sided, rtol=1e-9, atol=1e-12):
                    return (f"{where}: your values match a one-sided difference of the gradients, whose error is "
                            f"of order eps; step both ways from w (an error of order eps**2)")
        return f"{where}: {message}"
    return None


_HVP_MISTAKES = [
    (lambda g, w, v, eps=1e-4: (g(w + eps * v) - g(w)) / eps, "one-sided"),
    (lambda g, w, v, eps=1e-4: (g(w) - g(w - eps * v)) / eps, "one-sided"),
    (lambda g, w, v, eps=1e-4: (g(w + eps * v) - g(w - eps * v)) / eps, "factor of 2"),
    (lambda g, w, v, eps=1e-4: hvp(g, w, v / np.linalg.norm(v), eps), "factor"),
    (lambda g, w, v, eps=1e-4: g(w + eps * v) - g(w - eps * v), "factor"),
    (lambda g, w, v, eps=1e-4: (g(w + eps) - g(w - eps)) / (2 * eps), "expected"),
]


# ============================================================================ 11.6 FGSM

def fgsm(model, x, y, eps):
    """Exercise 11.6's reference: clip(x + eps * sign(dL/dx), 0, 1), L the mean cross-entropy at labels y."""
    xt = Tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    F.cross_entropy(model(xt), y).backward()
    return np.clip(xt.data + eps * np.sign(xt.grad), 0.0, 1.0)


def _fgsm_case(kind):
    rng = np.random.default_rng(116 + kind)
    d, h, k, n = (8, 6, 3, 5) if kind == 0 else (12, 10, 4, 6)
    model = nn.Sequential(nn.Linear(d, h, rng=rng), nn.ReLU(), nn.Linear(h, k, rng=rng))
    # a confident model, as a trained one: at near-uniform predictions a softmax applied before
    # cross_entropy leaves the sign of every input gradient unchanged, and the check could not see it
    model[2].weight.data *= 6.0
    model[2].bias.data *= 6.0
    x = rng.random((n, d)).astype(np.float32)
    x[0, :2] = [0.0, 1.0]                      # pixels at the edges: the clip matters
    y = rng.integers(0, k, size=n)
    return model, x, y, (0.1 if kind == 0 else 0.25)


def _verify_fgsm(fn):
    for kind in (0, 1):
        model, x, y, eps = _fgsm_case(kind)
        expected = fgsm(copy.deepcopy(model), x.copy(), y.copy(), eps)
        given = x.copy()
        got = fn(copy.deepcopy(model), given, y.copy(), eps)
        where = f"for a {x.shape[1]}-input model, a batch of {x.shape[0]}, eps = {eps:g}"
        if isinstance(got, Tensor):
            got = got.data
        if not np.array_equal(given, x):
            return f"{where}: your function changed x in place; return a new array"
        got = np.asarray(got, dtype=float)
        if got.shape != x.shape:
            return f"{where}: the result should have the shape of x, {x.shape}, got {got.shape}"
        if np.allclose(got, expected, rtol=0.0, atol=1e-6):
            continue
        if got.min() < -1e-6 or got.max() > 1.0 + 1e-6:
            return (f"{where}: some pixels left [0, 1] (min {got.min():.3f}, max {got.max():.3f}): the adversarial "
                    f"image must still be an image")
        with no_grad():
            loss_before = float(F.cross_entropy(model(Tensor(x)), y).data)
            loss_after = float(F.cross_entropy(model(Tensor(got.astype(np.float32))), y).data)
        if loss_after < loss_before:
            return (f"{where}: your image lowers the loss at the true labels y ({loss_before:.3f} -> "
                    f"{loss_after:.3f}): it helps the model; the attack steps up the gradient of that loss")
        free = (expected > 0.0) & (expected < 1.0)          # pixels the clip did not stop
        moved = np.abs(got - x)[free]
        if not np.allclose(moved, eps, rtol=0.0, atol=1e-6):
            return (f"{where}: every pixel the clip does not stop should move by exactly eps = {eps:g}; yours moved "
                    f"by amounts between {moved.min():.3g} and {moved.max():.3g}")
        return f"{where}: {compare(expected, got, rtol=0.0, atol=1e-6)}"
    return None


def _fgsm_grad_not_sign(model, x, y, eps):
    xt = Tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    F.cross_entropy(model(xt), y).backward()
    return np.clip(xt.data + eps * xt.grad, 0.0, 1.0)


def _fgsm_minus(model, x, y, eps):
    xt = Tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    F.cross_entropy(model(xt), y).backward()
    return np.clip(xt.data - eps * np.sign(xt.grad), 0.0, 1.0)


def _fgsm_no_clip(model, x, y, eps):
    xt = Tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    F.cross_entropy(model(xt), y).backward()
    return xt.data + eps * np.sign(xt.grad)


def _fgsm_predicted_labels(model, x, y, eps):
    """Attacks the model's own predictions instead of the true labels."""
    with no_grad():
        pred = np.argmax(model(Tensor(np.asarray(x, dtype=np.float32))).data, axis=1)
    return fgsm(model, x, pred, eps)


def _fgsm_softmax_first(model, x, y, eps):
    """Applies softmax to the logits before cross_entropy (which takes logits): a softmax twice."""
    xt = Tensor(np.asarray(x, dtype=np.float32), requires_grad=True)
    F.cross_entropy(F.softmax(model(xt), axis=1), y).backward()
    return np.clip(xt.data + eps * np.sign(xt.grad), 0.0, 1.0)


def _fgsm_in_place(model, x, y, eps):
    x += fgsm(model, x, y, eps) - x
    return x


_FGSM_MISTAKES = [
    (_fgsm_grad_not_sign, "move by exactly eps"),
    (_fgsm_minus, "lowers the loss"),
    (_fgsm_no_clip, "left [0, 1]"),
    (_fgsm_predicted_labels, "at the true labels y"),
    (_fgsm_softmax_first, "expected"),
    (_fgsm_in_place, "in place"),
    (lambda model, x, y, eps: fgsm(model, x, y, eps) - x, "left [0, 1]"),
]


EXERCISES = [
    Exercise(
        id="11.1",
        title="gradient checkpointing",
        reference=checkpointed_backward,
        verify=_verify_checkpointed,
        hints=(
            "two phases: a forward phase that builds no graph and keeps only what a segment needs to start again, "
            "then a backward phase that visits the segments from the last to the first; in it, each segment is "
            "run again with a graph and backpropagated at once, before the segment in front of it is touched",
            "in the backward phase, start each segment from a fresh leaf tensor made from the kept array, with "
            "requires_grad=True; the last segment's output goes into loss_fn and backward(); an earlier segment's "
            "output gets backward(grad) with the gradient that reached the next segment's starting leaf",
            "segment s covers blocks[s * every : (s + 1) * every] (the last one may be shorter); keep the input of "
            "each segment while running the forward phase inside `with no_grad():`",
        ),
        mistakes=[
            (_ckpt_plain, "ran 1 time;"),
            (_ckpt_sum_upstream, "differs from plain backpropagation"),
            (_ckpt_drops_remainder, "received no gradient"),
            (_ckpt_from_the_input, "ran 3 times"),
            (_ckpt_all_graphs_first, "alive at once"),
            (_ckpt_forward_with_graph, "forward phase built a graph"),
        ],
    ),
    Exercise(
        id="11.2",
        title="forward mode with dual numbers",
        reference=Dual,
        verify=_verify_dual,
        hints=(
            "write each operation on (value + tangent e) and expand, using e * e = 0: what multiplies e is the "
            "new tangent; it is the derivative rule you know, applied along the direction the tangent carries",
            "product: both tangents meet the other factor's value; quotient: the product rule on a / b with the "
            "derivative of 1 / b; power: lower the exponent by one; exp and sin: the outer derivative at the value, "
            "times the tangent (the chain rule); use numpy's functions so arrays work",
        ),
        mistakes=_DUAL_MISTAKES,
    ),
    Exercise(
        id="11.3",
        title="a straight-through rounding",
        reference=ste_quantize,
        verify=_verify_ste,
        hints=(
            "the values come from rounding the numbers (x.data), which is outside the graph; the result must still "
            "be a tensor computed from x so that its gradient reaches x unchanged",
            "add to x a constant (no gradient) that turns its values into the rounded ones: the constant is the "
            "difference between the quantized data and x's data; the gradient of x plus a constant is the identity's",
        ),
        mistakes=_STE_MISTAKES,
    ),
    Exercise(
        id="11.4",
        title="the score-function (REINFORCE) estimator",
        reference=score_function_estimates,
        cases=_sf_cases,
        hints=(
            "the estimator multiplies f at each sample by the gradient of the log-density of that sample with "
            "respect to the parameter; write log p(z; mu, sigma) for the normal density and differentiate it in mu "
            "and in sigma, keeping every term that depends on them",
            "d/dmu of -(z - mu)^2 / (2 sigma^2) is (z - mu) / sigma^2; the sigma derivative has two terms, one from "
            "the exponent and -1/sigma from the normalizing constant's log(sigma); with z - mu = sigma * eps both "
            "simplify; one row per sample, no averaging",
        ),
        mistakes=_SF_MISTAKES,
    ),
    Exercise(
        id="11.5",
        title="a Hessian-vector product from two gradients",
        reference=hvp,
        verify=_verify_hvp,
        hints=(
            "H v is the directional derivative of the gradient along v; estimate it as chapter 03 estimated a "
            "derivative, with a difference of gradients taken at two points",
            "step from w by eps * v in both directions and divide the difference of the two gradients by the "
            "distance in eps between the two points (2 eps); do not normalize v: H v is linear in v",
        ),
        mistakes=_HVP_MISTAKES,
    ),
    Exercise(
        id="11.6",
        title="an adversarial example with FGSM",
        reference=fgsm,
        verify=_verify_fgsm,
        hints=(
            "this is backpropagation to the input: make x a tensor that requires grad, compute the loss the model "
            "was trained on, call backward, and read the gradient on x; the weights stay as they are",
            "move every pixel by eps in the direction (the sign) of its gradient, so that the loss goes up, then "
            "clip the image back into [0, 1]; return a new numpy array",
        ),
        mistakes=_FGSM_MISTAKES,
    ),
]
