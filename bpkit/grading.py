"""nbgrader's cell metadata in ``solutions/``, derived from the notebooks themselves.

``python -m bpkit nbgrader-metadata [NOTEBOOK ...] [--check]``

nbgrader (0.9) grades a notebook by its cells' ``metadata.nbgrader``. Every
solution notebook gets it from this one command, which is idempotent (a
second run changes no byte) and derives everything from what the notebook
already says:

* a code cell with ``### BEGIN SOLUTION`` / ``### END SOLUTION`` blocks is a
  **solution cell**, ``grade_id`` ``ex-N-M-solution`` (N.M: the ``Exercise N.M``
  before the block, as ``build`` finds it; a second solution cell of the same
  exercise is ``ex-N-M-solution-2``, ...);
* the first code cell after it that calls ``check("N.M", ...)`` is the
  exercise's **autograded test cell**, ``ex-N-M-check``, worth ``points``
  (1 unless the cell already says otherwise: an instructor's points are
  kept). It ends with nbgrader's hidden test, added if missing::

      ### BEGIN HIDDEN TESTS
      from bpkit.exercises import assert_passed
      assert_passed("N.M")
      ### END HIDDEN TESTS

  ``check`` only prints a verdict (the learner's Run All reaches the end);
  ``assert_passed`` raises unless that verdict was "passed", which is what
  nbgrader scores. ``build`` and nbgrader's release leave the region out,
  ``nbgrader autograde`` puts it back;
* every other code or markdown cell is **read-only** (``locked``),
  ``grade_id`` ``cell-<the cell's id>``: nbgrader's release makes it
  non-editable and autograde runs the instructor's version of it. Raw cells
  get no metadata.

Refused, naming the notebook and cell: a solution block with no
``Exercise N.M`` before it, an exercise with no check cell after its
solution, one cell checking two exercises, a solution block in markdown
(nbgrader would want it graded by hand; bpkit cannot score it), a line that
nbgrader would take for a marker but that is not one on a line of its own
(nbgrader matches the words anywhere in a line), a cell without an id.

``--check`` writes nothing and exits 1 listing every cell whose metadata (or
hidden test) is missing or differs, and every duplicated ``grade_id``.
A notebook whose check cells got a hidden test changed its source: re-execute
it (outputs stay the same: the hidden test prints nothing when it passes).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

from bpkit.build import BEGIN, END, EXERCISE_ID, HIDDEN_BEGIN, HIDDEN_END, BuildError, _rel, _select, find_root

__all__ = ["SCHEMA_VERSION", "hidden_test", "main", "normalize", "problems", "read", "render_bytes"]

SCHEMA_VERSION = 3
CHECK_CALL = re.compile(r"\bcheck\(\s*[\"'](\d+\.\w+)[\"']")
SOLUTION_WORDS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_MARKER = re.compile(r"^[ \t]*###[ \t]*(BEGIN|END) HIDDEN TESTS\s*$")


def hidden_test(exercise_id: str) -> str:
    """The hidden-test region a check cell of ``exercise_id`` ends with."""
    return (f"### {HIDDEN_BEGIN}\n"
            "from bpkit.exercises import assert_passed\n"
            f'assert_passed("{exercise_id}")\n'
            f"### {HIDDEN_END}")


def _slug(exercise_id: str) -> str:
    return "ex-" + exercise_id.replace(".", "-")


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA_VERSION,
            "solution": solution}
    if grade:
        meta["points"] = points
    return meta


def _where(name: str, index: int, cell) -> str:
    return f"{name}: cell {index} (id {cell.get('id', '?')})"


def _refuse_stray_markers(cell, where: str) -> None:
    """nbgrader takes any line containing its marker words for a marker: only real markers may have them."""
    for number, line in enumerate(cell.source.split("\n"), start=1):
        words = [w for w in (*SOLUTION_WORDS, HIDDEN_BEGIN, HIDDEN_END) if w in line]
        if not words:
            continue
        if cell.cell_type != "code":
            raise BuildError(
                f"{where}: line {number} has {words[0]!r} in a {cell.cell_type} cell; nbgrader would take it "
                "for a marker (a markdown answer would have to be graded by hand, which bpkit cannot check): "
                "reword it")
        if not (BEGIN.match(line) or END.match(line) or HIDDEN_MARKER.match(line)):
            raise BuildError(
                f"{where}: line {number} contains {words[0]!r} but is not a marker on a line of its own "
                f"(nbgrader would take it for one): {line.strip()!r}")


def _solution_exercise(cell, where: str) -> str | None:
    """The exercise of a code cell's solution blocks (None: no block); one exercise per cell."""
    exercise, found = None, []
    inside = False
    for line in cell.source.split("\n"):
        if BEGIN.match(line):
            if exercise is None:
                raise BuildError(f"{where}: solution block has no 'Exercise N.M' before it in the cell "
                                 "(write it in the function's docstring)")
            inside = True
            if exercise not in found:
                found.append(exercise)
        elif END.match(line):
            inside = False
        elif not inside:
            ids = EXERCISE_ID.findall(line)
            if ids:
                exercise = ids[-1]
    if len(found) > 1:
        raise BuildError(f"{where}: solution blocks of exercises {', '.join(found)} in one cell; "
                         "nbgrader scores one exercise per solution cell: split the cell")
    return found[0] if found else None


