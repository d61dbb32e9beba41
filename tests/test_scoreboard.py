"""bpkit.scoreboard: notebooks run headless in a real kernel with the real ``bpkit.exercises``.

The fixture notebook checks a tiny chapter 91 (``tests/fixtures/demo_exercises.py``).
Ten kernels start in this module (1-2 s each) plus a 4 s timeout.
"""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from bpkit import build, scoreboard
from bpkit.exercises import get_exercise
from bpkit.__main__ import main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory) -> dict[str, Path]:
    """The solved fixture, its built chapter and copies that fail, hang or kill the kernel."""
    folder = tmp_path_factory.mktemp("class")
    shutil.copy(FIXTURES / "demo_exercises.py", folder)
    solution = folder / "solved.ipynb"
    shutil.copy(FIXTURES / "01_demo.ipynb", solution)
    chapter = folder / "chapter.ipynb"
    chapter.write_bytes(build.render_bytes(solution))

    nb = nbformat.read(str(solution), as_version=4)
    ex12 = next(c for c in nb.cells if c.id == "ex12")
    ex12.source = "raise ValueError('oops')\n" + ex12.source  # square is never defined
    unknown = nbformat.v4.new_code_cell('check("91.9", double)')  # no such exercise
    nb.cells.insert(nb.cells.index(ex12) + 2, unknown)
    broken = folder / "broken.ipynb"
    nbformat.write(nb, str(broken))

    nb = nbformat.read(str(solution), as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.id == "check12")
    nb.cells.insert(index, nbformat.v4.new_code_cell("import time\ntime.sleep(60)"))
    slow = folder / "slow.ipynb"
    nbformat.write(nb, str(slow))
    nb.cells[index].source = "import os\nos._exit(1)"  # the kernel dies
    dies = folder / "dies.ipynb"
    nbformat.write(nb, str(dies))
    return {"solution": solution, "chapter": chapter, "broken": broken, "slow": slow, "dies": dies}


def test_expected_ids_from_check_calls():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('f = check("2.1", f)\ng = check( \'2.10\', g)\ncheck("2.1", f)'),
        nbformat.v4.new_markdown_cell('check("9.9", f)'),
        nbformat.v4.new_code_cell("# check(x) is not an exercise\ncheck(\"3.2\",h)"),
    ])
    assert scoreboard.expected_ids(nb) == ["2.1", "2.10", "3.2"]


def test_format_report_table_and_total():
    text = scoreboard.format_report({"notebook": "a.ipynb", "exercises": [
        {"id": "1.1", "status": "passed", "message": "passed"},
        {"id": "1.2", "status": "not yet", "message": "for x = 1,\nexpected 2, got 3"},
        {"id": "1.10", "status": "error", "message": "x" * 500},
    ]})
    lines = text.splitlines()
    assert lines[0] == "a.ipynb"
    assert lines[1].split() == ["id", "status", "message"]
    assert lines[3] == "  1.2   not yet  for x = 1, expected 2, got 3"
    assert lines[4].startswith("  1.10  error    xxx") and lines[4].endswith("...") and len(lines[4]) <= 100
    assert lines[-1] == "  1/3 passed"


def test_summary_has_one_line_per_notebook():
    text = scoreboard.format_summary([
        {"notebook": "alice/01_neurons.ipynb", "exercises": [
            {"id": "1.1", "status": "passed", "message": ""}, {"id": "1.2", "status": "not yet", "message": ""}]},
        {"notebook": "bob/01_neurons.ipynb", "exercises": [
            {"id": "1.1", "status": "error", "message": ""}, {"id": "1.2", "status": "passed", "message": ""}]},
        {"notebook": "carol/01_neurons.ipynb", "exercises": [], "error": "not valid JSON"},
    ])
    lines = text.splitlines()
    assert lines[0] == "summary of 3 notebooks"
    assert lines[1].split() == ["notebook", "passed", "not", "yet", "error"]
    assert lines[2].split() == ["alice/01_neurons.ipynb", "1/2", "1", "0"]
    assert lines[3].split() == ["bob/01_neurons.ipynb", "1/2", "0", "1"]
    assert lines[4].endswith("(could not be read)")


