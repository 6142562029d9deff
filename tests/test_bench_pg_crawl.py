"""scripts/bench_pg_crawl.py still runs against today's code, and both crawls agree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_pg_crawl_bench_crawls_the_same_pages_into_both_backends(
    tmp_path: Path, pg_url: str
) -> None:
    out = tmp_path / "crawl.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_pg_crawl.py"), "--sites", "4",
         "--pages", "3", "--pg-url", pg_url, "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    crawl = json.loads(out.read_text())["crawl"]
    assert crawl["sqlite"]["pages"] == crawl["postgresql"]["pages"] > 0
    assert crawl["sqlite"]["links"] == crawl["postgresql"]["links"] > 0
