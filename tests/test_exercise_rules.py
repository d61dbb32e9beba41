"""The exercise rules every chapter keeps (CONTRIBUTING.md, "Exercises").

No line of code from a solution block (ignoring trivial ones such as
``return out``) may appear in the learner's copy of that cell (its docstring
included) or in the exercise's first hint: the learner builds, not transcribes.
Lines are compared without white space, and an assignment or a return is also
compared by its right-hand side, so ``z = X @ W + b`` is found as "X @ W + b"
in a docstring.
"""
import re
from pathlib import Path

import nbformat
import pytest

from bpkit.build import BEGIN, END, EXERCISE_ID
from bpkit.exercises import get_exercise

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))

_ASSIGN = re.compile(r"^(?:return\s+|[\w\[\], .]+?\s*(?:[-+*/@]?=)(?!=)\s*)(?P<rhs>.+)$")
_TRIVIAL = re.compile(r"^[\w.]+$|^[-+]?\d[\d.e+-]*$|^[()\[\]{},:]*$")


def _squeeze(text):
    return re.sub(r"\s+", "", text)


def _code_lines(block):
    """The telling lines of a solution block: without comments, blanks and trivial lines."""
    for line in block:
        code = line.split("#", 1)[0].strip()
        if not code or code.startswith(("import ", "from ")):
            continue
        forms = {_squeeze(code)}
        match = _ASSIGN.match(code)
        if match:
            forms.add(_squeeze(match.group("rhs")))
        forms = {f for f in forms if len(f) >= 6 and not _TRIVIAL.match(f)}
        if forms:
            yield line.strip(), forms


def _solution_blocks(source):
    """(exercise id, lines of the block) for every solution block of a code cell."""
    lines, exercise, block = source.split("\n"), None, None
    for line in lines:
        if BEGIN.match(line):
            block = []
        elif END.match(line):
            yield exercise, block
            block = None
        elif block is not None:
            block.append(line)
        else:
            found = EXERCISE_ID.findall(line)
            if found:
                exercise = found[-1]


def _cases():
    for path in SOLUTIONS:
        solved = nbformat.read(str(path), as_version=4)
        learner = nbformat.read(str(ROOT / "chapters" / path.name), as_version=4)
        copies = {c.get("id"): c.source for c in learner.cells}
        for cell in solved.cells:
            if cell.cell_type == "code" and "BEGIN SOLUTION" in cell.source:
                yield pytest.param(path.name, cell.get("id"), cell.source, copies.get(cell.get("id"), ""),
                                   id=f"{path.stem}-{cell.get('id')}")


@pytest.mark.parametrize("notebook, cell_id, solved, learner", list(_cases()))
def test_no_line_of_the_answer_in_the_stub_docstring_or_first_hint(notebook, cell_id, solved, learner):
    squeezed_copy = _squeeze(learner)
    for exercise_id, block in _solution_blocks(solved):
        hints = get_exercise(exercise_id).hints if exercise_id else ()
        first_hint = _squeeze(hints[0]) if hints else ""
        for line, forms in _code_lines(block):
            for form in forms:
                assert form not in squeezed_copy, (
                    f"{notebook}, cell {cell_id}: the answer's line {line!r} shows in the learner's copy")
                assert form not in first_hint, (
                    f"{notebook}, Exercise {exercise_id}: the answer's line {line!r} is in the first hint")
