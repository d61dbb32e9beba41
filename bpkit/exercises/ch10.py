"""Chapter 10 (Backprop through time): references, test cases and typical mistakes.

Shapes follow the notebook (the course's row-major convention, time first as in
PyTorch's default layout): a sequence xs: (T, N, D) of T steps, N examples and
D input features; hidden states h: (N, H); Wx: (D, H), Wh: (H, H), b: (H,).
PyTorch's ``nn.RNN`` stores the transposes: weight_ih_l0 = Wx.T, weight_hh_l0 = Wh.T.

The LSTM cell keeps PyTorch's gate order i, f, g, o along the 4H columns of
Wx: (D, 4H), Wh: (H, 4H), b: (4H,) (PyTorch's rows of weight_ih, transposed).
Gradients are dicts keyed by what they are the gradient of.
"""
from typing import NamedTuple

import numpy as np

from bpkit.exercises.compare import compare
from bpkit.exercises.core import Exercise

__all__ = ["EXERCISES", "rnn_step_forward", "rnn_forward", "rnn_backward", "truncated_bptt",
           "LSTMCache", "lstm_step_forward", "lstm_step_backward", "clip_grad_norm"]


# ----------------------------------------------------------------------------- references

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """Exercise 10.1: one step of a vanilla (Elman) RNN: h = tanh(x Wx + h_prev Wh + b). x: (N, D) -> (N, H)."""
    return np.tanh(x @ Wx + h_prev @ Wh + b)


def rnn_forward(xs, h0, Wx, Wh, b, step=rnn_step_forward):
    """Every hidden state h_1..h_T of the RNN over xs: (T, N, D), as an array (T, N, H)."""
    hs, h = [], h0
    for x in xs:
        h = step(x, h, Wx, Wh, b)
        hs.append(h)
    return np.stack(hs)


def rnn_backward(xs, h0, hs, Wx, Wh, b, dhs):
    """Exercise 10.2: BPTT over the whole sequence.

    dhs: (T, N, H), dhs[t] = the gradient the loss sends to h_{t+1} directly (from
    that step's output). Returns {"xs", "h0", "Wx", "Wh", "b"}, each shaped like its input.
    """
    dxs = np.zeros_like(xs, dtype=np.float64)
    dWx, dWh, db = np.zeros_like(Wx, dtype=np.float64), np.zeros_like(Wh, dtype=np.float64), np.zeros(Wh.shape[0])
    dh_next = np.zeros_like(h0, dtype=np.float64)
    for t in range(len(xs) - 1, -1, -1):
        da = (dhs[t] + dh_next) * (1.0 - hs[t] ** 2)
        h_prev = hs[t - 1] if t > 0 else h0
        dWx += xs[t].T @ da
        dWh += h_prev.T @ da
        db += da.sum(axis=0)
        dxs[t] = da @ Wx.T
        dh_next = da @ Wh.T
    return {"xs": dxs, "h0": dh_next, "Wx": dWx, "Wh": dWh, "b": db}


def truncated_bptt(xs, h0, hs, Wx, Wh, b, dhs, k, backward=None):
    """Exercise 10.3: the weight gradients of truncated BPTT with chunks of k steps.

    The sequence is cut into chunks of k steps (the last one may be shorter);
    each chunk is backpropagated on its own, starting from the hidden state the
    forward pass reached before it, taken as a constant: no gradient crosses a
    chunk boundary. Returns {"Wx", "Wh", "b"}: the sums over the chunks.
    """
    backward = backward or rnn_backward
    totals = {"Wx": 0.0, "Wh": 0.0, "b": 0.0}
    for start in range(0, len(xs), k):
        stop = min(start + k, len(xs))
        h_start = h0 if start == 0 else hs[start - 1]
        grads = backward(xs[start:stop], h_start, hs[start:stop], Wx, Wh, b, dhs[start:stop])
        for name in totals:
            totals[name] = totals[name] + grads[name]
    return totals


