"""The installed distribution: ``linkgraph`` is its only top-level import name.

The repository's folders ``crawler/``, ``graph/`` and ``storage/`` install as
``linkgraph.crawler``, ``linkgraph.graph`` and ``linkgraph.storage``: top-level names like
``crawler`` and ``storage`` belong to other distributions on the package index, and a user's
own ``graph.py`` would shadow ours.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

_PROBE = """
import importlib.util, json
names = ["crawler", "graph", "storage", "linkgraph.crawler", "linkgraph.graph", "linkgraph.storage",
         "linkgraph.demo", "linkgraph.demo.web"]
print(json.dumps({name: importlib.util.find_spec(name) is not None for name in names}))
"""


def run_outside_checkout(code: str, cwd: Path) -> str:
    """What CODE prints, run with -P from CWD (outside the checkout): only the install is seen."""
    done = subprocess.run(
        [sys.executable, "-P", "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


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


def test_importing_a_subpackage_does_not_load_the_whole_api(tmp_path: Path) -> None:
    # A parse worker imports linkgraph.crawler.parsing, which runs linkgraph/__init__.py first.
    probe = (
        "import sys, linkgraph.crawler.parsing\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'aiohttp', 'linkgraph.api') if m in sys.modules))"
    )
    assert run_outside_checkout(probe, tmp_path).strip() == "[]"


def test_importing_the_demo_server_does_not_load_the_query_api(tmp_path: Path) -> None:
    # The demo server's child process imports only the server: the demo package's names
    # load on first use, so neither the crawl-and-query API nor numpy comes with it.
    probe = (
        "import sys, linkgraph.demo, linkgraph.demo.process\n"
        "from linkgraph.demo import DemoWeb, web\n"
        "print(sorted(m for m in ('numpy', 'linkgraph.api', 'linkgraph.demo.run') if m in sys.modules))"
    )
    assert run_outside_checkout(probe, tmp_path).strip() == "[]"


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
