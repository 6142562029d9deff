"""Page parsing: workers answer as the thread does, never the event loop, within its limits."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from linkgraph.crawler import parsing, urls
from linkgraph.crawler.extract import extract
from linkgraph.crawler.parsing import PageParser, ParseLimits, parse_page
from linkgraph.storage.identity import host_of, registrable_domain, url_hash
from linkgraph.storage.records import Link

PAGE = (
    b'<html lang="en"><head><title>T</title><link rel="canonical" href="/c"></head><body>'
    b'<nav><a href="/a">A</a></nav><p>Text <a href="https://other.test/x" rel="nofollow">X</a></p>'
    b'<footer><a href="/b"><img alt="B"></a></footer></body></html>'
)


async def test_worker_answers_equal_inline_answers() -> None:
    inline = PageParser(workers=0, agent_token="linkgraph", want_text=True)
    pooled = PageParser(workers=1, agent_token="linkgraph", want_text=True, inline_pages=0)
    try:
        await pooled.parse(PAGE, "text/html", "http://site.test/")
        assert await pooled.wait_started()
        for n in range(20):
            url = f"http://site.test/p{n}"
            a = await inline.parse(PAGE, "text/html", url)
            b = await pooled.parse(PAGE, "text/html", url)
            assert a.links == b.links
            assert (a.title, a.lang, a.canonical, a.robots, a.text) == (
                b.title,
                b.lang,
                b.canonical,
                b.robots,
                b.text,
            )
        info = b.url_info
        assert info is not None
        for target, (key, host, domain) in info.items():
            assert (key, host, domain) == (
                url_hash(target),
                host_of(target),
                registrable_domain(host_of(target)),
            )
    finally:
        await inline.close()
        await pooled.close()


async def test_a_workers_links_are_the_link_records_extract_finds() -> None:
    page = PAGE + (
        b'<a href="/a" rel="UGC sponsored">again</a><area href="/map" alt="M">'
        b'<a href="https://other.test/x">X followed</a>'
    )
    url = "http://site.test/"
    expected = extract(page.decode(), url).links
    pooled = PageParser(workers=1, agent_token="linkgraph", want_text=False, inline_pages=0)
    try:
        found = await pooled.parse(page, "text/html", url)
        assert await pooled.wait_started()
        found = await pooled.parse(page, "text/html", url)
    finally:
        await pooled.close()
    assert found.links == expected
    assert [type(link) for link in found.links] == [Link] * len(expected)
    assert [link.kind for link in found.links] == ["link"] * len(expected)
    assert [link.image for link in found.links] == [False, False, True, False, True, False]
    assert found.links[3].rel == ("ugc", "sponsored")
    # Each followable target once, in document order: the nofollow and ugc links are not.
    assert found.follow == ["http://site.test/a", "http://site.test/b", "http://site.test/map",
                            "https://other.test/x"]  # fmt: skip


async def test_many_pages_in_flight_come_back_to_the_right_callers(corpus: Path) -> None:
    files = sorted((corpus / "html-trafilatura" / "cache").glob("*.html.gz"))[:30]
    bodies = [gzip.decompress(f.read_bytes()) for f in files]
    pooled = PageParser(workers=2, agent_token="linkgraph", want_text=False, inline_pages=0)
    try:
        await pooled.parse(bodies[0], None, "https://page0.test/")
        assert await pooled.wait_started()
        results = await asyncio.gather(
            *(pooled.parse(body, None, f"https://page{i}.test/") for i, body in enumerate(bodies))
        )
    finally:
        await pooled.close()
    for i, (body, result) in enumerate(zip(bodies, results, strict=True)):
        expected = parse_page(body, None, f"https://page{i}.test/", "linkgraph", False)
        assert [(ln.target, ln.anchor) for ln in result.links] == [
            (t, a) for t, a, *_ in expected[0]
        ]


async def test_a_dead_worker_is_replaced_and_parsing_goes_on_in_workers() -> None:
    parser = PageParser(workers=1, agent_token="linkgraph", want_text=False, inline_pages=0)
    try:
        first = await parser.parse(PAGE, "text/html", "http://site.test/")
        assert await parser.wait_started()
        dead = parser._pool[0].process
        dead.kill()
        await dead.wait()
        again = await parser.parse(PAGE, "text/html", "http://site.test/")
        assert again.links == first.links
        for task in list(parser._replacing):
            await task
        assert [w.process.pid for w in parser._pool] != [dead.pid]
        assert len(parser._pool) == 1 and not parser._broken
        assert (await parser.parse(PAGE, "text/html", "http://site.test/")).links == first.links
    finally:
        await parser.close()


async def test_the_page_a_worker_dies_on_is_parse_timeout_and_the_next_ones_parse() -> None:
    parser = PageParser(workers=1, agent_token="linkgraph", want_text=False, inline_pages=0)
    try:
        await parser.parse(PAGE, "text/html", "http://site.test/")
        assert await parser.wait_started()
        worker = parser._pool[0]
        # Stop the worker, queue three pages on it, and end it as its CPU limit would:
        # it dies on the first, before reading the two behind it.
        worker.process.send_signal(signal.SIGSTOP)
        pages = [
            asyncio.ensure_future(parser.parse(PAGE, "text/html", f"http://site.test/{n}"))
            for n in range(3)
        ]
        await asyncio.sleep(0)
        assert len(worker.waiting) == 3
        worker.process.send_signal(signal.SIGXCPU)
        worker.process.send_signal(signal.SIGCONT)
        first, *rest = await asyncio.gather(*pages)
    finally:
        await parser.close()
    assert (first.error, first.links) == ("parse-timeout", [])
    assert all(r.error is None and len(r.links) == 3 for r in rest)


async def test_a_worker_is_outside_the_process_group_a_terminal_interrupts() -> None:
    # Ctrl-C at a terminal signals its foreground process group: a worker there died
    # with a KeyboardInterrupt traceback of its own while the crawl shut down.
    parser = PageParser(workers=1, agent_token="linkgraph", want_text=False, inline_pages=0)
    try:
        await parser.parse(PAGE, "text/html", "http://site.test/")
        assert await parser.wait_started()
        worker = parser._pool[0].process
        assert os.getpgid(worker.pid) != os.getpgrp()
        assert (await parser.parse(PAGE, "text/html", "http://site.test/")).error is None
    finally:
        await parser.close()


async def test_a_page_the_worker_cannot_parse_is_parse_failed_and_the_next_ones_parse() -> None:
    parser = PageParser(workers=1, agent_token="linkgraph", want_text=False, inline_pages=0)
    try:
        first = await parser.parse(PAGE, "text/html", "http://site.test/")
        assert await parser.wait_started()
        worker = parser._pool[0]
        # A body that is not bytes makes parse_page raise in the worker, which answers
        # with the exception instead of the page's fields.
        failed = await parser.parse("not bytes", "text/html", "http://site.test/bad")  # type: ignore[arg-type]
        after = await parser.parse(PAGE, "text/html", "http://site.test/")
        assert parser._pool == [worker] and parser.restarts == 0  # it lived on
    finally:
        await parser.close()
    assert (failed.error, failed.links) == ("parse-failed", [])
    assert after.links == first.links and after.error is None


def test_the_worker_cpu_limit_ends_a_runaway_parse() -> None:
    script = (
        "from linkgraph.crawler.parsing import ParseLimits, _limit_cpu\n"
        "_limit_cpu(ParseLimits(cpu_seconds=0.01))\n"
        "while True: pass\n"
    )
    done = subprocess.run([sys.executable, "-P", "-c", script], timeout=60, check=False)
    assert done.returncode == -signal.SIGXCPU


async def test_pages_are_never_parsed_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    loop_thread = threading.get_ident()
    ticked = threading.Event()
    seen: list[int] = []
    real = parsing.parse_page

    def slow_parse(*args: object) -> object:
        seen.append(threading.get_ident())
        # Returns only once the event loop has ticked five times: on the loop it never would.
        assert ticked.wait(timeout=20)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(parsing, "parse_page", slow_parse)
    parser = PageParser(workers=0, agent_token="linkgraph", want_text=False)

    async def ticker() -> int:
        for tick in itertools.count(1):
            await asyncio.sleep(0.01)
            if tick == 5:
                ticked.set()
                return tick
        return 0

    try:
        result, ticks = await asyncio.gather(
            parser.parse(PAGE, "text/html", "http://site.test/"), ticker()
        )
    finally:
        await parser.close()
    assert ticks == 5 and len(result.links) == 3
    assert seen and loop_thread not in seen


def test_url_info_stays_right_and_bounded_when_its_memory_fills(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each target's (hash, host, domain) is remembered across pages, at most _URL_INFO_MAX
    # of them; a full memory is emptied, and what comes back is computed again.
    monkeypatch.setattr(urls, "_URL_INFO", {})
    monkeypatch.setattr(urls, "_URL_INFO_MAX", 3)
    hrefs = ["/a", "http://b.example.co.uk/x", "/c", "http://d.test/", "/a", "/e"]
    for page in range(6):
        body = "".join(f'<a href="{h}">{i}</a>' for i, h in enumerate(hrefs[page:] + hrefs[:page]))
        info = parse_page(body.encode(), "text/html", "http://site.test/", "linkgraph", False)[7]
        assert sorted((url, host, domain) for url, (_, host, domain) in info.items()) == [
            ("http://b.example.co.uk/x", "b.example.co.uk", "example.co.uk"),
            ("http://d.test/", "d.test", "d.test"),
            ("http://site.test/a", "site.test", "site.test"),
            ("http://site.test/c", "site.test", "site.test"),
            ("http://site.test/e", "site.test", "site.test"),
        ]
        assert info["http://site.test/a"][0] == 7_320_618_277_606_377_174
        assert len(urls._URL_INFO) <= 3


@pytest.mark.parametrize("workers", [0, 1])
async def test_a_page_over_its_link_cap_comes_back_truncated(workers: int) -> None:
    limits = ParseLimits(max_links=2)
    parser = PageParser(
        workers=workers, agent_token="linkgraph", want_text=False, inline_pages=0, limits=limits
    )
    try:
        await parser.parse(PAGE, "text/html", "http://site.test/")
        await parser.wait_started()
        result = await parser.parse(PAGE, "text/html", "http://site.test/")
    finally:
        await parser.close()
    assert [link.target for link in result.links] == ["http://site.test/a", "https://other.test/x"]
    assert result.truncated


def test_parse_page_stops_at_its_budget_with_the_links_so_far() -> None:
    body = "".join(f'<a href="/p{i}">{i}</a>' for i in range(1_000)).encode()
    ticks = itertools.count()
    parsed = parse_page(
        body,
        "text/html",
        "http://site.test/",
        "linkgraph",
        False,
        ParseLimits(cpu_seconds=8),
        lambda: float(next(ticks)),
    )
    links, error = parsed[0], parsed[8]
    assert error == "parse-timeout"
    assert 0 < len(links) < 1_000
    assert [t for t, *_ in links] == [f"http://site.test/p{i}" for i in range(len(links))]


@pytest.mark.parametrize("workers", [0, 1])
async def test_garbage_gives_no_links_no_error_and_its_visible_text(workers: int) -> None:
    # The bogus charset is ignored: bytes that are not UTF-8 are read as windows-1252
    # (crawler/encoding.py), where 0xff is "ÿ"; NUL bytes are not text.
    cases = [
        (b"", ""),
        (b"\x00\xff" * 1000, "\u00ff" * 1000),
        (b"<a href='http://[::1'>x</a>", "x"),  # an unparseable href is not a link
        (b"<" * 10_000, "<" * 10_000),
    ]
    parser = PageParser(workers=workers, agent_token="linkgraph", want_text=True, inline_pages=0)
    try:
        await parser.parse(b"", None, "http://site.test/")
        await parser.wait_started()
        for body, text in cases:
            result = await parser.parse(body, "text/html; charset=bogus", "http://site.test/")
            assert (result.links, result.error, result.truncated) == ([], None, False), body[:20]
            assert (result.text, result.title, result.canonical) == (text, None, None), body[:20]
    finally:
        await parser.close()


@pytest.mark.parametrize(("allowed", "workers"), [(1, 0), (2, 1), (3, 2), (16, 4)])
def test_workers_are_counted_from_the_cores_the_crawl_may_use(
    monkeypatch: pytest.MonkeyPatch, allowed: int, workers: int
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(allowed)))
    assert parsing.auto_workers() == workers
