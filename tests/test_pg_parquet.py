"""``import-parquet`` into a PostgreSQL store stores what it stores in a SQLite one: the
Parquet export of the demo web crawled twice (``tests/audit_support.py``: lost links,
nofollow, images, internal links) imported into both, compared row by row and query by
query; interrupted, it leaves the database as it was; bad input is the same error."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from audit_support import DOMAIN
from backend_rows import answers, busiest_targets, counts, stored

import linkgraph
from linkgraph.cli import main

pytest.importorskip("pyarrow.dataset", reason="Parquet needs the parquet extra")

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def tables(audit: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo web's second-generation store exported as Parquet."""
    out = tmp_path_factory.mktemp("parquet") / "tables"
    linkgraph.export(audit.gen2, format="parquet", output=out)
    return out


def links_and_pages(db: str | Path) -> dict[str, list]:
    rows = stored(db)
    return {"links": rows["links"], "pages": rows["pages"]}


def test_an_import_parquet_stores_the_same_rows_and_answers_on_each_backend(
    audit: SimpleNamespace, tables: Path, tmp_path: Path, pg_url: str
) -> None:
    sqlite = tmp_path / "copy.db"
    imported = [linkgraph.import_parquet(db, tables) for db in (sqlite, pg_url)]
    assert imported[1] == imported[0]
    on_sqlite, on_pg = stored(sqlite), stored(pg_url)
    assert any(row[9] is not None for row in on_pg["links"])  # lost links, with dates
    assert any(row[8] is None for row in on_pg["links"])  # and links seen once
    for table in on_sqlite:
        assert on_pg[table] == on_sqlite[table], table
    # What the export carries is what the crawled store holds.
    assert links_and_pages(pg_url) == links_and_pages(audit.gen2)
    targets = [DOMAIN, *busiest_targets(sqlite)]
    assert answers(pg_url, targets) == answers(sqlite, targets)


def test_an_interrupted_import_parquet_leaves_the_database_empty_and_a_rerun_completes(
    tables: Path, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph.storage.pg import tables as pg_tables

    async def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt  # Ctrl-C after the links were written, before the dates

    with monkeypatch.context() as patch:
        patch.setattr(pg_tables, "restore_history", interrupted)
        with pytest.raises(KeyboardInterrupt):
            linkgraph.import_parquet(pg_url, tables)
    assert {table: n for table, n in counts(pg_url).items() if n} == {"anchors": 1, "rels": 1}
    linkgraph.import_parquet(pg_url, tables)
    sqlite = tmp_path / "copy.db"
    linkgraph.import_parquet(sqlite, tables)
    assert stored(pg_url) == stored(sqlite)


def errors(capsys: pytest.CaptureFixture[str], db: str, folder: Path) -> tuple[int, list[str]]:
    code = main(["import-parquet", "--db", db, str(folder)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = [line.replace(db, "DB") for line in err.splitlines()]
    return code, [line for line in lines if line.startswith("linkgraph: error:")]


def test_bad_input_is_the_same_one_line_error_on_each_backend(
    tables: Path, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite = str(tmp_path / "copy.db")
    for bad in (tmp_path, tables / "links"):  # not an export; half of one
        on_sqlite, on_pg = errors(capsys, sqlite, bad), errors(capsys, pg_url, bad)
        assert on_sqlite[0] == 1 and len(on_sqlite[1]) == 1, bad
        assert on_pg == on_sqlite, bad
    assert not stored_schema(pg_url)  # refused before anything was written
    for db in (sqlite, pg_url):
        assert main(["import-parquet", "--db", db, str(tables)]) == 0
    before = counts(pg_url)
    full = [errors(capsys, db, tables) for db in (sqlite, pg_url)]
    message = (
        "linkgraph: error: DB holds links already: import-parquet fills a new store"
        " (give a new --db path, or remove this one first)"
    )
    assert full[0] == (1, [message])
    assert full[1] == full[0]
    assert counts(pg_url) == before


def stored_schema(url: str) -> bool:
    """Whether the database holds the store's tables (a refused import creates none)."""
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT to_regclass('urls') IS NOT NULL").fetchone()[0]


def test_batches_in_one_transaction_write_only_their_own_links(pg_url: str) -> None:
    import asyncio

    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import Link, Page

    a, b = "http://a.example/", "http://b.example/"

    async def three_batches() -> None:
        async with await PgWriter.open(pg_url) as writer, writer.atomic():
            writer.add_page(Page(a, 0, 1000.0, status=200, links=[Link("http://t.example/l")]))
            await writer.flush()
            writer.add_page(Page(a, 0, 2000.0, status=200))  # the link is gone: lost
            await writer.flush()
            writer.add_page(Page(b, 0, 3000.0, status=200, links=[Link("http://t.example/m")]))
            await writer.flush()

    asyncio.run(three_batches())
    links = {r["target"]: r for r in linkgraph.iter_links(pg_url, include_lost=True)}
    assert links["http://t.example/l"]["lost_reason"] == "removed"
    assert links["http://t.example/m"]["lost_at"] is None
