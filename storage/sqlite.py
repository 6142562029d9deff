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
from typing import TYPE_CHECKING, Any

from . import anchortexts as _anchortexts
from . import audit as _audit
from . import backlinks as _backlinks
from . import inlinks as _inlinks
from . import queries, schema
from .errors import sqlite_errors
from .interface import LinkFilter, PageSpec
from .reading import BackendReader
from .records import Target

if TYPE_CHECKING:
    from .domainindex import DomainIndex
    from .graphload import GraphArrays

__all__ = ["SqliteStore"]


class SqliteStore(BackendReader):
    """A validated store file opened for reading (a ``LinkReader`` and ``AuditReader``);
    close it, or use ``with``."""

    _queries = queries
    _backlinks = _backlinks
    _anchors = _anchortexts
    _audit = _audit

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

    def _name(self) -> str:
        return os.fspath(self.path)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with sqlite_errors(self.path):
            yield self.conn

    @contextmanager
    def _about(self, target: str, mode: str | None) -> Iterator[tuple[sqlite3.Connection, Target]]:
        """The read connection and ``target`` resolved on it, for the list pages."""
        with self._reading() as conn:
            yield conn, _backlinks.resolve_target(conn, target, mode)

    def check(self) -> None:
        with self._reading() as conn:
            schema.quick_check(conn, self.path)

    def stats(self) -> dict[str, Any]:
        with self._reading() as conn:
            return queries.stats(conn)

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

    # -- AuditReader: graphload and scores load numpy: the methods that need them import
    # them, so that a query command (backlinks, top...) starts without it.

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
