"""Statements of a batch handed to SQLite's thread without waiting for each.

A batch's Python (ids, link rows, source rows) and its SQL ran one after the other: the
event loop waited for each statement, then SQLite's thread waited for the next. SQLite
releases the GIL while it steps a statement, so an import's large inserts (new URLs,
links, ``link_sources`` rows), which nothing later in the batch reads back, are queued
here and run while the event loop prepares what follows.

Safety rests on :meth:`QueuedStatements.drain`: the batch's COMMIT (or ROLLBACK) is sent
only once every queued statement has finished, and COMMIT only if all succeeded. A
statement that fails inside a transaction does not end it in SQLite, so a COMMIT sent
behind a failed insert would store the batch without its rows; and a statement still
waiting to be queued when the ROLLBACK went out would run after it, outside any
transaction, and be stored for good.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import aiosqlite

from .dialect import SQLITE_BOUND_VALUES

__all__ = ["QueuedStatements", "execute_all", "execute_rows", "in_transaction"]

_T = TypeVar("_T")


class QueuedStatements:
    """Statements run on one aiosqlite connection, in the order given, not awaited one by
    one. Only for statements whose results nobody reads, and which nothing awaited on the
    connection before :meth:`drain` depends on (they may run before or after it)."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._tasks: list[asyncio.Task[Any]] = []

    def execute(self, sql: str, parameters: Sequence[Any]) -> None:
        """Queue ``sql``: it runs once the event loop next waits (see :meth:`start`)."""
        self._tasks.append(asyncio.ensure_future(self._run(sql, parameters)))

    async def _run(self, sql: str, parameters: Sequence[Any]) -> None:
        await (await self._conn.execute(sql, parameters)).close()

    async def start(self) -> None:
        """Let the queued statements reach SQLite's thread now (each task puts its
        statement in the connection's queue at its first step), before the caller goes
        on with Python."""
        await asyncio.sleep(0)

    async def drain(self) -> None:
        """Wait for every queued statement; then raise the first one's error, if any."""
        if not self._tasks:
            return
        # wait, not gather: cancelling the caller must not cancel a statement that may
        # be in SQLite's queue already. The tasks stay listed until all are done, so a
        # drain cancelled half way is finished by the next (the caller's, before its
        # ROLLBACK).
        await asyncio.wait(self._tasks)
        tasks, self._tasks = self._tasks, []
        errors = [t.exception() for t in tasks if not t.cancelled()]  # each one retrieved
        for error in errors:
            if error is not None:
                raise error


async def execute_all(
    conn: aiosqlite.Connection,
    statements: Iterable[tuple[str, Sequence[Any]]],
    queue: QueuedStatements | None = None,
) -> None:
    """Run ``(sql, parameters)`` statements in order: each awaited, or with ``queue``
    queued there and handed to SQLite's thread before this returns."""
    for sql, parameters in statements:
        if queue is None:
            await conn.execute(sql, parameters)
        else:
            queue.execute(sql, parameters)
    if queue is not None:
        await queue.start()


async def execute_rows(
    conn: aiosqlite.Connection,
    sql_for: Callable[[int], str],
    rows: Any,
    queue: QueuedStatements | None = None,
) -> None:
    """``rows`` (a 2-D numpy array) as bound values, in as few statements as SQLite's
    limit on bound values allows: ``sql_for(n)`` is the statement for ``n`` rows. As
    :func:`execute_all` runs them."""
    per = max(1, SQLITE_BOUND_VALUES // max(1, rows.shape[1]))
    parts = (rows[start : start + per] for start in range(0, len(rows), per))
    await execute_all(conn, ((sql_for(len(part)), part.ravel().tolist()) for part in parts), queue)


async def in_transaction(
    conn: aiosqlite.Connection, write: Callable[[QueuedStatements], Awaitable[_T]]
) -> _T:
    """``write(queue)`` in the transaction the caller began, then COMMIT once every
    statement it queued has succeeded; on any error (or cancellation) ROLLBACK, sent
    after every queued statement has finished."""
    queue = QueuedStatements(conn)
    try:
        result = await write(queue)
        await queue.drain()
        await conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):  # the error raised is the first one
            await queue.drain()
        await conn.execute("ROLLBACK")
        raise
    return result
