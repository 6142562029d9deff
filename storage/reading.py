"""What both stores answer the same way: hand their read connection to a backend module.

:class:`~.sqlite.SqliteStore` and :class:`~.pg.store.PgStore` differ in how they open,
check and guard a connection, and in the modules that hold their SQL: ``storage.queries``,
``storage.backlinks``, ``storage.audit`` for SQLite, their namesakes under
``storage.pg`` for PostgreSQL, with the same functions of the same signatures. The
methods here are written once against those modules, which each store class names in
its ``_queries``, ``_backlinks``, ``_anchors`` and ``_audit`` attributes.

A store class provides ``_reading()`` (the open connection, its driver's errors turned
into :class:`~.errors.StoreError`) and ``_name()`` (how messages name it: a path, or a
URL without its password).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from types import ModuleType, TracebackType
from typing import Any, ClassVar, Self

from .errors import StoreError
from .interface import Gap, LinkFilter
from .records import BacklinkDetail, Target

__all__ = ["BackendReader"]


class BackendReader:
    """The connection's life and the read methods that only pass it to a backend module."""

    _queries: ClassVar[ModuleType]  # stats, crawl_record, url_outcomes, iter_links
    _backlinks: ClassVar[ModuleType]  # resolve_target, backlinks, referring_domains, top, intersect
    _anchors: ClassVar[ModuleType]  # anchors
    _audit: ClassVar[ModuleType]  # the AuditReader queries that need no numpy

    _conn: Any | None

    def _reading(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _name(self) -> str:
        raise NotImplementedError

    @property
    def conn(self) -> Any:
        """The read connection every method reads on (the store's query modules take it)."""
        if self._conn is None:
            raise StoreError(f"{self._name()} is closed")
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
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
        return f"<{type(self).__name__} {self._name()!r} {state}>"

    # -- LinkReader ----------------------------------------------------------------------

    def crawl_record(self) -> dict[str, Any] | None:
        with self._reading() as conn:
            return self._queries.crawl_record(conn)

    def url_outcomes(self, urls: list[str]) -> dict[str, tuple[int | None, str | None]]:
        with self._reading() as conn:
            return self._queries.url_outcomes(conn, urls)

    def iter_links(self, *, include_lost: bool = False) -> Iterator[dict[str, Any]]:
        with self._reading() as conn:
            yield from self._queries.iter_links(conn, include_lost=include_lost)

    def resolve_target(self, target: str, mode: str | None = None) -> Target:
        with self._reading() as conn:
            return self._backlinks.resolve_target(conn, target, mode)

    def backlinks(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None, sort: str
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            t = self._backlinks.resolve_target(conn, target, mode)
            return self._backlinks.backlinks(conn, t, where, limit=limit, sort=sort)

    def referring_domains(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            t = self._backlinks.resolve_target(conn, target, mode)
            return self._backlinks.referring_domains(conn, t, where, limit=limit)

    def anchors(
        self, target: str, where: LinkFilter, *, mode: str | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            t = self._backlinks.resolve_target(conn, target, mode)
            return self._anchors.anchors(conn, t, where, limit=limit)

    def top(self, *, level: str, limit: int | None) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return self._backlinks.top(conn, level=level, limit=limit)

    def intersect(self, gap: Gap, *, limit: int | None) -> list[dict[str, Any]]:
        with self._reading() as conn:
            read = self._backlinks.resolve_target
            return self._backlinks.intersect(
                conn,
                [read(conn, c, gap.mode) for c in gap.competitors],
                exclude=read(conn, gap.exclude, gap.mode) if gap.exclude else None,
                min_count=gap.min_count,
                limit=limit,
                include_lost=gap.include_lost,
            )

    # -- AuditReader: the queries that need no numpy -------------------------------------

    def backlink_details(self, target: Target, where: LinkFilter) -> list[BacklinkDetail]:
        with self._reading() as conn:
            return self._audit.backlink_details(conn, target, where)

    def domain_sizes(self, domain_ids: set[int]) -> dict[int, int]:
        with self._reading() as conn:
            return self._audit.domain_sizes(conn, domain_ids)

    def page_texts(self, url_ids: set[int]) -> dict[int, str]:
        with self._reading() as conn:
            return self._audit.page_texts(conn, url_ids)

    def target_domain_links_to(self, target: Target, domain_ids: set[int]) -> set[int]:
        with self._reading() as conn:
            return self._audit.target_domain_links_to(conn, target, domain_ids)

    def changes(
        self, target: Target, *, since: str | None, by: str, include_internal: bool
    ) -> dict[str, list[dict[str, Any]]]:
        with self._reading() as conn:
            return self._audit.changes(
                conn, target, since=since, by=by, include_internal=include_internal
            )

    def broken_links(
        self, target: Target | None, *, outbound: bool, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return self._audit.broken_links(conn, target, outbound=outbound, limit=limit)

    def mentions(
        self, phrase: str, *, exclude_linking: Target | None, limit: int | None
    ) -> list[dict[str, Any]]:
        with self._reading() as conn:
            return self._audit.mentions(conn, phrase, exclude_linking=exclude_linking, limit=limit)
