"""Chapter 06 (Optimizers): references and test cases.

Every exercise is one step of an update rule on numpy arrays: the parameters
w (any shape), their gradient g (the shape of w) and the optimizer's state
(arrays of the shape of w, zeros before the first step), with PyTorch's
hyperparameter names. The step returns the new w and the new state, as new
arrays. The checks run each rule for several steps on a small quadratic
(each step's g is the gradient at the current w) and compare every step with
the reference; the references agree with ``bpkit.optim`` (tests/test_optim.py
and the chapter show it).
"""
import numpy as np

from bpkit.exercises.compare import compare, short_repr
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "sgd_momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step",
           "adam_step", "adamw_step"]


def sgd_momentum_step(w, g, v, lr, momentum):
    """SGD with heavy-ball momentum, PyTorch's form: v = momentum * v + g; w = w - lr * v. Returns (w, v)."""
    v = momentum * v + g
    return w - lr * v, v


def nesterov_step(w, g, v, lr, momentum):
    """Nesterov momentum, PyTorch's form: v = momentum * v + g; w = w - lr * (g + momentum * v). Returns (w, v)."""
    v = momentum * v + g
    return w - lr * (g + momentum * v), v


def adagrad_step(w, g, G, lr, eps):
    """AdaGrad: G = G + g^2; w = w - lr * g / (sqrt(G) + eps). Returns (w, G)."""
    G = G + g * g
    return w - lr * g / (np.sqrt(G) + eps), G


def rmsprop_step(w, g, s, lr, alpha, eps):
    """RMSProp: s = alpha * s + (1 - alpha) * g^2; w = w - lr * g / (sqrt(s) + eps). Returns (w, s)."""
    s = alpha * s + (1 - alpha) * g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def adam_step(w, g, m, v, t, lr, beta1, beta2, eps):
    """Adam at step t = 1, 2, ...: moving averages m, v of g and g^2, bias-corrected. Returns (w, m, v)."""
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


