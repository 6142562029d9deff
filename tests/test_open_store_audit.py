"""The audits and the graph export read a store's path or an open store through the
store's ``AuditReader`` seam, never a connection of their own."""

from __future__ import annotations

import io
import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crawl_support import answered
from linkgraph.crawler.settings import SettingsError
from linkgraph.storage.errors import StoreError
from linkgraph.storage.interface import GraphArrays, LinkFilter, Target
from linkgraph.storage.records import Link, Page
from linkgraph.storage.sqlite import SqliteStore
from linkgraph.storage.writer import StoreWriter
from test_backlinks import LINKS, pairs

import linkgraph
from linkgraph.graphs import export_graph

DEAD = "http://www.t.test/pricing"


async def build_audited(db: Path) -> None:
    """test_backlinks' store, plus a dead target page and two pages that mention a brand:
    one linking to t.test (www.b.test/2), one not (www.a.test/)."""
    now = time.time()
    mentioning = ("http://www.b.test/2", "http://www.a.test/")
    async with await StoreWriter.open(db) as writer:
        for source, links in LINKS.items():
            text = f"{source} sells Acme widgets" if source in mentioning else None
            writer.add_page(answered(source, [Link(*link) for link in links], at=now, text=text))
        writer.add_page(Page(DEAD, 1, now, status=404, final_url=DEAD))


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await build_audited(db)
    return db


def is_closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


# The answers, worked out by hand from the links in test_backlinks.py and build_audited.
TARGET_PAIRS = {
    ("http://www.b.test/1", "http://www.t.test/"),
    ("http://www.b.test/2", DEAD),
    ("http://blog.a.test/x", "http://shop.t.test/item"),
    ("http://www.c.test/", "http://www.t.test/"),
}
DOMAIN_EDGES = {  # (source, target): (links, follow_links); www.b.test/2's link is ugc
    ("a.test", "b.test"): (1, 1),
    ("a.test", "t.test"): (1, 1),
    ("b.test", "t.test"): (2, 1),
    ("c.test", "t.test"): (1, 1),
}


def changes(db: Any) -> tuple[set[tuple[str, str, str]], set[str]]:
    found = linkgraph.changes(db, "t.test")
    return (
        {(r["source"], r["target"], r["change"]) for r in found["links"]},
        {r["domain"] for r in found["referring_domains"]},
    )


def edgelist(db: Any) -> list[str]:
    out = io.StringIO()
    export_graph(db, out, format="edgelist", level="domain")
    return sorted(out.getvalue().splitlines())


def disavowed(db: Any) -> list[str]:
    text = linkgraph.disavow(db, "t.test", min_score=0)
    return sorted(line for line in text.splitlines() if not line.startswith("#"))


AUDITS: dict[str, Callable[[Any], Any]] = {
    "anchor_profile": lambda db: {
        r["anchor"] for r in linkgraph.anchor_profile(db, "t.test")["anchors"]
    },
    "backlink_quality": lambda db: (
        len(quality := linkgraph.backlink_quality(db, "t.test", limit=None)),
        pairs(quality),
    ),
    "changes": changes,
    "broken": lambda db: {(r["source"], r["status"]) for r in linkgraph.broken(db, "t.test")},
    "toxic": lambda db: {r["domain"] for r in linkgraph.toxic(db, "t.test")},
    "disavow": disavowed,
    "mentions": lambda db: [
        r["url"] for r in linkgraph.mentions(db, "acme widgets", exclude_linking="t.test")
    ],
    "to_networkx": lambda db: {
        (s, t): (a["links"], a["follow_links"])
        for s, t, a in linkgraph.to_networkx(db, level="domain").edges(data=True)
    },
    "export_graph": edgelist,
}

EXPECTED = {
    "anchor_profile": {"T home", "click here", "T pricing", "item"},
    "backlink_quality": (5, TARGET_PAIRS),
    "changes": ({(s, t, "new") for s, t in TARGET_PAIRS}, {"a.test", "b.test", "c.test"}),
    # Links into the dead page: www.b.test/2's, and shop.t.test's (internal, but dead all the same).
    "broken": {("http://www.b.test/2", 404), ("http://shop.t.test/", 404)},
    "toxic": {"a.test", "b.test", "c.test"},
    "disavow": ["domain:a.test", "domain:b.test", "domain:c.test"],
    "mentions": ["http://www.a.test/"],
    "to_networkx": DOMAIN_EDGES,
    "export_graph": sorted(f"{s}\t{t}\t{n}\t{f}" for (s, t), (n, f) in DOMAIN_EDGES.items()),
}


async def test_every_audit_reads_an_open_store_without_opening_the_file_again(
    store: Path, connections: list[tuple[str, sqlite3.Connection]]
) -> None:
    with linkgraph.open_store(store) as opened:
        for name, ask in AUDITS.items():
            assert ask(opened) == EXPECTED[name], name
        # None of them closed the store it was given.
        assert len(linkgraph.backlinks(opened, "t.test")) == 5
    assert [path for path, _ in connections] == [os.fspath(store)]


