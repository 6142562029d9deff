"""The demo web's two generations: switching in place, and the changes between them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from demo_support import client, host_of, http_date, page_text, small_sites
from linkgraph.storage.identity import registrable_domain
from linkgraph.storage.records import LOST_REASONS

from linkgraph.demo import (
    GENERATION_DATES,
    DemoPage,
    DemoSite,
    DemoWeb,
    expected_edges,
    generate,
    site_url,
    truth,
)

pytestmark = pytest.mark.timeout(60)


def served_pages(web: DemoWeb) -> list[tuple[DemoSite, str]]:
    """Every declared page of the listening sites answering 200 at once, every time."""
    return [
        (site, path)
        for site in web.sites
        if site.listening
        for path, page in site.pages.items()
        if len(page.responses) == 1
        and page.responses[0].status == 200
        and not page.responses[0].delay
    ]


async def test_generation_switch_in_place() -> None:
    async with DemoWeb(generate(12, 6, seed=1)) as web, client(web) as http:
        port, hosts, pages = web.port, dict(web.hosts), served_pages(web)

        async def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
            async with http.get(url, headers=headers, allow_redirects=False) as r:
                return r.status, (r.headers.copy(), await r.read())

        urls = [web.url(site.name, path) for site, path in pages]
        first = dict(zip(urls, await asyncio.gather(*(fetch(u) for u in urls)), strict=True))
        assert all(status == 200 for status, _ in first.values())
        web.replace_sites(generate(12, 6, seed=1, generation=2))
        assert (web.port, web.hosts) == (port, hosts)
        assert web.url(truth.TARGET) in web.seeds

        async def again(url: str) -> tuple[int, Any]:
            old = first[url][1][0]
            return await fetch(url, {"If-None-Match": old["ETag"]} if "ETag" in old else None)

        second = dict(zip(urls, await asyncio.gather(*(again(u) for u in urls)), strict=True))
        changed = {truth.fill(c.source, port) for c in truth.CHANGES}
        no_validators = {web.url(truth.TARGET, "/size-guide")}
        assert {u for u, (status, _) in second.items() if status != 304} == changed | no_validators
        statuses = {"page-404": 404, "page-410": 410, "page-redirects": 301, "fetch-error": 500}
        for c in truth.CHANGES:
            url = truth.fill(c.source, port)
            status, (headers, body) = second[url]
            assert status == statuses.get(c.reason, 200), c
            if status == 200:  # changed in place: new body, new ETag, new Last-Modified
                assert headers["ETag"] != first[url][1][0]["ETag"] and body != first[url][1][1]
                assert headers["Last-Modified"] == http_date(GENERATION_DATES[2])
        # Unchanged pages keep their Last-Modified too: If-Modified-Since still gives 304.
        unchanged = [u for u in urls if u not in changed | no_validators]
        stamp = http_date(GENERATION_DATES[1])
        assert {first[u][1][0]["Last-Modified"] for u in unchanged} == {stamp}
        since = await asyncio.gather(*(fetch(u, {"If-Modified-Since": stamp}) for u in unchanged))
        assert {status for status, _ in since} == {304}
        status, (headers, _) = await fetch(
            web.url(truth.TARGET, "/size-guide"), {"If-None-Match": "*"}
        )
        assert status == 200 and "ETag" not in headers
        expected = {(s, ln.target) for s, ln in web.expected_edges() if ln.kind == "link"}
        new = [c for c in truth.CHANGES if c.reason == "new"]
        assert new and all(
            (truth.fill(c.source, port), truth.fill(c.target, port)) in expected for c in new
        )


def page_at(sites: list[DemoSite], url: str) -> DemoPage:
    host, path = url.removeprefix("http://").split("/", 1)
    return next(s for s in sites if s.name == host.split(":")[0]).pages["/" + path]


def link_pairs(sites: list[DemoSite]) -> set[tuple[str, str]]:
    return {(s, ln.target) for s, ln in expected_edges(sites) if ln.kind == "link"}


def test_changes_match_the_two_generations() -> None:
    one, two = generate(12, 6, seed=1), generate(12, 6, seed=1, generation=2)
    assert [s.name for s in one] == [s.name for s in two]
    e1, e2 = link_pairs(one), link_pairs(two)
    assert {c.reason for c in truth.CHANGES} == {
        *LOST_REASONS,
        "new",
    }  # every reason, once at least
    page_level = {c.source for c in truth.CHANGES if c.target is None}
    assert all(
        c.reason in LOST_REASONS and c.reason != "removed"
        for c in truth.CHANGES
        if c.target is None
    )
    removed = {(c.source, c.target) for c in truth.CHANGES if c.reason == "removed"}
    new = {(c.source, c.target) for c in truth.CHANGES if c.reason == "new"}
    # Apart from pages that stop counting as a whole, the links differ by exactly truth.CHANGES.
    assert {pair for pair in e1 - e2 if pair[0] not in page_level} == removed
    assert {pair for pair in e2 - e1 if pair[0] not in page_level} == new
    sources_1 = {s for s, _ in e1}
    for c in truth.CHANGES:
        assert c.source in sources_1  # the page existed, so a recrawl refetches it
        page = page_at(two, c.source)
        response = page.responses[-1]
        assert page.note  # generation 2 names the change on the page
        if c.reason in ("removed", "new", "page-noindex", "canonical-moved"):
            assert response.status == 200
        if c.target is None:  # it had backlinks of the target to lose
            assert any(s == c.source and truth.TARGET in t for s, t in e1)
        body = page_text(response) or ""
        expected = {"page-404": 404, "page-410": 410, "page-redirects": 301, "fetch-error": 500}
        if c.reason in expected:
            assert response.status == expected[c.reason]
        if c.reason == "page-redirects":
            assert page.links[0].kind == "redirect" and response.headers["Location"] == "/deals/"
        if c.reason == "page-noindex":
            assert '<meta name="robots" content="noindex">' in body
            assert "noindex" not in (page_text(page_at(one, c.source).responses[-1]) or "")
        if c.reason == "canonical-moved":
            (canonical,) = [ln for ln in page.links if ln.kind == "canonical"]
            assert canonical.target != c.source
            assert not [ln for ln in page_at(one, c.source).links if ln.kind == "canonical"]
            assert canonical.target in sources_1  # it names a page that exists
    # A new referring domain: it links the target only in generation 2.
    target = registrable_domain(truth.TARGET)

    def referrers(pairs: set[tuple[str, str]]) -> set[str]:
        return {host_of(s) for s, t in pairs if registrable_domain(host_of(t)) == target}

    assert truth.NEW_REFERRER in referrers(e2) - referrers(e1)
    # Nothing else changed: same bodies, same Last-Modified, everywhere else.
    changed = {c.source for c in truth.CHANGES}
    for site_1, site_2 in zip(one, two, strict=True):
        assert set(site_1.pages) == set(site_2.pages)
        for path, page in site_1.pages.items():
            other = site_2.pages[path]
            url = site_url(site_1.name, path)
            assert (page.responses != other.responses) == (url in changed), url
            stamp = GENERATION_DATES[2 if url in changed else 1]
            assert (page.last_modified, other.last_modified) == (GENERATION_DATES[1], stamp)
    assert generate(20, 6, traps=False, generation=2) == generate(20, 6, traps=False)
    with pytest.raises(ValueError):
        generate(12, 6, generation=3)


async def test_replace_sites_needs_the_same_hosts() -> None:
    sites = small_sites()
    async with DemoWeb(sites) as web:
        with pytest.raises(ValueError):
            web.replace_sites(sites[:-1])
        with pytest.raises(ValueError):
            web.replace_sites([*sites[:-1], DemoSite("cal.test", listening=False)])
        b = DemoSite("b.test", [DemoPage.html("/x", "<p>b x, later</p>")])
        web.replace_sites([b if s.name == "b.test" else s for s in sites])
        async with client(web) as http, http.get(web.url("b.test", "/x")) as r:
            assert await r.text() == "<p>b x, later</p>"
        async with client(web) as http, http.get(web.url("b.test", "/")) as r:
            assert r.status == 404
