#!/usr/bin/env python3
"""Set up and run the course with one command each (standard library only).

    python3 course.py lab     # install (first time) and open the course in JupyterLab
    python3 course.py test    # install (first time) and run every test
    python3 course.py book    # install (first time) and build the course's website into site/
                              #   (--solutions toggle: each solution behind a collapsed "Show solution")

All three create a virtual environment in ``.venv`` beside this file and install
bpkit into it with everything the course and its tests need; the install is
redone only when ``pyproject.toml`` changes.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".bpkit-install-stamp"
FIRST_CHAPTER = "chapters/00_start_here.ipynb"
# JupyterLab 4 settings for the course: no "get notified about official Jupyter
# news?" pop-up on first start (the course runs offline; it could not fetch
# them anyway) and no check for newer JupyterLab versions.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def venv_python() -> Path:
    """The interpreter inside the course's virtual environment."""
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def ensure_environment() -> Path:
    """Create ``.venv`` and install ``bpkit[test]`` unless already up to date."""
    if sys.version_info < (3, 10):
        sys.exit(f"course.py: Python 3.10 or newer is needed, this is {sys.version.split()[0]}")
    python = venv_python()
    if not python.exists():
        print(f"course.py: creating a virtual environment in {VENV}", flush=True)
        try:
            venv.create(VENV, with_pip=True, clear=VENV.exists())
        except (OSError, subprocess.CalledProcessError) as exc:
            sys.exit(f"course.py: could not create {VENV} ({exc}); on Debian or Ubuntu, "
                     "install Python's venv support first: sudo apt install python3-venv")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text().strip() != wanted:
        print("course.py: installing bpkit and the course's dependencies (first run: a few minutes)", flush=True)
        pip = subprocess.run([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                              "-q", "-e", f"{ROOT}[test]"], capture_output=True, text=True)
        if pip.returncode != 0:  # pip's own output only when it failed: it says why
            print(pip.stdout, pip.stderr, sep="\n", file=sys.stderr)
            sys.exit("course.py: installing the course's dependencies failed (pip's output is above)")
        STAMP.write_text(wanted)
    return python


def lab_settings_file(prefix: Path = VENV) -> Path:
    """Where JupyterLab 4 reads settings overrides a package adds to an environment.

    ``<sys.prefix>/share/jupyter/lab/settings`` is JupyterLab's
    ``app_settings_dir``; every ``overrides.d/*.json`` there is merged into the
    defaults (a learner's own changes in the Settings Editor still win).
    """
    return prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.d" / "bpkit-course.json"


def write_lab_settings(prefix: Path = VENV) -> Path:
    """Write the course's JupyterLab settings into the environment at ``prefix``."""
    path = lab_settings_file(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(LAB_SETTINGS, indent=2) + "\n", encoding="utf-8")
    return path


BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def run(python: Path, *args: str) -> int:
    """Run ``python ...`` from the checkout, with the environment activated.

    ``.venv``'s scripts come first on PATH, so ``!python -m bpkit ...`` in a
    notebook uses the course's Python. (JupyterLab's terminal runs your shell's
    start-up files, which may put pyenv or conda first again: type
    ``.venv/bin/python -m bpkit ...`` there.)
    """
    print("course.py: $", "python", *args, flush=True)
    env = dict(os.environ, VIRTUAL_ENV=str(VENV))
    # numpy's BLAS on one thread in every kernel: the course's matrices are small, and on a busy
    # machine (a shared hub, or tests beside other jobs) threads only contend (10x slower measured)
    for name in BLAS_THREADS:
        env.setdefault(name, "1")
    env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])
    return subprocess.run([str(python), *args], cwd=ROOT, env=env).returncode


def lab(extra: list[str]) -> int:
    """Open chapter 00 in JupyterLab, serving the whole course folder (prints the URL when headless).

    The server's root is the course folder (not ``chapters/``), so the file
    browser shows README.md, chapters/ and solutions/, and a terminal opened in
    JupyterLab starts there: the commands the chapters teach
    (``.venv/bin/python -m bpkit check chapters/01_neurons.ipynb``) work as written.
    """
    python = ensure_environment()
    write_lab_settings()
    headless = sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    # a file given alone would make its folder (chapters/) the server's root;
    # default_url makes the printed URL (headless) open chapter 00 as well
    args = ["-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT}", f"--LabApp.default_url=/lab/tree/{FIRST_CHAPTER}",
            FIRST_CHAPTER]
    if headless:
        args.append("--no-browser")
        print("course.py: no screen found; open the URL printed below in your browser", flush=True)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and some hubs run as root
        args.append("--allow-root")
    return run(python, *args, *extra)


def test(extra: list[str]) -> int:
    """Every test: bpkit's unit tests, strict nbval on solutions/, lax nbval on chapters/."""
    python = ensure_environment()
    suites = [
        ["-m", "pytest", "tests", *extra],
        ["-m", "pytest", "--nbval", "solutions", *extra],
        ["-m", "pytest", "--nbval-lax", "chapters", *extra],
    ]
    failed = []
    for suite in suites:
        if not _has_notebooks(suite):
            print(f"course.py: no notebooks in {suite[3]}/ yet, skipped", flush=True)
        elif run(python, *suite) != 0:
            failed.append(" ".join(suite[2:]))
    if failed:
        print("course.py: FAILED:", "; ".join(failed), flush=True)
        return 1
    print("course.py: every test passed", flush=True)
    return 0


def book(extra: list[str]) -> int:
    """Build the course's static website into ``site/`` (``python -m bpkit book``; it prints where and how to open it)."""
    python = ensure_environment()
    return run(python, "-m", "bpkit", "book", *extra)


def _has_notebooks(suite: list[str]) -> bool:
    """True unless the suite is a notebook folder with no notebooks in it yet."""
    folder = suite[3] if suite[2].startswith("--nbval") else None
    return folder is None or any((ROOT / folder).glob("*.ipynb"))


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "book": book}
    if not argv or argv[0] not in commands:
        print(__doc__.strip())
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
