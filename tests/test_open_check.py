"""The writing open skips ``quick_check`` only for a store provably unchanged since our
last clean write (the seal), and runs it again after anything else touched the file."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from linkgraph.storage import schema, sealing
from linkgraph.storage.errors import CorruptStore
from linkgraph.storage.writer import StoreWriter
from test_store_safety import build_store, corrupt_an_index_page

from linkgraph.cli import main


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths ``quick_check`` ran on, in order."""
    seen: list[str] = []
    real: Callable[[sqlite3.Connection, str | os.PathLike[str]], None] = schema.quick_check

    def counting(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
        seen.append(os.fspath(path))
        real(conn, path)

    monkeypatch.setattr(schema, "quick_check", counting)
    return seen


def outside_write(db: Path) -> None:
    """Another SQLite program changes one row and closes (which checkpoints)."""
    conn = sqlite3.connect(db)
    conn.execute("UPDATE anchors SET text = text || '!' WHERE id = 1")
    conn.commit()
    conn.close()


def test_second_writing_open_after_rank_runs_no_quick_check(
    tmp_path: Path, checks: list[str]
) -> None:
    db = build_store(tmp_path)
    assert main(["rank", "--db", str(db)]) == 0
    checks.clear()
    schema.connect(db).close()
    schema.connect(db).close()
    assert checks == []


def test_store_closed_by_the_crawl_writer_opens_without_quick_check(
    tmp_path: Path, checks: list[str]
) -> None:
    db = build_store(tmp_path)
    outside_write(db)  # unseal, so that the writer's own open has to check

    async def open_and_close() -> None:
        async with await StoreWriter.open(db, create=False):
            pass

    asyncio.run(open_and_close())
    assert checks == [str(db)]
    asyncio.run(open_and_close())
    assert checks == [str(db)]


def test_an_outside_sqlite_write_forces_the_check_again(tmp_path: Path, checks: list[str]) -> None:
    db = build_store(tmp_path)
    assert sealing.is_sealed(db)
    outside_write(db)
    schema.connect(db).close()
    assert checks == [str(db)]


def test_a_commit_still_in_the_wal_forces_the_check(tmp_path: Path, checks: list[str]) -> None:
    db = build_store(tmp_path)
    holder = sqlite3.connect(db)  # stays open, so its commit is not checkpointed at close
    try:
        holder.execute("UPDATE anchors SET text = text || '!' WHERE id = 1")
        holder.commit()
        schema.connect(db).close()
    finally:
        holder.close()
    assert checks == [str(db)]


def test_a_sealed_store_damaged_afterwards_is_refused(tmp_path: Path) -> None:
    db = build_store(tmp_path)
    assert sealing.is_sealed(db)
    corrupt_an_index_page(db)
    before = db.read_bytes()
    with pytest.raises(CorruptStore):
        schema.connect(db)
    assert db.read_bytes() == before


def test_check_true_runs_quick_check_on_a_sealed_store(tmp_path: Path) -> None:
    db = build_store(tmp_path)
    stat = db.stat()
    corrupt_an_index_page(db)
    # Damage that puts the sealed time back is invisible to the seal: only the check sees it.
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert sealing.is_sealed(db)
    with pytest.raises(CorruptStore):
        schema.connect(db, check=True)


def test_a_copy_of_a_sealed_store_is_checked(tmp_path: Path, checks: list[str]) -> None:
    db = build_store(tmp_path)
    copy = tmp_path / "copy.db"
    shutil.copy2(db, copy)  # same bytes and time, another inode
    schema.connect(copy).close()
    assert checks == [str(copy)]


def test_a_truncated_store_is_not_sealed(tmp_path: Path) -> None:
    db = build_store(tmp_path)
    stat = db.stat()
    with db.open("r+b") as fh:
        fh.truncate(stat.st_size - 4096)
    os.utime(db, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert not sealing.is_sealed(db)


async def writer_totals(db: Path) -> tuple[int, int]:
    async with await StoreWriter.open(db, create=False) as writer:
        return writer.links, writer.hosts_crawled


def test_the_crawl_writer_takes_its_totals_from_a_valid_seal(tmp_path: Path) -> None:
    db = build_store(tmp_path)
    # Totals no store could count from these rows: only the seal can have given them.
    assert sealing.seal(db, {"links": 12345, "answered": {"7": 2, "9": 1}})
    assert asyncio.run(writer_totals(db)) == (12345, 2)


def test_the_crawl_writer_counts_again_after_an_outside_write(tmp_path: Path) -> None:
    db = build_store(tmp_path)
    assert sealing.seal(db, {"links": 12345, "answered": {"7": 2, "9": 1}})
    outside_write(db)
    assert asyncio.run(writer_totals(db)) == (3000, 0)


def test_rank_keeps_the_sealed_totals_of_the_crawl_writer(tmp_path: Path) -> None:
    db = build_store(tmp_path)
    counters = {"links": 3000, "answered": {}}
    assert sealing.sealed_counters(db) == counters
    assert main(["rank", "--db", str(db)]) == 0
    assert sealing.sealed_counters(db) == counters
