"""The audit commands: ``changes``, ``broken``, ``toxic``, ``disavow``, ``mentions``."""

from __future__ import annotations

import argparse
import sys

from ..output import emit, emit_json
from .common import (
    EXIT_OK,
    Command,
    add_db,
    add_format,
    add_listing,
    add_min_score,
    add_mode,
    add_output,
    add_profile_args,
    add_quiet,
    add_target,
    args_profile,
)


def add_changes(command: Command) -> None:
    p = command(cmd_changes)
    add_target(p)
    p.add_argument(
        "--since", metavar="DATE", help="ISO date, e.g. 2026-11-01 (default: all history)"
    )
    p.add_argument(
        "--by",
        choices=("day", "week"),
        default="day",
        help="velocity period: day (default) or week",
    )
    add_mode(p)
    p.add_argument(
        "--include-internal", action="store_true", help="also links from the target's own domain"
    )
    p.add_argument(
        "--show",
        choices=("links", "domains", "velocity"),
        default=None,
        help="one part only (table, csv)",
    )
    add_format(p)


def add_broken(command: Command) -> None:
    p = command(cmd_broken)
    p.add_argument(
        "target", metavar="TARGET", nargs="?", help="only links into it (or out of it, --outbound)"
    )
    add_db(p)
    p.add_argument(
        "--outbound", action="store_true", help="links on TARGET's pages, not links into it"
    )
    p.add_argument(
        "--check-external",
        action="store_true",
        help="first check uncrawled link targets (HEAD) under the crawl's politeness",
    )
    add_listing(p, None)
    add_quiet(p)


def add_toxic(command: Command) -> None:
    p = command(cmd_toxic)
    add_target(p)
    add_min_score(p, 0, "only domains scoring X or more, 0-100 (default 0: all)")
    add_listing(p, None)
    add_profile_args(p)


def add_disavow(command: Command) -> None:
    p = command(cmd_disavow)
    add_target(p)
    add_min_score(
        p,
        50,
        "disavow domains scoring X or more, and link pages of domains scoring X/2"
        " or more; 0-100 (default 50)",
    )
    add_output(p)
    add_mode(p)
    add_profile_args(p)


def add_mentions(command: Command) -> None:
    p = command(cmd_mentions)
    p.add_argument(
        "phrase", metavar="PHRASE", help="words to find, as a phrase, in pages' visible text"
    )
    add_db(p)
    p.add_argument(
        "--exclude-linking", metavar="TARGET", help="leave out pages that link to this target"
    )
    add_listing(p, 100)


# -- commands ----------------------------------------------------------------------------


def cmd_changes(args: argparse.Namespace) -> int:
    """New and lost backlinks (with the reason) and referring domains since a date, and link
    velocity.

    Example:
      linkgraph crawl --db links.db --refresh && linkgraph changes example.com --db links.db --since 2026-11-01
    """
    from ..audit import changes

    result = changes(
        args.db,
        args.target,
        since=args.since,
        by=args.by,
        mode=args.mode,
        include_internal=args.include_internal,
    )
    if args.format == "json" and args.show is None:
        emit_json(result)
        return EXIT_OK
    parts = {
        "links": "new and lost backlinks",
        "domains": "new and lost referring domains",
        "velocity": "link velocity",
    }
    keys = {"links": "links", "domains": "referring_domains", "velocity": "velocity"}
    shown = [args.show] if args.show else (["links"] if args.format == "csv" else list(parts))
    fields = {
        "links": ("source", "target", "anchor", "change", "reason", "date"),
        "domains": ("domain", "change", "date"),
        "velocity": ("period", "new", "lost"),
    }
    for part in shown:
        emit(
            result[keys[part]],
            format=args.format,
            fields=fields[part],
            title=f"{parts[part]} of {args.target}",
        )
    return EXIT_OK


def cmd_broken(args: argparse.Namespace) -> int:
    """Links whose target answered 4xx/5xx or could not be reached: the raw material of broken-link
    building.

    Example:
      linkgraph broken --db links.db
      linkgraph broken example.com --db links.db --outbound --check-external
    """
    from linkgraph.crawler.progress import Progress

    from ..audit import broken

    with Progress(quiet=args.quiet or not args.check_external) as progress:
        records = broken(
            args.db,
            args.target,
            mode=args.mode,
            outbound=args.outbound,
            check_external=args.check_external,
            limit=args.limit,
            progress=progress,
        )
    emit(
        records,
        format=args.format,
        fields=("source", "target", "anchor", "follow", "placement", "status", "error", "checked"),
        title="broken links",
    )
    return EXIT_OK


def cmd_toxic(args: argparse.Namespace) -> int:
    """Toxic-link triage: a score per referring domain with its reasons (for a human to review).

    Example:
      linkgraph toxic example.com --db links.db --keyword 'blue widgets' --min-score 40
    """
    from ..audit import toxic

    records = toxic(
        args.db,
        args.target,
        profile=args_profile(args),
        min_score=args.min_score,
        mode=args.mode,
        limit=args.limit,
    )
    emit(
        records,
        format=args.format,
        columns=None
        if args.format == "json"
        else ("domain", "score", "reasons", "backlinks", "authority"),
        title=f"toxic-link triage for {args.target}",
    )
    return EXIT_OK


def cmd_disavow(args: argparse.Namespace) -> int:
    """Write Google's disavow file for the referring domains scoring at least --min-score.

    Example:
      linkgraph disavow example.com --db links.db --min-score 60 --output disavow.txt
    """
    from ..audit import disavow

    text = disavow(
        args.db,
        args.target,
        min_score=args.min_score,
        profile=args_profile(args),
        mode=args.mode,
        output=args.output,
    )
    if args.output:
        entries = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        print(f"wrote {entries} disavow entries to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_mentions(args: argparse.Namespace) -> int:
    """Pages that mention a brand in their text; --exclude-linking keeps those not linking to you.

    Example:
      linkgraph mentions 'Acme Shoes' --db links.db --exclude-linking acme-shoes.com
    """
    from ..audit import mentions

    records = mentions(
        args.db, args.phrase, exclude_linking=args.exclude_linking, mode=args.mode, limit=args.limit
    )
    emit(
        records,
        format=args.format,
        fields=("url", "title", "snippet", "links_to_target"),
        title=f"pages mentioning {args.phrase!r}",
    )
    return EXIT_OK