class LSTMCache(NamedTuple):
    """What one LSTM step keeps for its backward pass (gates after their nonlinearity)."""

    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    Wx: np.ndarray
    Wh: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One LSTM step, PyTorch's equations and gate order (i, f, g, o): returns (h, c, cache)."""
    H = h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b
    i, f = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H])
    g, o = np.tanh(a[:, 2 * H:3 * H]), _sigmoid(a[:, 3 * H:])
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    return h, c, LSTMCache(x, h_prev, c_prev, Wx, Wh, i, f, g, o, c)


def lstm_step_backward(dh, dc, cache):
    """Exercise 10.5: one LSTM step backward.

    dh, dc: (N, H), the gradients reaching this step's h and c (from the output
    and from the next step). Returns {"x", "h_prev", "c_prev", "Wx", "Wh", "b"}.
    """
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, c = cache
    tanh_c = np.tanh(c)
    dc_total = dc + dh * o * (1.0 - tanh_c ** 2)
    da = np.concatenate([dc_total * g * i * (1.0 - i),
                         dc_total * c_prev * f * (1.0 - f),
                         dc_total * i * (1.0 - g ** 2),
                         dh * tanh_c * o * (1.0 - o)], axis=1)
    return {"x": da @ Wx.T, "h_prev": da @ Wh.T, "c_prev": dc_total * f,
            "Wx": x.T @ da, "Wh": h_prev.T @ da, "b": da.sum(axis=0)}


def clip_grad_norm(grads, max_norm):
    """Exercise 10.4: clip a dict of gradients by their joint L2 norm, as torch.nn.utils.clip_grad_norm_.

    Returns (clipped, total_norm): a new dict with every array scaled by the same
    factor min(1, max_norm / (total_norm + 1e-6)), and the joint norm before clipping.
    """
    total = float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))
    return {name: g * scale for name, g in grads.items()}, total


# ----------------------------------------------------------------------------- cases

def _rnn_params(rng, D, H, scale=1.0):
    Wx = rng.normal(0.0, 1.0 / np.sqrt(D), size=(D, H))
    Wh = rng.normal(0.0, scale / np.sqrt(H), size=(H, H))
    return Wx, Wh, rng.normal(0.0, 0.5, size=H)


def _step_cases():
    rng = np.random.default_rng(100)
    cases = []
    for N, D, H in ((3, 4, 5), (2, 3, 2), (1, 2, 3)):
        Wx, Wh, b = _rnn_params(rng, D, H, scale=1.5)
        cases.append((rng.normal(size=(N, D)), rng.normal(size=(N, H)), Wx, Wh, b))
    return cases


def _bptt_cases():
    """(xs, h0, hs, Wx, Wh, b, dhs): a loss on the last step only, a loss on every step, a one-step sequence."""
    rng = np.random.default_rng(101)
    cases = []
    for T, N, D, H, last_only in ((6, 2, 3, 4, True), (4, 3, 2, 5, False), (5, 1, 2, 3, False), (1, 2, 3, 2, False)):
        Wx, Wh, b = _rnn_params(rng, D, H, scale=1.2)
        xs, h0 = rng.normal(size=(T, N, D)), rng.normal(0.0, 0.5, size=(N, H))
        hs = rnn_forward(xs, h0, Wx, Wh, b)
        dhs = rng.normal(size=(T, N, H))
        if last_only:
            dhs[:-1] = 0.0
        cases.append((xs, h0, hs, Wx, Wh, b, dhs))
    return cases


def _tbptt_cases():
    rng = np.random.default_rng(102)
    cases = []
    for T, N, D, H, k in ((6, 2, 3, 4, 2), (7, 3, 2, 3, 3), (4, 2, 2, 3, 1), (5, 2, 3, 2, 5)):
        Wx, Wh, b = _rnn_params(rng, D, H, scale=1.2)
        xs, h0 = rng.normal(size=(T, N, D)), rng.normal(0.0, 0.5, size=(N, H))
        hs = rnn_forward(xs, h0, Wx, Wh, b)
        cases.append((xs, h0, hs, Wx, Wh, b, rng.normal(size=(T, N, H)), k))
    return cases


