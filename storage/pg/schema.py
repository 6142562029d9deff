"""Creating and recognising a PostgreSQL store: ours, empty, foreign, or newer.

A database is a linkgraph store when it has our meta table (``linkgraph_migrations``),
whose rows name the migrations applied; its schema version is their number. A database
with no tables at all is ours to create (``linkgraph init-db``); one with tables but not
the meta table belongs to another program, and one recording more migrations than this
linkgraph knows comes from a newer one: both are refused before anything is written.
"""

from __future__ import annotations

from typing import Any

from ..errors import NewerSchema, NotAStore, StoreNotFound
from .connection import connect, pg_errors, redact
from .migrations import META_TABLE, MIGRATIONS

__all__ = ["SCHEMA_VERSION", "init_db", "inspect", "open_reader", "statements"]

SCHEMA_VERSION = len(MIGRATIONS)
# Held by every init-db while it runs: two at once apply each migration once.
_LOCK_KEY = 0x4C4B4752  # "LKGR", the SQLite store's application_id


def statements(sql: str) -> list[str]:
    """A migration split into statements (ours hold no ';' inside literals)."""
    body = "\n".join(ln for ln in sql.splitlines() if not ln.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def inspect(conn: Any, url: str) -> int | None:
    """The schema version of the store ``conn`` reaches; ``None`` for a database without
    tables. Raises :class:`NotAStore` or :class:`NewerSchema` (reading only)."""
    # One statement, one snapshot: an init-db committing between two looks would
    # otherwise show its tables without its meta table, a database "of another program".
    ours, tables = conn.execute(
        "SELECT count(*) FILTER (WHERE c.relname = %s AND n.nspname = current_schema()) > 0,"
        " count(*) FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%%'",
        (META_TABLE,),
    ).fetchone()
    if not ours:
        if tables:
            raise NotAStore(
                f"{redact(url)} is a PostgreSQL database with tables of another program"
                " (no linkgraph_migrations table); it was left as it is"
            )
        return None
    version = conn.execute(
        f"SELECT count(*), coalesce(max(version), 0) FROM {META_TABLE}"
    ).fetchone()
    count, highest = version
    if highest > SCHEMA_VERSION or count > SCHEMA_VERSION:
        raise NewerSchema(
            f"{redact(url)} has store schema v{max(count, highest)}, newer than this linkgraph"
            f" (v{SCHEMA_VERSION}); upgrade linkgraph to use it"
        )
    return count


def init_db(url: str) -> tuple[int, int]:
    """Create the schema in the database at ``url``, or bring ours up to date: returns
    the versions before and after (equal: it was up to date). A foreign or newer database
    raises before anything is written."""
    with connect(url, autocommit=True) as conn, pg_errors(url):
        # One init-db at a time per database, from its look at what is there to its last
        # migration: another one waits, then finds the store up to date.
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            return _migrate(conn, url)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _migrate(conn: Any, url: str) -> tuple[int, int]:
    before = inspect(conn, url) or 0
    for number, (name, sql) in enumerate(MIGRATIONS[before:], start=before + 1):
        with conn.transaction():
            if number == 1:
                conn.execute(
                    f"CREATE TABLE {META_TABLE} (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
            for statement in statements(sql):
                conn.execute(statement)
            conn.execute(f"INSERT INTO {META_TABLE}(version, name) VALUES (%s, %s)", (number, name))
    return before, max(before, len(MIGRATIONS))


def open_reader(url: str) -> Any:
    """A connection to the store at ``url`` for queries (read-only transactions), checked
    to be ours at this schema version."""
    conn = connect(url, autocommit=True)
    try:
        with pg_errors(url):
            version = inspect(conn, url)
            if version is None:
                raise StoreNotFound(
                    f"no linkgraph store at {redact(url)}: create one with"
                    f" `linkgraph init-db URL` (or `linkgraph copy` a store into it)"
                )
            if version < SCHEMA_VERSION:
                raise StoreNotFound(
                    f"{redact(url)} has store schema v{version}: run `linkgraph init-db URL`"
                    f" to bring it up to v{SCHEMA_VERSION}"
                )
            conn.execute("SET default_transaction_read_only = on")
    except BaseException:
        conn.close()
        raise
    return conn
