"""Chapter 03 (The chain rule, symbolically): references and test cases.

Notation follows the notebook: one neuron's loss L(w) = (sigmoid(w x + b) - y)^2;
a matrix-vector product y = W @ x with W: (M, N), x: (N,), upstream gradient
g = dL/dy: (M,); a jvp(x, v) returns the directional derivative grad f(x) . v.
"""
import numpy as np

from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "dL_dw", "matmul_vjp", "central_difference", "forward_mode_gradient"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def dL_dw(w, x, b, y):
    """dL/dw for L = (sigmoid(w x + b) - y)^2, by the chain rule: 2 (s - y) * s (1 - s) * x. Elementwise."""
    s = _sigmoid(w * x + b)
    return 2.0 * (s - y) * s * (1.0 - s) * x


def matmul_vjp(W, x, g):
    """For y = W @ x and upstream g = dL/dy: returns (dW, dx) = (outer(g, x), W.T @ g).

    W: (M, N), x: (N,), g: (M,) -> dW: (M, N), dx: (N,).
    """
    return np.outer(g, x), W.T @ g


def central_difference(f, x, eps=1e-5):
    """The gradient of a scalar function f at x by central differences: an array shaped like x.

    Entry i is (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), with e_i the i-th unit array.
    x is not changed.
    """
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def forward_mode_gradient(jvp, x):
    """The full gradient of f: R^n -> R from forward mode: one jvp(x, e_i) per input, n calls in all."""
    x = np.asarray(x, dtype=float)
    return np.array([jvp(x, e) for e in np.eye(x.size)])


# ----------------------------------------------------------------------------- cases

def _dL_dw_cases():
    return [
        (np.array([-1.0, 0.0, 0.4, 2.0]), 1.5, -0.5, 1.0),
        (np.array([0.3, -2.5]), -0.8, 0.2, 0.0),
    ]


def _matmul_cases():
    rng = np.random.default_rng(31)
    return [
        (rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)),
        (rng.normal(size=(4, 2)), rng.normal(size=2), rng.normal(size=4)),
    ]


def _f_exp(x):
    return float(np.sum(np.exp(x)))


def _f_mix(x):
    return float(np.sum(np.sin(x) * x ** 2) + x[0] * x[-1])


def _f_matrix(A):
    return float(np.sum(np.tanh(A) * np.arange(A.size).reshape(A.shape)))


def _central_cases():
    rng = np.random.default_rng(33)
    return [
        (_f_exp, np.array([1.0, 1.5, 2.0])),
        (_f_mix, rng.normal(size=5)),
        (_f_matrix, rng.normal(size=(2, 3))),
    ]


_F_TEXT = {_f_exp: "sum(exp(x))", _f_mix: "sum(sin(x) * x**2) + x[0] * x[-1]",
           _f_matrix: "sum(tanh(x) * [[0, 1, 2], [3, 4, 5]])"}


def _one_sided(f, x, eps=1e-5):
    """The classic slip: (f(x + eps e_i) - f(x)) / eps, accurate only to about eps."""
    fx = f(x)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - fx) / eps
    return grad


def _verify_central(fn):
    """Compare with the reference on each case, and name the two classic slips.

    A one-sided difference is close (within about eps) but not within the tolerance,
    which a bare comparison would report as "off by a factor of 1.00"; and x must not
    be changed in place.
    """
    for f, x in _central_cases():
        name = f"f(x) = {_F_TEXT[f]}, x = {short_repr(x, limit=80)}"
        given = x.copy()
        try:
            got = fn(f, given)
        except NotImplementedError:
            raise
        except Exception as err:  # shown as "raised ...": say which input it was
            err.args = (f"{err} (for x of shape {x.shape})",)
            raise
        if not np.allclose(given, x, rtol=1e-12, atol=1e-15):  # restoring by += eps, -= eps may leave a last bit
            change = float(np.max(np.abs(given - x)))
            return (f"for {name}, your function changed x in place (an entry moved by {change:.1g}); "
                    f"step on a copy, or undo each step before the next")
        expected = central_difference(f, x)
        message = compare(expected, got, rtol=1e-7, atol=1e-9)
        if message is None:
            continue
        if np.shape(got) == x.shape:
            got = np.asarray(got, dtype=float)
            for eps in (1e-5, 1e-6, 1e-4):
                for sign in (1.0, -1.0):
                    if np.allclose(got, _one_sided(f, x, sign * eps), rtol=1e-9, atol=1e-12):
                        return (f"for {name}, your values are close but not close enough: they match the "
                                f"one-sided difference (f(x {'+' if sign > 0 else '-'} eps e_i) - f(x)) / "
                                f"{'' if sign > 0 else '-'}eps with eps = {eps:g}, whose error is of order eps; "
                                f"a central difference steps both ways, (f(x + eps e_i) - f(x - eps e_i)) / (2 eps), "
                                f"and its error is of order eps**2")
        return f"for {name}, {message}"
    return None


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

        got = fn(counted, x.copy())
        expected = forward_mode_gradient(jvp, x)
        message = compare(expected, got)
        if message:
            return f"for x = {short_repr(x, limit=80)}: {message}"
        if len(calls) != x.size:
            return (f"the gradient is right, but it took {len(calls)} jvp calls for {x.size} inputs; "
                    f"one call per unit vector, {x.size} in all, is enough")
    return None


