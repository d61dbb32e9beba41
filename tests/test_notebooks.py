"""The course's own notebooks: chapters/ is what build makes, and the scoreboard
sees every exercise passed in solutions/ and "not yet" in chapters/.

One kernel per notebook (a few seconds each); skipped while a folder has no
notebooks yet.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from bpkit import build, scoreboard

ROOT = Path(__file__).resolve().parent.parent


def _notebooks(folder: str) -> list:
    found = sorted((ROOT / folder).glob("*.ipynb"))
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no notebooks in {folder}/ yet"), id="none")]
    return [pytest.param(path, id=path.name) for path in found]


def test_chapters_are_what_build_makes():
    if not any((ROOT / "solutions").glob("*.ipynb")):
        pytest.skip("no notebooks in solutions/ yet")
    report = build.check(root=ROOT)
    assert report.code == 0, "\n".join(report.lines)


@pytest.mark.parametrize("path", _notebooks("solutions"))
def test_every_exercise_passes_in_the_solution(path):
    report = scoreboard.run_notebook(path)
    assert "error" not in report, report["error"]
    assert report["exercises"], f"{path.name}: no check(...) cells found"
    failing = [e for e in report["exercises"] if e["status"] != "passed"]
    assert not failing, scoreboard.format_report(report)


@pytest.mark.parametrize("path", _notebooks("chapters"))
def test_every_exercise_is_open_in_the_chapter(path):
    report = scoreboard.run_notebook(path)
    assert "error" not in report, report["error"]
    assert report["exercises"], f"{path.name}: no check(...) cells found"
    wrong = [e for e in report["exercises"] if e["status"] != "not yet"]
    assert not wrong, scoreboard.format_report(report)
    if (ROOT / "solutions" / path.name).is_file():  # the same exercises as the solution
        import nbformat

        solution = nbformat.read(str(ROOT / "solutions" / path.name), as_version=4)
        assert [e["id"] for e in report["exercises"]] == scoreboard.expected_ids(solution)
