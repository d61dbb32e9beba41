"""Chapter 05 (Losses and gradient descent): references and test cases.

Shapes follow the notebook: predictions and targets (N,) or (N, 1); logits
Z: (N, C); integer class labels y: (N,); a linear model's weights w: (D,) for
inputs X: (N, D). Every gradient is of the *mean* loss over the batch.
Exercise 5.4 works on SymPy expressions (SymPy is imported only when it runs).
"""
import numpy as np

from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise
from bpkit.gradcheck import numerical_grad

__all__ = ["EXERCISES", "mse_loss_and_grad", "log_softmax", "softmax_cross_entropy", "softmax_ce_symbolic",
           "sgd_epoch", "mlp_loss_and_grads"]


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


def softmax_ce_symbolic(z, c):
    """Cross-entropy of softmax(z) for the true class c, as a SymPy expression, and its derivatives.

    z: a list of C SymPy symbols (the logits); c: the index of the true class.
    Returns (L, [dL/dz_0, ..., dL/dz_{C-1}]) with L = -log(exp(z_c) / sum_j exp(z_j)).
    """
    import sympy as sp
    L = -sp.log(sp.exp(z[c]) / sum(sp.exp(zj) for zj in z))
    return L, [sp.diff(L, zi) for zi in z]


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


def mlp_loss_and_grads(params, X, y):
    """Mean softmax cross-entropy of a one-hidden-layer ReLU MLP, and its gradients (chapter 4's notation).

    params: {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}; X: (N, D); y: (N,) labels.
    Z1 = X W1 + b1, A1 = relu(Z1), Z2 = A1 W2 + b2 (the logits). Returns (L, grads) with
    grads a dict of the same keys and shapes as params.
    """
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0.0)
    Z2 = A1 @ params["W2"] + params["b2"]
    L, dZ2 = softmax_cross_entropy(Z2, y)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return L, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}


# ----------------------------------------------------------------------------- cases

def _mlp_cases():
    rng = np.random.default_rng(55)
    cases = []
    for n, d, h, c in ((5, 4, 3, 3), (7, 6, 5, 4)):
        params = {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h),
                  "W2": rng.normal(size=(h, c)), "b2": rng.normal(size=c)}
        cases.append((params, rng.normal(size=(n, d)), rng.integers(0, c, size=n)))
    return cases


def _mse_cases():
    rng = np.random.default_rng(50)
    return [
        (np.array([1.0, 2.0, 3.0]), np.array([1.5, 1.0, 3.0])),
        (rng.normal(size=(6, 1)), rng.normal(size=(6, 1))),
        # len(pred) = 4 but pred.size = 8: dividing by the length of the first axis is caught here
        (rng.normal(size=(4, 2)), rng.normal(size=(4, 2))),
    ]


def _log_softmax_cases():
    rng = np.random.default_rng(51)
    return [
        (np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]]),),
        (rng.normal(size=(4, 5)),),
        (np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]]),),
        # rows far apart: one max over the whole array (instead of each row's) underflows the lower row
        (np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]]),),
    ]


def _ce_cases():
    rng = np.random.default_rng(52)
    return [
        (np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])),
        (rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)),
        (np.array([[1000.0, 0.0, -1000.0], [3.0, 3.0, 3.0]]), np.array([1, 2])),
    ]


def _verify_softmax_cross_entropy(fn):
    """Loss against the reference; dZ against the central-difference gradient of the reference loss."""
    for Z, y in _ce_cases():
        Z_given, y_given = Z.copy(), y.copy()
        out = fn(Z_given, y_given)
        if not (np.array_equal(Z_given, Z) and np.array_equal(y_given, y)):
            return (f"your function changed its input Z or y in place (Z was {short_repr(Z, limit=80)}, "
                    f"afterwards {short_repr(Z_given, limit=80)}; Z - Z.max(axis=1, keepdims=True) builds a new array, Z -= ... changes the caller's)")
        if not (isinstance(out, tuple) and len(out) == 2):
            return f"should return a pair (loss, dZ), got {type(out).__name__}"
        loss, dZ = out
        expected = softmax_cross_entropy(Z, y)[0]
        message = compare(expected, loss, rtol=1e-6, atol=1e-8)
        if message:
            return f"the loss for Z of shape {Z.shape}: {message}"
        if np.all(np.abs(Z) < 100):      # central differences are meaningful for moderate logits
            numeric = numerical_grad(lambda z: softmax_cross_entropy(z, y)[0], Z.astype(np.float64))
        else:
            numeric = softmax_cross_entropy(Z, y)[1]
        message = compare(numeric, np.asarray(dZ) if dZ is not None else dZ, rtol=1e-5, atol=1e-7)
        if message:
            return f"dZ disagrees with the numerical gradient for Z of shape {Z.shape}: {message}"
    return None


