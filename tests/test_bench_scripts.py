"""The benchmark scripts still run against today's code, and account for every URL.

They are not imported by the package, so an API change can break them silently (the trap
guards changed ``Frontier``'s keywords and ``bench_frontier_memory.py`` died at start-up).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def run_script_json(
    name: str, *args: str, cwd: Path
) -> tuple[subprocess.CompletedProcess[str], Any]:
    """:func:`run_script` with ``--json FILE`` in ``cwd``, which must succeed: the run and
    what it wrote to FILE."""
    out = cwd / f"{Path(name).stem}.json"
    done = run_script(name, *args, "--json", str(out), cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done, json.loads(out.read_text())


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


def test_crawl_bench_memory_store_crawls_the_same_pages_unchecked(tmp_path: Path) -> None:
    _, written = run_script_json(
        "bench_crawl.py",
        *("--only", "linkgraph", "--memory-store", "--sites", "4", "--pages", "5"),
        cwd=tmp_path,
    )
    runs = {r["label"]: r for r in written["runs"]}
    assert sorted(runs) == ["linkgraph", "linkgraph[memory store]"]
    assert runs["linkgraph"]["pages"] == runs["linkgraph[memory store]"]["pages"] == 20
    assert runs["linkgraph"]["check"]["missing"] == 0
    assert "check" not in runs["linkgraph[memory store]"]  # nothing stored to check


def test_store_writes_bench_writes_every_page_and_times_each_statement(tmp_path: Path) -> None:
    done = run_script(
        "bench_store_writes.py", "--sites", "4", "--pages", "5", "--repeat", "1", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    counted = re.search(r"round 1: (\d+) pages, ([\d,]+) links", done.stdout)
    assert counted is not None, done.stdout
    pages, links = int(counted[1]), int(counted[2].replace(",", ""))
    assert 20 <= pages < 40  # the 4 x 5 pages, and each site's extra pages (robots-blocked)
    assert links > 5 * pages  # every page's menu, at least
    statements = done.stdout.split("by statement")[1]
    for sql in ("INSERT INTO links", "INSERT INTO pages", "INSERT INTO page_text", "COMMIT"):
        assert sql in statements


def test_spark_extract_bench_starts_with_its_helpers_beside_it(tmp_path: Path) -> None:
    done = run_script("bench_spark_extract.py", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--repeat REPEAT" in done.stdout
    assert "Example: python scripts/bench_spark_extract.py" in done.stdout


def test_import_bench_stores_every_generated_link_in_both_loads(tmp_path: Path) -> None:
    _, run = run_script_json(
        "bench_import.py",
        *("--links", "3000", "--domains", "50", "--pages", "5"),
        *("--dir", str(tmp_path)),
        cwd=tmp_path,
    )
    assert run["import"]["links"] == run["peer"]["links"] == 3000
    # 250 sources, 10,000 targets, 1,000 anchors: with this seed no two rows are one link,
    # so every row is a stored link (a lost batch would show here).
    assert run["import"]["stored"] == 3000


def test_import_bench_warc_mode_reads_every_record_three_ways(tmp_path: Path, corpus: Path) -> None:
    sample = corpus / "warc-samples" / "pywb" / "example.warc.gz"
    _, run = run_script_json(
        "bench_import.py", "--warc", str(sample), "--repeat", "3", cwd=tmp_path
    )
    # example.warc.gz holds 6 records (warcinfo, 2 requests, 2 responses, a revisit).
    assert run["import-warc"]["records"] == run["fastwarc loop"]["records"] == 18
    assert run["warcio loop"]["records"] == 18


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
        assert len(peer) == 6
        assert all("top 100 identical" in line for line in peer if "backlinks" not in line)
        # Unranked, links tie on (authority, first seen): those are ordered (or cut) apart.
        assert all("identical" in line or "ties" in line for line in peer if "backlinks" in line)
    else:
        assert peer == []
        assert "pip install -e '.[bench]'" in done.stderr


def test_cli_bench_runs_every_command_against_its_store(tmp_path: Path) -> None:
    # The script stops at the first command that exits non-zero, so a renamed command or
    # option, or a store the queries cannot read, fails here.
    _, written = run_script_json("bench_cli.py", "--repeat", "1", "--links", "200", cwd=tmp_path)
    timed = written["commands"]
    assert sorted(timed) == sorted(
        [
            "python -c pass",
            "python -c 'import sqlite3'",
            "linkgraph --help",
            "linkgraph backlinks --help",
            "linkgraph backlinks",
            "linkgraph referring-domains",
            "linkgraph anchors",
            "linkgraph top",
            "linkgraph stats",
        ]
    )
    assert all(len(command["runs"]) == 1 for command in timed.values())


def test_parse_bench_measures_each_variant_in_every_round(tmp_path: Path) -> None:
    # A variant is a folder put first on PYTHONPATH; an empty one falls back to the
    # installed package, which is enough to see each variant measured in each round.
    (tmp_path / "same").mkdir()
    done, written = run_script_json(
        "bench_parse.py",
        *(
            "--sites",
            "2",
            "--pages",
            "3",
            "--repeat",
            "2",
            "--variant",
            f"same={tmp_path / 'same'}",
        ),
        cwd=tmp_path,
    )
    runs = written["runs"]
    assert sorted((run["round"], run["label"]) for run in runs) == [
        (1, "installed"),
        (1, "same"),
        (2, "installed"),
        (2, "same"),
    ]
    assert all(run["pages"] > 0 and run["parse_page_ms"] > 0 for run in runs)
    assert "installed parse_page:" in done.stdout


def test_parse_bench_feeds_the_parse_worker_every_page_in_each_batch_size(tmp_path: Path) -> None:
    done, written = run_script_json(
        "bench_parse.py",
        *("--sites", "2", "--pages", "3", "--repeat", "1", "--batches", "1,4"),
        cwd=tmp_path,
    )
    (run,) = written["runs"]
    # Every answer came back (else the feeding waits for it and the script times out),
    # and each batch size has its figure.
    assert run["worker_1_ms"] >= 0 and run["worker_4_ms"] >= 0
    assert "worker fed 4 a write" in done.stdout