def _marker_indentation(source: str) -> str:
    """Each BEGIN SOLUTION marker indented like its block's first line of code.

    nbgrader puts its stub at the marker's indentation (build takes the first
    code line's), so an oddly indented marker would break the release.
    """
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if not BEGIN.match(line):
            continue
        for later in lines[i + 1:]:
            if END.match(later):
                break
            if later.strip() and not later.lstrip().startswith("#"):
                indent = re.match(r"[ \t]*", later).group()
                lines[i] = indent + line.lstrip()
                break
    return "\n".join(lines)


def _with_hidden_test(source: str, exercise_id: str) -> str:
    """The check cell's source ending with exactly one hidden-test region, for ``exercise_id``."""
    kept, inside = [], False
    for line in source.split("\n"):
        if HIDDEN_BEGIN in line:
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif not inside:
            kept.append(line)
    visible = "\n".join(kept).rstrip()
    return f"{visible}\n{hidden_test(exercise_id)}"


def normalize(nb, name: str = "notebook"):
    """A copy of notebook ``nb`` with nbgrader's metadata (and hidden tests) as this module derives them.

    Only ``metadata.nbgrader`` of each cell, the hidden-test region of check
    cells and the indentation of solution markers can change.
    """
    nb = copy.deepcopy(nb)
    roles: dict[int, tuple] = {}
    solutions: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        where = _where(name, index, cell)
        if cell.cell_type in ("code", "markdown"):
            _refuse_stray_markers(cell, where)
            if not cell.get("id"):
                raise BuildError(f"{where}: the cell has no id; save the notebook with JupyterLab 4 "
                                 "(nbformat 4.5 gives every cell one): read-only cells' grade_ids come from it")
        if cell.cell_type == "code":
            exercise = _solution_exercise(cell, where)
            if exercise:
                solutions.setdefault(exercise, []).append(index)
                n = len(solutions[exercise])
                roles[index] = ("solution", exercise, _slug(exercise) + "-solution" + (f"-{n}" if n > 1 else ""))
    for exercise, cells in solutions.items():
        first = cells[0]
        check_cell = next((i for i in range(first + 1, len(nb.cells))
                           if nb.cells[i].cell_type == "code" and exercise in CHECK_CALL.findall(nb.cells[i].source)),
                          None)
        if check_cell is None:
            raise BuildError(f"{_where(name, first, nb.cells[first])}: Exercise {exercise} has no check cell "
                             f"(a cell calling check(\"{exercise}\", ...)) after its solution")
        if check_cell in roles:
            role, other, _ = roles[check_cell]
            what = "is a solution cell too" if role == "solution" else f"is already the check cell of {other}"
            raise BuildError(f"{_where(name, check_cell, nb.cells[check_cell])}: the check cell of Exercise "
                             f"{exercise} {what}; give each exercise a check cell of its own")
        if any(c > check_cell for c in cells):
            raise BuildError(f"{_where(name, check_cell, nb.cells[check_cell])}: a solution cell of Exercise "
                             f"{exercise} comes after its check cell")
        roles[check_cell] = ("check", exercise, _slug(exercise) + "-check")

    for index, cell in enumerate(nb.cells):
        old = cell.metadata.get("nbgrader", {})
        role = roles.get(index)
        if cell.cell_type == "raw":
            cell.metadata.pop("nbgrader", None)
            continue
        if role is None:
            if any(HIDDEN_BEGIN in line for line in cell.source.split("\n")):
                raise BuildError(f"{_where(name, index, cell)}: a hidden-test region outside a check cell")
            cell.metadata["nbgrader"] = _meta(f"cell-{cell['id']}", locked=True)
        elif role[0] == "solution":
            cell.source = _marker_indentation(cell.source)
            cell.metadata["nbgrader"] = _meta(role[2], solution=True)
        else:
            points = old.get("points") if old.get("grade") else None
            if not isinstance(points, (int, float)) or isinstance(points, bool) or points <= 0:
                points = 1
            cell.source = _with_hidden_test(cell.source, role[1])
            cell.metadata["nbgrader"] = _meta(role[2], grade=True, locked=True, points=points)
    return nb


