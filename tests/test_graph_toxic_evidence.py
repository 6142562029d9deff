"""graph/toxic.py's evidence builder: from links into a target to DomainEvidence, by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from linkgraph.graph.anchors import AnchorProfile
from linkgraph.graph.toxic import (
    LINK_PAGE_OUTLINKS,
    DomainLinks,
    domain_evidence,
    domain_graph_signals,
    domain_links,
    is_sitewide,
    toxic_score,
)
from linkgraph.storage.audit import BacklinkDetail
from linkgraph.storage.vocab import FLAG_IMAGE

PROFILE = AnchorProfile(brands=("Acme",), keywords=("blue widgets",))


def link(
    source_id: int,
    target_id: int,
    anchor: str,
    placement: str,
    domain_id: int,
    outlinks: int | None,
) -> BacklinkDetail:
    """A stored link (storage's own record, which graph.toxic.LinkFacts describes)."""
    return BacklinkDetail(
        source_id, target_id, f"http://d{domain_id}.test/{source_id}", "http://t.test/", anchor,
        [], 0, placement, None, None, domain_id, f"d{domain_id}.test", outlinks, None, None,
    )  # fmt: skip


def test_sitewide_needs_more_than_the_share_of_enough_pages() -> None:
    assert is_sitewide(3, 5, 0.5)
    assert not is_sitewide(2, 4, 0.5)  # half is not more than half
    assert not is_sitewide(2, 2, 0.5)  # two pages are too few to call anything sitewide
    assert is_sitewide(2, 3, 0.5)


def test_domain_links_group_by_domain_and_count_each_signal_once() -> None:
    links = [
        # Domain 1: an exact anchor from an unrelated page, and the same pair again.
        link(10, 1, "blue widgets", "content", 1, 5),
        link(10, 1, "blue widgets", "footer", 1, 5),
        # Domain 1 again: exact anchor but related (0.5), from a link page.
        link(11, 1, "blue widgets", "footer", 1, LINK_PAGE_OUTLINKS),
        # Domain 2: a brand anchor, an exact anchor with unknown relevance, an image.
        link(20, 1, "Acme", "content", 2, None),
        link(21, 2, "blue widgets", "content", 2, 99),
        dataclasses.replace(link(22, 2, "blue widgets", "content", 2, 1), flags=FLAG_IMAGE),
    ]
    relevance = {(10, 1): 0.05, (11, 1): 0.5, (22, 2): 0.0}
    grouped = domain_links(links, anchors=PROFILE, relevance=relevance)
    a, b = grouped[1], grouped[2]
    assert (a.domain, b.domain) == ("d1.test", "d2.test")
    assert a.backlinks == {(10, 1), (11, 1)}
    assert a.exact_unrelated == 2  # both links of pair (10, 1) count
    assert a.footer_pages == {10, 11}
    assert a.outlinks == [5, 5, LINK_PAGE_OUTLINKS]
    assert a.link_pages == {"http://d1.test/11"}
    assert b.backlinks == {(20, 1), (21, 2), (22, 2)}
    assert b.exact_unrelated == 0  # (21, 2) has no relevance; (22, 2) is an image anchor
    assert b.outlinks == [99, 1] and b.link_pages == set()


def test_domain_graph_signals_count_triangles_and_linking_domains() -> None:
    # 0, 1, 2 link to each other both ways; 3 links to 0; nobody links to 3.
    rows = [0, 1, 1, 2, 2, 0, 3]
    cols = [1, 0, 2, 1, 0, 2, 0]
    a = sp.csr_array((np.full(7, 4), (rows, cols)), shape=(4, 4))  # values: link counts
    triangles, inbound = domain_graph_signals(a)
    assert triangles.tolist() == [1, 1, 1, 0]
    assert inbound.tolist() == [3, 2, 2, 0]


def test_domain_evidence_from_links_and_domain_facts() -> None:
    links = DomainLinks(
        "spam-farm.test",
        backlinks={(1, 9), (2, 9), (3, 9)},
        exact_unrelated=2,
        footer_pages={1, 2, 3},
        outlinks=[100, 300, 150, 10],
    )
    e = domain_evidence(
        links,
        domain_pages=4,
        triangles=2,
        inbound_domains=0,
        reciprocal=True,
        authority=12.5,
        sitewide_share=0.5,
    )
    assert (e.domain, e.backlinks, e.triangles, e.exact_unrelated) == ("spam-farm.test", 3, 2, 2)
    assert e.sitewide_footer  # 3 of 4 pages
    assert e.median_outlinks == 125  # median of 10, 100, 150, 300
    assert (e.reciprocal, e.inbound_domains, e.authority) == (True, 0, 12.5)
    # 30 link-farm + 10 reciprocal + 20 exact + 15 footer + 20 link page + 15 no inbound.
    assert toxic_score(e).score == 100


def test_domain_evidence_of_a_domain_without_outlink_counts() -> None:
    e = domain_evidence(
        DomainLinks("a.test", footer_pages={1}),
        domain_pages=1,
        triangles=0,
        inbound_domains=3,
        reciprocal=False,
        authority=None,
        sitewide_share=0.5,
    )
    assert e.median_outlinks == 0.0
    assert not e.sitewide_footer  # one page: too small to be sitewide
