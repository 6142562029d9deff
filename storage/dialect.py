"""How the two backends' SQL differs where one query serves both.

Most queries are written once, in the SQL both SQLite and PostgreSQL take; a
:class:`Dialect` fills in the few words that differ: the driver's parameter mark, and
the spelling of SQLite's default orders (NULLs first, text compared byte by byte), so
that a PostgreSQL store returns its rows in the order a SQLite store does.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["POSTGRES", "SQLITE", "SQLITE_BOUND_VALUES", "Dialect"]

# Values one SQLite statement may bind, a little under its limit (32,766 since 3.32, 999
# before): multi-row INSERTs take as many rows as fit.
SQLITE_BOUND_VALUES = 32_000 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999


@dataclass(frozen=True, slots=True)
class Dialect:
    mark: str  # a query parameter
    bytewise: str  # after a text column: compare byte by byte (UTF-8: code point order)
    nulls_first: str  # after a column: NULLs sort first
    no_limit: int | None  # the LIMIT value that means every row

    def marks(self, n: int) -> str:
        """``n`` parameter marks, comma-separated (for ``IN (...)``)."""
        return ",".join([self.mark] * n)


SQLITE = Dialect(mark="?", bytewise="", nulls_first="", no_limit=-1)
POSTGRES = Dialect(mark="%s", bytewise='COLLATE "C"', nulls_first=" NULLS FIRST", no_limit=None)
