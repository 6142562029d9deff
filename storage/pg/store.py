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
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..errors import CorruptStore, StoreError
from ..interface import Gap, LinkFilter
from ..records import BacklinkDetail, Target
from . import audit as _audit
from . import backlinks as _backlinks
from . import queries
from .connection import pg_errors, redact
from .schema import open_reader

if TYPE_CHECKING:
    from ..graphload import GraphArrays

__all__ = ["PgStore"]

_REQUIRED = ("domains", "hosts", "urls", "anchors", "rels", "links", "pages", "frontier")


class PgStore:
    """A PostgreSQL link store opened for reading (a ``LinkReader`` and ``AuditReader``);
    close it, or use ``with``."""

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

    @property
    def conn(self) -> Any:
        if self._conn is None:
            raise StoreError(f"{redact(self.url)} is closed")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PgStore:
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
        return f"<PgStore {redact(self.url)!r} {state}>"

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

    def resolve_target(self, target: str, mode: str | None = None) -> Target:
        with self._reading() as conn:
            return _backlinks.resolve_target(conn, target, mode)

    def backlinks(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None, sort: str
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            t = _backlinks.resolve_target(conn, target, mode)
            return _backlinks.backlinks(conn, t, where, limit=limit, sort=sort)

    def referring_domains(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            t = _backlinks.resolve_target(conn, target, mode)
            return _backlinks.referring_domains(conn, t, where, limit=limit)

    def anchors(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            t = _backlinks.resolve_target(conn, target, mode)
            return _backlinks.anchors(conn, t, where, limit=limit)

    def top(self, *, level: str, limit: int | None) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return _backlinks.top(conn, level=level, limit=limit)

    def intersect(self, gap: Gap, *, limit: int | None) -> list[dict[str, Any]]:
        with self._reading() as conn:
            read = _backlinks.resolve_target
            return _backlinks.intersect(
                conn,
                [read(conn, c, gap.mode) for c in gap.competitors],
                exclude=read(conn, gap.exclude, gap.mode) if gap.exclude else None,
                min_count=gap.min_count,
                limit=limit,
                include_lost=gap.include_lost,
            )

    # -- AuditReader: what the audits and the graph export read ------------------------

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
