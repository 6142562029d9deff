"""The registrable domain of every page that has links, one narrow row a page.

``anchors`` counts the distinct domains linking with each anchor text, so it needs the
domain of every linking page; a link row holds the page, not its domain. Looking that up
through ``urls`` (2.2M rows of about 90 bytes on the 10M-link benchmark store) and
``hosts`` costs a page of ``urls`` read per link: about 20 of the 38 ms ``anchors`` took at
10,000 links. ``source_domains`` holds just (page, domain) for the pages with links:
250,000 rows, 2.8 MB, 0.28 bytes a link on that store, whose B-tree stays in the page
cache after a few hundred lookups.

A URL's domain never changes (a URL keeps its host, a host its domain), so a row is never
stale and nothing ever updates or deletes one. Rows are added where links are: the
migration to this schema adds every page that had links, and :func:`add_sources` the new
ones of each batch, in the transaction that writes their first links
(:mod:`.commit`, the one place links are inserted). Every source of a link has its row:
the queries join it like any other table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

__all__ = ["JOIN_SOURCE_DOMAIN", "add_sources"]

# The linking page's domain as ``sd.domain_id``, for queries over ``links l``.
JOIN_SOURCE_DOMAIN = "JOIN source_domains sd ON sd.url_id = l.source_id"


async def add_sources(conn: Any, sources: Iterable[int]) -> None:
    """Give these pages (URL ids) their rows, if they have none yet (an aiosqlite
    connection inside the batch's transaction)."""
    ids = sorted(set(sources))
    if ids:
        await conn.execute(
            "INSERT OR IGNORE INTO source_domains(url_id, domain_id) SELECT s.id, h.domain_id"
            " FROM json_each(?) j JOIN urls s ON s.id = j.value JOIN hosts h ON h.id = s.host_id",
            (json.dumps(ids),),
        )
