"""How the two backends' SQL differs where one query serves both.

Most queries are written once, in the SQL both SQLite and PostgreSQL take; a
:class:`Dialect` fills in the few words that differ: the driver's parameter mark, and
the spelling of SQLite's default orders (NULLs first, text compared byte by byte), so
that a PostgreSQL store returns its rows in the order a SQLite store does.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["POSTGRES", "SQLITE", "Dialect"]


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
