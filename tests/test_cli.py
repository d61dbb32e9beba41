"""bpkit.__main__: the command line lists its commands and fails in one line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bpkit.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command in ("build", "check", "nbgrader-metadata", "book", "doctor"):
        assert f"    {command}" in out


@pytest.mark.parametrize("command", ["build", "check", "nbgrader-metadata", "book", "doctor"])
def test_each_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: python -m bpkit {command}" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    for argv in ([], ["nope"], ["check", "--timeout"], ["build", "--check", "--force"], ["check", "--json", "--csv"],
                 ["book", "--solutions", "open"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    capsys.readouterr()


def test_python_dash_m_runs_without_traceback(tmp_path):
    """An expected problem is one line on stderr, exit 1, from any folder."""
    result = subprocess.run([sys.executable, "-m", "bpkit", "check", str(tmp_path / "missing.ipynb")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == f"bpkit check: {tmp_path / 'missing.ipynb'}: no such notebook\n"
    help_ = subprocess.run([sys.executable, "-m", "bpkit", "--help"], capture_output=True, text=True, cwd=ROOT)
    assert help_.returncode == 0 and "doctor" in help_.stdout


def test_a_missing_package_is_one_line_naming_the_course_environment(monkeypatch, capsys):
    """Run with a Python that is not the course's: say so, no traceback."""
    import bpkit.__main__ as cli

    def doctor_without_nbclient(args):
        raise ModuleNotFoundError("No module named 'nbclient'", name="nbclient")

    monkeypatch.setattr(cli, "_doctor", doctor_without_nbclient)
    assert cli.main(["doctor"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'nbclient'" in err and ".venv/bin/python -m bpkit doctor" in err


def _taught_commands():
    """Every `python -m bpkit ...` line in chapter 00's and the README's bash blocks."""
    import re

    import nbformat

    texts = [c.source for c in nbformat.read(str(ROOT / "solutions" / "00_start_here.ipynb"), as_version=4).cells
             if c.cell_type == "markdown"]
    texts.append((ROOT / "README.md").read_text(encoding="utf-8"))
    commands = []
    for text in texts:
        for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
            for line in block.splitlines():
                line = line.split("#", 1)[0].split(" > ", 1)[0].strip()  # without a redirection
                if " -m bpkit " in f"{line} ":
                    commands.append(line)
    return commands


def test_the_commands_the_course_teaches_parse_and_name_files_that_exist_in_the_course_folder():
    """JupyterLab's terminal opens in the course folder (tests/test_course.py checks it on a real
    server): every bpkit command chapter 00 and the README show must work from there as typed."""
    import glob
    import shlex

    from bpkit.__main__ import _parser

    commands = _taught_commands()
    assert ".venv/bin/python -m bpkit check" in commands  # the whole course's progress
    for command in commands:
        words = shlex.split(command)
        assert words[0] in (".venv/bin/python", "python") and words[1:3] == ["-m", "bpkit"], command
        args = _parser().parse_args(words[3:])  # a usage error would exit 2
        for path in getattr(args, "notebooks", []):
            if "submissions/" in path or path.startswith("submitted/"):  # a class's folder; nbgrader's
                continue
            assert glob.glob(str(ROOT / path)), f"{command!r}: {path} does not exist in the course folder"


def test_output_piped_into_a_reader_that_stops_early_is_no_traceback(tmp_path):
    """`python -m bpkit check | head -1`: head closes the pipe after one line."""
    import nbformat

    (tmp_path / "chapters").mkdir()
    for name in ("00_a.ipynb", "01_b.ipynb"):
        nbformat.write(nbformat.v4.new_notebook(), str(tmp_path / "chapters" / name))
    result = subprocess.run(f'"{sys.executable}" -m bpkit check | head -1', shell=True, capture_output=True,
                            text=True, cwd=tmp_path, timeout=120)
    assert result.stdout.startswith("your progress: 2 chapters in chapters/")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
