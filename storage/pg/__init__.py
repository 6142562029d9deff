"""The PostgreSQL link store: the same tables as the SQLite store, reached by URL.

- :mod:`.connection`: telling a URL from a path, the driver (psycopg 3), errors that
  never print the password;
- :mod:`.migrations` and :mod:`.schema`: the named migrations, ``init-db``, refusing a
  database that is not ours or is newer;
- :mod:`.copy`: moving a whole store between SQLite and PostgreSQL, streamed with COPY;
- :mod:`.store`, :mod:`.queries`: :class:`PgStore`, the query side (``LinkReader``).

Nothing here imports psycopg at import time: a SQLite user never needs it.
"""

from __future__ import annotations

from .connection import is_pg_url, redact

__all__ = ["is_pg_url", "redact"]
