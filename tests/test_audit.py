"""The backlink audit against a live demo web, crawled twice (generation 1, then 2 with --refresh).

Expected answers come from the demo web's own ground truth (``linkgraph.demo.truth``:
``CHANGES``, ``MENTIONS``, ``BROKEN_LINKS``, ``EXTERNAL_LINKS``, ``FARM``...), never from
the code under test.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import json
import shutil
import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from linkgraph.crawler.settings import CrawlSettings
from linkgraph.crawler.urls import host_of, registrable_domain
from linkgraph.graph.anchors import AnchorProfile, anchor_shares, classify_anchor

import linkgraph
from linkgraph import api
from linkgraph.audit import load_profile
from linkgraph.demo import (
    BRAND,
    BROKEN_LINKS,
    CHANGES,
    EXTERNAL,
    EXTERNAL_LINKS,
    FARM,
    KEYWORDS,
    MENTIONS,
    NEW_REFERRER,
    RECIPROCAL,
    RELEVANT,
    SITEWIDE,
    TARGET,
    DemoWeb,
    expected_edges,
    fill,
    generate,
)
from linkgraph.disavow import validate_disavow

pytestmark = pytest.mark.timeout(240)
DOMAIN = registrable_domain(TARGET)


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Crawl generation 1 into gen1.db; switch the running web to generation 2 and
    refresh a copy of the store into gen2.db."""
    tmp = tmp_path_factory.mktemp("audit")
    web = DemoWeb(generate(12, 6))
    web.start_in_thread()
    try:
        settings = CrawlSettings(
            seeds=tuple(web.seeds),
            hosts_file=str(web.write_hosts_file(tmp / "hosts")),
            pinned_only=True,  # the demo web links to real sites: never look them up
            delay=0.02,
            max_depth=4,
            robots_retries=1,
            robots_retry_seconds=0.2,
            park_seconds=0.2,
            backoff_base=0.2,
            quiet=True,
        )
        gen1 = tmp / "gen1.db"
        truth1 = web.expected_edges()
        crawl1 = api.run(api.crawl_async(gen1, settings))
        linkgraph.rank(gen1)
        gen2 = tmp / "gen2.db"
        shutil.copy(gen1, gen2)
        time.sleep(1.1)  # times are whole seconds: keep the two crawls apart
        between = datetime.now(UTC).isoformat(timespec="seconds")
        web.replace_sites(generate(12, 6, generation=2))
        web.clear_log()
        crawl2 = api.run(api.crawl_async(gen2, dataclasses.replace(settings, refresh=True)))
        refresh_log = web.requests
        linkgraph.rank(gen2)
        checked = tmp / "checked.db"
        shutil.copy(gen1, checked)
        web.clear_log()
        linkgraph.broken(checked, check_external=True)
        check_log = web.requests
        yield SimpleNamespace(
            web=web,
            port=web.port,
            gen1=gen1,
            gen2=gen2,
            checked=checked,
            between=between,
            truth1=truth1,
            refresh_log=refresh_log,
            check_log=check_log,
            settings=settings,
            crawls=(crawl1, crawl2),
        )
    finally:
        web.stop()


def url(audit: SimpleNamespace, u: str) -> str:
    return fill(u, audit.port)


PROFILE = load_profile(brand=[BRAND], keyword=list(KEYWORDS))


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


# -- anchors, quality, toxicity, disavow ------------------------------------------------------