def adamw_step(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """AdamW: w shrinks by the factor (1 - lr * weight_decay) first, then Adam's step on g. Returns (w, m, v)."""
    return adam_step(w * (1 - lr * weight_decay), g, m, v, t, lr, beta1, beta2, eps)


# ----------------------------------------------------------------------------- the multi-step check

class _Case:
    """A quadratic L(w) = 1/2 sum(a * w^2) - sum(b * w) times ``scale``, a start, hyperparameters, a step count."""

    def __init__(self, a, b, w0, hyper, steps, scale=1.0):
        self.a, self.b, self.w0, self.hyper, self.steps, self.scale = a, b, w0, hyper, steps, scale

    def grad(self, w):
        return self.scale * (self.a * w - self.b)


def _run(fn, case, n_state, timed):
    """Run ``fn`` for case.steps steps; return the list of outputs, or raise with a message."""
    w = case.w0.copy()
    state = [np.zeros_like(w) for _ in range(n_state)]
    outputs = []
    for t in range(1, case.steps + 1):
        g = case.grad(w)
        args = [w.copy(), g.copy()] + [s.copy() for s in state]
        before = [a.copy() for a in args[:2]]
        if timed:
            args.append(t)
        out = fn(*args, **case.hyper)
        for name, old, new in zip(("w", "g"), before, args[:2]):
            if not np.array_equal(old, new):
                raise _InPlace(f"your function changed its input {name} in place at step {t}; "
                               f"build new arrays for the results instead")
        if not (isinstance(out, tuple) and len(out) == n_state + 1):
            raise _InPlace(f"should return a tuple of {n_state + 1} arrays (the new w and the new state), "
                           f"got {short_repr(out, limit=80)}")
        outputs.append(tuple(np.asarray(o, dtype=float) for o in out))
        w, state = outputs[-1][0], list(outputs[-1][1:])
    return outputs


class _InPlace(Exception):
    pass


def _stepper(reference, cases, n_state, timed, names, diagnoses):
    """A verify function: the learner's rule against the reference, step by step, on every case."""

    def verify(fn):
        for case in cases():
            try:
                got = _run(fn, case, n_state, timed)
            except _InPlace as err:
                return str(err)
            expected = _run(reference, case, n_state, timed)
            where = ", ".join(f"{k} = {v}" for k, v in case.hyper.items())
            for t, (e, o) in enumerate(zip(expected, got), start=1):
                message = compare(e, o, rtol=1e-7, atol=1e-12)
                if message:
                    message = message.replace("output[", "(" + ", ".join(names) + ")[")
                    for slip, explanation in diagnoses:
                        try:
                            looks_like = compare(_run(slip, case, n_state, timed), got, rtol=1e-7, atol=1e-12) is None
                        except Exception:
                            looks_like = False
                        if looks_like:
                            return f"at step {t} with {where}: {explanation} ({message})"
                    return f"at step {t} with {where}: {message}"
        return None

    return verify


def _cases(with_decay=False, tiny=False):
    def make():
        a1, b1 = np.array([1.0, 10.0, 0.5]), np.array([1.0, -2.0, 0.5])
        a2, b2 = np.array([[2.0, 0.2], [5.0, 1.0]]), np.array([[0.0, 1.0], [-1.0, 2.0]])
        out = []
        for k, (a, b, w0) in enumerate(((a1, b1, np.array([2.0, 1.0, -3.0])),
                                        (a2, b2, np.array([[1.0, -1.0], [0.5, 3.0]])))):
            out.append(_Case(a, b, w0, None, 6 - k))
        return out
    return make


def _with(hypers, tiny_hyper=None):
    """Cases: the two quadratics with the given hyperparameters, and (tiny_hyper) one with gradients near 1e-4."""
    def make():
        cases = _cases()()
        for case, hyper in zip(cases, hypers):
            case.hyper = dict(hyper)
        if tiny_hyper is not None:
            tiny = _cases()()[0]
            tiny.hyper, tiny.scale = dict(tiny_hyper), 1e-4
            cases.append(tiny)
        return cases
    return make


# ----------------------------------------------------------------------------- typical mistakes

def _momentum_ema(w, g, v, lr, momentum):
    """An exponential moving average (dampening = momentum): steps 1 - momentum times as large."""
    v = momentum * v + (1 - momentum) * g
    return w - lr * v, v


def _momentum_old_velocity(w, g, v, lr, momentum):
    """Moves with the old velocity, then updates it."""
    return w - lr * v, momentum * v + g


def _momentum_sutskever(w, g, v, lr, momentum):
    """The other convention: the velocity includes -lr (v = momentum v - lr g, w = w + v)."""
    v = momentum * v - lr * g
    return w + v, v


def _momentum_plain_gd(w, g, v, lr, momentum):
    return w - lr * g, momentum * v + g


def _nesterov_as_momentum(w, g, v, lr, momentum):
    return sgd_momentum_step(w, g, v, lr, momentum)


def _nesterov_dampened(w, g, v, lr, momentum):
    """The look-ahead written with a moving average of g (dampening = momentum)."""
    v = momentum * v + (1 - momentum) * g
    return w - lr * (g + momentum * v), v


def _nesterov_no_gradient(w, g, v, lr, momentum):
    """Only momentum * v in the step: the fresh gradient's own term is missing."""
    v = momentum * v + g
    return w - lr * momentum * v, v


def _adagrad_eps_inside(w, g, G, lr, eps):
    G = G + g * g
    return w - lr * g / np.sqrt(G + eps), G


def _adagrad_current_only(w, g, G, lr, eps):
    """Divides by |g| of this step only: sign descent, the history is not used."""
    G = G + g * g
    return w - lr * g / (np.abs(g) + eps), G


def _adagrad_no_sqrt(w, g, G, lr, eps):
    G = G + g * g
    return w - lr * g / (G + eps), G


def _rmsprop_eps_inside(w, g, s, lr, alpha, eps):
    s = alpha * s + (1 - alpha) * g * g
    return w - lr * g / np.sqrt(s + eps), s


def _rmsprop_swapped(w, g, s, lr, alpha, eps):
    """alpha and 1 - alpha swapped: the average forgets almost at once."""
    s = (1 - alpha) * s + alpha * g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def _rmsprop_like_adagrad(w, g, s, lr, alpha, eps):
    s = s + g * g
    return w - lr * g / (np.sqrt(s) + eps), s


def _adam_no_bias_correction(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr * m / (np.sqrt(v) + eps), m, v


def _adam_eps_inside(w, g, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    return w - lr * (m / (1 - beta1 ** t)) / np.sqrt(v / (1 - beta2 ** t) + eps), m, v


def _adam_corrected_state(w, g, m, v, t, lr, beta1, beta2, eps):
    """Stores the bias-corrected averages as the state: the correction is then applied again every step."""
    m = (beta1 * m + (1 - beta1) * g) / (1 - beta1 ** t)
    v = (beta2 * v + (1 - beta2) * g * g) / (1 - beta2 ** t)
    return w - lr * m / (np.sqrt(v) + eps), m, v


def _adam_t_from_zero(w, g, m, v, t, lr, beta1, beta2, eps):
    """Bias correction with t + 1 (as if the first step were number 2)."""
    return adam_step(w, g, m, v, t + 1, lr, beta1, beta2, eps)


def _adamw_l2(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """Weight decay added to the gradient (Adam's L2 penalty), not decoupled."""
    return adam_step(w, g + weight_decay * w, m, v, t, lr, beta1, beta2, eps)


def _adamw_no_lr(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    """Shrinks by (1 - weight_decay) instead of (1 - lr * weight_decay)."""
    return adam_step(w * (1 - weight_decay), g, m, v, t, lr, beta1, beta2, eps)


def _adamw_plain_adam(w, g, m, v, t, lr, beta1, beta2, eps, weight_decay):
    return adam_step(w, g, m, v, t, lr, beta1, beta2, eps)


_MOMENTUM_DIAGNOSES = [
    (_momentum_ema, "this is an exponential moving average of g (dampening = momentum): PyTorch's buffer adds "
                    "the whole new gradient, so that after the first step from v = 0 it equals g"),
    (_momentum_sutskever, "this is the other convention, with -lr inside the velocity; the contract asks for "
                          "PyTorch's buffer, in the units of g, that is multiplied by lr only in the step"),
    (_momentum_old_velocity, "the step used the old velocity: update v with this step's gradient first, "
                             "then move with the new v"),
    (_momentum_plain_gd, "w moved by plain gradient descent: the step should use the velocity"),
]

_NESTEROV_DIAGNOSES = [
    (_nesterov_as_momentum, "this is plain (heavy-ball) momentum: Nesterov's step, in PyTorch's form, also "
                            "adds the gradient's own term, so it looks one step ahead"),
    (_nesterov_dampened, "v is an exponential moving average of g (dampening): PyTorch's Nesterov needs zero "
                         "dampening, the buffer adds the whole new gradient"),
    (_nesterov_no_gradient, "the step is missing the fresh gradient's own term"),
]

_ADAGRAD_DIAGNOSES = [
    (_adagrad_eps_inside, "eps went inside the square root: PyTorch adds it to the root (it matters when the "
                          "accumulated squares are tiny, as here)"),
    (_adagrad_current_only, "the step divided by this step's |g| only: the denominator accumulates all the "
                            "squared gradients so far"),
    (_adagrad_no_sqrt, "the step divided by the sum of squares itself, not by its square root"),
]

_RMSPROP_DIAGNOSES = [
    (_rmsprop_eps_inside, "eps went inside the square root: PyTorch adds it to the root (it matters when "
                          "the averaged squares are tiny, as here)"),
    (_rmsprop_swapped, "alpha and 1 - alpha are swapped: alpha is the weight of the old average"),
    (_rmsprop_like_adagrad, "the squares were summed as in AdaGrad: RMSProp keeps a moving average, which "
                            "forgets old gradients"),
]

_ADAM_DIAGNOSES = [
    (_adam_no_bias_correction, "this is Adam without bias correction: m and v start at 0, so early on they "
                               "are too small; divide them by 1 - beta1^t and 1 - beta2^t in the step"),
    (_adam_eps_inside, "eps went inside the square root: PyTorch adds it to the root (it matters when the "
                       "averaged squares are tiny, as here)"),
    (_adam_corrected_state, "the bias-corrected averages were stored as the state: keep the raw averages "
                            "m and v, and correct only the copies the step uses"),
    (_adam_t_from_zero, "the bias correction used t + 1: t is the number of this step, 1 at the first one"),
]

_ADAMW_DIAGNOSES = [
    (_adamw_l2, "weight decay was added to the gradient (Adam with an L2 penalty): AdamW decouples it, "
                "shrinking w directly, so the adaptive denominator does not rescale it"),
    (_adamw_no_lr, "w shrank by (1 - weight_decay): PyTorch scales the decay by the learning rate"),
    (_adamw_plain_adam, "there is no weight decay at all"),
]

_MOM = [dict(lr=0.05, momentum=0.9), dict(lr=0.1, momentum=0.5)]
_ADA = [dict(lr=0.5, eps=1e-10), dict(lr=0.1, eps=1e-8)]
_RMS = [dict(lr=0.01, alpha=0.99, eps=1e-8), dict(lr=0.05, alpha=0.9, eps=1e-8)]
_ADAM = [dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8), dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-8)]
_ADAMW = [dict(lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1),
          dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-8, weight_decay=0.0)]

EXERCISES = [
    Exercise(
        id="6.1",
        title="SGD with momentum",
        reference=sgd_momentum_step,
        verify=_stepper(sgd_momentum_step, _with(_MOM), 1, False, ("w", "v"), _MOMENTUM_DIAGNOSES),
        hints=(
            "momentum keeps a running direction v: think about what v should remember from earlier steps, and "
            "what each new gradient adds to it, before you decide how w moves",
            "the old velocity is kept with weight momentum and the whole new gradient is added (no 1 - momentum "
            "factor: that would be dampening); w then moves by lr times the new velocity",
            "v = momentum * v + g, then w - lr * v; return both",
        ),
        mistakes=[
            (_momentum_ema, "moving average"),
            (_momentum_sutskever, "other convention"),
            (_momentum_old_velocity, "old velocity"),
            (_momentum_plain_gd, "plain gradient descent"),
        ],
    ),
    Exercise(
        id="6.2",
        title="Nesterov momentum, PyTorch's form",
        reference=nesterov_step,
        verify=_stepper(nesterov_step, _with(_MOM), 1, False, ("w", "v"), _NESTEROV_DIAGNOSES),
        hints=(
            "the velocity is updated exactly as in 6.1; only the move differs: Nesterov looks ahead to where "
            "the velocity is about to carry w (reread the derivation of PyTorch's form above)",
            "after updating v, the step direction is this step's gradient plus momentum times the new v "
            "(not the new v alone, which is heavy-ball momentum)",
            "v = momentum * v + g, then w - lr * (g + momentum * v); return both",
        ),
        mistakes=[
            (_nesterov_as_momentum, "plain (heavy-ball) momentum"),
            (_nesterov_dampened, "dampening"),
            (_nesterov_no_gradient, "own term"),
        ],
    ),
    Exercise(
        id="6.3",
        title="AdaGrad",
        reference=adagrad_step,
        verify=_stepper(adagrad_step, _with(_ADA, dict(lr=0.1, eps=1e-6)), 1, False, ("w", "G"),
                        _ADAGRAD_DIAGNOSES),
        hints=(
            "keep a running total of each coordinate's squared gradients, and divide this step's gradient by "
            "the root of that total (plus eps, for safety against zero)",
            "accumulate the square of g into G first, then take the step; eps is added after the square root, "
            "as PyTorch does, not under it",
            "G = G + g**2, then w - lr * g / (np.sqrt(G) + eps)",
        ),
        mistakes=[
            (_adagrad_eps_inside, "inside the square root"),
            (_adagrad_current_only, "all the squared gradients"),
            (_adagrad_no_sqrt, "not by its square root"),
        ],
    ),
    Exercise(
        id="6.4",
        title="RMSProp",
        reference=rmsprop_step,
        verify=_stepper(rmsprop_step, _with(_RMS, dict(lr=0.01, alpha=0.9, eps=1e-6)), 1, False, ("w", "s"),
                        _RMSPROP_DIAGNOSES),
        hints=(
            "like AdaGrad, but the squared gradients are averaged with exponentially decaying weights, so that "
            "old ones are forgotten: alpha is how much of the old average is kept",
            "the new average keeps alpha of the old one and adds 1 - alpha of g squared; then divide g by its "
            "square root plus eps (eps outside the root)",
            "s = alpha * s + (1 - alpha) * g**2, then w - lr * g / (np.sqrt(s) + eps)",
        ),
        mistakes=[
            (_rmsprop_eps_inside, "inside the square root"),
            (_rmsprop_swapped, "swapped"),
            (_rmsprop_like_adagrad, "moving average"),
        ],
    ),
    Exercise(
        id="6.5",
        title="Adam with bias correction",
        reference=adam_step,
        verify=_stepper(adam_step, _with(_ADAM, dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-6)), 2, True,
                        ("w", "m", "v"), _ADAM_DIAGNOSES),
        hints=(
            "two moving averages, one of g (like momentum) and one of g squared (like RMSProp); because both "
            "start at zero, rescale them before the step so that they are not biased towards zero early on",
            "the state you return is the raw averages; the step uses copies divided by 1 - beta1**t and "
            "1 - beta2**t (t = 1 at the first step), and eps is added after the square root",
            "m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g**2; m_hat = m / (1 - beta1**t); "
            "v_hat = v / (1 - beta2**t); w - lr m_hat / (sqrt(v_hat) + eps)",
        ),
        mistakes=[
            (_adam_no_bias_correction, "without bias correction"),
            (_adam_eps_inside, "inside the square root"),
            (_adam_corrected_state, "raw averages"),
            (_adam_t_from_zero, "t + 1"),
        ],
    ),
    Exercise(
        id="6.6",
        title="AdamW's decoupled weight decay",
        reference=adamw_step,
        verify=_stepper(adamw_step, _with(_ADAMW), 2, True, ("w", "m", "v"), _ADAMW_DIAGNOSES),
        hints=(
            "reuse your adam_step; the only new part is the weight decay, which in AdamW acts on w directly, "
            "not through the gradient",
            "first shrink w by a factor that depends on lr and weight_decay (PyTorch's order), then take Adam's "
            "step with the unchanged gradient",
            "adam_step(w * (1 - lr * weight_decay), g, m, v, t, lr, beta1, beta2, eps)",
        ),
        mistakes=[
            (_adamw_l2, "added to the gradient"),
            (_adamw_no_lr, "learning rate"),
            (_adamw_plain_adam, "no weight decay"),
        ],
    ),
]