_SYMBOLIC_CASES = (("z0:3", 0), ("a0:4", 2), ("u0:2", 1))   # (symbol names, true class): C = 3, 4, 2


def _verify_softmax_ce_symbolic(fn):
    """The loss and every derivative, evaluated at random logits, against -log p_c and p - y.

    The learner's expressions are turned into float functions with sp.lambdify,
    so any correct form passes, simplified or not.
    """
    import sympy as sp
    rng = np.random.default_rng(54)
    for names, c in _SYMBOLIC_CASES:
        z = list(sp.symbols(names))
        out = fn(list(z), c)
        if not (isinstance(out, tuple) and len(out) == 2):
            return f"should return a pair (the loss, the list of its derivatives), got {short_repr(out, limit=80)}"
        L, grads = out
        if not isinstance(grads, (list, tuple)):
            return f"the second item should be a list of derivatives, one per logit, got {type(grads).__name__}"
        if len(grads) != len(z):
            return (f"for {len(z)} classes the loss has {len(z)} derivatives, one per logit "
                    f"(the true class's and all the others), but got {len(grads)}")
        exprs = [sp.sympify(e) for e in (L, *grads)]
        stray = set().union(*(e.free_symbols for e in exprs)) - set(z)
        if stray:
            return f"the expressions use symbols other than the logits {z}: {sorted(map(str, stray))}"
        f_loss = sp.lambdify(z, exprs[0], "numpy")
        f_grads = [sp.lambdify(z, g, "numpy") for g in exprs[1:]]
        for point in np.round(rng.normal(size=(3, len(z))), 3):
            p = np.exp(point - point.max())
            p /= p.sum()
            where = f"with {len(z)} classes, true class {c}, at {dict(zip(map(str, z), point.tolist()))}"
            message = compare(float(-np.log(p[c])), float(f_loss(*point)), rtol=1e-9, atol=1e-12)
            if message:
                return f"the loss {where}: {message}"
            target = np.eye(len(z))[c]
            for i, f in enumerate(f_grads):
                message = compare(float(p[i] - target[i]), float(f(*point)), rtol=1e-9, atol=1e-12)
                if message:
                    return f"dL/d{z[i]} {where}: {message}"
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
    The contract fixes where the order comes from (one ``rng.permutation`` of
    the row indices, before the first step), so that the check can replay the
    epoch; a wrong result is compared with the typical slips (``_DIAGNOSES``)
    to say which one it looks like, a valid shuffle drawn another way included.
    """
    for k, (ref_args, args) in enumerate(zip(_sgd_cases(), _sgd_cases())):
        w0 = args[0].copy()
        expected = sgd_epoch(*ref_args)
        got = fn(*args)
        if not np.array_equal(args[0], w0):
            return (f"your function changed its input w in place (it was {short_repr(w0)}, afterwards {short_repr(args[0])}); "
                    f"build a new array for each updated w instead")
        message = compare(expected, got, rtol=1e-9, atol=1e-12)
        if message:
            where = f"for lr = {args[3]}, batch_size = {args[4]}"
            for slip, explanation in _DIAGNOSES:
                fresh = _sgd_cases()[k]
                try:
                    looks_like = compare(slip(*fresh), got, rtol=1e-9, atol=1e-12) is None
                except Exception:
                    looks_like = False
                if looks_like:
                    return f"{where}: {explanation} ({message})"
            return (f"{where}: {message}; the check replays the epoch with the order from one call of "
                    f"rng.permutation over the rows, so draw it exactly once, before the first step")
    return None


# ----------------------------------------------------------------------------- typical mistakes

def _mse_by_length(p, t):
    """Divides by len(pred), the first axis, instead of by every entry: right only for (N,) and (N, 1)."""
    d = p - t
    return float(np.mean(d ** 2)), 2.0 * d / len(p)


def _log_softmax_global_max(z):
    """Subtracts the max of the whole array, not each row's: rows far below it underflow to log(0)."""
    m = np.max(z)
    return z - (m + np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True)))


