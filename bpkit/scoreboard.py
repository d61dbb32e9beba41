"""The scoreboard: run notebooks headless and report every exercise.

``python -m bpkit check NOTEBOOK... [--json | --csv] [--timeout SECONDS]``

``python -m bpkit check`` with no notebook is the learner's progress through
the whole course: every chapter in ``chapters/`` (found in the current
folder, or the current folder itself when it is ``chapters/``, or above it),
one line each, then the next exercise that has not passed yet.

What an instructor runs over a class's notebooks, e.g.
``python -m bpkit check submissions/*/01_neurons.ipynb``. Each notebook runs
in a fresh kernel of *this* Python (the interpreter running the command, so
the kernel sees the same bpkit), with the notebook's folder as the working
directory, on an in-memory copy: the file is never written. A failing cell
does not stop the rest (as with Run All, ``check`` falls back to the
reference so later cells still run). An extra cell in the same kernel prints
``bpkit.exercises.results()`` as JSON, after each cell with a check call (so
what was recorded survives a kernel that later dies or hangs) and at the end.
The whole notebook gets ``--timeout`` seconds; a cell running over is
interrupted and the rest skipped.

``--csv`` prints a gradebook a spreadsheet opens: one row per learner and
exercise (``learner_names`` says how the learner is read from the path),
with the points of the exercise's check cell when the notebook carries
nbgrader's metadata (else 1) and the score (the points when it passed, else 0).

The exercises expected are the ids in the notebook's ``check("N.M", ...)``
calls; one with no recorded result is reported as an "error" saying why its
check cell did not run (the first error before it, or the timeout).
"""
from __future__ import annotations

import atexit
import csv
import json
import math
import re
import shutil
import sys
import time
from pathlib import Path

from bpkit.exercises.core import ERROR, NOT_YET, PASSED

__all__ = ["CSV_COLUMNS", "expected_ids", "exercise_points", "find_chapters", "format_progress_line",
           "format_report", "learner_names", "main", "next_open", "progress", "run_notebook", "write_csv"]

CHECK_CALL = re.compile(r"check\(\s*[\"'](\d+\.\d+)[\"']")
MARKER = "BPKIT-SCOREBOARD-RESULTS:"
RESULTS_CELL = (
    "import json as _bpkit_json\n"
    "from bpkit.exercises import results as _bpkit_results\n"
    f"print({MARKER!r} + _bpkit_json.dumps(_bpkit_results()))"
)
RESULTS_TIMEOUT = 30  # seconds for the extra cell, beyond the notebook's own time
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"  # NN_name.ipynb (a build backup ends in .bak-..., so it is not one)
PROGRESS_ENV = "BPKIT_CHECK_PROGRESS"  # set while the course's progress runs (its kernels inherit it)


def expected_ids(nb) -> list[str]:
    """The exercise ids checked in ``nb``'s code cells, in order of first appearance."""
    ids: list[str] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for found in CHECK_CALL.findall(cell.source):
                if found not in ids:
                    ids.append(found)
    return ids


def _one_line(text: str, limit: int = 200) -> str:
    text = re.sub(r"\s+", " ", str(text)).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_error(cells, upto: int | None = None) -> tuple[int, str] | None:
    """(index, 'Name: message') of the first error output in ``cells[:upto + 1]`` (all if upto is None)."""
    for index, cell in enumerate(cells):
        if upto is not None and index > upto:
            break
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, _one_line(f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": "))
    return None


def _why_unrecorded(cells, check_cell: int | None, problem: str | None) -> str:
    """Why an expected exercise has no result: its check cell's own error, the
    first error before it (the likely root cause), or the run's problem."""
    first = _first_error(cells, check_cell) or _first_error(cells)
    own = _first_error([cells[check_cell]]) if check_cell is not None else None
    if own:
        message = f"its check cell failed: {own[1]}"
        if first and first[0] != check_cell:
            message += f" (after an earlier error in cell {first[0]}: {first[1]})"
        return message
    if first:
        return f"its check cell did not run: {first[1]} (cell {first[0]})"
    return f"its check cell did not run: {problem}" if problem else "its check cell did not run"


