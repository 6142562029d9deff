"""The seal: proof that a store is byte for byte the file our last clean write left, so
that a writing open may skip ``quick_check`` (a read of every page: 4 s at 10M links).

:func:`seal` runs after a clean close (the crawl writer, ``rank``); :func:`is_sealed` is
asked by :func:`.schema.connect`; :func:`sealed_counters` gives back the exact totals the
writer kept with the seal, so it need not count them again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from .errors import StoreError
from .schema import open_readonly

__all__ = ["is_sealed", "seal", "sealed_counters"]

# The seal: a row of the key/value table ``crawl`` naming the modification time (in ns)
# that seal() gave the file, and the file's inode.
_SEAL_KEY = "open_check_seal"


def seal(path: str | os.PathLike[str], counters: dict[str, Any] | None = None) -> bool:
    """Mark a store we just wrote and closed cleanly, so its next writing open may skip
    ``quick_check``. Returns whether it is sealed; a store that cannot be sealed (another
    connection holds the WAL, a file system without nanosecond times) stays unsealed,
    which only costs the next opening its check. ``counters`` (exact totals of what is
    committed, see :func:`sealed_counters`) are kept with the seal.

    The seal is a modification time that no write would give the file: a moment just
    before we set it, with its nanoseconds, recorded in the store and then set with
    ``os.utime`` while we hold SQLite's write lock, after a checkpoint that left the
    ``-wal`` empty. Any later write to the file through the file system (another SQLite
    program, ``dd``, a truncation, a half-finished copy, our own next commit once it is
    checkpointed) sets the time to "now", and a commit not yet checkpointed leaves the
    ``-wal`` non-empty: either way :func:`is_sealed` says no and the check runs again.
    """
    p = Path(path)
    try:
        conn = sqlite3.connect(p, isolation_level=None)
    except sqlite3.Error:
        return False
    sealed = False
    try:
        token = time.time_ns()
        record: dict[str, Any] = {"mtime_ns": token, "ino": p.stat().st_ino}
        if counters is not None:
            record["counters"] = counters
        value = json.dumps(record)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR REPLACE INTO crawl(key, value) VALUES (?, ?)", (_SEAL_KEY, value))
        # Read inside our write transaction: a commit by anyone else after ours changes it.
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        conn.execute("COMMIT")
        if conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone() != (0, 0, 0):
            return False
        # Hold the write lock while the time is set: no other commit can land between
        # our last look at the file and the seal, and none did since ours (data_version).
        conn.execute("BEGIN IMMEDIATE")
        try:
            st = p.stat()
            if conn.execute("PRAGMA data_version").fetchone()[0] != version or _wal_size(p):
                return False
            os.utime(p, ns=(st.st_atime_ns, token))
            sealed = p.stat().st_mtime_ns == token
        finally:
            conn.execute("ROLLBACK")
    except (sqlite3.Error, OSError):
        return False
    finally:
        conn.close()
    # Closing the last connection must not have written the file (it has nothing to fold).
    return sealed and is_sealed(p)


def is_sealed(path: str | os.PathLike[str]) -> bool:
    """Whether the store is the file :func:`seal` left (see :func:`_sealed_record`)."""
    return _sealed_record(Path(path)) is not None


def sealed_counters(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The counters stored with the seal, if the store is still sealed: then nothing has
    changed the file since they were exact."""
    record = _sealed_record(Path(path))
    counters = record.get("counters") if record else None
    return counters if isinstance(counters, dict) else None


def _sealed_record(p: Path) -> dict[str, Any] | None:
    """The seal's record if the store is the file :func:`seal` left: same inode and
    modification time, a size that matches the page count in its header, an empty or
    absent ``-wal``.

    What this cannot see, and only ``quick_check`` finds (``check=True`` forces it on a
    writing open; ``linkgraph stats`` always runs it): damage that changes no file time,
    such as bits rotting on the disk or a faulty cable, and a writer that puts the time
    back on purpose (``touch -d``).
    """
    try:
        before = p.stat()
        if _wal_size(p):
            return None
        with p.open("rb") as fh:
            header = fh.read(100)
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        pages = int.from_bytes(header[28:32], "big")
        if header[24:28] != header[92:96] or before.st_size != pages * page_size:
            return None  # the in-header size is stale or the file was cut or extended
        conn = open_readonly(p)
        try:
            row = conn.execute("SELECT value FROM crawl WHERE key = ?", (_SEAL_KEY,)).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        stored = json.loads(row[0])
        after = p.stat()
        seen = (stored["mtime_ns"], stored["ino"])
    except (OSError, StoreError, sqlite3.Error, ValueError, TypeError, KeyError):
        return None
    same = (before.st_ino, before.st_mtime_ns, before.st_size) == (
        after.st_ino,
        after.st_mtime_ns,
        after.st_size,
    )
    return stored if same and seen == (before.st_mtime_ns, before.st_ino) else None


def _wal_size(p: Path) -> int:
    try:
        return Path(f"{p}-wal").stat().st_size
    except FileNotFoundError:
        return 0
