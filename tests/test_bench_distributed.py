"""scripts/bench_distributed.py still runs against today's code, and every run agrees."""

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
         "--pages", "6", "--workers", "1,2", "--pg-url", pg_url, "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [(r["backend"], r["workers"]) for r in runs] == [
        ("sqlite", 1),
        ("postgresql", 1),
        ("postgresql", 2),
    ]
    assert len({(r["pages"], r["links"]) for r in runs}) == 1 and runs[0]["pages"] > 0
    for r in runs:
        counters = ("fetched_twice", "robots_fetched_twice", "hosts_two_at_once")
        assert [r[c] for c in counters] == [0, 0, 0]
