"""The recrawl history of the live audit (demo web crawled twice, generation 1, then 2 with
--refresh): conditional requests, lost and returning links, and every command's count.

Expected answers come from the demo web's own ground truth (``linkgraph.demo.truth``:
``CHANGES``, ``MENTIONS``, ``BROKEN_LINKS``, ``EXTERNAL_LINKS``, ``FARM``...), never from
the code under test.
"""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import sqlite3
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from audit_support import DOMAIN, url
from linkgraph.storage.identity import host_of, registrable_domain

import linkgraph
from linkgraph import api
from linkgraph.demo import CHANGES, NEW_REFERRER, expected_edges, generate

pytestmark = pytest.mark.timeout(240)


# -- recrawl history ------------------------------------------------------------------------


def test_refresh_uses_conditional_requests(audit: SimpleNamespace) -> None:
    """The refresh asks again, conditionally, for every page generation 1 stored with a
    2xx answer that carried validators; exactly the pages generation 2 left as they were
    (by the demo's own page definitions) answer 304, and no changed page does."""
    origin = f"http://{{}}:{audit.port}{{}}"
    gen1 = {origin.format(s.name, p): pg for s in generate(12, 6) for p, pg in s.pages.items()}
    gen2 = {
        origin.format(s.name, p): pg
        for s in generate(12, 6, generation=2)
        for p, pg in s.pages.items()
    }

    def served(page: object) -> list[tuple[int, bytes]]:
        return [(r.status, r.body) for r in page.responses]  # type: ignore[attr-defined]

    with sqlite3.connect(audit.gen1) as conn:
        stored_2xx = {
            u for (u,) in conn.execute(
                "SELECT u.url FROM pages p JOIN urls u ON u.id = p.url_id"
                " WHERE p.status BETWEEN 200 AND 299"
            )
        }  # fmt: skip
    # Pages made up by a site's fallback (the calendar's days) are served with validators
    # and the same in both generations.
    expected = {u for u in stored_2xx if u not in gen1 or gen1[u].validators}
    unchanged = {u for u in expected if u not in gen1 or served(gen1[u]) == served(gen2[u])}
    changed = {url(audit, c.source) for c in CHANGES}
    assert unchanged and not unchanged & changed and expected - unchanged

    pages = [h for h in audit.refresh_log if h.path != "/robots.txt" and h.method == "GET"]
    conditional = [
        h for h in pages if "if-none-match" in h.headers or "if-modified-since" in h.headers
    ]
    asked = {origin.format(h.site, h.path) for h in conditional}
    assert asked == expected
    not_modified = [origin.format(h.site, h.path) for h in conditional if h.status == 304]
    assert sorted(not_modified) == sorted(unchanged)  # each once: a 304 is final


def expected_lost(audit: SimpleNamespace) -> set[tuple[str, str, str]]:
    """(source, target, reason) of each link into DOMAIN that generation 2 loses, by the
    demo's CHANGES; a page-level change loses every link generation 1's page had."""
    expected = set()
    for change in CHANGES:
        source = url(audit, change.source)
        if change.reason == "new":
            continue
        targets = (
            [url(audit, change.target)]
            if change.target
            else [
                link.target
                for s, link in audit.truth1
                if s == source
                and link.kind == "link"
                and registrable_domain(host_of(link.target)) == DOMAIN
            ]
        )
        assert targets, change
        expected |= {(source, t, change.reason) for t in targets}
    return expected


def test_changes_find_every_lost_link_with_its_reason(audit: SimpleNamespace) -> None:
    report = linkgraph.changes(audit.gen2, DOMAIN, since=audit.between)
    lost = {
        (r["source"], r["target"], r["reason"]) for r in report["links"] if r["change"] == "lost"
    }
    expected = expected_lost(audit)
    assert lost == expected
    new = {(r["source"], r["target"]) for r in report["links"] if r["change"] == "new"}
    assert {
        (url(audit, c.source), url(audit, c.target)) for c in CHANGES if c.reason == "new"
    } <= new
    domains = {(r["domain"], r["change"]) for r in report["referring_domains"]}
    assert (registrable_domain(NEW_REFERRER), "new") in domains
    velocity = report["velocity"]
    assert sum(v["lost"] for v in velocity) == len({(s, t) for s, t, _ in lost})
    # Nothing changed before the refresh: the first crawl's links are all "new" at once.
    assert all(r["change"] == "new" for r in linkgraph.changes(audit.gen1, DOMAIN)["links"])


