"""solutions/ -> a static website of the course, built with Jupyter Book 1.x.

``python -m bpkit book [--solutions {none,toggle}] [--out FOLDER]`` (``python3 course.py book``)

Every chapter becomes a page, in course order (the order of
``solutions/NN_name.ipynb``), after a home page that says how to run the
course. Nothing is executed: a page shows the outputs stored in
``solutions/`` (strict nbval proves them), so the build takes seconds.

What a page shows is the learner's copy, not the solution:

* every cell's source is the one ``python -m bpkit build`` writes into
  ``chapters/`` (``build.render``: each solution block replaced by its stub,
  hidden tests and ``instructor`` cells left out);
* the outputs are the solved notebook's, with two changes: each exercise's
  check line shows what the learner's copy shows while the exercise is open
  (``○ ... still open``), not the solved ``✓ passed``; this is also what the
  learner sees after Run All, since an open check hands the rest of the
  chapter the reference solution, whose outputs the page shows; and a widget
  (it needs a running kernel) is replaced by a line saying it runs in
  JupyterLab;
* the download button of a page gives ``chapters/NN_name.ipynb`` as build
  writes it (no outputs, no solution).

Solutions (``--solutions``, one setting; default ``none``):

* ``none``: no solution anywhere in the site;
* ``toggle``: below each exercise's stub, a collapsed "Show solution" toggle
  (``<details class="bpkit-solution">``). The solution's code lives in a
  ``<script type="application/json">`` inside it, which a few lines of
  JavaScript copy into the toggle when it opens. Sphinx's search indexer
  drops ``<script>`` elements from raw HTML before it indexes the rest, so the
  solution is absent from the search index; the downloads are the learner's
  copies. So outside the toggles the site holds no answer in either setting
  (``tests/test_book.py`` checks pages, downloads and the search index).

The site is built in a temporary folder and then replaces ``--out`` (default:
``site/`` in the course folder, ignored by git), a folder holding only the
publishable site: copy it to any static host. A folder that is not empty and
was not made by this command is never replaced.
"""
from __future__ import annotations

import copy
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bpkit import build as _build

__all__ = [
    "BookError",
    "DEFAULT_SOLUTIONS",
    "SOLUTION_MODES",
    "SITE_DIR",
    "TOGGLE_CLASS",
    "build_site",
    "chapter_title",
    "site_notebook",
    "solution_text",
    "toggle_html",
    "write_source",
]

SOLUTION_MODES = ("none", "toggle")
DEFAULT_SOLUTIONS = "none"  # a public site with the answers would defeat the exercises (README: "Read it as a website")
SITE_DIR = "site"           # in the course folder; .gitignore lists it
SITE_MARKER = ".bpkit-site"  # written into every site: a folder with it may be replaced by the next build
TOGGLE_CLASS = "bpkit-solution"
TITLE = "Backpropagation, by hand"
CHECK_OUTPUT = re.compile(r'class="bpkit-check bpkit-passed"')
EXERCISE_IN_CHECK = re.compile(r"Exercise (\d+\.\d+) \(")
STUB_ID = re.compile(r'raise NotImplementedError\("Exercise (\d+\.\d+): ')
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_REPR = re.compile(r"^\w+\(children=")  # an interactive layout (interact, VBox, ...); tqdm's bar is not one
WIDGET_NOTE = ("<p class=\"bpkit-widget-note\"><em>An interactive widget appears here when you run the "
               "notebook in JupyterLab (<code>python3 course.py lab</code>).</em></p>")

# The two commands of the README's quick start (tests/test_book.py checks the README has them as written)
RUN_COMMANDS = (
    "python3 course.py lab     # installs everything (first time only) and opens the course in JupyterLab",
    "python3 course.py test    # installs everything (first time only) and runs every test",
)

TOGGLE_JS = """\
// bpkit: fill a "Show solution" toggle when it opens. The code is kept in a
// <script type="application/json"> (so Sphinx's search index never sees it).
document.addEventListener("toggle", function (event) {
  var box = event.target;
  if (!box.classList || !box.classList.contains("%(cls)s") || !box.open) return;
  var pre = box.querySelector("pre.%(cls)s-code");
  var data = box.querySelector("script.%(cls)s-source");
  if (pre && data && !pre.textContent) pre.textContent = JSON.parse(data.textContent);
}, true);
""" % {"cls": TOGGLE_CLASS}

