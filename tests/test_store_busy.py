"""A crawl's store writer waits out another writer of the same store (``rank`` writing
its scores, an import) for longer than one busy timeout, instead of failing the batch."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from linkgraph.storage import commit
from linkgraph.storage.errors import StoreError
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

PAGE = Page("http://a.test/", 0, 1_700_000_000.0, status=200, links=[Link("http://b.test/")])


def hold_write_lock(db: Path, seconds: float) -> tuple[threading.Thread, threading.Event]:
    """Another connection takes the store's write lock and keeps it ``seconds``."""
    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            taken.set()
            threading.Event().wait(seconds)
            conn.execute("COMMIT")
        finally:
            conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    return thread, taken


async def test_a_batch_waits_out_a_lock_held_past_one_busy_timeout(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        await writer._conn.execute("PRAGMA busy_timeout=100")  # one try waits 100 ms
        thread, taken = hold_write_lock(db, 0.3)  # three tries' worth, of BEGIN_TRIES (12)
        assert await asyncio.to_thread(taken.wait, 5)
        writer.add_page(PAGE)
        await writer.flush()
        await asyncio.to_thread(thread.join)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM links").fetchone() == (1,)
    finally:
        conn.close()


async def test_a_batch_fails_once_every_try_has_waited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commit, "BEGIN_TRIES", 2)
    db = tmp_path / "s.db"
    async with await StoreWriter.open(db) as writer:
        await writer._conn.execute("PRAGMA busy_timeout=50")
        thread, taken = hold_write_lock(db, 1.0)
        assert await asyncio.to_thread(taken.wait, 5)
        writer.add_page(PAGE)
        with pytest.raises(StoreError, match="database is locked"):
            await writer.flush()
        await asyncio.to_thread(thread.join)
        await writer.flush()  # the batch was kept: it is written once the lock is free
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT count(*) FROM links").fetchone() == (1,)
    finally:
        conn.close()
