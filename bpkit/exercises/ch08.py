"""Chapter 08 (Deep-network pitfalls): references and test cases.

Shapes follow the notebook and PyTorch: a batch x: (N, D_in); a weight W:
(D_out, D_in), so a layer computes z = x @ W.T (+ b); gradients are named as
the notebook names them: dout, dx, dW, db. Norms are Frobenius norms over the
whole batch.
"""
import math

import numpy as np

from bpkit.exercises.compare import short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "layer_grad_norms", "init_std", "clip_by_norm", "residual_backward", "dead_fraction"]


def _act(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    raise ValueError(f"unknown activation {name!r}")


def _act_derivative(name, z):
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 - np.tanh(z) ** 2
    return (z > 0).astype(z.dtype)


def _pre_activations(Ws, x, activation):
    """z_l = h_{l-1} @ W_l.T for every layer of the forward pass h_l = act(z_l), h_0 = x."""
    zs, h = [], x
    for W in Ws:
        z = h @ W.T
        zs.append(z)
        h = _act(activation, z)
    return zs


def layer_grad_norms(Ws, x, dout, activation):
    """|dL/dh_l| for l = 1..L of the network h_l = act(h_{l-1} @ W_l.T), h_0 = x, given dout = dL/dh_L."""
    zs = _pre_activations(Ws, x, activation)
    g = dout
    norms = [np.linalg.norm(g)]
    for W, z in zip(Ws[:0:-1], zs[:0:-1]):   # layers L..2: from dL/dh_l to dL/dh_{l-1}
        g = (g * _act_derivative(activation, z)) @ W
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


def init_std(fan_in, fan_out, scheme, negative_slope=0.0):
    """The standard deviation of torch.nn.init.xavier_normal_ (gain 1) or kaiming_normal_ (fan_in, leaky ReLU a)."""
    if scheme == "xavier":
        return math.sqrt(2.0 / (fan_in + fan_out))
    return math.sqrt(2.0 / ((1.0 + negative_slope ** 2) * fan_in))


def clip_by_norm(grads, max_norm):
    """All gradients scaled together so their joint 2-norm is at most max_norm: (new list, norm before)."""
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    scale = min(1.0, max_norm / total) if total > 0 else 1.0
    return [g * scale for g in grads], total


def residual_backward(dout, x, W, b):
    """Gradients (dx, dW, db) of out = x + relu(x @ W.T + b), given dout = dL/dout."""
    z = x @ W.T + b
    dz = dout * (z > 0)
    return dout + dz @ W, dz.T @ x, dz.sum(axis=0)


def dead_fraction(x, W, b):
    """The fraction of the units of relu(x @ W.T + b) that output 0 for every row of x."""
    z = x @ W.T + b
    return float(np.mean(np.all(z <= 0, axis=0)))


# ----------------------------------------------------------------------------- cases

def _norm_cases():
    rng = np.random.default_rng(80)
    cases = []
    for activation, sizes, n in (("sigmoid", (5, 7, 6, 4), 3), ("tanh", (4, 6, 5, 6, 3), 5),
                                 ("relu", (6, 8, 5, 4), 4)):
        Ws = [rng.normal(size=(o, i)) * (1.5 / math.sqrt(i)) for i, o in zip(sizes, sizes[1:])]
        cases.append((Ws, rng.normal(size=(n, sizes[0])), rng.normal(size=(n, sizes[-1])), activation))
    return cases


def _init_cases():
    return [(64, 64, "he"), (300, 100, "he"), (100, 300, "xavier"), (256, 64, "xavier"), (200, 50, "he", 0.2)]


def _clip_cases():
    rng = np.random.default_rng(81)
    big = [rng.normal(size=(3, 4)) * 3.0, np.array([0.5, -4.0]), rng.normal(size=(2, 2)) * 0.1]
    small = [np.array([[0.3, -0.4], [0.0, 0.2]]), np.array([0.1, 0.1])]
    uneven = [np.array([6.0, -8.0]), np.array([[0.01, 0.02, -0.03]])]   # one array holds nearly all of the norm
    return [(big, 1.0), (small, 5.0), (uneven, 2.5)]


def _residual_cases():
    rng = np.random.default_rng(82)
    cases = []
    for n, d in ((4, 3), (6, 5), (3, 4)):
        x = rng.normal(size=(n, d))
        cases.append((rng.normal(size=(n, d)), x, rng.normal(size=(d, d)), rng.normal(size=d) * 0.5))
    return cases


def _dead_cases():
    rng = np.random.default_rng(83)
    x1 = np.abs(rng.normal(size=(8, 3)))             # non-negative inputs, as after a ReLU
    W1 = np.array([[1.0, 0.5, 0.2], [-1.0, -2.0, -0.5], [0.3, -0.2, 0.1], [0.0, 0.0, 0.0], [-0.5, -0.1, -0.3]])
    b1 = np.array([0.0, 0.1, 0.0, 0.0, -0.2])        # unit 3: z == 0 exactly on every row (dead: no gradient)
    x2 = rng.normal(size=(10, 4))
    W2 = rng.normal(size=(6, 4))
    b2 = np.array([0.0, -100.0, 0.5, -100.0, -100.0, 0.0])
    x3 = rng.normal(size=(5, 2))
    W3 = rng.normal(size=(4, 2))
    return [(x1, W1, b1), (x2, W2, b2), (x3, W3, np.zeros(4))]


# ----------------------------------------------------------------------------- typical mistakes

def _norms_no_derivative(Ws, x, dout, activation):
    """Multiplies by the weights only: forgets each activation's derivative."""
    g, norms = dout, [np.linalg.norm(dout)]
    for W in Ws[:0:-1]:
        g = g @ W
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


def _norms_derivative_at_output(Ws, x, dout, activation):
    """Evaluates the activation's derivative at the layer's output h instead of at its input z."""
    hs, h = [], x
    for W in Ws:
        h = _act(activation, h @ W.T)
        hs.append(h)
    g, norms = dout, [np.linalg.norm(dout)]
    for W, h in zip(Ws[:0:-1], hs[:0:-1]):
        g = (g * _act_derivative(activation, h)) @ W
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


def _norms_reversed(Ws, x, dout, activation):
    """The right numbers, last layer first."""
    return layer_grad_norms(Ws, x, dout, activation)[::-1]


def _norms_of_dz(Ws, x, dout, activation):
    """Records |dL/dz_l| (before the activation) instead of |dL/dh_l|."""
    zs = _pre_activations(Ws, x, activation)
    g, norms = dout, []
    for i in range(len(Ws) - 1, -1, -1):
        dz = g * _act_derivative(activation, zs[i])
        norms.append(np.linalg.norm(dz))
        g = dz @ Ws[i]
    return np.array(norms[::-1])


def _norms_with_input(Ws, x, dout, activation):
    """Goes one layer too far: also returns |dL/dx|."""
    zs = _pre_activations(Ws, x, activation)
    g, norms = dout, [np.linalg.norm(dout)]
    for W, z in zip(Ws[::-1], zs[::-1]):
        g = (g * _act_derivative(activation, z)) @ W
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


def _norms_wrong_transpose(Ws, x, dout, activation):
    """Sends the gradient back through W.T, as in the forward pass (the shapes only fit for square W)."""
    zs = _pre_activations(Ws, x, activation)
    g, norms = dout, [np.linalg.norm(dout)]
    for W, z in zip(Ws[:0:-1], zs[:0:-1]):
        g = (g * _act_derivative(activation, z)) @ W.T
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


def _std_is_variance(fan_in, fan_out, scheme, negative_slope=0.0):
    return init_std(fan_in, fan_out, scheme, negative_slope) ** 2


def _he_fan_out(fan_in, fan_out, scheme, negative_slope=0.0):
    if scheme == "xavier":
        return init_std(fan_in, fan_out, scheme)
    return math.sqrt(2.0 / ((1.0 + negative_slope ** 2) * fan_out))


def _he_without_two(fan_in, fan_out, scheme, negative_slope=0.0):
    """LeCun's 1/fan_in: forgets that ReLU zeroes half of its inputs."""
    if scheme == "xavier":
        return init_std(fan_in, fan_out, scheme)
    return math.sqrt(1.0 / fan_in)


def _xavier_fan_in_only(fan_in, fan_out, scheme, negative_slope=0.0):
    if scheme == "xavier":
        return math.sqrt(1.0 / fan_in)
    return init_std(fan_in, fan_out, scheme, negative_slope)


def _xavier_uniform_bound(fan_in, fan_out, scheme, negative_slope=0.0):
    """The bound a of xavier_uniform_'s U(-a, a), not a standard deviation."""
    if scheme == "xavier":
        return math.sqrt(6.0 / (fan_in + fan_out))
    return init_std(fan_in, fan_out, scheme, negative_slope)


def _leaky_slope_not_squared(fan_in, fan_out, scheme, negative_slope=0.0):
    if scheme == "xavier":
        return init_std(fan_in, fan_out, scheme)
    return math.sqrt(2.0 / ((1.0 + negative_slope) * fan_in))


def _leaky_slope_ignored(fan_in, fan_out, scheme, negative_slope=0.0):
    return init_std(fan_in, fan_out, scheme)


def _clip_each(grads, max_norm):
    """Clips every array by its own norm."""
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    out = []
    for g in grads:
        n = float(np.linalg.norm(g))
        out.append(g * min(1.0, max_norm / n) if n > 0 else g.copy())
    return out, total


def _clip_always(grads, max_norm):
    """Rescales to max_norm even when the norm is already below it (scaling small gradients up)."""
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    return [g * (max_norm / total) for g in grads], total


def _clip_by_value(grads, max_norm):
    total = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    return [np.clip(g, -max_norm, max_norm) for g in grads], total


def _clip_sum_of_norms(grads, max_norm):
    """Adds the arrays' norms instead of taking the norm of all entries together."""
    total = sum(float(np.linalg.norm(g)) for g in grads)
    scale = min(1.0, max_norm / total)
    return [g * scale for g in grads], total


def _clip_returns_norm_after(grads, max_norm):
    clipped, total = clip_by_norm(grads, max_norm)
    return clipped, min(total, max_norm)


def _clip_no_sqrt(grads, max_norm):
    """Uses the sum of squares as the norm."""
    total = sum(float(np.sum(g * g)) for g in grads)
    scale = min(1.0, max_norm / total)
    return [g * scale for g in grads], total


def _residual_no_identity(dout, x, W, b):
    """Forgets the skip connection's own path: dx only through the branch."""
    dx, dW, db = residual_backward(dout, x, W, b)
    return dx - dout, dW, db


def _residual_mask_from_output(dout, x, W, b):
    """Takes ReLU's mask from the block's output (x + relu(z)) instead of from z."""
    out = x + np.maximum(x @ W.T + b, 0.0)
    dz = dout * (out > 0)
    return dout + dz @ W, dz.T @ x, dz.sum(axis=0)


def _residual_no_mask(dout, x, W, b):
    return dout + dout @ W, dout.T @ x, dout.sum(axis=0)


def _residual_dW_transposed(dout, x, W, b):
    dz = dout * (x @ W.T + b > 0)
    return dout + dz @ W, x.T @ dz, dz.sum(axis=0)


def _residual_db_mean(dout, x, W, b):
    dx, dW, db = residual_backward(dout, x, W, b)
    return dx, dW, db / x.shape[0]


def _dead_zero_entries(x, W, b):
    """The fraction of zero entries of the activations, not of units that are zero on every row."""
    return float(np.mean(x @ W.T + b <= 0))


def _dead_any_row(x, W, b):
    """Counts a unit as dead when it is zero on some row (that is ReLU's normal sparsity)."""
    return float(np.mean(np.any(x @ W.T + b <= 0, axis=0)))


def _dead_strict(x, W, b):
    """Only z < 0 counts: a unit stuck at exactly 0 gets no gradient either (relu'(0) = 0)."""
    return float(np.mean(np.all(x @ W.T + b < 0, axis=0)))


def _dead_count(x, W, b):
    return int(np.sum(np.all(x @ W.T + b <= 0, axis=0)))


def _dead_wrong_axis(x, W, b):
    """Fraction of examples (rows) on which every unit is zero."""
    return float(np.mean(np.all(x @ W.T + b <= 0, axis=1)))


def _verify_init_std(fn):
    for case in _init_cases():
        expected = init_std(*case)
        got = fn(*case)
        if (isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.number, np.ndarray))
                or np.ndim(got) != 0):
            return f"should return one number (a standard deviation), got {short_repr(got)}"
        fan_in, fan_out, scheme = case[:3]
        slope = f", negative_slope = {case[3]}" if len(case) > 3 else ""
        where = f"for fan_in = {fan_in}, fan_out = {fan_out}, scheme = {scheme!r}{slope}"
        if not math.isclose(float(got), expected, rel_tol=1e-9):
            note = ""
            if math.isclose(float(got), expected ** 2, rel_tol=1e-9):
                note = " (that is the variance: the standard deviation is its square root)"
            return f"{where}: expected std {expected:.6f}, got {float(got):.6f}{note}"
    return None