def _lstm_cases():
    rng = np.random.default_rng(103)
    cases = []
    for N, D, H, zero_dc in ((3, 4, 5, False), (2, 3, 2, False), (4, 2, 3, True)):
        Wx = rng.normal(0.0, 1.0 / np.sqrt(D), size=(D, 4 * H))
        Wh = rng.normal(0.0, 1.0 / np.sqrt(H), size=(H, 4 * H))
        b = rng.normal(0.0, 0.5, size=4 * H)
        x, h_prev, c_prev = rng.normal(size=(N, D)), rng.normal(0, 0.5, size=(N, H)), rng.normal(size=(N, H))
        cache = lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)[2]
        dc = np.zeros((N, H)) if zero_dc else rng.normal(size=(N, H))
        cases.append((rng.normal(size=(N, H)), dc, cache))
    return cases


def _clip_cases():
    rng = np.random.default_rng(104)
    big = {"Wx": rng.normal(size=(3, 4)) * 3.0, "Wh": rng.normal(size=(4, 4)) * 3.0, "b": rng.normal(size=4)}
    small = {"Wx": rng.normal(size=(2, 3)) * 0.05, "Wh": rng.normal(size=(3, 3)) * 0.05, "b": rng.normal(size=3) * 0.05}
    lopsided = {"Wh": np.array([[30.0, -40.0], [0.0, 0.0]]), "b": np.array([0.3, -0.1])}   # one huge array, one small
    return [(big, 5.0), (small, 1.0), (lopsided, 1.0)]


# ----------------------------------------------------------------------------- verifiers

def _describe_seq(xs, h0):
    T, N, D = xs.shape
    return f"a sequence of T = {T} steps, N = {N}, D = {D}, H = {h0.shape[1]}"


def _unchanged(before, after):
    return all(compare(b, a, rtol=0.0, atol=0.0) is None for b, a in zip(before, after))


def _step_contributions(xs, h0, hs, Wh, dhs):
    """Each step's own term of dWh (the list BPTT adds up)."""
    terms, dh_next = [], np.zeros_like(h0)
    for t in range(len(xs) - 1, -1, -1):
        da = (dhs[t] + dh_next) * (1.0 - hs[t] ** 2)
        terms.append((hs[t - 1] if t > 0 else h0).T @ da)
        dh_next = da @ Wh.T
    return terms


def _verify_bptt(fn):
    for case in _bptt_cases():
        xs, h0, hs, Wx, Wh, b, dhs = case
        expected = rnn_backward(*case)
        given = tuple(np.copy(a) for a in case)
        got = fn(*given)
        if not _unchanged(case, given):
            return "your function changed one of its inputs in place; the backward pass should only read them"
        message = compare(expected, got, rtol=1e-6, atol=1e-9)
        if message is None:
            continue
        where = f"for {_describe_seq(xs, h0)}"
        last_only = not dhs[:-1].any()
        if (last_only and isinstance(got, dict) and isinstance(got.get("xs"), np.ndarray)
                and got["xs"].shape == xs.shape and not got["xs"][:-1].any()):
            return (f"{where} and a loss on the last step only, the earlier steps got no gradient at all: "
                    f"the gradient reaching h_t also comes from step t + 1 (dh_next), not only from dhs[t]")
        if isinstance(got, dict) and isinstance(got.get("Wh"), np.ndarray) and got["Wh"].shape == Wh.shape:
            terms = _step_contributions(xs, h0, hs, Wh, dhs)
            if len(terms) > 1 and any(np.allclose(got["Wh"], term, atol=1e-9) for term in terms):
                return (f"{where}, ['Wh'] is one step's term only: Wh is shared by every step, so its gradient is "
                        f"the sum of the terms of all {len(xs)} steps")
        return f"{where}{' and a loss on the last step only' if last_only else ''}: {message}"
    return None


