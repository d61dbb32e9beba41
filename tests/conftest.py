"""Shared test setup: a deterministic hypothesis profile for every test module.

``bpkit`` (the default) runs 30 examples per property with derandomize=True,
so CI sees the same cases every run, and no deadline, since timings on shared
CI machines jitter. ``HYPOTHESIS_PROFILE=thorough`` runs 300 random examples
for a local bug hunt.
"""
import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# kernels started by the notebook tests inherit this: numpy's BLAS on one thread (small matrices; on
# a loaded machine threads only contend, and a chapter ran 10x slower), as course.py sets it too
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

# tests/strategies.py is importable as `strategies` from every test module
sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile(
    "bpkit",
    deadline=None,
    max_examples=30,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bpkit"))


def pytest_terminal_summary(terminalreporter):
    """One line saying why the browser tests were skipped and how to enable them (pytest -q hides skip reasons)."""
    reasons = []
    for report in terminalreporter.stats.get("skipped", []):
        if "browser" in getattr(report, "keywords", {}) and isinstance(report.longrepr, tuple):
            reason = report.longrepr[2].removeprefix("Skipped: ")
            if reason not in reasons:
                reasons.append(reason)
    for reason in reasons:
        terminalreporter.write_line(reason, yellow=True)
