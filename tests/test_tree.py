"""The tree shows the data flow, and imports follow it.

Every import of the package, at module level or inside a function, is read from the
source (so a circle hidden behind a lazy import counts), and:

- no module imports itself back through others (no import circle);
- a module imports only from its own layer or the layers before it, in the order
  data -> evaluation's shared comparisons -> metrics -> evaluation -> benchmark -> gate
  -> report -> cli, with the generators apart, reading only data;
- the packages pyproject.toml installs are exactly the folders of the tree.
"""

from __future__ import annotations

import ast
import graphlib
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
#: Where each installed top-level package lives in the repository.
SOURCES = {"safe_bench": ROOT / "safe_bench", "safe_bench_generators": ROOT / "generators"}

#: Layers in data-flow order: a module may import its own layer and earlier ones only.
#: Modules are matched by the longest prefix.
LAYERS: list[tuple[str, ...]] = [
    ("safe_bench.errors", "safe_bench.private", "safe_bench.provenance"),
    ("safe_bench.data", "safe_bench.suppression"),
    ("safe_bench.evaluation.encoding", "safe_bench.evaluation.uncertainty", "safe_bench.evaluation.comparison"),
    ("safe_bench.metrics",),
    ("safe_bench.generator", "safe_bench_generators"),
    ("safe_bench.evaluation",),
    ("safe_bench.benchmark",),
    ("safe_bench.scenarios",),
    ("safe_bench.gate",),
    ("safe_bench.report",),
    ("safe_bench.cli", "safe_bench"),
]


def module_name(package: str, path: Path) -> str:
    parts = list(path.relative_to(SOURCES[package]).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def is_module(dotted: str) -> bool:
    package, _, rest = dotted.partition(".")
    if package not in SOURCES:
        return False
    folder = SOURCES[package].joinpath(*rest.split(".")) if rest else SOURCES[package]
    return folder.with_suffix(".py").exists() or (folder / "__init__.py").exists()


def imports_of(name: str, path: Path) -> set[str]:
    """The modules ``path`` imports, anywhere in it: ``from a import b`` reads the module
    ``a.b`` when there is one, else the module ``a``."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.update(f"{base}.{alias.name}" if is_module(f"{base}.{alias.name}") else base for alias in node.names)
    return found


Graph = dict[str, set[str]]


@pytest.fixture(scope="module")
def graph() -> Graph:
    """Each project module -> the project modules it imports."""
    modules = {module_name(pkg, path): path for pkg, folder in SOURCES.items() for path in folder.rglob("*.py")}
    return {name: {t for t in imports_of(name, path) if t in modules and t != name} for name, path in modules.items()}


def edges(graph: Graph) -> list[tuple[str, str]]:
    return [(a, b) for a, targets in sorted(graph.items()) for b in sorted(targets)]


def layer_of(module: str) -> int:
    best = max(((len(p), i) for i, layer in enumerate(LAYERS) for p in layer
                if module == p or module.startswith(p + ".")), default=None)
    assert best is not None, f"{module} belongs to no layer of this test"
    return best[1]


def circle(graph: Graph) -> list[str] | None:
    """An import circle of ``graph`` (graphlib names one), or ``None``."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_there_is_no_import_circle(graph: Graph) -> None:
    assert circle(graph) is None


def test_the_circle_test_finds_a_circle() -> None:
    assert circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) is not None
    assert circle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_imports_follow_the_data_flow(graph: Graph) -> None:
    upward = [f"{a} -> {b}" for a, b in edges(graph)
              if layer_of(b) > layer_of(a) and not a.startswith("safe_bench.cli")
              and a != "safe_bench"]
    assert upward == []
    # the generators stand apart: they read the data layer and errors, nothing that measures
    apart = [f"{a} -> {b}" for a, b in edges(graph) if a.startswith("safe_bench_generators") and
             b.startswith("safe_bench.") and layer_of(b) > 2 and b != "safe_bench.generator"]
    assert apart == []


def test_the_circle_test_sees_a_lazy_import(tmp_path: Path) -> None:
    """A function-level import is read like a module-level one."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from safe_bench.report import html\n    return html\n")
    assert "safe_bench.report.html" in imports_of("safe_bench.gate.x", module)


def test_the_installed_packages_are_the_folders_of_the_tree() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {module_name(pkg, init.parent / "__init__.py") for pkg, folder in SOURCES.items()
               for init in folder.rglob("__init__.py")}
    assert set(config["packages"]) == folders
    assert config["package-dir"] == {"safe_bench_generators": "generators"}
