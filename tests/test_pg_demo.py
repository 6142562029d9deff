"""``linkgraph demo --db postgresql://...`` crawls the demo web into an empty PostgreSQL
database as it crawls it into a file, and never replaces a database that holds a store."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from backend_rows import answers, stored

from linkgraph.cli import main
from linkgraph.demo import TARGET

pytestmark = pytest.mark.timeout(240)

_SMALL = ["--sites", "28", "--pages", "6", "--quiet", "--recrawl", "--check-external"]
# What two crawls of one web store differently: when (pages' fetched_at and elapsed_ms,
# links' first_seen, last_seen and lost_at), and the ETag, a hash of the body, which
# holds the demo web's port (each run's own).
_PAGE_PER_RUN, _LINK_PER_RUN = (5, 12, 13), (7, 8, 9)


def portless(db: str | Path) -> dict[str, list[Any]]:
    """:func:`stored` with times and ETags left out and the demo web's port as PORT."""
    rows = stored(db)
    port = re.search(r":(\d+)/", rows["pages"][0][0]).group(1)  # type: ignore[union-attr]

    def clean(row: tuple[Any, ...], times: tuple[int, ...] = ()) -> tuple[Any, ...]:
        return tuple(
            None if i in times else v.replace(f":{port}", ":PORT") if isinstance(v, str) else v
            for i, v in enumerate(row)
        )

    rows["pages"] = sorted((clean(r, _PAGE_PER_RUN) for r in rows["pages"]), key=repr)
    rows["links"] = sorted((clean(r, _LINK_PER_RUN) for r in rows["links"]), key=repr)
    rows["crawl"] = []  # the settings name the run's own hosts file
    return rows


def test_a_demo_into_postgresql_stores_what_a_demo_into_a_file_stores(
    tmp_path: Path, pg_server: Any, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "hunter-two-staple"
    name = pg_url.split("@/", 1)[1].split("?")[0]
    url = pg_server.url(name, user=f"postgres:{secret}")  # trusted: the password is unused
    sqlite = tmp_path / "demo.db"
    assert main(["demo", "--db", str(sqlite), *_SMALL]) == 0
    on_file = capsys.readouterr().out
    assert main(["demo", "--db", url, *_SMALL]) == 0
    out, err = capsys.readouterr()
    assert secret not in out + err
    assert "--db postgresql://postgres:***@/" in out
    # The summary's numbers but for the crawl's time.
    seconds = re.compile(r"in \d+\.\ds|--since \S+")
    assert seconds.sub("", out.replace(url.replace(secret, "***"), "DB")) == seconds.sub(
        "", on_file.replace(str(sqlite), "DB")
    )
    on_sqlite, on_pg = portless(sqlite), portless(pg_url)
    assert any(row[16] for row in on_pg["pages"])  # the check's pages
    for table in on_sqlite:
        assert on_pg[table] == on_sqlite[table], table
    assert answers(pg_url, [TARGET])[TARGET]["changes"]["velocity"]  # the recrawl's history


def test_a_demo_never_replaces_a_postgresql_database_holding_a_store(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\nhttp://a.example/,http://t.example/\n")
    assert main(["import", "--db", pg_url, str(edges)]) == 0
    before = stored(pg_url)
    capsys.readouterr()
    assert main(["demo", "--db", pg_url, "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("linkgraph: error: postgresql://postgres@/")
    assert "holds a store already" in err
    assert stored(pg_url) == before


def test_a_second_demo_on_a_postgresql_database_is_refused_while_one_runs(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    from linkgraph.demo import run

    with psycopg.connect(pg_url, autocommit=True) as running:  # a demo's session
        running.execute("SELECT pg_advisory_lock(%s)", (run._PG_DEMO_LOCK,))
        assert main(["demo", "--db", pg_url, "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == f"linkgraph: error: another linkgraph demo is writing {pg_url}\n"
    assert main(["stats", "--db", pg_url]) == 1  # nothing was created
