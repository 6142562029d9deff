"""The ``linkgraph`` argument parser: the top-level options and every command, in help order.

Each command is declared beside its function (crawling, store, queries, audits): its
name, help and examples come from that function (``cmd_NAME`` and its docstring, see
``common.describe``) and its arguments from its declaration (``common.command``, or a
``common.Listing``); this module only fixes the order ``linkgraph --help`` lists them in.
"""

from __future__ import annotations

import argparse

from . import archives, audits, backends, crawling, queries, serve, spark, store
from .common import add_options, describe, examples

# Every command, in the order `linkgraph --help` lists them.
COMMANDS = (
    crawling.cmd_crawl,
    store.cmd_stats,
    store.cmd_export,
    store.cmd_rank,
    queries.cmd_backlinks,
    queries.cmd_referring_domains,
    queries.cmd_anchors,
    audits.cmd_changes,
    audits.cmd_broken,
    audits.cmd_toxic,
    audits.cmd_disavow,
    audits.cmd_mentions,
    queries.cmd_top,
    queries.cmd_intersect,
    store.cmd_import,
    archives.cmd_import_warc,
    archives.cmd_import_wat,
    archives.cmd_import_parquet,
    spark.cmd_spark,
    spark.cmd_import_scores,
    backends.cmd_init_db,
    backends.cmd_copy,
    crawling.cmd_robots,
    serve.cmd_serve,
    crawling.cmd_demo,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkgraph",
        description="Crawl sites politely, store every link, and query backlinks and authority.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=examples(
            "linkgraph demo",
            "linkgraph crawl https://example.com/ --db links.db --max-pages 500",
            "linkgraph stats --db links.db",
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every host decision")
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        required=True,
        help="`linkgraph COMMAND --help` shows its options and an example",
    )
    for run in COMMANDS:
        name, help, epilog = describe(run)
        p = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_options(p, run.options)
        p.set_defaults(func=run)
    return parser