def _x_in_place(f, x, eps=1e-5):
    """A listed mistake: steps x in place and never undoes the step."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        x[i] += eps
        up = f(x)
        x[i] -= 2 * eps
        grad[i] = (up - f(x)) / (2 * eps)
    return grad


EXERCISES = [
    Exercise(
        id="3.1",
        title="a neuron's dL/dw by the chain rule",
        reference=dL_dw,
        cases=_dL_dw_cases,
        hint="three factors: dL/ds = 2 (s - y), ds/dz = s (1 - s), dz/dw = x; multiply them",
        mistakes=[
            (lambda w, x, b, y: 2.0 * (_sigmoid(w * x + b) - y) * _sigmoid(w * x + b) * (1 - _sigmoid(w * x + b)),
             "expected"),
            (lambda w, x, b, y: (_sigmoid(w * x + b) - y) * _sigmoid(w * x + b) * (1 - _sigmoid(w * x + b)) * x,
             "factor"),
            (lambda w, x, b, y: 2.0 * (_sigmoid(w * x + b) - y) * x, "expected"),
        ],
    ),
    Exercise(
        id="3.2",
        title="the vector-Jacobian product of a matmul",
        reference=matmul_vjp,
        cases=_matmul_cases,
        hint="dW = np.outer(g, x) (shape of W) and dx = W.T @ g (shape of x)",
        mistakes=[
            (lambda W, x, g: (np.outer(x, g), W.T @ g), "shape"),
            (lambda W, x, g: (np.outer(g, x), W.T @ np.ones_like(g)), "expected"),
            (lambda W, x, g: (np.outer(g, x), W @ g), "raised"),
        ],
    ),
    Exercise(
        id="3.3",
        title="central differences",
        reference=central_difference,
        verify=_verify_central,
        hint="for each index i: copy x, add eps at i, subtract eps at i, and divide the difference of f by 2 eps",
        rtol=1e-7,
        atol=1e-9,
        mistakes=[
            (lambda f, x, eps=1e-5: np.array([(f(x + eps * e) - f(x)) / eps
                                             for e in np.eye(x.size)]).reshape(x.shape), "one-sided"),
            (_x_in_place, "in place"),
            (lambda f, x, eps=1e-5: 2 * central_difference(f, x, eps), "factor"),
            (lambda f, x, eps=1e-5: np.array([(f(x + eps * e) - f(x - eps * e)) / (2 * eps)
                                             for e in np.eye(x.size)]), "shape (2, 3)"),
        ],
    ),
    Exercise(
        id="3.4",
        title="a gradient from forward mode",
        reference=forward_mode_gradient,
        verify=_verify_forward,
        hint="call jvp(x, e) once for each unit vector e in np.eye(x.size) and collect the n numbers",
        mistakes=[
            (lambda jvp, x: np.full(x.size, jvp(x, np.ones_like(x))), "expected"),
            (lambda jvp, x: np.array([jvp(x, x) for _ in range(x.size)]), "expected"),
            (lambda jvp, x: np.array([jvp(x, e) for e in np.eye(x.size)] + [jvp(x, np.eye(x.size)[0])])[:x.size],
             "calls"),
        ],
    ),
]
