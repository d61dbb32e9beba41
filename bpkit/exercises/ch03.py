"""Chapter 03 (The chain rule, symbolically): references, cases, hints and typical mistakes.

Notation follows the notebook: one neuron's loss L(w) = (sigmoid(w x + b) - y)^2;
a matrix-vector product y = W @ x with W: (M, N), x: (N,) and upstream gradient
g = dL/dy: (M,); a batched linear layer Y = X @ W + b with X: (N, D), W: (D, M),
b: (M,) and G = dL/dY: (N, M) (one example per row, chapter 04's convention);
a jvp(x, v) returns the directional derivative grad f(x) . v.
"""
import numpy as np

from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "dL_dw", "matmul_vjp", "linear_vjp", "central_difference", "forward_mode_gradient"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def dL_dw(w, x, b, y):
    """Exercise 3.1's reference: dL/dw for one sigmoid neuron with a squared error, elementwise in w."""
    s = _sigmoid(w * x + b)
    return 2.0 * (s - y) * s * (1.0 - s) * x


def matmul_vjp(W, x, g):
    """Exercise 3.2's reference: (dW, dx) for y = W @ x, W: (M, N), x: (N,), g: (M,)."""
    return np.outer(g, x), W.T @ g


def linear_vjp(X, W, G):
    """Exercise 3.3's reference: (dX, dW, db) for Y = X @ W + b, X: (N, D), W: (D, M), G: (N, M)."""
    return G @ W.T, X.T @ G, G.sum(axis=0)


def central_difference(f, x, eps=1e-5):
    """Exercise 3.4's reference: the gradient of a scalar f at x by central differences, shaped like x."""
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def forward_mode_gradient(jvp, x):
    """Exercise 3.5's reference: the gradient of f: R^n -> R from n forward-mode JVPs."""
    x = np.asarray(x, dtype=float)
    return np.array([jvp(x, e) for e in np.eye(x.size)])


# ----------------------------------------------------------------------------- 3.1

def _dL_dw_cases():
    # x != 1, b != 0 and y not in {0, 1} on some case: dropping dz/dw, b or y shows
    return [
        (np.array([-1.0, 0.0, 0.4, 2.0]), 1.5, -0.5, 1.0),
        (np.array([0.3, -2.5]), -0.8, 0.2, 0.0),
        (0.7, 2.0, 0.3, 0.25),
    ]


def _s(w, x, b):
    return _sigmoid(w * x + b)


_DL_DW_MISTAKES = [
    # dL/dz instead of dL/dw: the last factor dz/dw = x forgotten
    (lambda w, x, b, y: 2.0 * (_s(w, x, b) - y) * _s(w, x, b) * (1 - _s(w, x, b)), "factor of 0.67"),
    # the power rule's 2 forgotten
    (lambda w, x, b, y: (_s(w, x, b) - y) * _s(w, x, b) * (1 - _s(w, x, b)) * x, "factor of 0.50"),
    # the sigmoid's derivative forgotten
    (lambda w, x, b, y: 2.0 * (_s(w, x, b) - y) * x, "expected"),
    # (y - s) instead of (s - y)
    (lambda w, x, b, y: 2.0 * (y - _s(w, x, b)) * _s(w, x, b) * (1 - _s(w, x, b)) * x, "wrong sign"),
    # tanh's derivative 1 - s^2 in place of the sigmoid's
    (lambda w, x, b, y: 2.0 * (_s(w, x, b) - y) * (1 - _s(w, x, b) ** 2) * x, "expected"),
    # dz/dw taken as w instead of x
    (lambda w, x, b, y: 2.0 * (_s(w, x, b) - y) * _s(w, x, b) * (1 - _s(w, x, b)) * w, "expected"),
    # the bias left out of z
    (lambda w, x, b, y: 2.0 * (_s(w, x, 0.0) - y) * _s(w, x, 0.0) * (1 - _s(w, x, 0.0)) * x, "expected"),
    # y dropped (L = s^2): right on the case with y = 0 only
    (lambda w, x, b, y: 2.0 * _s(w, x, b) * _s(w, x, b) * (1 - _s(w, x, b)) * x, "expected"),
]


# ----------------------------------------------------------------------------- 3.2

def _matmul_cases():
    rng = np.random.default_rng(31)
    return [
        (rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)),
        (rng.normal(size=(4, 2)), rng.normal(size=2), rng.normal(size=4)),
        # square: a transposed answer has the right shape here and only its values give it away
        (rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=3)),
    ]


def _square_only(fn):
    """Run fn only where it would not raise on a non-square W (so the square case judges it)."""
    def wrapped(W, x, g):
        if W.shape[0] != W.shape[1]:
            return matmul_vjp(W, x, g)
        return fn(W, x, g)
    return wrapped


