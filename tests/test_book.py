"""The course's website (``python3 course.py book``, bpkit/book.py), built for real into temporary folders.

The site is built twice, once per setting (``--solutions none``, the default,
and ``--solutions toggle``), from the stored outputs: a few seconds each. Then:

* every chapter (every ``solutions/*.ipynb``) has its page, in course order in
  the table of contents and on the home page, which shows the README's two
  commands for running the course;
* every figure a page references exists (and a page shows as many figures as
  its notebook stores), every internal link resolves (fragments included);
* each download is the learner's copy, byte for byte what ``build`` writes;
* no answer outside its toggle. An *answer line* is a line of code inside a
  ``### BEGIN SOLUTION`` block, whitespace-normalised, of 10 characters or
  more, that no learner's copy (``build.render`` of any chapter) contains:
  the rest are boilerplate (``return out``) or code the course hands out
  anyway. No answer line may appear in any file of the site, with the toggles
  cut out of the pages (tags stripped, entities decoded, so highlighted code
  counts). In ``toggle`` mode every answer line is inside its chapter's toggles
  (the check looks where the answers are).
* the search index: it holds words, not lines. A *solution-only word* is a
  word (``\\w+``, as Sphinx splits) of a solution block that occurs nowhere in
  the site's text outside the toggles, not even by its stem (Sphinx's English
  stemmer). Only the toggles could bring such a word into the index, so none
  of them (stemmed or not) may be in ``searchindex.js``: exact, not flaky,
  and meaningful because there are dozens of them and the index does hold
  code words (the stubs' ``NotImplementedError``).

With Chromium (as in tests/test_browser.py, marker ``browser``), a chapter page
is opened from a local HTTP server: its table of contents lists every chapter,
a figure has loaded, a "Show solution" toggle opens onto the solution, and
search finds a word of the course.
"""
from __future__ import annotations

import functools
import html
import http.server
import json
import re
import socketserver
import threading
from pathlib import Path

import nbformat
import pytest

from bpkit import build as course_build