SITE_CSS = """\
details.%(cls)s { margin: 0.2em 0 1.2em; border-left: 4px solid #0072B2; padding-left: 0.6em; }
details.%(cls)s > summary { cursor: pointer; font-weight: 600; }
details.%(cls)s pre { margin-top: 0.5em; }
p.bpkit-widget-note { color: #555; }
""" % {"cls": TOGGLE_CLASS}


class BookError(_build.BuildError):
    """An expected problem (one line, shown without a traceback)."""


# --------------------------------------------------------------------------
# One chapter: the page's notebook


def chapter_title(nb, fallback: str) -> str:
    """The text of the first ``# `` heading of the notebook's first markdown cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
            break
    return fallback


def solution_text(source: str, *, where: str = "cell") -> str:
    """A solution cell as the toggle shows it: hidden tests out, marker lines out, the rest as written."""
    lines = _build.strip_hidden_tests(source, where=where).split("\n")
    return "\n".join(line for line in lines if not (_build.BEGIN.match(line) or _build.END.match(line)))


def _markdown_answer(source: str) -> str:
    """A markdown cell as its toggle shows it: the marker lines out, the rest as written."""
    return "\n".join(line for line in source.split("\n") if not (_build.BEGIN.match(line) or _build.END.match(line)))


def toggle_html(solution: str, exercise: str | None) -> str:
    """A collapsed "Show solution" toggle holding ``solution`` (one line of raw HTML).

    The text sits JSON-encoded in a ``<script>`` (``<``, ``>`` and ``&`` escaped,
    so it cannot close the element), which Sphinx's indexer skips; the
    toggle's ``<pre>`` stays empty until the JavaScript fills it on opening.
    """
    label = f"Show solution (Exercise {exercise})" if exercise else "Show solution"
    data = (json.dumps(solution, ensure_ascii=False)
            .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
    return (f'<details class="{TOGGLE_CLASS}"><summary>{html.escape(label)}</summary>'
            f'<div class="highlight"><pre class="{TOGGLE_CLASS}-code"></pre></div>'
            f'<script type="application/json" class="{TOGGLE_CLASS}-source">{data}</script></details>')


def _open_check_output(exercise_id: str) -> dict:
    """The check line the learner's copy shows while exercise ``exercise_id`` is open.

    Built from the same result a check gives for a stub (a function or a class
    whose body still raises the stub's NotImplementedError): "still open".
    """
    from bpkit.exercises.core import _still_open, get_exercise

    result = _still_open(get_exercise(exercise_id))
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": result.html(), "text/plain": result.line()}}


def _site_outputs(outputs: list, open_ids: set) -> list:
    import nbformat

    result = []
    for output in outputs:
        data = output.get("data", {})
        if WIDGET_MIME in data:
            if WIDGET_REPR.match(str(data.get("text/plain", ""))):
                result.append(nbformat.from_dict({"output_type": "display_data", "metadata": {},
                                                  "data": {"text/html": WIDGET_NOTE,
                                                           "text/plain": "(an interactive widget: run the notebook)"}}))
            continue  # a progress bar's widget: its final line is printed by the cell anyway
        html_text = str(data.get("text/html", ""))
        found = EXERCISE_IN_CHECK.search(str(data.get("text/plain", "")))
        if CHECK_OUTPUT.search(html_text) and found and found.group(1) in open_ids:
            result.append(nbformat.from_dict(_open_check_output(found.group(1))))
            continue
        result.append(copy.deepcopy(output))
    return result


def site_notebook(solution: Path, solutions: str = DEFAULT_SOLUTIONS):
    """The notebook a chapter's page is built from (a NotebookNode).

    Its cells are ``build.render``'s (the learner's copy, cell for cell), with
    the solved notebook's outputs (see the module's docstring); with
    ``solutions="toggle"`` a markdown cell holding the solution's toggle
    follows each cell that had a solution block.
    """
    import nbformat

    if solutions not in SOLUTION_MODES:
        raise BookError(f"--solutions must be one of {', '.join(SOLUTION_MODES)}, not {solutions!r}")
    nb = nbformat.convert(nbformat.reader.reads(solution.read_text(encoding="utf-8")), 4)
    learner = _build.render(nb, solution.name)
    solved = [cell for cell in nb.cells if "instructor" not in cell.get("metadata", {}).get("tags", [])]
    if len(solved) != len(learner.cells):  # render drops exactly the instructor cells
        raise BookError(f"{solution.name}: the learner's copy has {len(learner.cells)} cells, expected {len(solved)}")
    open_ids = {found for cell in learner.cells if cell.cell_type == "code" for found in STUB_ID.findall(cell.source)}
    cells = []
    for index, (page_cell, solved_cell) in enumerate(zip(learner.cells, solved)):
        if page_cell.cell_type == "code":
            page_cell.outputs = _site_outputs(solved_cell.get("outputs", []), open_ids)
            page_cell.execution_count = solved_cell.get("execution_count")
        cells.append(page_cell)
        where = f"{solution.name}: cell {index}"
        code = solved_cell.cell_type == "code"
        unstubbed = _build.strip_hidden_tests(solved_cell.source, where=where) if code else solved_cell.source
        if solutions == "toggle" and page_cell.source != unstubbed:  # build replaced a solution block here
            stubs = STUB_ID.findall(page_cell.source)
            exercise = stubs[0] if stubs else (_build.EXERCISE_ID.findall(solved_cell.source) or [None])[0]
            text = solution_text(solved_cell.source, where=where) if code else _markdown_answer(solved_cell.source)
            toggle = nbformat.v4.new_markdown_cell(toggle_html(text, exercise))
            toggle["id"] = f"bpkit-solution-{index}"
            cells.append(toggle)
    learner.cells = cells
    return learner


# --------------------------------------------------------------------------
# The book's source folder


def _readme_intro(root: Path) -> str:
    """The README's opening paragraphs (between its title and its first section)."""
    readme = root / "README.md"
    if not readme.is_file():
        return ""
    text = readme.read_text(encoding="utf-8")
    match = re.search(r"^# .*?\n(.*?)^## ", text, flags=re.S | re.M)
    return match.group(1).strip() if match else ""


