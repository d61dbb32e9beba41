"""(e) Recurrent: a GRU's forward + backward through time (run from bench.py).

GRU(1, 32, batch_first=True) over MNIST-1D-shaped input, batch 128, 40 steps,
float32, one thread, loss = sum of every output and the final state: bpkit's
nn.GRU against PyTorch CPU if installed, and always against a GRU with its
backward through time written by hand in numpy below (no graph: what the
engine costs). Targets: <= 2.0x PyTorch's time, <= 2.5x the hand numpy's.
"""
import numpy as np

from common import interleave, one_thread, report_medians

N, L, I, H = 128, 40, 1, 32


def _sig(z):
    return 1 / (1 + np.exp(-z))


def numpy_gru_step(x, w_ih, w_hh, b_ih, b_hh):
    """Forward and backward through time of a PyTorch-equation GRU, by hand; returns the gradients."""
    xs = x.transpose(1, 0, 2)                                 # (L, N, I)
    gi = xs @ w_ih.T + b_ih                                   # (L, N, 3H), all steps at once
    h = np.zeros((N, H), x.dtype)
    cache = []
    for t in range(L):
        gh = h @ w_hh.T + b_hh
        r = _sig(gi[t, :, :H] + gh[:, :H])
        z = _sig(gi[t, :, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[t, :, 2 * H:] + r * gh[:, 2 * H:])
        cache.append((h, gh, r, z, n))
        h = (1 - z) * n + z * h
    dgi = np.empty_like(gi)
    dw_hh, db_hh = np.zeros_like(w_hh), np.zeros_like(b_hh)
    dh = np.ones((N, H), x.dtype)                             # from the final state
    for t in reversed(range(L)):
        h_prev, gh, r, z, n = cache[t]
        dh = dh + 1.0                                         # from output[t]
        dn = dh * (1 - z)
        dz = dh * (h_prev - n)
        dpre_n = dn * (1 - n * n)
        dr = dpre_n * gh[:, 2 * H:]
        dgh = np.concatenate([dr * r * (1 - r), dz * z * (1 - z), dpre_n * r], axis=1)
        dgi[t] = np.concatenate([dgh[:, :2 * H], dpre_n], axis=1)
        dw_hh += dgh.T @ h_prev
        db_hh += dgh.sum(axis=0)
        dh = dh * z + dgh @ w_hh
    dgi2 = dgi.reshape(L * N, 3 * H)
    dw_ih = dgi2.T @ xs.reshape(L * N, I)
    return dw_ih, dw_hh, dgi2.sum(axis=0), db_hh


def bench_gru(repeats):
    print("\n(e) GRU forward + backward through time: batch 128, 40 steps, hidden 32, float32")
    from bpkit import nn
    from bpkit.tensor import Tensor

    x = np.random.default_rng(0).standard_normal((N, L, I)).astype(np.float32)
    gru = nn.GRU(I, H, batch_first=True, rng=0)
    weights = [p.data for p in gru.parameters()]              # weight_ih, weight_hh, bias_ih, bias_hh

    def bpkit_step():
        gru.zero_grad()
        out, h_n = gru(Tensor(x))
        (out.sum() + h_n.sum()).backward()
        return [p.grad for p in gru.parameters()]

    contenders = {"bpkit": (bpkit_step, ()), "numpy": (numpy_gru_step, (x, *weights))}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        tgru = torch.nn.GRU(I, H, batch_first=True)
        with torch.no_grad():
            for p, a in zip(tgru.parameters(), weights):
                p.copy_(torch.from_numpy(a))
        tx = torch.from_numpy(x)

        def torch_step():
            tgru.zero_grad()
            out, h_n = tgru(tx)
            (out.sum() + h_n.sum()).backward()
            return [p.grad.numpy() for p in tgru.parameters()]

        contenders["torch"] = (torch_step, ())
    results = [fn(*args) for fn, args in contenders.values()]     # the same gradients first
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert np.allclose(a, b, rtol=1e-3, atol=1e-2), np.abs(a - b).max()
    rounds = repeats * 10
    with one_thread():
        med = interleave(contenders, rounds, warmup=3, collect=False)
    report_medians(med, rounds, "forward + backward",
                   [("numpy", "GRU vs hand numpy BPTT", 2.5), ("torch", "GRU vs PyTorch", 2.0)])
