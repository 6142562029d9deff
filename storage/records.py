"""The plain records that flow from the crawler into the store.

They are the whole contract between ``crawler/`` and ``storage/``: the crawler fills them,
the store's writer persists them, and nothing else crosses that seam.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "KINDS",
    "NOT_FOLLOW_RELS",
    "PLACEMENTS",
    "Link",
    "Page",
    "QueueItem",
]

# Stored as small integers: the index in these tuples.
PLACEMENTS = ("content", "nav", "header", "footer", "sidebar", "comments")
KINDS = ("link", "redirect", "canonical")
# A link whose rel holds any of these passes no authority (Google's rel qualifiers).
NOT_FOLLOW_RELS = frozenset({"nofollow", "sponsored", "ugc"})


@dataclass(frozen=True, slots=True)
class Link:
    """One link found on a page (or a redirect hop, or a canonical declaration)."""

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
    links: list[Link] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueItem:
    """A URL waiting in the frontier.

    ``hops`` counts the redirects that led here (capped by ``max_redirects``); redirects do
    not add depth. ``kind`` is ``page`` or ``sitemap``.
    """

    url: str
    depth: int
    hops: int = 0
    kind: str = "page"
