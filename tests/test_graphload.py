"""storage/graphload.py: the link graph read from a store into arrays and the scores written
back, on stores written row by row so every expected value is known by hand."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from linkgraph.storage import graphload, schema
from linkgraph.storage.errors import StoreError
from linkgraph.storage.graphload import REDIRECTS_SQL, load_graph
from linkgraph.storage.scores import replace_scores, replacing_scores
from linkgraph.storage.vocab import REL_FLAGS, packed_flags_sql

NOFOLLOW = REL_FLAGS["nofollow"]


def store(tmp_path: Path, n_urls: int, links: list[tuple[int, ...]]) -> sqlite3.Connection:
    """A store with ``n_urls`` URLs, URL i on host i % 3, host h on domain h % 2, and these
    ``(source, target, kind, anchor, flags, first_seen, last_seen, lost_at)`` link rows
    (store ids, 1-based)."""
    conn = schema.connect(tmp_path / "g.db", create=True)
    conn.executemany("INSERT INTO domains(id, name) VALUES (?, ?)", [(1, "a.test"), (2, "b.test")])
    conn.executemany(
        "INSERT INTO hosts(id, name, domain_id) VALUES (?, ?, ?)",
        [(h, f"h{h}.test", (h - 1) % 2 + 1) for h in (1, 2, 3)],
    )
    conn.executemany(
        "INSERT INTO urls(id, hash, host_id, url) VALUES (?, ?, ?, ?)",
        [(i, i, (i - 1) % 3 + 1, f"http://h/{i}") for i in range(1, n_urls + 1)],
    )
    conn.executemany(
        "INSERT INTO anchors(id, text) VALUES (?, ?)", [(a, f"anchor {a}") for a in (1, 2, 3)]
    )
    conn.executemany(
        "INSERT INTO links(source_id, target_id, anchor_id, flags, first_seen, last_seen,"
        f" lost_at) VALUES (?1, ?2, ?4, {packed_flags_sql('?5', '?3', '0', '0')}, ?6, ?7, ?8)",
        links,
    )
    return conn


def write_in_slices(monkeypatch: pytest.MonkeyPatch, rows: int, rows_per_insert: int) -> None:
    """Make replace_scores convert ``rows`` rows at a time and insert ``rows_per_insert`` a
    statement, so that a handful of rows takes every path of the insert."""
    monkeypatch.setattr(graphload, "_WRITE_SLICE", rows)
    monkeypatch.setattr(graphload, "_ROWS_PER_INSERT", rows_per_insert)


def rank_index(conn: sqlite3.Connection) -> tuple[str] | None:
    """The SQL that created page_scores' rank index, or None when there is no such index."""
    return conn.execute("SELECT sql FROM sqlite_master WHERE name = 'page_scores_rank'").fetchone()


def test_redirect_lookup_scans_the_links_table_instead_of_the_source_index(
    tmp_path: Path,
) -> None:
    # Grouping through links_source fetches the full row of every link to find the few
    # redirects (15 s on 10M links); a table scan reads each row once, in order.
    conn = store(tmp_path, 3, [])
    plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {REDIRECTS_SQL}"))
    assert "links_source" not in plan
    assert "SCAN links" in plan


def test_load_graph_keeps_the_latest_current_redirect_of_each_page(tmp_path: Path) -> None:
    conn = store(
        tmp_path,
        6,
        [
            # URL 2 redirected to 3, later to 4 (an old store keeps both as current).
            (2, 3, 1, 0, 0, 100, None, None),
            (2, 4, 1, 0, 0, 100, 200, None),
            # URL 5 redirected to 6, and to 1 before that hop was lost.
            (5, 6, 1, 0, 0, 100, None, None),
            (5, 1, 1, 0, 0, 300, None, 400),
            (1, 2, 0, 1, 0, 100, None, None),
        ],
    )
    g = load_graph(conn)
    assert sorted(zip(g.redirect_src.tolist(), g.redirect_dst.tolist(), strict=True)) == [
        (1, 3),
        (4, 5),
    ]
    assert (g.src.tolist(), g.dst.tolist()) == ([0], [1])