_MATMUL_MISTAKES = [
    (lambda W, x, g: (np.outer(x, g), W.T @ g), "transposed"),
    (lambda W, x, g: (np.outer(g, x), W @ g), "raised"),
    (_square_only(lambda W, x, g: (np.outer(g, x), W @ g)), "output[1]"),
    (_square_only(lambda W, x, g: (g * x, W.T @ g)), "wrong shape"),
    (lambda W, x, g: (np.outer(g, x), W.T @ np.ones_like(g)), "expected"),
    (lambda W, x, g: (np.outer(g, x), W.sum(axis=0) * g.sum()), "expected"),
    (lambda W, x, g: (W.T @ g, np.outer(g, x)), "output[0]"),
]


# ----------------------------------------------------------------------------- 3.3

def _linear_cases():
    rng = np.random.default_rng(32)
    return [
        (rng.normal(size=(4, 3)), rng.normal(size=(3, 2)), rng.normal(size=(4, 2))),
        (rng.normal(size=(5, 2)), rng.normal(size=(2, 3)), rng.normal(size=(5, 3))),
        # all dimensions equal: only the values tell a transposed product from the right one
        (rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=(3, 3))),
        # a batch of one: squeezing or indexing G's single row must still give the shapes above
        (rng.normal(size=(1, 4)), rng.normal(size=(4, 2)), rng.normal(size=(1, 2))),
    ]


_LINEAR_MISTAKES = [
    (lambda X, W, G: (G @ W.T, X.T @ G, G.sum(axis=0, keepdims=True)), "got shape (1, 2)"),
    (lambda X, W, G: (G @ W.T, X.T @ G, G[0] * len(G)), "expected"),
    (lambda X, W, G: (G @ W.T, G.T @ X, G.sum(axis=0)), "transposed"),
    (lambda X, W, G: (G @ W, X.T @ G, G.sum(axis=0)), "raised"),
    (lambda X, W, G: (G @ W.T, X.T @ G, G), "wrong shape"),
    (lambda X, W, G: (G @ W.T, X.T @ G, G.mean(axis=0)), "factor of 0.25"),
    (lambda X, W, G: (G @ W.T, X.T @ G / len(X), G.sum(axis=0)), "factor of 0.25"),
    (lambda X, W, G: (G @ W.T, X.T @ G, G.sum()), "shape"),
    (lambda X, W, G: (G @ W.T, X.T @ G, G.sum(axis=1)), "shape"),
    (lambda X, W, G: (G @ W.T, np.outer(X.sum(axis=0), G.sum(axis=0)), G.sum(axis=0)), "expected"),
    (lambda X, W, G: (X.T @ G, G @ W.T, G.sum(axis=0)), "output[0]"),
]


# ----------------------------------------------------------------------------- 3.4

def _f_exp(x):
    return float(np.sum(np.exp(x)))


def _f_mix(x):
    return float(np.sum(np.sin(x) * x ** 2) + x.flat[0] * x.flat[-1])


def _f_matrix(A):
    return float(np.sum(np.tanh(A) * np.arange(A.size).reshape(A.shape)))


def _central_cases():
    """(f, x, eps or None for the default): a vector, another vector, a matrix, integers, and a given eps."""
    rng = np.random.default_rng(33)
    return [
        (_f_exp, np.array([1.0, 1.5, 2.0]), None),
        (_f_mix, rng.normal(size=5), None),
        (_f_matrix, rng.normal(size=(2, 3)), None),
        (_f_mix, np.array([1, -2, 3]), None),
        (_f_exp, np.array([0.5, 2.5]), 1e-2),
    ]


_F_TEXT = {_f_exp: "sum(exp(x))", _f_mix: "sum(sin(x) * x**2) + x[0] * x[-1]",
           _f_matrix: "sum(tanh(x) * [[0, 1, 2], [3, 4, 5]])"}


def _one_sided(f, x, eps=1e-5):
    """The classic slip: (f(x + eps e_i) - f(x)) / eps, accurate only to about eps."""
    x = np.asarray(x, dtype=float)
    fx = f(x)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - fx) / eps
    return grad


def _right_on_floats(fn, f, x, kwargs):
    """True when fn, wrong on the integer array x, is right on the same numbers as floats."""
    try:
        got = fn(f, x.astype(float), **kwargs)
        return compare(central_difference(f, x, **kwargs), got, rtol=1e-7, atol=1e-9) is None
    except Exception:
        return False


