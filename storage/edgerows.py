"""An import's edges as columns, and their link rows built a column at a time.

An import hands the writer ``(source, target, anchor, rel)`` rows by the hundred
thousand (:meth:`.writer.StoreWriter.add_edges`). Building a link row per edge in Python
(a tuple, a dozen dictionary lookups, a dictionary of keys for the distinct ones) was a
fifth of an import's time; here each column is one ``map`` or numpy operation, and the
distinct rows are found by one sort in key order, the order they go into the links
table (clustered by target).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Edge", "EdgeColumns"]

Edge = tuple[str, str, str, tuple[str, ...]]  # source, target, anchor, rel tokens
_EMPTY = np.empty(0, dtype=np.int64)


@dataclass(slots=True)
class EdgeColumns:
    """A batch's edges, a list per field in row order, with the time each was seen.
    :meth:`locate` adds where each source and target is among the batch's URLs."""

    sources: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)
    rels: list[tuple[str, ...]] = field(default_factory=list)
    seen: np.ndarray = field(default_factory=lambda: _EMPTY)
    source_at: np.ndarray = field(default_factory=lambda: _EMPTY)
    target_at: np.ndarray = field(default_factory=lambda: _EMPTY)

    @classmethod
    def of(cls, chunks: Sequence[tuple[Sequence[Edge], int]]) -> EdgeColumns:
        """The columns of ``(edges, seen)`` chunks, as :class:`.commit.Batch` keeps them."""
        columns = cls()
        seen = []
        for edges, at in chunks:
            if not edges:
                continue
            sources, targets, anchors, rels = zip(*edges, strict=True)
            columns.sources.extend(sources)
            columns.targets.extend(targets)
            columns.anchors.extend(anchors)
            columns.rels.extend(rels)
            seen.append(np.full(len(edges), at, dtype=np.int64))
        if seen:
            columns.seen = np.concatenate(seen)
        return columns

    def __len__(self) -> int:
        return len(self.sources)

    def urls(self) -> dict[str, int]:
        """The edges' URLs in order of first appearance (each source before its target),
        each with its last place among the cells (source, target, source, target...):
        one dictionary, built in C, for the order and (with :meth:`locate`) the index."""
        cells = itertools.chain.from_iterable(zip(self.sources, self.targets, strict=True))
        return dict(zip(cells, itertools.count()))

    def locate(self, urls: Mapping[str, int], index: np.ndarray) -> None:
        """Record each source's and target's index among the batch's URLs: ``urls`` as
        :meth:`urls` gave them, ``index`` the URL's index per place among the cells."""
        n = len(self.sources)
        self.source_at = index[np.fromiter(map(urls.__getitem__, self.sources), np.int64, n)]
        self.target_at = index[np.fromiter(map(urls.__getitem__, self.targets), np.int64, n)]

    def rows(
        self,
        url_ids: np.ndarray,
        url_domains: np.ndarray,
        anchor_ids: Mapping[str, int],
        rel_ids: Mapping[tuple[str, ...], int],
        rel_flags: Mapping[tuple[str, ...], int],
        *,
        kind: int,
        placement: int,
        internal: int,
    ) -> np.ndarray:
        """The link rows, ``(target, source, kind, anchor, placement, rel, flags,
        first_seen)`` as an ``(n, 8)`` int64 array: one per distinct key (the first seven
        values; the first edge's time), in key order. ``url_ids`` and ``url_domains``
        are per URL (by :meth:`locate`'s index): its id and a code of its registrable
        domain (an edge within one domain gets the ``internal`` flag); ``anchor_ids``
        by anchor text as the edges have it; ``rel_ids`` and ``rel_flags`` by rel."""
        n = len(self.sources)
        rows = np.empty((n, 8), dtype=np.int64)
        rows[:, 0] = url_ids[self.target_at]
        rows[:, 1] = url_ids[self.source_at]
        rows[:, 2] = kind
        rows[:, 3] = np.fromiter(map(anchor_ids.__getitem__, self.anchors), np.int64, n)
        rows[:, 4] = placement
        rows[:, 5] = np.fromiter(map(rel_ids.__getitem__, self.rels), np.int64, n)
        flags = np.fromiter(map(rel_flags.__getitem__, self.rels), np.int64, n)
        flags[url_domains[self.target_at] == url_domains[self.source_at]] |= internal
        rows[:, 6] = flags
        rows[:, 7] = self.seen
        # lexsort's last key is its first: the target, then the source... A stable sort,
        # so of equal keys the first edge comes first, and is the one kept.
        rows = rows[np.lexsort(rows[:, 6::-1].T)]
        first = np.ones(n, dtype=bool)
        first[1:] = (rows[1:, :7] != rows[:-1, :7]).any(axis=1)
        return rows[first]
