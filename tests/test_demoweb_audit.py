"""The demo web's audit sites: the link farm, the target's anchor mix, brand mentions, topical
text, broken and external links, and what describe counts of them."""

from __future__ import annotations

import math
import re
from collections import Counter

import aiohttp
import lxml.html
import pytest
from demo_support import client, host_of, page_text
from linkgraph.crawler.urls import Scope
from linkgraph.storage.identity import registrable_domain

from linkgraph.demo import (
    DemoPage,
    DemoWeb,
    audit_sites,
    describe,
    expected_edges,
    generate,
    site_url,
    truth,
)

pytestmark = pytest.mark.timeout(60)


def test_link_farm_is_a_clique_with_money_anchors() -> None:
    sites = audit_sites()
    edges = expected_edges(sites)
    farm = {registrable_domain(h) for h in truth.FARM}
    assert len(farm) == 5
    pairs = {
        (registrable_domain(host_of(s)), registrable_domain(host_of(ln.target)))
        for s, ln in edges
        if ln.kind == "link"
    }
    for a in farm:
        for b in farm - {a}:
            assert (a, b) in pairs and (b, a) in pairs  # mutual, every pair
    by_name = {s.name: s for s in sites}
    for host in truth.FARM:
        pages = by_name[host].pages
        assert len(pages) > 30
        for path, page in pages.items():  # sitewide: every page links every partner
            footer = {host_of(ln.target) for ln in page.links if ln.placement == "footer"}
            assert footer == set(truth.FARM) - {host}, path
        money = {
            ln.anchor
            for p in pages.values()
            for ln in p.links
            if host_of(ln.target) == truth.TARGET
        }
        assert set(truth.KEYWORDS) <= money
        outlinks = [ln for ln in pages["/links"].links if ln.kind == "link"]
        assert len(outlinks) >= 150
        assert sum(host_of(ln.target) != host for ln in outlinks) >= 100
        assert by_name[host].seed and by_name[host].note == "link-farm"


def test_audit_target_has_a_realistic_anchor_mix() -> None:
    sites = audit_sites()
    into = [
        (s, ln)
        for s, ln in expected_edges(sites)
        if ln.kind == "link" and host_of(ln.target) == truth.TARGET and host_of(s) != truth.TARGET
    ]
    anchors = {ln.anchor for _, ln in into}
    assert {
        truth.BRAND,
        "www.acme-shoes.test",
        "click here",
        "read more",
        *truth.KEYWORDS,
    } <= anchors
    assert "best running shoes for beginners" in anchors  # partial match
    assert "" in {ln.anchor for _, ln in into if not ln.image}  # an empty anchor
    assert any(ln.image and ln.anchor for _, ln in into)  # an image link with its alt
    rels = {r for _, ln in into for r in ln.rel}
    assert {"sponsored", "ugc", "nofollow"} <= rels
    placements = {ln.placement for _, ln in into}
    assert {"content", "footer", "comments"} <= placements
    assert len({registrable_domain(host_of(s)) for s, _ in into}) >= 10
    # Sitewide: every page of the club links the target from its footer.
    club = next(s for s in sites if s.name == truth.SITEWIDE)
    for page in club.pages.values():
        assert any(
            host_of(ln.target) == truth.TARGET and ln.placement == "footer" for ln in page.links
        )
    # Reciprocal: the target links back to one of its linkers.
    assert any(host_of(s) == truth.RECIPROCAL for s, _ in into)
    assert any(
        host_of(s) == truth.TARGET and host_of(ln.target) == truth.RECIPROCAL
        for s, ln in expected_edges(sites)
    )


def visible_text(page: DemoPage) -> str | None:
    text = page_text(page.responses[-1])
    if text is None or page.responses[-1].status != 200:
        return None
    return " ".join(lxml.html.document_fromstring(text).body.text_content().split())


@pytest.mark.parametrize("generation", [1, 2])
def test_brand_mentions_are_as_declared(generation: int) -> None:
    sites = generate(12, 6, seed=1, generation=generation)
    linking = {
        s
        for s, ln in expected_edges(sites)
        if ln.kind == "link" and host_of(ln.target) == truth.TARGET
    }
    found = {
        site_url(site.name, path)
        for site in sites
        if site.listening and site.name != truth.TARGET
        for path, page in site.pages.items()
        if truth.BRAND in (visible_text(page) or "")
    }
    mentions = truth.MENTIONS[generation]
    assert found == set(mentions.linked) | set(mentions.unlinked)
    assert set(mentions.linked) <= linking
    assert not set(mentions.unlinked) & linking and len(mentions.unlinked) >= 3
    facts = describe(sites)
    assert facts["brand_mentions"] == len(found)
    assert facts["unlinked_mentions"] == len(mentions.unlinked)


def test_topical_text_separates_relevant_from_unrelated_sites() -> None:
    """TF-IDF (sites as documents) puts running sites near the target, the others far."""
    sites = [s for s in audit_sites() if s.listening]
    counts = {
        s.name: Counter(
            re.findall(
                r"[a-z]{3,}", " ".join(visible_text(p) or "" for p in s.pages.values()).lower()
            )
        )
        for s in sites
    }
    df = Counter(word for c in counts.values() for word in c)

    def vector(host: str) -> dict[str, float]:
        idf = {w: math.log(len(counts) / df[w]) for w in counts[host]}
        return {w: (1 + math.log(n)) * idf[w] for w, n in counts[host].items()}

    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        dot = sum(v * b.get(w, 0.0) for w, v in a.items())
        return dot / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))

    target = vector(truth.TARGET)
    relevant = [cosine(vector(h), target) for h in truth.RELEVANT]
    unrelated = [cosine(vector(h), target) for h in truth.UNRELATED]
    assert min(relevant) > 0.08 and max(unrelated) < 0.03, (relevant, unrelated)


async def test_broken_and_external_links_answer_as_declared() -> None:
    sites = generate(12, 6, seed=1)
    edges = {(s, ln.target) for s, ln in expected_edges(sites)}
    async with DemoWeb(sites) as web, client(web) as http:
        for link in truth.BROKEN_LINKS + truth.EXTERNAL_LINKS:
            assert (link.source, link.target) in edges
            if link.status is None:
                with pytest.raises(aiohttp.ClientConnectorError):
                    await http.get(truth.fill(link.target, web.port))
                continue
            async with http.get(truth.fill(link.target, web.port), allow_redirects=False) as r:
                assert r.status == link.status, link
        async with http.head(web.url(truth.EXTERNAL, "/no-head")) as r:
            assert r.status == 405 and r.headers["Allow"] == "GET"
        scope = Scope("domain", web.seeds)
        assert scope.allows_host(truth.TARGET) and scope.allows_host(truth.FARM[0])
        assert not scope.allows_host(truth.EXTERNAL) and not scope.allows_host(truth.REFUSED)
        assert web.hosts[truth.REFUSED]  # in the hosts file, although nothing listens


def test_describe_counts_the_audit_content() -> None:
    facts = describe(generate(12, 6, seed=1))
    assert facts["farm_sites"] == len(truth.FARM) and facts["pages_without_validators"] == 1
    assert facts["target_backlinks"] > 30 and facts["target_referring_domains"] >= 10
    # alpha's /missing, /gone and old.alpha.test, then the audit's broken and external links
    external = sum(link.status is None or link.status >= 400 for link in truth.EXTERNAL_LINKS)
    assert facts["broken_links"] == 3 + len(truth.BROKEN_LINKS) + external
    bench = describe(generate(20, 6, traps=False))
    assert bench["farm_sites"] == bench["target_backlinks"] == bench["brand_mentions"] == 0