def _verify_tbptt(fn):
    for case in _tbptt_cases():
        xs, h0, hs, Wx, Wh, b, dhs, k = case
        expected = truncated_bptt(*case)
        given = tuple(np.copy(a) if isinstance(a, np.ndarray) else a for a in case)
        got = fn(*given)
        if not _unchanged(case[:-1], given[:-1]):
            return "your function changed one of its inputs in place; it should only read them"
        message = compare(expected, got, rtol=1e-6, atol=1e-9)
        if message is None:
            continue
        where = f"for {_describe_seq(xs, h0)} and k = {k}"
        full = rnn_backward(xs, h0, hs, Wx, Wh, b, dhs)
        if isinstance(got, dict) and compare({n: full[n] for n in ("Wx", "Wh", "b")}, got, 1e-6, 1e-9) is None:
            return (f"{where}: this is the full BPTT gradient; with truncation no gradient crosses a chunk "
                    f"boundary (each chunk starts from a constant hidden state)")
        return f"{where}: {message}"
    return None


def _verify_lstm(fn):
    import itertools
    for dh, dc, cache in _lstm_cases():
        expected = lstm_step_backward(dh, dc, cache)
        given = (dh.copy(), dc.copy(), LSTMCache(*(a.copy() for a in cache)))
        got = fn(*given)
        if not _unchanged((dh, dc) + tuple(cache), given[:2] + tuple(given[2])):
            return "your function changed one of its inputs in place; the backward pass should only read them"
        message = compare(expected, got, rtol=1e-6, atol=1e-9)
        if message is None:
            continue
        N, H = dh.shape
        where = f"for N = {N}, D = {cache.x.shape[1]}, H = {H}{' and dc = 0' if not dc.any() else ''}"
        db = got.get("b") if isinstance(got, dict) else None
        if isinstance(db, np.ndarray) and db.shape == (4 * H,):
            blocks = expected["b"].reshape(4, H)
            for order in itertools.permutations(range(4)):
                if order != (0, 1, 2, 3) and np.allclose(db, blocks[list(order)].ravel(), atol=1e-9):
                    names = ", ".join("ifgo"[j] for j in order)
                    return (f"{where}: the gate gradients are stacked as {names}; the columns of Wx, Wh and b "
                            f"hold PyTorch's order i, f, g, o")
        return f"{where}: {message}"
    return None


# ----------------------------------------------------------------------------- typical mistakes: 10.1

def _step_no_bias(x, h_prev, Wx, Wh, b):
    return np.tanh(x @ Wx + h_prev @ Wh)


def _step_wh_transposed(x, h_prev, Wx, Wh, b):
    return np.tanh(x @ Wx + h_prev @ Wh.T + b)


def _step_sigmoid(x, h_prev, Wx, Wh, b):
    return _sigmoid(x @ Wx + h_prev @ Wh + b)


def _step_no_recurrence(x, h_prev, Wx, Wh, b):
    return np.tanh(x @ Wx + b)


def _step_tanh_outside(x, h_prev, Wx, Wh, b):
    """Adds h_prev after the nonlinearity (a residual, not an Elman step)."""
    return np.tanh(x @ Wx + b) + h_prev @ Wh


# ----------------------------------------------------------------------------- typical mistakes: 10.2

def _bptt_generic(xs, h0, hs, Wx, Wh, b, dhs, carry=True, accumulate=True, h_for_dwh="prev", deriv="hs_t",
                  wh_back="T"):
    dxs = np.zeros_like(xs)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0])
    dh_next = np.zeros_like(h0)
    for t in range(len(xs) - 1, -1, -1):
        h_prev = hs[t - 1] if t > 0 else h0
        dh = dhs[t] + (dh_next if carry else 0.0)
        da = dh * (1.0 - (hs[t] if deriv == "hs_t" else h_prev) ** 2)
        term = (h_prev if h_for_dwh == "prev" else hs[t]).T @ da
        if accumulate:
            dWx += xs[t].T @ da
            dWh += term
            db += da.sum(axis=0)
        else:
            dWx, dWh, db = xs[t].T @ da, term, da.sum(axis=0)
        dxs[t] = da @ Wx.T
        dh_next = da @ (Wh.T if wh_back == "T" else Wh)
    return {"xs": dxs, "h0": dh_next, "Wx": dWx, "Wh": dWh, "b": db}


