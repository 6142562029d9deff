"""What a façade function reads: a store's path or PostgreSQL URL, opened for the call,
or a store the caller opened once with :func:`linkgraph.open_store`.

The query functions (:mod:`linkgraph.api`), the audits (:mod:`linkgraph.audit`) and the
graph export (:mod:`linkgraph.graphs`) all go through :func:`reading`, so the backend a
``--db`` value opens is chosen here, in one place: a value starting ``postgresql://`` or
``postgres://`` is a PostgreSQL store (:mod:`linkgraph.storage.pg`), anything else a
SQLite file. The imports open their writer here too (:func:`open_writer`); every command
refuses a URL of another scheme (:func:`refuse_other_urls`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, overload

from linkgraph.storage.errors import StoreError
from linkgraph.storage.interface import AuditReader, LinkReader
from linkgraph.storage.pg import is_pg_url, redact
from linkgraph.storage.sqlite import SqliteStore

if TYPE_CHECKING:
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.writer import StoreWriter

__all__ = [
    "AuditStore",
    "copy",
    "init_db",
    "open_reader",
    "open_writer",
    "reading",
    "refuse_other_urls",
    "shown",
]

# What the audits and the graph export read: a store's path, or a store the caller opened.
AuditStore = str | os.PathLike[str] | AuditReader

R = TypeVar("R", bound=LinkReader)


@overload
def reading(
    db: str | os.PathLike[str], *, check: bool = False
) -> AbstractContextManager[SqliteStore]: ...


@overload
def reading(db: R, *, check: bool = False) -> AbstractContextManager[R]: ...


@contextmanager
def reading(
    db: str | os.PathLike[str] | LinkReader, *, check: bool = False
) -> Iterator[LinkReader]:
    """The store ``db`` names: opened (and closed) here for a path, as given when open
    (``check``: its health check first, in both cases)."""
    if isinstance(db, str | os.PathLike):
        with open_reader(db, check=check) as store:
            yield store
        return
    if check:
        db.check()
    yield db


def open_reader(db: str | os.PathLike[str], *, check: bool = False) -> AuditReader:
    """The store ``db`` names, opened for reading: a PostgreSQL store for a
    ``postgresql://`` URL, else the SQLite file at that path."""
    if is_pg_url(db):
        from linkgraph.storage.pg.store import PgStore

        return PgStore.open(os.fspath(db), check=check)
    refuse_other_urls(db)
    return SqliteStore.open(db, check=check)


async def open_writer(db: str | os.PathLike[str], *, bulk: bool = False) -> StoreWriter | PgWriter:
    """The batched writer of the store ``db`` names (created if missing), for the imports:
    PostgreSQL's for a ``postgresql://`` URL, else SQLite's (``bulk``: its import mode,
    :meth:`StoreWriter.open`). Use it as ``async with await open_writer(db) as writer``."""
    if is_pg_url(db):
        from linkgraph.storage.pg.writer import PgWriter

        return await PgWriter.open(os.fspath(db))
    refuse_other_urls(db)
    from linkgraph.storage.writer import StoreWriter

    return await StoreWriter.open(db, bulk=bulk)


def refuse_other_urls(db: object, what: str = "--db") -> None:
    """A ``--db`` (or the store argument ``what``) that looks like a URL of another scheme
    (``postgresq://``, ``mysql://``) is a mistake, not a file name: say so, without the
    password it may carry, instead of creating folders named after it or printing it in a
    "not found"."""
    text = os.fspath(db) if isinstance(db, str | os.PathLike) else ""
    if isinstance(text, str) and "://" in text and not is_pg_url(text):
        scheme = text.split("://", 1)[0]
        raise StoreError(
            f"{what} {redact(text)}: {scheme}:// is not a store linkgraph knows: give a file"
            " path (SQLite) or a postgresql:// URL"
        )


def refuse_overwriting_store(output: object) -> None:
    """An ``--output`` file that is a SQLite database is refused: ``export --db links.db
    --output links.db`` (for ``links.csv``) would replace the store, or another one, by
    an export of it. Only regular files are looked at (opening a FIFO would block)."""
    if not isinstance(output, str | os.PathLike) or not Path(output).is_file():
        return
    from linkgraph.storage.schema import SQLITE_MAGIC

    with suppress(OSError), open(output, "rb") as fh:
        if fh.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC:
            raise StoreError(
                f"{os.fspath(output)} is a SQLite database (a store?): --output will not"
                " write over it; give another file name"
            )


def shown(db: object) -> str:
    """``db`` as a message may show it: a PostgreSQL URL without its password."""
    text = os.fspath(db) if isinstance(db, str | os.PathLike) else repr(db)
    return redact(text) if is_pg_url(text) else text


def init_db(db: str | os.PathLike[str]) -> dict[str, int]:
    """Create the link store schema at ``db`` (a PostgreSQL URL, or a SQLite path), or bring
    a store of ours up to date. Returns ``{"before": version, "after": version}``: equal
    when it was up to date, ``before`` 0 when it was created. A database that is not ours,
    or from a newer linkgraph, raises before anything is written.

    Example::

        linkgraph.init_db("postgresql://crawler@db.example.org/links")
    """
    if is_pg_url(db):
        from linkgraph.storage.pg.schema import init_db as init_pg

        before, after = init_pg(os.fspath(db))
        return {"before": before, "after": after}
    from linkgraph.storage import schema

    refuse_other_urls(db, "URL")
    before = schema.inspect_file(db) or 0
    schema.connect(db, create=True).close()
    return {"before": before, "after": schema.SCHEMA_VERSION}


def copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> dict[str, int]:
    """Copy the whole store at ``src`` into the new or empty store at ``dst``, each a
    SQLite path or a PostgreSQL URL: every table, every row, ids kept. Returns the rows
    copied per table. A ``dst`` holding anything is refused before anything is written.

    Example::

        linkgraph.copy("links.db", "postgresql://crawler@db.example.org/links")
    """
    from linkgraph.storage.pg.copy import copy_store

    refuse_other_urls(src, "SRC")
    refuse_other_urls(dst, "DST")
    return copy_store(src, dst)
