"""What every benchmark shares: interleaved timing, one-thread BLAS, the report line and its verdict."""
import gc
import statistics
import time

INSTALL_HINT = 'pip install -e ".[bench]"'
failures = []


def report(label, ratio, ok, target, detail=""):
    status = "ok" if ok else "MISSED"
    print(f"{label}: {ratio} (target {target}) [{status}]{detail}")
    if not ok:
        failures.append(label)


def timed(fn, *args, collect=True):
    """Seconds for one call of fn(*args). With collect, garbage left by the
    previous contender is collected first, outside the timing, so no one pays
    for another's garbage (this favours micrograd, whose every node is a cycle)."""
    if collect:
        gc.collect()
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def interleave(contenders, repeats, warmup=1, collect=True):
    """{name: median seconds}, timing the contenders in turn, `repeats` rounds.

    collect: run the cycle collector before each timed call (see timed());
    off for array code, whose graphs hold no cycles, since a full collection
    before every millisecond-long step would also flush the CPU caches.
    """
    for _ in range(warmup):
        for fn, args in contenders.values():
            fn(*args)
    gc.collect()
    times = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, (fn, args) in contenders.items():
            times[name].append(timed(fn, *args, collect=collect))
    return {name: statistics.median(t) for name, t in times.items()}


def one_thread():
    """Limit every BLAS/OpenMP pool in the process to one thread (threadpoolctl), if installed.

    The *_NUM_THREADS variables bench.py sets before numpy loads already pin its BLAS; this
    also catches pools that a library (PyTorch's OpenMP, say) started with its own setting.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        print("threadpoolctl is not installed: relying on the *_NUM_THREADS variables alone")
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def report_medians(med, rounds, what, targets):
    """Print the medians, then one verdict per baseline: targets = [(name in med, label, max ratio), ...].

    A baseline missing from ``med`` (PyTorch not installed) is said, not failed.
    """
    print(f"median {what}: " + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in med.items()) + f" ({rounds} rounds)")
    for name, label, target in targets:
        if name not in med:
            print(f"{label}: {name} is not installed, so not measured")
            continue
        ratio = med["bpkit"] / med[name]
        report(label, f"{ratio:.2f}x its time", ratio <= target, f"<= {target}x")
