"""Toxic-link triage: heuristic signals per referring domain, a score, and the reasons.

This is triage for a human, not a verdict: each signal is a pattern that link spam often
shows and that honest sites sometimes show too. The score adds the weights of the signals
that fire, capped at 100, and always comes with its reasons.

=========================  ======  ====================================================
signal                     weight  fires when
=========================  ======  ====================================================
``link-farm``              30      the domain is in a triangle of domains that all link
                                   to each other both ways (a clique of mutual links)
``reciprocal``             10      the target's domain links back to it
``exact-anchor-unrelated`` 20      it links with an exact-match anchor from a page whose
                                   text is unrelated to the target (TF-IDF cosine < 0.1)
``sitewide-footer``        15      it links from the footer of more than the sitewide
                                   share of its crawled pages
``link-page``              20      its linking pages carry 100 or more outbound links
                                   (median)
``no-inbound-authority``   15      no other registrable domain links to it
``spammy-name``            10/20   one / two or more name patterns: many digits or
                                   hyphens, a very long name, a cheap TLD often abused,
                                   or a spam keyword
=========================  ======  ====================================================
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp

from .anchors import AnchorProfile, classify_anchor

__all__ = [
    "LINK_PAGE_OUTLINKS",
    "MIN_SITEWIDE_PAGES",
    "SIGNAL_WEIGHTS",
    "UNRELATED",
    "DomainEvidence",
    "DomainLinks",
    "LinkFacts",
    "ToxicScore",
    "domain_evidence",
    "domain_graph_signals",
    "domain_links",
    "is_sitewide",
    "mutual_triangles",
    "spammy_name_reasons",
    "toxic_score",
]

SIGNAL_WEIGHTS = {
    "link-farm": 30,
    "reciprocal": 10,
    "exact-anchor-unrelated": 20,
    "sitewide-footer": 15,
    "link-page": 20,
    "no-inbound-authority": 15,
    "spammy-name": 10,
}
LINK_PAGE_OUTLINKS = 100  # a page with this many outbound links is a link page
UNRELATED = 0.1  # TF-IDF cosine below which a linking page is "unrelated" to the target
MIN_SITEWIDE_PAGES = 3  # a domain needs this many crawled pages for "sitewide" to mean anything

# Cheap TLDs that abuse reports single out (Spamhaus, SURBL lists); a signal, not proof.
_ABUSED_TLDS = frozenset(
    "xyz top click loan work gq tk ml cf ga bid win date racing download review stream "
    "country kim science party trade webcam men accountant faith cricket".split()
)
_SPAM_WORDS = (
    "casino",
    "poker",
    "viagra",
    "cialis",
    "payday",
    "loan",
    "replica",
    "escort",
    "porn",
    "xxx",
    "seo",
    "backlink",
    "linkfarm",
    "cheap",
    "bet",
    "slots",
    "pills",
    "pharma",
)


def spammy_name_reasons(domain: str) -> list[str]:
    """Patterns in a registrable domain name that link spam often shows.

    >>> spammy_name_reasons("best-cheap-casino-bonus-4u.xyz")
    ['many hyphens', 'abused TLD .xyz', 'spam word "casino"', 'spam word "cheap"']
    >>> spammy_name_reasons("example.org")
    []
    """
    label, _, tld = domain.lower().rpartition(".")
    name = label or tld
    reasons = []
    if sum(c.isdigit() for c in name) >= 4:
        reasons.append("many digits")
    if name.count("-") >= 3:
        reasons.append("many hyphens")
    if len(name) > 30:
        reasons.append("very long name")
    if tld in _ABUSED_TLDS and label:
        reasons.append(f"abused TLD .{tld}")
    words = re.split(r"[-.\d]+", name)
    for word in _SPAM_WORDS:
        if word in name and (word in words or len(word) >= 5):
            reasons.append(f'spam word "{word}"')
    return reasons


def mutual_triangles(adjacency: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per node: triangles of mutual links it is in, and its number of mutual partners.

    ``adjacency`` is a square sparse matrix (rows are sources) of a domain graph. Two
    domains are mutual partners when each links to the other; a triangle is three
    domains that are pairwise partners, the smallest link farm.

    >>> import scipy.sparse as sp
    >>> a = sp.csr_array(([1] * 8, ([0, 1, 1, 2, 2, 0, 3, 0], [1, 0, 2, 1, 0, 2, 0, 3])), shape=(4, 4))
    >>> tri, partners = mutual_triangles(a)
    >>> tri.tolist(), partners.tolist()
    ([1, 1, 1, 0], [3, 2, 2, 1])
    """
    a = sp.csr_array(adjacency, dtype=np.float64)
    a.data[:] = 1.0
    a.setdiag(0)
    a.eliminate_zeros()
    mutual = sp.csr_array(a.multiply(a.T))
    partners = np.asarray(mutual.sum(axis=1)).ravel().astype(np.int64)
    # (M @ M) * M counts, per node, twice the triangles through it.
    triangles = np.asarray((mutual @ mutual).multiply(mutual).sum(axis=1)).ravel() / 2
    return triangles.astype(np.int64), partners


