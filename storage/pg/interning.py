"""Interning a batch's values (URLs, hosts, domains, anchors, rels) into a PostgreSQL
store: one statement a table inserts the missing rows and reads every id, and a writer
remembers the ids of its committed batches so that later batches send only new values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Interned", "intern_names", "intern_rows"]


class Interned:
    """Ids this writer has seen in committed batches, per table, so that a later batch
    sends only the values it has not (on the 1,000-host demo web, more than half of a
    batch's URLs and most of its anchors and hosts had been in an earlier one). Ids are
    never deleted or changed once committed, so a remembered one stays true; one learned
    in a transaction that then rolls back would not, so a batch's are kept apart and
    remembered only when it commits (:meth:`commit`).

    Two generations of at most ``limit`` values a table: a value found in the older one
    moves to the newer, and when the newer is full it becomes the older, the older
    forgotten. So the values of recent batches stay, and the memory is bounded (about
    15 MB at the default, most of it URLs)."""

    def __init__(self, limit: int = 50_000) -> None:
        self.limit = limit
        self._new: dict[str, dict[Any, int]] = {}
        self._old: dict[str, dict[Any, int]] = {}
        self._pending: dict[str, dict[Any, int]] = {}

    def begin(self) -> None:
        """A batch's transaction begins: forget what a failed one learned."""
        self._pending = {}

    def split(self, table: str, values: list[Any]) -> tuple[dict[Any, int], list[int]]:
        """The ids of those of ``values`` remembered, and the indexes of the others."""
        new = self._new.setdefault(table, {})
        old = self._old.get(table, {})
        found: dict[Any, int] = {}
        rest: list[int] = []
        for i, value in enumerate(values):
            known = new.get(value)
            if known is None:
                known = old.get(value)
                if known is None:
                    rest.append(i)
                    continue
                new[value] = known
            found[value] = known
        return found, rest

    def learn(self, table: str, ids: dict[Any, int]) -> None:
        self._pending.setdefault(table, {}).update(ids)

    def commit(self) -> None:
        """The batch committed: remember what it learned."""
        for table, ids in self._pending.items():
            new = self._new.setdefault(table, {})
            new.update(ids)
            if len(new) > self.limit:
                self._old[table], self._new[table] = new, {}
        self._pending = {}


async def intern_rows(
    conn: Any,
    table: str,
    columns: dict[str, str],
    values: list[Any],
    match: str,
    interned: Interned | None = None,
    more: Callable[[list[Any]], list[list[Any]]] | None = None,
) -> dict:
    """Intern ``values`` (the first of ``columns``, name -> type) into ``table``, unique on
    the ``match`` columns; returns value -> id for every one. ``more`` gives the other
    columns of the values sent, one list per column. With ``interned``, the values it
    remembers are not sent (nor their other columns made), and the others' ids are
    learned.

    One statement inserts the missing rows, in the order given, and reads every id: the
    INSERT's RETURNING gives the new rows' ids, the SELECT those stored before (the parts
    of one statement all see the table as it was when it began, so none comes twice).
    A row another worker inserted while the statement ran is in neither (the INSERT waited
    for it, then did nothing; the SELECT began before it was there): read after."""
    found: dict[Any, int] = {}
    if interned is not None:
        found, rest = interned.split(table, values)
        if not rest:
            return found
        if len(rest) < len(values):
            values = [values[i] for i in rest]
    rows = [values, *(more(values) if more is not None else [])]
    names = ", ".join(columns)
    arrays = ", ".join(f"%b::{kind}[]" for kind in columns.values())
    key = next(iter(columns))
    cur = await conn.execute(
        f"WITH w AS MATERIALIZED (SELECT * FROM unnest({arrays}) WITH ORDINALITY AS w({names}, n)),"
        f" new AS (INSERT INTO {table}({names}) SELECT {names} FROM w ORDER BY n"
        f" ON CONFLICT DO NOTHING RETURNING {key}, id)"
        f" SELECT {key}, id FROM new"
        f" UNION ALL SELECT t.{key}, t.id FROM {table} t JOIN w USING ({match})",
        rows,
    )
    ids = dict(await cur.fetchall())
    missing = [i for i, value in enumerate(rows[0]) if value not in ids]
    if missing:
        cur = await conn.execute(
            f"SELECT t.{key}, t.id FROM {table} t JOIN unnest({arrays}) AS w({names})"
            f" USING ({match})",
            [[column[i] for i in missing] for column in rows],
        )
        ids.update(await cur.fetchall())
    if interned is not None:
        interned.learn(table, ids)
        ids.update(found)
    return ids


async def intern_names(
    conn: Any, table: str, column: str, names: list[str], interned: Interned | None
) -> dict:
    """Intern ``names`` into ``table`` (unique on ``column``), in sorted order."""
    names = sorted(set(names))
    if not names:
        return {}
    return await intern_rows(conn, table, {column: "text"}, names, column, interned)