book = pytest.importorskip("bpkit.book")
pytest.importorskip("jupyter_book", reason="Jupyter Book is not installed: python -m pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
CHAPTERS = [path.stem for path in SOLUTIONS]
TOGGLE = re.compile(r'<details class="%s">.*?</details>' % book.TOGGLE_CLASS, flags=re.S)
SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1>", flags=re.S | re.I)
TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"\w+")
STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
BINARY = {".png", ".jpg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".eot", ".inv", ".pickle"}


def _normal(text: str) -> str:
    return " ".join(text.split())


def _text(raw_html: str, *, words: bool = False) -> str:
    """A page's text outside its solution toggles: tags stripped, entities decoded, whitespace normalised.

    Tags go without a trace, so highlighted code reads as written (``np.dot(w, x)``).
    ``words=True``: what a reader sees, as words: ``<script>``/``<style>`` contents
    dropped too, and each tag read as a space, so two paragraphs never join into one word.
    """
    raw_html = TOGGLE.sub(" ", raw_html)
    if words:
        raw_html = SCRIPT_OR_STYLE.sub(" ", raw_html)
    return _normal(html.unescape(TAG.sub(" " if words else "", raw_html)))


def _strings(code: str) -> list[str]:
    """The double-quoted string literals in JavaScript or JSON, decoded (``\\u003c`` -> ``<``)."""
    found = []
    for literal in STRING.findall(code):
        try:
            found.append(json.loads(literal))
        except ValueError:
            pass
    return found


def _toggle_texts(raw_html: str) -> list[str]:
    found = re.findall(r'<script type="application/json" class="%s-source">(.*?)</script>' % book.TOGGLE_CLASS,
                       raw_html, flags=re.S)
    return [json.loads(data) for data in found]


def _solution_blocks(path: Path) -> list[str]:
    """The lines inside every solution block of a notebook's code cells."""
    lines, inside = [], False
    for cell in nbformat.read(str(path), as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.split("\n"):
            if course_build.BEGIN.match(line):
                inside = True
            elif course_build.END.match(line):
                inside = False
            elif inside:
                lines.append(line)
    return lines


@functools.lru_cache(maxsize=None)
def _learner_text() -> str:
    """Every learner's copy, all cells' sources: what the course hands out anyway."""
    return "\n".join(_normal(cell.source) for path in SOLUTIONS
                     for cell in course_build.render(nbformat.read(str(path), as_version=4), path.name).cells)


@functools.lru_cache(maxsize=None)
def _answer_lines() -> dict[str, list[str]]:
    """chapter -> its answer lines (see the module's docstring)."""
    learner = _learner_text()
    answers = {}
    for path in SOLUTIONS:
        lines = {_normal(line) for line in _solution_blocks(path)}
        answers[path.stem] = sorted(line for line in lines if len(line) >= 10 and line not in learner)
    return answers


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """The site built with each setting: {"none": folder, "toggle": folder}."""
    built = {}
    for mode in book.SOLUTION_MODES:
        report = book.build_site(ROOT, tmp_path_factory.mktemp("site") / mode, mode)
        assert report.code == 0 and report.chapters == CHAPTERS
        assert not report.lines, "Sphinx warned:\n" + "\n".join(report.lines)
        built[mode] = report.out
    return built


def test_there_are_answers_to_hide():
    answers = _answer_lines()
    assert set(answers) == set(CHAPTERS)
    assert all(answers[name] for name in CHAPTERS if _solution_blocks(ROOT / "solutions" / f"{name}.ipynb"))
    assert sum(map(len, answers.values())) > 50


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_every_chapter_has_a_page_in_course_order(sites, mode):
    site = sites[mode]
    assert (site / "index.html").is_file() and (site / "intro.html").is_file()
    for name in CHAPTERS:
        assert (site / f"{name}.html").is_file(), f"no page for {name}"
    intro = (site / "intro.html").read_text(encoding="utf-8")
    sidebar = intro[intro.index("bd-docs-nav"):]
    order = [href for href in re.findall(r'href="([^"#]+\.html)"', sidebar) if href[:-5] in CHAPTERS]
    assert [href[:-5] for href in dict.fromkeys(order)] == CHAPTERS, "the table of contents is not in course order"
    for name, nb_path in zip(CHAPTERS, SOLUTIONS):
        title = book.chapter_title(nbformat.read(str(nb_path), as_version=4), name)
        assert html.escape(title, quote=False) in (site / f"{name}.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_the_home_page_shows_the_readme_commands_for_running_the_course(sites, mode):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    text = _text((sites[mode] / "intro.html").read_text(encoding="utf-8"))
    for command in book.RUN_COMMANDS:
        assert command in readme, f"the README no longer says: {command}"
        assert _normal(command) in text


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_every_figure_exists_and_every_stored_figure_is_shown(sites, mode):
    site = sites[mode]
    for name, path in zip(CHAPTERS, SOLUTIONS):
        page = (site / f"{name}.html").read_text(encoding="utf-8")
        sources = re.findall(r'<img[^>]*\bsrc="([^"]+)"', page)
        for src in sources:
            assert not src.startswith(("http:", "https:")), f"{name}: a figure from the network: {src}"
            assert (site / src).is_file(), f"{name}: missing figure {src}"
        stored = sum("image/png" in output.get("data", {})
                     for cell in nbformat.read(str(path), as_version=4).cells for output in cell.get("outputs", []))
        assert sum("_images/" in src for src in sources) >= stored, f"{name}: not every stored figure is on the page"


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_every_internal_link_resolves(sites, mode):
    site = sites[mode]
    ids_cache = {}

    def ids(page: Path) -> set:
        if page not in ids_cache:
            ids_cache[page] = set(re.findall(r'\bid="([^"]+)"', page.read_text(encoding="utf-8")))
        return ids_cache[page]

    broken = []
    for page in sorted(site.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        for link in re.findall(r'\b(?:href|src)="([^"]*)"', text):
            link = html.unescape(link)
            if not link or re.match(r"^[a-z][a-z0-9+.-]*:", link, flags=re.I) or link.startswith("//"):
                continue  # external (MathJax's CDN), mailto:, data:, javascript:
            target, _, fragment = link.partition("#")
            target = target.split("?")[0]
            path = (page.parent / target).resolve() if target else page
            if not path.exists():
                broken.append(f"{page.name}: {link}")
            elif fragment and path.suffix == ".html" and fragment not in ids(path):
                broken.append(f"{page.name}: {link} (no id {fragment!r})")
    assert not broken, "broken links:\n" + "\n".join(broken[:30])


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_pages_show_the_learners_copy_and_the_downloads_are_the_learners_notebooks(sites, mode):
    site = sites[mode]
    for name, path in zip(CHAPTERS, SOLUTIONS):
        text = _text((site / f"{name}.html").read_text(encoding="utf-8"))
        learner = course_build.render(nbformat.read(str(path), as_version=4), path.name)
        stubs = [line.strip() for cell in learner.cells for line in cell.source.split("\n")
                 if "raise NotImplementedError(" in line]
        for stub in stubs:
            assert _normal(html.unescape(stub)) in text, f"{name}: the stub is not on the page: {stub}"
        for exercise in {m for stub in stubs for m in re.findall(r"Exercise (\d+\.\d+):", stub)}:
            assert f"✓ Exercise {exercise} (" not in text, f"{name}: shows exercise {exercise} as passed"
            assert re.search(rf"○ Exercise {re.escape(exercise)} \(.*?\): not yet: Exercise", text)
        download = site / "_sources" / f"{name}.ipynb"
        assert download.read_bytes() == course_build.render_bytes(path, f"solutions/{path.name}")
        assert f'_sources/{name}.ipynb' in (site / f"{name}.html").read_text(encoding="utf-8")
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*.ipynb")) == sorted(
        f"_sources/{name}.ipynb" for name in CHAPTERS)


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_no_answer_anywhere_outside_its_toggle(sites, mode):
    site = sites[mode]
    answers = sorted({line for lines in _answer_lines().values() for line in lines})
    leaks, looked = [], 0
    for path in sorted(site.rglob("*")):
        if not path.is_file() or path.suffix in BINARY:
            continue
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        looked += 1
        if path.suffix == ".html":
            texts = [_text(raw)]
        elif path.suffix == ".ipynb":
            nb = nbformat.reads(raw, as_version=4)
            texts = [_normal(cell.source) for cell in nb.cells] + [_normal(json.dumps(nb, ensure_ascii=False))]
        else:  # JavaScript (the search index), CSS, text: as written, and its string literals decoded
            texts = [_normal(raw), _normal("\n".join(_strings(raw)))]
        for line in answers:
            if any(line in text for text in texts):
                leaks.append(f"{path.relative_to(site)}: {line}")
    assert looked > 20
    assert not leaks, "answers outside a toggle:\n" + "\n".join(leaks[:30])
    toggles = {name: [t for t in _toggle_texts((site / f"{name}.html").read_text(encoding="utf-8"))]
               for name in CHAPTERS}
    if mode == "none":
        assert not any(toggles.values())
        assert not any(f'<details class="{book.TOGGLE_CLASS}"' in p.read_text(encoding="utf-8") for p in site.glob("*.html"))
    else:
        for name, lines in _answer_lines().items():
            inside = _normal("\n".join(toggles[name]))
            missing = [line for line in lines if line not in inside]
            assert not missing, f"{name}: answers missing from its toggles: {missing[:5]}"


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_no_solution_only_word_in_the_search_index(sites, mode):
    from sphinx.search.en import SearchEnglish

    site = sites[mode]
    stem = SearchEnglish({}).stem
    raw = (site / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(raw[raw.index("(") + 1: raw.rindex(")")])
    indexed = set(index["terms"]) | set(index["titleterms"])
    visible = {word.lower() for page in site.glob("*.html")
               for word in WORD.findall(_text(page.read_text(encoding="utf-8"), words=True))}
    visible |= {stem(word).lower() for word in visible}
    solution_words = {word.lower() for path in SOLUTIONS for word in WORD.findall("\n".join(_solution_blocks(path)))}
    only = {word for word in solution_words if word not in visible and stem(word).lower() not in visible}
    assert len(only) >= 20, sorted(only)   # enough words to look for ...
    assert "notimplementederror" in indexed  # ... in an index that does hold the words of code
    leaked = sorted(word for word in only if word in indexed or stem(word).lower() in indexed)
    assert not leaked, f"words found only in solutions are in the search index: {leaked}"


def test_a_folder_not_made_by_book_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(book.BookError, match="was not made by"):
        book.build_site(ROOT, tmp_path, "none")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_unknown_setting_is_refused():
    with pytest.raises(book.BookError, match="--solutions must be one of none, toggle"):
        book.site_notebook(SOLUTIONS[0], "open")


# ----------------------------------------------------------------------------
# In a browser (marker ``browser``: needs Chromium and playwright, as tests/test_browser.py)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.browser
def test_a_page_in_headless_chromium_shows_its_toc_a_figure_and_a_closed_solution(sites):
    from test_browser import CHROMIUM_ARGS, _chromium, _skip

    chromium = _chromium()
    if chromium is None:
        _skip("no Chromium found (chromium is not on PATH, or BPKIT_CHROMIUM names no file)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("the playwright package is not installed")
    site = sites["toggle"]
    handler = functools.partial(_QuietHandler, directory=str(site))
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        name = next(n for n in CHAPTERS if "<img" in (site / f"{n}.html").read_text(encoding="utf-8")
                    and f'<details class="{book.TOGGLE_CLASS}"' in (site / f"{n}.html").read_text(encoding="utf-8"))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                # MathJax comes from a CDN at view time: offline here, so it is not waited for
                page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
                page.goto(f"{base}/{name}.html", wait_until="load")
                toc = page.locator("nav.bd-docs-nav")
                toc.wait_for(state="visible", timeout=30_000)
                hrefs = toc.locator("a.reference.internal").evaluate_all("els => els.map(a => a.getAttribute('href'))")
                hrefs = [f"{name}.html" if h == "#" else h for h in hrefs]  # the page itself: "#"
                assert [h for h in hrefs if h[:-5] in CHAPTERS] == [f"{n}.html" for n in CHAPTERS]
                figure = page.locator("div.cell_output img").first
                figure.scroll_into_view_if_needed()
                page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=figure.element_handle(),
                                       timeout=30_000)
                toggle = page.locator(f"details.{book.TOGGLE_CLASS}").first
                code = toggle.locator("pre")
                assert not toggle.evaluate("el => el.open") and code.text_content() == ""
                toggle.locator("summary").click()
                page.wait_for_function("el => el.textContent.length > 0", arg=code.element_handle(), timeout=10_000)
                assert _normal(code.text_content()) in {_normal(t) for t in
                                                        _toggle_texts((site / f"{name}.html").read_text(encoding="utf-8"))}
                page.goto(f"{base}/search.html?q=sigmoid", wait_until="load")
                page.locator("ul.search li").first.wait_for(timeout=30_000)
            finally:
                browser.close()
        server.shutdown()


def test_a_repository_url_is_linked_from_the_home_page_and_the_theme(tmp_path):
    import yaml

    url = "https://example.org/you/bpkit-course"
    names = book.write_source(ROOT, tmp_path, "none", repository=url)
    assert names == CHAPTERS
    assert f"[{url}]({url})" in (tmp_path / "intro.md").read_text(encoding="utf-8")
    config = yaml.safe_load((tmp_path / "_config.yml").read_text(encoding="utf-8"))
    assert f'href="{url}"' in config["html"]["extra_footer"]
    assert config["execute"]["execute_notebooks"] == "off"


def _synthetic(tmp_path) -> Path:
    """A solved notebook with every case: an instructor cell, a solution block, hidden tests, a passed
    check, a markdown answer, a figure and a widget."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    passed = {"text/plain": "✓ Exercise 1.1 (one neuron's output): passed",
              "text/html": '<div class="bpkit-check bpkit-passed">✓ Exercise 1.1 (one neuron&#x27;s output): passed</div>'}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 01 · A title"),
        nbformat.v4.new_markdown_cell("Grading note: the secret_grading_note", metadata={"tags": ["instructor"]}),
        nbformat.v4.new_code_cell('def neuron(x, w, b):\n    """Exercise 1.1: a neuron."""\n'
                                  '    ### BEGIN SOLUTION\n    secret_z = np.dot(w, x) + b  # the secret_comment\n'
                                  '    return sigmoid(secret_z)\n    ### END SOLUTION'),
        nbformat.v4.new_code_cell('neuron = check("1.1", neuron)\n### BEGIN HIDDEN TESTS\nassert_passed("1.1")\n'
                                  '### END HIDDEN TESTS',
                                  outputs=[nbformat.v4.new_output("display_data", data=passed)]),
        nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause secret_reason.\n### END SOLUTION"),
        nbformat.v4.new_code_cell("plt.show()", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]),
        nbformat.v4.new_code_cell("explorer", outputs=[nbformat.v4.new_output("execute_result", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0},
            "text/plain": "VBox(children=(FloatSlider(value=0.05),))"})]),
    ]
    path = tmp_path / "01_synthetic.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize("mode", book.SOLUTION_MODES)
def test_a_page_notebook_is_the_learners_copy_with_the_stored_outputs(tmp_path, mode):
    page = book.site_notebook(_synthetic(tmp_path), mode)
    text = json.dumps(page, ensure_ascii=False)
    visible = json.dumps([cell for cell in page.cells if book.TOGGLE_CLASS not in cell.source], ensure_ascii=False)
    assert "secret_grading_note" not in text and "HIDDEN TESTS" not in text and "assert_passed" not in text
    for secret in ("secret_z", "secret_comment", "secret_reason"):
        assert secret not in visible
        assert (secret in text) == (mode == "toggle")
    assert 'raise NotImplementedError(\\"Exercise 1.1: write this part' in visible
    assert "_Your answer here._" in visible
    outputs = [output for cell in page.cells if cell.cell_type == "code" for output in cell.outputs]
    check_line = outputs[0]["data"]["text/plain"]
    assert check_line.startswith("○ Exercise 1.1 (") and "still open" in check_line and "passed" not in check_line
    assert outputs[1]["data"]["image/png"] == "iVBORw0KGgo="
    assert "JupyterLab" in outputs[2]["data"]["text/html"] and len(outputs) == 3
    assert "widgets" not in page.metadata
    toggles = [cell.source for cell in page.cells if book.TOGGLE_CLASS in cell.source]
    assert len(toggles) == (2 if mode == "toggle" else 0)
    for toggle in toggles:
        assert "\n" not in toggle and "</script>" in toggle and toggle.count("<") == toggle.count(">")
        assert re.search(r"<script[^>]*>(.*?)</script>", toggle).group(1).count("<") == 0  # cannot close early
