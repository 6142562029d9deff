"""The seams of the store: what the crawler writes through and what queries read through.

A backend (SQLite today, an in-memory one for tests, PostgreSQL next) implements these
``Protocol``s; the crawler, ``graph/`` and the façade depend on them, never on a backend's
module. The records that cross the seam are in :mod:`.records` (and ``GraphArrays``, the
link graph as arrays, which this module re-exports), the shared vocabulary (flag bits, the
follow rule, queue kinds, skip reasons) in :mod:`.vocab`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Self, TypedDict

from .records import BacklinkDetail, Link, Page, QueueItem, Target

if TYPE_CHECKING:
    from .graphload import GraphArrays

__all__ = [
    "AuditReader",
    "BacklinkDetail",
    "BufferedWriter",
    "CrawlWriter",
    "Gap",
    "GraphArrays",
    "LinkFilter",
    "LinkFilters",
    "LinkReader",
    "PageReader",
    "PageSpec",
    "ResumeState",
    "Target",
    "TargetOptions",
    "split_options",
]


def __getattr__(name: str) -> Any:
    # GraphArrays is graph's LinkArrays record, which the SQLite graph loader fills; it is
    # imported on first use so that the crawl, which imports this module for CrawlWriter,
    # does not load the query side (sqlite3, the loader, scipy) with it.
    if name == "GraphArrays":
        from .graphload import GraphArrays

        return GraphArrays
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(slots=True)
class ResumeState:
    """What a continuing crawl needs to know about the work already done."""

    queued_by_host: dict[str, int] = field(default_factory=dict)
    requests_by_host: dict[str, int] = field(default_factory=dict)
    requests_total: int = 0
    seen_hashes: list[int] = field(default_factory=list)


# Pages buffered before a batch commits (the default of every backend and of the crawl's
# settings). A commit has a large fixed cost: its B-tree pages are written to the WAL
# whole, however few of their rows changed, so small batches rewrite the same pages
# over and over. On the crawl bench (docs/benchmarks.md, "Crawl throughput"), batches
# of 1,000 pages instead of 200 took a third off the SQLite thread's CPU. A batch also
# commits after ``flush_seconds``, which bounds what a kill -9 can lose at any speed.
BATCH_PAGES = 1000


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


class _Buffer(Protocol):
    """What a writer's batch holds in both backends (each adds its own page records)."""

    pages: list[Any]
    queued: list[QueueItem]
    hosts: dict[str, tuple[str | None, str | None]]


class BufferedWriter:
    """The buffer bookkeeping a :class:`CrawlWriter` does alike in every backend: frontier
    entries, host notes and the count that says a batch is full. A backend keeps its batch
    in ``_batch`` and buffers pages and loose links its own way."""

    batch_pages: int
    _batch: _Buffer
    _flush_lock: asyncio.Lock

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()  # type: ignore[attr-defined]  # each backend's own

    async def _commit_batch(self) -> None:  # pragma: no cover - every backend has its own
        """Write the buffered batch in one transaction (a failed one goes back to the buffer)."""
        raise NotImplementedError

    async def flush(self) -> None:
        """Commit everything buffered so far in one transaction.

        A transaction, once begun, runs to its end even when the caller is cancelled (Ctrl-C,
        the end of a crawl): stopped half way it would stay open on the connection and
        every later write would fail. The cancellation is passed on once it has ended.
        """
        async with self._flush_lock:
            if not self._batch:
                return
            commit = asyncio.ensure_future(self._commit_batch())
            cancelled = False
            while not commit.done():
                try:
                    await asyncio.shield(commit)  # raises the commit's own error, if any
                except asyncio.CancelledError:
                    cancelled = True  # pass it on once the transaction has ended
            if cancelled:
                if not commit.cancelled():
                    commit.exception()  # seen: a failed batch is back in the buffer anyway
                raise asyncio.CancelledError

    def add_queued(self, items: Iterable[QueueItem]) -> None:
        """Buffer frontier entries that no page discovered (seeds, sitemap entries)."""
        self._batch.queued.extend(items)

    def note_host(self, host: str, *, ip: str | None = None, note: str | None = None) -> None:
        """Remember a host's address or a note about it; a later value wins, a missing
        one keeps what the batch already holds."""
        old_ip, old_note = self._batch.hosts.get(host, (None, None))
        self._batch.hosts[host] = (ip or old_ip, note or old_note)

    @property
    def pending_pages(self) -> int:
        return len(self._batch.pages)

    @property
    def full(self) -> bool:
        return len(self._batch.pages) >= self.batch_pages


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkFilter:
    """Which links into a target a backlink query counts (the defaults: every current,
    external link of kind ``link``). The façade builds one from its keywords; the query
    functions of the store (``storage.backlinks``, ``storage.audit``) take it as it is."""

    follow_only: bool = False  # leave out nofollow, sponsored and ugc links
    include_internal: bool = False  # keep links from the target's own registrable domain
    include_lost: bool = False  # add lost links, with lost_at and lost_reason
    placement: str | None = None  # only links in this part of the page (records.PLACEMENTS)


