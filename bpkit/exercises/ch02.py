"""Chapter 02 (Activation functions): references and test cases.

Shapes follow chapter 01: a batch X: (N, D), weights W: (D, H), biases b: (H,),
pre-activations Z = X @ W + b: (N, H).
"""
import numpy as np

from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "collapse_linear", "sigmoid_prime", "leaky_relu_grad", "dead_fraction"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def collapse_linear(W1, b1, W2, b2):
    """Two linear layers (X @ W1 + b1) @ W2 + b2 as one: returns (W, b) with X @ W + b the same.

    W1: (D, H), b1: (H,), W2: (H, C), b2: (C,) -> W: (D, C), b: (C,).
    """
    return W1 @ W2, b1 @ W2 + b2


def sigmoid_prime(z):
    """The sigmoid's derivative s(z) (1 - s(z)), elementwise, with s the sigmoid."""
    s = _sigmoid(z)
    return s * (1.0 - s)


def leaky_relu_grad(z, alpha=0.01):
    """d/dz of leaky ReLU (z if z > 0 else alpha z): 1 where z > 0, alpha where z < 0.

    At z = 0 any value in [alpha, 1] is a valid subgradient; like PyTorch, this picks alpha.
    """
    return np.where(z > 0, 1.0, alpha)


def dead_fraction(Z):
    """Fraction of the H units that never fire on the batch: their pre-activation is <= 0 for all N rows.

    Z: (N, H) pre-activations. Returns a float in [0, 1].
    """
    return float(np.mean(np.all(Z <= 0, axis=0)))


# ----------------------------------------------------------------------------- cases

def _collapse_cases():
    rng = np.random.default_rng(20)
    return [
        (rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(4, 2)), rng.normal(size=2)),
        (rng.normal(size=(2, 5)), rng.normal(size=5), rng.normal(size=(5, 3)), rng.normal(size=3)),
        # square: products in the wrong order still run, and must still be caught
        (rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(3, 3)), rng.normal(size=3)),
    ]


def _sigmoid_prime_cases():
    return [(np.array([-3.0, -0.5, 0.0, 0.5, 2.0]),), (np.linspace(-6.0, 6.0, 12).reshape(3, 4),),
            # saturated: the true derivative is 0 to double precision, and nan is wrong
            (np.array([-800.0, -40.0, 40.0, 800.0]),),
            # nearly saturated: small but far from 0 (6e-6 at 12): cutting off to 0 early is wrong
            (np.array([-20.0, -12.0, 12.0, 20.0]),)]


def _verify_leaky(fn):
    """Away from 0 the derivative is fixed; at exactly 0 any subgradient in [alpha, 1] is accepted."""
    rng = np.random.default_rng(22)
    cases = [
        (np.array([-2.0, -0.1, 0.3, 4.0]), 0.01),
        (rng.normal(size=(3, 4)), 0.2),
        (np.array([-1.0, 0.0, 1.0]), 0.1),
    ]
    for z, alpha in cases:
        given = z.copy()
        got = fn(given, alpha)
        name = f"z = {short_repr(z, limit=80)}, alpha = {alpha:g}"
        if not np.array_equal(given, z):
            return (f"for {name}, your function changed its input z in place (afterwards "
                    f"{short_repr(given, limit=80)}); build a new array")
        if np.shape(got) != z.shape:
            return f"for {name}, expected an array of shape {z.shape} (one slope per entry) but got shape {np.shape(got)}"
        got = np.asarray(got, dtype=float)
        off = z != 0
        message = compare(leaky_relu_grad(z, alpha)[off], got[off])
        if message:
            return f"for {name}, away from 0: {message}"
        at_zero = got[~off]
        if not np.all((at_zero >= alpha - 1e-12) & (at_zero <= 1 + 1e-12)):  # nan fails too
            return (f"for {name}, at z = 0 you returned {short_repr(at_zero)}; a subgradient of leaky ReLU "
                    f"at its kink lies between the two slopes, alpha = {alpha:g} and 1")
    z = np.array([-2, 0, 3])  # integers: the slopes are still fractions
    got = fn(z.copy(), 0.1)
    if np.shape(got) != z.shape or not np.allclose(np.asarray(got, dtype=float)[[0, 2]], [0.1, 1.0]):
        return (f"for the integer array z = array([-2, 0, 3]), alpha = 0.1, expected slopes 0.1 and 1 away from 0 "
                f"but got {short_repr(got)}; an array made like z holds integers, so 0.1 becomes 0")
    return None


def _dead_cases():
    rng = np.random.default_rng(23)
    Z = rng.normal(size=(50, 8))
    Z[:, [1, 4, 5]] = -np.abs(Z[:, [1, 4, 5]]) - 0.1  # three dead units
    Z2 = rng.normal(size=(20, 5)) + 0.5
    Z2[:, 2] = -np.abs(Z2[:, 2])                      # one dead unit
    Z3 = np.array([[0.0, 1.0, -1.0], [-2.0, 0.0, 0.0]])  # exactly 0 counts as not firing: units 0 and 2 are dead
    Z4 = -np.ones((100, 2))
    Z4[37, 0] = 0.5                                      # unit 0 fires once in 100 rows: rare, but not dead
    return [(Z,), (Z2,), (np.ones((4, 3)),), (Z3,), (Z4,)]


def _leaky_ones_like(z, alpha=0.01):
    g = np.ones_like(z)  # takes z's dtype: for integer z, alpha is cut to 0
    g[z <= 0] = alpha
    return g


def _leaky_in_place(z, alpha=0.01):
    g = z
    g[z > 0] = 1.0
    g[z <= 0] = alpha
    return g


