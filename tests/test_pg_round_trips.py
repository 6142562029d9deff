"""The statements a crawl worker sends a PostgreSQL store: queue windows read back
together (storage/pg/frontier.py), each host its own window; a batch's host notes in one
statement (storage/pg/batch.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from linkgraph.storage.records import Page, QueueItem

import linkgraph

HOSTS = [f"h{i}.test" for i in range(5)]


def queued(host: str, n: int) -> list[QueueItem]:
    return [QueueItem(f"http://{host}/p{i}", 1) for i in range(n)]


async def filled(pg_url: str) -> Any:
    from linkgraph.storage.pg.writer import PgWriter

    writer = await PgWriter.open(pg_url)
    for host in HOSTS:
        writer.add_queued(queued(host, 4))
    # h0's first entry is done: its page is stored (another worker queued it again).
    await writer.flush()
    writer.add_page(Page("http://h0.test/p0", 1, 1.0, status=200))
    writer.add_queued([QueueItem("http://h0.test/p0", 1)])
    await writer.flush()
    return writer


def count_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import psycopg

    sent: list[str] = []
    execute = psycopg.AsyncConnection.execute

    async def counting(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return await execute(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.AsyncConnection, "execute", counting)
    return sent


async def test_reads_arriving_together_go_in_two_statements_each_host_its_own_window(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = await filled(pg_url)
    try:
        sent = count_statements(monkeypatch)
        windows = await asyncio.gather(*(writer.take_frontier(h, 2) for h in HOSTS))
    finally:
        await writer.close()
    # The first read goes alone; the four that arrive while it runs go together.
    assert len(sent) == 2
    urls = [[item.url for item in window] for window in windows]
    assert urls[0] == ["http://h0.test/p1", "http://h0.test/p2"]  # p0 is done
    assert urls[1:] == [[f"http://{h}/p0", f"http://{h}/p1"] for h in HOSTS[1:]]


async def test_a_read_cancelled_midway_leaves_the_others_answered(pg_url: str) -> None:
    writer = await filled(pg_url)
    try:
        first = asyncio.create_task(writer.take_frontier(HOSTS[1], 3))
        await asyncio.sleep(0)  # its statement is on its way
        others = [asyncio.create_task(writer.take_frontier(h, 3)) for h in HOSTS[2:]]
        await asyncio.sleep(0)
        first.cancel()
        windows = await asyncio.wait_for(asyncio.gather(*others), 30)
        with pytest.raises(asyncio.CancelledError):
            await first
        again = await asyncio.wait_for(writer.take_frontier(HOSTS[1], 3), 30)
    finally:
        await writer.close()
    assert [[item.url for item in w] for w in windows] == [
        [f"http://{h}/p{i}" for i in range(3)] for h in HOSTS[2:]
    ]
    assert [item.url for item in again] == [f"http://{HOSTS[1]}/p{i}" for i in range(3)]


async def test_a_read_returns_once_answered_while_other_reads_keep_arriving(
    pg_url: str,
) -> None:
    # The read that starts the statements must not keep running them for others (the
    # crawl holds its host and an address slot meanwhile).
    writer = await filled(pg_url)
    try:
        windows = writer._windows
        first = asyncio.create_task(writer.take_frontier(HOSTS[1], 2))
        others = []
        arrived = 0
        # Another host's read arrives while each statement runs (a busy crawl), 40 at most.
        while not first.done() and arrived < 40:
            before = windows.statements
            host = HOSTS[2 + arrived % 3]
            others.append((host, asyncio.create_task(writer.take_frontier(host, 2))))
            arrived += 1
            for _ in range(100_000):  # until the next statement starts, or the read ends
                if windows.statements != before or first.done():
                    break
                await asyncio.sleep(0)
        mine = await asyncio.wait_for(first, 30)
        theirs = await asyncio.wait_for(asyncio.gather(*(t for _, t in others)), 30)
    finally:
        await writer.close()
    # One read arrives before the first statement runs, one while it runs; then it is done.
    assert arrived <= 2
    assert [item.url for item in mine] == [f"http://{HOSTS[1]}/p0", f"http://{HOSTS[1]}/p1"]
    assert [[item.url for item in w] for w in theirs] == [
        [f"http://{h}/p0", f"http://{h}/p1"] for h, _ in others
    ]


class HeldStatements:
    """A connection whose statements end when the test says: each host's window is its
    page p0."""

    def __init__(self) -> None:
        self.go: list[asyncio.Event] = []

    async def execute(self, query: str, params: dict[str, Any]) -> Any:
        go = asyncio.Event()
        self.go.append(go)
        await go.wait()
        rows = [
            (n, f"http://{h}/p0", 1, 0, 0, None, None) for n, h in enumerate(params["names"], 1)
        ]

        class Cursor:
            async def fetchall(self) -> list[tuple]:
                return rows

        return Cursor()


async def test_reads_handed_to_a_caller_cancelled_then_are_run_by_the_next() -> None:
    pytest.importorskip("psycopg")
    from linkgraph.storage.pg.frontier import WindowReader

    conn = HeldStatements()
    reader = WindowReader(conn)
    first = asyncio.create_task(reader.read("a.test", 1, None))
    await asyncio.sleep(0)
    handed = asyncio.create_task(reader.read("b.test", 1, None))
    last = asyncio.create_task(reader.read("c.test", 1, None))
    await asyncio.sleep(0)
    hand_on = reader._hand_on

    def hand_on_then_cancel() -> None:  # cancelled just after the reads are handed to it
        hand_on()
        if not handed.cancelled():
            handed.cancel()

    reader._hand_on = hand_on_then_cancel  # type: ignore[method-assign]
    conn.go[0].set()
    assert [i.url for i in await asyncio.wait_for(first, 5)] == ["http://a.test/p0"]
    reader._hand_on = hand_on  # type: ignore[method-assign]
    with pytest.raises(asyncio.CancelledError):
        await handed
    for _ in range(100):  # c's read runs a statement of its own
        if len(conn.go) == 2:
            break
        await asyncio.sleep(0.01)
    assert len(conn.go) == 2
    conn.go[1].set()
    assert [i.url for i in await asyncio.wait_for(last, 5)] == ["http://c.test/p0"]


async def test_a_batch_stores_its_hosts_notes_in_one_statement(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    from linkgraph.storage.pg.writer import PgWriter

    async with await PgWriter.open(pg_url) as writer:
        for host in HOSTS:
            writer.add_page(Page(f"http://{host}/", 0, 1.0, status=200))
        writer.note_host(HOSTS[0], note="kept")
        await writer.flush()
        for i, host in enumerate(HOSTS):
            writer.note_host(host, ip=f"127.0.0.{i + 1}", note="slow" if i % 2 else None)
        sent = count_statements(monkeypatch)
        await writer.flush()
    assert len([q for q in sent if q.startswith("UPDATE hosts")]) == 1
    with psycopg.connect(pg_url) as conn:
        stored = dict(conn.execute("SELECT name, array[ip, note] FROM hosts").fetchall())
    assert stored == {
        host: [f"127.0.0.{i + 1}", "slow" if i % 2 else ("kept" if i == 0 else None)]
        for i, host in enumerate(HOSTS)
    }


async def test_a_batch_interns_its_urls_hosts_and_anchors_in_one_statement_each(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.records import Link

    async with await PgWriter.open(pg_url) as writer:
        writer.add_page(
            Page("http://h0.test/", 0, 1.0, status=200, links=[Link("http://h1.test/", "old")])
        )
        await writer.flush()
        links = [Link("http://h1.test/", "old"), Link("http://h2.test/x", "new")]
        writer.add_page(Page("http://h1.test/", 1, 2.0, status=200, links=links))
        sent = count_statements(monkeypatch)
        await writer.flush()
    for table in ("urls", "hosts", "anchors"):
        assert len([q for q in sent if f" {table}" in q]) == 1, table
    (record,) = linkgraph.backlinks(pg_url, "http://h2.test/x", include_internal=True)
    assert (record["source"], record["anchor"]) == ("http://h1.test/", "new")


async def test_a_url_another_writer_inserts_meanwhile_gets_its_id(pg_url: str) -> None:
    import psycopg
    from linkgraph.storage.pg.interning import intern_rows
    from linkgraph.storage.pg.writer import PgWriter

    async with await PgWriter.open(pg_url):
        pass  # the schema
    rows = [["http://a.test/", "http://b.test/"], [1, 2], [1, 1]]
    async with (
        await psycopg.AsyncConnection.connect(pg_url) as other,
        await psycopg.AsyncConnection.connect(pg_url) as conn,
    ):
        await other.execute("INSERT INTO urls(hash, host_id, url) VALUES (2, 1, 'http://b.test/')")
        # Our statement waits on the other's row (unique), which is committed after our
        # statement began: neither its INSERT nor its SELECT returns it.
        interning = asyncio.create_task(
            intern_rows(
                conn,
                "urls",
                {"url": "text", "hash": "bigint", "host_id": "bigint"},
                rows[0],
                "hash, url",
                more=lambda sent: rows[1:],  # nothing remembered: all of them are sent
            )
        )
        await asyncio.sleep(0.5)
        assert not interning.done()
        await other.commit()
        ids = await asyncio.wait_for(interning, 30)
        await conn.commit()
        stored = dict(await (await other.execute("SELECT url, id FROM urls")).fetchall())
    assert ids == stored
    assert sorted(ids) == rows[0]