class LinkFilters(TypedDict, total=False):
    """The fields of :class:`LinkFilter` as keywords (part of :class:`TargetOptions`, which
    the façade's target queries take as ``**options``); each is off unless given."""

    follow_only: bool
    include_internal: bool
    include_lost: bool
    placement: str | None


class TargetOptions(LinkFilters, total=False):
    """The keywords of a query about one target's links (``backlinks``,
    ``referring_domains``, ``anchors``): the :class:`LinkFilters`, and ``mode`` (how the
    target is read: ``exact``, ``prefix``, ``host``, ``domain``; default: exact for a URL,
    domain for a name) and ``limit`` (how many records; default 100, ``None`` for all)."""

    mode: str | None
    limit: int | None


def split_options(options: TargetOptions, caller: str) -> tuple[str | None, int | None, LinkFilter]:
    """``options`` as the target's ``mode``, the ``limit`` (100 unless given) and the
    :class:`LinkFilter`; a keyword that is not an option is a ``TypeError`` naming
    ``caller``, as Python's own would."""
    unknown = sorted(options.keys() - TargetOptions.__optional_keys__)
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
    filters = dict(options)
    mode = filters.pop("mode", None)
    limit = filters.pop("limit", 100)
    return mode, limit, LinkFilter(**filters)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Gap:
    """The competitor backlink gap asked of :meth:`LinkReader.intersect`: the domains that
    link to at least ``min_count`` of ``competitors`` and not to ``exclude`` (targets read
    with ``mode``); ``include_lost`` also counts competitors a domain linked to before."""

    competitors: Sequence[str]
    exclude: str | None = None
    min_count: int = 2
    mode: str | None = None
    include_lost: bool = False


