"""Chapter 07 (Regularization): references and test cases.

Shapes follow the notebook: weights w of any shape; activations x: (N, D) with
N examples and D features; batch normalization normalizes each of the D
columns over the N rows of the batch (training mode, biased variance).
Gradients are named as the notebook names them: dw, dx, dgamma, dbeta, dout.
"""
import numpy as np

from bpkit.exercises.compare import short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "l2_penalty", "l1_penalty", "inverted_dropout", "batchnorm_forward",
           "batchnorm_backward", "early_stopping"]


def l2_penalty(w, lam):
    """The L2 penalty (lam / 2) * sum(w^2) and its gradient lam * w. Returns (P: float, dw: like w)."""
    return 0.5 * lam * float(np.sum(w * w)), lam * w


def l1_penalty(w, lam):
    """The L1 penalty lam * sum(|w|) and its (sub)gradient lam * sign(w), 0 where w == 0."""
    return lam * float(np.sum(np.abs(w))), lam * np.sign(w)


def inverted_dropout(x, keep, p, dout):
    """Inverted dropout with a fixed mask: out = x * keep / (1 - p), dx = dout * keep / (1 - p); zeros for p = 1."""
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * keep * scale, dout * keep * scale


def batchnorm_forward(x, gamma, beta, eps):
    """Training-mode batch norm of x: (N, D): each column normalized with its batch mean and biased variance."""
    mu = x.mean(axis=0)
    var = x.var(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    return gamma * x_hat + beta


def batchnorm_backward(dout, x, gamma, eps):
    """The gradients (dx, dgamma, dbeta) of batchnorm_forward, dx in the compact form.

    dx = gamma / (N sigma) * (N dout - sum_rows(dout) - x_hat * sum_rows(dout * x_hat)),
    sigma = sqrt(var + eps), x_hat = (x - mu) / sigma.
    """
    n = x.shape[0]
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    dgamma = np.sum(dout * x_hat, axis=0)
    dbeta = np.sum(dout, axis=0)
    dx = gamma / (n * sigma) * (n * dout - dbeta - x_hat * dgamma)
    return dx, dgamma, dbeta


def early_stopping(val_losses, patience):
    """Replay early stopping on a validation curve: (best_epoch, stop_epoch), 0-based.

    An epoch improves when its loss is strictly below the best so far. Training
    stops at the first epoch that is ``patience`` epochs after the last
    improvement; if that never happens, at the last epoch. best_epoch is the
    last improvement seen up to the stop (the weights to restore).
    """
    best, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


# ----------------------------------------------------------------------------- cases

def _l2_cases():
    rng = np.random.default_rng(70)
    return [
        (np.array([1.0, -2.0, 0.5]), 0.1),
        (rng.normal(size=(3, 4)), 0.01),
        (rng.normal(size=(5,)), 2.0),
    ]


def _l1_cases():
    rng = np.random.default_rng(71)
    w = rng.normal(size=(4, 3))
    w[0, 1] = w[2, 2] = 0.0                       # exact zeros: the subgradient there is 0
    return [
        (np.array([1.5, -2.0, 0.0, 0.25]), 0.1),
        (w, 0.03),
        (rng.normal(size=(6,)), 1.0),
    ]


def _dropout_cases():
    rng = np.random.default_rng(72)
    x1, d1 = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    x2, d2 = rng.normal(size=(3, 6)), rng.normal(size=(3, 6))
    return [
        (x1, rng.random((4, 5)) >= 0.5, 0.5, d1),
        (x2, rng.random((3, 6)) >= 0.2, 0.2, d2),
        (np.array([[1.0, -2.0, 3.0]]), np.array([[True, True, True]]), 0.0, np.array([[0.5, 0.5, -1.0]])),
        (np.array([[1.0, 2.0]]), np.array([[False, False]]), 1.0, np.array([[1.0, -1.0]])),
    ]


def _bn_forward_cases():
    rng = np.random.default_rng(73)
    x2 = rng.normal(size=(6, 3)) * np.array([1.0, 0.05, 3.0]) + np.array([0.0, 2.0, -1.0])
    return [
        (rng.normal(size=(4, 3)) * 2.0 + 1.0, np.ones(3), np.zeros(3), 1e-5),
        (x2, np.array([0.5, 2.0, -1.0]), np.array([0.1, 0.0, 1.0]), 1e-2),
        (rng.normal(size=(5, 2)), np.array([1.5, 0.5]), np.array([-1.0, 2.0]), 1e-5),
    ]


def _bn_backward_cases():
    rng = np.random.default_rng(74)
    cases = []
    for n, d, eps in ((4, 3, 1e-5), (7, 2, 1e-2), (5, 5, 1e-5)):
        x = rng.normal(size=(n, d)) * 1.5 + 0.5
        cases.append((rng.normal(size=(n, d)), x, rng.normal(size=d), eps))
    return cases


_CURVE_DIP_LATER = [1.0, 0.8, 0.7, 0.72, 0.75, 0.74, 0.6, 0.9]   # patience 3 stops at epoch 5, before the dip at 6


def _es_cases():
    return [
        (list(_CURVE_DIP_LATER), 3),
        ([1.0, 0.9, 0.9, 0.9, 0.85, 0.8], 2),                    # ties are not improvements: stops at 3
        ([2.0, 1.5, 1.2, 1.1, 1.05], 2),                          # never stops early
        ([0.5, 0.6, 0.7, 0.4, 0.3], 1),                            # patience 1: stops at 1
        ([1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.7, 0.6], 2),            # scattered bad epochs: the count restarts
    ]


# ----------------------------------------------------------------------------- typical mistakes

def _es_global_argmin(val_losses, patience):
    """Looks at the whole curve for the best epoch: it peeks past the stop."""
    stop = early_stopping(val_losses, patience)[1]
    return int(np.argmin(val_losses)), stop


def _es_ties_improve(val_losses, patience):
    """Counts a loss equal to the best as an improvement."""
    best, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss <= best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _es_off_by_one(val_losses, patience):
    """Waits one epoch too many (compares with > patience)."""
    best, best_epoch = np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        elif epoch - best_epoch > patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _es_counter_never_reset(val_losses, patience):
    """Counts every non-improving epoch since the start, not since the last improvement."""
    bad, best, best_epoch = 0, np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        else:
            bad += 1
            if bad >= patience:
                return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _es_counts_worse_than_previous(val_losses, patience):
    """Counts epochs worse than the previous epoch, not than the best so far."""
    bad, best, best_epoch = 0, np.inf, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch = loss, epoch
        bad = bad + 1 if epoch > 0 and loss >= val_losses[epoch - 1] else 0
        if bad >= patience:
            return best_epoch, epoch
    return best_epoch, len(val_losses) - 1


def _dropout_no_scale(x, keep, p, dout):
    return x * keep, dout * keep


def _dropout_scale_by_p(x, keep, p, dout):
    return x * keep / np.where(p == 0, 1.0, p), dout * keep / np.where(p == 0, 1.0, p)


def _dropout_backward_no_mask(x, keep, p, dout):
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * keep * scale, dout * scale


def _dropout_divides_by_zero(x, keep, p, dout):
    with np.errstate(divide="ignore", invalid="ignore"):
        return x * keep / (1.0 - p), dout * keep / (1.0 - p)


def _dropout_backward_uses_x(x, keep, p, dout):
    """The backward pass multiplies by the output instead of by the incoming gradient."""
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return x * keep * scale, x * keep * scale


def _bn_unbiased(x, gamma, beta, eps):
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0, ddof=1) + eps)
    return gamma * x_hat + beta


