"""solutions/ -> chapters/: turn the solved notebooks into the learner's copies.

``python -m bpkit build [NOTEBOOK ...] [--check] [--force]``

Each ``solutions/NN_name.ipynb`` becomes ``chapters/NN_name.ipynb``:

* in code cells every block between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` (nbgrader's markers) becomes a stub at the block's
  indentation, ``raise NotImplementedError("Exercise N.M: write this part, ...")``:
  it says what to do, never how (hints live in ``bpkit/exercises/chNN.py``
  and come from the check, after a try; anything inside the block, comments
  included, is the solution's and stays out of the chapter); N.M is the last
  ``Exercise N.M`` written in the cell before the block, outside solution
  blocks (the docstring); the ``raise`` takes the indentation of the
  block's first line of code, so a marker indented oddly still gives valid
  Python; a code line that mentions ``BEGIN SOLUTION`` or ``END SOLUTION``
  but is not a marker on a line of its own is an error (it would leak the
  answer);
* in code cells every region from a line with ``### BEGIN HIDDEN TESTS`` to
  one with ``### END HIDDEN TESTS`` (nbgrader's hidden tests: the raising
  ``assert_passed`` of a check cell) is left out, markers included, as
  nbgrader's release does, so the learner's Run All reaches the end;
* in markdown cells such a block becomes ``_Your answer here._``;
* cells tagged ``instructor`` are dropped;
* outputs and execution counts are cleared, except in cells tagged
  ``keep-output`` (static pictures that do not depend on an exercise);
* metadata is tidied: the notebook keeps ``kernelspec`` and
  ``language_info``, a cell keeps its ``tags``.

The output is a pure function of the solution, written with nbformat's own
serialisation, so building twice changes nothing and ``--check`` can compare
bytes.

Learner protection: ``chapters/.build-manifest.json`` records the sha256 of
the bytes build last wrote for each chapter. A chapter whose bytes match
neither that record nor what build would write now has been edited (or run)
by a learner: build then refuses, writes nothing and names the file;
``--force`` first copies it to ``chapters/NN_name.ipynb.bak-YYYYmmdd-HHMMSS``
(a name that ``.gitignore``'s ``*.bak-*`` covers and that nbval, pytest and
build never mistake for a notebook).

The checkout's root is the nearest folder, from the current directory
upwards, that holds both ``pyproject.toml`` and ``solutions/``; failing that,
the folder above the installed ``bpkit`` package (an editable install lives
in the checkout). So ``python -m bpkit build`` works from anywhere inside it.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "BuildError",
    "BuildReport",
    "MANIFEST_NAME",
    "build",
    "check",
    "find_root",
    "render",
    "render_bytes",
    "strip_hidden_tests",
    "stub_source",
]

MANIFEST_NAME = ".build-manifest.json"
BEGIN = re.compile(r"^[ \t]*###[ \t]*BEGIN SOLUTION\s*$")  # \s also takes a stray \r
END = re.compile(r"^[ \t]*###[ \t]*END SOLUTION\s*$")
MARKER_LIKE = re.compile(r"#.*\b(BEGIN|END)\s+SOLUTION\b")  # a near-miss: a typo'd marker
INDENT = re.compile(r"^[ \t]*")
EXERCISE_ID = re.compile(r"Exercise\s+(\d+\.\d+)")
FENCE = re.compile(r"^[ \t]*(```|~~~)")
# nbgrader finds its hidden-test markers anywhere in a line (a substring): so does build
HIDDEN_BEGIN, HIDDEN_END = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"
NOTEBOOK_METADATA_KEPT = ("kernelspec", "language_info")
MARKDOWN_STUB = "_Your answer here._"


class BuildError(Exception):
    """An expected problem with the notebooks (one line, shown without a traceback)."""


# --------------------------------------------------------------------------
# Where things are


def find_root(start: Path | None = None) -> Path:
    """The checkout's root: nearest folder up from ``start`` (default: cwd) with
    ``pyproject.toml`` and ``solutions/``, else the folder above the package."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "solutions").is_dir():
            return folder
    beside_package = Path(__file__).resolve().parent.parent
    if (beside_package / "solutions").is_dir():
        return beside_package
    raise BuildError(
        f"cannot find the course checkout (a folder with pyproject.toml and solutions/) "
        f"from {here}; run this inside the checkout"
    )


