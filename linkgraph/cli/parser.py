"""The ``linkgraph`` argument parser: the top-level options and every command, in help order.

Each command's options live beside its function (crawling, store, queries, audits), and its
name, help and examples come from that function (``cmd_NAME`` and its docstring, see
``common.describe``); this module only fixes the order ``linkgraph --help`` lists them in.
"""

from __future__ import annotations

import argparse

from . import audits, crawling, queries, store
from .common import Run, describe, examples


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

    def command(run: Run) -> argparse.ArgumentParser:
        name, help, epilog = describe(run)
        p = sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=run)
        return p

    for add in (
        crawling.add_crawl,
        store.add_stats,
        store.add_export,
        store.add_rank,
        queries.add_backlinks,
        queries.add_referring_domains,
        queries.add_anchors,
        audits.add_changes,
        audits.add_broken,
        audits.add_toxic,
        audits.add_disavow,
        audits.add_mentions,
        queries.add_top,
        queries.add_intersect,
        store.add_import,
        crawling.add_robots,
        crawling.add_demo,
    ):
        add(command)
    return parser
