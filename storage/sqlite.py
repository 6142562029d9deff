"""The SQLite store as the façade reads it: one read-only connection, the query functions
of :mod:`.queries` and :mod:`.backlinks` behind the :class:`~.interface.LinkReader` seam, and
those of :mod:`.audit`, :mod:`.graphload` and :mod:`.scores` behind
:class:`~.interface.AuditReader`.

Open it once and ask it many questions::

    with SqliteStore.open("links.db") as store:
        store.stats()
        store.top(level="domain", limit=20)

Every SQLite error a query meets becomes a :class:`~.errors.StoreError`, as on opening
(:func:`~.errors.sqlite_errors`), so no ``sqlite3`` exception crosses the seam.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import anchortexts as _anchortexts
from . import audit as _audit
from . import backlinks as _backlinks
from . import inlinks as _inlinks
from . import queries, schema
from .errors import StoreError, sqlite_errors
from .interface import Gap, LinkFilter, PageSpec
from .records import BacklinkDetail, Target

if TYPE_CHECKING:
    from .domainindex import DomainIndex
    from .graphload import GraphArrays

__all__ = ["SqliteStore"]


class SqliteStore:
    """A validated store file opened for reading (a ``LinkReader`` and ``AuditReader``);
    close it, or use ``with``."""

    def __init__(self, conn: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = Path(path)
        self._index: DomainIndex | None = None

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, check: bool = False) -> SqliteStore:
        """Open the store at ``path`` read-only (an older schema of ours is migrated first);
        ``check`` also runs SQLite's ``quick_check``. Raises ``StoreNotFound``,
        ``NotAStore``, ``NewerSchema``, ``CorruptStore``..."""
        return cls(schema.connect(path, readonly=True, check=check), path)

    @property
    def conn(self) -> sqlite3.Connection:
        """The read connection every method reads on (the store's query modules take it)."""
        if self._conn is None:
            raise StoreError(f"{self.path} is closed")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"<SqliteStore {os.fspath(self.path)!r} {state}>"

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with sqlite_errors(self.path):
            yield self.conn

    @contextmanager
    def _about(self, target: str, mode: str | None) -> Iterator[tuple[sqlite3.Connection, Target]]:
        """The read connection and ``target`` resolved on it, for the backlink queries."""
        with self._reading() as conn:
            yield conn, _backlinks.resolve_target(conn, target, mode)

    def check(self) -> None:
        with self._reading() as conn:
            schema.quick_check(conn, self.path)

    def stats(self) -> dict[str, Any]:
        with self._reading() as conn:
            return queries.stats(conn)

    def crawl_record(self) -> dict[str, Any] | None:
        with self._reading() as conn:
            return queries.crawl_record(conn)

    def url_outcomes(self, urls: list[str]) -> dict[str, tuple[int | None, str | None]]:
        with self._reading() as conn:
            return queries.url_outcomes(conn, urls)

    def iter_links(self, *, include_lost: bool = False) -> Iterator[dict[str, Any]]:
        with self._reading() as conn:
            yield from queries.iter_links(conn, include_lost=include_lost)

    def backlinks(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None, sort: str
    ) -> list[dict[str, Any]]:
        with self._about(target, mode) as (conn, t):
            return _backlinks.backlinks(conn, t, where, limit=limit, sort=sort)

    def referring_domains(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._about(target, mode) as (conn, t):
            return _backlinks.referring_domains(conn, t, where, limit=limit)

    def anchors(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._about(target, mode) as (conn, t):
            return _anchortexts.anchors(conn, t, where, limit=limit)

    def top(self, *, level: str, limit: int | None) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return _backlinks.top(conn, level=level, limit=limit)

    # The pages of `linkgraph serve` (interface.PageReader): a page of a list and its size.

    def domain_index(self) -> DomainIndex:
        """The hosts' and domains' arrays the pages rank hub domains with, read on first
        use and again when the store has changed (storage.domainindex)."""
        from .domainindex import current_index

        with self._reading() as conn:
            self._index = current_index(conn, self._index)
            return self._index

    def backlinks_page(
        self, target: str, where: LinkFilter, *, mode: str | None, page: PageSpec, sort: str
    ) -> tuple[list[dict[str, Any]], int]:
        from . import listpages as _listpages

        with self._about(target, mode) as (conn, t):
            return _listpages.backlinks_page(conn, t, where, sort=sort, **page.keywords())

    def referring_domains_page(
        self, target: str, where: LinkFilter, *, mode: str | None, page: PageSpec
    ) -> tuple[list[dict[str, Any]], int]:
        from . import listpages as _listpages

        with self._about(target, mode) as (conn, t):
            return _listpages.referring_domains_page(
                conn, t, where, index=self.domain_index, **page.keywords()
            )

    def anchors_page(
        self, target: str, where: LinkFilter, *, mode: str | None, page: PageSpec
    ) -> tuple[list[dict[str, Any]], int]:
        from . import listpages as _listpages

        with self._about(target, mode) as (conn, t):
            hub = where == LinkFilter() and _inlinks.hubs_among(conn, t.url_ids_sql, t.params)
            return _listpages.anchors_page(conn, t, where, hub=hub, **page.keywords())

    def target_overview(
        self, target: str, *, mode: str | None, include_internal: bool = False, top: int = 10
    ) -> dict[str, Any]:
        from . import overview as _overview

        with self._about(target, mode) as (conn, t):
            links, changes = _overview.link_summary(conn, t, include_internal=include_internal)
            where = LinkFilter(include_internal=include_internal)
            domains = _overview.domain_summary(conn, t, where, top=top, index=self.domain_index)
            return {"links": links, "domains": domains, "changes": changes}

    def authority_of(self, level: str, name: str) -> float | None:
        from . import overview as _overview

        with self._reading() as conn:
            return _overview.authority_of(conn, level, name)

    def intersect(self, gap: Gap, *, limit: int | None) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return _backlinks.intersect(
                conn,
                [_backlinks.resolve_target(conn, c, gap.mode) for c in gap.competitors],
                exclude=_backlinks.resolve_target(conn, gap.exclude, gap.mode)
                if gap.exclude
                else None,
                min_count=gap.min_count,
                limit=limit,
                include_lost=gap.include_lost,
            )

    # -- AuditReader: what the audits and the graph export read ------------------------
    # graphload and scores load numpy: the methods that need them import them, so that a
    # query command (backlinks, top...) starts without it.

    def resolve_target(self, target: str, mode: str | None = None) -> Target:
        with self._reading() as conn:
            return _backlinks.resolve_target(conn, target, mode)

    def backlink_details(self, target: Target, where: LinkFilter) -> list[BacklinkDetail]:
        with self._reading() as conn:
            return _audit.backlink_details(conn, target, where)

    def domain_sizes(self, domain_ids: set[int]) -> dict[int, int]:
        with self._reading() as conn:
            return _audit.domain_sizes(conn, domain_ids)

    def page_texts(self, url_ids: set[int]) -> dict[int, str]:
        with self._reading() as conn:
            return _audit.page_texts(conn, url_ids)

    def target_domain_links_to(self, target: Target, domain_ids: set[int]) -> set[int]:
        with self._reading() as conn:
            return _audit.target_domain_links_to(conn, target, domain_ids)

    def domain_authority(self) -> dict[int, float | None]:
        from . import scores

        with self._reading() as conn:
            return scores.domain_authority(conn)

    def link_graph(self) -> GraphArrays:
        from .graphload import load_graph

        with self._reading() as conn:
            return load_graph(conn)

    def node_names(self, level: str, ids: Iterable[int]) -> dict[int, str]:
        from . import scores

        with self._reading() as conn:
            return scores.node_names(conn, level, ids)

    def node_scores(self, level: str) -> dict[int, dict[str, Any]]:
        from . import scores

        with self._reading() as conn:
            return scores.node_scores(conn, level)

    def changes(
        self, target: Target, *, since: str | None, by: str, include_internal: bool
    ) -> dict[str, list[dict[str, Any]]]:
        with self._reading() as conn:
            return _audit.changes(
                conn, target, since=since, by=by, include_internal=include_internal
            )

    def broken_links(
        self, target: Target | None, *, outbound: bool, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return _audit.broken_links(conn, target, outbound=outbound, limit=limit)

    def mentions(
        self, phrase: str, *, exclude_linking: Target | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return _audit.mentions(conn, phrase, exclude_linking=exclude_linking, limit=limit)
