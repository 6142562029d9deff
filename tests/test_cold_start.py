"""What a command loads before it does its work: every command pays for it on every run.

`linkgraph --help` builds the whole parser, and a query needs the store's readers, but
neither needs the crawl engine, aiohttp, numpy, scipy or networkx, and `--help` does not
need the Public Suffix List either (a query about a target does: its domain).
`linkgraph --help` took 0.86 s when they all loaded. These tests check the loaded
modules, not a time, so a slow machine cannot fail them and a fast one cannot hide a
regression.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import run_outside_checkout
from linkgraph.storage import schema

HEAVY = ("aiohttp", "numpy", "scipy", "networkx", "linkgraph.crawler.engine", "publicsuffixlist")

_PROBE = """
import json, sys, contextlib, io
from linkgraph.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(ARGS)
    except SystemExit as exc:
        code = exc.code
print(json.dumps({"code": code, "loaded": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def loaded_by(args: list[str], cwd: Path) -> dict[str, object]:
    code = _PROBE.replace("ARGS", repr(args)).replace("HEAVY", repr(HEAVY))
    return json.loads(run_outside_checkout(code, cwd))


def test_help_loads_no_engine_network_or_array_library(tmp_path: Path) -> None:
    assert loaded_by(["--help"], tmp_path) == {"code": 0, "loaded": []}
    assert loaded_by(["backlinks", "--help"], tmp_path) == {"code": 0, "loaded": []}


def test_a_query_loads_no_engine_network_or_array_library(tmp_path: Path) -> None:
    db = tmp_path / "links.db"
    schema.connect(db, create=True).close()  # an empty store of the current schema
    for args in (["stats"], ["backlinks", "https://example.com/"], ["anchors", "example.com"]):
        got = loaded_by([*args, "--db", str(db)], tmp_path)
        assert got["code"] == 0, args
        assert set(got["loaded"]) <= {"publicsuffixlist"}, args


def test_the_probe_sees_a_crawl_command_load_the_engine(tmp_path: Path) -> None:
    """The probe can fail: `robots` (which fetches as a crawl does) loads the crawl wiring,
    even when its file is missing and the command ends in a one-line error."""
    loaded = loaded_by(["robots", str(tmp_path / "missing.txt"), "/x"], tmp_path)
    assert loaded["code"] == 1
    assert "linkgraph.crawler.engine" in loaded["loaded"]