def _bptt_no_carry(*args):
    return _bptt_generic(*args, carry=False)


def _bptt_assign(*args):
    return _bptt_generic(*args, accumulate=False)


def _bptt_h_t_for_dwh(*args):
    return _bptt_generic(*args, h_for_dwh="t")


def _bptt_deriv_of_prev(*args):
    return _bptt_generic(*args, deriv="prev")


def _bptt_wh_not_transposed(*args):
    return _bptt_generic(*args, wh_back="plain")


def _bptt_h0_is_dh1(xs, h0, hs, Wx, Wh, b, dhs):
    """Returns the gradient reaching h_1 as dh0: stops one step short (h0 is the state before step 1)."""
    grads = rnn_backward(xs, h0, hs, Wx, Wh, b, dhs)
    later = rnn_backward(xs[1:], hs[0], hs[1:], Wx, Wh, b, dhs[1:])["h0"] if len(xs) > 1 else 0.0
    grads["h0"] = dhs[0] + later
    return grads


# ----------------------------------------------------------------------------- typical mistakes: 10.3

def _tbptt_full(xs, h0, hs, Wx, Wh, b, dhs, k):
    full = rnn_backward(xs, h0, hs, Wx, Wh, b, dhs)
    return {name: full[name] for name in ("Wx", "Wh", "b")}


def _tbptt_restart_from_h0(xs, h0, hs, Wx, Wh, b, dhs, k):
    """Starts every chunk from h0, as if the forward pass restarted (it does not: the state is carried)."""
    totals = {"Wx": 0.0, "Wh": 0.0, "b": 0.0}
    for start in range(0, len(xs), k):
        s = slice(start, min(start + k, len(xs)))
        grads = rnn_backward(xs[s], h0, hs[s], Wx, Wh, b, dhs[s])
        for name in totals:
            totals[name] = totals[name] + grads[name]
    return totals


def _tbptt_off_by_one(xs, h0, hs, Wx, Wh, b, dhs, k):
    """Starts a chunk from the state after its own first step (hs[start]) instead of the one before it."""
    totals = {"Wx": 0.0, "Wh": 0.0, "b": 0.0}
    for start in range(0, len(xs), k):
        s = slice(start, min(start + k, len(xs)))
        grads = rnn_backward(xs[s], h0 if start == 0 else hs[start], hs[s], Wx, Wh, b, dhs[s])
        for name in totals:
            totals[name] = totals[name] + grads[name]
    return totals