def _kernel_manager_class():
    """An AsyncKernelManager whose kernel is always this interpreter's ipykernel.

    A kernelspec named ``python3`` found first in the user's or the system's
    Jupyter folders could point at another Python without bpkit; building the
    command from ``sys.executable`` avoids that.
    """
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class ThisPythonKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(
                    argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    display_name="Python 3 (bpkit)",
                    language="python",
                )
            return self._kernel_spec

    return ThisPythonKernelManager


def _quiet_log():
    """nbclient's timeout warnings would clutter the report; the report says it."""
    import logging

    log = logging.getLogger("bpkit.scoreboard.nbclient")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return log


def _parse_results(cell) -> tuple[list[dict] | None, str | None]:
    """(results, None) from the results cell's output, or (None, why not)."""
    for output in cell.outputs:
        if output.get("output_type") == "stream" and MARKER in output.get("text", ""):
            return json.loads(output["text"].split(MARKER, 1)[1].splitlines()[0]), None
        if output.get("output_type") == "error":
            return None, _one_line(f"could not read the results: {output['ename']}: {output['evalue']}")
    return None, "could not read the results (the results cell printed nothing)"


def _run(nb, folder: Path, timeout: float) -> tuple[list[dict] | None, str | None, int | None]:
    """Execute ``nb`` (in memory), reading the results after each check cell and at the end.

    Reading after each check cell keeps what was recorded even if the kernel
    later dies or hangs. Returns (results or None, the problem that stopped
    the run or None, index of the cell where it stopped or None). The cells
    of ``nb`` get their outputs; the results cell is added to a copy of its
    list only, so ``nb`` keeps just the notebook's own cells.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    deadline = time.monotonic() + timeout
    extra = nbformat.v4.new_code_cell(RESULTS_CELL)
    nb = nbformat.NotebookNode({**nb, "cells": [*nb.cells, extra]})  # nbclient needs the cell in nb
    extra_index = len(nb.cells) - 1
    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=_kernel_manager_class(),
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
        timeout_func=lambda cell: RESULTS_TIMEOUT if cell is extra else max(1, math.ceil(deadline - time.monotonic())),
        # on a timeout nbclient interrupts the kernel and waits for the cell's
        # last messages, so the next cell starts clean
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "TimeoutError", "evalue": f"the notebook ran over {timeout:g}s", "traceback": []},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up chatter on the terminal
        record_timing=False,
        shutdown_kernel="immediate",  # nothing to save: the notebook lives in memory
        log=_quiet_log(),
        startup_timeout=60,
    )
    results, problem, stopped_at, index = None, None, None, None

    def read_results():
        client.execute_cell(extra, extra_index, store_history=False)
        return _parse_results(extra)

    client.reset_execution_trackers()
    try:
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells[:extra_index]):
                if cell.cell_type != "code":
                    continue
                if time.monotonic() >= deadline:
                    problem, stopped_at = f"timed out after {timeout:g}s", index
                    break
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                if time.monotonic() >= deadline:
                    problem, stopped_at = f"timed out after {timeout:g}s", index
                    break
                if CHECK_CALL.search(cell.source):
                    results = read_results()[0] or results
            index = extra_index
            final, why_not = read_results()
            if final is None:
                return results, problem or why_not, stopped_at
            return final, problem, stopped_at
    except CellTimeoutError:  # the results cell itself hung (the kernel ignored the interrupt)
        return results, problem or "the kernel stopped answering", stopped_at if stopped_at is not None else index
    except DeadKernelError:
        atexit.unregister(client._cleanup_kernel)  # else nbclient retries at exit, with a traceback
        where = f" in cell {index}" if index is not None and index != extra_index else ""
        return results, f"the kernel died{where}", index
    except RuntimeError as exc:  # e.g. the kernel did not start
        atexit.unregister(client._cleanup_kernel)
        return results, _one_line(f"the kernel failed: {exc}"), index if index is not None else 0


def run_notebook(path: str | Path, timeout: float = 120.0) -> dict:
    """Run one notebook; ``{"notebook": path, "exercises": [{"id", "status", "message"}, ...]}``.

    The file is only read. Exercises come in the order their check calls
    appear; results recorded for ids not found by the regex follow.
    """
    import nbformat

    path = Path(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:  # not JSON, not a notebook, unreadable
        return {"notebook": str(path), "exercises": [], "error": _one_line(f"cannot read the notebook: {exc}")}
    expected = expected_ids(nb)
    results, problem, stopped_at = _run(nb, path.resolve().parent, timeout)

    recorded = {r["id"]: r for r in results or []}
    exercises = []
    for exercise_id in expected:
        if exercise_id in recorded:
            r = recorded.pop(exercise_id)
            exercises.append({"id": exercise_id, "status": r["status"], "message": _one_line(r.get("message", ""))})
            continue
        check_cell = next(
            (i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and exercise_id in CHECK_CALL.findall(c.source)),
            None,
        )
        if problem and stopped_at is not None and check_cell is not None and check_cell >= stopped_at:
            why = problem
        else:
            why = _why_unrecorded(nb.cells, check_cell, problem)
        exercises.append({"id": exercise_id, "status": ERROR, "message": why})
    for r in recorded.values():
        exercises.append({"id": r["id"], "status": r["status"], "message": _one_line(r.get("message", ""))})
    return {"notebook": str(path), "exercises": exercises}


def format_report(report: dict, width: int = 100) -> str:
    """One notebook's table: id, status, message (one line), then 'k/n passed'."""
    rows = report["exercises"]
    lines = [report["notebook"]]
    if report.get("error"):
        lines.append(f"  error: {report['error']}")
    elif not rows:
        lines.append("  (no exercises: no check(\"N.M\", ...) calls found)")
    else:
        id_w = max(2, *(len(r["id"]) for r in rows))
        status_w = max(6, *(len(r["status"]) for r in rows))
        lines.append(f"  {'id':<{id_w}}  {'status':<{status_w}}  message")
        room = max(20, width - id_w - status_w - 6)
        for r in rows:
            message = r["message"] if r["status"] != PASSED else ""
            lines.append(f"  {r['id']:<{id_w}}  {r['status']:<{status_w}}  {_one_line(message, room)}".rstrip())
    passed = sum(r["status"] == PASSED for r in rows)
    lines.append(f"  {passed}/{len(rows)} passed")
    return "\n".join(lines)


