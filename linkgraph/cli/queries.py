"""The backlink queries: ``backlinks``, ``referring-domains``, ``anchors``, ``top``, ``intersect``."""

from __future__ import annotations

import argparse
from typing import Any

from linkgraph.storage.records import PLACEMENTS
from linkgraph.storage.vocab import LEVELS

from ..output import emit, emit_json, say
from .common import (
    EXIT_OK,
    INCLUDE_LOST_HELP,
    Command,
    Run,
    add_db,
    add_format,
    add_limit,
    add_listing,
    add_mode,
    add_profile_args,
    add_target,
    args_profile,
    positive_int,
)


def _target_command(command: Command, run: Run) -> argparse.ArgumentParser:
    """A query of the links into one target: the options backlinks, referring-domains, anchors share."""
    p = command(run)
    add_target(p)
    add_mode(p)
    p.add_argument("--follow-only", action="store_true", help="only followable links")
    p.add_argument(
        "--include-internal",
        action="store_true",
        help="also links from the target's own domain",
    )
    p.add_argument("--placement", choices=PLACEMENTS, help="only links in this part of the page")
    p.add_argument("--include-lost", action="store_true", help=INCLUDE_LOST_HELP)
    add_limit(p, 100)
    add_format(p)
    return p


def add_backlinks(command: Command) -> None:
    p = _target_command(command, cmd_backlinks)
    p.add_argument(
        "--sort",
        choices=("authority", "first_seen"),
        default="authority",
        help="authority (default): the linking page's 0-100 authority, strongest first;"
        " first_seen: newest first. --quality sorts by the quality score",
    )
    p.add_argument(
        "--quality",
        action="store_true",
        help="score each link: authority, follow, placement, relevance, dilution, sitewide",
    )
    add_profile_args(p)


def add_referring_domains(command: Command) -> None:
    _target_command(command, cmd_referring_domains)


def add_anchors(command: Command) -> None:
    p = _target_command(command, cmd_anchors)
    p.add_argument(
        "--classify",
        action="store_true",
        help="shares by class: branded, exact, partial, generic, naked_url, image, empty,"
        " other (none of these: an article title, a person's name)",
    )
    add_profile_args(p)


def add_top(command: Command) -> None:
    p = command(cmd_top)
    add_db(p)
    p.add_argument(
        "--level",
        choices=LEVELS,
        default="domain",
        help="rank pages, hosts or domains (default domain)",
    )
    add_limit(p, 20)
    add_format(p)


def add_intersect(command: Command) -> None:
    p = command(cmd_intersect)
    p.add_argument("competitors", nargs="+", metavar="COMPETITOR", help="domains, hosts or URLs")
    add_db(p)
    p.add_argument(
        "--exclude", metavar="TARGET", help="your own site: domains linking to it are left out"
    )
    p.add_argument(
        "--min",
        type=positive_int,
        default=2,
        metavar="K",
        help="link to at least K competitors (default 2)",
    )
    add_listing(p, 100)
    p.add_argument(
        "--include-lost",
        action="store_true",
        help="also count competitors a domain linked to before (lost links), in lost_competitors",
    )


# -- commands ----------------------------------------------------------------------------


# What a link is, the first fields of every listing of links: from where to where, its
# text and its attributes.
_LINK_FIELDS = ("source", "target", "anchor", "rel", "follow", "placement")
_LINK_COLUMNS = (
    *_LINK_FIELDS,
    "first_seen",
    "source_authority",
    "source_domain_authority",
)


def _lost_columns(args: argparse.Namespace) -> tuple[str, ...]:
    """The fields --include-lost adds to link, domain and anchor records."""
    return ("lost_at", "lost_reason") if args.include_lost else ()


def _query_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "mode": args.mode,
        "follow_only": args.follow_only,
        "include_internal": args.include_internal,
        "include_lost": args.include_lost,
        "placement": args.placement,
        "limit": args.limit,
    }


_QUALITY_FIELDS = (
    *_LINK_FIELDS,
    "image",
    "first_seen",
    "last_seen",
    "source_authority",
    "source_domain_authority",
    "source_outlinks",
    "sitewide",
    "relevance",
    "quality",
)
_QUALITY_COLUMNS = (
    "source",
    "target",
    "anchor",
    "follow",
    "placement",
    "source_authority",
    "relevance",
    "source_outlinks",
    "sitewide",
    "quality",
)


