"""The per-host budget: a host that stalls, drips or answers garbage is given up, and the
crawl ends with every other host's pages done.

The tarpits are raw asyncio servers on loopback that answer robots.txt properly (so the
host is not skipped for that) and then misbehave on every page. The settings are small
(a tenth of a second where the defaults have tens); assertions are on outcomes, each
test is bounded by a pytest timeout. The time budget is proven on a virtual clock in test_politeness_rules.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from crawl_support import FAST, page_hits, site, stored_pages
from linkgraph.crawler.settings import CrawlSettings
from linkgraph.storage import queries

from linkgraph import api
from linkgraph.demo import DemoWeb

pytestmark = pytest.mark.timeout(60)

TARPIT = "www.tarpit.test"
ADDRESS = "127.78.0.20"


class Tarpit:
    """Answers robots.txt with 404, then misbehaves: ``drip`` sends a valid status line and
    headers, then a body one byte every 50 ms (never idle long enough for a read timeout);
    ``garbage`` sends bytes that are not HTTP; ``silent`` reads the request and says nothing.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = 0
        self.paths: list[str] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Tarpit:
        self._server = await asyncio.start_server(self._serve, ADDRESS, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while line := await reader.readline():
                while (await reader.readline()).strip():
                    pass  # headers
                path = line.split()[1].decode()
                self.paths.append(path)
                if path == "/robots.txt":
                    writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                    await writer.drain()
                    continue
                if self.mode == "garbage":
                    writer.write(b"\x00\xffNOT HTTP\r\n\r\n")
                    await writer.drain()
                elif self.mode == "drip":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
                    writer.write(b"Content-Length: 1000000\r\n\r\n")
                    while True:
                        writer.write(b"<")
                        await writer.drain()
                        await asyncio.sleep(0.05)
                else:
                    await asyncio.sleep(3600)
                break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


@pytest.mark.parametrize("mode", ["drip", "garbage", "silent"])
async def test_a_tarpit_host_is_given_up_and_the_crawl_ends(tmp_path: Path, mode: str) -> None:
    fine = site("www.fine.test", {"/": ["/a", "/b"], "/a": [], "/b": []})
    async with DemoWeb([fine]) as web, Tarpit(mode) as tarpit:
        hosts = web.write_hosts_file(tmp_path / "hosts")
        hosts.write_text(hosts.read_text() + f"{ADDRESS} {TARPIT}\n")
        trapped = [f"http://{TARPIT}:{tarpit.port}/t/{i}" for i in range(4)]
        settings = CrawlSettings(
            **{
                **FAST,
                # Each try is cut off after connect + read = 0.6 s, however slowly the
                # server drips; two failures in a row (below the parking) end the host.
                "connect_timeout": 0.3,
                "read_timeout": 0.3,
                "host_max_failures": 2,
            },
            seeds=(*web.seeds, *trapped),
            hosts_file=str(hosts),
        )
        stats = await api.crawl_async(tmp_path / "links.db", settings)
        fine_paths = sorted(h.path for h in page_hits(web))
    # The first URL is tried twice (one retry) and fails twice: the host is done.
    assert tarpit.paths == ["/robots.txt", "/t/0", "/t/0"]
    stored = stored_pages(tmp_path / "links.db")
    assert stored[trapped[0]].error == ("protocol" if mode == "garbage" else "timeout")
    assert [stored[u].error for u in trapped[1:]] == ["host-budget"] * 3
    assert fine_paths == ["/", "/a", "/b"]
    assert all(stored[web.url("www.fine.test", p)].status == 200 for p in fine_paths)
    assert "host budget: 2 failed requests in a row" in stats.host_notes[TARPIT]
    with queries.reader(tmp_path / "links.db") as conn:
        counts = queries.stats(conn)
    assert counts["pages"]["not_fetched"]["host-budget"] == 3
    assert any(n["host"] == TARPIT and "host budget" in n["note"] for n in counts["host_notes"])
