"""The backlink queries: ``backlinks``, ``referring-domains``, ``anchors``, ``top``, ``intersect``."""

from __future__ import annotations

import argparse

from linkgraph.storage.records import DOMAIN_FIELDS, PLACEMENTS
from linkgraph.storage.vocab import LEVELS

from ..output import emit, emit_json, say
from .common import (
    EXIT_OK,
    Listing,
    Records,
    arg,
    call,
    command,
    limit,
    option,
    options,
    positive_int,
    switch,
)

# A query of the links into one target: what backlinks, referring-domains and anchors take.
_TARGET_QUERY = options(
    "target",
    "db",
    "mode",
    switch("--follow-only", help="only followable links"),
    "include_internal",
    arg("--placement", choices=PLACEMENTS, help="only links in this part of the page"),
    "include_lost",
    limit(100),
    "format",
)
# The fields --include-lost adds to link, domain and anchor records.
_LOST = ("lost_at", "lost_reason")

# What a link is, the first fields of every listing of links: from where to where, its
# text and its attributes.
_LINK_FIELDS = ("source", "target", "anchor", "rel", "follow", "placement")


def _authority_note(args: argparse.Namespace, records: Records) -> None:
    if args.sort == "authority":
        # Page authority is what the list is sorted by, and a link farm's pages have plenty
        # of it (the farm links them in circles): say where the judgement lives.
        say(
            "sorted by the linking page's authority; link farms raise their own pages' by"
            " linking them in circles: compare source_domain_authority, and see"
            f" `linkgraph toxic {args.target}` or `--quality`"
        )


_BACKLINKS = Listing(
    "api.backlinks",
    _TARGET_QUERY,
    arg(
        "--sort",
        choices=("authority", "first_seen"),
        default="authority",
        help="authority (default): the linking page's 0-100 authority, strongest first;"
        " first_seen: newest first. --quality sorts by the quality score",
    ),
    fields=(*_LINK_FIELDS, "first_seen", "source_authority", "source_domain_authority"),
    lost=_LOST,
    columns=True,
    title="backlinks of {target}",
    note=_authority_note,
)

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


@command(
    _BACKLINKS.options,
    switch(
        "--quality",
        help="score each link: authority, follow, placement, relevance, dilution, sitewide",
    ),
    "profile",
)
def cmd_backlinks(args: argparse.Namespace) -> int:
    """Links into a target, strongest source pages first (--quality: scored and explained).

    Example:
      linkgraph backlinks example.com --db links.db --follow-only --limit 20
      linkgraph backlinks https://example.com/pricing --db links.db --format json
      linkgraph backlinks example.com --db links.db --quality --keyword 'running shoes'
    """
    if not args.quality:
        return _BACKLINKS(args)
    from linkgraph.graph.quality import WEIGHTS

    from ..audit import backlink_quality

    records = call(backlink_quality, args, options(_TARGET_QUERY, "profile"))
    if args.format == "csv":
        for r in records:  # one column per part, in the formula's order
            parts = r.pop("quality_parts")
            r.update({f"quality_{k}": parts[k] for k in WEIGHTS})
    lost = _LOST if args.include_lost else ()
    emit(
        records,
        format=args.format,
        columns=_QUALITY_COLUMNS + lost if args.format == "table" else None,
        fields=(*_QUALITY_FIELDS, *(f"quality_{k}" for k in WEIGHTS), *lost),
        title=f"backlinks of {args.target}, by quality",
    )
    return EXIT_OK


def _addresses_note(args: argparse.Namespace, records: Records) -> None:
    ips = {ip for r in records for ip in r["ips"]}
    subnets = {net for r in records for net in r["subnets"]}
    which = "the first " if args.limit is not None and len(records) == args.limit else ""
    print(
        f"{which}{len(records)} referring domain(s) shown: on {len(ips)} IP(s)"
        f" in {len(subnets)} /24 subnet(s)"
    )


cmd_referring_domains = Listing(
    "api.referring_domains",
    _TARGET_QUERY,
    fields=DOMAIN_FIELDS,
    lost=_LOST,
    title="referring domains of {target}",
    note=_addresses_note,
    doc="""The registrable domains linking to a target, with backlink counts and authority.

    Example:
      linkgraph referring-domains example.com --db links.db
    """,
)

_ANCHORS = Listing(
    "api.anchors",
    _TARGET_QUERY,
    fields=("anchor", "backlinks", "follow_backlinks", "referring_domains", "image"),
    lost=_LOST,
    title="anchors of links to {target}",
)


@command(
    _ANCHORS.options,
    switch(
        "--classify",
        help="shares by class: branded, exact, partial, generic, naked_url, image, empty,"
        " other (none of these: an article title, a person's name)",
    ),
    "profile",
)
def cmd_anchors(args: argparse.Namespace) -> int:
    """Anchor texts of the links into a target, with backlink and referring-domain counts.

    Example:
      linkgraph anchors example.com --db links.db --limit 30
      linkgraph anchors example.com --db links.db --classify --brand Example --keyword 'blue widgets'
    """
    if not args.classify:
        return _ANCHORS(args)
    from ..audit import anchor_profile

    report = call(
        anchor_profile,
        args,
        options("target", "db", "mode", "include_internal", "include_lost", "profile"),
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


# A page is named by its URL, a host or a domain by its name.
_NAME_FIELD = {"page": "url", "host": "host", "domain": "domain"}

cmd_top = Listing(
    "api.top",
    "db",
    arg(
        "--level",
        choices=LEVELS,
        default="domain",
        help="rank pages, hosts or domains (default domain)",
    ),
    limit(20),
    "format",
    fields=lambda args: (
        _NAME_FIELD[args.level],
        "authority",
        "pagerank",
        "referring_domains",
        "backlinks",
    ),
    title="top {level}s by authority",
    doc="""The highest-authority pages, hosts or domains (run `linkgraph rank` first).

    Example:
      linkgraph top --db links.db --level domain --limit 25
    """,
)

cmd_intersect = Listing(
    "api.intersect",
    arg("competitors", nargs="+", metavar="COMPETITOR", help="domains, hosts or URLs"),
    "db",
    arg("--exclude", metavar="TARGET", help="your own site: domains linking to it are left out"),
    arg(
        "--min",
        type=positive_int,
        default=2,
        metavar="K",
        help="link to at least K competitors (default 2)",
    ),
    "mode",
    limit(100),
    "format",
    option(
        "include_lost",
        help="also count competitors a domain linked to before (lost links), in lost_competitors",
    ),
    fields=("domain", "competitors", "count", "authority"),
    lost=("lost_competitors",),
    title="domains linking to your competitors but not to you",
    doc="""The competitor backlink gap: domains linking to at least K competitors but not to you.

    Example:
      linkgraph intersect rival-a.com rival-b.com rival-c.com --exclude me.com --min 2 --db links.db
    """,
)