@dataclass(slots=True)
class DomainEvidence:
    """What the store knows about one referring domain, as the signals need it."""

    domain: str
    backlinks: int = 0
    triangles: int = 0
    reciprocal: bool = False
    exact_unrelated: int = 0
    sitewide_footer: bool = False
    median_outlinks: float = 0.0
    inbound_domains: int = 0
    authority: float | None = None


@dataclass(slots=True)
class ToxicScore:
    domain: str
    score: int
    reasons: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)


def toxic_score(e: DomainEvidence) -> ToxicScore:
    """Score one referring domain from its evidence (see the module table).

    >>> toxic_score(DomainEvidence("spam-link-farm-123.xyz", backlinks=3, triangles=2,
    ...             median_outlinks=250, inbound_domains=0)).score
    85
    """
    fired: list[tuple[str, str]] = []
    if e.triangles > 0:
        fired.append(
            ("link-farm", f"in {e.triangles} triangle(s) of domains all linking to each other")
        )
    if e.reciprocal:
        fired.append(("reciprocal", "the target links back to it"))
    if e.exact_unrelated > 0:
        fired.append(
            (
                "exact-anchor-unrelated",
                f"{e.exact_unrelated} exact-match anchor(s) from unrelated pages",
            )
        )
    if e.sitewide_footer:
        fired.append(("sitewide-footer", "sitewide footer link"))
    if e.median_outlinks >= LINK_PAGE_OUTLINKS:
        fired.append(
            ("link-page", f"linking pages carry {e.median_outlinks:.0f} outbound links (median)")
        )
    if e.inbound_domains == 0:
        fired.append(("no-inbound-authority", "no other domain links to it"))
    score = sum(SIGNAL_WEIGHTS[name] for name, _ in fired)
    names = spammy_name_reasons(e.domain)
    if names:
        score += SIGNAL_WEIGHTS["spammy-name"] * (2 if len(names) >= 2 else 1)
        fired.append(("spammy-name", "name: " + ", ".join(names)))
    return ToxicScore(
        e.domain, min(100, score), [reason for _, reason in fired], [name for name, _ in fired]
    )


# -- evidence: from the stored links into a target to one DomainEvidence per domain -------


class LinkFacts(Protocol):
    """What the evidence reads of one link into the target (``storage.audit``'s
    ``BacklinkDetail`` is one)."""

    source_id: int
    target_id: int
    source: str
    anchor: str
    placement: str
    source_domain_id: int
    source_domain: str
    source_outlinks: int | None

    @property
    def image(self) -> bool: ...


@dataclass(slots=True)
class DomainLinks:
    """One referring domain's links into the target, as the signals need them."""

    domain: str
    backlinks: set[tuple[int, int]] = field(default_factory=set)
    exact_unrelated: int = 0
    footer_pages: set[int] = field(default_factory=set)
    outlinks: list[int] = field(default_factory=list)
    link_pages: set[str] = field(default_factory=set)