class LinkReader(Protocol):
    """What the queries of the façade read from a store: counts, links, and the backlink
    answers. Targets are given as the user wrote them (a URL, or a host or domain name)
    with a ``mode`` (``exact``, ``prefix``, ``host``, ``domain``; ``None``: exact for a
    URL, domain for a name), so a backend decides how to find them.

    Every answer counts current links only (a link is current while its source page still
    carries it); ``include_lost`` adds lost links, with ``lost_at`` and ``lost_reason``.
    Errors are :class:`~storage.errors.StoreError` (a bad target: ``TargetError``).
    """

    def check(self) -> None:
        """Raise ``CorruptStore`` unless the store is sound (SQLite: ``quick_check``)."""

    def close(self) -> None:
        """Release the store; no method may be called after."""

    def stats(self) -> dict[str, Any]:
        """Pages by outcome and status, links by kind, hosts, domains, frontier, guards."""

    def crawl_record(self) -> dict[str, Any] | None:
        """The settings the store's crawl last ran with, or ``None`` without a crawl."""

    def url_outcomes(self, urls: list[str]) -> dict[str, tuple[int | None, str | None]]:
        """``(status, error)`` of each of ``urls`` (normalized) that has a page record."""

    def iter_links(self, *, include_lost: bool = False) -> Iterator[dict[str, Any]]:
        """Every current link as an export record, streamed."""

    def backlinks(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None, sort: str
    ) -> list[dict[str, Any]]:
        """Links into ``target``, one record per link, strongest (or newest) sources first."""

    def referring_domains(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        """One record per registrable domain linking to ``target``, strongest first."""

    def anchors(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        """Anchor texts of the links into ``target`` with backlink and domain counts."""

    def top(self, *, level: str, limit: int | None) -> list[dict[str, Any]]:
        """The highest-authority pages, hosts or domains (after ranking)."""

    def intersect(self, gap: Gap, *, limit: int | None) -> list[dict[str, Any]]:
        """Domains linking to at least ``min_count`` competitors and not to ``exclude``."""


@dataclass(frozen=True, slots=True)
class PageSpec:
    """One page of a list: ``limit`` records from ``offset`` on, by the record field
    ``order`` (``""``: the query's own order), descending or not. A page is the slice of
    the whole list sorted by that field: numbers by value, lists by length, text by its
    lower case, empty values (``None``, ``""``, ``[]``) last, ties in the query's order
    (:func:`storage.listpages.sort_records`)."""

    order: str = ""
    descending: bool = True
    offset: int = 0
    limit: int = 50

    def keywords(self) -> dict[str, Any]:
        return {
            "order": self.order,
            "descending": self.descending,
            "offset": self.offset,
            "limit": self.limit,
        }


class PageReader(Protocol):
    """What ``linkgraph serve`` reads besides the :class:`LinkReader` queries: a page of
    a target's backlinks, referring domains or anchors with the size of the whole list
    (``(records, total)``), the numbers of its overview, and an authority by name. A
    backend without them (PostgreSQL today) is served from the whole lists instead."""

    def backlinks_page(
        self, target: str, where: LinkFilter, *, mode: str | None, page: PageSpec, sort: str
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of :meth:`LinkReader.backlinks` (``limit=None``) and its length."""

    def referring_domains_page(
        self, target: str, where: LinkFilter, *, mode: str | None, page: PageSpec
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of :meth:`LinkReader.referring_domains` (``limit=None``) and its length."""

    def anchors_page(
        self, target: str, where: LinkFilter, *, mode: str | None, page: PageSpec
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of :meth:`LinkReader.anchors` (``limit=None``) and its length."""

    def target_overview(
        self, target: str, *, mode: str | None, include_internal: bool = False, top: int = 10
    ) -> dict[str, Any]:
        """Under the default filter (and ``include_internal``): ``links``, the links
        :meth:`LinkReader.backlinks` lists counted by (placement, rel, follow);
        ``domains``, the referring domains' count, addresses, counts by first-seen day and
        authority, and the ``top`` strongest records; ``changes``, new and lost backlinks
        per (week, what) (storage.overview)."""

    def authority_of(self, level: str, name: str) -> float | None:
        """The authority of a page (URL), host or domain (name); ``None`` without one."""


class AuditReader(LinkReader, Protocol):
    """What the audits (``linkgraph.audit``) and the graph export (``linkgraph.graphs``)
    read from a store, besides the :class:`LinkReader` queries.

    A target is resolved once (:meth:`resolve_target`) into a :class:`~.records.Target`
    that the caller hands back unread to the reads about it. Ids are the store's own:
    ``source_domain_id`` of a :class:`~.records.BacklinkDetail` and the ids
    :meth:`domain_sizes`, :meth:`page_texts` and :meth:`target_domain_links_to` take are
    1-based; the link graph, :meth:`domain_authority`, :meth:`node_names` and
    :meth:`node_scores` number nodes from 0 (store id - 1), as the arrays index them.
    Errors are :class:`~storage.errors.StoreError` (a bad target: ``TargetError``); a bad
    argument (an unknown period, an empty phrase) is a ``ValueError``.
    """

    def resolve_target(self, target: str, mode: str | None = None) -> Target:
        """``target`` as the user wrote it (a URL, or a host or domain name) with a
        ``mode`` (``None``: exact for a URL, domain for a name), resolved for this store."""

    def backlink_details(self, target: Target, where: LinkFilter) -> list[BacklinkDetail]:
        """Every current link into the target that ``where`` keeps (``include_lost``: and
        every lost one), with the source page's facts."""

    def domain_sizes(self, domain_ids: set[int]) -> dict[int, int]:
        """Pages that answered 2xx, per registrable domain of these."""

    def page_texts(self, url_ids: set[int]) -> dict[int, str]:
        """The stored visible text of these pages (crawled with ``store_text``)."""

    def target_domain_links_to(self, target: Target, domain_ids: set[int]) -> set[int]:
        """Of these domains, the ones the target's own registrable domain links to now."""

    def domain_authority(self) -> dict[int, float | None]:
        """Authority (0-100) per ranked domain (0-based id)."""

    def link_graph(self) -> GraphArrays:
        """Every current link and the URL → host → domain maps, as arrays."""

    def node_names(self, level: str, ids: Iterable[int]) -> dict[int, str]:
        """The text of these nodes of a level (``page``, ``host``, ``domain``): URLs, host
        or domain names, by 0-based id."""

    def node_scores(self, level: str) -> dict[int, dict[str, Any]]:
        """The stored scores of every ranked node of a level, by 0-based id."""

    def changes(
        self, target: Target, *, since: str | None, by: str, include_internal: bool
    ) -> dict[str, list[dict[str, Any]]]:
        """New and lost backlinks and referring domains since a date, and link velocity
        per ``day`` or ``week``."""

    def broken_links(
        self, target: Target | None, *, outbound: bool, limit: int | None
    ) -> list[dict[str, Any]]:
        """Links whose target answered 4xx/5xx or could not be reached: all of them, those
        into ``target``, or with ``outbound`` those on its pages."""

    def mentions(
        self, phrase: str, *, exclude_linking: Target | None, limit: int | None
    ) -> list[dict[str, Any]]:
        """Pages whose visible text contains ``phrase``, leaving out those that link to
        ``exclude_linking`` when given."""
