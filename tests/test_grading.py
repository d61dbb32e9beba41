"""bpkit.grading: nbgrader's cell metadata in solutions/, from one idempotent command.

Fast (no kernel, no nbgrader): tests/test_nbgrader.py runs nbgrader itself.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from bpkit import build, grading
from bpkit.__main__ import main
from bpkit.build import BuildError
from bpkit.exercises import assert_passed, check, reset_results

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_solution_notebook_carries_its_nbgrader_metadata(path):
    """Each solution, test and read-only cell as `python -m bpkit nbgrader-metadata` writes it, no
    grade_id twice: the failure names the notebook and the cell (a new chapter: run the command)."""
    found = grading.problems(grading.read(path), f"solutions/{path.name}")
    assert not found, "run `python -m bpkit nbgrader-metadata`:\n" + "\n".join(found)
    assert grading.render_bytes(path) == path.read_bytes(), f"{path.name}: the command would rewrite it"


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_every_exercise_is_one_solution_cell_and_one_test_worth_points(path):
    nb = grading.read(path)
    meta = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
    solved = {m["grade_id"][: -len("-solution")] for m in meta if m["solution"]}
    tested = {m["grade_id"][: -len("-check")]: m["points"] for m in meta if m["grade"]}
    assert solved and solved == set(tested), path.name
    assert all(points > 0 for points in tested.values())
    checked = {"ex-" + i.replace(".", "-") for c in nb.cells if c.cell_type == "code"
               for i in grading.CHECK_CALL.findall(c.source)}
    assert set(tested) == checked  # every exercise the notebook checks is scored


def _demo():
    """The fixture chapter without its markdown answer (nbgrader would grade that by hand)."""
    nb = nbformat.read(str(FIXTURES / "01_demo.ipynb"), as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") != "question"]
    return nb


def _cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def test_normalize_derives_every_role_and_is_idempotent():
    nb = _demo()
    once = grading.normalize(nb, "demo")
    assert nb.cells[2].metadata == {}  # the input is left alone
    meta = {c.id: c.metadata.get("nbgrader") for c in once.cells}
    assert meta["ex11"] == {"grade": False, "grade_id": "ex-91-1-solution", "locked": False,
                            "schema_version": 3, "solution": True}
    assert meta["check12"] == {"grade": True, "grade_id": "ex-91-2-check", "locked": True, "points": 1,
                               "schema_version": 3, "solution": False}
    assert meta["intro"]["grade_id"] == "cell-intro" and meta["intro"]["locked"]
    assert meta["imports"]["grade_id"] == "cell-imports" and not meta["imports"]["solution"]
    assert _cell(once, "check11").source == ('double = check("91.1", double)\n' + grading.hidden_test("91.1"))
    assert _cell(once, "imports").metadata["ExecuteTime"] == {"end_time": "x"}  # other metadata kept
    twice = grading.normalize(once, "demo")
    assert nbformat.writes(twice) == nbformat.writes(once)
    assert grading.problems(once, "demo") == []


def test_an_instructors_points_are_kept_and_bad_ones_reset():
    nb = grading.normalize(_demo(), "demo")
    _cell(nb, "check11").metadata["nbgrader"]["points"] = 3
    _cell(nb, "check12").metadata["nbgrader"]["points"] = -2
    again = grading.normalize(nb, "demo")
    assert _cell(again, "check11").metadata["nbgrader"]["points"] == 3
    assert _cell(again, "check12").metadata["nbgrader"]["points"] == 1


def test_problems_name_the_notebook_and_cell_for_missing_and_duplicated_metadata():
    nb = grading.normalize(_demo(), "demo")
    del _cell(nb, "ex12").metadata["nbgrader"]
    _cell(nb, "use").metadata["nbgrader"]["grade_id"] = "cell-intro"
    _cell(nb, "check11").source = 'double = check("91.1", double)'  # its hidden test lost
    found = grading.problems(nb, "solutions/91_demo.ipynb")
    assert any(p.startswith("solutions/91_demo.ipynb: cell 4 (id ex12): no nbgrader metadata") for p in found)
    assert any("cell 8 (id use): grade_id 'cell-intro' repeats cell 0's" in p for p in found)
    assert any("cell 3 (id check11): its hidden test" in p for p in found)


@pytest.mark.parametrize("change, message", [
    (lambda nb: nb.cells.remove(_cell(nb, "check12")), "Exercise 91.2 has no check cell"),
    (lambda nb: setattr(_cell(nb, "ex12"), "source", _cell(nb, "ex11").source + "\n\n" + _cell(nb, "ex12").source),
     "solution blocks of exercises 91.1, 91.2 in one cell"),
    (lambda nb: (setattr(_cell(nb, "check11"), "source", "pass"),
                 setattr(_cell(nb, "check12"), "source", 'double = check("91.1", double)\nsquare = check("91.2", square)')),
     "is already the check cell of 91.1"),
    (lambda nb: setattr(_cell(nb, "intro"), "source", "Markers look like\n\n    ### BEGIN SOLUTION"),
     "nbgrader would take it for a marker"),
    (lambda nb: setattr(_cell(nb, "use"), "source", 'print("### END SOLUTION")'),
     "is not a marker on a line of its own"),
    (lambda nb: setattr(_cell(nb, "use"), "source", "### BEGIN HIDDEN TESTS\nassert 1\n### END HIDDEN TESTS"),
     "a hidden-test region outside a check cell"),
    (lambda nb: setattr(_cell(nb, "ex11"), "source", "def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION"),
     "has no 'Exercise N.M' before it"),
])
def test_refusals_name_the_cell(change, message):
    nb = _demo()
    change(nb)
    with pytest.raises(BuildError, match="demo: cell [0-9]+ \\(id [a-z0-9]+\\)") as info:
        grading.normalize(nb, "demo")
    assert message in str(info.value)


def test_an_oddly_indented_marker_is_aligned_with_its_code():
    """nbgrader indents its stub like the marker; build like the block's first line of code."""
    nb = _demo()
    _cell(nb, "ex11").source = ('def double(x):\n    """Exercise 91.1: twice x."""\n### BEGIN SOLUTION\n'
                                '    return 2 * x\n### END SOLUTION')
    fixed = grading.normalize(nb, "demo")
    assert _cell(fixed, "ex11").source.splitlines()[2] == "    ### BEGIN SOLUTION"