def _intro(root: Path, chapters: list[tuple[str, str]], solutions: str, repository: str | None = None) -> str:
    listing = "\n".join(f"- [{title}]({name}.ipynb)" for name, title in chapters)
    if solutions == "toggle":
        exercises = ("Each exercise shows the stub your copy has, and below it a collapsed "
                     "**Show solution**: try the exercise first.")
    else:
        exercises = ("Each exercise shows the stub your copy has; the solutions are not on this site "
                     "(they are in the course folder's `solutions/`).")
    commands = "\n".join(RUN_COMMANDS)
    get = f"get the course folder ([{repository}]({repository}))" if repository else "get the course folder"
    return f"""# {TITLE}

{_readme_intro(root)}

## Run the course

This site is for reading. Every chapter is a Jupyter notebook that you run and
complete yourself: {get}, then, on any machine with Python
3.10 or newer, from that folder:

```bash
{commands}
```

Both create a virtual environment in `.venv/` and install everything the course
needs into it; `lab` opens chapter 00 in JupyterLab (on Windows, type `python`
instead of `python3`).

The pages show each chapter as your copy has it, with the outputs of a solved
run. {exercises} The download button at the top of a page gives the chapter's
notebook as you work in it: no outputs, exercises open.

## Chapters

{listing}
"""


