"""An import's writer gives a page its ``link_sources`` row once: the pages it knows to
have one (``KnownSources``, from committed batches only) are not written again."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from linkgraph.storage import commit
from linkgraph.storage.linksources import KnownSources
from linkgraph.storage.records import Link
from linkgraph.storage.writer import StoreWriter

SOURCES_INSERT = "INTO link_sources"


def _rows(ids: list[int]) -> np.ndarray:
    return np.array([(i, 1) for i in ids], dtype=np.int64).reshape(-1, 2)


def test_known_sources_leave_out_exactly_the_ids_added() -> None:
    rng = random.Random(3)
    known = KnownSources()
    added: set[int] = set()
    for size in (1, 50, 3, 400, 7):
        query = sorted(set(rng.sample(range(1, 2000), size)))
        fresh = known.unknown(_rows(query))
        assert fresh[:, 0].tolist() == [i for i in query if i not in added]
        known.add(fresh[:, 0])
        added.update(query)
    every = list(range(0, 2001))
    assert known.unknown(_rows(every))[:, 0].tolist() == [i for i in every if i not in added]
    assert len(known) == len(added)


def _sources_without_row(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [
            source
            for (source,) in conn.execute(
                "SELECT DISTINCT source_id FROM links WHERE source_id NOT IN"
                " (SELECT url_id FROM link_sources) ORDER BY 1"
            )
        ]


async def test_a_bulk_writer_writes_no_row_for_a_source_a_committed_batch_gave_one(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    statements: list[str] = []
    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_edges([("https://a.example/1", "https://t.example/1", "", ())], 1.0)
        await writer.flush()
        await writer._conn.set_trace_callback(statements.append)
        writer.add_edges(
            [
                ("https://a.example/1", "https://t.example/2", "", ()),
                ("https://b.example/1", "https://t.example/2", "", ()),
            ],
            2.0,
        )
        await writer.flush()
        await writer._conn.set_trace_callback(None)
    inserts = [s for s in statements if SOURCES_INSERT in s]
    # b.example/1 is id 4 (after a.example/1, t.example/1, t.example/2): one row, its own.
    assert len(inserts) == 1
    assert "VALUES (4," in inserts[0] and "(1," not in inserts[0]
    assert _sources_without_row(db) == []


async def test_a_rolled_back_batch_leaves_its_sources_unknown_so_its_retry_gives_them_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.db"
    real = commit.add_sources

    async def fail_after_writing(*args: object) -> np.ndarray:
        await real(*args)  # type: ignore[arg-type]
        raise RuntimeError("the batch fails after its link_sources rows")

    async with await StoreWriter.open(db, bulk=True) as writer:
        writer.add_links("https://a.example/1", [Link("https://t.example/1")], 1.0)
        await writer.flush()
        writer.add_links("https://b.example/1", [Link("https://t.example/2")], 2.0)
        monkeypatch.setattr(commit, "add_sources", fail_after_writing)
        with pytest.raises(RuntimeError, match="after its link_sources"):
            await writer.flush()
        monkeypatch.setattr(commit, "add_sources", real)
        # The same source again, in a batch of its own after the retry.
        writer.add_links("https://b.example/1", [Link("https://t.example/3")], 3.0)
        await writer.flush()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM links").fetchone() == (3,)
    assert _sources_without_row(db) == []


async def test_a_crawl_writer_keeps_no_known_sources(tmp_path: Path) -> None:
    async with await StoreWriter.open(tmp_path / "s.db") as writer:
        writer.add_links("https://a.example/1", [Link("https://t.example/1")], 1.0)
        await writer.flush()
        assert writer._sources is None