def _verify_central(fn):
    """Compare with the reference on each case, and name the classic slips.

    A one-sided difference is close (within about eps) but not within the tolerance,
    which a bare comparison would report as "off by a factor of 1.00"; x must not
    be changed in place; integer x needs a float copy; the eps given must be used.
    """
    for f, x, eps in _central_cases():
        kwargs = {} if eps is None else {"eps": eps}
        name = f"f(x) = {_F_TEXT[f]}, x = {short_repr(x, limit=80)}" + (f", eps = {eps:g}" if eps else "")
        given = x.copy()
        try:
            got = fn(f, given, **kwargs)
        except NotImplementedError:
            raise
        except Exception as err:  # shown as "raised ...": say which input it was
            err.args = (f"{err} (for x of shape {x.shape}, dtype {x.dtype})",)
            raise
        if given.dtype != x.dtype or not np.allclose(given, x, rtol=1e-12, atol=1e-15):
            change = float(np.max(np.abs(np.asarray(given, dtype=float) - x)))
            return (f"for {name}, your function changed x in place (an entry moved by {change:.1g}); "
                    f"step on a copy, or undo each step before the next")
        expected = central_difference(f, x, **kwargs)
        message = compare(expected, got, rtol=1e-7, atol=1e-9)
        if message is None:
            continue
        if x.dtype.kind in "iu" and _right_on_floats(fn, f, x, kwargs):
            return (f"for {name}, your function is right for the same numbers as floats but not for integers: "
                    f"an integer array cannot hold a step of {eps or 1e-5:g} nor a fractional slope; "
                    f"work on a float copy of x")
        if eps is not None and compare(central_difference(f, x), got, rtol=1e-7, atol=1e-9) is None:
            return (f"for {name}, your values are those of eps = 1e-05: your function ignores the eps "
                    f"it was given; use the argument")
        if np.shape(got) == x.shape:
            got = np.asarray(got, dtype=float)
            for step in (eps or 1e-5, 1e-6, 1e-4):
                for sign in (1.0, -1.0):
                    if np.allclose(got, _one_sided(f, x, sign * step), rtol=1e-9, atol=1e-12):
                        return (f"for {name}, your values are close but not close enough: they match the "
                                f"one-sided difference (f(x {'+' if sign > 0 else '-'} eps e_i) - f(x)) / "
                                f"{'' if sign > 0 else '-'}eps with eps = {step:g}, whose error is of order eps; "
                                f"a central difference steps both ways, and its error is of order eps**2")
        return f"for {name}, {message}"
    return None


def _x_in_place(f, x, eps=1e-5):
    """A listed mistake: steps x in place and never undoes the step."""
    x = np.asarray(x, dtype=float) if x.dtype.kind != "f" else x
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        grad[i] = (up - f(x)) / (2 * eps)
    return grad