def write_source(root: Path, dest: Path, solutions: str = DEFAULT_SOLUTIONS, repository: str | None = None) -> list[str]:
    """Write the book's source (pages, ``_config.yml``, ``_toc.yml``, static files) into ``dest``.

    ``repository``: the course's public URL, if any: the home page links to it, and
    so does every page's footer. Returns the chapters' names
    (``NN_name``) in course order.
    """
    import nbformat
    import yaml

    notebooks = _build._select(root, None)
    if not notebooks:
        raise BookError(f"no notebooks in {root / 'solutions'}")
    dest.mkdir(parents=True, exist_ok=True)
    chapters = []
    for solution in notebooks:
        nb = site_notebook(solution, solutions)
        nbformat.write(nb, str(dest / solution.name))
        chapters.append((solution.stem, chapter_title(nb, solution.stem)))
    (dest / "intro.md").write_text(_intro(root, chapters, solutions, repository), encoding="utf-8")
    static = dest / "_static"
    static.mkdir(exist_ok=True)
    (static / "bpkit-solution.js").write_text(TOGGLE_JS, encoding="utf-8")
    (static / "bpkit.css").write_text(SITE_CSS, encoding="utf-8")
    toc = {"format": "jb-book", "root": "intro", "chapters": [{"file": name} for name, _ in chapters]}
    config = {
        "title": TITLE,
        "author": "the bpkit course",
        "copyright": "the bpkit course",
        "only_build_toc_files": True,
        "execute": {"execute_notebooks": "off"},  # stored outputs only: nothing runs
        "html": {"home_page_in_navbar": True},
        "sphinx": {"config": {
            "html_static_path": ["_static"],
            "html_js_files": ["bpkit-solution.js"],
            "html_css_files": ["bpkit.css"],
            "html_show_copyright": False,
            "language": "en",
        }},
    }
    if repository:  # a footer, not the theme's button (which knows only GitHub, GitLab and Bitbucket)
        link = html.escape(repository, quote=True)
        config["html"]["extra_footer"] = f'<p>The course and how to run it: <a href="{link}">{link}</a></p>'
    (dest / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    (dest / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return [name for name, _ in chapters]


# --------------------------------------------------------------------------
# Building


@dataclass
class BookReport:
    """What the build did: lines to print and the exit code."""

    lines: list[str] = field(default_factory=list)
    code: int = 0
    out: Path | None = None
    chapters: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _replaceable(out: Path) -> bool:
    return not out.exists() or (out.is_dir() and (not any(out.iterdir()) or (out / SITE_MARKER).is_file()))


def _safe_downloads(root: Path, html_dir: Path, chapters: list[str]) -> None:
    """Make every downloadable notebook the learner's copy (Sphinx copied the page's source)."""
    sources = html_dir / "_sources"
    for name in chapters:
        target = sources / f"{name}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_build.render_bytes(root / "solutions" / f"{name}.ipynb", f"solutions/{name}.ipynb"))
    for path in html_dir.rglob("*.ipynb"):  # nothing else of the page sources is published
        if path.parent != sources or path.stem not in chapters:
            path.unlink()


def build_site(root: Path | None = None, out: Path | None = None, solutions: str = DEFAULT_SOLUTIONS,
               *, repository: str | None = None, quiet: bool = True) -> BookReport:
    """Build the site into ``out`` (default ``<root>/site``); returns a report."""
    root = root or _build.find_root()
    out = Path(out) if out else root / SITE_DIR
    if solutions not in SOLUTION_MODES:
        raise BookError(f"--solutions must be one of {', '.join(SOLUTION_MODES)}, not {solutions!r}")
    if not _replaceable(out):
        raise BookError(f"{out} exists and was not made by `bpkit book` (no {SITE_MARKER} in it); "
                        "choose another --out or remove it")
    try:
        import jupyter_book  # noqa: F401
    except ModuleNotFoundError:
        raise BookError("Jupyter Book is not installed in this Python; run `python3 course.py book` "
                        "(it installs it), or: python -m pip install 'jupyter-book>=1,<2'") from None
    start = time.perf_counter()
    report = BookReport()
    with tempfile.TemporaryDirectory(prefix="bpkit-book-") as work:
        work = Path(work)
        source = work / "source"
        report.chapters = write_source(root, source, solutions, repository)
        command = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
                   "build", str(source), "--path-output", str(work), "--all"]
        if quiet:
            command.append("-q")
        done = subprocess.run(command, cwd=work, capture_output=quiet, text=True)
        if done.returncode != 0:
            if quiet:
                print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
            raise BookError(f"Jupyter Book failed (exit {done.returncode}; its output is above)")
        if quiet and done.stderr.strip():  # Sphinx's warnings
            report.lines.extend(line for line in done.stderr.splitlines() if line.strip())
        html_dir = work / "_build" / "html"
        _safe_downloads(root, html_dir, report.chapters)
        (html_dir / SITE_MARKER).write_text(f"made by `python -m bpkit book --solutions {solutions}`\n",
                                            encoding="utf-8")
        (html_dir / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve _static/ as is
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(html_dir), str(out))
    report.out = out
    report.seconds = time.perf_counter() - start
    return report


def main(out: str | None = None, solutions: str = DEFAULT_SOLUTIONS, repository: str | None = None) -> int:
    root = _build.find_root()
    report = build_site(root, Path(out).resolve() if out else None, solutions, repository=repository)
    for line in report.lines:
        print(line)
    index = report.out / "index.html"
    try:
        shown = report.out.relative_to(Path.cwd())
    except ValueError:
        shown = report.out
    print(f"book: {len(report.chapters)} chapters in {report.seconds:.1f} s, solutions: {solutions}")
    print(f"book: the site is in {shown}/ ; open {index.as_uri()} in a browser,")
    print(f"      or serve it: python3 -m http.server --directory {shown} 8000  (then http://localhost:8000)")
    return report.code
