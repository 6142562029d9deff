"""A set of 64-bit URL hashes at about 8 bytes a member: the crawl frontier's seen set.
(An import's writer keeps ids with its hashes: :mod:`.urlhashes`.)"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence, Sized

import numpy as np

__all__ = ["SeenSet"]


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

    def contains(self, keys: Sequence[int]) -> np.ndarray:
        """Per key, whether it is a member: one binary search for all of them."""
        query = np.fromiter(keys, dtype=np.int64, count=len(keys))
        found = np.zeros(len(query), dtype=bool)
        old = self._sorted
        if len(old):
            at = old.searchsorted(query)
            inside = at < len(old)
            found[inside] = old[at[inside]] == query[inside]
        if self._recent:
            found |= np.fromiter((k in self._recent for k in keys), dtype=bool, count=len(keys))
        return found

    def __len__(self) -> int:
        return len(self._recent) + len(self._sorted)

    def add(self, key: int) -> None:
        self._recent.add(key)
        if len(self._recent) >= self._limit:
            self._merge()

    def update(self, keys: Iterable[int]) -> None:
        if isinstance(keys, Sized) and len(self._recent) + len(keys) < self._limit:
            # Few (an import's batch): the small set takes them, to be merged with the
            # others once it is full, rather than a merge of the whole array each time.
            self._recent.update(keys)
            return
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