def is_sitewide(pages: int, domain_pages: int, share: float) -> bool:
    """Whether a link from ``pages`` of a domain's ``domain_pages`` crawled pages is
    sitewide: on more than ``share`` of them, and the domain big enough to tell.

    >>> is_sitewide(3, 4, 0.5), is_sitewide(2, 4, 0.5), is_sitewide(2, 2, 0.5)
    (True, False, False)
    """
    return domain_pages >= MIN_SITEWIDE_PAGES and pages > share * domain_pages


def domain_links(
    links: Iterable[LinkFacts],
    *,
    anchors: AnchorProfile,
    relevance: Mapping[tuple[int, int], float],
) -> dict[int, DomainLinks]:
    """Group the links into a target by their source's registrable domain id.

    ``relevance`` holds the TF-IDF cosine of (source page, target page) pairs whose
    texts are known; an exact-match anchor from a pair below :data:`UNRELATED` counts.

    >>> from types import SimpleNamespace as Link
    >>> link = Link(source_id=1, target_id=9, source="http://s.test/", anchor="blue widgets",
    ...             image=False, placement="footer", source_domain_id=4,
    ...             source_domain="s.test", source_outlinks=120)
    >>> d = domain_links([link], anchors=AnchorProfile(keywords=("blue widgets",)),
    ...                  relevance={(1, 9): 0.02})[4]
    >>> d.exact_unrelated, sorted(d.footer_pages), sorted(d.link_pages)
    (1, [1], ['http://s.test/'])
    """
    grouped: dict[int, DomainLinks] = {}
    for d in links:
        f = grouped.get(d.source_domain_id)
        if f is None:
            f = grouped[d.source_domain_id] = DomainLinks(d.source_domain)
        f.backlinks.add((d.source_id, d.target_id))
        if d.source_outlinks is not None:
            f.outlinks.append(d.source_outlinks)
            if d.source_outlinks >= LINK_PAGE_OUTLINKS:
                f.link_pages.add(d.source)
        cls = classify_anchor(d.anchor, image=d.image, profile=anchors)
        rel = relevance.get((d.source_id, d.target_id))
        if cls == "exact" and rel is not None and rel < UNRELATED:
            f.exact_unrelated += 1
        if d.placement == "footer":
            f.footer_pages.add(d.source_id)
    return grouped


def domain_graph_signals(adjacency: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per domain of a domain graph: its mutual-link triangles and how many other
    domains link to it.

    >>> import scipy.sparse as sp
    >>> a = sp.csr_array(([1, 1, 1, 1, 1, 1, 1], ([0, 1, 1, 2, 2, 0, 3], [1, 0, 2, 1, 0, 2, 0])),
    ...                  shape=(4, 4))
    >>> triangles, inbound = domain_graph_signals(a)
    >>> triangles.tolist(), inbound.tolist()
    ([1, 1, 1, 0], [3, 2, 2, 0])
    """
    triangles, _ = mutual_triangles(adjacency)
    inbound = np.asarray((sp.csr_array(adjacency) > 0).sum(axis=0)).ravel()
    return triangles, inbound


def domain_evidence(
    links: DomainLinks,
    *,
    domain_pages: int,
    triangles: int,
    inbound_domains: int,
    reciprocal: bool,
    authority: float | None,
    sitewide_share: float,
) -> DomainEvidence:
    """The evidence :func:`toxic_score` reads, from a domain's links and what the store
    knows of the domain: its crawled pages, its place in the domain graph, whether the
    target links back, its authority.

    >>> e = domain_evidence(DomainLinks("s.test", outlinks=[10, 300, 200]), domain_pages=0,
    ...                     triangles=0, inbound_domains=2, reciprocal=False, authority=None,
    ...                     sitewide_share=0.5)
    >>> e.median_outlinks, e.sitewide_footer
    (200, False)
    """
    return DomainEvidence(
        domain=links.domain,
        backlinks=len(links.backlinks),
        triangles=triangles,
        reciprocal=reciprocal,
        exact_unrelated=links.exact_unrelated,
        sitewide_footer=is_sitewide(len(links.footer_pages), domain_pages, sitewide_share),
        median_outlinks=statistics.median(links.outlinks) if links.outlinks else 0.0,
        inbound_domains=inbound_domains,
        authority=authority,
    )
