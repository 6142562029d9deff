"""The benchmark scripts still run against today's code, and account for every URL.

They are not imported by the package, so an API change can break them silently (the trap
guards changed ``Frontier``'s keywords and ``bench_frontier_memory.py`` died at start-up).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_script(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python scripts/NAME ARGS`` from ``cwd`` (outside the checkout, as a user runs it)."""
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / name), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_frontier_memory_bench_writes_its_json_and_loses_no_url(tmp_path: Path) -> None:
    out = tmp_path / "not" / "yet" / "there.json"
    done = run_script(
        "bench_frontier_memory.py",
        "--urls",
        "2000",
        "--hosts",
        "20",
        "--json",
        str(out),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(out.read_text())["rss_run"]
    assert run["urls"] == run["seen"] == 2000
    assert run["in_memory"] + run["spilled"] == 2000  # every queued URL is somewhere
    assert run["frontier_rows"] == 2000  # ... and stored


def test_crawl_bench_starts_with_its_helpers_beside_it(tmp_path: Path) -> None:
    # bench_crawl.py imports _crawlchecks.py and _benchutil.py from its own folder: run it
    # from elsewhere, as a user would, and its help must come up whole.
    done = run_script("bench_crawl.py", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--only {linkgraph,scrapy,bare}" in done.stdout
    assert "Example: python scripts/bench_crawl.py" in done.stdout


def test_import_bench_stores_every_generated_link_in_both_loads(tmp_path: Path) -> None:
    out = tmp_path / "import.json"
    done = run_script(
        "bench_import.py",
        *("--links", "3000", "--domains", "50", "--pages", "5"),
        *("--dir", str(tmp_path), "--json", str(out)),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run = json.loads(out.read_text())
    assert run["import"]["links"] == run["peer"]["links"] == 3000
    # 250 sources, 10,000 targets, 1,000 anchors: with this seed no two rows are one link,
    # so every row is a stored link (a lost batch would show here).
    assert run["import"]["stored"] == 3000


def test_store_bench_times_the_three_queries_and_checks_the_peer_agrees(tmp_path: Path) -> None:
    # The peer needs the bench extra; without it the script says so and times ours alone.
    peer_installed = all(importlib.util.find_spec(name) for name in ("duckdb", "pyarrow"))
    db = tmp_path / "s.db"
    done = run_script(
        "bench_store.py",
        *("--links", "20000", "--domains", "40", "--db", str(db), "--targets", "200,400"),
        *("--repeat", "2", "--skip-rank"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    timed = [line.split()[0] for line in lines if " ours p50 " in line]
    assert timed == ["backlinks", "referring-domains", "anchors"] * 2
    peer = [line for line in lines if "DuckDB p50" in line]
    if peer_installed:
        assert len(peer) == 4 and all("top 100 identical" in line for line in peer)
    else:
        assert peer == []
        assert "pip install -e '.[bench]'" in done.stderr
