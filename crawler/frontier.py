"""The frontier: which URLs are still to fetch, per host, in memory and in the store.

Every discovered in-scope URL is written to the store's frontier table in the same
transaction as the page that found it. Memory holds only a window of each host's queue
(``window`` entries, ``budget`` in all); the rest stays in the store ("spilled") and is
read back when the host's window runs dry. So a crawl of millions of URLs keeps a small
resident set: the seen set (8-byte hashes) and the windows.

Dedupe happens before anything is queued: a URL enters the frontier once per crawl,
whether it was found as a link, a redirect target, a sitemap entry or a seed.

Trap guards run next, on URLs not seen before: an endless URL space (a calendar linking
to the next day, session ids, a relative link that grows the path) would otherwise keep
a crawl going for ever. A refused URL is marked seen and handed back in :attr:`refused`
with its reason, for the engine to record as not fetched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from linkgraph.storage.hashset import SeenSet
from linkgraph.storage.records import QueueItem

from .politeness import Host
from .urls import Scope, host_of, url_hash

__all__ = ["Frontier", "Guards", "SeenSet"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Guards:
    """The trap guards' limits (``None``: that guard is off); see configs/linkgraph.toml."""

    max_depth: int | None = None
    max_urls_per_host: int | None = None
    max_segment_repeats: int | None = None
    max_queries_per_path: int | None = None
    max_query_params: int | None = None

    def refuse(self, url: str, depth: int) -> str | None:
        """The reason a URL is refused on its own merits (depth, path, query), or ``None``.

        >>> Guards(max_segment_repeats=2).refuse("http://a.test/x/y/x/y/x/y", 1)
        'trap-repeat'
        >>> Guards(max_query_params=2).refuse("http://a.test/?a=1&b=2&c=3", 1)
        'trap-query'
        """
        if self.max_depth is not None and depth > self.max_depth:
            return "trap-depth"
        if self.max_segment_repeats is None and self.max_query_params is None:
            return None
        # URLs here are normalised (scheme://authority/path?query, no fragment): cut them
        # by hand, as urlsplit costs more than the rest of ``offer`` together.
        path, _, query = url[url.find("/", url.find("//") + 2) :].partition("?")
        repeats = self.max_segment_repeats
        if repeats is not None:
            # Any segment repeated, not only in a row: /a/b/a/b/a/b is a loop of two.
            segments = path.strip("/").split("/")
            if len(segments) > repeats and len(set(segments)) < len(segments):
                if max(Counter(segments).values()) > repeats:
                    return "trap-repeat"
        if self.max_query_params is not None and query:
            if query.count("&") + 1 > self.max_query_params:
                return "trap-query"
        return None


