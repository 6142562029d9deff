"""Opening a store safely: validate first, migrate second, never touch a file that isn't ours.

A linkgraph store is a SQLite file whose header carries our ``application_id`` and whose
``user_version`` is the number of named migrations applied. Before anything opens a
file for writing we read those two numbers straight from the 100-byte header, so a
foreign database, a file from a newer linkgraph, or a file that is not SQLite at all is
refused without SQLite ever opening it read-write (opening read-write can itself write:
a hot journal gets rolled back, WAL files get created). An existing store then passes
SQLite's ``quick_check`` on a read-only connection before the read-write opening, so
nothing is ever written into a malformed file, unless it is provably the file our last
clean write left (:mod:`.sealing`); and a store in a place we may not write is
read without writing anything beside it (:func:`open_readonly`), or refused for writing
with a :class:`~storage.errors.ReadOnlyStore` that says so.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from .errors import (
    CorruptStore,
    NewerSchema,
    NotAStore,
    ReadOnlyStore,
    StoreError,
    StoreNotFound,
    from_sqlite,
)
from .migrations import MIGRATIONS

__all__ = [
    "APPLICATION_ID",
    "DEFERRABLE_INDEXES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "SQLITE_MAGIC",
    "connect",
    "inspect_file",
    "missing_indexes",
    "open_readonly",
    "quick_check",
]

APPLICATION_ID = 0x4C4B4752  # "LKGR"
# The first 16 bytes of every SQLite database file.
SQLITE_MAGIC = b"SQLite format 3\x00"

# The schema version is the number of named migrations (storage.migrations) applied.
SCHEMA_VERSION = len(MIGRATIONS)
_REQUIRED_TABLES = {"domains", "hosts", "urls", "anchors", "rels", "links", "pages", "frontier"}
# Indexes an import into an empty store leaves out while it loads and builds at its end:
# one sort instead of a random B-tree insert per URL or link (docs/benchmarks.md,
# "Import"); meanwhile its writer answers what they would (URL by hash, links of a
# source) from memory. A store left without one (an import killed half way) gets it back
# at its next opening for writing; until then, readers get the same answers, more slowly.
# The statements are those of the migrations that made them.
DEFERRABLE_INDEXES = {
    "urls_hash": "CREATE INDEX urls_hash ON urls(hash)",
    "urls_host": "CREATE INDEX urls_host ON urls(host_id)",
    "links_source": "CREATE INDEX links_source ON links(source_id)",
}


def missing_indexes(conn: sqlite3.Connection) -> list[str]:
    """The :data:`DEFERRABLE_INDEXES` the store lacks."""
    have = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return [name for name in DEFERRABLE_INDEXES if name not in have]


def inspect_file(path: str | os.PathLike[str]) -> int | None:
    """Read our identity from the SQLite header without opening the database for writing.

    Returns the schema version of a linkgraph store, ``None`` for a path that holds
    nothing yet (missing or empty file). Raises :class:`NotAStore` for anything else.
    """
    p = Path(path)
    if not p.exists():
        return None
    if p.is_dir():
        raise NotAStore(f"{p} is a directory, not a linkgraph store")
    try:
        with p.open("rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read {p}: {exc.strerror}") from None
    if not header:
        return None
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise NotAStore(f"{p} is not a SQLite database (and so not a linkgraph store)")
    user_version = int.from_bytes(header[60:64], "big")
    application_id = int.from_bytes(header[68:72], "big")
    wal = Path(f"{p}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        # In WAL mode the header above is only rewritten at a checkpoint, and SQLite skips
        # the one at close while another connection is open: a crawl killed before any
        # checkpoint leaves zeros there. Ask SQLite, read-only, what the WAL holds.
        user_version, application_id = _versions_through_wal(p)
    if application_id == APPLICATION_ID:
        if user_version > SCHEMA_VERSION:
            raise NewerSchema(
                f"{p} has store schema v{user_version}, newer than this linkgraph "
                f"(v{SCHEMA_VERSION}); upgrade linkgraph to use it"
            )
        return user_version
    if application_id != 0:
        raise NotAStore(f"{p} is a SQLite database written by another program")
    # application_id 0: either an empty SQLite file (ours to initialise) or foreign.
    if _has_tables(p):
        raise NotAStore(f"{p} is a SQLite database written by another program")
    return 0


def _versions_through_wal(path: Path) -> tuple[int, int]:
    conn = open_readonly(path)
    try:
        user_version = conn.execute("PRAGMA user_version").fetchone()[0]
        return user_version, conn.execute("PRAGMA application_id").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(path, exc) from None
    finally:
        conn.close()


def _has_tables(path: Path) -> bool:
    conn = open_readonly(path)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(path, exc) from None
    finally:
        conn.close()


def open_readonly(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """A ``mode=ro`` connection that also works in a folder we may not write.

    Reading a WAL database needs its ``-shm`` index beside it, and SQLite creates that
    file even for a read-only connection: in a read-only folder (a mounted snapshot, a
    shared directory, a ``chmod -w`` archive) ``mode=ro`` fails with
    SQLITE_READONLY_DIRECTORY. When the ``-wal`` file is empty or absent the database
    file alone holds the whole store, so we read it with ``immutable=1``, which skips
    the shared-memory index and all locking (https://www.sqlite.org/uri.html#uriimmutable).
    A store with committed pages still in its ``-wal`` cannot be read that way.
    """
    p = Path(path)
    uri = p.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the file
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        name = getattr(exc, "sqlite_errorname", "")
        if name not in ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN", "SQLITE_READONLY_CANTINIT"):
            raise from_sqlite(p, exc) from None
        if _writable(p.parent):
            raise from_sqlite(p, exc) from None
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise from_sqlite(p, exc) from None
    wal = Path(f"{p}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ReadOnlyStore(
            f"{p} is in a read-only folder and part of it is still in {wal.name}, which SQLite"
            " cannot read there: run a write command on it (e.g. `linkgraph rank`) where it"
            " can be written, which folds that file into the store"
        )
    return sqlite3.connect(f"{uri}?immutable=1", uri=True)


def _writable(path: Path) -> bool:
    # os.access asks the kernel with our real ids: a read-only mount answers False even
    # for root, a missing write bit answers False for anyone but root.
    return os.access(path, os.W_OK)


def _refuse_readonly(p: Path, *, exists: bool) -> None:
    """Raise :class:`ReadOnlyStore` before a write that the file system would refuse."""
    if exists and not _writable(p):
        raise ReadOnlyStore(
            f"{p} is read-only: write commands cannot change it (queries can read it)"
        )
    if not _writable(p.parent):
        if exists:
            raise ReadOnlyStore(
                f"{p} is in a read-only folder: SQLite writes its -wal and -shm files beside"
                f" the store, so write commands need {p.parent} writable (queries can read it)"
            )
        raise ReadOnlyStore(f"cannot create {p}: folder {p.parent} is read-only")


def quick_check(conn: sqlite3.Connection, path: str | os.PathLike[str]) -> None:
    """Raise :class:`CorruptStore` unless SQLite's ``PRAGMA quick_check`` says ``ok``.

    ``quick_check`` reads every page of the file and checks each B-tree's structure (it
    skips only the cross-check of indexes against their tables that ``integrity_check``
    adds), so it costs one sequential read of the store: see the README for timings.
    """
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(path, exc) from None
    if rows != ["ok"]:
        # One report can hold many lines ("*** in database main ***", "Page 9: ..."):
        # name the first problem, count the rest, keep the error on one line.
        found = [ln.strip() for r in rows for ln in str(r).splitlines()]
        found = [ln for ln in found if ln and not ln.startswith("***")] or ["?"]
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise CorruptStore(
            f"{path} is damaged: SQLite's quick_check found {found[0]!r}{more};"
            " it was left as it is"
        )


def connect(
    path: str | os.PathLike[str],
    *,
    readonly: bool = False,
    create: bool = False,
    check: bool = False,
    threads: bool = False,
) -> sqlite3.Connection:
    """Open a store: validated, migrated to the current schema, WAL, foreign keys off.

    ``readonly`` opens a read-only connection (an older store of ours is migrated
    first), which works in a read-only folder too. ``create`` allows a new file. An
    existing store opened for writing is checked first with SQLite's ``quick_check``, so
    nothing is ever written into a malformed file; the check is skipped only for a file
    that :func:`is_sealed` proves unchanged since our last clean write, and ``check=True``
    forces it (and asks the same of a read-only opening). ``threads``: a read-write
    connection that other threads may use too, one at a time (the caller sees to that).
    """
    p = Path(path)
    version = inspect_file(p)
    if version is None and not create:
        raise StoreNotFound(f"no linkgraph store at {p}")
    if readonly:
        if version is None or version == 0:
            raise StoreNotFound(f"no linkgraph store at {p}")
        if version < SCHEMA_VERSION:
            # Ours, but older: bring it up to date once, then read as asked.
            if not (_writable(p) and _writable(p.parent)):
                raise ReadOnlyStore(
                    f"{p} has store schema v{version} and is read-only: open it once where it"
                    f" can be written, so that it is brought up to v{SCHEMA_VERSION}"
                )
            connect(p).close()
        conn = open_readonly(p)
        try:
            _check_tables(conn, p)
            if check:
                quick_check(conn, p)
        except BaseException:
            conn.close()
            raise
        return conn
    if version is None and not p.parent.exists():
        raise StoreError(f"cannot create {p}: folder {p.parent} does not exist")
    _refuse_readonly(p, exists=version is not None)
    from .sealing import is_sealed  # here: sealing reads the store with open_readonly

    if version and (check or not is_sealed(p)):
        # Before the read-write opening: that one may already write (WAL, migrations).
        conn = open_readonly(p)
        try:
            quick_check(conn, p)
        finally:
            conn.close()
    try:
        conn = sqlite3.connect(p, isolation_level=None, check_same_thread=not threads)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {p}: {exc}") from None
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        _migrate(conn, version or 0)
        _check_tables(conn, p)
        for name in missing_indexes(conn):
            conn.execute(DEFERRABLE_INDEXES[name])
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise from_sqlite(p, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    if version == 0:
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    for number, (name, sql) in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO migrations(version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            conn.execute(f"PRAGMA user_version={number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (our migrations hold no ';' inside literals)."""
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _check_tables(conn: sqlite3.Connection, path: Path) -> None:
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise from_sqlite(path, exc) from None
    missing = _REQUIRED_TABLES - names
    if missing:
        raise CorruptStore(
            f"{path} is a linkgraph store missing tables: {', '.join(sorted(missing))}"
        )
