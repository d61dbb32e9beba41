"""Fused recurrent steps: one GRU or LSTM step as one primitive, its backward written out beside it.

Conventions as ``bpkit.primitives``. A step of ``bpkit.nn.GRU`` or ``LSTM`` is
then one graph node (plus the slice of the precomputed input projection), not
fifteen, which is what makes backpropagation through 40 steps cheap. The
backward rules are chapter 10's derivations; the tests check them against
central differences like every other primitive.

Both take ``gi`` = x W_ih^T + b_ih for this step (all steps are computed in one
matrix product beforehand) and the recurrent weight ``w_hh`` (G*H, H), bias
``b_hh`` (G*H,) or None. sigma is the logistic sigmoid; ' marks the new state.
"""
import numpy as np

from bpkit.primitives import reads

__all__ = ["gru_cell", "lstm_cell", "PRIMITIVES"]


def _sigmoid(z):
    """sigma(z) = (1 + tanh(z / 2)) / 2: one tanh, no overflow for any z, dtype kept."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


@reads("", "w_hh", "h", "")
def gru_cell(gi, h, w_hh, b_hh, need=(True, True, True, True)):
    """h' = (1 - z) * n + z * h, PyTorch's GRU (gate rows r, z, n).

    gh = h W_hh^T + b_hh; r = sigma(gi_r + gh_r); z = sigma(gi_z + gh_z);
    n = tanh(gi_n + r * gh_n). Backward, with g = dL/dh':
    dn = g (1 - z); dz = g (h - n); da_n = dn (1 - n^2) (a_n: n's pre-activation);
    dr = da_n * gh_n; d gi = [dr r (1 - r), dz z (1 - z), da_n];
    d gh = [d gi_r, d gi_z, da_n * r]; dh = g z + d gh W_hh;
    dW_hh = d gh^T h; db_hh = d gh summed over the batch.
    """
    size = h.shape[-1]
    gh = h @ w_hh.T
    if b_hh is not None:
        gh = gh + b_hh
    rz = _sigmoid(gi[:, :2 * size] + gh[:, :2 * size]).astype(h.dtype, copy=False)
    r, z = rz[:, :size], rz[:, size:]
    gh_n = gh[:, 2 * size:]
    n = np.tanh(gi[:, 2 * size:] + r * gh_n)
    h_minus_n = h - n
    out = n + z * h_minus_n

    def vjp(g):
        dn = g * (1 - z)
        da_n = dn * (1 - n * n)
        d_gi = np.concatenate([da_n * gh_n * r * (1 - r), g * h_minus_n * z * (1 - z), da_n], axis=1)
        d_gh = d_gi.copy()
        d_gh[:, 2 * size:] *= r
        dh = (g * z + d_gh @ w_hh) if need[1] else None
        dw = (d_gh.T @ h) if need[2] else None
        db = d_gh.sum(axis=0) if need[3] and b_hh is not None else None
        return (d_gi if need[0] else None), dh, dw, db

    return out, vjp


@reads("c", "w_hh", "", "h", "")
def lstm_cell(gi, h, c, w_hh, b_hh, need=(True, True, True, True, True)):
    """[h', c'] side by side, shape (N, 2H): PyTorch's LSTM (gate rows i, f, g, o).

    a = gi + h W_hh^T + b_hh; i, f, o = sigma(a_i), sigma(a_f), sigma(a_o);
    g = tanh(a_g); c' = f c + i g; h' = o tanh(c'). Backward, with (gh', gc') the
    two halves of the incoming gradient: dc' = gc' + gh' o (1 - tanh^2 c');
    do = gh' tanh c'; di = dc' g; df = dc' c; dg = dc' i; dc = dc' f;
    da = [di i (1 - i), df f (1 - f), dg (1 - g^2), do o (1 - o)] = d gi;
    dh = da W_hh; dW_hh = da^T h; db_hh = da summed over the batch.
    The additive path c -> c' (times f, no squashing) is why an LSTM's gradient
    can travel far back in time.
    """
    size = h.shape[-1]
    a = gi + h @ w_hh.T
    if b_hh is not None:
        a = a + b_hh
    sig = _sigmoid(a).astype(h.dtype, copy=False)
    i, f, o = sig[:, :size], sig[:, size:2 * size], sig[:, 3 * size:]
    gg = np.tanh(a[:, 2 * size:3 * size])
    c_new = f * c + i * gg
    tc = np.tanh(c_new)
    out = np.concatenate([o * tc, c_new], axis=1)

    def vjp(grad):
        g_h, g_c = grad[:, :size], grad[:, size:]
        dc_new = g_c + g_h * o * (1 - tc * tc)
        da = np.concatenate([dc_new * gg * i * (1 - i), dc_new * c * f * (1 - f),
                             dc_new * i * (1 - gg * gg), g_h * tc * o * (1 - o)], axis=1)
        dh = (da @ w_hh) if need[1] else None
        dc = (dc_new * f) if need[2] else None
        dw = (da.T @ h) if need[3] else None
        db = da.sum(axis=0) if need[4] and b_hh is not None else None
        return (da if need[0] else None), dh, dc, dw, db

    return out, vjp


PRIMITIVES = {"gru_cell": gru_cell, "lstm_cell": lstm_cell}
