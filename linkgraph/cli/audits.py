"""The audit commands: ``changes``, ``broken``, ``toxic``, ``disavow``, ``mentions``."""

from __future__ import annotations

import argparse
import sys

from ..output import emit, emit_json
from .common import EXIT_OK, Listing, arg, call, command, limit, min_score, shown, switch

# The parts of a change report: its key in the result, its title, its fields.
_PARTS = {
    "links": (
        "links",
        "new and lost backlinks",
        ("source", "target", "anchor", "change", "reason", "date"),
    ),
    "domains": (
        "referring_domains",
        "new and lost referring domains",
        ("domain", "change", "date"),
    ),
    "velocity": ("velocity", "link velocity", ("period", "new", "lost")),
}


@command(
    "target",
    "db",
    arg("--since", metavar="DATE", help="ISO date, e.g. 2026-11-01 (default: all history)"),
    arg(
        "--by",
        choices=("day", "week"),
        default="day",
        help="velocity period: day (default) or week",
    ),
    "mode",
    "include_internal",
    shown(
        arg(
            "--show",
            choices=tuple(_PARTS),
            default=None,
            help="one part only (table, csv)",
        )
    ),
    "format",
)
def cmd_changes(args: argparse.Namespace) -> int:
    """New and lost backlinks (with the reason) and referring domains since a date, and link
    velocity.

    Example:
      linkgraph crawl --db links.db --refresh && linkgraph changes example.com --db links.db --since 2026-11-01
    """
    from ..audit import changes

    result = call(changes, args)
    if args.format == "json" and args.show is None:
        emit_json(result)
        return EXIT_OK
    parts = [args.show] if args.show else (["links"] if args.format == "csv" else list(_PARTS))
    for part in parts:
        key, title, fields = _PARTS[part]
        emit(result[key], format=args.format, fields=fields, title=f"{title} of {args.target}")
    return EXIT_OK


_BROKEN = Listing(
    "audit.broken",
    arg(
        "target", metavar="TARGET", nargs="?", help="only links into it (or out of it, --outbound)"
    ),
    "db",
    switch("--outbound", help="links on TARGET's pages, not links into it"),
    switch(
        "--check-external",
        help="first check uncrawled link targets (HEAD) under the crawl's politeness",
    ),
    "mode",
    limit(None),
    "format",
    fields=("source", "target", "anchor", "follow", "placement", "status", "error", "checked"),
    title="broken links",
)


@command(_BROKEN.options, "quiet")
def cmd_broken(args: argparse.Namespace) -> int:
    """Links whose target answered 4xx/5xx or could not be reached: the raw material of broken-link
    building.

    Example:
      linkgraph broken --db links.db
      linkgraph broken example.com --db links.db --outbound --check-external
    """
    from linkgraph.crawler.progress import Progress

    # Only checking external links takes long enough to want a progress display.
    with Progress(quiet=args.quiet or not args.check_external) as progress:
        records = _BROKEN.call(args, progress=progress)
    _BROKEN.show(args, records)
    return EXIT_OK


cmd_toxic = Listing(
    "audit.toxic",
    "target",
    "db",
    min_score(0, "only domains scoring X or more, 0-100 (default 0: all)"),
    "mode",
    limit(None),
    "format",
    "profile",
    fields=("domain", "score", "reasons", "backlinks", "authority"),
    columns=True,
    title="toxic-link triage for {target}",
    doc="""Toxic-link triage: a score per referring domain with its reasons (for a human to review).

    Example:
      linkgraph toxic example.com --db links.db --keyword 'blue widgets' --min-score 40
    """,
)


@command(
    "target",
    "db",
    min_score(
        50,
        "disavow domains scoring X or more, and link pages of domains scoring X/2"
        " or more; 0-100 (default 50)",
    ),
    "output",
    "mode",
    "profile",
)
def cmd_disavow(args: argparse.Namespace) -> int:
    """Write Google's disavow file for the referring domains scoring at least --min-score.

    Example:
      linkgraph disavow example.com --db links.db --min-score 60 --output disavow.txt
    """
    from ..audit import disavow

    text = call(disavow, args)
    if args.output:
        entries = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        print(f"wrote {entries} disavow entries to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


cmd_mentions = Listing(
    "audit.mentions",
    arg("phrase", metavar="PHRASE", help="words to find, as a phrase, in pages' visible text"),
    "db",
    arg("--exclude-linking", metavar="TARGET", help="leave out pages that link to this target"),
    "mode",
    limit(100),
    "format",
    fields=("url", "title", "snippet", "links_to_target"),
    title="pages mentioning {phrase!r}",
    doc="""Pages that mention a brand in their text; --exclude-linking keeps those not linking to you.

    Example:
      linkgraph mentions 'Acme Shoes' --db links.db --exclude-linking acme-shoes.com
    """,
)