class Frontier:
    def __init__(
        self,
        scope: Scope,
        *,
        delay: float,
        guards: Guards | None = None,
        window: int = 200,
        budget: int = 50_000,
        held: bool = True,
    ) -> None:
        self.scope = scope
        self.delay = delay
        self.guards = guards or Guards()
        self.window = window
        self.budget = budget
        # False in a fleet worker: a host is its own only once leased (crawler/fleet.py),
        # and what it finds for other hosts goes to the store alone.
        self.held = held
        self.hosts: dict[str, Host] = {}
        self.seen = SeenSet()
        self.in_memory = 0
        # Distinct query strings per (host, path), by a hash of "scheme://host/path": only
        # paths that had a query cost an entry. Counted from this run's discoveries.
        self._queries: dict[int, int] = {}
        self.refused: list[tuple[str, int, str]] = []  # (url, depth, reason) to record

    def host(self, name: str) -> Host:
        host = self.hosts.get(name)
        if host is None:
            host = self.hosts[name] = Host(name, self.delay, held=self.held)
        return host

    @property
    def size(self) -> int:
        """URLs queued (in memory and spilled), not counting the one a worker holds."""
        # (A fleet worker: of the hosts it holds; the others' queues are the store's.)
        return sum(len(h.queue) + h.spilled for h in self.hosts.values() if h.has_work)

    def in_scope(self, url: str) -> bool:
        return self.scope.allows_host(host_of(url))

    def offer(
        self,
        url: str,
        depth: int,
        hops: int = 0,
        kind: str = "page",
        info: tuple[int, str, str] | None = None,
    ) -> tuple[Host, QueueItem] | None:
        """Queue a URL unless it is already seen, out of scope or refused by a guard.

        ``info`` is the URL's (hash, host, domain) when the caller has them already.
        Returns the host and the new entry (which the caller must persist), else ``None``;
        a URL a guard refused is added to :attr:`refused` (once: it is marked seen).
        """
        # Most offers are URLs seen before (menus, footers): answer those from the seen
        # set before paying for host, scope and guards.
        key = url_hash(url) if info is None else info[0]
        if key in self.seen:
            return None
        name = host_of(url) if info is None else info[1]
        if not self.scope.allows_host(name):
            return None
        self.seen.add(key)
        reason = self._refusal(url, depth, name)
        if reason is not None:
            self.refused.append((url, depth, reason))
            return None
        host = self.host(name)
        host.accepted += 1
        item = QueueItem(url, depth, hops, kind)
        # A fleet worker queues in memory only for the hosts it holds (its seen set is
        # complete for those: crawler/fleet.py Claim.seen); the rest go to the store.
        if (
            host.spilled
            or not host.held
            or len(host.queue) >= self.window
            or self.in_memory >= self.budget
        ):
            host.spilled += 1
        else:
            host.queue.append(item)
            self.in_memory += 1
        return host, item

    def _refusal(self, url: str, depth: int, name: str) -> str | None:
        g = self.guards
        reason = g.refuse(url, depth)
        if reason is not None:
            return reason
        host = self.hosts.get(name)
        if g.max_urls_per_host is not None and host is not None:
            if host.accepted >= g.max_urls_per_host:
                return "host-url-cap"
        if g.max_queries_per_path is not None and "?" in url:
            path_key = hash(url.split("?", 1)[0])
            queries = self._queries.get(path_key, 0)
            if queries >= g.max_queries_per_path:
                return "trap-query"
            self._queries[path_key] = queries + 1
        return None

    def take_refused(self) -> list[tuple[str, int, str]]:
        """The URLs refused since the last call, as ``(url, depth, reason)``."""
        refused, self.refused = self.refused, []
        return refused

    def mark_seen(self, hashes: Iterable[int]) -> None:
        self.seen.update(hashes)

    def pop(self, host: Host) -> QueueItem:
        self.in_memory -= 1
        # A list, not a deque (see Host.queue): taking the head moves at most a window.
        return host.queue.pop(0)

    def push_back(self, host: Host, item: QueueItem) -> None:
        """Put an entry back at the head of its host's queue (a retry)."""
        host.queue.insert(0, item)
        self.in_memory += 1

    def refilled(self, host: Host, items: list[QueueItem]) -> None:
        """Entries read back from the store for a host whose window ran dry."""
        if not self.held:
            # A fleet worker: another worker may have queued these after our seen set
            # (and the host's claim) was read; finding one again must not queue it twice.
            self.seen.update(url_hash(item.url) for item in items)
        host.queue.extend(items)
        host.spilled = max(0, host.spilled - len(items)) if items else 0
        self.in_memory += len(items)

    def drop(self, host: Host) -> None:
        """A host this worker no longer holds: forget its window (it stays in the store)."""
        self.in_memory -= len(host.queue)
        host.queue.clear()
        host.spilled = 0
        host.held = False

    def restore(self, host_name: str, queued: int) -> Host:
        """A resumed crawl: ``queued`` entries of this host wait in the store."""
        host = self.host(host_name)
        host.spilled += queued
        host.accepted += queued
        return host
