"""Link quality: one documented 0-100 score per backlink, shown with its parts.

Each part is a number from 0 to 1; the score is their weighted sum times 100:

=============  ======  ===========================================================
part           weight  value
=============  ======  ===========================================================
authority      0.30    the linking *domain's* authority / 100 (0 when not ranked)
relevance      0.25    TF-IDF cosine of source and target page texts; 0.5 when
                       either text is unknown
follow         0.20    1 for a followable link; 0 for nofollow, sponsored or ugc
placement      0.10    content 1.0, sidebar 0.5, header 0.4, nav 0.4, footer 0.3,
                       comments 0.2
dilution       0.10    1 up to 20 outbound links on the source page, then 20/n
sitewide       0.05    1, or 0.3 when the source domain links the target from more
                       than ``sitewide_share`` of its crawled pages
=============  ======  ===========================================================

Why the domain's authority and not the page's: page-level PageRank counts a site's links
to itself, so a site that links its own pages in circles (a link farm's hundreds of thin
pages) inflates its pages' scores; the domain graph has one edge per pair of domains and
is immune to that. Relevance weighs next because a link between pages about the same
thing is what an editor gives and a farm does not. The weights are a triage aid for a
human, not a search engine's formula.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PLACEMENT_VALUE", "WEIGHTS", "LinkQuality", "link_quality"]

WEIGHTS = {
    "authority": 0.30,
    "relevance": 0.25,
    "follow": 0.20,
    "placement": 0.10,
    "dilution": 0.10,
    "sitewide": 0.05,
}
PLACEMENT_VALUE = {
    "content": 1.0,
    "sidebar": 0.5,
    "header": 0.4,
    "nav": 0.4,
    "footer": 0.3,
    "comments": 0.2,
}
_DILUTION_FREE = 20


@dataclass(frozen=True, slots=True)
class LinkQuality:
    score: float
    parts: dict[str, float]


def link_quality(
    *,
    domain_authority: float | None,
    follow: bool,
    placement: str,
    relevance: float | None,
    outlinks: int | None,
    sitewide: bool,
) -> LinkQuality:
    """The quality of one backlink.

    ``domain_authority`` is the linking registrable domain's 0-100 authority.

    >>> q = link_quality(domain_authority=80, follow=True, placement="content",
    ...                  relevance=0.6, outlinks=10, sitewide=False)
    >>> q.score  # 100 * (.30*.8 + .25*.6 + .20 + .10 + .10 + .05)
    84.0
    >>> link_quality(domain_authority=80, follow=False, placement="footer", relevance=None,
    ...              outlinks=400, sitewide=True).score
    41.5
    """
    parts = {
        "authority": max(0.0, min(1.0, (domain_authority or 0.0) / 100.0)),
        "follow": 1.0 if follow else 0.0,
        "placement": PLACEMENT_VALUE.get(placement, 0.5),
        "relevance": 0.5 if relevance is None else max(0.0, min(1.0, relevance)),
        "dilution": 1.0
        if not outlinks or outlinks <= _DILUTION_FREE
        else _DILUTION_FREE / outlinks,
        "sitewide": 0.3 if sitewide else 1.0,
    }
    score = round(100.0 * sum(WEIGHTS[k] * v for k, v in parts.items()), 1)
    return LinkQuality(score, {k: round(v, 3) for k, v in parts.items()})
