"""The commands that fetch: ``crawl``, ``robots`` (a robots.txt verdict) and ``demo``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from linkgraph.crawler.settings import CrawlSettings, load_settings

from ..inputs import read_seeds_file
from ..output import emit_json, say
from ..stores import shown
from .common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    CliError,
    arg,
    call,
    command,
    option,
    positive_int,
    switch,
)

# The settings crawl and robots both take, with help true for both: robots fetches a
# robots.txt URL under the same rules a crawl fetches it.
_CONFIG = arg("--config", metavar="FILE.toml", help="settings file (see configs/linkgraph.toml)")
_USER_AGENT = arg(
    "--user-agent",
    metavar="UA",
    help="User-Agent; its first word is the robots.txt product token (default: linkgraph's)",
)
_HOSTS_FILE = arg(
    "--hosts-file", metavar="FILE", help="/etc/hosts-format file pinning names to addresses"
)
_ALLOW_PRIVATE_ADDRESSES = switch(
    "--allow-private-addresses",
    # None, not False: an absent flag leaves the TOML / environment value in force.
    default=None,
    help="allow fetching from loopback/private addresses"
    " (off by default: linkgraph must not reach internal services)",
)

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
    from .. import api

    overrides: dict[str, Any] = {name: getattr(args, name) for name in CRAWL_FLAGS}
    seeds = list(args.seeds)
    if args.seeds_file:
        seeds += read_seeds_file(args.seeds_file)
    bad = [s for s in seeds if api.normalize_seed(s) is None]
    if bad:
        raise CliError(f"not an http(s) URL: {bad[0]!r}")
    overrides["seeds"] = seeds or None
    return load_settings(config_file=args.config, overrides=overrides, base=base, source=_flag)


def _flag(name: str) -> str:
    """How an error names a setting given on the command line: by its flag."""
    return "--" + name.replace("_", "-")


# Setting flags take text: crawler.settings checks it with the same rules as the TOML file
# and the environment, and a limit given as "none" is lifted. A switch's default is None,
# not False, so that an absent flag leaves the TOML / environment value in force.
@command(
    arg("seeds", nargs="*", metavar="SEED_URL", help="start URLs; their sites define the scope"),
    option("db", help="the SQLite link store (created if missing)"),
    arg("--seeds", dest="seeds_file", metavar="FILE", help="file with one seed URL per line"),
    _CONFIG,
    arg("--scope", metavar="SCOPE", help="what to fetch: domain (default), host or any"),
    arg("--max-pages", metavar="N", help="stop after N URLs fetched"),
    arg("--max-pages-per-host", metavar="N", help="at most N URLs fetched per host"),
    arg(
        "--max-depth",
        metavar="N",
        help="follow links at most N hops from a seed (default 20; none: no limit)",
    ),
    arg(
        "--max-urls-per-host",
        metavar="N",
        help="at most N URLs queued per host, the rest recorded as host-url-cap"
        " (default 100000; none: no limit)",
    ),
    arg(
        "--host-budget-seconds",
        metavar="SECONDS",
        help="give a host up after this long waiting on its responses (default 3600; none)",
    ),
    arg(
        "--host-max-failures",
        metavar="N",
        help="give a host up after N failed requests in a row (default 6; none)",
    ),
    arg("--delay", metavar="SECONDS", help="minimum gap between requests to a host (default 1.0)"),
    _USER_AGENT,
    _HOSTS_FILE,
    switch(
        "--follow-nofollow",
        default=None,
        help="also follow rel=nofollow links",
    ),
    switch(
        "--refresh",
        default=None,
        help="fetch every stored page again (conditionally) to find new and lost links",
    ),
    arg("--concurrency", metavar="N", help="requests in flight at most (default 100)"),
    arg(
        "--no-sitemaps",
        dest="sitemaps",
        action="store_false",
        default=None,
        help="ignore Sitemap: lines",
    ),
    switch(
        "--pinned-only",
        default=None,
        help="with --hosts-file: resolve only the names pinned there, never ask DNS; links to"
        " other hosts are recorded, not fetched (a local mirror; the demo does this)",
    ),
    _ALLOW_PRIVATE_ADDRESSES,
    option("quiet", default=None),
)
def cmd_crawl(args: argparse.Namespace) -> int:
    """Crawl seed sites politely into a link store (continues the crawl if the store has one).

    Example:
      linkgraph crawl https://example.com/ https://example.org/ --db links.db --max-pages 1000
      linkgraph crawl --db links.db            # continue an interrupted crawl
      linkgraph crawl https://example.com/ --db postgresql://crawler@db.example.org/links
      linkgraph crawl --db postgresql://crawler@db.example.org/links   # one more worker

    Any number of crawl processes, on any machines, can crawl one PostgreSQL store
    together: each leases the hosts it crawls (docs/deploy.md).
    """
    from linkgraph.crawler.progress import Progress

    from .. import api

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
            f"interrupted: everything fetched is saved; continue with `linkgraph crawl --db {shown(db)}`",
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
    if getattr(result, "worker", None) is not None:  # one of several workers on a store
        share = result.pages / result.fleet_pages if result.fleet_pages else 0.0
        print(
            f"worker {result.worker} fetched {result.pages:,} of the {result.fleet_pages:,}"
            f" pages this store's workers fetched ({share:.0%})",
            file=sys.stderr,
        )


@command(
    arg(
        "source",
        metavar="ROBOTS_FILE_OR_URL",
        help="a robots.txt file, or its http(s) URL (fetched as a crawl fetches it)",
    ),
    arg(
        "urls",
        nargs="+",
        metavar="URL",
        help="URLs to check: absolute http(s) URLs, or paths starting with /",
    ),
    _USER_AGENT,
    "table_or_json",
    _CONFIG,
    _HOSTS_FILE,
    _ALLOW_PRIVATE_ADDRESSES,
)
def cmd_robots(args: argparse.Namespace) -> int:
    """Allowed or disallowed per URL, with the deciding robots.txt rule and its line (the crawler's
    own answer).

    Example:
      linkgraph robots robots.txt /private/x /blog/ --user-agent Googlebot
      linkgraph robots https://example.com/robots.txt https://example.com/cart --format json
    """
    from .. import api

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
    from ..robotstable import print_robots_table

    print_robots_table(report, sys.stdout)
    return EXIT_OK


@command(
    arg(
        "--db",
        default="demo.db",
        metavar="PATH",
        help="store to write (default demo.db; a file holding an earlier demo is replaced),"
        " or a postgresql:// URL of an empty database (never emptied: a database holding"
        " URLs is refused)",
    ),
    arg(
        "--sites",
        type=positive_int,
        default=56,
        metavar="N",
        help="sites in the demo web, its 16 fixed trap and audit sites included"
        " (default 56, at least 28, at most 64,768)",
    ),
    arg(
        "--pages",
        type=positive_int,
        default=12,
        metavar="N",
        help="pages of each generated site (default 12, 6 to 1,000)",
    ),
    option("quiet", param="quiet"),  # run_demo prints its own progress
    switch(
        "--recrawl",
        help="then age the demo web three months and recrawl it with --refresh (for `linkgraph changes`)",
    ),
    switch(
        "--check-external",
        help="then check the link targets the crawl did not fetch, while the demo web is up"
        " (for `linkgraph broken`)",
    ),
)
def cmd_demo(args: argparse.Namespace) -> int:
    """Start the built-in local demo web, crawl it into a store, and summarise.

    Example:
      linkgraph demo
      linkgraph demo --db /tmp/demo.db --sites 100 --pages 20
      linkgraph demo --recrawl          # crawl, age the web, crawl again: see `changes`
      linkgraph demo --recrawl --check-external   # and check external links: see `broken`
      linkgraph demo --db postgresql://crawler@db.example.org/demo   # into an empty database
    """
    from ..demo import run_demo

    return call(run_demo, args)