def _leaky_zero_at_kink(z, alpha=0.01):
    return np.where(z > 0, 1.0, np.where(z < 0, alpha, 0.0))


def _leaky_python_if(z, alpha=0.01):
    return 1.0 if z > 0 else alpha


EXERCISES = [
    Exercise(
        id="2.1",
        title="two linear layers are one",
        reference=collapse_linear,
        cases=_collapse_cases,
        hints=(
            "multiply out (X @ W1 + b1) @ W2 + b2: one term has X in it and the others do not; "
            "W is whatever multiplies X, b is all the rest",
            "W has shape (D, C): the two weight matrices in the order the data meets them; b has shape (C,): "
            "the first bias also passes through the second layer's weights before b2 is added",
        ),
        mistakes=[
            (lambda W1, b1, W2, b2: (W1 @ W2, b1 + b2), "raised"),
            (lambda W1, b1, W2, b2: (W1 @ W2, b2), "expected"),
            (lambda W1, b1, W2, b2: (W2 @ W1, b1 @ W2 + b2), "raised"),
            (lambda W1, b1, W2, b2: (W1 @ W2, b1 @ W2), "expected"),
            (lambda W1, b1, W2, b2: (W1 @ W2, W2 @ b1 + b2), "raised"),
            (lambda W1, b1, W2, b2: (W1 @ W2, b1.sum() + b2), "expected"),
            (lambda W1, b1, W2, b2: W1 @ W2, "wrong type"),
        ],
    ),
    Exercise(
        id="2.2",
        title="the sigmoid's derivative",
        reference=sigmoid_prime,
        cases=_sigmoid_prime_cases,
        hints=(
            "the identity above lets you reuse the sigmoid's own value: compute it once, "
            "then the derivative is a short product of things you already have",
            "for z = -800, np.exp(-z) is inf: 1 / (1 + inf) is a harmless 0, but inf / inf is nan; "
            "so compute the sigmoid s first and build the derivative from s alone",
        ),
        mistakes=[
            (lambda z: z * (1.0 - z), "expected"),
            (lambda z: _sigmoid(z), "expected"),
            (lambda z: -np.exp(-z) / (1.0 + np.exp(-z)) ** 2, "sign"),
            (lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2, "NaN"),
            (lambda z: 1.0 - _sigmoid(z) ** 2, "expected"),
            (lambda z: 1.0 - _sigmoid(z), "expected"),
            (lambda z: _sigmoid(z) * (1.0 - z), "expected"),
            (lambda z: 0.25 * np.ones_like(z), "expected"),
            (lambda z: np.where(np.abs(z) > 10, 0.0, _sigmoid(z) * (1.0 - _sigmoid(z))), "expected"),
        ],
    ),
    Exercise(
        id="2.3",
        title="leaky ReLU's derivative",
        reference=leaky_relu_grad,
        verify=_verify_leaky,
        hints=(
            "look at the two pieces of the definition one at a time: what is the slope of z, "
            "and of alpha z, as functions of z?",
            "each entry gets one of two constants, chosen by the sign of z: np.where(condition, a, b) picks "
            "per entry; use the alpha argument, not a fixed number, and keep z's shape",
        ),
        mistakes=[
            (lambda z, alpha=0.01: np.where(z > 0, 1.0, 0.0), "away from 0"),
            (lambda z, alpha=0.01: np.where(z > 0, z, alpha * z), "away from 0"),
            (lambda z, alpha=0.01: np.where(z > 0, 1.0, -alpha), "expected"),
            (lambda z, alpha=0.01: np.where(z > 0, 1.0, alpha)[0], "shape"),
            (lambda z, alpha=0.01: np.where(z > 0, 1.0, 0.01), "away from 0"),
            (_leaky_zero_at_kink, "subgradient"),
            (_leaky_python_if, "raised"),
            (_leaky_in_place, "in place"),
            (lambda z, alpha=0.01: np.where(z > 0, 1.0, np.where(z < 0, alpha, np.nan)), "subgradient"),
            (_leaky_ones_like, "integer"),
            (lambda z, alpha=0.01: np.where(z > 0, 1.0, alpha * z), "away from 0"),
        ],
    ),
    Exercise(
        id="2.4",
        title="the fraction of dead ReLUs",
        reference=dead_fraction,
        cases=_dead_cases,
        hints=(
            "a unit is one column of Z, and it is dead when none of its N entries is positive: "
            "decide that for every column, then take the share of dead columns",
            "np.all (or np.any) with axis=0 answers a yes/no question for every column at once, and the mean "
            "of a boolean array is the share of True; an entry exactly 0 counts as not firing",
        ),
        mistakes=[
            (lambda Z: float(np.mean(Z <= 0)), "expected"),
            (lambda Z: float(np.mean(np.all(Z <= 0, axis=1))), "expected"),
            (lambda Z: int(np.sum(np.all(Z <= 0, axis=0))), "factor"),
            (lambda Z: float(np.mean(np.all(Z < 0, axis=0))), "expected 0.6667 but got 0.0"),
            (lambda Z: float(np.mean(np.any(Z <= 0, axis=0))), "expected"),
            (lambda Z: float(np.sum(np.all(Z <= 0, axis=0)) / Z.shape[0]), "expected"),
            (lambda Z: float(np.mean(Z.mean(axis=0) <= 0)), "expected"),
            (lambda Z: 0.375, "expected"),
            (lambda Z: float(np.mean(np.mean(Z > 0, axis=0) < 0.05)), "expected"),
        ],
    ),
]