def _bn_rows(x, gamma, beta, eps):
    """Normalizes each row (over the features), which is layer norm."""
    x_hat = (x - x.mean(axis=1, keepdims=True)) / np.sqrt(x.var(axis=1, keepdims=True) + eps)
    return gamma * x_hat + beta


def _bn_eps_outside(x, gamma, beta, eps):
    x_hat = (x - x.mean(axis=0)) / (x.std(axis=0) + eps)
    return gamma * x_hat + beta


def _bn_no_affine(x, gamma, beta, eps):
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)


def _bnb_parts(dout, x, gamma, eps):
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    return x.shape[0], sigma, x_hat, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)


def _bnb_constant_stats(dout, x, gamma, eps):
    """Treats the batch mean and variance as constants: dx = gamma * dout / sigma."""
    n, sigma, x_hat, dgamma, dbeta = _bnb_parts(dout, x, gamma, eps)
    return gamma * dout / sigma, dgamma, dbeta


def _bnb_no_variance_path(dout, x, gamma, eps):
    """Keeps the path through the mean, forgets the one through the variance."""
    n, sigma, x_hat, dgamma, dbeta = _bnb_parts(dout, x, gamma, eps)
    return gamma / (n * sigma) * (n * dout - dbeta), dgamma, dbeta


def _bnb_dgamma_from_x(dout, x, gamma, eps):
    """dgamma paired with x instead of x_hat."""
    n, sigma, x_hat, dgamma, dbeta = _bnb_parts(dout, x, gamma, eps)
    dx = gamma / (n * sigma) * (n * dout - dbeta - x_hat * dgamma)
    return dx, np.sum(dout * x, axis=0), dbeta


