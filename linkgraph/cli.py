"""The ``linkgraph`` command: parse arguments, call one API function, print, exit.

Errors we expect (a bad flag value, a foreign database, an unreadable file) become one
line on stderr and exit status 1; so does a crawl whose every seed failed (it built
nothing to query). argparse's own usage errors exit 2; Ctrl-C exits 130 after flushing
what was fetched.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from linkgraph.crawler.fetch import FetchError
from linkgraph.crawler.settings import CrawlSettings, SettingsError, load_settings
from linkgraph.graph.errors import GraphError
from linkgraph.storage.errors import StoreError
from linkgraph.storage.queries import EXPORT_FIELDS
from linkgraph.storage.records import PLACEMENTS
from linkgraph.storage.safetext import terminal_safe

from . import api
from .output import FORMATS, SafeFormatter, emit, emit_json, safe_text, say

__all__ = ["main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """An error already phrased for the user."""


def _examples(*lines: str) -> str:
    return "Example:\n" + "\n".join(f"  {line}" for line in lines)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


_INCLUDE_LOST_HELP = (
    "also lost links (gone on a recrawl), with lost_at and lost_reason; default: current links"
)


def _score(text: str) -> int:
    value = _positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"a score is 0-100: {text}")
    return value


DB_HELP = "the SQLite link store written by `linkgraph crawl` (or import, demo)"
FORMAT_HELP = "table (default), json, or csv (booleans true/false, lists joined with '; ')"
MODE_HELP = (
    "how a TARGET matches: a URL exactly (default for URLs) or as a prefix;"
    " a name as a domain with its subdomains (default for names) or one host"
)
TARGET_HELP = "a URL (with scheme), or a domain / host name"


def _limit_help(default: int | None) -> str:
    return (
        f"at most N records (default {default})" if default else "at most N records (default: all)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="linkgraph",
        description="Crawl sites politely, store every link, and query backlinks and authority.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_examples(
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

    def command(name: str, help: str, *examples: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help,
            description=help,
            epilog=_examples(*examples),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command(
        "crawl",
        "Crawl seed sites politely into a link store (continues the crawl if the store has one).",
        "linkgraph crawl https://example.com/ https://example.org/ --db links.db --max-pages 1000",
        "linkgraph crawl --db links.db            # continue an interrupted crawl",
    )
    p.add_argument(
        "seeds", nargs="*", metavar="SEED_URL", help="start URLs; their sites define the scope"
    )
    p.add_argument(
        "--db", required=True, metavar="PATH", help="the SQLite link store (created if missing)"
    )
    p.add_argument(
        "--seeds", dest="seeds_file", metavar="FILE", help="file with one seed URL per line"
    )
    p.add_argument(
        "--config", metavar="FILE.toml", help="settings file (see configs/linkgraph.toml)"
    )
    # Setting flags take text: crawler.settings checks it with the same rules as the
    # TOML file and the environment, and a limit given as "none" is lifted.
    p.add_argument("--scope", metavar="SCOPE", help="what to fetch: domain (default), host or any")
    p.add_argument("--max-pages", metavar="N", help="stop after N URLs fetched")
    p.add_argument("--max-pages-per-host", metavar="N", help="at most N URLs fetched per host")
    p.add_argument(
        "--max-depth",
        metavar="N",
        help="follow links at most N hops from a seed (default 20; none: no limit)",
    )
    p.add_argument(
        "--max-urls-per-host",
        metavar="N",
        help="at most N URLs queued per host, the rest recorded as host-url-cap"
        " (default 100000; none: no limit)",
    )
    p.add_argument(
        "--host-budget-seconds",
        metavar="SECONDS",
        help="give a host up after this long waiting on its responses (default 3600; none)",
    )
    p.add_argument(
        "--host-max-failures",
        metavar="N",
        help="give a host up after N failed requests in a row (default 6; none)",
    )
    p.add_argument(
        "--delay",
        metavar="SECONDS",
        help="minimum gap between requests to a host (default 1.0)",
    )
    p.add_argument(
        "--user-agent", metavar="UA", help="User-Agent; its first word is the robots.txt token"
    )
    p.add_argument(
        "--hosts-file", metavar="FILE", help="/etc/hosts-format file pinning names to addresses"
    )
    p.add_argument(
        "--follow-nofollow",
        action="store_true",
        default=None,
        help="also follow rel=nofollow links",
    )
    p.add_argument(
        "--refresh",
        action="store_true",
        default=None,
        help="fetch every stored page again (conditionally) to find new and lost links",
    )
    p.add_argument(
        "--concurrency",
        metavar="N",
        help="requests in flight at most (default 100)",
    )
    p.add_argument(
        "--no-sitemaps",
        dest="sitemaps",
        action="store_false",
        default=None,
        help="ignore Sitemap: lines",
    )
    p.add_argument(
        "--pinned-only",
        action="store_true",
        default=None,
        help="with --hosts-file: resolve only the names pinned there, never ask DNS; links to"
        " other hosts are recorded, not fetched (a local mirror; the demo does this)",
    )
    p.add_argument(
        "--allow-private-addresses",
        action="store_true",
        default=None,
        help="allow loopback/private addresses (off by default: a crawl must not reach internal services)",
    )
    p.add_argument("--quiet", action="store_true", default=None, help="no progress output")
    p.set_defaults(func=cmd_crawl)

    p = command("stats", "Counts of a link store.", "linkgraph stats --db links.db --format json")
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or json"
    )
    p.set_defaults(func=cmd_stats)

    p = command(
        "export",
        "Write every link (jsonl, csv) or the graph at a level (graphml, gexf, edgelist).",
        "linkgraph export --db links.db --format csv --output links.csv",
        "linkgraph export --db links.db --format gexf --level domain --output domains.gexf",
    )
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--format",
        choices=api.EXPORT_FORMATS,
        default="jsonl",
        help="jsonl (default) or csv: every link; graphml, gexf or edgelist (tab-separated"
        " source, target, links, follow_links; no header): the graph at --level",
    )
    p.add_argument(
        "--level",
        choices=("page", "host", "domain"),
        default="page",
        help="graph formats only: nodes are pages (default), hosts or domains",
    )
    p.add_argument(
        "--output", metavar="FILE", help="write here instead of standard output ('-': stdout)"
    )
    p.add_argument("--include-lost", action="store_true", help=_INCLUDE_LOST_HELP + " (jsonl, csv)")
    p.set_defaults(func=cmd_export)

    p = command(
        "rank",
        "Compute PageRank, 0-100 authority, TrustRank and harmonic centrality for every page, host and domain.",
        "linkgraph rank --db links.db",
        "linkgraph rank --db links.db --trusted trusted.txt   # TrustRank from these sites",
    )
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--trusted", metavar="FILE", help="trusted sites, one domain, host or URL per line"
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_rank)

    def target_command(name: str, help: str, *examples: str) -> argparse.ArgumentParser:
        p = command(name, help, *examples)
        p.add_argument("target", metavar="TARGET", help=TARGET_HELP)
        p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
        p.add_argument(
            "--mode",
            choices=("exact", "prefix", "host", "domain"),
            help=MODE_HELP,
        )
        p.add_argument("--follow-only", action="store_true", help="only followable links")
        p.add_argument(
            "--include-internal",
            action="store_true",
            help="also links from the target's own domain",
        )
        p.add_argument(
            "--placement", choices=PLACEMENTS, help="only links in this part of the page"
        )
        p.add_argument("--include-lost", action="store_true", help=_INCLUDE_LOST_HELP)
        p.add_argument(
            "--limit",
            type=_positive_int,
            default=100,
            metavar="N",
            help="at most N records (default 100)",
        )
        p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
        return p

    def profile_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--brand", action="append", default=[], metavar="NAME", help="a brand name (repeatable)"
        )
        p.add_argument(
            "--keyword",
            action="append",
            default=[],
            metavar="PHRASE",
            help="a target keyword (repeatable)",
        )
        p.add_argument(
            "--profile",
            metavar="FILE.toml",
            help="brands, keywords and thresholds (configs/profile.example.toml)",
        )
        p.add_argument(
            "--generic-file",
            metavar="FILE",
            help="generic anchors, one per line (configs/generic_anchors.txt)",
        )

    p = target_command(
        "backlinks",
        "Links into a target, strongest source pages first (--quality: scored and explained).",
        "linkgraph backlinks example.com --db links.db --follow-only --limit 20",
        "linkgraph backlinks https://example.com/pricing --db links.db --format json",
        "linkgraph backlinks example.com --db links.db --quality --keyword 'running shoes'",
    )
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
    profile_args(p)
    p.set_defaults(func=cmd_backlinks)
    p = target_command(
        "referring-domains",
        "The registrable domains linking to a target, with backlink counts and authority.",
        "linkgraph referring-domains example.com --db links.db",
    )
    p.set_defaults(func=cmd_referring_domains)
    p = target_command(
        "anchors",
        "Anchor texts of the links into a target, with backlink and referring-domain counts.",
        "linkgraph anchors example.com --db links.db --limit 30",
        "linkgraph anchors example.com --db links.db --classify --brand Example --keyword 'blue widgets'",
    )
    p.add_argument(
        "--classify",
        action="store_true",
        help="shares by class: branded, exact, partial, generic, naked_url, image, empty,"
        " other (none of these: an article title, a person's name)",
    )
    profile_args(p)
    p.set_defaults(func=cmd_anchors)

    p = command(
        "changes",
        "New and lost backlinks (with the reason) and referring domains since a date, and link velocity.",
        "linkgraph crawl --db links.db --refresh && linkgraph changes example.com --db links.db --since 2026-11-01",
    )
    p.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--since", metavar="DATE", help="ISO date, e.g. 2026-11-01 (default: all history)"
    )
    p.add_argument(
        "--by",
        choices=("day", "week"),
        default="day",
        help="velocity period: day (default) or week",
    )
    p.add_argument("--mode", choices=("exact", "prefix", "host", "domain"), help=MODE_HELP)
    p.add_argument(
        "--include-internal", action="store_true", help="also links from the target's own domain"
    )
    p.add_argument(
        "--show",
        choices=("links", "domains", "velocity"),
        default=None,
        help="one part only (table, csv)",
    )
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    p.set_defaults(func=cmd_changes)

    p = command(
        "broken",
        "Links whose target answered 4xx/5xx or could not be reached: the raw material of broken-link building.",
        "linkgraph broken --db links.db",
        "linkgraph broken example.com --db links.db --outbound --check-external",
    )
    p.add_argument(
        "target", metavar="TARGET", nargs="?", help="only links into it (or out of it, --outbound)"
    )
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--outbound", action="store_true", help="links on TARGET's pages, not links into it"
    )
    p.add_argument(
        "--check-external",
        action="store_true",
        help="first check uncrawled link targets (HEAD) under the crawl's politeness",
    )
    p.add_argument("--mode", choices=("exact", "prefix", "host", "domain"), help=MODE_HELP)
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N", help=_limit_help(None))
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_broken)

    p = command(
        "toxic",
        "Toxic-link triage: a score per referring domain with its reasons (for a human to review).",
        "linkgraph toxic example.com --db links.db --keyword 'blue widgets' --min-score 40",
    )
    p.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--min-score",
        type=_score,
        default=0,
        metavar="X",
        help="only domains scoring X or more, 0-100 (default 0: all)",
    )
    p.add_argument("--mode", choices=("exact", "prefix", "host", "domain"), help=MODE_HELP)
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N", help=_limit_help(None))
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    profile_args(p)
    p.set_defaults(func=cmd_toxic)

    p = command(
        "disavow",
        "Write Google's disavow file for the referring domains scoring at least --min-score.",
        "linkgraph disavow example.com --db links.db --min-score 60 --output disavow.txt",
    )
    p.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--min-score",
        type=_score,
        default=50,
        metavar="X",
        help="disavow domains scoring X or more, and link pages of domains scoring X/2"
        " or more; 0-100 (default 50)",
    )
    p.add_argument(
        "--output", metavar="FILE", help="write here instead of standard output ('-': stdout)"
    )
    p.add_argument("--mode", choices=("exact", "prefix", "host", "domain"), help=MODE_HELP)
    profile_args(p)
    p.set_defaults(func=cmd_disavow)

    p = command(
        "mentions",
        "Pages that mention a brand in their text; --exclude-linking keeps those not linking to you.",
        "linkgraph mentions 'Acme Shoes' --db links.db --exclude-linking acme-shoes.com",
    )
    p.add_argument(
        "phrase", metavar="PHRASE", help="words to find, as a phrase, in pages' visible text"
    )
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--exclude-linking", metavar="TARGET", help="leave out pages that link to this target"
    )
    p.add_argument("--mode", choices=("exact", "prefix", "host", "domain"), help=MODE_HELP)
    p.add_argument("--limit", type=_positive_int, default=100, metavar="N", help=_limit_help(100))
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    p.set_defaults(func=cmd_mentions)

    p = command(
        "top",
        "The highest-authority pages, hosts or domains (run `linkgraph rank` first).",
        "linkgraph top --db links.db --level domain --limit 25",
    )
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--level",
        choices=("page", "host", "domain"),
        default="domain",
        help="rank pages, hosts or domains (default domain)",
    )
    p.add_argument("--limit", type=_positive_int, default=20, metavar="N", help=_limit_help(20))
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    p.set_defaults(func=cmd_top)

    p = command(
        "intersect",
        "The competitor backlink gap: domains linking to at least K competitors but not to you.",
        "linkgraph intersect rival-a.com rival-b.com rival-c.com --exclude me.com --min 2 --db links.db",
    )
    p.add_argument("competitors", nargs="+", metavar="COMPETITOR", help="domains, hosts or URLs")
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--exclude", metavar="TARGET", help="your own site: domains linking to it are left out"
    )
    p.add_argument(
        "--min",
        type=_positive_int,
        default=2,
        metavar="K",
        help="link to at least K competitors (default 2)",
    )
    p.add_argument("--mode", choices=("exact", "prefix", "host", "domain"), help=MODE_HELP)
    p.add_argument("--limit", type=_positive_int, default=100, metavar="N", help=_limit_help(100))
    p.add_argument("--format", choices=FORMATS, default="table", help=FORMAT_HELP)
    p.add_argument(
        "--include-lost",
        action="store_true",
        help="also count competitors a domain linked to before (lost links), in lost_competitors",
    )
    p.set_defaults(func=cmd_intersect)

    p = command(
        "import",
        "Load an external CSV/TSV edge list (source, target, [anchor], [rel]) into a store.",
        "linkgraph import --db links.db backlinks.csv",
        "linkgraph import --db links.db edges.tsv && linkgraph rank --db links.db",
        "linkgraph import --db links.db --encoding utf-16 ahrefs-export.tsv",
    )
    p.add_argument("file", metavar="FILE", help="CSV or TSV; '-' reads standard input")
    p.add_argument("--db", required=True, metavar="PATH", help=DB_HELP)
    p.add_argument(
        "--encoding",
        metavar="NAME",
        help="the file's text encoding (a Python codec: utf-8, cp1252, utf-16...); default:"
        " detected from a byte-order mark (UTF-8/16/32), else UTF-16 by its NUL bytes,"
        " else UTF-8 if the file is valid"
        " UTF-8, else cp1252 (Windows-1252), as the summary says",
    )
    p.set_defaults(func=cmd_import)

    p = command(
        "robots",
        "Allowed or disallowed per URL, with the deciding robots.txt rule and its line"
        " (the crawler's own answer).",
        "linkgraph robots robots.txt /private/x /blog/ --user-agent Googlebot",
        "linkgraph robots https://example.com/robots.txt https://example.com/cart --format json",
    )
    p.add_argument(
        "source",
        metavar="ROBOTS_FILE_OR_URL",
        help="a robots.txt file, or its http(s) URL (fetched as a crawl fetches it)",
    )
    p.add_argument(
        "urls",
        nargs="+",
        metavar="URL",
        help="URLs to check: absolute http(s) URLs, or paths starting with /",
    )
    p.add_argument(
        "--user-agent",
        metavar="UA",
        help="User-Agent whose first word is the product token (default: linkgraph's)",
    )
    p.add_argument(
        "--format", choices=("table", "json"), default="table", help="table (default) or json"
    )
    p.add_argument(
        "--config", metavar="FILE.toml", help="settings file (see configs/linkgraph.toml)"
    )
    p.add_argument(
        "--hosts-file", metavar="FILE", help="/etc/hosts-format file pinning names to addresses"
    )
    p.add_argument(
        "--allow-private-addresses",
        action="store_true",
        default=None,
        help="allow fetching from loopback/private addresses",
    )
    p.set_defaults(func=cmd_robots)

    p = command(
        "demo",
        "Start the built-in local demo web, crawl it into a store, and summarise.",
        "linkgraph demo",
        "linkgraph demo --db /tmp/demo.db --sites 100 --pages 20",
        "linkgraph demo --recrawl          # crawl, age the web, crawl again: see `changes`",
        "linkgraph demo --recrawl --check-external   # and check external links: see `broken`",
    )
    p.add_argument(
        "--db", default="demo.db", metavar="PATH", help="store to write (default demo.db; replaced)"
    )
    p.add_argument(
        "--sites",
        type=_positive_int,
        default=56,
        metavar="N",
        help="sites in the demo web, its 16 fixed trap and audit sites included"
        " (default 56, at least 28)",
    )
    p.add_argument(
        "--pages",
        type=_positive_int,
        default=12,
        metavar="N",
        help="pages of each generated site (default 12, at least 6)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--recrawl",
        action="store_true",
        help="then age the demo web three months and recrawl it with --refresh (for `linkgraph changes`)",
    )
    p.add_argument(
        "--check-external",
        action="store_true",
        help="then check the link targets the crawl did not fetch, while the demo web is up"
        " (for `linkgraph broken`)",
    )
    p.set_defaults(func=cmd_demo)
    return parser


# -- commands ----------------------------------------------------------------------------


CRAWL_FLAGS = (
    "refresh",
    "scope",
    "max_pages",
    "max_pages_per_host",
    "max_depth",
    "max_urls_per_host",
    "host_budget_seconds",
    "host_max_failures",
    "delay",
    "user_agent",
    "hosts_file",
    "pinned_only",
    "follow_nofollow",
    "concurrency",
    "sitemaps",
    "allow_private_addresses",
    "quiet",
)


def crawl_settings(args: argparse.Namespace, *, base: CrawlSettings | None = None) -> CrawlSettings:
    overrides: dict[str, Any] = {name: getattr(args, name) for name in CRAWL_FLAGS}
    seeds = list(args.seeds)
    if args.seeds_file:
        seeds += api.read_seeds_file(args.seeds_file)
    bad = [s for s in seeds if api.normalize_seed(s) is None]
    if bad:
        raise CliError(f"not an http(s) URL: {bad[0]!r}")
    overrides["seeds"] = seeds or None
    return load_settings(config_file=args.config, overrides=overrides, base=base, source=_flag)


def _flag(name: str) -> str:
    """How an error names a setting given on the command line: by its flag."""
    return "--" + name.replace("_", "-")


def cmd_crawl(args: argparse.Namespace) -> int:
    from linkgraph.crawler.progress import Progress

    # A store holding a crawl continues it with its own settings; flags given now win.
    settings = crawl_settings(args, base=api.stored_settings(args.db))
    with Progress(quiet=settings.quiet) as progress:
        result = api.run(api.crawl_async(args.db, settings, progress=progress))
    _print_crawl_summary(result, args.db, quiet=settings.quiet)
    if result.interrupted:
        return EXIT_INTERRUPTED
    failed = api.failed_seeds(args.db)
    if failed:
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise CliError(f"every seed failed: {'; '.join(failed[:3])}{more}")
    return EXIT_OK


def _print_crawl_summary(result: Any, db: str, *, quiet: bool) -> None:
    if result.interrupted:
        print(
            f"interrupted: everything fetched is saved; continue with `linkgraph crawl --db {db}`",
            file=sys.stderr,
        )
    if quiet:
        return
    print(
        f"crawled {result.pages:,} pages ({result.errors:,} errors, {result.skipped:,} skipped) "
        f"in {result.elapsed:.1f}s; the store holds {result.links:,} current links;"
        f" queue left: {result.queued:,}",
        file=sys.stderr,
    )
    for host, note in sorted(result.host_notes.items()):
        say(f"  {host}: {note}", sys.stderr)


def cmd_stats(args: argparse.Namespace) -> int:
    result = api.stats(args.db)
    if args.format == "json":
        emit_json(result)
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=safe_text(f"linkgraph store {args.db}"), show_header=False)
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
    Console().print(table)
    for note in result["host_notes"]:
        say(f"  {note['host']}: {note['note']}")
    if result["guards"]:
        guards = ", ".join(
            f"{name} {'none' if value is None else f'{value:g}'}"
            for name, value in result["guards"].items()
        )
        say(f"guards: {guards}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    if args.output == "-":  # the usual spelling of standard output, not a file named "-"
        args.output = None
    count = api.export(
        args.db,
        format=args.format,
        level=args.level,
        output=args.output,
        include_lost=args.include_lost,
    )
    if args.output:
        what = "links" if args.format in ("jsonl", "csv") else f"{args.level}-level edges"
        print(f"wrote {count:,} {what} to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_rank(args: argparse.Namespace) -> int:
    from .ranking import rank

    def say(message: str) -> None:
        if not args.quiet:
            print(f"{message} ...", file=sys.stderr)

    summary = rank(args.db, trusted=args.trusted, progress=say)
    if not args.quiet:
        took = sum(summary.seconds.values())
        print(
            f"ranked {summary.pages:,} pages, {summary.hosts:,} hosts and {summary.domains:,} domains"
            f" from {summary.follow_edges:,} followed page links in {took:.2f}s"
            + (f" (TrustRank from {summary.trusted} trusted domains)" if summary.trusted else "")
        )
        for name, authority in summary.top_domains:
            print(terminal_safe(f"  {authority:5.1f}  {name}"))
    return EXIT_OK


_LINK_COLUMNS = (
    "source",
    "target",
    "anchor",
    "rel",
    "follow",
    "placement",
    "first_seen",
    "source_authority",
    "source_domain_authority",
)
# Every field of a command's records: the CSV header of an empty result.
_LINK_FIELDS = (*EXPORT_FIELDS, "source_authority", "source_domain_authority")


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


def _profile(args: argparse.Namespace) -> Any:
    from .audit import load_profile

    return load_profile(
        args.profile, brand=args.brand, keyword=args.keyword, generic_file=args.generic_file
    )


_QUALITY_FIELDS = (
    "source",
    "target",
    "anchor",
    "rel",
    "follow",
    "placement",
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
    if args.quality:
        from .audit import backlink_quality

        records = backlink_quality(
            args.db, args.target, profile=_profile(args), **_query_kwargs(args)
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


def cmd_changes(args: argparse.Namespace) -> int:
    from .audit import changes

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
    from linkgraph.crawler.progress import Progress

    from .audit import broken

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
    from .audit import toxic

    records = toxic(
        args.db,
        args.target,
        profile=_profile(args),
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
    from .audit import disavow

    if args.output == "-":  # standard output, as for export
        args.output = None
    text = disavow(
        args.db,
        args.target,
        min_score=args.min_score,
        profile=_profile(args),
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
    from .audit import mentions

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


def cmd_referring_domains(args: argparse.Namespace) -> int:
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
    if args.classify:
        from .audit import anchor_profile

        kwargs = _query_kwargs(args)
        report = anchor_profile(
            args.db,
            args.target,
            profile=_profile(args),
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


def cmd_import(args: argparse.Namespace) -> int:
    from .importer import import_links

    result = import_links(args.db, args.file, encoding=args.encoding)
    for problem in result.problems:
        say(f"  skipped {problem}", sys.stderr)
    read_as = "" if result.encoding == "utf-8" else f", read as {result.encoding_note}"
    print(
        f"imported {result.links:,} links from {result.rows:,} rows ({result.skipped:,} skipped)"
        f" into {args.db}{read_as}"
    )
    return EXIT_OK if result.links or not result.rows else EXIT_ERROR


def cmd_robots(args: argparse.Namespace) -> int:
    overrides = {
        "user_agent": args.user_agent,
        "hosts_file": args.hosts_file,
        "allow_private_addresses": args.allow_private_addresses,
    }
    settings = load_settings(config_file=args.config, overrides=overrides)
    report = api.robots(args.source, args.urls, settings=settings)
    if args.format == "json":
        emit_json(report)
        return EXIT_OK
    from .robotstable import print_robots_table

    print_robots_table(report, sys.stdout)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(
        db=args.db,
        sites=args.sites,
        pages=args.pages,
        quiet=args.quiet,
        recrawl=args.recrawl,
        check_external=args.check_external,
    )


# -- entry point -------------------------------------------------------------------------

# GraphError: PageRank that does not converge, or a graph the ranking cannot take.
_EXPECTED: tuple[type[BaseException], ...] = (
    StoreError,
    SettingsError,
    FetchError,
    GraphError,
    CliError,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler]
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except _EXPECTED as exc:
        print(f"linkgraph: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("linkgraph: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK  # `linkgraph export | head` is fine
    except OSError as exc:
        print(
            f"linkgraph: error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(
                ": "
            ),
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
