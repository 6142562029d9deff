"""An import's inserts run queued, while its batch is prepared (storage.queued): a batch
is still all or nothing, whatever fails and wherever."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from linkgraph.storage.errors import StoreError
from linkgraph.storage.queued import QueuedStatements
from linkgraph.storage.writer import StoreWriter

FIRST = [("https://a.example/1", "https://t.example/1", "one", ())]
SECOND = [
    ("https://b.example/1", "https://t.example/2", "two", ()),
    ("https://a.example/1", "https://t.example/3", "", ("nofollow",)),
]


def _rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("urls", "links", "link_sources", "hosts", "anchors")
        }


async def _import(db: Path) -> None:
    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges(FIRST, 1.0)
        await writer.flush()
        writer.add_edges(SECOND, 1.0)
        await writer.flush()


async def test_a_queued_insert_that_fails_commits_nothing_of_its_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _import(tmp_path / "clean.db")
    db = tmp_path / "s.db"
    real = QueuedStatements.execute

    def fail_links(self: QueuedStatements, sql: str, parameters: Any) -> None:
        if "INTO links" in sql:  # fails when SQLite's thread prepares it
            sql, parameters = "INSERT INTO no_such_table VALUES (1)", ()
        real(self, sql, parameters)

    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges(FIRST, 1.0)
        await writer.flush()
        after_first = _rows(db)
        writer.add_edges(SECOND, 1.0)
        monkeypatch.setattr(QueuedStatements, "execute", fail_links)
        with pytest.raises(StoreError, match="no_such_table"):
            await writer.flush()
        # Neither the batch's URLs nor its sources' rows, though their inserts succeeded.
        assert _rows(db) == after_first
        monkeypatch.setattr(QueuedStatements, "execute", real)
        await writer.flush()  # the batch again
    assert _rows(db) == _rows(tmp_path / "clean.db")


async def test_an_error_before_queued_inserts_reach_sqlite_leaves_none_of_them_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.db"
    real = QueuedStatements.start

    async def fail(self: QueuedStatements) -> None:
        # The link inserts are queued, not yet in SQLite's queue: the ROLLBACK must
        # wait for them, else they run after it, outside the transaction, and stay.
        raise RuntimeError("between queueing and the next wait")

    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges(FIRST, 1.0)
        await writer.flush()
        after_first = _rows(db)
        writer.add_edges(SECOND, 1.0)
        monkeypatch.setattr(QueuedStatements, "start", fail)
        with pytest.raises(RuntimeError, match="between queueing"):
            await writer.flush()
        monkeypatch.setattr(QueuedStatements, "start", real)
        assert _rows(db) == after_first
