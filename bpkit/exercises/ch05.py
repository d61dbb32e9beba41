"""Chapter 05 (Losses and gradient descent): references and test cases.

Shapes follow the notebook: predictions and targets (N,) or (N, 1); logits
Z: (N, C); integer class labels y: (N,); a linear model's weights w: (D,) for
inputs X: (N, D). Every gradient is of the *mean* loss over the batch.
"""
import numpy as np

from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "mse_loss_and_grad", "log_softmax", "softmax_cross_entropy", "sgd_epoch"]


def mse_loss_and_grad(pred, target):
    """Mean squared error and its gradient: L = mean((pred - target)^2), dpred = 2 (pred - target) / n.

    pred, target: the same shape (any); n = pred.size. Returns (L: float, dpred: like pred).
    """
    diff = pred - target
    return float(np.mean(diff ** 2)), 2.0 * diff / diff.size


def log_softmax(z):
    """log(softmax(z)) along the last axis, stable for any finite logits. z: (..., C) -> (..., C).

    log softmax(z)_k = z_k - logsumexp(z), and logsumexp(z) = m + log(sum exp(z - m))
    with m = max(z): every exponent is <= 0, so exp() cannot overflow.
    """
    m = np.max(z, axis=-1, keepdims=True)
    return z - (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))


def softmax_cross_entropy(Z, y):
    """Mean cross-entropy of softmax(Z) against labels y, and its gradient.

    Z: (N, C) logits; y: (N,) integer labels in 0..C-1.
    Returns (L: float, dZ: (N, C)) with L = -mean_i log softmax(Z)[i, y_i]
    and dZ = (softmax(Z) - onehot(y)) / N.
    """
    n = Z.shape[0]
    logp = log_softmax(Z)
    loss = -float(np.mean(logp[np.arange(n), y]))
    dZ = np.exp(logp)
    dZ[np.arange(n), y] -= 1.0
    return loss, dZ / n


def sgd_epoch(w, X, y, lr, batch_size, rng):
    """One epoch of mini-batch SGD on linear least squares L(w) = mean((X w - y)^2).

    w: (D,); X: (N, D); y: (N,); rng: np.random.Generator. Shuffle once with
    order = rng.permutation(N), then for each slice of ``batch_size`` indices
    (the last one may be shorter) take a step w <- w - lr * 2 X_b^T (X_b w - y_b) / B.
    Returns the new w (a new array; the input is not changed).
    """
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        Xb, yb = X[idx], y[idx]
        grad = 2.0 * Xb.T @ (Xb @ w - yb) / len(idx)
        w = w - lr * grad
    return w


# ----------------------------------------------------------------------------- cases

def _mse_cases():
    rng = np.random.default_rng(50)
    return [
        (np.array([1.0, 2.0, 3.0]), np.array([1.5, 1.0, 3.0])),
        (rng.normal(size=(6, 1)), rng.normal(size=(6, 1))),
    ]


def _log_softmax_cases():
    rng = np.random.default_rng(51)
    return [
        (np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]),),
        (rng.normal(size=(4, 5)),),
        (np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]),),
    ]


def _ce_cases():
    rng = np.random.default_rng(52)
    return [
        (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
        (rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)),
        (np.array([[1000.0, 0.0, -1000.0], [3.0, 3.0, 3.0]]), np.array([1, 2])),
    ]


def _numerical_grad(f, x, eps=1e-6):
    """Central differences of the scalar f at x (any shape): an array like x."""
    g = np.zeros_like(x, dtype=float)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def _verify_softmax_cross_entropy(fn):
    """Loss against the reference; dZ against the central-difference gradient of the reference loss."""
    for Z, y in _ce_cases():
        out = fn(Z.copy(), y.copy())
        if not (isinstance(out, tuple) and len(out) == 2):
            return f"should return a pair (loss, dZ), got {type(out).__name__}"
        loss, dZ = out
        expected = softmax_cross_entropy(Z, y)[0]
        message = compare(expected, loss, rtol=1e-6, atol=1e-8)
        if message:
            return f"the loss for Z of shape {Z.shape}: {message}"
        if np.all(np.abs(Z) < 100):      # central differences are meaningful for moderate logits
            numeric = _numerical_grad(lambda z: softmax_cross_entropy(z, y)[0], Z.astype(float).copy())
        else:
            numeric = softmax_cross_entropy(Z, y)[1]
        message = compare(numeric, np.asarray(dZ) if dZ is not None else dZ, rtol=1e-5, atol=1e-7)
        if message:
            return f"dZ disagrees with the numerical gradient for Z of shape {Z.shape}: {message}"
    return None