def _bnb_no_gamma(dout, x, gamma, eps):
    """Forgets that dout reaches x_hat through the scale gamma."""
    n, sigma, x_hat, dgamma, dbeta = _bnb_parts(dout, x, gamma, eps)
    return 1.0 / (n * sigma) * (n * dout - dbeta - x_hat * dgamma), dgamma, dbeta


def _bnb_mean_not_sum(dout, x, gamma, eps):
    """Averages dgamma and dbeta over the rows instead of summing them."""
    dx, dgamma, dbeta = batchnorm_backward(dout, x, gamma, eps)
    return dx, dgamma / x.shape[0], dbeta / x.shape[0]


def _verify_early_stopping(fn):
    for val_losses, patience in _es_cases():
        expected = early_stopping(val_losses, patience)
        got = fn(list(val_losses), patience)
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            return f"should return a pair (best_epoch, stop_epoch), got {short_repr(got)}"
        where = f"for val_losses = {val_losses}, patience = {patience}"
        if int(got[1]) != expected[1]:
            return f"{where}: training should stop at epoch {expected[1]}, but stop_epoch = {got[1]}"
        if int(got[0]) != expected[0]:
            extra = ""
            if int(got[0]) > expected[1]:
                extra = (" (an epoch after the stop: early stopping cannot see the curve past the "
                         "epoch where it stops)")
            return f"{where}: the weights to keep are from epoch {expected[0]}, but best_epoch = {got[0]}{extra}"
    return None