EXERCISES = [
    Exercise(
        id="8.1",
        title="per-layer gradient norms, by hand",
        reference=layer_grad_norms,
        cases=_norm_cases,
        rtol=1e-6,
        hints=(
            "run the forward pass first and keep each layer's pre-activation z; then walk backwards from dout, "
            "one layer at a time, recording the norm of the gradient with respect to each layer's output h "
            "(the last one is |dout| itself)",
            "going from dL/dh_l to dL/dh_(l-1): multiply elementwise by the activation's derivative at z_l (not "
            "at h_l), then by W_l, which maps D_l units back to D_(l-1); return L norms, layer 1 first",
        ),
        mistakes=[
            (_norms_no_derivative, "expected"),
            (_norms_derivative_at_output, "expected"),
            (_norms_reversed, "expected"),
            (_norms_of_dz, "expected"),
            (_norms_with_input, "shape"),
            (_norms_wrong_transpose, "raised"),
        ],
    ),
    Exercise(
        id="8.2",
        title="the standard deviation of Xavier and He initialization",
        reference=init_std,
        verify=_verify_init_std,
        hints=(
            "ask for two things: the output's variance, fan_in * Var(w) * E[h^2], stays at its input's, and the "
            "backward signal's variance, fan_out * Var(w) * E[act'^2], too; Xavier averages the two fans, He "
            "keeps the forward condition and counts what (leaky) ReLU does to E[h^2]",
            "Xavier: Var(w) * (fan_in + fan_out) / 2 = 1; He: Var(w) * fan_in * (1 + a^2) / 2 = 1 (the SymPy "
            "cell above computed (1 + a^2) / 2); return the square root of Var(w)",
        ),
        mistakes=[
            (_std_is_variance, "variance"),
            (_he_fan_out, "expected std"),
            (_he_without_two, "expected std"),
            (_xavier_fan_in_only, "expected std"),
            (_xavier_uniform_bound, "expected std"),
            (_leaky_slope_not_squared, "negative_slope = 0.2"),
            (_leaky_slope_ignored, "negative_slope = 0.2"),
            (lambda fan_in, fan_out, scheme, negative_slope=0.0: np.ones(1) * init_std(fan_in, fan_out, scheme,
                                                                                        negative_slope),
             "one number"),
        ],
    ),
    Exercise(
        id="8.3",
        title="clipping gradients by their joint norm",
        reference=clip_by_norm,
        cases=_clip_cases,
        rtol=1e-5,
        hints=(
            "the norm is taken over every entry of every array together, as if they were one long vector; all "
            "arrays are then scaled by the same factor, and only when that norm is above max_norm",
            "total = square root of the sum of all squared entries; the factor is max_norm / total when total "
            "exceeds max_norm, else 1; return new arrays (do not change the inputs) and the total before clipping",
        ),
        mistakes=[
            (_clip_each, "output[0]"),
            (_clip_always, "output[0]"),
            (_clip_by_value, "output[0]"),
            (_clip_sum_of_norms, "output"),
            (_clip_returns_norm_after, "output[1]"),
            (_clip_no_sqrt, "output"),
        ],
    ),
    Exercise(
        id="8.4",
        title="a residual block's backward pass",
        reference=residual_backward,
        cases=_residual_cases,
        hints=(
            "x reaches the output by two paths, the skip connection and the branch through W and ReLU; its "
            "gradient is the sum of what comes back along each",
            "recompute z = x @ W.T + b; the branch's gradient at z is dout where z > 0 and 0 elsewhere; from there "
            "dW, db and the branch's part of dx follow as for any linear layer; the skip path adds dout unchanged",
        ),
        mistakes=[
            (_residual_no_identity, "output[0]"),
            (_residual_mask_from_output, "output[0]"),
            (_residual_no_mask, "output[0]"),
            (_residual_dW_transposed, "output[1]"),
            (_residual_db_mean, "factor"),
        ],
    ),
    Exercise(
        id="8.5",
        title="the fraction of dead ReLUs",
        reference=dead_fraction,
        cases=_dead_cases,
        hints=(
            "a unit is dead on this data when it outputs 0 for every example, so that no gradient reaches its "
            "weights; a unit that is 0 on some examples only is just sparse",
            "compute the pre-activations z (N, D_out); a unit (a column) is dead when z <= 0 in every row (at "
            "exactly 0, ReLU's derivative is 0 too); return the fraction of such columns as a float",
        ),
        mistakes=[
            (_dead_zero_entries, "expected"),
            (_dead_any_row, "expected"),
            (_dead_strict, "expected"),
            (_dead_count, "expected"),
            (_dead_wrong_axis, "expected"),
        ],
    ),
]
