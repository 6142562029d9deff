"""The generated demo web: deterministic, shaped as declared, its ground truth what the HTML
holds, and served."""

from __future__ import annotations

import asyncio

import lxml.html
import pytest
from demo_support import client, page_text
from linkgraph.crawler.extract import extract
from linkgraph.crawler.urls import resolve

from linkgraph.demo import (
    PORT_TOKEN,
    DemoSite,
    DemoWeb,
    ExpectedLink,
    audit_sites,
    decompress,
    describe,
    expected_edges,
    fill_port,
    generate,
    header_value,
    site_url,
    truth,
)

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("n_sites", "pages", "seed", "traps"),
    [pytest.param(40, 12, 7, True, id="with-traps"), pytest.param(20, 5, 1, False, id="no-traps")],
)
def test_generate_is_deterministic(n_sites: int, pages: int, seed: int, traps: bool) -> None:
    web = generate(n_sites, pages, seed=seed, traps=traps)
    assert web == generate(n_sites, pages, seed=seed, traps=traps)
    assert web != generate(n_sites, pages, seed=seed + 1, traps=traps)  # the seed matters


def test_generate_refuses_fewer_sites_than_its_traps_need() -> None:
    with pytest.raises(ValueError, match="n_sites >= 12 with traps"):
        generate(5)