def _log_of_stable_softmax(z):
    """A stable softmax, then np.log: a probability that underflows to 0 gives -inf."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return np.log(e / e.sum(axis=-1, keepdims=True))


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


def _ce_whole_columns(Z, y):
    """dZ[:, y] -= 1 subtracts 1 in every row at every label's column, not one entry per row."""
    loss, _ = softmax_cross_entropy(Z, y)
    dZ = np.exp(log_softmax(Z))
    dZ[:, y] -= 1.0
    return loss, dZ / Z.shape[0]


def _ce_naive_softmax(Z, y):
    """softmax without subtracting the max: logits of 1000 overflow to nan."""
    e = np.exp(Z)
    p = e / e.sum(axis=1, keepdims=True)
    n = Z.shape[0]
    loss = -float(np.mean(np.log(p[np.arange(n), y])))
    dZ = p.copy()
    dZ[np.arange(n), y] -= 1.0
    return loss, dZ / n


def _ce_shift_in_place(Z, y):
    """A listed mistake: shifts the caller's logits in place (Z -= max); the results are right, Z is not."""
    Z -= Z.max(axis=1, keepdims=True)
    return softmax_cross_entropy(Z, y)


def _ce_mean_over_all_entries(Z, y):
    """The mean of -Y * log P over all N x C entries: the loss divided by C as well."""
    loss, dZ = softmax_cross_entropy(Z, y)
    return loss / Z.shape[1], dZ / Z.shape[1]


def _sym_positive_log(z, c):
    """The log-likelihood instead of its negative: a loss to be maximised."""
    L, grads = softmax_ce_symbolic(z, c)
    return -L, [-g for g in grads]


def _sym_sign_of_gradient(z, c):
    L, grads = softmax_ce_symbolic(z, c)
    return L, [-g for g in grads]


def _sym_only_true_class(z, c):
    """Differentiates only with respect to the true class's logit."""
    import sympy as sp
    L, _ = softmax_ce_symbolic(z, c)
    return L, [sp.diff(L, zi) if i == c else sp.Integer(0) for i, zi in enumerate(z)]


def _sym_one_derivative(z, c):
    import sympy as sp
    L, _ = softmax_ce_symbolic(z, c)
    return L, [sp.diff(L, z[c])]


def _sym_softmax_without_exp(z, c):
    """z_c / sum z instead of exp(z_c) / sum exp(z)."""
    import sympy as sp
    L = -sp.log(z[c] / sum(z))
    return L, [sp.diff(L, zi) for zi in z]


def _sym_probabilities_only(z, c):
    """p instead of p - y: the derivative of log-sum-exp alone (the -z_c term forgotten)."""
    import sympy as sp
    L = sp.log(sum(sp.exp(zj) for zj in z))
    return L, [sp.diff(L, zi) for zi in z]


def _sgd_steps(w, X, y, lr, batch_size, order, scale=None):
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        Xb, yb = X[idx], y[idx]
        w = w - lr * 2.0 * Xb.T @ (Xb @ w - yb) / (len(idx) if scale is None else scale)
    return w


def _sgd_no_shuffle(w, X, y, lr, batch_size, rng):
    return _sgd_steps(w, X, y, lr, batch_size, np.arange(len(X)))


def _sgd_two_permutations(w, X, y, lr, batch_size, rng):
    Xs, ys = X[rng.permutation(len(X))], y[rng.permutation(len(X))]   # X and y no longer match
    return _sgd_steps(w, Xs, ys, lr, batch_size, np.arange(len(X)))


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


