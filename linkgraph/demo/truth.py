"""The ground truth of the demo web's backlink-audit corner: what a crawl must find.

The audit sites themselves are written in :mod:`linkgraph.demo.audit`; this module holds
their facts, which do not depend on the size or seed of the generated web. The brand to
audit is :data:`BRAND` ("Acme Shoes", keywords :data:`KEYWORDS`) at :data:`TARGET`.

Generation 2 (``generate(..., generation=2)``) is the same web three months later. Only the
pages of :data:`CHANGES` differ: they get a new body, so a new ETag, and ``Last-Modified``
``GENERATION_DATES[2]``; every other page keeps both, so it answers 304 to a conditional
request made with what generation 1 served. :data:`CHANGES` names its reasons as
``storage.records.LOST_REASONS`` does, plus ``new``; a page-level reason (every link of the
page stops counting) has ``target=None``.

More ground truth than ``expected_edges``: :data:`MENTIONS` (pages naming the brand, with
and without a link to the target), :data:`BROKEN_LINKS` (in-scope links to 4xx pages) and
:data:`EXTERNAL_LINKS` (what checking the out-of-scope links must find). URLs hold
``PORT_TOKEN``; :func:`fill` puts a port in.

:func:`audit_facts` counts the audit content of a generated web, for ``describe``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from linkgraph.crawler.urls import registrable_domain

from .model import (
    PORT_TOKEN,
    DemoPage,
    DemoSite,
    decompress,
    expected_edges,
    header_value,
    host_of_url,
    site_url,
)

__all__ = [
    "BRAND",
    "BROKEN_LINKS",
    "CHANGES",
    "EXTERNAL",
    "EXTERNAL_LINKS",
    "FARM",
    "KEYWORDS",
    "MENTIONS",
    "NEW_REFERRER",
    "RECIPROCAL",
    "REFUSED",
    "RELEVANT",
    "SITEWIDE",
    "TARGET",
    "UNRELATED",
    "BrokenLink",
    "Change",
    "Mentions",
    "audit_facts",
    "fill",
]

BRAND = "Acme Shoes"
KEYWORDS = ("running shoes", "trail running shoes")
TARGET = "www.acme-shoes.test"
FARM = (
    "www.cheap-casino-links-24.test",
    "www.seo-backlink-farm.test",
    "www.best-cheap-links-4u.test",
    "www.top-seo-directory-99.test",
    "www.buy-backlinks-now.test",
)
SITEWIDE = "www.marathon-club.test"  # links the target from the footer of every page
RECIPROCAL = "www.runners-weekly.test"  # links the target, and the target links back
NEW_REFERRER = "www.healthy-living.test"  # first links the target in generation 2
EXTERNAL = "www.old-stockist.test"  # out of scope; answers 200, 404, 410, 405 to HEAD
REFUSED = "www.defunct-retailer.test"  # out of scope, in the hosts file, refuses
# Linking sites whose text is about running (relevant to the target), and sites about
# something else entirely (cooking, casinos): TF-IDF relevance should tell them apart.
RELEVANT = (RECIPROCAL, "www.trail-tips.test", SITEWIDE, "www.fitness-forum.test", NEW_REFERRER)
UNRELATED = ("www.recipe-corner.test", *FARM)

# Short names for the audit hosts, in the URLs below and in the markup of the audit pages
# (linkgraph.demo.audit): "[anchor](rw:/path)".
ALIASES = {
    "acme": TARGET,
    "rw": RECIPROCAL,
    "tt": "www.trail-tips.test",
    "mc": SITEWIDE,
    "cn": "www.city-news.test",
    "rc": "www.recipe-corner.test",
    "ff": "www.fitness-forum.test",
    "gd": "www.gear-deals.test",
    "hl": NEW_REFERRER,
    "old": EXTERNAL,
    "defunct": REFUSED,
} | {f"farm{i}": name for i, name in enumerate(FARM)}


def _url(key: str, path: str = "/") -> str:
    return site_url(ALIASES[key], path)


def fill(url: str, port: int | str) -> str:
    """``url`` with :data:`~linkgraph.demo.model.PORT_TOKEN` replaced by ``port``."""
    return url.replace(PORT_TOKEN, str(port))


class Change(NamedTuple):
    """One intended difference between generation 1 and generation 2.

    ``reason``: ``new`` (a link added), ``removed`` (a link taken off a page that still
    counts), or a page-level reason of ``storage.records.LOST_REASONS`` with ``target``
    ``None``: every link of the page stops counting.
    """

    source: str
    target: str | None
    reason: str
    note: str


CHANGES: tuple[Change, ...] = (
    Change(
        _url("rw", "/reviews/best-running-shoes"),
        _url("acme", "/running-shoes"),
        "removed",
        "the exact-match content link was edited out of the review",
    ),
    Change(_url("tt", "/posts/first-trail-race"), None, "page-404", "the post was deleted"),
    Change(_url("cn", "/2024/acme-store-opening"), None, "page-410", "the story was withdrawn"),
    Change(_url("gd", "/deals/acme-summer"), None, "page-redirects", "301 to /deals/"),
    Change(_url("ff", "/threads/shoe-advice"), None, "page-noindex", "meta robots noindex"),
    Change(
        _url("rw", "/reviews/trail-shoes"),
        None,
        "canonical-moved",
        "its canonical now names /reviews/best-running-shoes",
    ),
    Change(_url("mc", "/events"), None, "fetch-error", "the page answers 500"),
    Change(
        _url("hl", "/articles/start-running"),
        _url("acme", "/running-shoes"),
        "new",
        "a new referring domain: healthy-living.test never linked the target before",
    ),
    Change(
        _url("tt"),
        _url("acme", "/trail-running-shoes"),
        "new",
        "a new link from a domain that already linked the target",
    ),
)


class Mentions(NamedTuple):
    """The pages of other domains whose visible text names :data:`BRAND` (200 HTML pages,
    noindex or not): ``linked`` also link to the target's domain, ``unlinked`` do not."""

    linked: tuple[str, ...]
    unlinked: tuple[str, ...]