def _select(root: Path, paths: list[str] | None) -> list[Path]:
    """The solution notebooks to build: all of ``solutions/*.ipynb``, or the
    ones named (a solution path, a chapter path or a bare file name)."""
    solutions = root / "solutions"
    if not paths:
        return sorted(p for p in solutions.glob("*.ipynb") if p.is_file())
    chosen = []
    for raw in paths:
        given = Path(raw)
        name = given.name if given.suffix == ".ipynb" else given.name + ".ipynb"
        candidate = solutions / name
        if not candidate.is_file():
            raise BuildError(f"{raw}: no solution notebook solutions/{name}")
        if candidate not in chosen:
            chosen.append(candidate)
    return chosen


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------
# The transformation (pure: notebook in, notebook out)


def _string_literal(text: str) -> str:
    """A double-quoted Python string literal for ``text`` (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


STUB_MESSAGE = "Exercise {id}: write this part (the docstring above says what it must do), then run the check cell below"


def _stub(marker: str, block: list[str], exercise: str) -> list[str]:
    """The line replacing one code block: a raise that names the exercise and says what to do.

    The raise is indented like the block's first line of code (the marker's
    own indentation only when the block has no code), so the stub compiles
    wherever the marker sits. Nothing of the block is kept: not even its
    comments, which belong to the solution.
    """
    code = [line for line in block if line.strip() and not line.lstrip().startswith("#")]
    indent = INDENT.match(code[0] if code else marker).group()
    return [f"{indent}raise NotImplementedError({_string_literal(STUB_MESSAGE.format(id=exercise))})"]


def _refuse_near_miss(line: str, index: int, where: str) -> None:
    """A code line that mentions BEGIN/END SOLUTION but is no marker (a typo such as
    ``## BEGIN SOLUTION`` or text after the marker) would hand the answer to the
    learner: refuse it."""
    if MARKER_LIKE.search(line):
        raise BuildError(
            f"{where}: line {index + 1} mentions a solution marker but is not '### BEGIN SOLUTION' or "
            f"'### END SOLUTION' on a line of its own: {line.strip()!r}"
        )


def stub_source(source: str, *, where: str = "cell", markdown: bool = False) -> str:
    """``source`` with every solution block replaced by its stub.

    ``where`` names the notebook and cell in error messages. In markdown
    (``markdown=True``) a block becomes ``_Your answer here._``, and markers
    inside fenced code (an example of the markers) are left alone.
    """
    lines = source.split("\n")
    out: list[str] = []
    fenced = False  # markdown only: markers shown inside ``` fences are examples, not answers
    exercise = None  # the last 'Exercise N.M' seen outside solution blocks
    i = 0
    while i < len(lines):
        line = lines[i]
        if markdown and FENCE.match(line):
            fenced = not fenced
        if fenced:
            out.append(line)
            i += 1
            continue
        if END.match(line):
            raise BuildError(f"{where}: '### END SOLUTION' (line {i + 1}) without a '### BEGIN SOLUTION' before it")
        if not BEGIN.match(line):
            if not markdown:
                _refuse_near_miss(line, i, where)
            found = EXERCISE_ID.findall(line)
            if found:
                exercise = found[-1]
            out.append(line)
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise BuildError(f"{where}: '### BEGIN SOLUTION' (line {j + 1}) inside another solution block (line {i + 1})")
            if not markdown:
                _refuse_near_miss(lines[j], j, where)
            j += 1
        if j == len(lines):
            raise BuildError(f"{where}: '### BEGIN SOLUTION' (line {i + 1}) has no '### END SOLUTION'")
        block = lines[i + 1 : j]
        if markdown:
            out.append(MARKDOWN_STUB)
        elif exercise is None:
            raise BuildError(
                f"{where}: solution block (line {i + 1}) has no 'Exercise N.M' before it in the cell "
                f"(write it in the function's docstring)"
            )
        else:
            out.extend(_stub(line, block, exercise))
        i = j + 1
    return "\n".join(out)


def strip_hidden_tests(source: str, *, where: str = "cell") -> str:
    """``source`` without its hidden-test regions (marker lines included), as nbgrader's release.

    Like nbgrader, a line that contains ``BEGIN HIDDEN TESTS`` (or ``END HIDDEN
    TESTS``) anywhere is a marker.
    """
    out: list[str] = []
    start = None
    for i, line in enumerate(source.split("\n")):
        if HIDDEN_BEGIN in line:
            if start is not None:
                raise BuildError(f"{where}: '### BEGIN HIDDEN TESTS' (line {i + 1}) inside another hidden-test region (line {start + 1})")
            start = i
        elif HIDDEN_END in line:
            if start is None:
                raise BuildError(f"{where}: '### END HIDDEN TESTS' (line {i + 1}) without a '### BEGIN HIDDEN TESTS' before it")
            start = None
        elif start is None:
            out.append(line)
    if start is not None:
        raise BuildError(f"{where}: '### BEGIN HIDDEN TESTS' (line {start + 1}) has no '### END HIDDEN TESTS'")
    return "\n".join(out)


def _cell_id(name: str, index: int) -> str:
    """A deterministic id for a cell whose id is missing or repeats an earlier one.

    Seeded by the file name alone, so the id does not depend on how the
    notebook was named on the command line.
    """
    return hashlib.sha1(f"{Path(name).name}:{index}".encode()).hexdigest()[:8]


def render(nb, name: str = "notebook"):
    """The learner's copy of solution notebook ``nb`` (a new NotebookNode).

    ``name`` names the notebook in error messages; its file name seeds the
    ids of cells whose id is missing or repeated.
    """
    import nbformat

    result = nbformat.v4.new_notebook()
    result.nbformat, result.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 5))
    result.metadata = nbformat.NotebookNode(
        {key: copy.deepcopy(nb.metadata[key]) for key in NOTEBOOK_METADATA_KEPT if key in nb.metadata}
    )
    cells, ids = [], set()
    for index, cell in enumerate(nb.cells):
        tags = list(cell.get("metadata", {}).get("tags", []))
        if "instructor" in tags:
            continue
        new = copy.deepcopy(cell)
        cell_id = cell.get("id")
        new["id"] = cell_id if cell_id and cell_id not in ids else _cell_id(name, index)
        ids.add(new["id"])
        new.metadata = nbformat.NotebookNode({"tags": tags} if "tags" in cell.get("metadata", {}) else {})
        where = f"{name}: cell {index}"
        if cell.cell_type == "code":
            new.source = stub_source(strip_hidden_tests(cell.source, where=where), where=where)
            # A kept output keeps its execution count too: nbval (even --nbval-lax)
            # rejects a cell that has outputs but was never run.
            if "keep-output" not in tags:
                new.execution_count = None
                new.outputs = []
        elif cell.cell_type == "markdown":
            new.source = stub_source(cell.source, where=where, markdown=True)
        cells.append(new)
    result.cells = cells
    return result


def render_bytes(solution: Path, name: str | None = None) -> bytes:
    """The exact bytes build writes for ``solution`` (nbformat's 1-space JSON + newline).

    Read without nbformat's validation, which gives a cell with no id (or a
    repeated one) a random id: ``render`` gives it a deterministic one, so
    building twice writes the same bytes.
    """
    import nbformat

    try:
        nb = nbformat.convert(nbformat.reader.reads(solution.read_text(encoding="utf-8")), 4)
    except Exception as exc:  # unreadable JSON, wrong version, ...
        raise BuildError(f"{name or solution}: cannot read notebook: {exc}".splitlines()[0]) from exc
    text = nbformat.writes(render(nb, name or solution.name))
    if not text.endswith("\n"):
        text += "\n"
    return text.encode("utf-8")


# --------------------------------------------------------------------------
# The manifest: what build last wrote


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(chapters: Path) -> dict[str, str]:
    path = chapters / MANIFEST_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BuildError(f"{path}: not valid JSON ({exc}); delete it and run build --force") from exc
    return dict(data.get("chapters", {}))


def _manifest_bytes(records: dict[str, str]) -> bytes:
    data = {
        "about": "sha256 of each chapter as `python -m bpkit build` last wrote it; "
        "a chapter that differs was edited by hand and build will not overwrite it without --force",
        "chapters": dict(sorted(records.items())),
    }
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode("utf-8")


# --------------------------------------------------------------------------
# build and check


@dataclass
class BuildReport:
    """What build or check found: lines to print and the exit code."""

    lines: list[str] = field(default_factory=list)
    code: int = 0


def _stale(root: Path, chapters: Path) -> list[Path]:
    """Chapters with no solution of the same name."""
    solutions = root / "solutions"
    return sorted(p for p in chapters.glob("*.ipynb") if p.is_file() and not (solutions / p.name).is_file())


def check(paths: list[str] | None = None, root: Path | None = None) -> BuildReport:
    """Compare chapters/ with what build would write; write nothing.

    Reports chapters that differ or are missing, manifest records that are
    out of date and (when no paths are given) chapters without a solution.
    """
    root = root or find_root()
    chapters = root / "chapters"
    manifest = _read_manifest(chapters)
    report = BuildReport()
    selected = _select(root, paths)
    for solution in selected:
        target = chapters / solution.name
        rel = _rel(target, root)
        wanted = render_bytes(solution, _rel(solution, root))
        if not target.is_file():
            report.lines.append(f"{rel}: missing (run `python -m bpkit build`)")
        elif target.read_bytes() != wanted:
            report.lines.append(f"{rel}: differs from what build would write from {_rel(solution, root)}")
        elif manifest.get(solution.name) != _sha256(wanted):
            report.lines.append(f"{_rel(chapters / MANIFEST_NAME, root)}: record for {solution.name} is out of date")
    if not paths:
        for path in _stale(root, chapters):
            fix = "build removes it" if path.name in manifest else "build did not make it and leaves it: delete it by hand"
            report.lines.append(f"{_rel(path, root)}: stale, no solutions/{path.name} ({fix})")
        names = {p.name for p in selected}
        for name in sorted(set(manifest) - names):
            report.lines.append(f"{_rel(chapters / MANIFEST_NAME, root)}: record for {name}, which has no solution")
    if report.lines:
        report.code = 1
        report.lines.append(f"build --check: {len(report.lines)} problem(s); run `python -m bpkit build`")
    else:
        report.lines.append(f"build --check: OK, {len(selected)} chapter(s) up to date")
    return report


def _backup_path(target: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = target.with_name(f"{target.name}.bak-{stamp}")
    n = 2
    while backup.exists():
        backup = target.with_name(f"{target.name}.bak-{stamp}-{n}")
        n += 1
    return backup


def build(paths: list[str] | None = None, force: bool = False, root: Path | None = None) -> BuildReport:
    """Write chapters/ from solutions/ (all, or the notebooks named).

    All or nothing: every notebook is rendered and every chapter checked for
    a learner's edits before anything is written.
    """
    root = root or find_root()
    chapters = root / "chapters"
    manifest = _read_manifest(chapters)
    report = BuildReport()

    writes: list[tuple[Path, bytes]] = []
    removals: list[Path] = []
    edited: list[Path] = []
    selected = _select(root, paths)
    for solution in selected:
        target = chapters / solution.name
        wanted = render_bytes(solution, _rel(solution, root))
        if target.is_file():
            current = target.read_bytes()
            if current == wanted:
                manifest[solution.name] = _sha256(wanted)
                continue
            if _sha256(current) != manifest.get(solution.name):
                edited.append(target)
        writes.append((target, wanted))
    if not paths:
        for path in _stale(root, chapters):
            if path.name not in manifest:
                report.lines.append(f"{_rel(path, root)}: no solution and not made by build; left alone")
                continue
            if _sha256(path.read_bytes()) != manifest[path.name]:
                edited.append(path)
            removals.append(path)
        for name in set(manifest) - {p.name for p in selected}:
            if not (chapters / name).exists():
                del manifest[name]

    if edited and not force:
        for path in edited:
            report.lines.append(f"{_rel(path, root)}: changed since build wrote it (your work?); not overwritten")
        names = " ".join(_rel(path, root) for path in edited)
        report.lines.append(
            f"build: nothing written; to replace them, run `python -m bpkit build --force {names}` "
            "(it first keeps a copy of each as <chapter>.bak-<date>)"
        )
        report.code = 1
        return report

    chapters.mkdir(exist_ok=True)
    for path in edited:
        backup = _backup_path(path)
        shutil.copy2(path, backup)
        report.lines.append(f"{_rel(path, root)}: your version kept as {_rel(backup, root)}")
    for target, data in writes:
        target.write_bytes(data)
        manifest[target.name] = _sha256(data)
        report.lines.append(f"wrote {_rel(target, root)}")
    for path in removals:
        path.unlink()
        manifest.pop(path.name, None)
        report.lines.append(f"removed {_rel(path, root)} (its solution is gone)")
    manifest_path = chapters / MANIFEST_NAME
    data = _manifest_bytes(manifest)
    if not manifest_path.is_file() or manifest_path.read_bytes() != data:
        manifest_path.write_bytes(data)
    if not writes and not removals:
        report.lines.append("build: chapters/ already up to date")
    return report
