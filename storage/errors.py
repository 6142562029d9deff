"""The store's exceptions, drawn here at the top so callers see the whole tree.

    StoreError              (a linkgraph.errors.LinkgraphError)
    ├── StoreNotFound       no file at that path (and we were not asked to create one)
    ├── NotAStore           not SQLite, or SQLite written by another program
    ├── NewerSchema         written by a newer linkgraph; we never downgrade or touch it
    ├── ReadOnlyStore       a write was asked of a store (or folder) we may not write
    └── CorruptStore        SQLite reports a damaged file (a malformed page, a bad header)

Every one carries a message fit for a one-line CLI error. :func:`from_sqlite` turns an
``sqlite3`` error into the right one: only SQLite's own corruption codes say "damaged",
so a locked, read-only or unopenable store is never called damaged.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from linkgraph.errors import LinkgraphError

__all__ = [
    "CorruptStore",
    "NewerSchema",
    "NotAStore",
    "ReadOnlyStore",
    "StoreError",
    "StoreNotFound",
    "from_sqlite",
    "sqlite_errors",
]


class StoreError(LinkgraphError):
    """Base of every error raised by ``storage``."""


class StoreNotFound(StoreError):
    pass


class NotAStore(StoreError):
    pass


class NewerSchema(StoreError):
    pass


class ReadOnlyStore(StoreError):
    pass


class CorruptStore(StoreError):
    pass


def from_sqlite(path: str | os.PathLike[str], exc: sqlite3.Error) -> StoreError:
    """The store error an ``sqlite3`` error on ``path`` stands for (raise it ``from None``)."""
    # sqlite_errorname is the extended code (SQLITE_CORRUPT_INDEX, SQLITE_READONLY_DIRECTORY...).
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return CorruptStore(f"{path} is damaged: {exc}")
    if name.startswith("SQLITE_READONLY"):
        return ReadOnlyStore(f"{path} is read-only: {exc}")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(f"{path} is locked by another process; try again when it is done")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return StoreError(f"cannot open {path}: {exc}")
    return StoreError(f"{path}: SQLite error: {exc}")


@contextmanager
def sqlite_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """Raise the store error that an ``sqlite3`` error inside the block stands for, so no
    ``sqlite3`` exception leaves the store (a query can meet a damaged page or a lock long
    after the opening checked the file)."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(path, exc) from None
