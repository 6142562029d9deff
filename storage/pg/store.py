"""The PostgreSQL store as the façade reads it: one connection in read-only transactions,
the queries of :mod:`.queries` and :mod:`.backlinks` behind the
:class:`~storage.interface.LinkReader` seam, as :class:`~storage.sqlite.SqliteStore`
puts SQLite's behind it.

    with PgStore.open("postgresql://crawler@db.example.org/links") as store:
        store.stats()

Every driver error a query meets becomes a :class:`~storage.errors.StoreError` naming the
store without its password (:func:`.connection.pg_errors`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..errors import CorruptStore
from ..reading import BackendReader
from . import audit as _audit
from . import backlinks as _backlinks
from . import queries
from .connection import pg_errors, redact
from .fleet import workers
from .schema import open_reader

if TYPE_CHECKING:
    from ..graphload import GraphArrays

__all__ = ["PgStore"]

_REQUIRED = ("domains", "hosts", "urls", "anchors", "rels", "links", "pages", "frontier")


class PgStore(BackendReader):
    """A PostgreSQL link store opened for reading (a ``LinkReader`` and ``AuditReader``);
    close it, or use ``with``."""

    _queries = queries
    _backlinks = _backlinks
    _anchors = _backlinks
    _audit = _audit

    def __init__(self, conn: Any, url: str) -> None:
        self._conn: Any | None = conn
        self.url = url

    @classmethod
    def open(cls, url: str, *, check: bool = False) -> PgStore:
        """Open the store at ``url``; ``check`` also runs :meth:`check`. Raises
        ``StoreNotFound``, ``NotAStore``, ``NewerSchema``, ``StoreError``..."""
        store = cls(open_reader(url), url)
        if check:
            try:
                store.check()
            except BaseException:
                store.close()
                raise
        return store

    def _name(self) -> str:
        return redact(self.url)

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with pg_errors(self.url):
            yield self.conn

    def check(self) -> None:
        """Every table the store needs is there (PostgreSQL checks its own pages)."""
        with self._reading() as conn:
            found = {
                name
                for (name,) in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE tablename = ANY(%s)", (list(_REQUIRED),)
                )
            }
        missing = sorted(set(_REQUIRED) - found)
        if missing:
            raise CorruptStore(
                f"{redact(self.url)} is a linkgraph store missing tables: {', '.join(missing)}"
            )

    def stats(self) -> dict[str, Any]:
        with self._reading() as conn:
            result = queries.stats(conn)
            # The crawl workers that joined (storage/pg/fleet.py); a store no worker wrote
            # (copied, imported) has none and gives the SQLite store's keys.
            joined = workers(conn)
            if joined:
                result["workers"] = joined
            return result

    # -- AuditReader: the graph and its scores ---------------------------------------

    def domain_authority(self) -> dict[int, float | None]:
        with self._reading() as conn:
            return _audit.domain_authority(conn)

    def link_graph(self) -> GraphArrays:
        with self._reading() as conn:
            return _audit.link_graph(conn)

    def node_names(self, level: str, ids: Iterable[int]) -> dict[int, str]:
        with self._reading() as conn:
            return _audit.node_names(conn, level, ids)

    def node_scores(self, level: str) -> dict[int, dict[str, Any]]:
        with self._reading() as conn:
            return _audit.node_scores(conn, level)
