"""course.py, the two-command entry point (standard library only, run before bpkit exists)."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(monkeypatch):
    spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []
    monkeypatch.setattr(module, "ensure_environment", lambda: Path("/venv/bin/python"))
    monkeypatch.setattr(module, "run", lambda python, *args: calls.append(args) or 0)
    module.calls = calls
    return module


def test_without_a_command_it_prints_the_usage(course, capsys):
    assert course.main([]) == 2
    assert "python3 course.py lab" in capsys.readouterr().out


def test_lab_opens_the_first_chapter_and_prints_the_url_when_headless(course, monkeypatch):
    monkeypatch.setattr(course.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert course.main(["lab"]) == 0
    (args,) = course.calls
    assert args[:4] == ("-m", "jupyter", "lab", "chapters/00_start_here.ipynb")
    assert "--no-browser" in args


def test_test_runs_unit_tests_strict_nbval_on_solutions_and_lax_on_chapters(course):
    assert course.main(["test"]) == 0
    assert [args[:4] for args in course.calls] == [
        ("-m", "pytest", "tests"),
        ("-m", "pytest", "--nbval", "solutions"),
        ("-m", "pytest", "--nbval-lax", "chapters"),
    ]


def test_test_fails_when_any_suite_fails(course, monkeypatch):
    monkeypatch.setattr(course, "run", lambda python, *args: 1 if "--nbval" in args else 0)
    assert course.main(["test"]) == 1