def _tbptt_mean(xs, h0, hs, Wx, Wh, b, dhs, k):
    chunks = -(-len(xs) // k)
    return {n: g / chunks for n, g in truncated_bptt(xs, h0, hs, Wx, Wh, b, dhs, k).items()}


def _tbptt_last_chunk(xs, h0, hs, Wx, Wh, b, dhs, k):
    """Keeps only the last chunk's gradient (= instead of +=)."""
    start = ((len(xs) - 1) // k) * k
    grads = rnn_backward(xs[start:], h0 if start == 0 else hs[start - 1], hs[start:], Wx, Wh, b, dhs[start:])
    return {name: grads[name] for name in ("Wx", "Wh", "b")}


# ----------------------------------------------------------------------------- typical mistakes: 10.5

def _lstm_generic(dh, dc, cache, order="ifgo", use_dc=True, use_dh_path=True, tanh_prime="tanh_c",
                  g_prime="tanh", forget_back=True):
    x, h_prev, c_prev, Wx, Wh, i, f, g, o, c = cache
    tanh_c = np.tanh(c)
    tp = 1.0 - tanh_c ** 2 if tanh_prime == "tanh_c" else 1.0 - c ** 2
    dc_total = (dc if use_dc else 0.0) + (dh * o * tp if use_dh_path else 0.0)
    di = dc_total * g * i * (1.0 - i)
    df = dc_total * c_prev * f * (1.0 - f)
    dg = dc_total * i * ((1.0 - g ** 2) if g_prime == "tanh" else g * (1.0 - g))
    do = dh * tanh_c * o * (1.0 - o)
    parts = {"i": di, "f": df, "g": dg, "o": do}
    da = np.concatenate([parts[k] for k in order], axis=1)
    return {"x": da @ Wx.T, "h_prev": da @ Wh.T, "c_prev": dc_total * f if forget_back else dc_total,
            "Wx": x.T @ da, "Wh": h_prev.T @ da, "b": da.sum(axis=0)}


def _lstm_cs231n_order(dh, dc, cache):
    """Stacks the gate gradients as i, f, o, g (CS231n's order), not PyTorch's i, f, g, o."""
    return _lstm_generic(dh, dc, cache, order="ifog")


def _lstm_no_dc(dh, dc, cache):
    return _lstm_generic(dh, dc, cache, use_dc=False)


def _lstm_no_h_path(dh, dc, cache):
    return _lstm_generic(dh, dc, cache, use_dh_path=False)


def _lstm_tanh_prime_of_c(dh, dc, cache):
    return _lstm_generic(dh, dc, cache, tanh_prime="c")


def _lstm_g_sigmoid_prime(dh, dc, cache):
    return _lstm_generic(dh, dc, cache, g_prime="sigmoid")


def _lstm_no_forget_back(dh, dc, cache):
    return _lstm_generic(dh, dc, cache, forget_back=False)


# ----------------------------------------------------------------------------- typical mistakes: 10.4

def _clip_each(grads, max_norm):
    """Clips every array to max_norm on its own: the direction of the whole gradient changes."""
    out = {}
    for name, g in grads.items():
        n = float(np.linalg.norm(g))
        out[name] = g * min(1.0, max_norm / (n + 1e-6))
    return out, float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))


def _clip_always(grads, max_norm):
    """Rescales to max_norm even when the gradient is already shorter (normalizes instead of clipping)."""
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    return {name: g * max_norm / total for name, g in grads.items()}, total


