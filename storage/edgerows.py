"""An import's edges as columns, and their link rows built a column at a time.

An import hands the writer ``(source, target, anchor, rel)`` rows by the hundred
thousand (:meth:`.writer.StoreWriter.add_edges`). Building a link row per edge in Python
(a tuple, a dozen dictionary lookups, a dictionary of keys for the distinct ones) was a
fifth of an import's time; here each column is one ``map`` or numpy operation, and the
distinct rows are found by one sort in key order, the order they go into the links
table (clustered by target). They go in as bound values (:func:`insert_rows`), and the
links among them already stored are counted by primary key (:func:`stored_current`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import aiosqlite
import numpy as np

from .queued import QueuedStatements, execute_rows
from .vocab import KIND_SHIFT, PLACEMENT_SHIFT, REL_SHIFT

__all__ = [
    "Edge",
    "EdgeColumns",
    "UrlColumns",
    "insert_rows",
    "rows_of_keys",
    "stored_current",
    "stored_rows",
]

Edge = tuple[str, str, str, tuple[str, ...]]  # source, target, anchor, rel tokens
_EMPTY = np.empty(0, dtype=np.int64)
# The links table's primary key, in order: a stored row's first four values (stored_rows).
_KEY = ("target_id", "source_id", "anchor_id", "flags")


def _packed(texts: list[str]) -> tuple[int, str] | list[str]:
    """``texts`` as one string, a line each, for pickling: a string is copied whole, a
    list string by string with a memo entry each (3 ms instead of 33 ms for a batch's
    198,000 URLs); the list itself if one of them holds a line break."""
    joined = "\n".join(texts)
    if joined.count("\n") != max(len(texts) - 1, 0):
        return texts
    return len(texts), joined


def _unpacked(packed: tuple[int, str] | list[str]) -> list[str]:
    if isinstance(packed, list):
        return packed
    count, joined = packed
    return joined.split("\n") if count else []


def _rebuilt(cls: type, values: tuple[Any, ...], packed: tuple[str, ...]) -> Any:
    """An instance of ``cls`` from what :func:`_reduced` made of it."""
    names = [f.name for f in fields(cls)]
    return cls(
        *(_unpacked(v) if name in packed else v for name, v in zip(names, values, strict=True))
    )


def _reduced(obj: Any, packed: tuple[str, ...]) -> tuple[Any, ...]:
    """``__reduce__`` of a columns dataclass whose string lists in ``packed`` are
    pickled as one string each: an import's reading process sends a batch's columns
    through a pipe, and pickling its URLs and anchors one by one was most of the
    pickling's 95-100 ms a batch."""
    values = tuple(
        _packed(getattr(obj, f.name)) if f.name in packed else getattr(obj, f.name)
        for f in fields(obj)
    )
    return _rebuilt, (type(obj), values, packed)


@dataclass(slots=True)
class UrlColumns:
    """A batch's distinct URLs in order of first appearance (each edge's source before
    its target), with each one's key (``url_hash``) and host, and each host's registrable
    domain: what :func:`.intern.intern` works out per URL, worked out beforehand by an
    import's reading process (:func:`.intern.located_edges`)."""

    urls: list[str]
    keys: np.ndarray  # int64, per URL
    hosts: list[str]  # distinct, in order of first appearance among the URLs
    host_at: np.ndarray  # per URL, its host's index in hosts
    domains: list[str]  # per host
    domain_at: np.ndarray  # per host, a code of its domain (equal codes, same domain)

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduced(self, ("urls", "hosts", "domains"))