def _int_slip(f, x, eps=1e-5):
    """A listed mistake: no float copy, so an integer x gives integer steps (zero) and an integer result."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps) if step[i] else 0
    return grad


def _int_steps_in_place(f, x, eps=1e-5):
    """A listed mistake: steps x in place and restores it, but an integer x cannot take the step."""
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


def _all_at_once(f, x, eps=1e-5):
    """A listed mistake: moves every entry at once, so each entry gets the same directional derivative."""
    x = np.asarray(x, dtype=float)
    return np.full(x.shape, (f(x + eps) - f(x - eps)) / (2 * eps))


_CENTRAL_MISTAKES = [
    (lambda f, x, eps=1e-5: _one_sided(f, x, eps), "one-sided"),
    (_x_in_place, "in place"),
    (lambda f, x, eps=1e-5: 2 * central_difference(f, x, eps), "factor"),
    (lambda f, x, eps=1e-5: np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps)
                                     for e in np.eye(x.size)]), "raised"),
    (lambda f, x, eps=1e-5: central_difference(f, x, eps).ravel(), "shape (2, 3)"),
    (_int_slip, "float copy"),
    (_int_steps_in_place, "float copy"),
    (lambda f, x, eps=1e-5: central_difference(f, x), "ignores the eps"),
    (_all_at_once, "expected"),
]


# ----------------------------------------------------------------------------- 3.5

def _forward_cases():
    rng = np.random.default_rng(34)
    A = rng.normal(size=(3, 5))
    B = rng.normal(size=(2, 4))

    def jvp_a(x, v):  # f(x) = sum(tanh(A x))
        return float(np.sum((1.0 - np.tanh(A @ x) ** 2) * (A @ v)))

    def jvp_b(x, v):  # f(x) = sum((B x)^2) + x_0
        return float(2.0 * (B @ x) @ (B @ v) + v[0])

    return [(jvp_a, rng.normal(size=5)), (jvp_b, rng.normal(size=4))]


def _verify_forward(fn):
    """The gradient must be right, and it must take exactly n jvp calls (forward mode's price)."""
    for jvp, x in _forward_cases():
        calls = []

        def counted(xx, v, _jvp=jvp):
            calls.append(1)
            return _jvp(xx, v)

        given = x.copy()
        got = fn(counted, given)
        if not np.array_equal(given, x):
            return (f"for x = {short_repr(x, limit=80)}: your function changed its input x in place "
                    f"(afterwards {short_repr(given, limit=80)}); leave x as it was")
        expected = forward_mode_gradient(jvp, x)
        message = compare(expected, got)
        if message:
            return f"for x = {short_repr(x, limit=80)}: {message}"
        if len(calls) != x.size:
            return (f"the gradient is right, but it took {len(calls)} jvp calls for {x.size} inputs; "
                    f"one call per input is enough, {x.size} in all")
    return None


_FORWARD_MISTAKES = [
    (lambda jvp, x: np.full(x.size, jvp(x, np.ones_like(x))), "expected"),
    (lambda jvp, x: np.array([jvp(x, x) for _ in range(x.size)]), "expected"),
    (lambda jvp, x: np.array([jvp(x, e) for e in np.eye(x.size)] + [jvp(x, np.eye(x.size)[0])])[:x.size],
     "calls"),
    (lambda jvp, x: [jvp(x, e) for e in np.eye(x.size)], "wrong type"),
    (lambda jvp, x: np.array([jvp(x, e) for e in np.eye(x.size)]) * x, "expected"),
    (lambda jvp, x: x.__setitem__(slice(None), np.array([jvp(x.copy(), e) for e in np.eye(x.size)])) or x,
     "in place"),
]


EXERCISES = [
    Exercise(
        id="3.1",
        title="a neuron's dL/dw by the chain rule",
        reference=dL_dw,
        cases=_dL_dw_cases,
        hints=(
            "write L as a chain w -> z -> s -> L and take one local derivative per link; the chain rule "
            "multiplies them",
            "the three links are the square (power rule), the sigmoid (chapter 2: its derivative can be written "
            "with its own output s) and z = w x + b (what multiplies w); compute s once and reuse it",
            "check the factor the square brings down, the order inside (s - y), and the last link: the "
            "derivative of z with respect to w is the input x, not w",
        ),
        mistakes=_DL_DW_MISTAKES,
    ),
    Exercise(
        id="3.2",
        title="the vector-Jacobian product of a matmul",
        reference=matmul_vjp,
        cases=_matmul_cases,
        hints=(
            "each gradient has the shape of what it is the gradient of: dW is (M, N) like W, dx is (N,) like x; "
            "the SymPy cell above shows the pattern for M = 2, N = 3",
            "y_i depends on W_ij only through the product W_ij x_j, so entry (i, j) of dW is g_i x_j: an outer "
            "product; x_j reaches every y_i, so entry j of dx adds g_i W_ij over i: a product with the "
            "transposed matrix",
            "mind the order of the outer product: its rows follow g (the outputs), its columns follow x (the inputs)",
        ),
        mistakes=_MATMUL_MISTAKES,
    ),
    Exercise(
        id="3.3",
        title="the vector-Jacobian product of a batched linear layer",
        reference=linear_vjp,
        cases=_linear_cases,
        hints=(
            "each row of X is one example with its own row of G; the loss adds the examples up, so every "
            "parameter's gradient is a sum over the N examples, while dX keeps one row per example",
            "for one example, exercise 3.2's rule applies with W transposed (here W is (D, M)); the sum over "
            "the examples of the per-example dW is a single matrix product of X and G, and the bias, added to "
            "every row, collects a sum of G's rows",
            "let the shapes decide the order: dW (D, M) can only come from (D, N) times (N, M), dX (N, D) from "
            "(N, M) times (M, D); db has shape (M,) and is a sum, not a mean",
        ),
        mistakes=_LINEAR_MISTAKES,
    ),
    Exercise(
        id="3.4",
        title="central differences",
        reference=central_difference,
        verify=_verify_central,
        hints=(
            "move one entry of x at a time, in both directions, evaluate f at the two points, and leave the "
            "caller's x as it was",
            "for each index i of x (np.ndindex(x.shape) visits every index, for any shape), build two float "
            "copies of x, one moved by +eps at i and one by -eps at i, and divide the difference of f by the "
            "distance between the two points",
            "start from a float copy of x (an integer array cannot hold a step of 1e-5), fill a result shaped "
            "like x, and use the eps you were given",
        ),
        rtol=1e-7,
        atol=1e-9,
        mistakes=_CENTRAL_MISTAKES,
    ),
    Exercise(
        id="3.5",
        title="a gradient from forward mode",
        reference=forward_mode_gradient,
        verify=_verify_forward,
        hints=(
            "one JVP gives one number, grad f(x) . v; choose the directions v so that each call reveals one "
            "entry of the gradient",
            "with v the i-th unit vector (zeros except a 1 at position i), grad f(x) . v is entry i of the "
            "gradient; the rows of the n x n identity matrix are all n of them",
            "call jvp exactly once per unit vector, n calls in all, and return the n numbers as a numpy array "
            "of shape (n,)",
        ),
        mistakes=_FORWARD_MISTAKES,
    ),
]