def cmd_backlinks(args: argparse.Namespace) -> int:
    """Links into a target, strongest source pages first (--quality: scored and explained).

    Example:
      linkgraph backlinks example.com --db links.db --follow-only --limit 20
      linkgraph backlinks https://example.com/pricing --db links.db --format json
      linkgraph backlinks example.com --db links.db --quality --keyword 'running shoes'
    """
    from .. import api

    if args.quality:
        from ..audit import backlink_quality

        records = backlink_quality(
            args.db, args.target, profile=args_profile(args), **_query_kwargs(args)
        )
        from linkgraph.graph.quality import WEIGHTS

        if args.format == "csv":
            for r in records:  # one column per part, in the formula's order
                parts = r.pop("quality_parts")
                r.update({f"quality_{k}": parts[k] for k in WEIGHTS})
        emit(
            records,
            format=args.format,
            columns=_QUALITY_COLUMNS + _lost_columns(args) if args.format == "table" else None,
            fields=(*_QUALITY_FIELDS, *(f"quality_{k}" for k in WEIGHTS), *_lost_columns(args)),
            title=f"backlinks of {args.target}, by quality",
        )
        return EXIT_OK
    records = api.backlinks(args.db, args.target, sort=args.sort, **_query_kwargs(args))
    emit(
        records,
        format=args.format,
        columns=None if args.format == "json" else _LINK_COLUMNS + _lost_columns(args),
        title=f"backlinks of {args.target}",
    )
    if args.format == "table" and records and args.sort == "authority":
        # Page authority is what the list is sorted by, and a link farm's pages have plenty
        # of it (the farm links them in circles): say where the judgement lives.
        say(
            "sorted by the linking page's authority; link farms raise their own pages' by"
            " linking them in circles: compare source_domain_authority, and see"
            f" `linkgraph toxic {args.target}` or `--quality`"
        )
    return EXIT_OK


def cmd_referring_domains(args: argparse.Namespace) -> int:
    """The registrable domains linking to a target, with backlink counts and authority.

    Example:
      linkgraph referring-domains example.com --db links.db
    """
    from .. import api

    records = api.referring_domains(args.db, args.target, **_query_kwargs(args))
    emit(
        records,
        format=args.format,
        fields=(
            "domain",
            "backlinks",
            "follow_backlinks",
            "first_seen",
            "last_seen",
            "authority",
            "ips",
            "subnets",
            *_lost_columns(args),
        ),
        title=f"referring domains of {args.target}",
    )
    if args.format == "table" and records:
        ips = {ip for r in records for ip in r["ips"]}
        subnets = {net for r in records for net in r["subnets"]}
        which = "the first " if args.limit is not None and len(records) == args.limit else ""
        print(
            f"{which}{len(records)} referring domain(s) shown: on {len(ips)} IP(s)"
            f" in {len(subnets)} /24 subnet(s)"
        )
    return EXIT_OK


def cmd_anchors(args: argparse.Namespace) -> int:
    """Anchor texts of the links into a target, with backlink and referring-domain counts.

    Example:
      linkgraph anchors example.com --db links.db --limit 30
      linkgraph anchors example.com --db links.db --classify --brand Example --keyword 'blue widgets'
    """
    from .. import api

    if args.classify:
        from ..audit import anchor_profile

        kwargs = _query_kwargs(args)
        report = anchor_profile(
            args.db,
            args.target,
            profile=args_profile(args),
            mode=kwargs["mode"],
            include_internal=kwargs["include_internal"],
            include_lost=kwargs["include_lost"],
        )
        if args.format == "json":
            emit_json(report)
            return EXIT_OK
        emit(
            report["classes"],
            format=args.format,
            title=f"anchor profile of {args.target}",
            columns=("class", "backlinks", "share", "anchors", "examples"),
        )
        if args.format == "table":
            for warning in report["warnings"]:
                say(f"over-optimized: {warning}")
            if not report["warnings"]:
                print("the anchor profile looks natural by these thresholds")
        return EXIT_OK
    records = api.anchors(args.db, args.target, **_query_kwargs(args))
    emit(
        records,
        format=args.format,
        fields=(
            "anchor",
            "backlinks",
            "follow_backlinks",
            "referring_domains",
            "image",
            *_lost_columns(args),
        ),
        title=f"anchors of links to {args.target}",
    )
    return EXIT_OK


def cmd_top(args: argparse.Namespace) -> int:
    """The highest-authority pages, hosts or domains (run `linkgraph rank` first).

    Example:
      linkgraph top --db links.db --level domain --limit 25
    """
    from .. import api

    records = api.top(args.db, level=args.level, limit=args.limit)
    name = {"page": "url", "host": "host", "domain": "domain"}[args.level]
    emit(
        records,
        format=args.format,
        fields=(name, "authority", "pagerank", "referring_domains", "backlinks"),
        title=f"top {args.level}s by authority",
    )
    return EXIT_OK


def cmd_intersect(args: argparse.Namespace) -> int:
    """The competitor backlink gap: domains linking to at least K competitors but not to you.

    Example:
      linkgraph intersect rival-a.com rival-b.com rival-c.com --exclude me.com --min 2 --db links.db
    """
    from .. import api

    records = api.intersect(
        args.db,
        args.competitors,
        exclude=args.exclude,
        min=args.min,
        mode=args.mode,
        limit=args.limit,
        include_lost=args.include_lost,
    )
    emit(
        records,
        format=args.format,
        fields=(
            "domain",
            "competitors",
            "count",
            "authority",
            *(("lost_competitors",) if args.include_lost else ()),
        ),
        title="domains linking to your competitors but not to you",
    )
    return EXIT_OK
