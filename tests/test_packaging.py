"""The installed distribution: ``linkgraph`` is its only top-level import name.

The repository's folders ``crawler/``, ``graph/`` and ``storage/`` install as
``linkgraph.crawler``, ``linkgraph.graph`` and ``linkgraph.storage``: top-level names like
``crawler`` and ``storage`` belong to other distributions on the package index, and a user's
own ``graph.py`` would shadow ours.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
from pathlib import Path

import pytest
from cli_support import run_outside_checkout

_PROBE = """
import importlib.util, json
names = ["crawler", "graph", "storage", "linkgraph.crawler", "linkgraph.graph", "linkgraph.storage",
         "linkgraph.demo", "linkgraph.demo.web"]
print(json.dumps({name: importlib.util.find_spec(name) is not None for name in names}))
"""


def test_the_distribution_declares_only_linkgraph_as_top_level() -> None:
    top_level = importlib.metadata.distribution("linkgraph").read_text("top_level.txt")
    assert top_level is not None
    assert top_level.split() == ["linkgraph"]


def test_only_linkgraph_subpackages_are_importable_outside_the_checkout(tmp_path: Path) -> None:
    assert json.loads(run_outside_checkout(_PROBE, tmp_path)) == {
        "crawler": False,
        "graph": False,
        "storage": False,
        "linkgraph.crawler": True,
        "linkgraph.graph": True,
        "linkgraph.storage": True,
        "linkgraph.demo": True,
        "linkgraph.demo.web": True,
    }


# What importing one module prints about what came with it, by test id: (probe, printed).
IMPORT_PROBES: dict[str, tuple[str, str]] = {
    # A parse worker imports linkgraph.crawler.parsing, which runs linkgraph/__init__.py first.
    "a_subpackage_does_not_load_the_whole_api": (
        "import sys, linkgraph.crawler.parsing\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'aiohttp', 'linkgraph.api') if m in sys.modules))",
        "[]",
    ),
    # The demo server's child process imports only the server: the demo package's names
    # load on first use, so neither the crawl-and-query API nor numpy comes with it.
    "the_demo_server_does_not_load_the_query_api": (
        "import sys, linkgraph.demo, linkgraph.demo.process\n"
        "from linkgraph.demo import DemoWeb, web\n"
        "print(sorted(m for m in ('numpy', 'linkgraph.api', 'linkgraph.demo.run') if m in sys.modules))",
        "[]",
    ),
    # storage/ and graph/ subclass it: importing it must not drag the API, aiohttp or numpy
    # into a package that only needs its own errors.
    "the_error_root_loads_nothing_but_itself": (
        "import sys; before = set(sys.modules); import linkgraph.errors\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('linkgraph')"
        " or m.split('.')[0] in ('numpy', 'scipy', 'aiohttp', 'aiosqlite', 'sqlite3')))",
        "['linkgraph', 'linkgraph.errors']",
    ),
}


@pytest.mark.parametrize(("probe", "printed"), IMPORT_PROBES.values(), ids=IMPORT_PROBES.keys())
def test_importing(probe: str, printed: str, tmp_path: Path) -> None:
    assert run_outside_checkout(probe, tmp_path).strip() == printed


def test_every_package_folder_under_linkgraph_is_declared_for_the_wheel() -> None:
    # setuptools builds only the packages pyproject lists; an editable install still finds an
    # unlisted subpackage (such as linkgraph/cli/), so only the built wheel would lack it.
    import tomllib

    root = Path(__file__).resolve().parent.parent
    declared = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "linkgraph").rglob("__init__.py")
    }
    assert on_disk <= set(declared["packages"])


# The seams between the packages, read from the source: storage imports nothing from the
# crawler (URL identity and the settings vocabulary it needs live in storage), and nothing
# outside storage talks to SQLite itself.
ROOT = Path(__file__).resolve().parent.parent
_INSTALLED = {
    "crawler": "linkgraph.crawler",
    "graph": "linkgraph.graph",
    "storage": "linkgraph.storage",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts[0] = _INSTALLED.get(parts[0], parts[0])
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports, relative imports resolved against its installed name."""
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found += [module] + [f"{module}.{alias.name}" for alias in node.names]
    return found


def _sql_calls(path: Path) -> list[str]:
    """Database driver imports (``sqlite3``, ``aiosqlite``, ``psycopg``) and ``.execute*()``
    calls in ``path``, by line."""
    found = [
        f"line {node.lineno}: import {name}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if name.split(".")[0] in ("sqlite3", "aiosqlite", "psycopg")
    ]
    found += [
        f"line {node.lineno}: .{node.func.attr}()"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("execute", "executemany", "executescript")
    ]
    return found


def test_the_import_walk_resolves_relative_imports() -> None:
    # The rule below is only as good as this walk: a relative import must count too.
    probe = ROOT / "storage" / "queries.py"
    assert "linkgraph.storage.schema" in _imports(probe)
    assert "linkgraph.storage.identity.url_hash" in _imports(probe)


@pytest.mark.parametrize(
    "path", sorted((ROOT / "storage").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_storage_imports_nothing_from_the_crawler(path: Path) -> None:
    upward = [
        m for m in _imports(path) if m == "linkgraph.crawler" or m.startswith("linkgraph.crawler.")
    ]
    assert upward == []


def _outside_storage() -> list[Path]:
    return sorted(p for d in ("linkgraph", "crawler", "graph") for p in (ROOT / d).rglob("*.py"))


@pytest.mark.parametrize("path", _outside_storage(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_storage_talks_to_sqlite(path: Path) -> None:
    assert _sql_calls(path) == []


def test_the_sqlite_scan_finds_imports_and_execute_calls(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import aiosqlite\nfrom sqlite3 import connect\nconn.execute('SELECT 1')\nimport psycopg\n"
    )
    assert _sql_calls(probe) == [
        "line 1: import aiosqlite",
        "line 2: import sqlite3",
        "line 4: import psycopg",
        "line 3: .execute()",
    ]


def test_no_module_is_over_500_lines() -> None:
    """A module past 500 lines does more than one job (the engine was 715, the demo web
    771): split it along its seams instead of letting it grow."""
    folders = ("crawler", "graph", "storage", "linkgraph", "scripts", "tests")
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
    }
    assert len(sizes) > 100  # the walk found the tree
    assert {name: n for name, n in sizes.items() if n > 500} == {}
