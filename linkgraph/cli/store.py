"""The commands that read or fill a whole store: ``stats``, ``export``, ``rank``, ``import``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from linkgraph.storage.safetext import terminal_safe
from linkgraph.storage.vocab import EXPORT_FORMATS, LEVELS

from ..output import console, emit_json, safe_text, say
from ..stores import shown as shown_store
from .common import EXIT_ERROR, EXIT_OK, INCLUDE_LOST_HELP, arg, call, command, shown, switch


@command("db", "table_or_json")
def cmd_stats(args: argparse.Namespace) -> int:
    """Counts of a link store.

    Example:
      linkgraph stats --db links.db --format json
    """
    from .. import api

    result = api.stats(args.db)
    if args.format == "json":
        emit_json(result)
        return EXIT_OK
    from rich.table import Table

    table = Table(title=safe_text(f"linkgraph store {shown_store(args.db)}"), show_header=False)
    table.add_column()
    table.add_column(justify="right")
    pages = result["pages"]
    table.add_row("pages fetched", f"{pages['fetched']:,}")
    for status, n in sorted(pages["by_status"].items()):
        table.add_row(f"  HTTP {status}", f"{n:,}")
    for reason, n in sorted(pages["incomplete"].items()):
        table.add_row(f"  of which {reason}", f"{n:,}")
    table.add_row("URLs not fetched", f"{pages['failed'] + pages['skipped']:,}")
    for reason, n in sorted(pages["not_fetched"].items()):
        table.add_row(safe_text(f"  {reason}"), f"{n:,}")
    links = result["links"]
    table.add_row("links (current)", f"{links['total']:,}")
    for kind in ("link", "redirect", "canonical"):
        table.add_row(f"  {kind}", f"{links[kind]:,}")
    table.add_row("    follow / nofollow", f"{links['follow']:,} / {links['nofollow']:,}")
    table.add_row("lost links (history)", f"{links['lost']:,}")
    table.add_row("URLs known", f"{result['urls']:,}")
    table.add_row("hosts (crawled)", f"{result['hosts']:,} ({result['hosts_crawled']:,})")
    table.add_row("domains", f"{result['domains']:,}")
    table.add_row("frontier (still queued)", f"{result['frontier']:,}")
    console().print(table)
    if result.get("workers"):
        _print_workers(result["workers"])
    for note in result["host_notes"]:
        say(f"  {note['host']}: {note['note']}")
    if result["guards"]:
        guards = ", ".join(
            f"{name} {'none' if value is None else f'{value:g}'}"
            for name, value in result["guards"].items()
        )
        say(f"guards: {guards}")
    return EXIT_OK


def _print_workers(workers: list[dict[str, Any]]) -> None:
    """The crawl workers of a PostgreSQL store, newest first."""
    from rich.table import Table

    now = time.time()
    table = Table(title="crawl workers")
    for name in ("id", "worker", "state", "hosts leased", "pages", "pages/s", "last seen"):
        table.add_column(name, justify="left" if name in ("worker", "state") else "right")
    for w in workers:
        table.add_row(
            str(w["id"]),
            safe_text(w["name"]),
            "running" if w["running"] else "stopped",
            f"{w['hosts']:,}",
            f"{w['pages']:,}",
            f"{w['rate']:.1f}",
            f"{max(0.0, now - w['last_seen']):.0f}s ago",
        )
    console().print(table)


@command(
    "db",
    arg(
        "--format",
        choices=EXPORT_FORMATS,
        default="jsonl",
        help="jsonl (default) or csv: every link; graphml, gexf or edgelist (tab-separated"
        " source, target, links, follow_links; no header): the graph at --level; parquet:"
        " the link and page tables as Parquet files in the folder --output (needs"
        " linkgraph[parquet])",
    ),
    arg(
        "--level",
        choices=LEVELS,
        default="page",
        help="graph formats only: nodes are pages (default), hosts or domains",
    ),
    "output",
    switch("--include-lost", help=INCLUDE_LOST_HELP + " (jsonl, csv; parquet holds them always)"),
)
def cmd_export(args: argparse.Namespace) -> int:
    """Write every link (jsonl, csv) or the graph at a level (graphml, gexf, edgelist).

    Example:
      linkgraph export --db links.db --format csv --output links.csv
      linkgraph export --db links.db --format gexf --level domain --output domains.gexf
      linkgraph export --db links.db --format parquet --output tables/
    """
    from .. import api

    count = call(api.export, args)
    if args.output:
        what = (
            "links" if args.format in ("jsonl", "csv", "parquet") else f"{args.level}-level edges"
        )
        print(f"wrote {count:,} {what} to {args.output}", file=sys.stderr)
    return EXIT_OK


@command(
    "db",
    arg("--trusted", metavar="FILE", help="trusted sites, one domain, host or URL per line"),
    "quiet",
    shown(
        switch(
            "--verbose",
            help="also print the seconds of each phase (open, load, counts, each level's graph"
            " and scores, write) to standard error",
        )
    ),
)
def cmd_rank(args: argparse.Namespace) -> int:
    """Compute PageRank, 0-100 authority, TrustRank and harmonic centrality for every page, host and
    domain.

    Example:
      linkgraph rank --db links.db
      linkgraph rank --db links.db --trusted trusted.txt   # TrustRank from these sites
      linkgraph rank --db links.db --verbose               # where the time goes
      linkgraph rank --db postgresql://crawler@db.example.org/links
    """
    from ..ranking import rank

    def say(message: str) -> None:
        if not args.quiet:
            print(f"{message} ...", file=sys.stderr)

    summary = call(rank, args, progress=say)
    if not args.quiet:
        took = sum(summary.seconds.values())
        print(
            f"ranked {summary.pages:,} pages, {summary.hosts:,} hosts and {summary.domains:,} domains"
            f" from {summary.follow_edges:,} followed page links in {took:.2f}s"
            + (f" (TrustRank from {summary.trusted} trusted domains)" if summary.trusted else "")
        )
        for name, authority in summary.top_domains:
            print(terminal_safe(f"  {authority:5.1f}  {name}"))
    if args.verbose:
        for phase, seconds in summary.phases.items():
            print(f"  {phase:<15} {seconds:7.2f}s", file=sys.stderr)
    return EXIT_OK


@command(
    arg(
        "file",
        metavar="FILE",
        help="CSV or TSV; '-' reads standard input; a pipe works too: <(zcat links.csv.gz)",
    ),
    "db",
    arg(
        "--encoding",
        metavar="NAME",
        help="the file's text encoding (a Python codec: utf-8, cp1252, utf-16...); default:"
        " detected from a byte-order mark (UTF-8/16/32), else UTF-16 by its NUL bytes,"
        " else UTF-8 if the file is valid"
        " UTF-8, else cp1252 (Windows-1252), as the summary says",
    ),
)
def cmd_import(args: argparse.Namespace) -> int:
    """Load an external CSV/TSV edge list (source, target, [anchor], [rel]) into a store.

    Example:
      linkgraph import --db links.db backlinks.csv
      linkgraph import --db links.db edges.tsv && linkgraph rank --db links.db
      linkgraph import --db links.db --encoding utf-16 ahrefs-export.tsv
    """
    from ..importer import import_links

    result = call(import_links, args)
    for problem in result.problems:
        say(f"  skipped {problem}", sys.stderr)
    read_as = "" if result.encoding == "utf-8" else f", read as {result.encoding_note}"
    print(
        f"imported {result.links:,} links from {result.rows:,} rows ({result.skipped:,} skipped)"
        f" into {shown_store(args.db)}{read_as}"
    )
    return EXIT_OK if result.links or not result.rows else EXIT_ERROR