def test_each_crawls_last_count_is_what_stats_says(audit: SimpleNamespace) -> None:
    """The live display's links and hosts crawled (the CrawlStats a crawl ends with) are
    the store's totals by stats' definitions, after the first crawl and after the refresh
    that lost links."""
    for crawl, db in zip(audit.crawls, (audit.gen1, audit.gen2), strict=True):
        with sqlite3.connect(db) as conn:
            current = conn.execute("SELECT count(*) FROM links WHERE lost_at IS NULL").fetchone()
            hosts = conn.execute(
                "SELECT count(DISTINCT u.host_id) FROM pages p JOIN urls u ON u.id = p.url_id"
                " WHERE p.status IS NOT NULL"
            ).fetchone()
        stats = linkgraph.stats(db)
        assert crawl.links == current[0]
        assert crawl.hosts_crawled == hosts[0]
        assert (stats["links"]["total"], stats["hosts_crawled"]) == (current[0], hosts[0])
        assert stats["links"]["total"] == sum(
            stats["links"][kind] for kind in ("link", "redirect", "canonical")
        )
    assert linkgraph.stats(audit.gen2)["links"]["lost"] > 0


def test_a_lost_link_that_returns_is_current_again(audit: SimpleNamespace, tmp_path: Path) -> None:
    """Serve generation 1 again and refresh gen2.db: every link generation 2 lost (each
    CHANGES entry that is not "new", expanded with generation 1's ground truth) is current
    again, keeps the first_seen of the first crawl and is seen on the third crawl."""
    returned = {(s, t) for s, t, _ in expected_lost(audit)}
    assert len(returned) >= len([c for c in CHANGES if c.reason != "new"])
    gen3 = tmp_path / "gen3.db"
    shutil.copy(audit.gen2, gen3)
    query = (
        "SELECT s.url, t.url, l.first_seen, l.last_seen, l.lost_at FROM links l"
        " JOIN urls s ON s.id = l.source_id JOIN urls t ON t.id = l.target_id WHERE l.kind = 0"
    )

    def rows(db: Path) -> dict[tuple[str, str], list[tuple[int, int | None, int | None]]]:
        """Each returned pair's link rows (one per anchor, placement...): (first_seen,
        last_seen, lost_at), sorted."""
        found: dict[tuple[str, str], list[tuple[int, int | None, int | None]]] = {}
        with sqlite3.connect(db) as conn:
            for source, target, *row in conn.execute(query):
                if (source, target) in returned:
                    found.setdefault((source, target), []).append(tuple(row))
        return {pair: sorted(found[pair]) for pair in found}

    first, before = rows(audit.gen1), rows(gen3)
    # The setup holds: each of them was in generation 1 and is lost in gen2.db.
    assert set(first) == returned and set(before) == returned
    assert all(lost is not None for links in before.values() for _, _, lost in links)
    time.sleep(1.1)  # times are whole seconds: keep this crawl apart from the refresh
    third = int(time.time())
    audit.web.replace_sites(generate(12, 6))
    try:
        api.run(api.crawl_async(gen3, dataclasses.replace(audit.settings, refresh=True)))
    finally:
        audit.web.replace_sites(generate(12, 6, generation=2))
    after = rows(gen3)
    assert set(after) == returned
    for pair, links in after.items():
        assert [f for f, _, _ in links] == [f for f, _, _ in first[pair]], pair
        assert all(lost is None for _, _, lost in links), pair
        assert all(last is not None and last >= third for _, last, _ in links), pair
    current = {(r["source"], r["target"]) for r in linkgraph.backlinks(gen3, DOMAIN, limit=None)}
    assert returned <= current


