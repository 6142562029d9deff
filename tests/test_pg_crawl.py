"""A crawl into PostgreSQL stores what a crawl into SQLite stores.

The same demo web is crawled into a SQLite file and into a PostgreSQL database with the
same settings, then (after the web moves to its second generation, with removed and new
links) crawled again with ``refresh``: both stores must give the same links, lost links
and answers. Times differ between two crawls, so records are compared without them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crawl_support import child, page_hits, settings_for, stored_pages, wait_until

import linkgraph
from linkgraph import api
from linkgraph.demo import TARGET, DemoWeb, generate

pytestmark = pytest.mark.timeout(180)

_TIMES = {"first_seen", "last_seen", "lost_at", "fetched_at", "seen"}


@pytest.fixture
def web() -> Iterator[DemoWeb]:
    with DemoWeb(generate(12, 6, seed=1)) as served:
        yield served


def crawl(web: DemoWeb, db: str | Path, tmp_path: Path, **overrides: Any) -> Any:
    hosts = web.write_hosts_file(tmp_path / "hosts")
    return asyncio.run(api.crawl_async(db, settings_for(web, hosts, **overrides)))


def links(db: str | Path) -> list[tuple]:
    with linkgraph.open_store(db) as store:
        records = list(store.iter_links(include_lost=True))
    return sorted(
        tuple(sorted((k, str(v)) for k, v in r.items() if k not in _TIMES)) for r in records
    )


def answers(db: str | Path) -> tuple[Any, ...]:
    def strip(rows: list[dict]) -> list[tuple]:
        return sorted(
            tuple(sorted((k, str(v)) for k, v in r.items() if k not in _TIMES)) for r in rows
        )

    return (
        strip(linkgraph.backlinks(db, TARGET, limit=None)),
        strip(linkgraph.backlinks(db, TARGET, limit=None, include_lost=True)),
        strip(linkgraph.referring_domains(db, TARGET, limit=None)),
        strip(linkgraph.anchors(db, TARGET, limit=None)),
    )


def test_a_crawl_and_a_recrawl_store_the_same_links_on_both_backends(
    web: DemoWeb, tmp_path: Path, pg_url: str
) -> None:
    sqlite = tmp_path / "links.db"
    first = [crawl(web, db, tmp_path) for db in (sqlite, pg_url)]
    assert first[0].pages == first[1].pages > 0
    assert first[0].links == first[1].links > 0
    assert links(sqlite) == links(pg_url)
    web.replace_sites(generate(12, 6, seed=1, generation=2))
    again = [crawl(web, db, tmp_path, refresh=True) for db in (sqlite, pg_url)]
    assert again[0].links == again[1].links
    lost = [r for r in links(pg_url) if ("lost_reason", "None") not in r]
    assert lost  # the second generation removed links: the recrawl marked them lost
    assert links(sqlite) == links(pg_url)
    assert answers(sqlite) == answers(pg_url)
    with linkgraph.open_store(sqlite) as a, linkgraph.open_store(pg_url) as b:
        sa, sb = a.stats(), b.stats()
    for key in ("pages", "links", "hosts", "domains", "frontier"):
        assert sa.get(key) == sb.get(key), key


def pg_pages(url: str) -> dict[str, int | None]:
    import psycopg

    with psycopg.connect(url) as conn:
        try:
            rows = conn.execute(
                "SELECT u.url, p.status FROM pages p JOIN urls u ON u.id = p.url_id"
            ).fetchall()
        except psycopg.errors.UndefinedTable:
            return {}  # the crawl has not made the schema yet
    return dict(rows)


def pg_frontier(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM frontier").fetchone()[0]


def test_a_crawl_killed_with_sigkill_resumes_to_the_same_store(tmp_path: Path, pg_url: str) -> None:
    with DemoWeb(generate(24, 8, seed=5, traps=False)) as web:
        sqlite = tmp_path / "reference.db"
        crawl(web, sqlite, tmp_path, delay=0.05)
        want_links = links(sqlite)
        web.reset()
        seeds = tmp_path / "seeds.txt"
        seeds.write_text("\n".join(web.seeds) + "\n")
        hosts = web.write_hosts_file(tmp_path / "hosts")
        args = ["crawl", "--db", pg_url, "--seeds", str(seeds), "--hosts-file", str(hosts)]
        quick = {"LINKGRAPH_FLUSH_SECONDS": "0.1", "LINKGRAPH_BATCH_PAGES": "10"}
        sqlite_pages = {url: page.status for url, page in stored_pages(sqlite).items()}
        with child([*args, "--delay", "0.15", "--quiet"], **quick) as process:
            wait_until(lambda: len(pg_pages(pg_url)) >= len(sqlite_pages) // 3, 60, "a third")
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        assert process.returncode == -signal.SIGKILL
        before = pg_pages(pg_url)
        assert len(sqlite_pages) // 3 <= len(before) < len(sqlite_pages)
        web.clear_log()
        with child(["crawl", "--db", pg_url, "--quiet"]) as process:
            _, err = process.communicate(timeout=90)
        assert process.returncode == 0, err
        assert pg_pages(pg_url) == sqlite_pages
        assert links(pg_url) == want_links
        assert pg_frontier(pg_url) == 0
        again = {web.url(h.site, h.path) for h in page_hits(web)}
        assert again.isdisjoint(before)  # what was committed is never fetched again


async def test_text_postgresql_cannot_hold_is_stored_as_the_replacement_character(
    pg_url: str,
) -> None:
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import Link, Page

    hostile = Page(
        "http://a.test/",
        0,
        1.0,
        status=200,
        title="bad\x00title\udc80",
        links=[Link("http://b.test/", "an\x00chor")],
    )
    async with await PgWriter.open(pg_url) as writer:
        writer.add_page(hostile)
    (record,) = linkgraph.backlinks(pg_url, "http://b.test/", include_internal=True)
    assert record["anchor"] == "an\ufffdchor"
    import psycopg

    with psycopg.connect(pg_url) as conn:
        (title,) = conn.execute("SELECT title FROM pages").fetchone()
    assert title == "bad\ufffdtitle\ufffd"


async def test_a_link_row_stored_by_another_writer_meanwhile_is_merged_not_an_error(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The links of a source with no link rows are inserted without ON CONFLICT. Should
    # another writer store that source's rows between the look and the insert, the
    # batch runs again merging them, as if it had seen them.
    from linkgraph.storage.pg import batch as pg_batch
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import Link, Page

    def page(at: float) -> Page:
        return Page("http://a.test/", 0, at, status=200, links=[Link("http://b.test/", "b")])

    async with await PgWriter.open(pg_url) as first:
        first.add_page(page(1000.0))
    real = pg_batch._current
    looks: list[int] = []

    async def looked_too_early(conn: Any, sources: list[int]) -> tuple[int, set[int]]:
        looks.append(len(sources))
        count, linked = await real(conn, sources)
        return (0, set()) if len(looks) == 1 else (count, linked)

    monkeypatch.setattr(pg_batch, "_current", looked_too_early)
    async with await PgWriter.open(pg_url) as second:
        second.add_page(page(2000.0))
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT first_seen, last_seen, lost_at FROM links").fetchall()
    assert rows == [(1000, 2000, None)]
    assert len(looks) >= 3  # the first try, and the second one's two looks


async def test_ids_of_a_batch_that_rolled_back_are_not_reused(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer remembers the ids of committed batches and does not send those values
    # again. A batch that failed after interning rolled its new ids back: the next batch
    # must intern them anew, or its links would point at URL ids no row has.
    from linkgraph.storage.pg import batch as pg_batch
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import Link, Page

    real = pg_batch._write_links
    calls: list[int] = []

    async def fails_once(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the connection broke")
        await real(*args)

    monkeypatch.setattr(pg_batch, "_write_links", fails_once)
    async with await PgWriter.open(pg_url) as writer:
        writer.add_page(
            Page("http://a.test/", 0, 1000.0, status=200, links=[Link("http://z.test/")])
        )
        with pytest.raises(RuntimeError):
            await writer.flush()
        writer.add_page(
            Page("http://b.test/", 0, 1000.0, status=200, links=[Link("http://z.test/")])
        )
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT s.url, t.url FROM links l JOIN urls s ON s.id = l.source_id"
            " JOIN urls t ON t.id = l.target_id ORDER BY 1"
        ).fetchall()
    assert rows == [("http://a.test/", "http://z.test/"), ("http://b.test/", "http://z.test/")]


async def test_ids_remembered_from_earlier_batches_give_the_same_links(pg_url: str) -> None:
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import Link, Page

    async with await PgWriter.open(pg_url, batch_pages=1) as writer:
        for n, source in enumerate(["http://a.test/", "http://b.test/", "http://c.test/"]):
            links = [Link("http://t.test/", "same"), Link(f"http://t.test/{n}", "own")]
            writer.add_page(Page(source, 0, 1000.0, status=200, links=links))
            await writer.flush()
    import psycopg

    with psycopg.connect(pg_url) as conn:
        rows = conn.execute(
            "SELECT s.url, t.url, a.text FROM links l JOIN urls s ON s.id = l.source_id"
            " JOIN urls t ON t.id = l.target_id JOIN anchors a ON a.id = l.anchor_id"
            " ORDER BY 1, 2"
        ).fetchall()
        (urls,) = conn.execute("SELECT count(*) FROM urls").fetchone()
    assert rows == [
        ("http://a.test/", "http://t.test/", "same"),
        ("http://a.test/", "http://t.test/0", "own"),
        ("http://b.test/", "http://t.test/", "same"),
        ("http://b.test/", "http://t.test/1", "own"),
        ("http://c.test/", "http://t.test/", "same"),
        ("http://c.test/", "http://t.test/2", "own"),
    ]
    assert urls == 7


def test_remembered_ids_are_bounded_and_keep_those_in_use() -> None:
    from linkgraph.storage.pg.interning import Interned

    interned = Interned(limit=2)

    def commit(url: str, n: int) -> None:
        interned.begin()
        interned.learn("urls", {url: n})
        interned.commit()

    for n, url in enumerate(["a", "b", "c"], 1):
        commit(url, n)
    assert interned.split("urls", ["a"]) == ({"a": 1}, [])  # in use again: kept
    commit("d", 4)
    commit("e", 5)  # the newer generation passes 2: b and c, not used since, go
    assert interned.split("urls", ["a", "b", "c", "d", "e"]) == ({"a": 1, "d": 4, "e": 5}, [1, 2])