def _sgd_other_shuffle(w, X, y, lr, batch_size, rng):
    """A valid shuffle, drawn with rng.choice instead of rng.permutation: another order."""
    return _sgd_steps(w, X, y, lr, batch_size, rng.choice(len(X), size=len(X), replace=False))


def _sgd_argsort_shuffle(w, X, y, lr, batch_size, rng):
    """A valid shuffle, drawn by sorting random keys: another order."""
    return _sgd_steps(w, X, y, lr, batch_size, np.argsort(rng.random(len(X))))


def _sgd_new_order_per_step(w, X, y, lr, batch_size, rng):
    """A fresh permutation for every batch: rows repeat and others are skipped within the epoch."""
    for start in range(0, len(X), batch_size):
        idx = rng.permutation(len(X))[:min(batch_size, len(X) - start)]
        w = w - lr * 2.0 * X[idx].T @ (X[idx] @ w - y[idx]) / len(idx)
    return w


def _sgd_divides_by_batch_size(w, X, y, lr, batch_size, rng):
    """Divides by batch_size: wrong for the last, shorter batch."""
    return _sgd_steps(w, X, y, lr, batch_size, rng.permutation(len(X)), scale=batch_size)


def _sgd_summed_gradient(w, X, y, lr, batch_size, rng):
    """The gradient of the batch's summed loss, not its mean."""
    return _sgd_steps(w, X, y, lr, batch_size, rng.permutation(len(X)), scale=1)


def _sgd_drops_last_batch(w, X, y, lr, batch_size, rng):
    order = rng.permutation(len(X))
    return _sgd_steps(w, X, y, lr, batch_size, order[:len(X) - len(X) % batch_size])


def _mlp_parts(params, X, y):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0.0)
    L, dZ2 = softmax_cross_entropy(A1 @ params["W2"] + params["b2"], y)
    return Z1, A1, L, dZ2


def _mlp_no_relu_mask(params, X, y):
    """Backward through ReLU as if it were the identity."""
    Z1, A1, L, dZ2 = _mlp_parts(params, X, y)
    dZ1 = dZ2 @ params["W2"].T
    return L, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}


def _mlp_mask_times_values(params, X, y):
    """Multiplies by the activations A1 instead of by the 0/1 derivative of ReLU."""
    Z1, A1, L, dZ2 = _mlp_parts(params, X, y)
    dZ1 = (dZ2 @ params["W2"].T) * A1
    return L, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}


