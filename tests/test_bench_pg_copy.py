"""scripts/bench_pg_copy.py still runs against today's code and loses no link."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import linkgraph

REPO = Path(__file__).resolve().parent.parent


def test_pg_copy_bench_copies_every_link_there_and_back(tmp_path: Path, pg_url: str) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(
        "".join(f"http://a{i % 7}.test/{i},http://b.test/{i % 5}\n" for i in range(60))
    )
    db = tmp_path / "small.db"
    linkgraph.import_links(db, edges)
    out = tmp_path / "copy.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "bench_pg_copy.py"), "--db", str(db),
         "--pg-url", pg_url, "--json", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["links"] == 60
    assert result["sqlite_to_postgresql"]["peak_rss_mib"] > 0