def test_generated_web_shape() -> None:
    sites = generate(40, 12)
    names = [s.name for s in sites]
    audit = [s.name for s in audit_sites()]
    assert names[40:] == audit  # the fixed audit sites come after the n_sites hosts
    assert len(set(names)) == len(names) == 40 + len(audit)
    assert names[:4] == ["www.alpha.test", "blog.alpha.test", "shop.alpha.test", "old.alpha.test"]
    summary = describe(sites)
    assert summary["sites"] == 40 + len(audit) and summary["listening"] == 39 + len(audit) - 1
    assert summary["domains"] < summary["sites"]  # several hosts per registrable domain
    assert summary["cross_site_links"] > 1000 and summary["nofollow_links"] > 50
    for trap in ("robots-500", "crawl-delay-60", "redirect-loop", "calendar-trap", "latin-1"):
        assert trap in summary["traps"]
    # In-degree has structure: the hubs collect far more links than the median site.
    indegree = {n: 0 for n in names}
    for source, link in expected_edges(sites):
        host = link.target.split("/")[2].split(":")[0]
        if host in indegree and host != source.split("/")[2].split(":")[0]:
            indegree[host] += 1
    counts = sorted(indegree.values())
    hubs = [s.name for s in sites if s.note == "hub"]
    assert hubs and min(indegree[h] for h in hubs) > 3 * counts[len(counts) // 2]
    bench = generate(30, 8, traps=False)
    assert describe(bench)["traps"] == ["hub"] and all(s.listening for s in bench)
    assert all(s.fallback is None and s.robots is not None for s in bench)
    assert all(
        r.delay == 0 and r.status < 300
        for s in bench
        for p in s.pages.values()
        for r in p.responses
    )


def html_links(body: str, page_url: str) -> list[ExpectedLink]:
    """Extract links the way a careful crawler would, as an independent check."""
    tree = lxml.html.document_fromstring(body)
    base = page_url
    for element in tree.iter("base"):
        base = resolve(element.get("href"), page_url) or page_url
        break
    found = []
    for element in tree.iter("a", "link"):
        href = element.get("href")
        if element.tag == "link":
            if element.get("rel") == "canonical":
                found.append(ExpectedLink(resolve(href, base) or "", kind="canonical"))
            continue
        target = resolve(href, base)
        if href is None or target is None:
            continue  # mailto: and friends are not web links
        placement = "content"
        for ancestor in element.iterancestors():
            tag = ancestor.tag
            if tag == "section" and ancestor.get("id") == "comments":
                tag = "comments"
            mapped = {"header": "header", "nav": "nav", "aside": "sidebar", "footer": "footer"}
            if tag == "comments" or tag in mapped:
                placement = mapped.get(tag, tag)
                break
        images = element.findall(".//img")
        text = " ".join(element.text_content().split())
        image = bool(images) and not text
        anchor = images[0].get("alt", "") if image else text
        rel = tuple((element.get("rel") or "").split())
        found.append(ExpectedLink(target, anchor, rel, placement, image))
    return found


@pytest.mark.parametrize(("traps", "generation"), [(True, 1), (True, 2), (False, 1)])
async def test_ground_truth_matches_the_html(traps: bool, generation: int) -> None:
    sites = generate(16, 8, seed=5, traps=traps, generation=generation)
    async with DemoWeb(sites) as web:
        checked = 0
        for site in web.sites:
            for path, page in site.pages.items():
                url = web.url(site.name, path)
                final = page.responses[-1]
                if 300 <= final.status < 400:
                    (link,) = page.links
                    assert resolve(final.headers["Location"], url) == link.target
                    continue
                text = page_text(final)
                if text is None:
                    assert page.links == []
                    continue
                assert html_links(text, url) == page.links, url
                checked += 1
        assert checked > 100
        assert len(web.expected_edges()) == sum(
            len(p.links) for s in web.sites for p in s.pages.values()
        )


async def test_generated_links_point_at_pages_that_exist() -> None:
    sites = generate(40, 12)
    web = DemoWeb(sites)
    by_name = {s.name: s for s in sites}
    dangling = set()
    for _source, link in expected_edges(sites):
        host, _, rest = link.target.removeprefix("http://").partition("/")
        site = by_name.get(host.split(":")[0])
        if site is None or not site.listening:
            continue
        path = "/" + rest
        if path not in site.pages and not (site.fallback and site.fallback(path)):
            dangling.add(link.target.replace(PORT_TOKEN, "P"))
    broken = {b.target for b in truth.BROKEN_LINKS} - {
        site_url(truth.TARGET, "/old-catalogue")
    }  # a 410
    assert dangling == {"http://www.alpha.test:P/missing"} | {
        b.replace(PORT_TOKEN, "P") for b in broken
    }
    # Pages the crawler must reach only by a rule: linked from one nofollow page, or nowhere.
    linked_from: dict[str, set[str]] = {}
    for source, link in expected_edges(sites):
        linked_from.setdefault(link.target.split("/", 3)[3], set()).add(source.split("/", 3)[3])
    assert linked_from["behind-meta-robots"] == {"meta-nofollow"}
    assert linked_from["behind-meta-linkgraph"] == {"meta-linkgraph"}
    assert not {"orphan/1", "orphan/2", "orphan/3", "commented-out", "from-script"} & set(
        linked_from
    )
    assert web.hosts["old.alpha.test"]  # in the hosts file although nothing listens
    bench = generate(30, 8, seed=3, traps=False)
    pages = {(s.name, path) for s in bench for path in s.pages}
    for _source, link in expected_edges(bench):
        host, _, rest = link.target.removeprefix("http://").partition("/")
        assert (host.split(":")[0], "/" + rest) in pages, link


async def test_generated_web_is_served() -> None:
    sites = generate(12, 6, seed=2)
    async with DemoWeb(sites) as web, client(web, auto_decompress=False) as http:

        async def fetch(site: DemoSite, path: str) -> None:
            async with http.get(web.url(site.name, path), allow_redirects=False) as r:
                body = await r.read()
            page = site.pages[path]
            assert r.status == page.responses[0].status, (site.name, path)
            if r.status == 200:
                assert body == page.responses[0].body

        sites_served = [s for s in web.sites if s.listening]
        await asyncio.gather(*(fetch(s, p) for s in sites_served for p in s.pages))
        async with http.get(web.url("news.bravo.test", "/busy")) as r:
            assert r.status == 200  # the 429 came first, then 200 for good
        async with http.get(web.url("www.charlie.test", "/robots.txt")) as r:
            assert r.status == 500
        async with http.get(web.url("www.bravo.test", "/cafe")) as r:
            assert r.headers["Content-Type"] == "text/html; charset=ISO-8859-1"
            assert "Café menu".encode("latin-1") in await r.read()
        async with http.get(web.url("www.bravo.test", "/brotli")) as r:
            assert r.headers["Content-Encoding"] == "br"
            assert f":{web.port}/".encode() in decompress(await r.read(), "br")
        assert web.requests and not any(h.site == "old.alpha.test" for h in web.requests)


def test_the_ground_truth_of_every_generated_page_is_what_extract_finds_in_it() -> None:
    # The expected links are the records a crawl stores, so on every HTML page of the
    # generated web (both generations) the extractor's links equal the page's ground truth.
    pages = 0
    for generation in (1, 2):
        for site in generate(12, 6, seed=1, generation=generation):
            origin = f"http://{site.name}:8000"
            for page in site.pages.values():
                page = fill_port(page, origin, "8000")
                response = page.responses[-1]
                ctype = header_value(response.headers, "Content-Type") or ""
                if response.status != 200 or not ctype.startswith("text/html"):
                    continue
                encoding = header_value(response.headers, "Content-Encoding") or "identity"
                charset = ctype.partition("charset=")[2] or "utf-8"
                html = decompress(response.body, encoding).decode(charset)
                found = extract(html, origin + page.path).links
                assert found == [ln for ln in page.links if ln.kind == "link"], origin + page.path
                pages += 1
    assert pages > 500
