"""nbgrader end to end, as an instructor runs it (nbgrader 0.9, a test-only dependency).

A temporary course folder holds ``instructors/nbgrader_config.py`` and every
solution as ``source/<chapter>/<chapter>.ipynb`` (README.md, "For instructors"):

* ``nbgrader generate_assignment`` releases every chapter, and the release is
  ``chapters/`` (same cells, same sources) but for the stub's first words;
* on two chapters, three submissions made from the release (every exercise
  solved, none, exactly one) go through ``nbgrader autograde``: full marks,
  zero, that exercise's points; ``python -m bpkit check --csv`` on the same
  submissions agrees exercise by exercise; and the only errors in the
  autograded blank copy are the hidden tests' (its Run All reached the end).

Marked ``nbgrader``, which pyproject's addopts deselect: ``python3 course.py
test`` (a learner's machine) skips them, ``.ci/run`` runs them with
``python -m pytest -m nbgrader tests``. About two minutes on 2 cores.
"""
from __future__ import annotations

import copy
import csv
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.nbgrader
pytest.importorskip("nbgrader")

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
CHAPTERS = [p.stem for p in SOLUTIONS]
AUTOGRADED = [stem for stem in ("01_neurons", "02_activations") if stem in CHAPTERS]
BPKIT_STUB_WORDS = re.compile(r'raise NotImplementedError\("Exercise \d+\.\w+: ')


def _env() -> dict:
    """This Python's scripts first on PATH: nbgrader calls `alembic`, the kernelspec calls `python`."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _run(course: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", *args], cwd=course, env=_env(), capture_output=True,
                          text=True, timeout=900)
    if ok:
        assert proc.returncode == 0, f"{' '.join(args)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """The course folder, every chapter released with `nbgrader generate_assignment`."""
    folder = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "instructors" / "nbgrader_config.py", folder)
    for path in SOLUTIONS:
        (folder / "source" / path.stem).mkdir(parents=True)
        shutil.copy(path, folder / "source" / path.stem / path.name)
    for stem in CHAPTERS:
        _run(folder, "nbgrader", "generate_assignment", stem)
    return folder


@pytest.mark.parametrize("stem", CHAPTERS)
def test_the_release_of_every_chapter_is_the_chapter(course, stem):
    release = nbformat.read(str(course / "release" / stem / f"{stem}.ipynb"), as_version=4)
    chapter = nbformat.read(str(ROOT / "chapters" / f"{stem}.ipynb"), as_version=4)
    assert [c.get("id") for c in release.cells] == [c.get("id") for c in chapter.cells]
    for mine, theirs in zip(release.cells, chapter.cells):  # the stubs differ in their first words only
        wanted = theirs.source if not _nbgrader_meta(mine).get("solution") else \
            BPKIT_STUB_WORDS.sub('raise NotImplementedError("', theirs.source)
        assert mine.source == wanted, f"{stem}: cell {mine.get('id')}"
    text = (course / "release" / stem / f"{stem}.ipynb").read_text(encoding="utf-8")
    assert "HIDDEN TESTS" not in text and "assert_passed" not in text and "BEGIN SOLUTION" not in text


def _submit(course: Path, stem: str, student: str, solved: set[str]) -> Path:
    """The release with the solution cells named in ``solved`` answered as in source/."""
    release = nbformat.read(str(course / "release" / stem / f"{stem}.ipynb"), as_version=4)
    source = nbformat.read(str(course / "source" / stem / f"{stem}.ipynb"), as_version=4)
    answers = {_nbgrader_meta(c)["grade_id"]: c.source for c in source.cells if _nbgrader_meta(c).get("solution")}
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if _nbgrader_meta(cell).get("grade_id") in solved:
            cell.source = answers[_nbgrader_meta(cell)["grade_id"]]
    path = course / "submitted" / student / stem / f"{stem}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("stem", AUTOGRADED)
def test_autograde_gives_full_zero_and_one_exercise_and_bpkit_check_agrees(course, stem):
    from nbgrader.api import Gradebook

    source = nbformat.read(str(course / "source" / stem / f"{stem}.ipynb"), as_version=4)
    solutions = [_nbgrader_meta(c)["grade_id"] for c in source.cells if _nbgrader_meta(c).get("solution")]
    points = {_nbgrader_meta(c)["grade_id"]: _nbgrader_meta(c)["points"] for c in source.cells
              if _nbgrader_meta(c).get("grade")}
    one = solutions[1]  # not the first: a score that only counts cells in order would show
    one_check = one.replace("-solution", "-check")
    wanted = {"solved": {g: p for g, p in points.items()},
              "blank": {g: 0 for g in points},
              "one": {g: (p if g == one_check else 0) for g, p in points.items()}}
    paths = [_submit(course, stem, "solved", set(solutions)), _submit(course, stem, "blank", set()),
             _submit(course, stem, "one", {one})]

    _run(course, "nbgrader", "autograde", stem, "--create")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, scores in wanted.items():
            submitted = gradebook.find_submission_notebook(stem, stem, student)
            assert {g.name: g.score for g in submitted.grades} == scores, student
            assert submitted.score == sum(scores.values()) and submitted.max_score == sum(points.values())

    blank = nbformat.read(str(course / "autograded" / "blank" / stem / f"{stem}.ipynb"), as_version=4)
    for cell in blank.cells:  # the hidden tests raise; nothing else does, so the release's Run All ends
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                assert _nbgrader_meta(cell).get("grade") and output["ename"] == "AssertionError", cell.source
    solved = nbformat.read(str(course / "autograded" / "solved" / stem / f"{stem}.ipynb"), as_version=4)
    assert not [o for c in solved.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]

    proc = _run(course, "bpkit", "check", "--csv", *(str(p.relative_to(course)) for p in paths), ok=False)
    assert proc.returncode == 1, proc.stderr  # not everything passed
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    seen = {}
    for row in rows:
        seen.setdefault(row["learner"], {})[f"ex-{row['exercise'].replace('.', '-')}-check"] = float(row["score"])
        assert row["status"] in (("passed",) if row["score"] != "0" else ("not yet",)), row
    assert seen == {student: {g: float(s) for g, s in scores.items()} for student, scores in wanted.items()}