def test_load_graph_merges_the_rows_of_a_pair_follow_when_any_row_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small ranges, so the rows come in several queries of the key range.
    monkeypatch.setattr(graphload, "_CHUNK_ROWS", 2)
    conn = store(
        tmp_path,
        40,
        [
            (1, 30, 0, 1, NOFOLLOW, 100, None, None),  # 1 -> 30: nofollow and follow rows
            (1, 30, 0, 2, 0, 100, None, None),
            (2, 30, 0, 1, NOFOLLOW, 100, None, None),  # 2 -> 30: nofollow rows only
            (2, 30, 0, 3, NOFOLLOW, 100, None, None),
            (3, 30, 0, 1, 0, 100, None, 500),  # lost: not loaded
            (7, 2, 0, 1, 0, 100, None, None),
            (7, 2, 0, 2, 0, 100, None, None),
            (9, 40, 0, 1, 0, 100, None, None),
            (8, 40, 0, 1, NOFOLLOW, 100, None, None),
            (6, 1, 2, 0, 0, 100, None, None),  # a canonical, not a backlink
        ],
    )
    g = load_graph(conn)
    pairs = list(zip(g.src.tolist(), g.dst.tolist(), g.follow.tolist(), strict=True))
    assert sorted(pairs) == [
        (0, 29, True),
        (1, 29, False),
        (6, 1, True),
        (7, 39, False),
        (8, 39, True),
    ]
    assert (g.n_urls, g.n_hosts, g.n_domains) == (40, 3, 2)
    assert g.url_host.tolist() == [i % 3 for i in range(40)]
    assert g.host_domain.tolist() == [0, 1, 0]
    assert g.src.dtype == g.dst.dtype == np.int32