_UNLINKED = (
    _url("tt", "/posts/gear-list"),
    _url("cn", "/2024/marathon-road-closures"),
    _url("rc", "/recipes/banana-bread"),
    _url("ff", "/threads/marathon-training"),
)
_LINKED = (
    _url("rw"),
    _url("rw", "/reviews/trail-shoes"),
    *(_url("mc", p) for p in ("/", "/events", "/results", "/join", "/about")),
    _url("cn", "/2024/acme-store-opening"),
    _url("ff", "/threads/shoe-advice"),
    _url("gd", "/deals/acme-summer"),
)
_SILENT = {c.source for c in CHANGES if c.reason in ("page-404", "page-410", "page-redirects")}
_SILENT.add(_url("mc", "/events"))  # answers 500 in generation 2: no text either
MENTIONS = {
    1: Mentions(_LINKED, _UNLINKED),
    2: Mentions(
        (
            *(u for u in _LINKED if u not in _SILENT),
            _url("hl", "/articles/start-running"),
            _url("tt"),
        ),
        _UNLINKED,
    ),
}
"""The brand mentions of each generation."""


class BrokenLink(NamedTuple):
    """A link and what its target answers: ``status`` (``None``: connection refused)."""

    source: str
    target: str
    status: int | None
    note: str = ""


BROKEN_LINKS = (
    BrokenLink(_url("rw"), _url("acme", "/summer-sale"), 404, "a broken backlink"),
    BrokenLink(_url("gd", "/deals/"), _url("acme", "/old-catalogue"), 410, "a broken backlink"),
    BrokenLink(
        _url("acme", "/blog/choosing-running-shoes"),
        _url("rw", "/reviews/2019-shoe-guide"),
        404,
        "a broken outbound link of the target",
    ),
)
"""In-scope links of the audit sites to pages that answer 4xx (both generations)."""

_STOCKISTS = _url("acme", "/stockists")
EXTERNAL_LINKS = (
    BrokenLink(_STOCKISTS, _url("old"), 200),
    BrokenLink(_STOCKISTS, _url("old", "/shop"), 200),
    BrokenLink(_STOCKISTS, _url("old", "/closed"), 404),
    BrokenLink(_STOCKISTS, _url("old", "/gone"), 410),
    BrokenLink(_STOCKISTS, _url("old", "/no-head"), 200, "HEAD answers 405: check with GET"),
    BrokenLink(_STOCKISTS, _url("defunct"), None, "connection refused"),
)
"""The target's links to out-of-scope hosts, and what checking each must find."""


# Counts for describe() ------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]*>")


def _visible_text(page: DemoPage) -> str:
    response = page.responses[-1]
    ctype = header_value(response.headers, "Content-Type") or ""
    if response.status != 200 or not ctype.startswith("text/html"):
        return ""
    encoding = header_value(response.headers, "Content-Encoding") or "identity"
    charset = ctype.split("charset=")[1] if "charset=" in ctype else "utf-8"
    html = decompress(response.body, encoding).decode(charset, "replace")
    return _TAG.sub(" ", html.partition("<body")[2])


def audit_facts(sites: Sequence[DemoSite]) -> dict[str, Any]:
    """Counts of the audit content among ``sites`` (zeros where there is none).

    ``broken_links`` counts every link to a demo host that answers 4xx or 5xx or refuses.
    """
    by_name = {s.name: s for s in sites}
    target = registrable_domain(TARGET)

    def domain(url: str) -> str:
        return registrable_domain(host_of_url(url))

    edges = [(src, ln) for src, ln in expected_edges(sites) if ln.kind == "link"]
    into = [(s, ln) for s, ln in edges if domain(ln.target) == target != domain(s)]
    linking = {s for s, _ in into}
    mentions = [
        site_url(site.name, page.path)
        for site in sites
        if registrable_domain(site.name) != target
        for page in site.pages.values()
        if BRAND in _visible_text(page)
    ]
    broken = 0
    for _, link in edges:
        site = by_name.get(host_of_url(link.target))
        if site is None:
            continue  # a real site outside the demo web: never fetched
        path = "/" + link.target.split("/", 3)[3]
        page = site.pages.get(path) if site.listening else None
        if page is None and site.listening and site.fallback is not None:
            page = site.fallback(path)
        broken += page is None or page.responses[-1].status >= 400
    return {
        "farm_sites": sum(s.note == "link-farm" for s in sites),
        "target_backlinks": len(into),
        "target_referring_domains": len({domain(s) for s in linking}),
        "brand_mentions": len(mentions),
        "unlinked_mentions": sum(m not in linking for m in mentions),
        "broken_links": broken,
        "pages_without_validators": sum(not p.validators for s in sites for p in s.pages.values()),
    }