def test_solution_passes_human_output(notebooks, capsys):
    before = notebooks["solution"].read_bytes(), notebooks["solution"].stat().st_mtime_ns
    assert main(["check", str(notebooks["solution"])]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == [
        str(notebooks["solution"]),
        "  id    status  message",
        "  91.1  passed",
        "  91.2  passed",
        "  2/2 passed",
    ]
    assert (notebooks["solution"].read_bytes(), notebooks["solution"].stat().st_mtime_ns) == before


def test_chapter_broken_slow_and_dying_as_json(notebooks, capsys):
    names = ["chapter", "broken", "slow", "dies"]
    before = {n: (notebooks[n].read_bytes(), notebooks[n].stat().st_mtime_ns) for n in names}
    old = os.getcwd()
    os.chdir(notebooks["chapter"].parent)  # relative paths are reported as given
    try:
        code = main(["check", "--json", "--timeout", "4", *(notebooks[n].name for n in names)])
    finally:
        os.chdir(old)
    assert code == 1
    reports = json.loads(capsys.readouterr().out)
    assert [r["notebook"] for r in reports] == ["chapter.ipynb", "broken.ipynb", "slow.ipynb", "dies.ipynb"]
    chapter, broken, slow, dies = ({e["id"]: e for e in r["exercises"]} for r in reports)

    assert [e["status"] for e in chapter.values()] == ["not yet", "not yet"]
    assert "still open" in chapter["91.1"]["message"] and "multiply by 2" not in chapter["91.1"]["message"]

    assert list(broken) == ["91.1", "91.2", "91.9"]
    assert broken["91.1"]["status"] == "passed"
    assert broken["91.2"] == {
        "id": "91.2", "status": "error",
        "message": "its check cell failed: NameError: name 'square' is not defined "
                   "(after an earlier error in cell 4: ValueError: oops)",
    }
    assert broken["91.9"]["status"] == "error"
    assert broken["91.9"]["message"].startswith("its check cell failed: UnknownExerciseError:")

    assert slow["91.1"]["status"] == "passed"
    assert slow["91.2"] == {"id": "91.2", "status": "error", "message": "timed out after 4s"}

    assert dies["91.1"]["status"] == "passed"  # recorded before the kernel died
    assert dies["91.2"] == {"id": "91.2", "status": "error", "message": "the kernel died in cell 5"}

    for n in names:  # never written
        assert (notebooks[n].read_bytes(), notebooks[n].stat().st_mtime_ns) == before[n]


def test_unreadable_and_missing_notebooks(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    assert main(["check", str(bad)]) == 1
    assert "error: cannot read the notebook" in capsys.readouterr().out
    assert main(["check", str(tmp_path / "missing.ipynb")]) == 1
    assert capsys.readouterr().err.strip() == f"bpkit check: {tmp_path / 'missing.ipynb'}: no such notebook"


def test_run_adds_no_cell_to_the_notebook(tmp_path):
    """The results cell is the scoreboard's own: the notebook keeps its cells, which get their outputs."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    results, problem, stopped_at = scoreboard._run(nb, tmp_path, timeout=60)
    assert (results, problem, stopped_at) == ([], None, None)
    assert len(nb.cells) == 1 and nb.cells[0].outputs[0]["data"]["text/plain"] == "2"


def test_kernel_is_this_python():
    import sys

    km = scoreboard._kernel_manager_class()(kernel_name="python3")
    assert km.kernel_spec.argv[0] == sys.executable


# ----------------------------------------------------------------------------
# python -m bpkit check, no notebook: the learner's progress through the course

@pytest.fixture(scope="module")
def course_folder(notebooks, tmp_path_factory) -> Path:
    """A course folder as a learner has it: chapters/ with one chapter done and one untouched."""
    root = tmp_path_factory.mktemp("course")
    chapters = root / "chapters"
    chapters.mkdir()
    shutil.copy(FIXTURES / "demo_exercises.py", chapters)
    shutil.copy(notebooks["solution"], chapters / "00_done.ipynb")
    shutil.copy(notebooks["chapter"], chapters / "01_open.ipynb")
    shutil.copy(notebooks["chapter"], chapters / "01_open.ipynb.bak-20260101-120000")  # a backup: no chapter
    (root / "solutions").mkdir()
    return root


def test_check_without_a_notebook_shows_the_whole_course_from_where_the_terminal_opens(course_folder):
    """Run as the learner types it in JupyterLab's terminal: from the course folder, no argument."""
    result = subprocess.run([sys.executable, "-m", "bpkit", "check"], capture_output=True, text=True,
                            cwd=course_folder, timeout=300)
    assert result.returncode == 1, result.stderr  # not everything passed yet
    lines = result.stdout.splitlines()
    assert lines[0].startswith("your progress: 2 chapters in chapters/")
    assert lines[1].split() == ["00_done.ipynb", "2/2", "passed", "done"]
    assert lines[2].split() == ["01_open.ipynb", "0/2", "passed", "(2", "still", "open)"]
    assert lines[3] == "next: Exercise 91.1 in chapters/01_open.ipynb (still open)"
    assert len(lines) == 4 and result.stderr == ""


def test_progress_json_and_exit_code(course_folder, monkeypatch, capsys):
    """--json gives every chapter's report and the next exercise; 0 once everything passed."""
    monkeypatch.chdir(course_folder)
    assert main(["check", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert [r["notebook"] for r in out["chapters"]] == ["chapters/00_done.ipynb", "chapters/01_open.ipynb"]
    assert out["next"]["id"] == "91.1" and out["next"]["status"] == "not yet"

    done = {"notebook": "chapters/00_a.ipynb", "exercises": [{"id": "0.1", "status": "passed", "message": ""}]}
    monkeypatch.setattr(scoreboard, "run_notebook", lambda path, timeout: json.loads(json.dumps(done)))
    assert main(["check"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "next: nothing left: every exercise of every chapter passed"


def test_find_chapters_from_the_course_folder_from_chapters_and_from_below(course_folder, tmp_path):
    chapters = course_folder / "chapters"
    assert scoreboard.find_chapters(course_folder) == chapters.resolve()   # JupyterLab's terminal
    assert scoreboard.find_chapters(chapters) == chapters.resolve()        # a notebook's ! command
    assert scoreboard.find_chapters(course_folder / "solutions") == chapters.resolve()
    assert scoreboard.find_chapters(tmp_path) is None


def test_progress_outside_a_course_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("bpkit check: no chapters/ folder") and "name the notebooks" in err


def test_progress_does_not_run_itself_inside_its_own_kernels(course_folder, monkeypatch, capsys):
    """A chapter that ran `python -m bpkit check` would otherwise run the course again, forever."""
    monkeypatch.chdir(course_folder)
    monkeypatch.setenv(scoreboard.PROGRESS_ENV, "1")
    assert main(["check"]) == 1
    assert "already being measured" in capsys.readouterr().err


def test_progress_line_counts_open_wrong_and_errors():
    report = {"notebook": "chapters/03_x.ipynb", "exercises": [
        {"id": "3.1", "status": "passed", "message": ""},
        {"id": "3.2", "status": "not yet", "message": "Exercise 3.2 is still open: write its body"},
        {"id": "3.3", "status": "not yet", "message": "for x = 1, expected 2, got 3"},
        {"id": "3.4", "status": "error", "message": "raised ValueError"},
    ]}
    assert scoreboard.format_progress_line(report, 12) == \
        "  03_x.ipynb    1/4 passed (1 still open, 1 not yet right, 1 error)"
    assert scoreboard.next_open([report])["id"] == "3.2"
    unreadable = {"notebook": "chapters/04_y.ipynb", "exercises": [], "error": "cannot read the notebook: x"}
    assert scoreboard.format_progress_line(unreadable, 12) == "  04_y.ipynb    cannot read the notebook: x"


# ----------------------------------------------------------------------------
# --csv: a gradebook for a spreadsheet


def test_learner_names_from_the_paths():
    assert scoreboard.learner_names(["class/alice/01.ipynb", "class/bob/01.ipynb"]) == ["alice", "bob"]
    assert scoreboard.learner_names(["class/alice/01.ipynb", "class/alice/02.ipynb", "class/bob/01.ipynb"]) \
        == ["alice", "alice", "bob"]
    assert scoreboard.learner_names(["a/alice/week1/01.ipynb", "a/bob/week1/01.ipynb"]) == ["alice", "bob"]
    nbgrader = ["submitted/alice/01_neurons/01_neurons.ipynb"]  # nbgrader's layout, even alone
    assert scoreboard.learner_names(nbgrader) == ["alice"]
    assert scoreboard.learner_names(["course/autograded/bob/ch1/ch1.ipynb"]) == ["bob"]
    assert scoreboard.learner_names(["work/alice/01.ipynb"]) == ["alice"]  # one learner: the folder
    assert scoreboard.learner_names(["hand-ins/alice.ipynb", "hand-ins/bob.ipynb"]) == ["alice", "bob"]


def test_write_csv_one_row_per_learner_and_exercise(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('f = check("0.1", f)'),
                                         nbformat.v4.new_code_cell('g = check("0.2", g)')])
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "points": 2.5, "grade_id": "x", "locked": True,
                                        "solution": False, "schema_version": 3}
    for who in ("alice", "bob"):
        (tmp_path / who).mkdir()
        nbformat.write(nb, str(tmp_path / who / "01.ipynb"))
    reports = [
        {"notebook": str(tmp_path / "alice" / "01.ipynb"), "exercises": [
            {"id": "0.1", "status": "passed", "message": "passed"},
            {"id": "0.2", "status": "not yet", "message": 'for x = 1, expected "2", got 3'}]},
        {"notebook": str(tmp_path / "bob" / "01.ipynb"), "exercises": [
            {"id": "0.1", "status": "error", "message": "raised ValueError: oops, really"},
            {"id": "0.2", "status": "passed", "message": "passed"}]},
        {"notebook": str(tmp_path / "carol" / "01.ipynb"), "exercises": [], "error": "cannot read the notebook"},
    ]
    out = io.StringIO()
    scoreboard.write_csv(reports, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(scoreboard.CSV_COLUMNS)
    assert [r[:3] + r[4:7] for r in rows[1:]] == [
        ["alice", reports[0]["notebook"], "0.1", "passed", "1", "1"],
        ["alice", reports[0]["notebook"], "0.2", "not yet", "2.5", "0"],
        ["bob", reports[1]["notebook"], "0.1", "error", "1", "0"],
        ["bob", reports[1]["notebook"], "0.2", "passed", "2.5", "2.5"],
        ["carol", reports[2]["notebook"], "", "error", "", ""],
    ]
    assert rows[2][7] == 'for x = 1, expected "2", got 3' and rows[1][7] == ""  # quoted, not split
    assert rows[1][3] == get_exercise("0.1").title and rows[1][3]


def test_check_csv_runs_the_notebooks(notebooks, capsys):
    code = main(["check", "--csv", str(notebooks["solution"]), str(notebooks["chapter"])])
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["learner"], r["exercise"], r["status"], r["score"]) for r in rows] == [
        ("solved", "91.1", "passed", "1"), ("solved", "91.2", "passed", "1"),
        ("chapter", "91.1", "not yet", "0"), ("chapter", "91.2", "not yet", "0"),
    ]