def test_anchor_profile_matches_the_ground_truth(audit: SimpleNamespace) -> None:
    report = linkgraph.anchor_profile(audit.gen1, DOMAIN, profile=PROFILE)
    pairs: dict[tuple[str, str, str, bool], None] = {}
    for source, link in audit.truth1:
        if (
            link.kind == "link"
            and registrable_domain(host_of(link.target)) == DOMAIN
            and registrable_domain(host_of(source)) != DOMAIN
        ):
            pairs[(source, link.target, link.anchor, link.image)] = None
    profile = AnchorProfile(brands=(BRAND,), keywords=KEYWORDS)
    # One backlink per (source, target, anchor, image) group, as the report counts them.
    by_anchor = Counter((anchor, image) for (_, _, anchor, image) in pairs)
    classes = [classify_anchor(a, image=i, profile=profile) for a, i in by_anchor]
    expected = anchor_shares(classes, list(by_anchor.values()))
    got = {c["class"]: c["share"] for c in report["classes"]}
    for cls, share in expected.items():
        assert got.get(cls, 0.0) == pytest.approx(share, abs=0.02), cls
    assert {"branded", "exact", "partial", "generic", "naked_url", "image"} <= set(got)
    assert report["over_optimized"] == bool(report["warnings"])


def test_link_quality_ranks_a_relevant_content_link_above_a_farm_link(
    audit: SimpleNamespace,
) -> None:
    records = linkgraph.backlink_quality(audit.gen1, DOMAIN, profile=PROFILE, limit=None)
    by_domain: dict[str, list[dict]] = {}
    for r in records:
        by_domain.setdefault(registrable_domain(host_of(r["source"])), []).append(r)
    farm = [r["quality"] for d in FARM for r in by_domain[registrable_domain(d)]]
    relevant = [
        r["quality"]
        for r in by_domain[registrable_domain(RECIPROCAL)]
        if r["placement"] == "content" and r["follow"]
    ]
    assert max(farm) < max(relevant)
    sitewide = by_domain[registrable_domain(SITEWIDE)]
    assert all(r["sitewide"] for r in sitewide if r["placement"] == "footer")
    for r in records:
        parts = r["quality_parts"]
        assert set(parts) == {
            "authority",
            "follow",
            "placement",
            "relevance",
            "dilution",
            "sitewide",
        }
        assert 0 <= r["quality"] <= 100
    cooking = [
        r["relevance"] for r in by_domain["recipe-corner.test"] if r["relevance"] is not None
    ]
    running = [
        r["relevance"]
        for r in by_domain[registrable_domain(RECIPROCAL)]
        if r["relevance"] is not None
    ]
    assert max(cooking) < min(running)


def test_toxic_triage_flags_the_farm_and_spares_real_sites(audit: SimpleNamespace) -> None:
    scores = {r["domain"]: r for r in linkgraph.toxic(audit.gen1, DOMAIN, profile=PROFILE)}
    farm = [scores[registrable_domain(d)] for d in FARM]
    for record in farm:
        assert "link-farm" in record["signals"], record
        assert record["score"] >= 50, record
    for host in RELEVANT:
        domain = registrable_domain(host)
        if domain in scores:
            assert scores[domain]["score"] < min(r["score"] for r in farm), scores[domain]
    assert "reciprocal" in scores[registrable_domain(RECIPROCAL)]["signals"]
    assert "sitewide-footer" in scores[registrable_domain(SITEWIDE)]["signals"]
    assert all(r["reasons"] for r in farm)


def test_disavow_file_is_valid_and_names_the_farm(audit: SimpleNamespace, tmp_path: Path) -> None:
    out = tmp_path / "disavow.txt"
    text = linkgraph.disavow(audit.gen1, DOMAIN, min_score=50, profile=PROFILE, output=out)
    assert out.read_text(encoding="utf-8") == text
    assert validate_disavow(text) == []
    domains = {line[len("domain:") :] for line in text.splitlines() if line.startswith("domain:")}
    assert {registrable_domain(d) for d in FARM} <= domains
    assert not {registrable_domain(d) for d in RELEVANT} & domains


# -- mentions, broken links, referring IPs ----------------------------------------------------


def test_unlinked_mentions(audit: SimpleNamespace) -> None:
    unlinked = {r["url"] for r in linkgraph.mentions(audit.gen1, BRAND, exclude_linking=DOMAIN)}
    assert unlinked == {url(audit, u) for u in MENTIONS[1].unlinked}
    every = {r["url"]: r for r in linkgraph.mentions(audit.gen1, BRAND, limit=None)}
    assert {url(audit, u) for u in MENTIONS[1].linked} <= set(every)
    assert all("[" in r["snippet"] for r in every.values())


