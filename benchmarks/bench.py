"""Speed ratios of bpkit against its baselines, all measured in one run.

    python benchmarks/bench.py            # everything (about a minute on 2 cores)
    python benchmarks/bench.py value      # or any of: value tensor conv rnn import
    python benchmarks/bench.py --repeats 15

(a) value:  building a 300,000-step chain of Values vs a minimal slotted node
            class (target: <= 1.5x its time); one training step of a 2-16-16-1
            ReLU MLP on make_moons(100) built from bpkit.Value, vs the same
            network in micrograd 0.1.0 (target: >= 10x faster with Value.dot /
            Value.sum, >= 6x faster with micrograd's own graph of binary + and *).
(b) tensor: one training step of a 784-256-10 MLP, batch 128, float32, with
            bpkit.nn / functional.cross_entropy / optim.SGD, vs the same math
            hand-written in numpy (target: <= 1.2x its time) and vs PyTorch CPU,
            if installed (target: <= 1.0x). Every library limited to one thread
            (threadpoolctl, if installed, and torch.set_num_threads(1)).
(d) conv:   conv2d forward + backward (batch 64, 8 -> 16 channels, 28x28, 3x3)
            vs PyTorch CPU if installed (target: <= 2x) and vs plain numpy im2col
            (target: <= 1.3x); chapter 09's MNIST-1D CNN, 1500 steps (< 10 s).
            In benchmarks/conv.py.
(e) rnn:    a GRU (batch 128, 40 steps, hidden 32) forward + backward through
            time vs PyTorch CPU if installed (target: <= 2x) and vs a hand
            numpy BPTT (target: <= 2.5x). In benchmarks/rnn.py.
(c) import: the cost of `import bpkit` (and touching its core names) beyond
            numpy, in fresh interpreters; matplotlib, sympy and ipywidgets must
            not be loaded. target: <= 0.3 s.

Contenders are interleaved (A, B, A, B, ...) and each ratio is a ratio of
medians, so a noisy neighbour slows both sides alike. BLAS is pinned to one
thread before numpy loads, so two libraries in one process compete fairly.
Exits 1 if a target is missed.
"""
import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before numpy is imported: single-threaded BLAS

import argparse  # noqa: E402
import gc  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from common import (INSTALL_HINT, failures, interleave, one_thread as _one_thread, report,  # noqa: E402
                    report_medians)


# --------------------------------------------------------------- (a) Value

class MinimalNode:
    """The least a scalar-autograd node can be: its number, grad, op name, and
    up to two parents with their local derivatives, all in slots (Value's own
    layout); constants wrapped as leaves, as Value does. No checks, no
    no_grad(), no label: the yardstick for Value's per-op cost when building a graph."""

    __slots__ = ("data", "grad", "_op", "_a", "_b", "_da", "_db")

    def __init__(self, data, a=None, b=None, da=0.0, db=0.0, op=""):
        self.data = data
        self.grad = 0.0
        self._op = op
        self._a, self._b = a, b
        self._da, self._db = da, db

    def __add__(self, other):
        other = other if isinstance(other, MinimalNode) else MinimalNode(float(other))
        return MinimalNode(self.data + other.data, self, other, 1.0, 1.0, "+")

    def __mul__(self, other):
        other = other if isinstance(other, MinimalNode) else MinimalNode(float(other))
        return MinimalNode(self.data * other.data, self, other, other.data, self.data, "*")


def build_chain(leaf, steps=300_000, c=1.0):
    """y = y * c + 0.0, `steps` times, from leaf(1.0): 2 nodes and 2 constants per step."""
    y = leaf(1.0)
    for _ in range(steps):
        y = y * c + 0.0
    return y


