"""Import one edge list with two versions of linkgraph and compare the stores row by row.

Each version runs ``linkgraph.import_links`` in a process of its own, with its own
``PYTHONPATH`` (``--old``: a folder the code before was installed into, e.g. with
``pip install --no-deps --target /tmp/old .``; the new side uses this interpreter's
``linkgraph``). Then every table of both stores is read ordered by its key columns (all
of them: every row is compared, not a count) and compared; the import's time, the only
thing that differs between two imports of one file (``first_seen``; ``last_seen`` and
``lost_at`` stay NULL), is compared as "the same value in every row" instead. The schema
(``sqlite_master``) and ``PRAGMA integrity_check`` are compared too.

Usage::

    python -P scripts/compare_import.py --old /tmp/old FILE.csv
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Columns holding the time of the import: compared as one value per store.
_TIMES = {("links", "first_seen")}
# Columns not compared: when each store was migrated.
_MASKED = {("migrations", "applied_at")}
# Compared apart: the seal (crawl table) names the file itself; only its counters count.
_SKIP = {"sqlite_sequence", "crawl"}

_IMPORT = "import sys, linkgraph; linkgraph.import_links(sys.argv[1], sys.argv[2])"


def run_import(csv_path: Path, db: Path, pythonpath: str | None) -> float:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-P", "-c", _IMPORT, str(db), str(csv_path)], env=env, check=True
    )
    return time.perf_counter() - start


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " ORDER BY name"
    ).fetchall()
    return [name for (name,) in rows if name not in _SKIP]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    # table_xinfo: generated columns too (links' kind, placement, rel_id).
    return [row[1] for row in conn.execute(f"PRAGMA table_xinfo({table})")]


def compare(old_db: Path, new_db: Path) -> list[str]:
    """The differences between the two stores, as lines (none: identical)."""
    old, new = sqlite3.connect(old_db), sqlite3.connect(new_db)
    problems: list[str] = []
    schema = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
    if old.execute(schema).fetchall() != new.execute(schema).fetchall():
        problems.append("sqlite_master differs")
    for conn, name in ((old, "old"), (new, "new")):
        check = conn.execute("PRAGMA integrity_check").fetchall()
        if check != [("ok",)]:
            problems.append(f"{name}: integrity_check {check[:3]}")
    tables = _tables(old)
    if tables != _tables(new):
        problems.append(f"tables differ: {tables} / {_tables(new)}")
        return problems
    for table in tables:
        columns = _columns(old, table)
        if columns != _columns(new, table):
            problems.append(f"{table}: columns differ")
            continue
        keep = [c for c in columns if (table, c) not in _TIMES | _MASKED]
        order = ", ".join(keep)
        sql = f"SELECT {order} FROM {table} ORDER BY {order}"
        a, b = old.execute(sql).fetchall(), new.execute(sql).fetchall()
        same = a == b
        print(
            f"{table:16} {len(a):>10,} rows / {len(b):>10,} rows  {'same' if same else 'DIFFERENT'}"
        )
        if not same:
            problems.append(f"{table}: rows differ")
        for column in columns:
            if (table, column) in _TIMES:
                for conn, name in ((old, "old"), (new, "new")):
                    (n,) = conn.execute(f"SELECT count(DISTINCT {column}) FROM {table}").fetchone()
                    if n > 1:
                        problems.append(f"{name}: {table}.{column} has {n} values")
    seals = [_sealed_counters(conn) for conn in (old, new)]
    print(f"sealed counters: {seals[0]} / {seals[1]}")
    if seals[0] != seals[1]:
        problems.append("sealed counters differ")
    return problems


def _sealed_counters(conn: sqlite3.Connection) -> object:
    """The counters the writer sealed the store with, and the crawl table's other keys."""
    rows = dict(conn.execute("SELECT key, value FROM crawl").fetchall())
    seal = {k: json.loads(v).get("counters") for k, v in rows.items() if "seal" in k}
    return seal, sorted((k, v) for k, v in rows.items() if "seal" not in k)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="the edge list to import")
    parser.add_argument("--old", required=True, help="PYTHONPATH of the code before")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        old_db, new_db = Path(tmp) / "old.db", Path(tmp) / "new.db"
        print(f"old: {run_import(args.csv, old_db, args.old):.2f} s")
        print(f"new: {run_import(args.csv, new_db, None):.2f} s")
        problems = compare(old_db, new_db)
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
