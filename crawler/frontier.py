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

import itertools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from linkgraph.storage.records import QueueItem

from .politeness import Host
from .urls import Scope, host_of, url_hash

__all__ = ["Frontier", "Guards", "SeenSet"]


class SeenSet:
    """A set of 64-bit URL hashes that costs about 8 bytes per member.

    A Python set of ints costs about 70 bytes per member (the int object and its slot).
    Here only the most recent ``recent`` members live in one; older ones are merged into a
    sorted int64 array and found by binary search. Lookups of a crawl are mostly repeats of
    links seen minutes ago (menus, footers), which the small set answers.

    >>> seen = SeenSet(recent=2)
    >>> seen.update([5, 1, 9]); seen.add(7)
    >>> (1 in seen, 7 in seen, 3 in seen, len(seen))
    (True, True, False, 4)
    """

    __slots__ = ("_limit", "_recent", "_sorted")

    def __init__(self, recent: int = 65_536) -> None:
        self._limit = recent
        self._recent: set[int] = set()
        self._sorted = np.empty(0, dtype=np.int64)

    def __contains__(self, key: int) -> bool:
        if key in self._recent:
            return True
        old = self._sorted
        i = int(old.searchsorted(key))
        return i < len(old) and int(old[i]) == key

    def __len__(self) -> int:
        return len(self._recent) + len(self._sorted)

    def add(self, key: int) -> None:
        self._recent.add(key)
        if len(self._recent) >= self._limit:
            self._merge()

    def update(self, keys: Iterable[int]) -> None:
        # The recent members go in with them: a key in both would be counted twice.
        fresh = np.fromiter(itertools.chain(keys, self._recent), dtype=np.int64)
        self._recent.clear()
        self._insert(np.unique(fresh))

    def _merge(self) -> None:
        fresh = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
        self._recent.clear()
        fresh.sort()
        self._insert(fresh)

    def _insert(self, fresh: np.ndarray) -> None:
        """Merge sorted, distinct ``fresh`` into the sorted array, in place.

        ``np.union1d`` sorted a new copy of the whole array and freed three temporaries
        of its size at every merge: 4x the seen set at the peak, and each freed block
        raised glibc's mmap and trim thresholds (up to 32 MiB), after which the allocator
        kept that much free memory resident in every arena. Here the array grows by
        ``realloc`` (``mremap`` once it is large) and its members move up from the back
        in small blocks, so no temporary is larger than ``fresh`` or a block.
        """
        old = self._sorted
        n = len(old)
        if n == 0:
            self._sorted = fresh
            return
        at = old.searchsorted(fresh)  # where each fresh key goes among the old ones
        inside = at < n
        known = np.zeros(len(fresh), dtype=bool)
        known[inside] = old[at[inside]] == fresh[inside]
        if known.any():
            fresh, at = fresh[~known], at[~known]
        m = len(fresh)
        if m == 0:
            return
        old.resize(n + m, refcheck=False)  # nothing else holds a view of it
        # Old member i moves up by the number of fresh keys that go before it, i.e. by
        # count(at <= i). Blocks go from the back so that no member is overwritten
        # before it moved; members before at[0] stay where they are.
        stop = int(at[0])
        end = n
        while end > stop:
            start = max(stop, end - _BLOCK)
            lo = int(at.searchsorted(start, side="right"))
            hi = int(at.searchsorted(end - 1, side="right"))
            steps = np.bincount(at[lo:hi] - start, minlength=end - start)
            dest = np.cumsum(steps)
            dest += np.arange(start + lo, end + lo)
            old[dest] = old[start:end].copy()
            end = start
        at += np.arange(m)
        old[at] = fresh
        self._sorted = old


# Members moved per step of a merge: temporaries of 64 KiB stay under glibc's mmap
# threshold (128 KiB), so freeing them never raises it (see SeenSet._insert).
_BLOCK = 8192


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
    ) -> None:
        self.scope = scope
        self.delay = delay
        self.guards = guards or Guards()
        self.window = window
        self.budget = budget
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
            host = self.hosts[name] = Host(name, self.delay)
        return host

    @property
    def size(self) -> int:
        """URLs queued (in memory and spilled), not counting the one a worker holds."""
        return sum(len(h.queue) + h.spilled for h in self.hosts.values() if not h.retired)

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
        if host.spilled or len(host.queue) >= self.window or self.in_memory >= self.budget:
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
        host.queue.extend(items)
        host.spilled = max(0, host.spilled - len(items)) if items else 0
        self.in_memory += len(items)

    def restore(self, host_name: str, queued: int) -> Host:
        """A resumed crawl: ``queued`` entries of this host wait in the store."""
        host = self.host(host_name)
        host.spilled += queued
        host.accepted += queued
        return host
