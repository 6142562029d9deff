"""What a façade function reads: a store's path, opened for the call, or a store the
caller opened once with :func:`linkgraph.open_store`.

The query functions (:mod:`linkgraph.api`), the audits (:mod:`linkgraph.audit`) and the
graph export (:mod:`linkgraph.graphs`) all go through :func:`reading`, so the backend a
path opens is chosen here, in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TypeVar, overload

from linkgraph.storage.interface import AuditReader, LinkReader
from linkgraph.storage.sqlite import SqliteStore

__all__ = ["AuditStore", "reading"]

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
        with SqliteStore.open(db, check=check) as store:
            yield store
        return
    if check:
        db.check()
    yield db