def _mlp_bias_mean(params, X, y):
    """Averages the bias gradients over the rows: the 1/N is already in dZ2."""
    Z1, A1, L, dZ2 = _mlp_parts(params, X, y)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return L, {"W1": X.T @ dZ1, "b1": dZ1.mean(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.mean(axis=0)}


def _mlp_transposed_weight_grads(params, X, y):
    Z1, A1, L, dZ2 = _mlp_parts(params, X, y)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return L, {"W1": dZ1.T @ X, "b1": dZ1.sum(axis=0), "W2": dZ2.T @ A1, "b2": dZ2.sum(axis=0)}


def _mlp_first_layer_from_logits(params, X, y):
    """dW2 paired with the pre-activations Z1 instead of the activations A1."""
    Z1, A1, L, dZ2 = _mlp_parts(params, X, y)
    dZ1 = (dZ2 @ params["W2"].T) * (Z1 > 0)
    return L, {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": Z1.T @ dZ2, "b2": dZ2.sum(axis=0)}


def _mlp_summed_loss(params, X, y):
    """The gradients of the summed loss (N times too large), with the mean loss."""
    L, grads = mlp_loss_and_grads(params, X, y)
    return L, {k: g * len(X) for k, g in grads.items()}


# What a wrong epoch looks like, and what the check then says (it replays each slip on the same inputs).
_DIAGNOSES = [
    (_sgd_other_shuffle, "a valid shuffle, but drawn another way than the contract says: the order must come "
                         "from rng.permutation (one call, before the first step), so the check can replay it"),
    (_sgd_argsort_shuffle, "a valid shuffle, but drawn another way than the contract says: the order must come "
                           "from rng.permutation (one call, before the first step), so the check can replay it"),
    (_sgd_no_shuffle, "the rows were used in their given order: shuffle them once per epoch first"),
    (_sgd_two_permutations, "X and y were shuffled with two different orders, so the rows no longer match "
                            "their targets: use one order for both"),
    (_sgd_new_order_per_step, "a new order was drawn for every batch: draw one order per epoch and walk through it, "
                              "so that every row is used exactly once"),
    (_sgd_full_batch, "every step used all the rows: each step should use only its own mini-batch"),
    (_sgd_divides_by_batch_size, "the last batch is shorter than batch_size: divide by the number of rows "
                                 "the batch really has"),
    (_sgd_summed_gradient, "the step used the gradient of the batch's summed loss: the loss is a mean over "
                           "the batch"),
    (_sgd_drops_last_batch, "the last, shorter batch was skipped: every row takes part in the epoch"),
]


EXERCISES = [
    Exercise(
        id="5.1",
        title="the MSE loss and its gradient",
        reference=mse_loss_and_grad,
        cases=_mse_cases,
        hints=(
            "the gradient is the derivative of a mean of squares: one factor comes from the square, "
            "one from the mean; check both, and the sign",
            "the mean counts every entry of pred, not only its rows: a (4, 2) input has 8 terms, "
            "so n is the number of entries (.size), not len(pred)",
            "each entry of dpred is 2 times (that entry's prediction minus its target), divided by n",
        ),
        mistakes=[
            (lambda p, t: (float(np.mean((p - t) ** 2)), (p - t) / (p - t).size), "factor"),
            (lambda p, t: (float(np.mean((p - t) ** 2)), 2.0 * (t - p) / (p - t).size), "sign"),
            (lambda p, t: (float(np.sum((p - t) ** 2)), 2.0 * (p - t)), "output[0]"),
            (_mse_by_length, "factor of 2.00"),
        ],
    ),
    Exercise(
        id="5.2",
        title="a stable log-softmax",
        reference=log_softmax,
        cases=_log_softmax_cases,
        hints=(
            "softmax does not change when the same number is subtracted from every logit of a row: choose "
            "that number so that no exponent is positive, and remember to undo the shift in the log",
            "take the max of each row (along the last axis, keeping the axis so it broadcasts), not one max "
            "of the whole array: a row far below the global max would underflow to log(0) = -inf",
            "log softmax(z) = z - logsumexp(z), and logsumexp(z) = m + log of the sum of exp(z - m) along the "
            "last axis, with m each row's max; never take the log of a probability that may have underflowed",
        ),
        mistakes=[
            (lambda z: z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True)), "inf"),
            (lambda z: z - np.log(np.sum(np.exp(z - z.max(axis=-1, keepdims=True)), axis=-1, keepdims=True)),
             "expected"),
            (lambda z: np.log(np.exp(z) / np.sum(np.exp(z), axis=0, keepdims=True)), "expected"),
            (_log_softmax_global_max, "inf"),
            (_log_of_stable_softmax, "inf"),
        ],
    ),
    Exercise(
        id="5.3",
        title="softmax cross-entropy and its gradient p - y",
        reference=softmax_cross_entropy,
        verify=_verify_softmax_cross_entropy,
        hints=(
            "build on your stable log_softmax from 5.2 for the loss; for the gradient, use the result derived "
            "above (prediction minus target), and remember the loss is a mean over the N rows",
            "for the loss, pick from each row i the log-probability of its label y[i] (fancy indexing with "
            "np.arange(N) and y), average and negate; for dZ, start from the probabilities P and subtract 1 "
            "at exactly one entry per row, the label's",
            "dZ = (P - Y) / N with Y the one-hot labels; P[:, y] would touch whole columns, "
            "P[np.arange(N), y] touches one entry per row",
        ),
        mistakes=[
            (_ce_no_mean, "factor"),
            (_ce_wrong_sign, "sign"),
            (_ce_no_onehot, "numerical gradient"),
            (_ce_summed_loss, "the loss"),
            (_ce_whole_columns, "numerical gradient"),
            (_ce_naive_softmax, "the loss"),
            (_ce_mean_over_all_entries, "the loss"),
            (_ce_shift_in_place, "in place"),
        ],
    ),
    Exercise(
        id="5.4",
        title="p - y derived with SymPy",
        reference=softmax_ce_symbolic,
        verify=_verify_softmax_ce_symbolic,
        hints=(
            "write the loss as a SymPy expression of the logit symbols (SymPy's exp and log, and a Python sum "
            "over the list), exactly as the formula above defines it, then let SymPy differentiate it once "
            "per logit",
            "the probability of the true class is the exponential of z[c] divided by the sum of the "
            "exponentials of all the logits; the loss is minus its log; sp.diff(L, zi) is one derivative, "
            "and there is one for every zi in z, not only for z[c]",
            "return the loss and the list of sp.diff(L, zi), in the order of z; the check evaluates them at "
            "random logits, so they need not be simplified",
        ),
        mistakes=[
            (_sym_positive_log, "the loss"),
            (_sym_sign_of_gradient, "sign"),
            (_sym_only_true_class, "dL/d"),
            (_sym_one_derivative, "one per logit"),
            (_sym_softmax_without_exp, "the loss"),
            (_sym_probabilities_only, "the loss"),
            (lambda z, c: softmax_ce_symbolic(z, c)[1], "pair"),
        ],
    ),
    Exercise(
        id="5.5",
        title="one epoch of mini-batch SGD",
        reference=sgd_epoch,
        verify=_verify_sgd_epoch,
        hints=(
            "three parts: draw one order of the rows from rng, walk through it in slices of batch_size, "
            "and make one gradient step per slice using only that slice's rows",
            "the order is rng.permutation of the row count, drawn once before the loop; slice the order "
            "(not X) from start to start + batch_size, and index X and y with the same slice of indices",
            "the gradient of the batch's mean loss is 2 X_b^T (X_b w - y_b) / B with B the rows in this "
            "batch (the last one may be shorter); write w = w - lr * gradient so that a new array is built",
        ),
        mistakes=[
            (_sgd_no_shuffle, "given order"),
            (_sgd_two_permutations, "two different orders"),
            (_sgd_in_place, "in place"),
            (_sgd_full_batch, "all the rows"),
            (_sgd_other_shuffle, "rng.permutation"),
            (_sgd_argsort_shuffle, "rng.permutation"),
            (_sgd_new_order_per_step, "new order"),
            (_sgd_divides_by_batch_size, "last batch"),
            (_sgd_summed_gradient, "summed loss"),
            (_sgd_drops_last_batch, "skipped"),
        ],
    ),
    Exercise(
        id="5.6",
        title="an MLP's loss and gradients, by your own backward pass",
        reference=mlp_loss_and_grads,
        cases=_mlp_cases,
        hints=(
            "run the forward pass and keep what the backward pass will need; your softmax_cross_entropy gives "
            "the loss and the gradient of the logits; then walk the layers backwards, one gradient per parameter",
            "the last layer's weight gradient pairs the hidden activations with the logits' gradient, its bias "
            "gradient sums that over the rows (the 1/N is already in it); the hidden layer's gradient comes back "
            "through W2 (transposed) and then through ReLU, which lets it pass only where the pre-activation was positive",
            "dW2 = A1^T dZ2, db2 = dZ2 summed over rows, dZ1 = (dZ2 W2^T) times the 0/1 mask of Z1 > 0, "
            "dW1 = X^T dZ1, db1 = dZ1 summed over rows",
        ),
        mistakes=[
            (_mlp_no_relu_mask, "['W1']"),
            (_mlp_mask_times_values, "['W1']"),
            (_mlp_bias_mean, "factor"),
            (_mlp_transposed_weight_grads, "transposed"),
            (_mlp_first_layer_from_logits, "['W2']"),
            (_mlp_summed_loss, "factor"),
        ],
    ),
]
