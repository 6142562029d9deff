"""Page parsing in worker processes gives the same answers as inline, and survives a dead worker."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest

from crawler.parsing import PageParser, parse_page
from crawler.urls import host_of, registrable_domain, url_hash

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


async def test_a_dead_worker_means_inline_parsing_not_a_failed_crawl() -> None:
    parser = PageParser(workers=1, agent_token="linkgraph", want_text=False, inline_pages=0)
    try:
        first = await parser.parse(PAGE, "text/html", "http://site.test/")
        assert await parser.wait_started()
        parser._pool[0].process.kill()
        await parser._pool[0].process.wait()
        again = await parser.parse(PAGE, "text/html", "http://site.test/")
        assert again.links == first.links
        assert parser._broken
    finally:
        await parser.close()


@pytest.mark.parametrize("workers", [0, 1])
async def test_garbage_never_raises(workers: int) -> None:
    parser = PageParser(workers=workers, agent_token="linkgraph", want_text=True, inline_pages=0)
    try:
        await parser.parse(b"", None, "http://site.test/")
        await parser.wait_started()
        for body in (b"", b"\x00\xff" * 1000, b"<a href='http://[::1'>x</a>", b"<" * 10_000):
            result = await parser.parse(body, "text/html; charset=bogus", "http://site.test/")
            assert isinstance(result.links, list)
    finally:
        await parser.close()
