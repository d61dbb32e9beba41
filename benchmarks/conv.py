"""(d) Convolutions: conv2d forward + backward, and the chapter 09 CNN's training time (run from bench.py).

conv2d: batch 64, 8 -> 16 channels, 28x28, 3x3 kernel, padding 1, float32, one
thread, forward and backward (dx, dw, db), bpkit against PyTorch CPU if it is
installed (target: <= 2x its time), and always against a plain numpy im2col
written out below (the same algorithm without a graph: the overhead of the
engine). The CNN: MNIST-1D's ConvBase (three Conv1d layers, ReLU, Linear), Adam
with a one-cycle schedule, batch 100, 1500 steps, as chapter 09 trains it
(target: < 10 s; PyTorch takes about 6.8 s for the same on this machine).
"""
import time

import numpy as np

from common import failures, interleave, one_thread, report, report_medians

N, C_IN, C_OUT, H, K = 64, 8, 16, 28, 3


def _numpy_conv_step(x, w, b, g):
    """conv2d forward + backward in plain numpy: im2col, one matmul, col2im by kernel offset."""
    n, c, hh, ww = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (K, K), axis=(2, 3))    # (N, C, H, W, K, K)
    cols = np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3)).reshape(n, c * K * K, hh * ww)
    w2 = w.reshape(C_OUT, -1)
    out = (w2 @ cols + b[:, None]).reshape(n, C_OUT, hh, ww)
    g3 = g.reshape(n, C_OUT, hh * ww)
    dw = np.matmul(g3, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)
    db = g3.sum(axis=(0, 2))
    dcols = (w2.T @ g3).reshape(n, c, K, K, hh, ww)
    dxp = np.zeros(xp.shape, x.dtype)
    for a in range(K):
        for bb in range(K):
            dxp[:, :, a:a + hh, bb:bb + ww] += dcols[:, :, a, bb]
    return out, dxp[:, :, 1:-1, 1:-1], dw, db


def bench_conv(repeats):
    print("\n(d) conv2d forward + backward, batch 64, 8 -> 16 channels, 28x28, 3x3, padding 1, float32")
    import bpkit.functional as F
    from bpkit.tensor import Tensor

    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C_IN, H, H)).astype(np.float32)
    w = (rng.standard_normal((C_OUT, C_IN, K, K)) * 0.1).astype(np.float32)
    b = rng.standard_normal(C_OUT).astype(np.float32)
    g = rng.standard_normal((N, C_OUT, H, H)).astype(np.float32)

    def bpkit_step():
        xt, wt, bt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True), Tensor(b, requires_grad=True)
        out = F.conv2d(xt, wt, bt, padding=1)
        out.backward(g)
        return out.data, xt.grad, wt.grad, bt.grad

    contenders = {"bpkit": (bpkit_step, ()), "numpy": (_numpy_conv_step, (x, w, b, g))}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        tg = torch.from_numpy(g)

        def torch_step():
            xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
            out = torch.nn.functional.conv2d(xt, wt, bt, padding=1)
            out.backward(tg)
            return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()

        contenders["torch"] = (torch_step, ())
    results = [fn(*args) for fn, args in contenders.values()]     # the same numbers first
    for other in results[1:]:
        for a, c in zip(results[0], other):
            assert np.allclose(a, c, rtol=1e-3, atol=1e-3)
    rounds = repeats * 20
    with one_thread():
        med = interleave(contenders, rounds, warmup=5, collect=False)
    report_medians(med, rounds, "forward + backward",
                   [("numpy", "conv2d vs plain numpy im2col", 1.3), ("torch", "conv2d vs PyTorch", 2.0)])


def bench_cnn():
    print("\n(d) chapter 09's CNN on MNIST-1D: ConvBase, Adam + one-cycle, batch 100, 1500 steps, one thread")
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        print("mnist1d is not installed: the CNN is not timed")
        failures.append("CNN (mnist1d missing)")
        return
    import bpkit
    import bpkit.functional as F
    from bpkit import nn
    from bpkit.optim import Adam
    from bpkit.optim.lr_scheduler import OneCycleLR

    data = make_dataset(get_dataset_args())
    X, Y = data["x"].astype(np.float32)[:, None, :], data["y"]
    Xt, Yt = data["x_test"].astype(np.float32)[:, None, :], data["y_test"]
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv1d(1, 25, 5, 2, 1, rng=rng), nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1, rng=rng),
                          nn.ReLU(), nn.Conv1d(25, 25, 3, 2, 1, rng=rng), nn.ReLU(), nn.Flatten(),
                          nn.Linear(125, 10, rng=rng))
    opt = Adam(model.parameters(), lr=3e-2)
    sched = OneCycleLR(opt, max_lr=3e-2, total_steps=1500, pct_start=0.1)
    with one_thread():
        start = time.perf_counter()
        for _ in range(1500):
            rows = rng.integers(0, len(X), 100)
            opt.zero_grad()
            F.cross_entropy(model(X[rows]), Y[rows]).backward()
            opt.step()
            sched.step()
        seconds = time.perf_counter() - start
    with bpkit.no_grad():
        acc = float((model(Xt).data.argmax(axis=1) == Yt).mean())
    report("CNN training time", f"{seconds:.1f} s", seconds < 10, "< 10 s", f" (test accuracy {acc:.1%})")