def backlink_pairs(truth: list) -> set[tuple[str, str]]:
    """The (source, target) backlinks into DOMAIN from other domains in a ground truth."""
    return {
        (source, link.target)
        for source, link in truth
        if link.kind == "link"
        and registrable_domain(host_of(link.target)) == DOMAIN
        and registrable_domain(host_of(source)) != DOMAIN
    }


def test_every_command_counts_the_current_backlinks_of_generation_2(
    audit: SimpleNamespace,
) -> None:
    """backlinks, top, referring-domains, anchors, backlinks --quality, changes and export
    agree on gen2.db, and on the demo model's answer: generation 2's links, less those of
    the pages that stopped counting (404, 410, redirect, noindex, canonical, 500)."""
    stopped = {url(audit, c.source) for c in CHANGES if c.target is None}
    truth2 = expected_edges(generate(12, 6, generation=2), audit.port)
    current = backlink_pairs([(s, link) for s, link in truth2 if s not in stopped])
    domains = {registrable_domain(host_of(s)) for s, _ in current}
    ever = current | backlink_pairs(audit.truth1)
    lost_domains = {registrable_domain(host_of(s)) for s, _ in ever} - domains
    # The two: their only linking pages went noindex and 410.
    assert lost_domains == {"fitness-forum.test", "city-news.test"}

    db = audit.gen2
    listed = linkgraph.backlinks(db, DOMAIN, limit=None)
    assert {(r["source"], r["target"]) for r in listed} == current
    (top,) = [r for r in linkgraph.top(db, limit=1000) if r["domain"] == DOMAIN]
    assert (top["backlinks"], top["referring_domains"]) == (len(current), len(domains))
    referring = linkgraph.referring_domains(db, DOMAIN, limit=None)
    assert {r["domain"] for r in referring} == domains
    assert sum(r["backlinks"] for r in referring) == len(current)
    anchors = linkgraph.anchors(db, DOMAIN, limit=None)
    groups = {
        (s, link.target, link.anchor, link.image)
        for s, link in truth2
        if (s, link.target) in current and link.kind == "link"
    }
    assert sum(a["backlinks"] for a in anchors) == len(groups)
    quality = linkgraph.backlink_quality(db, DOMAIN, limit=None)
    assert {(r["source"], r["target"]) for r in quality} == current
    changes = linkgraph.changes(db, DOMAIN)["referring_domains"]
    assert {r["domain"] for r in changes if r["change"] == "lost"} == lost_domains
    out = io.StringIO()
    linkgraph.export(db, format="jsonl", output=out)
    exported = [json.loads(line) for line in out.getvalue().splitlines()]
    assert backlink_pairs([(r["source"], SimpleNamespace(**r)) for r in exported]) == current

    history = linkgraph.referring_domains(db, DOMAIN, limit=None, include_lost=True)
    gone = {r["domain"]: r["lost_reason"] for r in history if r["lost_at"]}
    assert gone == {"fitness-forum.test": "page-noindex", "city-news.test": "page-410"}
    old = linkgraph.backlinks(db, DOMAIN, limit=None, include_lost=True)
    assert {(r["source"], r["target"]) for r in old} == ever


def test_a_link_with_two_anchors_is_one_change_named_by_its_first_anchor_in_any_row_order() -> None:
    from linkgraph.storage.audit import changes_from_rows

    s, t = "http://a.example/", "http://t.example/"
    rows = [
        (s, t, "later words", 200, None, None, 1, "a.example"),
        (s, t, "first words", 100, 300, 0, 1, "a.example"),
        ("http://b.example/", t, "b", 100, None, None, 2, "b.example"),
    ]
    for order in (rows, rows[::-1], rows[1:] + rows[:1]):
        found = changes_from_rows(order, start=0, by="day")["links"]
        assert [(r["source"], r["anchor"], r["change"], r["date"]) for r in found] == [
            (s, "first words", "lost", "1970-01-01T00:05:00Z"),
            ("http://b.example/", "b", "new", "1970-01-01T00:01:40Z"),
            (s, "first words", "new", "1970-01-01T00:01:40Z"),
        ]
