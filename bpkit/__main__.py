"""The command line: ``python -m bpkit {build,check,nbgrader-metadata,book,doctor}`` (also ``bpkit ...``).

Expected problems (a missing notebook, unbalanced markers, a chapter the
learner edited) print one line and return a non-zero exit code; tracebacks
are kept for real bugs.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _build(args: argparse.Namespace) -> int:
    from bpkit import build

    report = build.check(args.notebooks) if args.check else build.build(args.notebooks, force=args.force)
    for line in report.lines:
        print(line)
    return report.code


def _check(args: argparse.Namespace) -> int:
    from bpkit import scoreboard

    return scoreboard.main(args.notebooks, as_json=args.json, timeout=args.timeout, as_csv=args.csv)


def _nbgrader_metadata(args: argparse.Namespace) -> int:
    from bpkit import grading

    report = grading.main(args.notebooks, check=args.check)
    for line in report.lines:
        print(line)
    return report.code


def _book(args: argparse.Namespace) -> int:
    from bpkit import book

    return book.main(args.out, args.solutions, args.repository)


def _doctor(args: argparse.Namespace) -> int:
    from bpkit import doctor

    return doctor.main()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bpkit",
        description="Tools for the backpropagation course.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    build = commands.add_parser(
        "build",
        help="generate the learner's chapters/ from solutions/",
        description="Generate chapters/NN_name.ipynb from solutions/NN_name.ipynb (stubs instead of "
        "solutions, outputs cleared). Refuses to overwrite a chapter you edited unless --force.",
    )
    build.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                       help="solution notebooks to build (default: every solutions/*.ipynb)")
    mode = build.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 if chapters/ differs from what build would write")
    mode.add_argument("--force", action="store_true",
                      help="overwrite edited chapters, keeping a copy as <chapter>.bak-<date>")
    build.set_defaults(run=_build)

    check = commands.add_parser(
        "check",
        help="your progress through the course, or a scoreboard of the notebooks named",
        description="With no notebook: your progress through the whole course, every chapter in chapters/ "
        "(from the course folder) on one line, then the next exercise to do. With notebooks: run each in a "
        "fresh kernel (the file is never modified) and report each exercise as passed / not yet / error. "
        "Exit 0 only if every exercise passed.",
    )
    check.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                       help="notebooks to run (default: every chapter in chapters/, one line each)")
    output = check.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of tables")
    output.add_argument("--csv", action="store_true",
                        help="print a gradebook for a spreadsheet instead of tables: one row per learner and "
                        "exercise (learner, notebook, exercise, title, status, points, score, message)")
    check.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                       help="time allowed for each notebook (default: 120)")
    check.set_defaults(run=_check)

    metadata = commands.add_parser(
        "nbgrader-metadata",
        help="give solutions/ nbgrader's cell metadata and hidden tests (idempotent)",
        description="Write nbgrader's cell metadata into solutions/NN_name.ipynb: solution cells "
        "(ex-N-M-solution), each exercise's check cell as an autograded test (ex-N-M-check, 1 point unless "
        "it says otherwise, with a hidden test that raises unless the check passed), every other cell "
        "read-only. Running it again changes nothing.",
    )
    metadata.add_argument("notebooks", nargs="*", metavar="NOTEBOOK",
                          help="solution notebooks (default: every solutions/*.ipynb)")
    metadata.add_argument("--check", action="store_true",
                          help="write nothing; exit 1 listing every cell whose metadata is missing or differs")
    metadata.set_defaults(run=_nbgrader_metadata)

    book = commands.add_parser(
        "book",
        help="build the course's website (Jupyter Book) into site/",
        description="Build a static HTML site of the course from solutions/ with Jupyter Book, using the "
        "stored outputs (nothing is executed). Pages show the learner's copy of each chapter; the downloads "
        "are the learner's notebooks. Publish the folder on any static host.",
    )
    book.add_argument("--solutions", choices=("none", "toggle"), default="none",
                      help="none (default): no solution anywhere in the site; toggle: each exercise's solution "
                      "behind a collapsed 'Show solution' (kept out of the search index and the downloads)")
    book.add_argument("--out", metavar="FOLDER", default=None,
                      help="where the site goes (default: site/ in the course folder); an existing folder is "
                      "replaced only if empty or made by this command")
    book.add_argument("--repository", metavar="URL", default=None,
                      help="the course's public repository (any URL): the home page and every page's footer link to it")
    book.set_defaults(run=_book)

    doctor = commands.add_parser(
        "doctor",
        help="check that this environment can run the course",
        description="Check Python, the packages, JupyterLab, the widget extension and that a kernel "
        "starts; print a fix for each problem.",
    )
    doctor.set_defaults(run=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from bpkit.build import BuildError

    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except BuildError as exc:
        print(f"bpkit {args.command}: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:  # run with a Python that is not the course's
        print(f"bpkit {args.command}: No module named {exc.name!r} in this Python ({sys.executable}); "
              f"use the course's environment: .venv/bin/python -m bpkit "
              f"{args.command} ... (Windows: .venv\\Scripts\\python), or run `python3 course.py lab` "
              "once to create it", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"bpkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the output was piped into a reader that stopped early (`| head`)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 1


if __name__ == "__main__":
    sys.exit(main())
