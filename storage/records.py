"""The plain records that cross the store's seams, whichever backend is behind them.

``Page``, ``Link`` and ``QueueItem`` are the whole contract between ``crawler/`` and
``storage/``: the crawler fills them, the store's writer persists them, and nothing else
crosses that seam. ``Target`` and ``BacklinkDetail`` are what the audits read back through
:class:`~.interface.AuditReader` (its link graph, ``GraphArrays``, is graph's own
``LinkArrays`` record, which :mod:`.graphload` fills and :mod:`.interface` re-exports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .vocab import FLAG_IMAGE, FLAG_INTERNAL, NOT_FOLLOW_FLAGS, NOT_FOLLOW_RELS, REL_FLAGS

__all__ = [
    "DOMAIN_FIELDS",
    "KINDS",
    "LOST_REASONS",
    "NOT_FOLLOW_RELS",
    "PLACEMENTS",
    "BacklinkDetail",
    "Link",
    "Page",
    "QueueItem",
    "Target",
    "link_flags",
]

# Stored as small integers: the index in these tuples.
PLACEMENTS = ("content", "nav", "header", "footer", "sidebar", "comments")
KINDS = ("link", "redirect", "canonical")
# Why a link stopped counting, found when its source page was fetched again.
LOST_REASONS = (
    "removed",  # the page no longer carries it
    "page-404",
    "page-410",
    "page-redirects",  # the page now redirects elsewhere
    "page-noindex",  # the page now says noindex
    "canonical-moved",  # the page now names another URL as canonical
    "fetch-error",  # no usable answer: network error, 5xx, other 4xx
)

# The fields of a referring-domains record (``lost_at``/``lost_reason`` added with lost links).
DOMAIN_FIELDS = (
    "domain",
    "backlinks",
    "follow_backlinks",
    "first_seen",
    "last_seen",
    "authority",
    "ips",
    "subnets",
)


class Link(NamedTuple):
    """One link found on a page (or a redirect hop, or a canonical declaration).

    A named tuple, not a dataclass: a crawl builds one per link on its event-loop thread,
    tens per page, and a tuple is built in C (``tuple.__new__(Link, fields)``, what
    :mod:`linkgraph.crawler.parsing` does with a worker's answer) at a sixth of the cost
    of a frozen dataclass's ``__init__``. Immutable and compared by value, as before.
    """

    target: str
    anchor: str = ""
    rel: tuple[str, ...] = ()
    placement: str = "content"
    image: bool = False
    kind: str = "link"

    @property
    def follow(self) -> bool:
        """False when rel holds nofollow, sponsored or ugc."""
        return not NOT_FOLLOW_RELS.intersection(self.rel)


def link_flags(link: Link, *, internal: bool = False) -> int:
    """The links.flags bits of one link (``vocab.FLAG_*``)."""
    flags = FLAG_IMAGE if link.image else 0
    for rel in link.rel:
        flags |= REL_FLAGS.get(rel, 0)
    return flags | (FLAG_INTERNAL if internal else 0)


@dataclass(slots=True)
class Page:
    """The outcome of fetching one URL, successful or not.

    ``status`` is the HTTP status, ``None`` when no response arrived; then ``error`` names
    what happened (``timeout``, ``dns``, ``connect``, ``blocked-address``, ``too-large``...).
    ``final_url`` is the redirect target for a 3xx, else the URL itself.
    """

    url: str
    depth: int
    fetched_at: float
    status: int | None = None
    error: str | None = None
    final_url: str | None = None
    content_type: str | None = None
    title: str | None = None
    lang: str | None = None
    canonical: str | None = None
    noindex: bool = False
    nofollow: bool = False
    size: int = 0
    elapsed: float = 0.0
    etag: str | None = None
    last_modified: str | None = None
    text: str | None = None
    not_modified: bool = False  # a conditional refetch answered 304: nothing changed
    checked_only: bool = False  # a link check (HEAD), not a crawl of the page
    # (hash, host, registrable domain) of link targets, computed where the page was parsed
    url_info: dict[str, tuple[int, str, str]] | None = None
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A URL waiting in the frontier.

    ``hops`` counts the redirects that led here (capped by ``max_redirects``); redirects do
    not add depth. ``kind`` is ``page``, ``sitemap``, ``refresh`` (a stored page fetched
    again, conditionally with ``etag`` / ``last_modified``) or ``check`` (a link target
    whose status is checked with HEAD, nothing more).
    """

    url: str
    depth: int
    hops: int = 0
    kind: str = "page"
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """A query target resolved against a store, once, by the store that answers for it.

    ``text``, ``mode`` and ``domain`` (the registrable domain: links from it are internal)
    mean the same in every backend; ``url_ids_sql`` and ``params`` are the backend's own way
    to find the target's URLs (SQL yielding their ids), which the façade hands back unread.
    """

    text: str
    mode: str
    domain: str
    url_ids_sql: str
    params: tuple[Any, ...]


@dataclass(slots=True)
class BacklinkDetail:
    """One stored link into a target, with what quality and toxicity scoring need."""

    source_id: int
    target_id: int
    source: str
    target: str
    anchor: str
    rel: list[str]
    flags: int
    placement: str
    first_seen: str | None
    last_seen: str | None
    source_domain_id: int
    source_domain: str
    source_outlinks: int | None
    source_authority: float | None
    source_domain_authority: float | None
    lost_at: str | None = None
    lost_reason: str | None = None

    @property
    def follow(self) -> bool:
        return not self.flags & NOT_FOLLOW_FLAGS

    @property
    def image(self) -> bool:
        return bool(self.flags & FLAG_IMAGE)