def test_broken_links_in_scope(audit: SimpleNamespace) -> None:
    found = {(r["source"], r["target"], r["status"]) for r in linkgraph.broken(audit.gen1)}
    assert {(url(audit, b.source), url(audit, b.target), b.status) for b in BROKEN_LINKS} <= found
    into_target = linkgraph.broken(audit.gen1, DOMAIN)
    assert {r["target"] for r in into_target} == {
        url(audit, b.target)
        for b in BROKEN_LINKS
        if registrable_domain(host_of(url(audit, b.target))) == DOMAIN
    }


def test_check_external_uses_head_under_the_same_politeness(audit: SimpleNamespace) -> None:
    records = {r["target"]: r for r in linkgraph.broken(audit.checked)}
    for link in EXTERNAL_LINKS:
        target = url(audit, link.target)
        if link.status is None:
            assert records[target]["error"] == "connect"
        elif link.status >= 400:
            assert records[target]["status"] == link.status
        else:
            assert target not in records
    hits = [h for h in audit.check_log if h.site == EXTERNAL]
    assert hits[0].path == "/robots.txt"  # robots.txt first, as for any crawl
    methods = Counter((h.path, h.method) for h in hits[1:])
    assert methods[("/no-head", "HEAD")] == 1 and methods[("/no-head", "GET")] == 1
    assert all(m in ("HEAD", "GET") for _, m in methods)
    times = [h.time for h in hits]
    assert all(b - a >= audit.settings.delay - 0.02 for a, b in itertools.pairwise(times))
    stats = linkgraph.stats(audit.checked)
    assert (
        stats["pages"]["links_checked"]
        and stats["pages"]["fetched"] == linkgraph.stats(audit.gen1)["pages"]["fetched"]
    )


def test_check_external_without_the_crawls_hosts_file_is_one_clear_error(
    audit: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The crawl pinned its names with a hosts file; once that file is gone, checking would
    # resolve the names some other way. It must stop with one line and change nothing.
    from linkgraph.cli import main

    copy = tmp_path / "copy.db"
    shutil.copy(audit.checked, copy)
    before = linkgraph.broken(copy)
    hosts = Path(audit.settings.hosts_file)
    hosts.rename(hosts.with_suffix(".away"))
    try:
        code = main(["broken", "--db", str(copy), "--check-external"])
    finally:
        hosts.with_suffix(".away").rename(hosts)
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "no longer exists" in err and "Traceback" not in err
    assert linkgraph.broken(copy) == before


def test_referring_domains_carry_ips_and_subnets(audit: SimpleNamespace) -> None:
    records = linkgraph.referring_domains(audit.gen1, DOMAIN)
    assert records
    for r in records:
        assert r["ips"] and all(ip.startswith("127.77.") for ip in r["ips"])
        assert all(net.endswith(".0/24") for net in r["subnets"])


@pytest.mark.parametrize(
    "argv",
    [
        ["anchors", DOMAIN, "--classify", "--brand", BRAND, "--keyword", KEYWORDS[0]],
        ["backlinks", DOMAIN, "--quality", "--keyword", KEYWORDS[0]],
        ["changes", DOMAIN],
        ["broken"],
        ["toxic", DOMAIN, "--keyword", KEYWORDS[0]],
        ["mentions", BRAND, "--exclude-linking", DOMAIN],
        ["referring-domains", DOMAIN],
    ],
)
@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_audit_commands_print_every_format(
    audit: SimpleNamespace, argv: list[str], fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from linkgraph.cli import main

    code = main([*argv, "--db", str(audit.gen2), "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 0, err
    if fmt == "json":
        json.loads(out)
    elif fmt == "csv":
        assert out.splitlines()[0].count(",") >= 1
    else:
        assert out.strip()