def read(path: Path):
    """The notebook at ``path``, read without nbformat's validation (it could invent cell ids)."""
    import nbformat

    try:
        return nbformat.convert(nbformat.reader.reads(path.read_text(encoding="utf-8")), 4)
    except Exception as exc:
        raise BuildError(f"{path}: cannot read notebook: {exc}".splitlines()[0]) from exc


def _bytes(nb) -> bytes:
    import nbformat

    text = nbformat.writes(nb)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def render_bytes(path: Path, name: str | None = None) -> bytes:
    """The bytes of ``path`` with its metadata normalized (what the command would write)."""
    return _bytes(normalize(read(path), name or path.name))


def problems(nb, name: str = "notebook") -> list[str]:
    """Every cell of ``nb`` whose nbgrader metadata or hidden test is missing or differs, and every
    duplicated grade_id; [] when the notebook is in line. (Refusals raise BuildError.)"""
    found = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is None:
            continue
        if grade_id in seen:
            found.append(f"{_where(name, index, cell)}: grade_id {grade_id!r} repeats cell {seen[grade_id]}'s")
        else:
            seen[grade_id] = index
    wanted = normalize(nb, name)
    for index, (have, want) in enumerate(zip(nb.cells, wanted.cells)):
        where = _where(name, index, have)
        meta = want.metadata.get("nbgrader")
        if have.metadata.get("nbgrader") != meta:
            if "nbgrader" not in have.metadata:
                found.append(f"{where}: no nbgrader metadata (wanted {meta.get('grade_id') if meta else None!r})")
            else:
                found.append(f"{where}: nbgrader metadata {have.metadata['nbgrader']} differs from {meta}")
        if have.source != want.source:
            what = "hidden test" if meta and meta.get("grade") else "solution markers' indentation"
            found.append(f"{where}: its {what} is missing or differs from what nbgrader-metadata writes")
    return found


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    code: int = 0


def main(paths: list[str] | None = None, check: bool = False, root: Path | None = None) -> Report:
    """Normalize (or, with ``check``, only compare) the solution notebooks named, or all of them."""
    root = root or find_root()
    report = Report()
    writes = []
    for path in _select(root, paths):  # all or nothing: every notebook is normalized before any is written
        rel = _rel(path, root)
        nb = read(path)
        if check:
            report.lines.extend(problems(nb, rel))
            continue
        wanted_nb = normalize(nb, rel)
        wanted = _bytes(wanted_nb)
        if wanted != path.read_bytes():
            writes.append((path, rel, nb, wanted_nb, wanted))
    for path, rel, nb, wanted_nb, wanted in writes:
        path.write_bytes(wanted)
        changed = [i for i, (a, b) in enumerate(zip(nb.cells, wanted_nb.cells)) if a.source != b.source]
        line = f"wrote {rel}"
        if changed:
            line += (f" (the source of cell(s) {', '.join(map(str, changed))} changed: re-execute it, "
                     f"`python -m nbconvert --to notebook --execute --inplace {rel}`, then `python -m bpkit build`)")
        report.lines.append(line)
    if check:
        if report.lines:
            report.code = 1
            report.lines.append(f"nbgrader-metadata --check: {len(report.lines)} problem(s); "
                                "run `python -m bpkit nbgrader-metadata`")
        else:
            report.lines.append("nbgrader-metadata --check: OK")
    elif not report.lines:
        report.lines.append("nbgrader-metadata: solutions/ already up to date")
    return report
