"""`linkgraph copy`: a whole store from SQLite to PostgreSQL and back, without loss, and
never into a store that holds anything."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from cli_support import run
from linkgraph.storage.pg.copy import SQLITE_ONLY, TABLES

import linkgraph


def sqlite_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of a SQLite store but its migrations record (and the
    full-text index's own shadow tables, read through page_text), sorted."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = [
            name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name != "migrations" and not name.startswith("page_text_")
        ]
        return {
            name: sorted(
                conn.execute(
                    "SELECT rowid, text FROM page_text"
                    if name == "page_text"
                    else f"SELECT * FROM {name}"
                ).fetchall(),
                key=repr,
            )
            for name in names
        }
    finally:
        conn.close()


def test_copy_to_postgresql_and_back_keeps_every_row_of_every_table(
    audit: SimpleNamespace, pg_url: str, tmp_path: Path, capsys
) -> None:
    original = sqlite_rows(audit.gen2)
    assert original["links"] and original["page_text"] and original["domain_scores"]
    assert any(row[9] is not None for row in original["links"])  # lost links too
    code, _, err = run(capsys, "copy", str(audit.gen2), pg_url)
    assert code == 0
    assert f"{len(original['links']):,} links" in err
    back = tmp_path / "back.db"
    code, _, _ = run(capsys, "copy", pg_url, str(back))
    assert code == 0
    assert sqlite_rows(back) == original


def test_every_table_of_the_store_is_copied() -> None:
    db_tables = set(sqlite_rows_of_new_store())
    assert {t.name for t in TABLES} | set(SQLITE_ONLY) == db_tables
    assert not {t.name for t in TABLES} & set(SQLITE_ONLY)


def sqlite_rows_of_new_store() -> dict[str, list[tuple[Any, ...]]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "new.db"
        linkgraph.init_db(db)
        return sqlite_rows(db)


def test_new_ids_continue_after_the_copied_ones(audit: SimpleNamespace, pg_url: str) -> None:
    linkgraph.copy(audit.gen2, pg_url)
    with psycopg.connect(pg_url) as conn:
        highest = conn.execute("SELECT max(id) FROM urls").fetchone()[0]
        (new,) = conn.execute(
            "INSERT INTO urls(hash, host_id, url) VALUES (1, 1, 'http://new.test/') RETURNING id"
        ).fetchone()
    assert new == highest + 1


def test_copy_into_a_postgresql_store_with_rows_writes_nothing(
    audit: SimpleNamespace, pg_url: str, capsys
) -> None:
    linkgraph.copy(audit.gen1, pg_url)
    with psycopg.connect(pg_url) as conn:
        before = {
            t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0] for t in TABLES
        }
    code, out, err = run(capsys, "copy", str(audit.gen2), pg_url)
    assert (code, out) == (1, "")
    assert "is not empty" in err and "nothing was written" in err and err.count("\n") == 1
    with psycopg.connect(pg_url) as conn:
        after = {
            t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0] for t in TABLES
        }
    assert after == before


def test_copy_into_a_sqlite_store_with_rows_writes_nothing(
    audit: SimpleNamespace, pg_url: str, tmp_path: Path, capsys
) -> None:
    linkgraph.copy(audit.gen2, pg_url)
    dst = tmp_path / "full.db"
    shutil.copy(audit.gen1, dst)
    before = sqlite_rows(dst)
    code, _, err = run(capsys, "copy", pg_url, str(dst))
    assert code == 1 and "is not empty" in err
    assert sqlite_rows(dst) == before


def test_a_failed_copy_leaves_no_new_sqlite_file(
    audit: SimpleNamespace, pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph.storage.pg import copy

    linkgraph.copy(audit.gen2, pg_url)
    real = copy._pg_rows

    def failing(conn: Any, table: Any) -> Any:
        if table.name == "pages":
            raise linkgraph.LinkgraphError("the source went away")
        return real(conn, table)

    monkeypatch.setattr(copy, "_pg_rows", failing)
    dst = tmp_path / "new.db"
    with pytest.raises(linkgraph.LinkgraphError, match="went away"):
        linkgraph.copy(pg_url, dst)
    assert not dst.exists()


def test_a_copy_into_sqlite_counts_the_hubs_rows_again_after_a_crawl_into_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    # PostgreSQL answers from the links and does not keep the hub rows SQLite counts
    # ahead (storage.inlinks): a copy back must not bring rows a crawl made stale.
    from crawl_support import crawl_blocking
    from linkgraph.storage import inlinks

    from linkgraph.demo import TARGET, DemoWeb, generate

    back = tmp_path / "back.db"
    with DemoWeb(generate(12, 6, seed=1)) as web:
        _, first = crawl_blocking(web, tmp_path)
        with sqlite3.connect(first, isolation_level=None) as conn:  # every linked URL a hub
            conn.execute("BEGIN IMMEDIATE")
            assert inlinks.rebuild(conn, min_links=1) > 0
            conn.execute("COMMIT")
        linkgraph.copy(first, pg_url)
        web.replace_sites(generate(12, 6, seed=1, generation=2))
        crawl_blocking(web, tmp_path, db=pg_url, refresh=True)
        home = f"http://{TARGET}:{web.port}/"
    linkgraph.copy(pg_url, back)
    expected = linkgraph.referring_domains(pg_url, home, limit=None)
    assert expected and linkgraph.referring_domains(back, home, limit=None) == expected