def format_summary(reports: list[dict]) -> str:
    """One line per notebook (e.g. each learner's copy of a chapter): passed, not yet, error.

    An instructor scoring a class sees everyone at a glance after the tables.
    """
    path_w = max(8, *(len(r["notebook"]) for r in reports))
    lines = [f"summary of {len(reports)} notebooks",
             f"  {'notebook':<{path_w}}  passed  not yet  error"]
    for report in reports:
        counts = {status: sum(r["status"] == status for r in report["exercises"])
                  for status in (PASSED, NOT_YET, ERROR)}
        total = len(report["exercises"])
        lines.append(f"  {report['notebook']:<{path_w}}  {counts[PASSED]:>2}/{total:<3}  "
                     f"{counts[NOT_YET]:>7}  {counts[ERROR]:>5}"
                     + ("  (could not be read)" if report.get("error") else ""))
    return "\n".join(lines)


CSV_COLUMNS = ("learner", "notebook", "exercise", "title", "status", "points", "score", "message")
NBGRADER_FOLDERS = ("submitted", "autograded")  # nbgrader's <folder>/<student>/<assignment>/<notebook>


def learner_names(paths: list[str | Path]) -> list[str]:
    """Who each notebook belongs to, read from its path.

    nbgrader's layout (``.../submitted/<student>/<assignment>/NN.ipynb``, or
    ``autograded/``): the student. Otherwise the part of the folders that
    differs between the notebooks (``submissions/alice/01.ipynb`` and
    ``submissions/bob/01.ipynb``: alice, bob); when the folders are all the
    same, the file names without ``.ipynb`` (``submissions/alice.ipynb``);
    for a single notebook, its folder's name.
    """
    folders = [Path(p).resolve().parent.parts for p in paths]
    shortest = min((len(f) for f in folders), default=0)
    prefix = 0
    while prefix < shortest and len({f[prefix] for f in folders}) == 1:
        prefix += 1
    suffix = 0
    while suffix < shortest - prefix and len({f[len(f) - 1 - suffix] for f in folders}) == 1:
        suffix += 1
    same_folder = len(set(folders)) == 1
    names = []
    for path, parts in zip(paths, folders):
        given = Path(path).parts
        found = [i for i, part in enumerate(given[:-1]) if part in NBGRADER_FOLDERS and i + 4 == len(given)]
        if found:
            names.append(given[found[-1] + 1])
            continue
        if same_folder and len(paths) > 1:
            names.append(Path(path).stem)
            continue
        middle = parts[prefix:len(parts) - suffix]
        names.append("/".join(middle) if middle else (parts[-1] if parts else ""))
    return names