def _clip_value(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    return {name: np.clip(g, -max_norm, max_norm) for name, g in grads.items()}, total


def _clip_sum_of_norms(grads, max_norm):
    total = float(sum(np.linalg.norm(g) for g in grads.values()))
    return {name: g * min(1.0, max_norm / (total + 1e-6)) for name, g in grads.items()}, total


def _clip_norm_after(grads, max_norm):
    clipped, total = clip_grad_norm(grads, max_norm)
    return clipped, min(total, max_norm)


def _clip_in_place(grads, max_norm):
    total = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
    scale = min(1.0, max_norm / (total + 1e-6))
    for g in grads.values():
        g *= scale
    return grads, total


EXERCISES = [
    Exercise(
        id="10.1",
        title="one step of a vanilla RNN",
        reference=rnn_step_forward,
        cases=_step_cases,
        hints=(
            "the new state mixes two things, each through its own weight matrix: the current input and the "
            "previous state; then the bias, then a squashing nonlinearity (chapter 02)",
            "with the row-major convention both products put the batch first: (N, D) times (D, H) and (N, H) "
            "times (H, H); add b, then tanh (not the sigmoid: the state lives in (-1, 1))",
        ),
        mistakes=[
            (_step_no_bias, "expected"),
            (_step_wh_transposed, "expected"),
            (_step_sigmoid, "expected"),
            (_step_no_recurrence, "expected"),
            (_step_tanh_outside, "expected"),
        ],
    ),
    Exercise(
        id="10.2",
        title="BPTT over a whole sequence",
        reference=rnn_backward,
        verify=_verify_bptt,
        hints=(
            "walk the steps from the last to the first; the gradient reaching h_t has two sources, the loss "
            "at that step and the step after it, and the step after it has already been processed",
            "at step t: add the carried gradient to dhs[t], multiply by tanh's derivative written with hs[t], "
            "and that one array gives the step's share of every gradient; the previous state is hs[t - 1], "
            "or h0 at t = 0",
            "the shares of Wx, Wh and b add up over the steps (+=, started at zeros); what step t sends back "
            "to h_{t-1} goes through Wh transposed, and after step 0 that is the gradient of h0",
        ),
        mistakes=[
            (_bptt_no_carry, "dh_next"),
            (_bptt_assign, "one step's term"),
            (_bptt_h_t_for_dwh, "['Wh']"),
            (_bptt_deriv_of_prev, "expected"),
            (_bptt_wh_not_transposed, "expected"),
            (_bptt_h0_is_dh1, "['h0']"),
        ],
    ),
    Exercise(
        id="10.3",
        title="truncated BPTT with chunks of k steps",
        reference=truncated_bptt,
        verify=_verify_tbptt,
        hints=(
            "each chunk is a short sequence of its own; your rnn_backward already does everything a chunk needs "
            "if you give it the right slices and the right starting state",
            "the chunk that starts at step s starts from the state the forward pass reached just before step s "
            "(h0 for the first chunk); the gradient its rnn_backward returns for that starting state is "
            "dropped, not carried into the previous chunk",
            "chunks start at 0, k, 2k, ...; the last one may be shorter; add the chunks' Wx, Wh and b "
            "gradients (a sum, not a mean)",
        ),
        mistakes=[
            (_tbptt_full, "full BPTT gradient"),
            (_tbptt_restart_from_h0, "expected"),
            (_tbptt_off_by_one, "expected"),
            (_tbptt_mean, "factor"),
            (_tbptt_last_chunk, "expected"),
        ],
    ),
    Exercise(
        id="10.4",
        title="clipping gradients by their joint norm",
        reference=clip_grad_norm,
        cases=_clip_cases,
        arg_names=("grads", "max_norm"),
        hints=(
            "treat all the arrays as one long vector: its length decides, and every array is scaled by the same "
            "number, so the direction of the whole gradient is kept",
            "the joint norm is the square root of the sum of the squares of every entry of every array; under "
            "max_norm nothing changes; return a new dict (do not scale the arrays in place) and the norm before",
        ),
        mistakes=[
            (_clip_each, "expected"),
            (_clip_always, "factor"),
            (_clip_value, "expected"),
            (_clip_sum_of_norms, "factor"),
            (_clip_norm_after, "output[1]"),
            (_clip_in_place, "in place"),
        ],
    ),
    Exercise(
        id="10.5",
        title="an LSTM step backward",
        reference=lstm_step_backward,
        verify=_verify_lstm,
        hints=(
            "go backwards through the step's equations: first everything that reaches c (it has two "
            "sources), then the four gates, then the one pre-activation array and the products that made it",
            "c reaches the loss directly (dc) and through h = o * tanh(c); each gate's gradient is what "
            "multiplies it in c or h, times its own nonlinearity's derivative written with the stored gate "
            "value (sigmoid for i, f, o; tanh for g); c_prev only sees c through f",
            "stack the four gate gradients in PyTorch's order i, f, g, o (not CS231n's i, f, o, g); then the "
            "x, h_prev and weight gradients are products with that (N, 4H) array, and b sums it over the batch",
        ),
        mistakes=[
            (_lstm_cs231n_order, "i, f, o, g"),
            (_lstm_no_dc, "expected"),
            (_lstm_no_h_path, "expected"),
            (_lstm_tanh_prime_of_c, "expected"),
            (_lstm_g_sigmoid_prime, "expected"),
            (_lstm_no_forget_back, "['c_prev']"),
        ],
    ),
]
