"""course.py, the two-command entry point (standard library only, run before bpkit exists).

The last test starts the real JupyterLab server the way ``course.py lab``
does (no browser needed) and asks it where its terminal opens and which
settings it serves.
"""
import asyncio
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(monkeypatch):
    spec = importlib.util.spec_from_file_location("course", ROOT / "course.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    calls = []
    monkeypatch.setattr(module, "ensure_environment", lambda: Path("/venv/bin/python"))
    monkeypatch.setattr(module, "write_lab_settings", lambda prefix=None: None)
    monkeypatch.setattr(module, "run", lambda python, *args: calls.append(args) or 0)
    module.calls = calls
    return module


def test_without_a_command_it_prints_the_usage(course, capsys):
    assert course.main([]) == 2
    assert "python3 course.py lab" in capsys.readouterr().out


def test_lab_serves_the_course_folder_opens_chapter_00_and_prints_the_url_when_headless(course, monkeypatch):
    monkeypatch.setattr(course.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert course.main(["lab"]) == 0
    (args,) = course.calls
    assert args[:6] == ("-m", "jupyter", "lab", f"--ServerApp.root_dir={ROOT}",
                        "--LabApp.default_url=/lab/tree/chapters/00_start_here.ipynb", "chapters/00_start_here.ipynb")
    assert "--no-browser" in args


def test_lab_writes_the_course_settings_into_the_environment(course, tmp_path, monkeypatch):
    written = []
    monkeypatch.setattr(course, "write_lab_settings", lambda prefix=None: written.append(prefix))
    assert course.main(["lab"]) == 0
    assert written == [None]  # the default: the course's .venv
    path = course.lab_settings_file(tmp_path)
    assert path == tmp_path / "share/jupyter/lab/settings/overrides.d/bpkit-course.json"


def test_the_settings_file_is_where_jupyterlab_reads_overrides(course, monkeypatch):
    """JupyterLab's app_settings_dir for an environment is <prefix>/share/jupyter/lab/settings."""
    from jupyterlab.commands import get_app_dir

    monkeypatch.delenv("JUPYTERLAB_DIR", raising=False)
    settings_dir = course.lab_settings_file(Path(sys.prefix)).parent.parent
    assert settings_dir == Path(get_app_dir()) / "settings"


def test_book_builds_the_site_with_bpkit_book_passing_its_options_on(course):
    assert course.main(["book", "--solutions", "toggle"]) == 0
    assert course.calls == [("-m", "bpkit", "book", "--solutions", "toggle")]
    assert "python3 course.py book" in course.__doc__


def test_test_runs_unit_tests_strict_nbval_on_solutions_and_lax_on_chapters(course):
    assert course.main(["test"]) == 0
    assert [args[:4] for args in course.calls] == [
        ("-m", "pytest", "tests"),
        ("-m", "pytest", "--nbval", "solutions"),
        ("-m", "pytest", "--nbval-lax", "chapters"),
    ]


def test_test_fails_when_any_suite_fails(course, monkeypatch):
    monkeypatch.setattr(course, "run", lambda python, *args: 1 if "--nbval" in args else 0)
    assert course.main(["test"]) == 1


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _terminal_says(port, token, command, pattern, timeout=20.0):
    """Open a JupyterLab terminal, type ``command``, return the first match of ``pattern`` in its output."""
    from tornado.websocket import websocket_connect

    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/terminals?token={token}", data=b"{}",
                                     method="POST", headers={"Content-Type": "application/json"})
    name = json.load(urllib.request.urlopen(request, timeout=10))["name"]
    ws = await websocket_connect(f"ws://127.0.0.1:{port}/terminals/websocket/{name}?token={token}")
    ws.write_message(json.dumps(["stdin", command + "\r"]))
    seen, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await asyncio.wait_for(ws.read_message(), timeout=deadline - time.monotonic())
        if message is None:
            break
        kind, *rest = json.loads(message)
        if kind == "stdout":
            seen += rest[0]
            found = re.search(pattern, seen)
            if found:
                ws.close()
                return found
    ws.close()
    raise AssertionError(f"the terminal never printed {pattern!r}; it printed {seen[-500:]!r}")


def test_the_real_server_opens_its_terminal_in_the_course_folder_without_a_news_popup(course, tmp_path):
    """``course.py lab``'s own arguments, on a real server (no browser):

    - a terminal opened in JupyterLab starts in the course folder, where every
      ``chapters/...`` and ``solutions/...`` path chapter 00 tells the learner to
      type exists, and README.md is there too;
    - the settings course.py writes make "fetch official Jupyter news" default
      to Never, so the "get notified about official Jupyter news?" pop-up is not
      shown (JupyterLab 4 asks only while fetchNews is "none").
    """
    course.main(["lab"])
    (args,) = course.calls
    prefix = tmp_path / "env"
    settings_file = course.lab_settings_file(prefix)
    spec = importlib.util.spec_from_file_location("course_real", ROOT / "course.py")
    real = importlib.util.module_from_spec(spec)  # the fixture's copy does not write settings
    spec.loader.exec_module(real)
    assert real.write_lab_settings(prefix) == settings_file
    assert json.loads(settings_file.read_text())["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"

    port, token = _free_port(), "bpkit-test-token"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "run"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    extra = [f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", "--no-browser",
             f"--IdentityProvider.token={token}", f"--LabApp.app_settings_dir={settings_file.parent.parent}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        extra.append("--allow-root")
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, *args, *extra], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                status = json.load(urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2))
                break
            except OSError:
                assert server.poll() is None, "jupyter lab exited at start-up"
                time.sleep(0.1)
        else:
            pytest.fail("jupyter lab did not answer within 30 s")
        assert "started" in status
        for _ in range(100):  # the URL a learner without a screen copies into a browser opens chapter 00
            if "?token=" in (tmp_path / "server.log").read_text():
                break
            time.sleep(0.1)
        printed = re.findall(r"http://127\.0\.0\.1:\d+(\S*)\?token=", (tmp_path / "server.log").read_text())
        assert printed and set(printed) == {"/lab/tree/chapters/00_start_here.ipynb"}, printed
        page = urllib.request.urlopen(f"{base}{printed[0]}?token={token}", timeout=10)
        assert page.status == 200 and "text/html" in page.headers["Content-Type"]

        listing = json.load(urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=10))
        names = {entry["name"] for entry in listing["content"]}
        assert {"README.md", "chapters", "solutions", "course.py"} <= names

        found = asyncio.run(_terminal_says(port, token, 'echo "BPKIT_CWD=$(pwd)"', r"BPKIT_CWD=(/[^\r\n]*)"))
        cwd = Path(found.group(1).strip())
        assert cwd.resolve() == ROOT.resolve()
        taught = set()
        for cell in nbformat.read(str(ROOT / "solutions" / "00_start_here.ipynb"), as_version=4).cells:
            if cell.cell_type == "markdown":
                taught.update(re.findall(r"\b((?:chapters|solutions)/\d\d_\w+\.ipynb)\b", cell.source))
        assert "chapters/01_neurons.ipynb" in taught
        for path in taught:
            assert (cwd / path).is_file(), f"chapter 00 tells the learner to type {path}, not there in the terminal"

        notification = "@jupyterlab/apputils-extension:notification"
        served = json.load(urllib.request.urlopen(f"{base}/lab/api/settings/{notification}?token={token}",
                                                  timeout=10))
        defaults = served["schema"]["properties"]
        assert defaults["fetchNews"]["default"] == "false"  # Never: no pop-up asking, no request
        assert defaults["checkForUpdates"]["default"] is False
        assert "fetchNews" not in served.get("settings", {})
    finally:
        log.close()
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_jupyterlab_asks_about_news_only_while_fetchNews_is_none():
    """Why fetchNews = "false" is enough: the installed JupyterLab's front end shows the
    "get notified about official Jupyter news?" pop-up only when the setting is "none"
    (its default), and fetches news only when it is "true"."""
    from jupyterlab.commands import get_app_dir

    question = "Would you like to get notified about official Jupyter news?"
    sources = [p.read_text(encoding="utf-8", errors="replace")
               for p in (Path(get_app_dir()) / "static").glob("*.js")]
    (source,) = [s for s in sources if question in s]
    before = source[: source.index(question)][-400:]
    assert re.search(r'"none"===\(?[^;]{0,80}get\("fetchNews"\)\.composite', before), before
