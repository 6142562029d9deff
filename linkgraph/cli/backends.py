"""The commands about where a store lives: ``init-db`` (create the schema in a PostgreSQL
database) and ``copy`` (move a whole store between SQLite and PostgreSQL)."""

from __future__ import annotations

import argparse
import sys

from ..stores import shown
from .common import EXIT_OK, arg, command


@command(
    arg(
        "db",
        metavar="URL",
        help="a PostgreSQL URL (postgresql://user@host:5432/dbname; the password from"
        " PGPASSWORD or ~/.pgpass), or a SQLite store path",
    ),
)
def cmd_init_db(args: argparse.Namespace) -> int:
    """Create the link store schema in an empty PostgreSQL database (or bring ours up to date).

    Example:
      linkgraph init-db postgresql://crawler@db.example.org:5432/links
    """
    from .. import stores

    result = stores.init_db(args.db)
    where = shown(args.db)
    if result["before"] == result["after"]:
        print(f"{where} is up to date (store schema v{result['after']})")
    elif result["before"] == 0:
        print(f"created the link store schema v{result['after']} in {where}")
    else:
        print(f"upgraded {where} from store schema v{result['before']} to v{result['after']}")
    return EXIT_OK


@command(
    arg("src", metavar="SRC", help="the store to copy: a SQLite path or a PostgreSQL URL"),
    arg(
        "dst",
        metavar="DST",
        help="a new SQLite path, or an empty PostgreSQL database (its schema is created)",
    ),
)
def cmd_copy(args: argparse.Namespace) -> int:
    """Copy a whole store, every table with its ids, between SQLite and PostgreSQL.

    Example:
      linkgraph copy links.db postgresql://crawler@db.example.org/links
      linkgraph copy postgresql://crawler@db.example.org/links backup.db
    """
    from .. import stores

    copied = stores.copy(args.src, args.dst)
    rows = sum(copied.values())
    print(
        f"copied {rows:,} rows ({copied['links']:,} links, {copied['urls']:,} URLs,"
        f" {copied['pages']:,} pages) from {shown(args.src)} to {shown(args.dst)}",
        file=sys.stderr,
    )
    return EXIT_OK
