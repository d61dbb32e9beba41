"""``python -m bpkit doctor``: can this environment run the course?

Each check is a small function returning a ``Check`` (OK, or PROBLEM with a
concrete fix), so the tests can call them one by one. ``main`` prints one
line per check and returns 1 if any found a problem.
"""
from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Check",
    "REQUIREMENTS",
    "check_jupyterlab",
    "check_kernel",
    "check_package",
    "check_python",
    "check_widgets",
    "main",
    "run_all",
]

MIN_PYTHON = (3, 10)
# the fixes name this very interpreter: a bare `python` may be another one without the course
PIP = f"{sys.executable} -m pip install"
INSTALL_FIX = f'run `python3 course.py lab` (it installs everything), or `{PIP} -e ".[test]"` in the checkout'

# distribution name -> minimum version (pyproject.toml's dependencies; a test keeps them equal)
REQUIREMENTS = {
    "numpy": "1.24",
    "matplotlib": "3.7",
    "ipywidgets": "8.0",
    "jupyterlab": "4.0",
    "nbval": "0.11",
    "sympy": "1.12",
    "nbformat": "5.9",
    "nbclient": "0.8",
    "ipykernel": "6.20",
    "scikit-learn": "1.3",
    "scipy": "1.10",
    "tqdm": "4.60",
    "mnist1d": "0.0.2",
    "threadpoolctl": "3.1",
    "bpkit": "0.1",
}


@dataclass
class Check:
    """One line of the report: what was checked, whether it is fine, and how to fix it."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""

    def line(self) -> str:
        text = f"{'OK' if self.ok else 'PROBLEM':<8} {self.name}" + (f": {self.detail}" if self.detail else "")
        return text if self.ok or not self.fix else f"{text}\n         fix: {self.fix}"


def _version_tuple(text: str) -> tuple[int, ...]:
    """'1.26.4' -> (1, 26, 4); '2.0.0rc1' -> (2, 0, 0): enough for minimum checks."""
    parts = []
    for piece in text.split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    return tuple(parts)


def check_python(version_info=sys.version_info) -> Check:
    """Python 3.10 or newer (what pyproject.toml requires; bpkit uses 3.10 features)."""
    version = ".".join(str(v) for v in tuple(version_info)[:3])
    ok = tuple(version_info)[:2] >= MIN_PYTHON
    return Check(
        "Python", ok, f"{version} ({sys.executable})" if ok else f"{version} is older than 3.10",
        "" if ok else "install Python 3.10 or newer, then run `python3 course.py lab` with it",
    )


def check_package(dist: str, minimum: str | None = None, version_of=importlib.metadata.version) -> Check:
    """Package ``dist`` is installed (and at least ``minimum``)."""
    try:
        version = version_of(dist)
    except importlib.metadata.PackageNotFoundError:
        return Check(dist, False, "not installed", INSTALL_FIX)
    if minimum and _version_tuple(version) < _version_tuple(minimum):
        return Check(dist, False, f"{version} is older than {minimum}", INSTALL_FIX)
    return Check(dist, True, version)


def check_jupyterlab(find_spec=importlib.util.find_spec, bin_dir: Path | None = None) -> Check:
    """JupyterLab can be imported and its command sits beside this Python."""
    if find_spec("jupyterlab") is None:
        return Check("JupyterLab", False, "not importable", INSTALL_FIX)
    bin_dir = bin_dir or Path(sys.executable).parent
    commands = [bin_dir / name for name in ("jupyter-lab", "jupyter-lab.exe")]
    if not any(c.exists() for c in commands):
        return Check("JupyterLab", False, f"importable, but no jupyter-lab command in {bin_dir}", INSTALL_FIX)
    return Check("JupyterLab", True, "importable; start it with `python3 course.py lab`")


def check_widgets(find_spec=importlib.util.find_spec, data_dirs: list[str] | None = None) -> Check:
    """The widget extension: ``jupyterlab_widgets`` importable and its labextension installed."""
    # --force-reinstall: when the package is there but its labextension folder is not, a plain
    # install would only say "already satisfied"
    fix = f"run `{PIP} --force-reinstall jupyterlab_widgets`, then restart JupyterLab"
    if find_spec("jupyterlab_widgets") is None:
        return Check("widget extension", False, "jupyterlab_widgets is not installed", fix)
    if data_dirs is None:
        from jupyter_core.paths import jupyter_path

        data_dirs = jupyter_path()
    for folder in data_dirs:
        extension = Path(folder) / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager"
        if extension.is_dir():
            return Check("widget extension", True, str(extension))
    return Check("widget extension", False, "jupyterlab_widgets is installed but its labextension folder is missing", fix)


def check_kernel(timeout: float = 60.0) -> Check:
    """A kernel of this Python starts, computes ``1+1`` and shuts down."""
    import nbformat
    from nbclient import NotebookClient

    from bpkit.scoreboard import _kernel_manager_class, _quiet_log

    fix = f"run `{PIP} ipykernel`, or `python3 course.py lab` to rebuild the environment"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1+1")])
    client = NotebookClient(
        nb, kernel_name="python3", kernel_manager_class=_kernel_manager_class(),
        timeout=int(timeout), startup_timeout=int(timeout), shutdown_kernel="immediate",
        extra_arguments=["--IPKernelApp.log_level=ERROR"], log=_quiet_log(),
    )
    start = time.monotonic()
    try:
        client.execute()
    except Exception as exc:  # any failure to start or run is the finding
        atexit.unregister(client._cleanup_kernel)  # nbclient would retry at exit and print a traceback
        detail = re.sub(r"\s+", " ", f"{type(exc).__name__}: {exc}").strip()[:200]
        return Check("kernel", False, f"did not start or run 1+1 ({detail})", fix)
    outputs = nb.cells[0].outputs
    got = outputs[0].get("data", {}).get("text/plain") if outputs else None
    if got != "2":
        return Check("kernel", False, f"1+1 gave {got!r}", fix)
    return Check("kernel", True, f"started, 1+1 = 2, shut down ({time.monotonic() - start:.1f} s)")


def run_all(kernel_timeout: float = 60.0):
    """Every check, in the order printed; a generator so the slow kernel check comes last."""
    yield check_python()
    for dist, minimum in REQUIREMENTS.items():
        yield check_package(dist, minimum)
    yield check_jupyterlab()
    yield check_widgets()
    yield check_kernel(kernel_timeout)


def main() -> int:
    """Print one line per check as it finishes; 1 if any problem."""
    problems = 0
    for check in run_all():
        print(check.line(), flush=True)
        problems += not check.ok
    if problems:
        print(f"doctor: {problems} problem(s); apply the fixes above and run `python -m bpkit doctor` again")
        return 1
    print("doctor: everything the course needs is here")
    return 0
