"""``broken --check-external`` on a PostgreSQL store: the demo web's crawl
(``tests/audit_support.py``), copied into PostgreSQL and checked there, makes the requests
the check of its SQLite copy made and stores the same outcomes; bad input is the same
one-line error and changes nothing."""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from audit_support import DOMAIN
from backend_rows import answers, stored

import linkgraph
from linkgraph.cli import main

pytestmark = pytest.mark.timeout(240)

# What two checks of one store at two moments store differently: when. Page rows:
# fetched_at and elapsed_ms; link rows: first_seen, last_seen and lost_at.
_PAGE_TIMES, _LINK_TIMES = (5, 12), (7, 8, 9)


def untimed(db: str | Path) -> dict[str, list[Any]]:
    rows = stored(db)
    for table, times in (("pages", _PAGE_TIMES), ("links", _LINK_TIMES)):
        rows[table] = sorted(
            (tuple(None if i in times else v for i, v in enumerate(row)) for row in rows[table]),
            key=repr,
        )
    return rows


def broken_untimed(db: str | Path) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "checked"} for r in linkgraph.broken(db)]


def test_a_link_check_on_postgresql_makes_the_requests_and_stores_the_answers_of_sqlites(
    audit: SimpleNamespace, pg_url: str
) -> None:
    linkgraph.copy(audit.gen1, pg_url)  # audit.checked is gen1 checked on SQLite
    audit.web.clear_log()
    found = linkgraph.broken(pg_url, check_external=True)
    hits = audit.web.requests

    def requests(log: list[Any]) -> Counter[tuple[str, str, str]]:
        return Counter((h.site, h.method, h.path) for h in log)

    assert requests(audit.check_log)  # the SQLite check made some
    assert requests(hits) == requests(audit.check_log)
    for _, site_hits in itertools.groupby(sorted(hits, key=lambda h: h.site), lambda h: h.site):
        times = sorted(h.time for h in site_hits)
        assert all(b - a >= audit.settings.delay - 0.02 for a, b in itertools.pairwise(times))
    assert [{k: v for k, v in r.items() if k != "checked"} for r in found] == broken_untimed(
        audit.checked
    )
    assert found and any(r["error"] == "connect" for r in found)
    on_sqlite, on_pg = untimed(audit.checked), untimed(pg_url)
    assert any(row[16] for row in on_pg["pages"])  # pages that are only checked
    for table in on_sqlite:
        assert on_pg[table] == on_sqlite[table], table
    assert answers(pg_url, [DOMAIN]) == answers(audit.checked, [DOMAIN])


def errors(capsys: pytest.CaptureFixture[str], db: str) -> tuple[int, list[str]]:
    code = main(["broken", "--db", db, "--check-external", "--quiet"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line.replace(db, "DB") for line in err.splitlines()]
    return code, [line for line in lines if line.startswith("linkgraph: error:")]


def test_a_store_without_a_crawl_is_the_same_error_on_each_backend(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\nhttp://a.example/,http://t.example/\n")
    sqlite = str(tmp_path / "edges.db")
    for db in (sqlite, pg_url):
        linkgraph.import_links(db, edges)
    on_sqlite, on_pg = errors(capsys, sqlite), errors(capsys, pg_url)
    assert on_sqlite == (
        1,
        ["linkgraph: error: DB holds no crawl whose settings the check could reuse"],
    )
    assert on_pg == on_sqlite


def test_a_crawl_whose_hosts_file_is_gone_is_the_same_error_on_each_backend(
    audit: SimpleNamespace, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite = tmp_path / "gen1.db"
    shutil.copy(audit.gen1, sqlite)
    linkgraph.copy(audit.gen1, pg_url)
    before = stored(pg_url)
    hosts = Path(audit.settings.hosts_file)
    hosts.rename(hosts.with_suffix(".away"))
    try:
        on_sqlite, on_pg = errors(capsys, str(sqlite)), errors(capsys, pg_url)
    finally:
        hosts.with_suffix(".away").rename(hosts)
    assert on_sqlite[0] == 1 and len(on_sqlite[1]) == 1
    assert "no longer exists" in on_sqlite[1][0]
    assert on_pg == on_sqlite
    assert stored(pg_url) == before