EXERCISES = [
    Exercise(
        id="7.1",
        title="the L2 penalty and its gradient",
        reference=l2_penalty,
        cases=_l2_cases,
        hints=(
            "differentiate the penalty one weight at a time: every term but that weight's own square is a "
            "constant; the factor in front of the sum matters",
            "the penalty's 1/2 cancels the 2 of the square's derivative; the gradient has the shape of w and "
            "the penalty itself is one float",
        ),
        mistakes=[
            (lambda w, lam: (0.5 * lam * float(np.sum(w * w)), 2 * lam * w), "factor"),
            (lambda w, lam: (lam * float(np.sum(w * w)), lam * w), "output[0]"),
            (lambda w, lam: (0.5 * lam * float(np.sum(w * w)), w), "output[1]"),
            (lambda w, lam: (0.5 * lam * float(np.sum(w * w)), -lam * w), "sign"),
        ],
    ),
    Exercise(
        id="7.2",
        title="the L1 penalty and its subgradient",
        reference=l1_penalty,
        cases=_l1_cases,
        hints=(
            "the derivative of |w| is +1 for positive w and -1 for negative w; at exactly 0 take the "
            "subgradient 0 (what autograd and PyTorch use), and never divide by |w|",
            "numpy has a function that returns +1, -1 or 0 by the sign of each entry; the penalty is lam "
            "times the sum of absolute values",
        ),
        mistakes=[
            (lambda w, lam: (lam * float(np.sum(np.abs(w))), lam * w), "output[1]"),
            (lambda w, lam: (lam * float(np.sum(np.abs(w))), lam * np.where(w >= 0, 1.0, -1.0)), "output[1]"),
            (lambda w, lam: (lam * float(np.sum(np.abs(w))), lam * (w > 0)), "output[1]"),
            (lambda w, lam: (lam * float(np.sum(w)), lam * np.sign(w)), "output[0]"),
            (lambda w, lam: (0.5 * lam * float(np.sum(np.abs(w))), lam * np.sign(w)), "output[0]"),
        ],
    ),
    Exercise(
        id="7.3",
        title="inverted dropout, forward and backward",
        reference=inverted_dropout,
        cases=_dropout_cases,
        hints=(
            "the forward pass zeroes the dropped entries and scales the kept ones so that the expected output "
            "equals the input; the backward pass is the derivative of that elementwise product",
            "the scale is one over the keep probability, 1 - p (not p); the gradient flows only through kept "
            "entries with the same scale; for p = 1 nothing is kept: return zeros, do not divide by zero",
        ),
        mistakes=[
            (_dropout_no_scale, "factor"),
            (_dropout_scale_by_p, "output[0]"),
            (_dropout_backward_no_mask, "output[1]"),
            (_dropout_divides_by_zero, "NaN"),
            (_dropout_backward_uses_x, "output[1]"),
        ],
    ),
    Exercise(
        id="7.4",
        title="batch normalization, forward (training mode)",
        reference=batchnorm_forward,
        cases=_bn_forward_cases,
        hints=(
            "each feature (column) is normalized with statistics of the batch (over the rows), then scaled "
            "by gamma and shifted by beta",
            "use the biased variance (divide by N, numpy's default), add eps to the variance before the square "
            "root, and reduce over axis 0",
        ),
        mistakes=[
            (_bn_unbiased, "expected"),
            (_bn_rows, "expected"),
            (_bn_eps_outside, "expected"),
            (_bn_no_affine, "expected"),
        ],
    ),
    Exercise(
        id="7.5",
        title="batch normalization, backward (compact form)",
        reference=batchnorm_backward,
        cases=_bn_backward_cases,
        hints=(
            "dbeta and dgamma are sums over the rows (each column's beta and gamma touch every row); for dx, "
            "remember that every x in a column moves that column's mean and variance, so dout reaches x by three "
            "paths, and the derivation above adds them up",
            "with x_hat and sigma recomputed from x, dx per column is gamma / (N sigma) times (N dout, minus the "
            "column sum of dout, minus x_hat times the column sum of dout * x_hat)",
        ),
        mistakes=[
            (_bnb_constant_stats, "output[0]"),
            (_bnb_no_variance_path, "output[0]"),
            (_bnb_dgamma_from_x, "output[1]"),
            (_bnb_no_gamma, "output[0]"),
            (_bnb_mean_not_sum, "factor"),
        ],
    ),
    Exercise(
        id="7.6",
        title="early stopping on a validation curve",
        reference=early_stopping,
        verify=_verify_early_stopping,
        hints=(
            "walk through the curve epoch by epoch, as training would, keeping the best loss so far and the epoch "
            "it came from; you may not look at epochs after the one where you stop",
            "an improvement is strictly lower than the best so far; stop at the first epoch whose distance to the "
            "last improvement reaches patience; if the curve ends first, the stop is the last epoch",
        ),
        mistakes=[
            (_es_global_argmin, "after the stop"),
            (_es_ties_improve, "should stop at epoch"),
            (_es_off_by_one, "should stop at epoch"),
            (_es_counts_worse_than_previous, "should stop at epoch"),
            (_es_counter_never_reset, "should stop at epoch"),
            (lambda v, p: early_stopping(v, p)[1], "pair"),
        ],
    ),
]