def exercise_points(path: str | Path) -> dict[str, float]:
    """Exercise id -> points of its nbgrader test cell (the check cell), for a notebook with nbgrader metadata."""
    import nbformat

    points: dict[str, float] = {}
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # the report already says it could not be read
        return points
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and "points" in meta:
            for exercise_id in CHECK_CALL.findall(cell.source):
                points.setdefault(exercise_id, meta["points"])
    return points


def write_csv(reports: list[dict], out=None) -> None:
    """The gradebook: one row per learner and exercise (``CSV_COLUMNS``); a notebook that could not
    be read gets one row with its error and no exercise."""
    out = out or sys.stdout
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    learners = learner_names([r["notebook"] for r in reports])
    for learner, report in zip(learners, reports):
        points = exercise_points(report["notebook"])
        if report.get("error"):
            writer.writerow([learner, report["notebook"], "", "", ERROR, "", "", report["error"]])
        for r in report["exercises"]:
            worth = points.get(r["id"], 1)
            worth = int(worth) if float(worth).is_integer() else worth
            writer.writerow([learner, report["notebook"], r["id"], _title(r["id"]), r["status"], worth,
                             worth if r["status"] == PASSED else 0, "" if r["status"] == PASSED else r["message"]])


def main(paths: list[str], as_json: bool = False, timeout: float = 120.0, as_csv: bool = False) -> int:
    """Run every notebook, print tables (or JSON); 0 only if every exercise passed.

    No notebook: the learner's progress through the whole course (``progress``).
    """
    from bpkit.build import BuildError

    if not paths:
        return progress(as_json=as_json, timeout=timeout, as_csv=as_csv)

    for p in paths:
        if not Path(p).is_file():
            raise BuildError(f"{p}: no such notebook")
    reports = []
    for p in paths:
        report = run_notebook(p, timeout=timeout)
        reports.append(report)
        if not as_json and not as_csv:
            width = max(80, shutil.get_terminal_size((100, 24)).columns)
            print(format_report(report, width) + ("\n" if len(paths) > 1 else ""), flush=True)
    if as_json:
        print(json.dumps(reports, indent=1))
    elif as_csv:
        write_csv(reports)
    elif len(reports) > 1:
        print(format_summary(reports), flush=True)
    everything = [r for report in reports for r in report["exercises"]]
    unread = any(report.get("error") for report in reports)
    return 0 if not unread and all(r["status"] == PASSED for r in everything) else 1


# ----------------------------------------------------------------------------
# the whole course: python -m bpkit check (no notebook)

def find_chapters(start: str | Path | None = None) -> Path | None:
    """The learner's ``chapters/`` folder seen from ``start`` (default: the current folder).

    ``start/chapters`` (the course folder: where JupyterLab's terminal opens),
    ``start`` itself when it is a ``chapters`` folder (where a notebook's ``!``
    commands run), else the nearest ``chapters/`` above ``start``.
    """
    start = Path(start or Path.cwd()).resolve()
    if start.name == "chapters" and any(start.glob(CHAPTER_GLOB)):
        return start
    for folder in (start, *start.parents):
        candidate = folder / "chapters"
        if candidate.is_dir() and any(candidate.glob(CHAPTER_GLOB)):
            return candidate
    return None


