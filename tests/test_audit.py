"""The backlink audit against a live demo web, crawled twice (generation 1, then 2 with --refresh):
anchors, quality, toxicity, disavow, mentions, broken links, referring IPs, output formats.
The recrawl history is in test_audit_history.py; the crawls in ``tests/audit_support.py``.

Expected answers come from the demo web's own ground truth (``linkgraph.demo.truth``:
``CHANGES``, ``MENTIONS``, ``BROKEN_LINKS``, ``EXTERNAL_LINKS``, ``FARM``...), never from
the code under test.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from audit_support import DOMAIN, PROFILE, url
from linkgraph.graph.anchors import AnchorProfile, anchor_shares, classify_anchor
from linkgraph.storage.identity import host_of, registrable_domain

import linkgraph
from linkgraph.demo import (
    BRAND,
    BROKEN_LINKS,
    EXTERNAL,
    EXTERNAL_LINKS,
    FARM,
    KEYWORDS,
    MENTIONS,
    RECIPROCAL,
    RELEVANT,
    SITEWIDE,
)
from linkgraph.disavow import validate_disavow

pytestmark = pytest.mark.timeout(240)


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