def time_chain(leaf):
    """Seconds to build the chain with the cycle collector paused (the graph has
    no cycles, so the collector would only rescan it); freed outside the timing."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        y = build_chain(leaf)
        elapsed = time.perf_counter() - start
        del y
    finally:
        gc.enable()
    return elapsed


def bench_value_chain(rounds=5):
    """Graph building: bpkit.Value vs MinimalNode, best of `rounds`, interleaved."""
    from bpkit.scalar import Value

    print("\n(a) Value: building a chain y = y * c + 0.0, 300,000 steps, cycle collector paused")
    best = {"bpkit": float("inf"), "minimal": float("inf")}
    for _ in range(rounds):
        best["bpkit"] = min(best["bpkit"], time_chain(Value))
        best["minimal"] = min(best["minimal"], time_chain(MinimalNode))
    print(f"best of {rounds}: bpkit.Value {best['bpkit'] * 1e3:.0f} ms, a minimal slotted class with "
          f"the same parents and local derivatives {best['minimal'] * 1e3:.0f} ms")
    ratio = best["bpkit"] / best["minimal"]
    report("Value graph building vs a minimal node class", f"{ratio:.2f}x its time", ratio <= 1.5,
           "<= 1.5x")


def bench_value(repeats):
    bench_value_chain()
    print("\n(a) Value: one training step, 2-16-16-1 ReLU MLP, make_moons(100), hinge loss + L2")
    try:
        import micrograd.engine as mg_engine
        import micrograd.nn as mg_nn
    except ImportError:
        print(f"micrograd is not installed, so (a) is skipped; install it with: {INSTALL_HINT}")
        return
    from sklearn.datasets import make_moons

    from bpkit.scalar import Value

    X, y = make_moons(n_samples=100, noise=0.1, random_state=1)
    X, y = X.tolist(), (2.0 * y - 1.0).tolist()  # labels -1 / +1

    random.seed(1337)
    mg_model = mg_nn.MLP(2, [16, 16, 1])

    class MLP:
        """micrograd's MLP (ReLU hidden layers, linear output) on bpkit.Value,
        each neuron's weighted sum one Value.dot node. Same initial weights."""

        def __init__(self, mg_model):
            self.layers = [([[Value(w.data) for w in n.w] for n in layer.neurons],
                            [Value(n.b.data) for n in layer.neurons],
                            layer.neurons[0].nonlin) for layer in mg_model.layers]
            self.params = [p for W, b, _ in self.layers for row in [*W, b] for p in row]

        def __call__(self, x):
            for W, b, nonlin in self.layers:
                x = [Value.dot(w, x) + bi for w, bi in zip(W, b)]
                if nonlin:
                    x = [v.relu() for v in x]
            return x[0]

    class PlainMLP(MLP):
        """The same, with micrograd's own expression: a chain of binary + and *,
        and the inputs made Values once per point, as micrograd's demo does."""

        def __call__(self, x):
            x = [Value(xi) for xi in x]
            for W, b, nonlin in self.layers:
                x = [sum((wi * xi for wi, xi in zip(w, x)), bi) for w, bi in zip(W, b)]
                if nonlin:
                    x = [v.relu() for v in x]
            return x[0]

    def step(model, total, squares):
        """One hinge-loss + L2 step; `total` and `squares` build the sums (n-ary or binary)."""
        scores = [model(x) for x in X]
        losses = [(1 - yi * s).relu() for yi, s in zip(y, scores)]
        loss = total(losses) * (1.0 / len(losses)) + 1e-4 * squares(model.params)
        for p in model.params:
            p.grad = 0.0
        loss.backward()
        for p in model.params:
            p.data -= 0.05 * p.grad
        return loss.data

    def bpkit_step(model):  # one n-ary node per sum
        return step(model, Value.sum, lambda ps: Value.dot(ps, ps))

    def plain_step(model):  # micrograd's graph: chains of binary + and *
        return step(model, sum, lambda ps: sum(p * p for p in ps))

    def micrograd_step(model):  # micrograd's demo.ipynb, as written there
        inputs = [list(map(mg_engine.Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
        loss = data_loss + reg_loss
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        return loss.data

    ours, plain = MLP(mg_model), PlainMLP(mg_model)
    # Same weights, same math: the first steps must give the same losses.
    for _ in range(2):
        a, b, c = bpkit_step(ours), plain_step(plain), micrograd_step(mg_model)
        assert abs(a - c) < 1e-9 and abs(b - c) < 1e-9, (a, b, c)
    med = interleave({"bpkit": (bpkit_step, (ours,)), "plain": (plain_step, (plain,)),
                      "micrograd": (micrograd_step, (mg_model,))}, repeats, warmup=0)
    print(f"median step: bpkit.Value {med['bpkit'] * 1e3:.1f} ms, same graph as micrograd "
          f"{med['plain'] * 1e3:.1f} ms, micrograd {med['micrograd'] * 1e3:.1f} ms ({repeats} rounds)")
    ratio = med["micrograd"] / med["bpkit"]
    report("Value vs micrograd", f"{ratio:.1f}x faster", ratio >= 10, ">= 10x")
    ratio = med["micrograd"] / med["plain"]
    report("Value vs micrograd, the same graph (binary + and * only, no dot/sum)",
           f"{ratio:.1f}x faster", ratio >= 6, ">= 6x")


# -------------------------------------------------------------- (b) Tensor

def bench_tensor(repeats):
    print("\n(b) Tensor: one training step, MLP 784-256-10, batch 128, float32, cross-entropy, SGD")
    try:
        from bpkit import functional as F
        from bpkit import nn, optim
        from bpkit.tensor import Tensor
    except ImportError as e:
        print(f"bpkit.nn / optim / functional not available ({e}); (b) is skipped")
        failures.append("Tensor (not available)")
        return

    rng = np.random.default_rng(0)
    N, D, H, C, lr = 128, 784, 256, 10, 0.1
    X = rng.standard_normal((N, D)).astype(np.float32)
    y = rng.integers(0, C, N)

    model = nn.Sequential(nn.Linear(D, H, rng=1), nn.ReLU(), nn.Linear(H, C, rng=2))
    opt = optim.SGD(model.parameters(), lr=lr)
    Xt = Tensor(X)
    init = [p.data.copy() for p in model.parameters()]  # W1, b1, W2, b2

    def bpkit_step():
        loss = F.cross_entropy(model(Xt), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    weights = [a.copy() for a in init]
    rows = np.arange(N)

    def numpy_step():
        """The same network by hand: affine, relu, affine, softmax-CE, SGD."""
        W1, b1, W2, b2 = weights               # updated in place below
        h = X @ W1.T + b1                      # (N, H)
        a = np.maximum(h, 0)
        z = a @ W2.T + b2                      # (N, C)
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[rows, y]).mean()
        dz = p                                 # d loss / d z = (p - onehot(y)) / N
        dz[rows, y] -= 1
        dz /= N
        dW2, db2 = dz.T @ a, dz.sum(axis=0)
        dh = (dz @ W2) * (h > 0)
        dW1, db1 = dh.T @ X, dh.sum(axis=0)
        W1 -= lr * dW1
        b1 -= lr * db1
        W2 -= lr * dW2
        b2 -= lr * db2
        return loss

    contenders = {"bpkit": (bpkit_step, ()), "numpy": (numpy_step, ())}
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        torch.set_num_threads(1)
        tmodel = torch.nn.Sequential(torch.nn.Linear(D, H), torch.nn.ReLU(), torch.nn.Linear(H, C))
        with torch.no_grad():
            for p, a in zip(tmodel.parameters(), init):
                p.copy_(torch.from_numpy(a))
        topt = torch.optim.SGD(tmodel.parameters(), lr=lr)
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)

        def torch_step():
            loss = torch.nn.functional.cross_entropy(tmodel(tX), ty)
            topt.zero_grad()
            loss.backward()
            topt.step()
            return loss

        contenders["torch"] = (torch_step, ())

    # Same weights, same math: the first steps must give the same losses.
    for _ in range(3):
        losses = [float(fn(*args).item()) for fn, args in contenders.values()]
        assert max(losses) - min(losses) < 1e-4 * max(1.0, abs(losses[0])), losses
    rounds = repeats * 60
    with _one_thread():
        med = interleave(contenders, rounds, warmup=20, collect=False)
    report_medians(med, rounds, "step",
                   [("numpy", "Tensor vs hand numpy", 1.2), ("torch", "Tensor vs PyTorch", 1.0)])


# -------------------------------------------------------------- (c) import

IMPORT_PROBE = """
import sys, time
import numpy
t = time.perf_counter()
import bpkit
bpkit.Tensor; bpkit.Value; bpkit.nn; bpkit.optim; bpkit.functional; bpkit.gradcheck
dt = time.perf_counter() - t
heavy = [m for m in ("matplotlib", "sympy", "ipywidgets") if m in sys.modules]
print(dt, ",".join(heavy))
"""


def bench_import(repeats):
    print("\n(c) import bpkit (+ Tensor, Value, nn, optim, functional, gradcheck) beyond numpy, fresh interpreters")
    costs, heavy = [], set()
    for _ in range(max(repeats, 5)):
        out = subprocess.run([sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True,
                             cwd=ROOT, env=os.environ, check=True).stdout.split()
        costs.append(float(out[0]))
        heavy.update(m for m in (out[1].split(",") if len(out) > 1 else []) if m)
    cost = statistics.median(costs)
    report("import bpkit beyond numpy", f"{cost:.3f} s", cost <= 0.3, "<= 0.3 s",
           f" (median of {len(costs)}, min {min(costs):.3f} s)")
    ok = not heavy
    report("heavy modules loaded by import bpkit", ", ".join(sorted(heavy)) or "none", ok,
           "none of matplotlib, sympy, ipywidgets")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", metavar="{value,tensor,conv,rnn,import}",
                        help="which benchmarks to run (default: all)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="rounds for (a) and (c); (b) runs 60x as many (default 7)")
    args = parser.parse_args(argv)
    parts = args.parts or ["value", "tensor", "conv", "rnn", "import"]
    unknown = set(parts) - {"value", "tensor", "conv", "rnn", "import"}
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))} (choose from value, tensor, conv, rnn, import)")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"BLAS threads pinned to 1")
    if "value" in parts:
        bench_value(args.repeats)
    if "tensor" in parts:
        bench_tensor(args.repeats)
    if "conv" in parts:
        from conv import bench_cnn, bench_conv
        bench_conv(args.repeats)
        bench_cnn()
    if "rnn" in parts:
        from rnn import bench_gru
        bench_gru(args.repeats)
    if "import" in parts:
        bench_import(args.repeats)
    print()
    if failures:
        print("targets missed: " + "; ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
