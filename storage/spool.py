"""A scratch SQLite file that sorts an import's rows on disk (``import-parquet``).

An export's links arrive in any order but the writer wants each source page's links
together, with its page row: the spool keeps them in a file beside the store, hands the
links back grouped by source (SQLite's sort spills to disk) and finds pages by URL, so an
import's memory stays bounded whatever the export's size.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["Spool"]


class Spool:
    """Link rows (``link_fields``) and page rows (``page_fields``, the first the URL)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        link_fields: tuple[str, ...],
        page_fields: tuple[str, ...],
    ) -> None:
        self.link_fields, self.page_fields = link_fields, page_fields
        self._conn = sqlite3.connect(path)
        # Scratch: nothing to recover after a crash, so no journal and no syncs.
        self._conn.execute("PRAGMA journal_mode = OFF")
        self._conn.execute("PRAGMA synchronous = OFF")
        self._conn.execute(f"CREATE TABLE links ({', '.join(link_fields)})")
        self._conn.execute(f"CREATE TABLE pages ({', '.join(page_fields)}, used INTEGER DEFAULT 0)")
        self._conn.execute(f"CREATE INDEX pages_url ON pages ({page_fields[0]})")

    def add_links(self, rows: Iterable[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(self.link_fields))
        self._conn.executemany(f"INSERT INTO links VALUES ({marks})", rows)

    def add_pages(self, rows: Iterable[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(self.page_fields))
        names = ", ".join(self.page_fields)
        self._conn.executemany(f"INSERT INTO pages ({names}) VALUES ({marks})", rows)

    def counts(self) -> tuple[int, int]:
        links = self._conn.execute("SELECT count(*) FROM links").fetchone()[0]
        return links, self._conn.execute("SELECT count(*) FROM pages").fetchone()[0]

    def links(self, fields: Iterable[str], *, by_source: bool = False) -> Iterator[tuple[Any, ...]]:
        """Link rows (``fields`` of them); ``by_source``: sorted by the first link field,
        in the order they were added within a source."""
        order = f" ORDER BY {self.link_fields[0]}, rowid" if by_source else ""
        # A cursor of its own, so page look-ups can run on the connection meanwhile.
        yield from self._conn.cursor().execute(f"SELECT {', '.join(fields)} FROM links{order}")

    def take_page(self, url: str) -> dict[str, Any] | None:
        """The page row of ``url`` not taken yet (then marked taken), or ``None``."""
        found = self._conn.execute(
            f"SELECT rowid, {', '.join(self.page_fields)} FROM pages"
            f" WHERE {self.page_fields[0]} = ? AND NOT used LIMIT 1",
            (url,),
        ).fetchone()
        if found is None:
            return None
        self._conn.execute("UPDATE pages SET used = 1 WHERE rowid = ?", (found[0],))
        return dict(zip(self.page_fields, found[1:], strict=True))

    def untaken_pages(self) -> Iterator[dict[str, Any]]:
        cur = self._conn.cursor().execute(
            f"SELECT {', '.join(self.page_fields)} FROM pages WHERE NOT used"
        )
        for found in cur:
            yield dict(zip(self.page_fields, found, strict=True))

    def pages(self, fields: Iterable[str]) -> Iterator[tuple[Any, ...]]:
        yield from self._conn.cursor().execute(f"SELECT {', '.join(fields)} FROM pages")

    def close(self) -> None:
        self._conn.close()
