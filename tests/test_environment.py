"""environment.yml (conda, Binder, JupyterHub) and pyproject.toml (pip, course.py) ask for the same packages.

Both list the same packages with the same lower bounds: the course's
dependencies plus the ``test`` extra (the ``bench`` extra is for benchmarks
only), and the same Python. environment.yml's ``pip:`` section installs the
course itself (``-e .``), which is what makes bpkit importable on Binder.
The parser below reads only the layout environment.yml has (no YAML library
needed): a flat ``dependencies:`` list and one ``pip:`` list inside it, for
packages conda-forge lacks (they count like the others) and the course itself.
"""
import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10: pytest itself depends on tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
# the same package under another name on conda-forge
CONDA_NAMES = {"playwright": "playwright-python"}
# in environment.yml only: conda's own pip, which installs the pip: section
CONDA_ONLY = {"pip"}
SPEC = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:(>=|==|=)\s*([0-9][0-9A-Za-z.]*)(,<[0-9][0-9A-Za-z.]*)?)?$")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(spec: str, where: str) -> tuple:
    """'numpy>=1.24' -> ('numpy', '>=1.24'), 'x>=0.9,<0.10' -> ('x', '>=0.9,<0.10'); else fail loudly."""
    found = SPEC.match(spec.strip())
    assert found, f"{where}: cannot read {spec!r} (extend tests/test_environment.py if the layout changed)"
    name, op, version, upper = found.groups()
    return _normal(name), (f"{'==' if op == '=' else op}{version}{upper or ''}" if op else "")


def environment_yml(path=ROOT / "environment.yml") -> tuple:
    """(conda packages, pip lines) from environment.yml's dependencies."""
    conda, pip, section, pip_indent = {}, [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            section = line.strip().rstrip(":") if line.endswith(":") else None
            continue
        if section != "dependencies":
            continue
        item = line.strip()
        assert item.startswith("- "), f"environment.yml: unexpected line {raw!r}"
        item = item[2:].strip()
        if item == "pip:":
            pip_indent = indent
            continue
        if pip_indent is not None and indent > pip_indent:  # inside the pip: list
            pip.append(item)
            continue
        name, bound = _parse(item, "environment.yml")
        assert name not in conda, f"environment.yml lists {name} twice"
        conda[name] = bound
    return conda, pip


def pyproject() -> tuple:
    """(packages with their bounds, requires-python) from the dependencies and the test extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {}
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        name, bound = _parse(spec, "pyproject.toml")
        assert wanted.get(name, bound) == bound, f"pyproject.toml gives {name} two different bounds"
        wanted[name] = bound
    return wanted, project["requires-python"]


def test_environment_yml_and_pyproject_list_the_same_packages_and_lower_bounds():
    conda, pip = environment_yml()
    for line in pip:   # packages conda-forge does not have come from PyPI, in the pip: section
        if line != "-e .":
            name, bound = _parse(line, "environment.yml (pip:)")
            assert name not in conda, f"environment.yml lists {name} twice"
            conda[name] = bound
    wanted, python = pyproject()
    expected = {_normal(CONDA_NAMES.get(name, name)): bound for name, bound in wanted.items()}
    expected["python"] = python.replace(" ", "")
    got = {name: bound for name, bound in conda.items() if name not in CONDA_ONLY}
    missing = {n: b for n, b in expected.items() if n not in got}
    extra = {n: b for n, b in got.items() if n not in expected}
    differ = {n: (expected[n], got[n]) for n in expected.keys() & got.keys() if expected[n] != got[n]}
    assert not (missing or extra or differ), (
        f"environment.yml and pyproject.toml disagree: missing from environment.yml {missing}, "
        f"only in environment.yml {extra}, different bounds (pyproject, environment.yml) {differ}")


def test_every_bound_is_a_lower_bound():
    wanted, _ = pyproject()
    assert all(bound.startswith(">=") for bound in wanted.values()), wanted   # an upper bound may follow


def test_environment_yml_installs_the_course_itself():
    conda, pip = environment_yml()
    assert "pip" in conda and pip[-1:] == ["-e ."], (conda, pip)


def test_the_parser_reads_this_layout(tmp_path):
    sample = tmp_path / "environment.yml"
    sample.write_text("name: x\nchannels:\n  - conda-forge\ndependencies:\n  - python>=3.10\n  - numpy>=1.24  # why\n"
                      "  - scikit_learn=1.3\n  - pip\n  - pip:\n      - -e .\n      - extra-thing\n", encoding="utf-8")
    assert environment_yml(sample) == ({"python": ">=3.10", "numpy": ">=1.24", "scikit-learn": "==1.3", "pip": ""},
                                       ["-e .", "extra-thing"])