@pytest.mark.parametrize("name", AUDITS)
async def test_an_audit_given_a_path_opens_it_once_and_closes_it(
    store: Path, connections: list[tuple[str, sqlite3.Connection]], name: str
) -> None:
    assert AUDITS[name](store) == EXPECTED[name]
    assert [path for path, _ in connections] == [os.fspath(store)]
    assert all(is_closed(conn) for _, conn in connections)


async def test_checking_external_links_needs_the_stores_path(store: Path) -> None:
    with (
        linkgraph.open_store(store) as opened,
        pytest.raises(SettingsError, match="give its path, not an open store"),
    ):
        linkgraph.broken(opened, check_external=True)


class GraphOnlyReader:
    """An AuditReader's graph reads with no file behind them: x.test links to y.test."""

    def link_graph(self) -> GraphArrays:
        none = np.array([], dtype=np.int64)
        return GraphArrays(
            n_urls=2,
            n_hosts=2,
            n_domains=2,
            src=np.array([0]),
            dst=np.array([1]),
            follow=np.array([False]),
            redirect_src=none,
            redirect_dst=none,
            url_host=np.array([0, 1]),
            host_domain=np.array([0, 1]),
        )

    def node_names(self, level: str, ids: Any) -> dict[int, str]:
        return {i: ("x.test", "y.test")[i] for i in set(np.asarray(ids).tolist())}

    def node_scores(self, level: str) -> dict[int, dict[str, Any]]:
        return {1: {"authority": 42.0}}


def test_the_graph_export_reads_only_through_the_seam() -> None:
    graph = linkgraph.to_networkx(GraphOnlyReader(), level="domain")  # type: ignore[arg-type]
    assert list(graph.edges(data=True)) == [("x.test", "y.test", {"links": 1, "follow_links": 0})]
    assert dict(graph.nodes(data=True)) == {"x.test": {}, "y.test": {"authority": 42.0}}


class RecordingAuditReader:
    """An AuditReader with no file behind it: it records what the audits ask."""

    resolved = Target("x.test", "domain", "x.test", "-", ())

    def __init__(self, *, fail: bool = False) -> None:
        self.asked: list[tuple[Any, ...]] = []
        self.fail = fail

    def resolve_target(self, target: str, mode: str | None = None) -> Target:
        self.asked.append(("resolve_target", target, mode))
        return self.resolved

    def changes(self, target: Target, **options: Any) -> dict[str, list[dict[str, Any]]]:
        self.asked.append(("changes", target, options))
        if self.fail:
            raise ValueError("unknown period 'month': use day or week")
        return {"links": [], "referring_domains": [], "velocity": []}

    def mentions(self, phrase: str, **options: Any) -> list[dict[str, Any]]:
        self.asked.append(("mentions", phrase, options))
        return []


def test_an_audit_resolves_its_target_once_and_hands_the_store_its_keywords() -> None:
    reader = RecordingAuditReader()
    linkgraph.changes(reader, "x.test", since="2026-01-31", by="week", mode="host")  # type: ignore[arg-type]
    linkgraph.mentions(reader, "acme", limit=5)  # type: ignore[arg-type]
    assert reader.asked == [
        ("resolve_target", "x.test", "host"),
        (
            "changes",
            RecordingAuditReader.resolved,
            {"since": "2026-01-31", "by": "week", "include_internal": False},
        ),
        ("mentions", "acme", {"exclude_linking": None, "limit": 5}),  # no target to resolve
    ]


def test_a_bad_argument_the_store_refuses_is_one_settings_error() -> None:
    with pytest.raises(SettingsError, match="unknown period 'month'"):
        linkgraph.changes(RecordingAuditReader(fail=True), "x.test", by="month")  # type: ignore[arg-type]


AUDIT_READS: dict[str, Callable[[SqliteStore, Target], Any]] = {
    "backlink_details": lambda s, t: s.backlink_details(t, LinkFilter()),
    "domain_sizes": lambda s, t: s.domain_sizes({1}),
    "page_texts": lambda s, t: s.page_texts({1}),
    "target_domain_links_to": lambda s, t: s.target_domain_links_to(t, {1}),
    "domain_authority": lambda s, t: s.domain_authority(),
    "link_graph": lambda s, t: s.link_graph(),
    "node_names": lambda s, t: s.node_names("domain", [0]),
    "node_scores": lambda s, t: s.node_scores("domain"),
    "changes": lambda s, t: s.changes(t, since=None, by="day", include_internal=False),
    "broken_links": lambda s, t: s.broken_links(t, outbound=False, limit=None),
    "mentions": lambda s, t: s.mentions("acme", exclude_linking=t, limit=None),
}


class FailingConnection:
    """A connection whose every statement meets a lock (as another process can cause)."""

    def execute(self, *args: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")


@pytest.mark.parametrize("name", AUDIT_READS)
async def test_an_sqlite_error_in_an_audit_read_becomes_a_store_error(
    store: Path, name: str
) -> None:
    with SqliteStore.open(store) as opened:
        target = opened.resolve_target("t.test")
        real, opened._conn = opened._conn, FailingConnection()  # type: ignore[assignment]
        try:
            with pytest.raises(StoreError, match="SQLite error: database is locked"):
                AUDIT_READS[name](opened, target)
        finally:
            opened._conn = real
