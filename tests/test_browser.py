"""Every chapter with widgets, in a real browser (marker ``browser``).

A private JupyterLab 4 (free port, token, temporary Jupyter dirs, autosave
off) serves the course. Headless Chromium, driven by Playwright, opens each
learner's copy in ``chapters/`` whose code builds widgets (exercises open, as
a learner gets it), runs all cells from the Run menu, then works every control
the notebook rendered: each slider is moved (ArrowRight, Home, End on its
handle), each dropdown goes through all its options, each checkbox is toggled
and each button clicked. After every move that changes a value the test waits
until the figure the control drives has been redrawn (a new ``img`` in the
widget's output), and no error or stderr output may appear anywhere in the
notebook. Screenshots of every widget go to a temporary folder, named in the
failure message. Nothing in the repository is written: autosave is off and the
test compares ``git status`` and the chapters' bytes before and after.

Chapters are found, not listed: any notebook in ``chapters/`` whose code
mentions ipywidgets, ``interact``, ``bpkit.widgets`` or an ``*_explorer`` /
``*_widget`` builder; and every control found after Run All is worked, so a
new chapter or a new widget is covered without editing this file.

Needs Chromium (Debian/Ubuntu: ``apt-get install chromium``; another binary:
``BPKIT_CHROMIUM=/path/to/chrome``) and the ``playwright`` package (in the
``test`` extra; Playwright's own browser download is not used). Without them
the tests skip, and ``conftest.py`` prints one line saying why and how to
enable them, unless ``BPKIT_BROWSER_TESTS=require`` (set by ``.ci/run``): then
they fail.

    .venv/bin/python -m pytest -m browser tests/test_browser.py
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
pytestmark = pytest.mark.browser

HOW_TO_ENABLE = ("to run them: sudo apt-get install chromium (or set BPKIT_CHROMIUM to a Chrome/Chromium binary) "
                 "and .venv/bin/python -m pip install playwright")
REQUIRED = os.environ.get("BPKIT_BROWSER_TESTS", "").lower() == "require"

# a notebook is opened when its code mentions widgets at all ...
MENTIONS_WIDGETS = re.compile(r"ipywidgets|\binteract|\bbpkit\.widgets\b|\bwidgets\.|\w_explorer\b|\w_widget\b")
# ... and must render at least one control when its code builds one
BUILDS_WIDGETS = re.compile(r"\binteract(?:ive|ive_output)?\s*\(|\bwidgets\.[A-Z]\w*\s*\(|"
                            r"\b\w*(?:Slider|Dropdown|Checkbox|Button)\s*\(|\w_explorer\s*\(|\w_widget\s*\(")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
ERRORS = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
CONTROLS = ('.jp-OutputArea .widget-slider, .jp-OutputArea .widget-dropdown select, '
            '.jp-OutputArea .widget-checkbox input[type="checkbox"], .jp-OutputArea button.widget-button')
KERNEL_IDLE = re.compile(r"\(ipykernel\) \| Idle")
RUN_ALL_TIMEOUT_MS = 600_000
REDRAW_TIMEOUT_MS = 60_000

# Helpers installed in every page: a short key per figure (length + FNV-1a of
# its src; the src is a long data: URL) in the scope a control drives: its own
# cell when that cell shows a widget output with a figure, else the notebook.
PAGE_HELPERS = """
window.__bpkit = {
  key(s) { let h = 0x811c9dc5; for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619); }
           return s.length + ':' + (h >>> 0).toString(16); },
  scope(el) { const cell = el.closest('.jp-Cell');
              return cell && cell.querySelector('.widget-output img') ? cell : el.closest('.jp-Notebook'); },
  figures(el) { return Array.from(__bpkit.scope(el).querySelectorAll('.widget-output img'))
                            .map(img => __bpkit.key(img.getAttribute('src') || '')); },
  redrawn(el, before) { const scope = __bpkit.scope(el);
                        const imgs = Array.from(scope.querySelectorAll('.widget-output img'));
                        if (!imgs.length || !imgs.every(img => img.complete && img.naturalWidth > 0)) return false;
                        const now = imgs.map(img => __bpkit.key(img.getAttribute('src') || ''));
                        return now.some(k => !before.includes(k)); },
  value(el) { const h = el.querySelector('.noUi-handle'), r = el.querySelector('.widget-readout');
              return (h ? h.getAttribute('aria-valuenow') : '') + '|' + (r ? r.textContent : ''); },
  label(el) { const w = el.closest('.widget-inline-hbox, .widget-checkbox') || el;
              const texts = Array.from(w.querySelectorAll('.widget-label, .widget-label-basic'))
                                 .concat([el]).map(l => (l.textContent || '').replace(/\\u200b/g, '').trim());
              return texts.find(t => t) || el.getAttribute('title') || ''; },
  errors() { return document.querySelectorAll('.jp-Notebook %s').length; },
  ranAll() { const prompts = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea-prompt'))
                                .map(p => p.textContent.trim());
             if (!prompts.length || prompts.some(p => p.includes('*'))) return false;
             return /\\d/.test(prompts[prompts.length - 1]) || document.querySelector('%s') !== null; },
};
""" % ((ERRORS.replace("'", "\\'"),) * 2)


def _widget_chapters() -> list:
    found = []
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code")
        if MENTIONS_WIDGETS.search(code):
            found.append(pytest.param(path, bool(BUILDS_WIDGETS.search(code)), id=path.name))
    return found or [pytest.param(None, False, marks=pytest.mark.skip(reason="no chapter with widgets"), id="none")]


def _skip(why: str):
    if REQUIRED:
        pytest.fail(f"browser tests: {why}; BPKIT_BROWSER_TESTS=require is set (as in CI), so this is a failure; "
                    + HOW_TO_ENABLE, pytrace=False)
    pytest.skip(f"browser tests skipped: {why}; {HOW_TO_ENABLE}")


def _chromium() -> str | None:
    wanted = os.environ.get("BPKIT_CHROMIUM")
    if wanted:
        return wanted if Path(wanted).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _repo_state() -> tuple:
    """``git status --porcelain`` and the bytes of everything under chapters/ (hidden files too)."""
    status = None
    if shutil.which("git") and (ROOT / ".git").exists():
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                                capture_output=True, text=True).stdout
    files = {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(CHAPTERS.rglob("*")) if p.is_file()}
    return status, files


def _write_settings(folder: Path) -> None:
    """User settings for the private lab: no autosave, every cell in the DOM, no news pop-up."""
    settings = {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for name, values in settings.items():
        path = folder / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A private JupyterLab serving the course folder, and a headless Chromium (both stopped afterwards)."""
    chromium = _chromium()
    if chromium is None:
        _skip("no Chromium found" + (f" at BPKIT_CHROMIUM={os.environ['BPKIT_CHROMIUM']}"
                                     if os.environ.get("BPKIT_CHROMIUM") else " (chromium is not on PATH)"))
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip("the playwright package is not installed")

    tmp = tmp_path_factory.mktemp("lab")
    shots = Path(tempfile.mkdtemp(prefix="bpkit-browser-shots-"))
    _write_settings(tmp / "user-settings")
    port, token = _free_port(), "bpkit-browser-" + os.urandom(8).hex()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTER_DATA_DIR=str(tmp / "data"), JUPYTERLAB_SETTINGS_DIR=str(tmp / "user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"), IPYTHONDIR=str(tmp / "ipython"))
    env.pop("MPLBACKEND", None)  # the kernel's own default: inline PNG figures
    # JUPYTER_DATA_DIR is private, so the kernel comes from this interpreter's environment (sys.prefix)
    # `-m jupyterlab`, not the jupyter-lab script: a copied venv's scripts may point at another Python
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
            "--LabApp.extension_manager=readonly", "--ServerApp.port_retries=0",
            # JupyterLab makes a checkpoint of every notebook it opens: into the temporary folder, not chapters/
            f"--FileCheckpoints.checkpoint_dir={tmp / 'checkpoints'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    before = _repo_state()
    log_path = tmp / "server.log"
    log = log_path.open("w")
    server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"jupyter lab exited at start-up:\n{log_path.read_text()[-2000:]}")
                time.sleep(0.1)
        else:
            pytest.fail(f"jupyter lab did not answer within 60 s:\n{log_path.read_text()[-2000:]}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.add_init_script(PAGE_HELPERS)
            try:
                yield {"base": base, "token": token, "context": context, "shots": shots, "log": log_path}
            finally:
                context.close()
                browser.close()
    finally:
        log.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    after = _repo_state()
    changed = sorted({name for name, _ in set(after[1].items()) ^ set(before[1].items())})
    assert after == before, ("the browser test changed the repository: "
                             + (", ".join(changed) if changed else f"git status now says {after[0]!r}"))


def _api(lab, method: str, path: str):
    request = urllib.request.Request(f"{lab['base']}{path}?token={lab['token']}", method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def _shut_down_kernels(lab) -> None:
    for session in _api(lab, "GET", "/api/sessions"):
        _api(lab, "DELETE", f"/api/sessions/{session['id']}")


def _error_texts(page) -> list:
    """The last two lines of each error or stderr output (a traceback ends with the exception)."""
    return [" | ".join(text.strip().splitlines()[-2:])[-400:]
            for text in page.locator(f".jp-Notebook {ERRORS}").all_inner_texts()]


def _slug(text: str) -> str:
    return re.sub(r"[^\w]+", "-", text).strip("-")[:30] or "unnamed"


def _wait_idle(page, timeout=REDRAW_TIMEOUT_MS) -> None:
    page.get_by_text(KERNEL_IDLE).first.wait_for(timeout=timeout)


def _act_and_wait(page, control, act, what: str, problems: list, moved=None) -> None:
    """Do ``act()``; when the control's value moved, wait for its figure to be redrawn; record problems."""
    before = control.evaluate("el => __bpkit.figures(el)")
    if not before:
        problems.append(f"{what}: no figure (widget output image) found that it could drive")
        return
    errors_before = page.evaluate("() => __bpkit.errors()")
    act()
    if moved is not None and not moved():
        return  # already at that end: nothing to redraw
    try:  # redrawn, or an error output instead (then the figure is gone: no need to wait)
        page.wait_for_function("([el, before, n]) => __bpkit.redrawn(el, before) || __bpkit.errors() > n",
                               arg=[control.element_handle(), before, errors_before],
                               timeout=REDRAW_TIMEOUT_MS, polling=100)
    except Exception:  # playwright's TimeoutError
        pass
    _wait_idle(page)
    if page.evaluate("() => __bpkit.errors()") > errors_before:
        problems.append(f"{what}: error output appeared: {_error_texts(page)[-1]!r}")
    elif not control.evaluate("(el, before) => __bpkit.redrawn(el, before)", before):
        problems.append(f"{what}: the figure it drives did not change within {REDRAW_TIMEOUT_MS // 1000} s")


def _work_slider(page, control, what, problems):
    handle, moves = control.locator(".noUi-handle").first, []
    for key in ("ArrowRight", "Home", "End"):  # a small step, then both ends (the later controls see the last)
        value = control.evaluate("el => __bpkit.value(el)")  # the handle's position and the readout

        def act(key=key):
            handle.focus()
            handle.press(key)

        def moved(value=value):
            try:
                page.wait_for_function("([el, v]) => __bpkit.value(el) !== v", arg=[control.element_handle(), value],
                                       timeout=3000, polling=50)
                moves.append(key)
                return True
            except Exception:  # already at that end
                return False

        position, readout = value.split("|", 1)
        _act_and_wait(page, control, act, f"{what} ({key}, from {readout or position})", problems, moved)
    if not moves:
        problems.append(f"{what}: ArrowRight, Home and End on its handle did not move it")


def _work_dropdown(page, control, what, problems):
    options = control.locator("option").all_inner_texts()
    start = control.evaluate("el => el.selectedIndex")
    if len(options) < 2:
        return  # nothing else to pick
    for step in range(1, len(options) + 1):  # every other option, then back to the first one
        index = (start + step) % len(options)
        _act_and_wait(page, control, lambda index=index: control.select_option(index=index),
                      f"{what} -> {options[index]!r}", problems)


def _work_checkbox(page, control, what, problems):
    for _ in range(2):  # on and off again
        _act_and_wait(page, control, control.click, f"{what} (clicked)", problems)


def _work_button(page, control, what, problems):
    _act_and_wait(page, control, control.click, f"{what} (clicked)", problems)


WORKERS = {"slider": _work_slider, "dropdown": _work_dropdown, "checkbox": _work_checkbox, "button": _work_button}


def _kind(control) -> str:
    return control.evaluate("""el => el.classList.contains('widget-slider') ? 'slider'
                                   : el.tagName === 'SELECT' ? 'dropdown'
                                   : el.type === 'checkbox' ? 'checkbox' : 'button'""")


@pytest.mark.parametrize("path, builds_widgets", _widget_chapters())
def test_every_widget_redraws_its_figure_without_errors(lab, path, builds_widgets):
    name = path.stem
    page = lab["context"].new_page()
    shots, problems = lab["shots"], []
    try:
        page.goto(f"{lab['base']}/lab/tree/chapters/{path.name}?token={lab['token']}&reset")
        page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
        _wait_idle(page, timeout=120_000)

        started = time.monotonic()
        page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        page.wait_for_function("() => __bpkit.ranAll()", timeout=RUN_ALL_TIMEOUT_MS, polling=500)
        _wait_idle(page, timeout=RUN_ALL_TIMEOUT_MS)
        ran_all = time.monotonic() - started
        errors = _error_texts(page)
        if errors:
            page.screenshot(path=str(shots / f"{name}-run-all.png"), full_page=True)
            problems.append(f"Run All left {len(errors)} error/stderr output(s); the last: {errors[-1]!r}")

        controls = page.locator(f".jp-Notebook {CONTROLS}")
        count = controls.count()
        if builds_widgets and count == 0:
            problems.append("its code builds widgets, but no slider, dropdown, checkbox or button was rendered")
        for i in range(count):
            control = controls.nth(i)
            kind = _kind(control)
            label = control.evaluate("el => __bpkit.label(el)")
            what = f"{kind} {label!r} (control {i + 1} of {count})"
            control.scroll_into_view_if_needed()
            WORKERS[kind](page, control, what, problems)
            cell = control.locator("xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '),"
                                   " ' jp-Cell-outputWrapper ')][1]")  # the widget with its figure
            cell.screenshot(path=str(shots / f"{name}-{i + 1:02d}-{kind}-{_slug(label)}.png"))
        print(f"\n{path.name}: Run All {ran_all:.1f} s, {count} controls worked in "
              f"{time.monotonic() - started - ran_all:.1f} s")
    except Exception as exc:  # a timeout or a missing element: say where, with a picture
        problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        if problems:
            page.screenshot(path=str(shots / f"{name}-failure.png"), full_page=True)
        page.close()
        _shut_down_kernels(lab)
    taken = sorted(p.name for p in shots.glob(f"{name}-*.png"))
    assert not problems, (f"{path.name} in a real browser:\n  " + "\n  ".join(problems)
                          + f"\nscreenshots in {shots}: " + ", ".join(taken))
