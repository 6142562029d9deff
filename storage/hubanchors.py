"""The anchor texts of hub URLs, counted ahead: what ``anchors`` reads for a hub instead
of every one of its links.

``anchors`` counts, per anchor text (and image or not), the distinct linking pages, the
followable ones and the distinct linking domains. From the links that is a group of
every link into the target with three distinct counts: 0.8 s of CPU at 508,443 links on
the 10M-link benchmark store, six times DuckDB over Parquet. For the hubs of
:mod:`.inlinks` (URLs with at least :data:`~.inlinks.HUB_LINKS` current external links),
``hub_anchors`` keeps one row per (target URL, anchor, linking domain), with exactly what
``anchors`` derives from those links under its default filter (current, external, kind
``link``, any placement):

- ``anchor``: the anchor's id times two, plus one for an image link (the two are
  separate records of ``anchors``);
- ``backlinks``: distinct linking pages of that domain with a link of that anchor;
- ``follow_backlinks``: those with at least one such link followable.

A hub's records are then a group of its rows by anchor (the rows of a domain count it
once): 32 ms of CPU for the 227,608 rows of that hub. The rows cost about 16 bytes each
(1.97M rows for the store's 41 hubs: 3.1 bytes a link).

The rows follow the hubs: counted when the store is migrated to this schema and when
``rank`` makes a URL a hub (:func:`.inlinks.refresh`), dropped when it stops being one,
and kept exact at every write by :class:`.inlinks.HubTracker`, which reads the links
into hubs of each batch's pages before and after it and hands the pairs that changed to
:func:`apply`. The counts are sums of per-page parts, with no oldest or newest time, so a
change is always a difference, never a recount.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .vocab import FLAG_IMAGE, FLAG_INTERNAL, NOT_FOLLOW_FLAGS

__all__ = ["ANCHOR_KEY", "INSERT_GROUPS", "Key", "apply", "count_all", "fresh", "pairs"]

# An anchor record's key over ``links l``: the anchor id, and whether it is an image.
ANCHOR_KEY = f"l.anchor_id * 2 + ((l.flags & {FLAG_IMAGE}) > 0)"
_COUNTED = f"l.kind = 0 AND l.lost_at IS NULL AND (l.flags & {FLAG_INTERNAL}) = 0"
_FOLLOW = f"(l.flags & {NOT_FOLLOW_FLAGS}) = 0"
# The rows of the hub URLs ``h.value`` (json_each), counted from their links. The
# migration to this schema repeats it in SQL of its own, as migrations never change.
INSERT_GROUPS = (
    "INSERT INTO hub_anchors(target_id, anchor, domain_id, backlinks, follow_backlinks)"
    f" SELECT l.target_id, {ANCHOR_KEY}, src.domain_id, count(DISTINCT l.source_id),"
    f" count(DISTINCT CASE WHEN {_FOLLOW} THEN l.source_id END)"
    " FROM json_each(?) h JOIN links l ON l.target_id = h.value"
    " JOIN link_sources src ON src.url_id = l.source_id"
    f" WHERE {_COUNTED} GROUP BY l.target_id, {ANCHOR_KEY}, src.domain_id"
)

# (target, source, anchor key) -> whether any of those links is followable.
Key = tuple[int, int, int]


async def pairs(conn: Any, sources: list[int], hubs: frozenset[int]) -> dict[Key, bool]:
    """The counted links from ``sources`` into hubs, one entry per (target, source,
    anchor key), driven by ``links_source`` as :func:`.inlinks._pairs` is."""
    if not sources or not hubs:
        return {}
    rows = await conn.execute_fetchall(
        f"SELECT l.target_id, l.source_id, {ANCHOR_KEY}, max({_FOLLOW}) FROM links l"
        " WHERE l.source_id IN (SELECT value FROM json_each(?))"
        " AND +l.target_id IN (SELECT value FROM json_each(?))"
        f" AND {_COUNTED} GROUP BY 1, 2, 3",
        (json.dumps(sources), json.dumps(sorted(hubs))),
    )
    return {(t, s, k): bool(f) for t, s, k, f in rows}


def fresh(
    rows: Iterable[tuple[Any, ...]], hubs: frozenset[int], known: set[int]
) -> dict[Key, bool]:
    """The entries of the sources not in ``known`` from the link rows a batch wrote
    (``target, source, kind, anchor, placement, rel, flags, seen``): all their links."""
    found: dict[Key, bool] = {}
    for target, source, kind, anchor, _, _, flags, _ in rows:
        if target not in hubs or kind != 0 or flags & FLAG_INTERNAL or source in known:
            continue
        key = (target, source, anchor * 2 + (1 if flags & FLAG_IMAGE else 0))
        found[key] = found.get(key, False) or not flags & NOT_FOLLOW_FLAGS
    return found


async def apply(conn: Any, before: dict[Key, bool], now: dict[Key, bool]) -> None:
    """Move the rows by the entries that appeared, went or changed between ``before``
    and ``now`` (each source's domain from ``link_sources``); drop rows left at zero."""
    changes = []
    for key in before.keys() | now.keys():
        old, new = before.get(key), now.get(key)
        if old != new:
            changes.append((*key, (new is not None) - (old is not None), bool(new) - bool(old)))
    if not changes:
        return
    # One row per change: (target, source, anchor key, backlinks delta, follow delta).
    deltas = (
        "SELECT j.value ->> 0 AS t, j.value ->> 2 AS k, src.domain_id AS d,"
        " sum(j.value ->> 3) AS n, sum(j.value ->> 4) AS nf FROM json_each(?) j"
        " JOIN link_sources src ON src.url_id = j.value ->> 1 WHERE true GROUP BY 1, 2, 3"
    )
    payload = json.dumps(changes)
    await conn.execute(
        "INSERT INTO hub_anchors(target_id, anchor, domain_id, backlinks, follow_backlinks)"
        f" SELECT t, k, d, n, nf FROM ({deltas}) WHERE true ON CONFLICT DO UPDATE"
        " SET backlinks = backlinks + excluded.backlinks,"
        " follow_backlinks = follow_backlinks + excluded.follow_backlinks",
        (payload,),
    )
    await conn.execute(
        "DELETE FROM hub_anchors WHERE backlinks = 0 AND (target_id, anchor, domain_id) IN"
        f" (SELECT t, k, d FROM ({deltas}))",
        (payload,),
    )


def count_all(conn: Any) -> None:
    """Count the rows of every hub again from its links (a sqlite3 connection in a
    transaction, ``link_sources`` filled): for a store whose links and hubs were written
    around the writer, a copy from another backend (:mod:`.pg.copy`)."""
    hubs = [t for (t,) in conn.execute("SELECT target_id FROM hub_targets")]
    conn.execute("DELETE FROM hub_anchors")
    conn.execute(INSERT_GROUPS, (json.dumps(hubs),))
