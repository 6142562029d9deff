"""scripts/bench_distributed.py still runs against today's code, every run agrees, and its
rounds rotate the order and compare each PostgreSQL run with its own round's SQLite run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.timeout(300)


def test_distributed_bench_stores_the_same_crawl_with_every_worker_count(
    tmp_path: Path, pg_url: str
) -> None:
    out = tmp_path / "runs.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_distributed.py"), "--sites", "12",
         "--pages", "6", "--workers", "1,2", "--pg-url", pg_url, "--json", str(out),
         "--repeat", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    runs = result["runs"]
    assert [(r["round"], r["backend"], r["workers"]) for r in runs] == [
        (1, "sqlite", 1),
        (1, "postgresql", 1),
        (1, "postgresql", 2),
        (2, "postgresql", 1),  # the order rotated
        (2, "postgresql", 2),
        (2, "sqlite", 1),
    ]
    for n in (1, 2):
        of_sqlite = result["summary"][f"{n} workers"]["of_sqlite"]
        pg = [r for r in runs if r["backend"] == "postgresql" and r["workers"] == n]
        lite = [r for r in runs if r["backend"] == "sqlite"]
        assert of_sqlite == [
            round(p["pages_per_s"] / s["pages_per_s"], 2) for p, s in zip(pg, lite, strict=True)
        ]
    assert len({(r["pages"], r["links"]) for r in runs}) == 1 and runs[0]["pages"] > 0
    for r in runs:
        counters = ("fetched_twice", "robots_fetched_twice", "hosts_two_at_once")
        assert [r[c] for c in counters] == [0, 0, 0]
