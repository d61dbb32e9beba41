"""bpkit.doctor: each check on a good and a bad case, then the command itself."""
from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

from bpkit import doctor

ROOT = Path(__file__).resolve().parent.parent


def test_python_version():
    assert doctor.check_python((3, 11, 7)).ok
    old = doctor.check_python((3, 9, 18))
    assert not old.ok and "3.9.18 is older than 3.10" in old.detail and "course.py lab" in old.fix


def test_package_installed_missing_and_too_old():
    assert doctor.check_package("numpy", "1.24").ok
    assert doctor.check_package("nbformat").detail == importlib.metadata.version("nbformat")

    missing = doctor.check_package("surely-not-a-real-package-xyz")
    assert not missing.ok and missing.detail == "not installed" and 'pip install -e ".[test]"' in missing.fix

    old = doctor.check_package("numpy", "1.24", version_of=lambda dist: "1.21.6")
    assert not old.ok and old.detail == "1.21.6 is older than 1.24"
    assert doctor.check_package("numpy", "2.0", version_of=lambda dist: "2.1.0rc1").ok


def test_requirements_are_pyprojects_dependencies():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = dict(re.fullmatch(r"([\w.-]+)>=([\d.]+)", dep).groups() for dep in project["dependencies"])
    assert {**declared, "bpkit": project["version"].rsplit(".", 1)[0]} == doctor.REQUIREMENTS


def test_fixes_name_this_python():
    """A bare `python` in a fix may be another interpreter, without the course."""
    fixes = [doctor.check_package("surely-not-a-real-package-xyz").fix,
             doctor.check_widgets(find_spec=lambda name: None).fix]
    for fix in fixes:
        assert f"`{sys.executable} -m pip install" in fix


def test_jupyterlab(tmp_path):
    assert doctor.check_jupyterlab().ok
    assert not doctor.check_jupyterlab(find_spec=lambda name: None).ok
    no_command = doctor.check_jupyterlab(bin_dir=tmp_path)
    assert not no_command.ok and "no jupyter-lab command" in no_command.detail


def test_widget_extension(tmp_path):
    assert doctor.check_widgets().ok
    assert "jupyterlab_widgets is not installed" in doctor.check_widgets(find_spec=lambda name: None).detail
    assert not doctor.check_widgets(data_dirs=[str(tmp_path)]).ok
    (tmp_path / "labextensions" / "@jupyter-widgets" / "jupyterlab-manager").mkdir(parents=True)
    assert doctor.check_widgets(data_dirs=[str(tmp_path)]).ok


def test_check_line_format():
    assert doctor.Check("numpy", True, "2.0.0").line() == "OK       numpy: 2.0.0"
    assert doctor.Check("numpy", False, "not installed", "pip it").line() == (
        "PROBLEM  numpy: not installed\n         fix: pip it"
    )


def test_kernel_starts_and_the_command_runs(capsys):
    """One kernel start (about 1 s): the whole command, whose last check starts a kernel."""
    assert doctor.main() == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("OK       Python: 3.")
    assert any(line.startswith("OK       kernel: started, 1+1 = 2") for line in out)
    assert not any(line.startswith("PROBLEM") for line in out)
    assert out[-1] == "doctor: everything the course needs is here"


def test_problems_make_exit_code_1(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "run_all", lambda: iter([doctor.Check("x", True), doctor.Check("y", False, "bad", "fix y")]))
    assert doctor.main() == 1
    assert capsys.readouterr().out.splitlines()[-1].startswith("doctor: 1 problem(s)")


def test_kernel_that_dies_is_a_problem(monkeypatch):
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    from bpkit import scoreboard

    class Broken(AsyncKernelManager):
        @property
        def kernel_spec(self):
            return KernelSpec(argv=[sys.executable, "-c", "raise SystemExit(3)"], language="python")

    monkeypatch.setattr(scoreboard, "_kernel_manager_class", lambda: Broken)
    check = doctor.check_kernel(timeout=20)
    assert not check.ok and check.detail.startswith("did not start or run 1+1")
    assert "ipykernel" in check.fix