def test_build_leaves_metadata_and_hidden_tests_out_of_the_chapter():
    nb = _demo()
    assert nbformat.writes(build.render(grading.normalize(nb, "demo"), "demo")) == \
        nbformat.writes(build.render(nb, "demo"))


def test_strip_hidden_tests_like_nbgrader():
    source = "a = 1\n### BEGIN HIDDEN TESTS\nassert a == 2\n### END HIDDEN TESTS\nb = 2"
    assert build.strip_hidden_tests(source) == "a = 1\nb = 2"
    for broken, words in [("### BEGIN HIDDEN TESTS\nx", "has no"), ("x\n### END HIDDEN TESTS", "without"),
                          ("### BEGIN HIDDEN TESTS\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS", "inside")]:
        with pytest.raises(BuildError, match=words):
            build.strip_hidden_tests(broken, where="nb: cell 3")


def test_assert_passed_raises_unless_the_last_check_passed(capsys):
    from bpkit.exercises import get_exercise

    reset_results()
    with pytest.raises(AssertionError, match="not checked"):
        assert_passed("0.1")
    reference = get_exercise("0.1").reference
    check("0.1", lambda x, w, b: w * x)
    with pytest.raises(AssertionError, match=r"Exercise 0\.1 \(.*\): not yet"):
        assert_passed("0.1")
    check("0.1", reference)
    assert_passed("0.1")
    reset_results()
    capsys.readouterr()


def _checkout(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "solutions").mkdir()
    nbformat.write(_demo(), str(tmp_path / "solutions" / "91_demo.ipynb"))
    return tmp_path


def test_the_command_writes_once_then_finds_nothing_to_do(tmp_path, monkeypatch, capsys):
    root = _checkout(tmp_path)
    monkeypatch.chdir(root)
    assert main(["nbgrader-metadata", "--check"]) == 1
    out = capsys.readouterr().out
    assert "solutions/91_demo.ipynb: cell 0 (id intro): no nbgrader metadata" in out
    assert main(["nbgrader-metadata"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("wrote solutions/91_demo.ipynb (the source of cell(s) 3, 5 changed: re-execute it")
    written = (root / "solutions" / "91_demo.ipynb").read_bytes()
    assert main(["nbgrader-metadata"]) == 0
    assert capsys.readouterr().out.strip() == "nbgrader-metadata: solutions/ already up to date"
    assert (root / "solutions" / "91_demo.ipynb").read_bytes() == written
    assert main(["nbgrader-metadata", "--check", "91_demo"]) == 0
    assert capsys.readouterr().out.strip() == "nbgrader-metadata --check: OK"


def test_a_refusal_is_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    root = _checkout(tmp_path)
    shutil.copy(FIXTURES / "01_demo.ipynb", root / "solutions" / "92_markdown.ipynb")  # a markdown answer
    monkeypatch.chdir(root)
    assert main(["nbgrader-metadata"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "solutions/91_demo" not in err
    assert err.startswith("bpkit nbgrader-metadata: solutions/92_markdown.ipynb: cell 6 (id question)")
    assert b'"nbgrader"' not in (root / "solutions" / "91_demo.ipynb").read_bytes()  # nothing written
