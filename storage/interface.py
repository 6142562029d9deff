"""The seams of the store: what the crawler writes through and what queries read through.

A backend (SQLite today, an in-memory one for tests, PostgreSQL next) implements these
``Protocol``s; the crawler, ``graph/`` and the façade depend on them, never on a backend's
module. The records that cross the seam are in :mod:`.records`, the shared vocabulary (flag
bits, the follow rule, queue kinds, skip reasons) in :mod:`.vocab`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .records import Link, Page, QueueItem

__all__ = ["CrawlWriter", "ResumeState"]


@dataclass(slots=True)
class ResumeState:
    """What a continuing crawl needs to know about the work already done."""

    queued_by_host: dict[str, int] = field(default_factory=dict)
    requests_by_host: dict[str, int] = field(default_factory=dict)
    requests_total: int = 0
    seen_hashes: list[int] = field(default_factory=list)


class CrawlWriter(Protocol):
    """What a crawl needs from a store: buffered records, batched commits, its frontier.

    Invariant every backend keeps: a page's record, its links and the frontier entries it
    discovered become durable together, with the removal of its own frontier entry, so a
    crash loses only pages whose batch had not committed (they are fetched again on resume).
    """

    batch_pages: int  # how many buffered pages make a batch
    links: int  # current links the crawl has committed so far (stats' definition)
    hosts_crawled: int  # hosts with at least one answered page

    def add_page(self, page: Page, queued: Sequence[QueueItem] = ()) -> None:
        """Buffer a finished URL together with the frontier entries it discovered."""

    def add_links(self, source: str, links: list[Link], seen_at: float) -> None:
        """Buffer links whose source page was not fetched by us (an imported edge list)."""

    def add_queued(self, items: Iterable[QueueItem]) -> None:
        """Buffer frontier entries that no page discovered (seeds, sitemap entries)."""

    def note_host(self, host: str, *, ip: str | None = None, note: str | None = None) -> None:
        """Remember a host's address or a note about it (e.g. why it was given up)."""

    @property
    def pending_pages(self) -> int:
        """Pages buffered and not yet committed."""

    @property
    def full(self) -> bool:
        """True when the buffer holds a whole batch and should be flushed."""

    async def flush(self) -> None:
        """Commit everything buffered so far, atomically."""

    async def load_crawl(self) -> dict[str, Any] | None:
        """The settings a previous crawl of this store saved, or None."""

    async def save_crawl(self, settings: dict[str, Any]) -> None:
        """Save this crawl's settings so a resume can check them."""

    async def resume_state(self, *, kinds: tuple[str, ...] | None = None) -> ResumeState:
        """Queue sizes and request counts per host and the seen URL hashes (flushes first)."""

    async def take_frontier(
        self, host: str, limit: int, *, kinds: tuple[str, ...] | None = None
    ) -> list[QueueItem]:
        """The oldest queued entries of one host (flushes first)."""

    async def queue_checks(self) -> int:
        """Queue every link target without a page row for a status check; returns how many."""

    async def queue_refresh(self) -> int:
        """Queue every fetched page again, with its validators; returns how many."""
