"""An open store: ``linkgraph.open_store`` once, many queries, each answering as from a path."""

from __future__ import annotations

import io
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from linkgraph.storage import schema
from linkgraph.storage.errors import CorruptStore, StoreError, StoreNotFound, sqlite_errors
from linkgraph.storage.interface import Gap, LinkFilter
from linkgraph.storage.sqlite import SqliteStore
from test_backlinks import build, pairs

import linkgraph


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await build(db)
    return db


async def test_every_query_reads_an_open_store_without_opening_the_file_again(
    store: Path, connections: list[tuple[str, sqlite3.Connection]]
) -> None:
    with linkgraph.open_store(store) as opened:
        # The answers worked out by hand in test_backlinks.py, asked of one open store.
        assert len(linkgraph.backlinks(opened, "t.test")) == 5
        domains = {r["domain"] for r in linkgraph.referring_domains(opened, "t.test")}
        assert domains == {"a.test", "b.test", "c.test"}
        anchors = {r["anchor"] for r in linkgraph.anchors(opened, "t.test")}
        assert anchors == {"T home", "click here", "T pricing", "item"}
        gap = linkgraph.intersect(opened, ["t.test", "b.test"], min=2)
        assert [r["domain"] for r in gap] == ["a.test"]
        assert linkgraph.stats(opened)["links"]["link"] == 8
        assert len(list(linkgraph.iter_links(opened))) == 8
        out = io.StringIO()
        assert linkgraph.export(opened, output=out) == 8
        assert len([json.loads(line) for line in out.getvalue().splitlines()]) == 8
        # The graph formats too: at domain level, t.test's edges come from its three
        # referring domains above.
        graph = io.StringIO()
        linkgraph.export(opened, format="edgelist", level="domain", output=graph)
        edges = [line.split("\t") for line in graph.getvalue().splitlines()]
        assert {e[0] for e in edges if e[1] == "t.test"} == {"a.test", "b.test", "c.test"}
    assert [path for path, _ in connections] == [os.fspath(store)]


async def test_a_path_is_opened_once_per_query(
    store: Path, connections: list[tuple[str, sqlite3.Connection]]
) -> None:
    assert pairs(linkgraph.backlinks(store, "http://www.t.test/pri", mode="prefix")) == {
        ("http://www.b.test/2", "http://www.t.test/pricing")
    }
    linkgraph.intersect(store, ["t.test", "b.test", "c.test"], exclude="a.test")
    assert [path for path, _ in connections] == [os.fspath(store)] * 2


async def test_leaving_the_with_block_closes_the_store(store: Path) -> None:
    with linkgraph.open_store(store) as opened:
        assert isinstance(opened, SqliteStore)
    with pytest.raises(StoreError, match="closed"):
        linkgraph.backlinks(opened, "t.test")


async def test_stats_of_an_open_store_still_runs_the_health_check(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def damaged(conn: object, path: object) -> None:
        raise CorruptStore(f"{path} is damaged")

    with linkgraph.open_store(store) as opened:
        linkgraph.backlinks(opened, "t.test")  # other queries do not check
        monkeypatch.setattr(schema, "quick_check", damaged)
        with pytest.raises(CorruptStore):
            linkgraph.stats(opened)


def test_opening_a_missing_store_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreNotFound, match="no linkgraph store"):
        linkgraph.open_store(tmp_path / "missing.db")


async def test_an_open_store_is_read_only(store: Path) -> None:
    with (
        linkgraph.open_store(store) as opened,
        pytest.raises(sqlite3.OperationalError, match="readonly"),
    ):
        opened.conn.execute("DELETE FROM links")


class RecordingReader:
    """A LinkReader with no file behind it: it records what the façade asks."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    def check(self) -> None:
        self.asked.append(("check",))

    def stats(self) -> dict[str, Any]:
        self.asked.append(("stats",))
        return {"links": {"link": 0}}

    def backlinks(self, target: str, where: LinkFilter, **options: Any) -> list[dict[str, Any]]:
        self.asked.append(("backlinks", target, where, options))
        return []

    def intersect(self, gap: Gap, **options: Any) -> list[dict[str, Any]]:
        self.asked.append(("intersect", gap, options))
        return []


def test_the_facade_passes_each_keyword_to_the_reader_it_was_given() -> None:
    reader = RecordingReader()
    linkgraph.backlinks(reader, "x.test", include_lost=True, placement="footer", limit=5)  # type: ignore[arg-type]
    linkgraph.intersect(reader, ["a.test", "b.test"], exclude="me.test", min=3)  # type: ignore[arg-type]
    linkgraph.stats(reader)  # type: ignore[arg-type]
    assert reader.asked == [
        (
            "backlinks",
            "x.test",
            LinkFilter(include_lost=True, placement="footer"),
            {"mode": None, "limit": 5, "sort": "authority"},
        ),
        (
            "intersect",
            Gap(["a.test", "b.test"], exclude="me.test", min_count=3),
            {"limit": 100},
        ),
        ("check",),  # stats asks the store whether it is healthy first
        ("stats",),
    ]


def test_an_sqlite_error_met_in_a_query_becomes_a_store_error(tmp_path: Path) -> None:
    garbage = tmp_path / "x.db"
    garbage.write_bytes(b"not a database, " * 64)
    conn = sqlite3.connect(garbage)
    try:
        with pytest.raises(CorruptStore, match=r"x\.db is damaged"), sqlite_errors(garbage):
            conn.execute("SELECT count(*) FROM sqlite_master")
    finally:
        conn.close()


def test_a_misspelt_query_keyword_is_a_type_error_naming_it() -> None:
    # The target queries take their options as **keywords: a typo must not pass silently.
    with pytest.raises(TypeError, match=r"anchors\(\) got an unexpected keyword argument 'follow'"):
        linkgraph.anchors(RecordingReader(), "x.test", follow=True)  # type: ignore[arg-type, call-arg]
