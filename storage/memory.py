"""An in-memory :class:`~.interface.CrawlWriter`: the store a crawl test runs against.

It keeps what the SQLite writer keeps, in dicts and lists, with the same invariants: a
page's record, its links, the frontier entries it discovered and the removal of its own
frontier entry land together, on :meth:`MemoryWriter.flush`; :meth:`take_frontier` hands
out a host's entries oldest first; :meth:`resume_state` counts what a continuing crawl
needs. Nothing survives the process: it is for tests and throwaway crawls.

URL identity (the 64-bit hash the crawler's seen-set uses, the host a URL belongs to) is
the store's own (:mod:`.identity`), as in the SQLite store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .identity import host_of, url_hash
from .interface import BATCH_PAGES, BufferedWriter, ResumeState
from .records import Link, Page, QueueItem
from .vocab import SKIP_REASONS

__all__ = ["MemoryWriter"]


@dataclass(slots=True)
class _Batch:
    pages: list[tuple[Page, list[QueueItem]]] = field(default_factory=list)
    queued: list[QueueItem] = field(default_factory=list)
    loose: list[tuple[str, list[Link]]] = field(default_factory=list)
    hosts: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


class MemoryWriter(BufferedWriter):
    """A crawl's store in memory: pass it to the engine where a StoreWriter would go."""

    def __init__(self, *, batch_pages: int = BATCH_PAGES) -> None:
        self.url_hash = url_hash
        self.host_of = host_of
        self.batch_pages = batch_pages
        self.links = 0
        self.hosts_crawled = 0
        self.flushes = 0
        self.settings: dict[str, Any] | None = None
        # Committed state. URL ids number URLs in the order first stored, as SQLite's
        # rowids do, so "oldest first" means the same thing in both backends.
        self.url_ids: dict[str, int] = {}
        self.pages: dict[str, Page] = {}
        self.page_links: dict[str, list[Link]] = {}
        self.frontier: dict[str, dict[int, QueueItem]] = {}  # host -> url id -> entry
        self.hosts: dict[str, dict[str, str | None]] = {}  # host -> {"ip", "note"}
        self._batch = _Batch()

    # -- buffering ---------------------------------------------------------------------

    def add_page(self, page: Page, queued: Sequence[QueueItem] = ()) -> None:
        self._batch.pages.append((page, list(queued)))

    def add_links(self, source: str, links: list[Link], seen_at: float) -> None:
        self._batch.loose.append((source, list(links)))

    # -- committing --------------------------------------------------------------------

    async def flush(self) -> None:
        """Apply the whole buffer at once. No ``await`` inside: nothing can interleave."""
        batch, self._batch = self._batch, _Batch()
        if not (batch.pages or batch.queued or batch.loose or batch.hosts):
            return
        self.flushes += 1
        # As the SQLite writer does: queue what was discovered (an entry already queued
        # stays as it is), then take the finished pages' own entries out.
        for item in batch.queued:
            self._queue(item)
        for _page, queued in batch.pages:
            for item in queued:
                self._queue(item)
        for page, _ in batch.pages:
            self._store_page(page)
        for source, links in batch.loose:
            self._id(source)
            self.links += len(links) - len(self.page_links.get(source, []))
            self.page_links[source] = links
        for host, (ip, note) in batch.hosts.items():
            row = self.hosts.setdefault(host, {"ip": None, "note": None})
            row["ip"] = ip or row["ip"]
            row["note"] = note or row["note"]
        self.hosts_crawled = len(
            {self.host_of(url) for url, p in self.pages.items() if _answered(p)}
        )

    def _id(self, url: str) -> int:
        return self.url_ids.setdefault(url, len(self.url_ids) + 1)

    def _queue(self, item: QueueItem) -> None:
        entries = self.frontier.setdefault(self.host_of(item.url), {})
        entries.setdefault(self._id(item.url), item)

    def _store_page(self, page: Page) -> None:
        url_id = self._id(page.url)
        self.pages[page.url] = page
        entries = self.frontier.get(self.host_of(page.url))
        if entries is not None:
            entries.pop(url_id, None)
        # A page's current links are those of its latest fetch; a URL recorded without
        # a response (an error, a skip) keeps none.
        links = page.links if page.status is not None else []
        for link in links:
            self._id(link.target)
        self.links += len(links) - len(self.page_links.get(page.url, []))
        self.page_links[page.url] = list(links)

    # -- crawl state -------------------------------------------------------------------

    async def load_crawl(self) -> dict[str, Any] | None:
        return dict(self.settings) if self.settings is not None else None

    async def save_crawl(self, settings: dict[str, Any]) -> None:
        self.settings = dict(settings)

    def _entries(self, host: str, kinds: tuple[str, ...] | None) -> list[tuple[int, QueueItem]]:
        entries = sorted(self.frontier.get(host, {}).items(), key=lambda pair: pair[0])
        return [(i, item) for i, item in entries if kinds is None or item.kind in kinds]

    async def resume_state(self, *, kinds: tuple[str, ...] | None = None) -> ResumeState:
        await self.flush()
        state = ResumeState()
        for host in self.frontier:
            count = len(self._entries(host, kinds))
            if count:
                state.queued_by_host[host] = count
        for url, page in self.pages.items():
            if page.checked_only or page.error in SKIP_REASONS:
                continue
            host = self.host_of(url)
            state.requests_by_host[host] = state.requests_by_host.get(host, 0) + 1
        state.requests_total = sum(state.requests_by_host.values())
        queued = (item.url for entries in self.frontier.values() for item in entries.values())
        state.seen_hashes = [self.url_hash(u) for u in [*self.pages, *queued]]
        return state

    async def take_frontier(
        self, host: str, limit: int, *, kinds: tuple[str, ...] | None = None
    ) -> list[QueueItem]:
        await self.flush()
        out = []
        for _, item in self._entries(host, kinds)[:limit]:
            if item.kind == "refresh" and item.url in self.pages:
                page = self.pages[item.url]  # the validators of the stored page, as SQLite joins
                item = QueueItem(
                    item.url, item.depth, item.hops, item.kind, page.etag, page.last_modified
                )
            out.append(item)
        return out

    async def queue_checks(self) -> int:
        """Queue every link target without a page row for a status check."""
        await self.flush()
        added = 0
        for links in list(self.page_links.values()):
            for link in links:
                if link.kind == "link" and link.target not in self.pages:
                    before = len(self.frontier.get(self.host_of(link.target), {}))
                    self._queue(QueueItem(link.target, 0, 0, "check"))
                    added += len(self.frontier[self.host_of(link.target)]) - before
        return added

    async def queue_refresh(self) -> int:
        """Queue every fetched page again (not those only skipped), with its validators."""
        await self.flush()
        added = 0
        for url, page in list(self.pages.items()):
            if page.status is None and page.error in SKIP_REASONS:
                continue
            entries = self.frontier.setdefault(self.host_of(url), {})
            if self._id(url) not in entries:
                entries[self._id(url)] = QueueItem(url, page.depth, 0, "refresh")
                added += 1
        return added


def _answered(page: Page) -> bool:
    return page.status is not None and not page.checked_only