@dataclass(slots=True)
class EdgeColumns:
    """A batch's edges, a list per field in row order, with the time each was seen.
    :meth:`locate` adds where each source and target is among the batch's URLs. With
    ``located``, the batch's URLs were found beforehand (:func:`.intern.located_edges`):
    ``source_at`` and ``target_at`` index them, and ``sources`` and ``targets`` are
    empty."""

    sources: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)
    rels: list[tuple[str, ...]] = field(default_factory=list)
    seen: np.ndarray = field(default_factory=lambda: _EMPTY)
    source_at: np.ndarray = field(default_factory=lambda: _EMPTY)
    target_at: np.ndarray = field(default_factory=lambda: _EMPTY)
    located: UrlColumns | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return _reduced(self, ("sources", "targets", "anchors"))

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
        return len(self.anchors)

    def edges(self) -> tuple[list[Edge], int]:
        """Located columns as plain rows again, ``(edges, seen)`` as :meth:`of` takes them
        (one time for all: :func:`.intern.located_edges` is given one chunk)."""
        assert self.located is not None
        urls = self.located.urls
        sources = map(urls.__getitem__, self.source_at.tolist())
        targets = map(urls.__getitem__, self.target_at.tolist())
        seen = int(self.seen[0]) if len(self.seen) else 0
        return list(zip(sources, targets, self.anchors, self.rels, strict=True)), seen

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
        n = len(self.anchors)
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


def rows_of_keys(first_seen: Mapping[tuple[int, ...], int]) -> np.ndarray:
    """Link rows (an ``(n, 8)`` array) from link keys (target, source, kind, anchor,
    placement, rel, flags), each mapped to its first seen time, ordered by target and
    source. A batch holds tens of thousands: built with ``np.fromiter``, not by sorting
    and converting tuples (a twentieth of a crawl's event loop)."""
    n = len(first_seen)
    rows = np.empty((n, 8), dtype=np.int64)
    flat = np.fromiter(itertools.chain.from_iterable(first_seen), dtype=np.int64, count=7 * n)
    rows[:, :7] = flat.reshape(n, 7)
    rows[:, 7] = np.fromiter(first_seen.values(), dtype=np.int64, count=n)
    return rows[np.lexsort((rows[:, 1], rows[:, 0]))]


def stored_rows(rows: np.ndarray | list[tuple]) -> np.ndarray:
    """Link rows (an ``(n, 8)`` array or a list of 8-tuples: target, source, kind, anchor,
    placement, rel, flags, first seen) as the links table stores them: ``(target, source,
    anchor, flags, first seen)``, kind, placement and rel packed into flags
    (:func:`.vocab.packed_flags_sql`: the table's kind, placement and rel_id are generated
    from those bits)."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 8)
    stored = rows[:, [0, 1, 3, 6, 7]]
    stored[:, 3] |= (
        (rows[:, 4] << PLACEMENT_SHIFT) | (rows[:, 2] << KIND_SHIFT) | (rows[:, 5] << REL_SHIFT)
    )
    return stored


async def insert_rows(
    conn: aiosqlite.Connection,
    rows: np.ndarray | list[tuple],
    queue: QueuedStatements | None = None,
) -> None:
    """Insert or see again link rows (an ``(n, 8)`` array, or a list of 8-tuples), as bound
    values: encoding them as JSON on the event loop's thread and parsing it again in SQLite
    cost more (a crawl's pages spent a tenth of the event loop's time in ``json.dumps``).
    With ``queue``, queued there (see :mod:`.queued`) instead of awaited."""
    if not len(rows):
        return
    await execute_rows(
        conn,
        lambda n: (
            "INSERT INTO links(target_id, source_id, anchor_id, flags, first_seen) VALUES "
            + ",".join(["(?,?,?,?,?)"] * n)
            + " ON CONFLICT DO UPDATE SET last_seen = excluded.first_seen, lost_at = NULL,"
            " lost_reason = NULL"
        ),
        stored_rows(rows),
        queue,
    )


async def stored_current(conn: aiosqlite.Connection, rows: np.ndarray, first_new: int) -> int:
    """How many of these link rows (an ``(n, 8)`` array) are stored and current: a
    primary-key probe for each whose source and target were both stored before the
    batch (ids below ``first_new``); a link with a URL the batch inserted cannot be
    stored yet."""
    from .intern import col, to_json  # intern builds EdgeColumns: imported when called

    old = stored_rows(rows[(rows[:, 0] < first_new) & (rows[:, 1] < first_new)])[:, :4]
    if not len(old):
        return 0
    found = await conn.execute_fetchall(
        "SELECT count(*) FROM json_each(?) j JOIN links l ON "
        + " AND ".join(f"l.{name} = {col(i, 'j.value')}" for i, name in enumerate(_KEY))
        + " WHERE l.lost_at IS NULL",
        (to_json(old.tolist()),),
    )
    return found[0][0]
