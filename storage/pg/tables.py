"""The page and link tables of a PostgreSQL store as plain rows, for ``export --format
parquet``: the SQL and row naming of :mod:`storage.tables`, read through server-side
cursors (a batch of rows in memory at a time) in one snapshot."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..tables import LINK_ROWS_SQL, fetched, named_link_rows, page_rows_sql
from .connection import pg_errors
from .schema import open_reader

__all__ = ["table_rows"]


@contextmanager
def table_rows(
    url: str | os.PathLike[str],
) -> Iterator[tuple[Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]]:
    """The store's link rows and page rows (:func:`storage.tables.table_rows`)."""
    url = os.fspath(url)
    with (
        open_reader(url) as conn,
        pg_errors(url),
        conn.transaction(),
        conn.cursor(name="linkgraph_link_rows") as links,
        conn.cursor(name="linkgraph_page_rows") as pages,
    ):
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        links.execute(LINK_ROWS_SQL)
        pages.execute(page_rows_sql("url_id"))
        yield named_link_rows(fetched(links)), fetched(pages)