def _sgd_cases():
    rng = np.random.default_rng(53)
    X = rng.normal(size=(10, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=10)
    return [
        (np.zeros(3), X, y, 0.1, 4, np.random.default_rng(0)),
        (np.array([0.5, 0.5, 0.5]), X, y, 0.05, 1, np.random.default_rng(1)),
    ]


def _verify_sgd_epoch(fn):
    """Run the reference and ``fn`` on identical fresh inputs (the same seeded Generator) and compare.

    A custom check because ``rng`` is meant to change: drawing the permutation
    advances it, so the generic "did not change its inputs" rule cannot apply.
    """
    for ref_args, args in zip(_sgd_cases(), _sgd_cases()):
        w0 = args[0].copy()
        expected = sgd_epoch(*ref_args)
        got = fn(*args)
        if not np.array_equal(args[0], w0):
            return (f"your function changed its input w in place (it was {short_repr(w0)}, afterwards {short_repr(args[0])}); "
                    f"write w = w - lr * grad, which builds a new array")
        message = compare(expected, got, rtol=1e-9, atol=1e-12)
        if message:
            return f"for lr = {args[3]}, batch_size = {args[4]}: {message}"
    return None


# ----------------------------------------------------------------------------- typical mistakes

def _ce_no_mean(Z, y):
    loss, dZ = softmax_cross_entropy(Z, y)
    return loss, dZ * Z.shape[0]


def _ce_wrong_sign(Z, y):
    loss, dZ = softmax_cross_entropy(Z, y)
    return loss, -dZ


def _ce_no_onehot(Z, y):
    loss, _ = softmax_cross_entropy(Z, y)
    return loss, np.exp(log_softmax(Z)) / Z.shape[0]


def _ce_summed_loss(Z, y):
    loss, dZ = softmax_cross_entropy(Z, y)
    return loss * Z.shape[0], dZ


def _sgd_no_shuffle(w, X, y, lr, batch_size, rng):
    for start in range(0, len(X), batch_size):
        Xb, yb = X[start:start + batch_size], y[start:start + batch_size]
        w = w - lr * 2.0 * Xb.T @ (Xb @ w - yb) / len(Xb)
    return w


def _sgd_two_permutations(w, X, y, lr, batch_size, rng):
    Xs, ys = X[rng.permutation(len(X))], y[rng.permutation(len(X))]   # X and y no longer match
    for start in range(0, len(X), batch_size):
        Xb, yb = Xs[start:start + batch_size], ys[start:start + batch_size]
        w = w - lr * 2.0 * Xb.T @ (Xb @ w - yb) / len(Xb)
    return w


def _sgd_in_place(w, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        w -= lr * 2.0 * X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)
    return w


def _sgd_full_batch(w, X, y, lr, batch_size, rng):
    rng.permutation(len(X))
    for _ in range(0, len(X), batch_size):
        w = w - lr * 2.0 * X.T @ (X @ w - y) / len(X)
    return w


EXERCISES = [
    Exercise(
        id="5.1",
        title="the MSE loss and its gradient",
        reference=mse_loss_and_grad,
        cases=_mse_cases,
        hint="with d = pred - target: L = mean(d**2) and dpred = 2 d / d.size (the mean divides by every element)",
        mistakes=[
            (lambda p, t: (float(np.mean((p - t) ** 2)), (p - t) / (p - t).size), "factor"),
            (lambda p, t: (float(np.mean((p - t) ** 2)), 2.0 * (t - p) / (p - t).size), "sign"),
            (lambda p, t: (float(np.sum((p - t) ** 2)), 2.0 * (p - t)), "output[0]"),
        ],
    ),
    Exercise(
        id="5.2",
        title="a stable log-softmax",
        reference=log_softmax,
        cases=_log_softmax_cases,
        hint="subtract m = z.max(axis=-1, keepdims=True) before np.exp, and add m back: "
             "log_softmax = z - (m + log(sum(exp(z - m))))",
        mistakes=[
            (lambda z: z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True)), "inf"),
            (lambda z: z - np.log(np.sum(np.exp(z - z.max(axis=-1, keepdims=True)), axis=-1, keepdims=True)),
             "expected"),
            (lambda z: np.log(np.exp(z) / np.sum(np.exp(z), axis=0, keepdims=True)), "expected"),
        ],
    ),
    Exercise(
        id="5.3",
        title="softmax cross-entropy and its gradient p - y",
        reference=softmax_cross_entropy,
        verify=_verify_softmax_cross_entropy,
        hint="p = exp(log_softmax(Z)); L = -mean of log p at the labels; dZ = (p - onehot(y)) / N",
        mistakes=[
            (_ce_no_mean, "factor"),
            (_ce_wrong_sign, "sign"),
            (_ce_no_onehot, "numerical gradient"),
            (_ce_summed_loss, "the loss"),
        ],
    ),
    Exercise(
        id="5.4",
        title="one epoch of mini-batch SGD",
        reference=sgd_epoch,
        verify=_verify_sgd_epoch,
        hint="order = rng.permutation(len(X)) once; for each slice idx of the order: "
             "w = w - lr * 2 * X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)",
        mistakes=[
            (_sgd_no_shuffle, "expected"),
            (_sgd_two_permutations, "expected"),
            (_sgd_in_place, "in place"),
            (_sgd_full_batch, "expected"),
        ],
    ),
]