class Ranges:
    """A connection that counts its range queries (the scan's ``group_concat`` ones) and
    calls ``before(n)`` and ``after(n)`` around the n-th."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        before: Callable[[int], object] = lambda n: None,
        after: Callable[[int], object] = lambda n: None,
    ) -> None:
        self.conn, self.before, self.after, self.ranges = conn, before, after, 0

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if "group_concat" not in sql:
            return self.conn.execute(sql, *args)
        self.ranges += 1
        self.before(self.ranges)
        cursor = self.conn.execute(sql, *args)
        self.after(self.ranges)
        return cursor


def test_load_graph_with_a_second_reader_gives_the_pairs_in_key_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ranges of a key or two, the second reader's first one done before the first
    # reader's: the parts must still come back in (target, source) order.
    monkeypatch.setattr(graphload, "_CHUNK_ROWS", 1)
    monkeypatch.setattr(graphload, "_FIRST_RANGE", 1)
    links = [
        (s, t, 0, 1, 0, 100, None, None) for t in range(1, 41) for s in (t % 7 + 1, t % 5 + 10)
    ]
    conn = store(tmp_path, 41, links)
    conn.commit()
    helper_ran = threading.Event()
    opened = []

    @contextmanager
    def helper() -> Iterator[Ranges]:
        other = sqlite3.connect(tmp_path / "g.db")
        opened.append(other)
        try:
            yield Ranges(other, after=lambda n: helper_ran.set())
        finally:
            other.close()

    # The first reader's ranges wait until the second reader has done one.
    waits = Ranges(conn, before=lambda n: helper_ran.wait(10))
    g = load_graph(waits, helper=helper)  # type: ignore[arg-type]
    assert len(opened) == 3  # one second reader per scan: URL hosts, host domains, links
    in_key_order = sorted((t, s) for s, t, *_ in links)  # (target, source), 1-based
    assert list(zip(g.src.tolist(), g.dst.tolist(), strict=True)) == [
        (s - 1, t - 1) for t, s in in_key_order
    ]
    assert g.url_host.tolist() == [i % 3 for i in range(41)]


def fail_second(n: int) -> None:
    if n == 2:  # as an interrupted query fails
        raise sqlite3.OperationalError("interrupted")


def test_a_failed_reader_stops_the_other_taking_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An interrupted rank must not wait for the second reader to scan the rest alone.
    monkeypatch.setattr(graphload, "_CHUNK_ROWS", 1)
    monkeypatch.setattr(graphload, "_FIRST_RANGE", 1)
    conn = store(tmp_path, 60, [(1, t, 0, 1, 0, 100, None, None) for t in range(2, 61)])
    other: list[Ranges] = []

    @contextmanager
    def helper() -> Iterator[Ranges]:
        raw = sqlite3.connect(tmp_path / "g.db")
        other.append(Ranges(raw, before=lambda n: threading.Event().wait(0.005)))
        try:
            yield other[-1]
        finally:
            raw.close()

    with pytest.raises(sqlite3.OperationalError, match="interrupted"):
        load_graph(Ranges(conn, before=fail_second), helper=helper)  # type: ignore[arg-type]
    assert other[0].ranges < 10  # of 60 ranges of the URL map, the first scan


def test_load_graph_fails_with_the_second_readers_error(tmp_path: Path) -> None:
    conn = store(tmp_path, 4, [(1, 2, 0, 1, 0, 100, None, None)])

    @contextmanager
    def helper() -> Iterator[sqlite3.Connection]:
        raise sqlite3.OperationalError("the second reader could not open")
        yield conn  # pragma: no cover

    with pytest.raises(sqlite3.OperationalError, match="second reader"):
        load_graph(conn, helper=helper)


def test_write_scores_replaces_rows_and_keeps_the_rank_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_in_slices(monkeypatch, 3, 2)
    conn = store(tmp_path, 3, [])
    index_sql = rank_index(conn)
    assert index_sql is not None
    conn.execute("INSERT INTO page_scores(url_id, pagerank, authority) VALUES (9, 0.5, 1)")
    pagerank = np.array([0.1 + 0.2, 1 / 3, 0.1])  # values that text would round
    replace_scores(
        conn,
        {
            "page": {
                "pagerank": pagerank,
                "authority": np.array([10.0, 20.0, 5.0]),
                "backlinks": np.array([1, 0, 2]),
                "referring_domains": np.array([1, 0, 1]),
            }
        },
    )
    rows = conn.execute(
        "SELECT url_id, pagerank, backlinks FROM page_scores INDEXED BY page_scores_rank"
        " WHERE pagerank > 0 ORDER BY pagerank"
    ).fetchall()
    assert rows == [(3, pagerank[2], 2), (1, pagerank[0], 1), (2, pagerank[1], 0)]
    types = "SELECT DISTINCT typeof(url_id), typeof(pagerank), typeof(backlinks) FROM page_scores"
    assert conn.execute(types).fetchall() == [("integer", "real", "integer")]
    assert rank_index(conn) == index_sql


def test_work_run_before_the_scores_holds_no_write_transaction(tmp_path: Path) -> None:
    # rank chooses hub URLs (a scan of every link) before the first level is written: the
    # store's write lock must not be held through it, only from the first score write on.
    conn = store(tmp_path, 2, [])
    conn.commit()
    seen: list[tuple[str, bool]] = []
    with replacing_scores(conn, beside=False) as writes:
        writes.run(lambda c: seen.append(("before", c.in_transaction)))
        writes.level(
            "page",
            {
                "pagerank": np.array([0.5, 0.5]),
                "authority": np.array([1.0, 1.0]),
                "backlinks": np.array([0, 0]),
                "referring_domains": np.array([0, 0]),
            },
        )
        writes.run(lambda c: seen.append(("after", c.in_transaction)))
    assert seen == [("before", False), ("after", True)]
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM page_scores").fetchone() == (2,)


def test_score_writes_stop_at_the_first_failure_and_never_write_outside_the_transaction(
    tmp_path: Path,
) -> None:
    # SQLite may end a transaction itself (an I/O error): later levels must not then be
    # written on their own, each committing alone.
    conn = store(tmp_path, 2, [])
    columns = {
        "pagerank": np.array([0.5, 0.5]),
        "authority": np.array([1.0, 1.0]),
        "backlinks": np.array([0, 0]),
        "referring_domains": np.array([0, 0]),
    }
    ran: list[str] = []
    with pytest.raises(StoreError, match="ended early"):
        with replacing_scores(conn, beside=False) as writes:
            writes.level("page", columns)
            conn.execute("ROLLBACK")  # stands for SQLite's own rollback
            writes.level("page", columns)
    shared = schema.connect(tmp_path / "g.db", threads=True)  # writes in a second thread
    try:
        with pytest.raises(sqlite3.OperationalError):
            with replacing_scores(shared, beside=True) as writes:
                writes.run(lambda c: c.execute("SELECT * FROM no_such_table"))
                writes.run(lambda c: ran.append("after the failure"))
    finally:
        shared.close()
    assert ran == []
    assert conn.execute("SELECT count(*) FROM page_scores").fetchone() == (0,)


def test_write_scores_failing_midway_leaves_the_previous_scores_and_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_in_slices(monkeypatch, 2, 1)
    conn = store(tmp_path, 5, [])
    conn.execute("INSERT INTO page_scores(url_id, pagerank, authority) VALUES (1, 0.5, 1)")
    index_sql = rank_index(conn)  # the previous index, as replace_scores finds it
    with pytest.raises(sqlite3.IntegrityError):
        replace_scores(
            conn,
            {
                "page": {
                    # NaN is bound as NULL: the fourth row breaks NOT NULL, after the
                    # table was emptied, its index dropped and three rows written.
                    "pagerank": np.array([0.2, 0.3, 0.1, np.nan, 0.4]),
                    "authority": np.ones(5),
                    "backlinks": np.zeros(5, dtype=np.int64),
                    "referring_domains": np.zeros(5, dtype=np.int64),
                }
            },
        )
    assert conn.execute("SELECT url_id, pagerank FROM page_scores").fetchall() == [(1, 0.5)]
    assert index_sql is not None and rank_index(conn) == index_sql


def test_write_scores_refuses_columns_of_different_lengths(tmp_path: Path) -> None:
    conn = store(tmp_path, 2, [])
    with pytest.raises(ValueError, match="differ in length"):
        replace_scores(
            conn,
            {
                "page": {
                    "pagerank": np.array([0.2, 0.8]),
                    "authority": np.array([1.0]),
                    "backlinks": np.array([0, 0, 0]),
                    "referring_domains": np.array([0, 0]),
                }
            },
        )
