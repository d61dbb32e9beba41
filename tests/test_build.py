"""bpkit.build: solutions/ -> chapters/, tested on a throwaway checkout (no kernel)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from bpkit import build
from bpkit.__main__ import main

FIXTURE = Path(__file__).parent / "fixtures" / "01_demo.ipynb"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A minimal course checkout: pyproject.toml, solutions/01_demo.ipynb, empty chapters/."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (tmp_path / "solutions").mkdir()
    (tmp_path / "chapters").mkdir()
    shutil.copy(FIXTURE, tmp_path / "solutions" / FIXTURE.name)
    return tmp_path


def chapter(root: Path, name: str = "01_demo.ipynb"):
    return nbformat.read(str(root / "chapters" / name), as_version=4)


def cell(nb, cell_id: str):
    return next(c for c in nb.cells if c.id == cell_id)


def run(root: Path, *argv: str) -> int:
    """The CLI, run from inside the checkout (as a learner would)."""
    old = os.getcwd()
    os.chdir(root / "solutions")  # any folder inside the checkout will do
    try:
        return main(["build", *argv])
    finally:
        os.chdir(old)


# -- the transformation ------------------------------------------------------


MSG = "write this part (the docstring above says what it must do), then run the check cell below"


def test_stub_says_what_to_do_never_how_and_names_the_exercise():
    source = ('def f(x):\n    """Exercise 2.3: f."""\n    ### BEGIN SOLUTION\n    # Hint: use np.exp.\n'
              '    return np.exp(x)\n    ### END SOLUTION\n')
    assert build.stub_source(source) == (
        'def f(x):\n    """Exercise 2.3: f."""\n'
        f'    raise NotImplementedError("Exercise 2.3: {MSG}")\n'
    )


def test_nothing_of_the_block_is_kept_comments_included():
    source = '"""Exercise 1.4"""\n### BEGIN SOLUTION\n# Hint: say "hi",\n#   then go.\ny = 1\n# not a hint\n### END SOLUTION'
    out = build.stub_source(source)
    assert "Hint" not in out and "then go" not in out and "not a hint" not in out and "y = 1" not in out
    compile(out, "<stub>", "exec")


def test_the_last_exercise_id_wins():
    source = "# Exercise 1.1 was above\ndef g():\n    '''Exercise 1.2'''\n\t### BEGIN SOLUTION\n\treturn 1\n\t### END SOLUTION"
    assert build.stub_source(source).endswith(f'\traise NotImplementedError("Exercise 1.2: {MSG}")')



def test_markdown_answer_block_but_not_a_fenced_example():
    source = (
        "Write it like this:\n```python\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n```\n"
        "Answer:\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    )
    assert build.stub_source(source, markdown=True) == (
        "Write it like this:\n```python\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n```\n"
        "Answer:\n_Your answer here._"
    )


def test_exercise_id_comes_from_outside_solution_blocks():
    """Two blocks in one cell: an id mentioned in the first block's hint is not the second's."""
    source = (
        'def f(x):\n    """Exercise 1.1: f."""\n    ### BEGIN SOLUTION\n    # Hint: as in Exercise 0.3.\n'
        "    a = x\n    ### END SOLUTION\n    ### BEGIN SOLUTION\n    return a\n    ### END SOLUTION\n"
        'def g(x):\n    """Exercise 1.2: g."""\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION'
    )
    out = build.stub_source(source)
    messages = [line.split('"')[1] for line in out.splitlines() if "raise" in line]
    assert [m.split(":")[0] for m in messages] == ["Exercise 1.1", "Exercise 1.1", "Exercise 1.2"]
    compile(out, "<stub>", "exec")


def test_stub_takes_the_indentation_of_the_code_not_the_marker():
    source = 'def f(x):\n    """Exercise 1.1"""\n### BEGIN SOLUTION\n    # Hint: h.\n    return x\n### END SOLUTION'
    out = build.stub_source(source)
    assert out.endswith(f'\n    raise NotImplementedError("Exercise 1.1: {MSG}")')
    compile(out, "<stub>", "exec")


def test_markers_with_a_stray_carriage_return_are_markers():
    source = '"""Exercise 1.1"""\r\n### BEGIN SOLUTION\r\nanswer = 42\r\n### END SOLUTION\r\n'
    assert "answer" not in build.stub_source(source)


@pytest.mark.parametrize(
    "source, problem",
    [
        ("'''Exercise 1.1'''\n### BEGIN SOLUTION\nx = 1\n", "has no '### END SOLUTION'"),
        ("x = 1\n### END SOLUTION\n", "without a '### BEGIN SOLUTION'"),
        ("'''Exercise 1.1'''\n### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside another"),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", "no 'Exercise N.M'"),
        # near-miss markers would hand the answer to the learner
        ("'''Exercise 1.1'''\n## BEGIN SOLUTION\nx = 1\n## END SOLUTION\n", "line 2 mentions a solution marker"),
        ("'''Exercise 1.1'''\n### BEGIN SOLUTION (a)\nx = 1\n### END SOLUTION\n", "line 2 mentions a solution marker"),
        ("'''Exercise 1.1'''\n### BEGIN SOLUTION\nx = 1\n#### END SOLUTION\n### END SOLUTION\n", "line 4 mentions"),
    ],
)
def test_marker_errors_name_notebook_and_cell(source, problem):
    with pytest.raises(build.BuildError, match=problem) as info:
        build.stub_source(source, where="solutions/x.ipynb: cell 4")
    assert str(info.value).startswith("solutions/x.ipynb: cell 4: ")
    assert "\n" not in str(info.value)


def test_build_writes_the_learners_copy(checkout):
    assert run(checkout) == 0
    nb = chapter(checkout)
    source = nbformat.read(str(FIXTURE), as_version=4)

    ex11 = cell(nb, "ex11").source
    assert "return 2 * x" not in ex11
    assert '    raise NotImplementedError("Exercise 91.1: write this part' in ex11 and "multiply" not in ex11
    ex12 = cell(nb, "ex12").source
    assert '        raise NotImplementedError("Exercise 91.2: write this part' in ex12
    assert ex12.endswith("    return y")
    compile(ex11, "ex11", "exec"), compile(ex12, "ex12", "exec")

    question = cell(nb, "question").source
    assert question == "Why does doubling commute with addition?\n\n_Your answer here._\n\nOn we go."

    ids = [c.id for c in nb.cells]
    assert "secret" not in ids  # instructor cell dropped
    assert ids == [c.id for c in source.cells if c.id != "secret"]  # ids and order kept

    for c in nb.cells:
        assert set(c.metadata) <= {"tags"}
        if c.cell_type == "code" and c.id != "picture":
            assert c.execution_count is None and c.outputs == []
    picture = cell(nb, "picture")
    assert [o.get("text") for o in picture.outputs] == ["a static picture\n", None]
    assert picture.outputs[1].data == {"text/plain": "42"}
    # nbval (also --nbval-lax) rejects outputs on a cell that was never run
    assert picture.execution_count == cell(source, "picture").execution_count is not None
    assert picture.metadata.tags == ["keep-output", "nbval-ignore-output"]
    assert set(nb.metadata) == {"kernelspec", "language_info"}


def test_build_is_byte_stable(checkout):
    assert run(checkout) == 0
    path = checkout / "chapters" / "01_demo.ipynb"
    manifest = checkout / "chapters" / build.MANIFEST_NAME
    first, first_manifest = path.read_bytes(), manifest.read_bytes()
    assert first == build.render_bytes(checkout / "solutions" / "01_demo.ipynb")
    assert first.endswith(b"}\n") and first.startswith(b'{\n "cells": [\n  {\n')  # nbformat, indent 1
    assert run(checkout) == 0
    assert path.read_bytes() == first and manifest.read_bytes() == first_manifest
    record = json.loads(first_manifest)["chapters"]
    assert list(record) == ["01_demo.ipynb"] and len(record["01_demo.ipynb"]) == 64


def test_check_detects_missing_drift_and_stale(checkout, capsys):
    assert run(checkout, "--check") == 1
    assert "chapters/01_demo.ipynb: missing" in capsys.readouterr().out
    assert not (checkout / "chapters" / "01_demo.ipynb").exists()  # --check writes nothing

    assert run(checkout) == 0
    capsys.readouterr()
    assert run(checkout, "--check") == 0
    assert "OK" in capsys.readouterr().out

    solution = checkout / "solutions" / "01_demo.ipynb"
    nb = nbformat.read(str(solution), as_version=4)
    nb.cells[0].source += "\nMore prose."
    nbformat.write(nb, str(solution))
    assert run(checkout, "--check") == 1
    assert "chapters/01_demo.ipynb: differs" in capsys.readouterr().out
    assert run(checkout) == 0  # unedited chapter: rebuilt without complaint
    assert run(checkout, "--check") == 0
    capsys.readouterr()

    shutil.copy(FIXTURE, checkout / "chapters" / "09_gone.ipynb")
    assert run(checkout, "--check") == 1
    assert "chapters/09_gone.ipynb: stale, no solutions/09_gone.ipynb (build did not make it" in capsys.readouterr().out


def test_cells_without_or_with_repeated_ids_get_stable_ids(checkout):
    """nbformat invents random ids for these on reading; build must write the same bytes every time."""
    solution = checkout / "solutions" / "01_demo.ipynb"
    data = json.loads(solution.read_text())
    del data["cells"][0]["id"]
    data["cells"][2]["id"] = data["cells"][1]["id"]
    solution.write_text(json.dumps(data))
    assert run(checkout) == 0
    written = (checkout / "chapters" / "01_demo.ipynb").read_bytes()
    ids = [c["id"] for c in json.loads(written)["cells"]]
    assert len(set(ids)) == len(ids) and ids[1] == data["cells"][1]["id"]
    assert written == build.render_bytes(solution)  # the same ids however the notebook is named
    assert run(checkout, "--check") == 0


def test_check_notices_an_out_of_date_manifest(checkout, capsys):
    assert run(checkout) == 0
    (checkout / "chapters" / build.MANIFEST_NAME).unlink()
    assert run(checkout, "--check") == 1
    assert "record for 01_demo.ipynb is out of date" in capsys.readouterr().out


def test_stale_chapter_made_by_build_is_removed(checkout):
    assert run(checkout) == 0
    (checkout / "solutions" / "01_demo.ipynb").rename(checkout / "solutions" / "02_demo.ipynb")
    assert run(checkout) == 0
    assert sorted(p.name for p in (checkout / "chapters").iterdir()) == [build.MANIFEST_NAME, "02_demo.ipynb"]
    assert run(checkout, "--check") == 0


def test_edited_chapter_survives_build_and_force_keeps_a_backup(checkout, capsys):
    assert run(checkout) == 0
    path = checkout / "chapters" / "01_demo.ipynb"
    learner = path.read_bytes().replace(b"raise NotImplementedError", b"return 2 * x  #")
    path.write_bytes(learner)
    solution = checkout / "solutions" / "01_demo.ipynb"
    solution.write_bytes(solution.read_bytes().replace(b"Two tiny", b"Two small"))
    capsys.readouterr()

    assert run(checkout) == 1
    out = capsys.readouterr().out
    assert "chapters/01_demo.ipynb: changed since build wrote it" in out and "build --force chapters/01_demo.ipynb" in out
    assert path.read_bytes() == learner
    assert sorted(p.name for p in (checkout / "chapters").iterdir()) == [build.MANIFEST_NAME, "01_demo.ipynb"]

    assert run(checkout, "--force") == 0
    backups = list((checkout / "chapters").glob("01_demo.ipynb.bak-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == learner
    assert "kept as chapters/01_demo.ipynb.bak-" in capsys.readouterr().out
    assert path.read_bytes() == build.render_bytes(solution)
    assert run(checkout, "--check") == 0  # the backup is not a notebook and not stale


def test_edited_chapter_that_already_matches_is_fine(checkout):
    """A chapter equal to what build would write is never 'edited', record or not."""
    assert run(checkout) == 0
    (checkout / "chapters" / build.MANIFEST_NAME).unlink()
    assert run(checkout) == 0
    assert run(checkout, "--check") == 0


def test_build_selects_notebooks_and_rejects_unknown(checkout, capsys):
    shutil.copy(FIXTURE, checkout / "solutions" / "02_more.ipynb")
    assert run(checkout, "02_more.ipynb") == 0
    assert [p.name for p in (checkout / "chapters").glob("*.ipynb")] == ["02_more.ipynb"]
    assert run(checkout, "nope.ipynb") == 1
    assert capsys.readouterr().err.strip() == "bpkit build: nope.ipynb: no solution notebook solutions/nope.ipynb"


def test_missing_exercise_id_is_a_one_line_error(checkout, capsys):
    solution = checkout / "solutions" / "01_demo.ipynb"
    solution.write_bytes(solution.read_bytes().replace(b"Exercise 91.2: x squared.", b"x squared."))
    assert run(checkout) == 1
    err = capsys.readouterr().err
    assert err.startswith("bpkit build: solutions/01_demo.ipynb: cell 4: solution block (line 5) has no 'Exercise N.M'")
    assert err.count("\n") == 1
    assert not (checkout / "chapters" / "01_demo.ipynb").exists()


def test_find_root_from_a_subfolder(checkout):
    (checkout / "chapters" / "deep").mkdir()
    assert build.find_root(checkout / "chapters" / "deep") == checkout.resolve()