def _shown_path(path: Path) -> str:
    """``path`` as the learner would type it from the current folder."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _title(exercise_id: str) -> str:
    try:
        from bpkit.exercises import get_exercise

        return get_exercise(exercise_id).title
    except Exception:  # an id only the notebook's kernel knows
        return ""


def next_open(reports: list[dict]) -> dict | None:
    """The first exercise, in course order, that has not passed: {"id", "title", "notebook", "status", "message"}."""
    for report in reports:
        for r in report["exercises"]:
            if r["status"] != PASSED:
                return {"id": r["id"], "title": _title(r["id"]), "notebook": report["notebook"],
                        "status": r["status"], "message": r.get("message", "")}
    return None


def format_progress_line(report: dict, width: int) -> str:
    """One chapter on one line: its file, 'k/n passed', then what is not yet or failed."""
    name = Path(report["notebook"]).name
    rows = report["exercises"]
    if report.get("error"):
        return f"  {name:<{width}}  {report['error']}"
    if not rows:
        return f"  {name:<{width}}  no exercises"
    passed = sum(r["status"] == PASSED for r in rows)
    open_ = sum(r["status"] == NOT_YET and "still open" in r.get("message", "") for r in rows)
    wrong = sum(r["status"] == NOT_YET for r in rows) - open_
    errors = sum(r["status"] == ERROR for r in rows)
    rest = [f"{n} {what}" for n, what in ((open_, "still open"), (wrong, "not yet right"), (errors, "error"))
            if n]
    done = "  done" if passed == len(rows) else ""
    return f"  {name:<{width}}  {passed}/{len(rows)} passed{done}" + (f" ({', '.join(rest)})" if rest else "")


def _next_line(found: dict | None) -> str:
    if found is None:
        return "next: nothing left: every exercise of every chapter passed"
    title = f" ({found['title']})" if found["title"] else ""
    if found["status"] == NOT_YET and "still open" in found["message"]:
        state = "still open"
    elif found["status"] == NOT_YET:
        state = "not yet right"
    else:
        state = f"error: {_one_line(found['message'], 80)}"
    return f"next: Exercise {found['id']}{title} in {found['notebook']} ({state})"


def progress(folder: str | Path | None = None, as_json: bool = False, timeout: float = 120.0,
             as_csv: bool = False) -> int:
    """Run every chapter of the course (saved versions) and print one line each, then the next exercise.

    0 only when every exercise passed. Inside a kernel that this command
    started (a chapter that runs it), it refuses rather than run itself again.
    """
    import os

    from bpkit.build import BuildError

    if os.environ.get(PROGRESS_ENV):
        raise BuildError("the course's progress is already being measured (this runs inside it); "
                         "name a notebook to check instead")
    chapters = find_chapters(folder)
    if chapters is None:
        raise BuildError(f"no chapters/ folder with NN_name.ipynb notebooks in {Path(folder or Path.cwd())} "
                         "or above it; run this from the course folder, or name the notebooks to check")
    paths = sorted(chapters.glob(CHAPTER_GLOB))
    width = max(len(p.name) for p in paths)
    quiet = as_json or as_csv
    if not quiet:
        count = f"{len(paths)} chapter" + ("s" if len(paths) != 1 else "")
        print(f"your progress: {count} in {_shown_path(chapters)}/ (the saved files, each run "
              "in a fresh kernel; save your notebook first)", flush=True)
    reports = []
    os.environ[PROGRESS_ENV] = "1"
    try:
        for path in paths:
            report = run_notebook(path, timeout=timeout)
            report["notebook"] = _shown_path(path)
            reports.append(report)
            if not quiet:
                print(format_progress_line(report, width), flush=True)
    finally:
        os.environ.pop(PROGRESS_ENV, None)
    found = next_open(reports)
    if as_json:
        print(json.dumps({"chapters": reports, "next": found}, indent=1))
    elif as_csv:
        write_csv(reports)
    else:
        print(_next_line(found), flush=True)
    unread = any(report.get("error") for report in reports)
    return 0 if found is None and not unread else 1
