"""The ``linkgraph`` command: parse arguments, call one API function, print, exit.

Errors we expect (a bad flag value, a foreign database, an unreadable file) become one
line on stderr and exit status 1; argparse's own usage errors exit 2; Ctrl-C exits 130
after flushing what was fetched.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from crawler.fetch import FetchError
from crawler.settings import CrawlSettings, SettingsError, load_settings
from storage.errors import StoreError

from . import api

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


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

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
    p.add_argument("seeds", nargs="*", metavar="SEED_URL", help="start URLs; their sites define the scope")
    p.add_argument("--db", required=True, metavar="PATH", help="the SQLite link store (created if missing)")
    p.add_argument("--seeds", dest="seeds_file", metavar="FILE", help="file with one seed URL per line")
    p.add_argument("--config", metavar="FILE.toml", help="settings file (see configs/linkgraph.toml)")
    p.add_argument("--scope", choices=("domain", "host", "any"), help="what to fetch (default: domain)")
    p.add_argument("--max-pages", type=_positive_int, metavar="N", help="stop after N URLs fetched")
    p.add_argument("--max-pages-per-host", type=_positive_int, metavar="N", help="at most N URLs per host")
    p.add_argument("--max-depth", type=_positive_int, metavar="N", help="follow links at most N hops from a seed")
    p.add_argument("--delay", type=_seconds, metavar="SECONDS", help="minimum gap between requests to a host (default 1.0)")
    p.add_argument("--user-agent", metavar="UA", help="User-Agent; its first word is the robots.txt token")
    p.add_argument("--hosts-file", metavar="FILE", help="/etc/hosts-format file pinning names to addresses")
    p.add_argument("--follow-nofollow", action="store_true", default=None, help="also follow rel=nofollow links")
    p.add_argument("--concurrency", type=_positive_int, metavar="N", help="requests in flight at most (default 100)")
    p.add_argument("--no-sitemaps", dest="sitemaps", action="store_false", default=None, help="ignore Sitemap: lines")
    p.add_argument(
        "--allow-private-addresses",
        action="store_true",
        default=None,
        help="allow loopback/private addresses (off by default: a crawl must not reach internal services)",
    )
    p.add_argument("--quiet", action="store_true", default=None, help="no progress output")
    p.set_defaults(func=cmd_crawl)

    p = command("stats", "Counts of a link store.", "linkgraph stats --db links.db --format json")
    p.add_argument("--db", required=True, metavar="PATH")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_stats)

    p = command(
        "export",
        "Write every link as JSON lines or CSV.",
        "linkgraph export --db links.db --format csv --output links.csv",
    )
    p.add_argument("--db", required=True, metavar="PATH")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(func=cmd_export)

    p = command(
        "demo",
        "Start the built-in local demo web, crawl it into a store, and summarise.",
        "linkgraph demo",
        "linkgraph demo --db /tmp/demo.db --sites 60",
    )
    p.add_argument("--db", default="demo.db", metavar="PATH", help="store to write (default demo.db; replaced)")
    p.add_argument("--sites", type=_positive_int, default=40, metavar="N", help="number of demo sites")
    p.add_argument("--pages", type=_positive_int, default=12, metavar="N", help="pages per demo site")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_demo)
    return parser


# -- commands ----------------------------------------------------------------------------


CRAWL_FLAGS = (
    "scope",
    "max_pages",
    "max_pages_per_host",
    "max_depth",
    "delay",
    "user_agent",
    "hosts_file",
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
    return load_settings(config_file=args.config, overrides=overrides, base=base)


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.progress import Progress

    settings = crawl_settings(args)
    with Progress(quiet=settings.quiet) as progress:
        result = api.run(api.crawl_async(args.db, settings, progress=progress))
    _print_crawl_summary(result, args.db, quiet=settings.quiet)
    return EXIT_INTERRUPTED if result.interrupted else EXIT_OK


def _print_crawl_summary(result: Any, db: str, *, quiet: bool) -> None:
    if result.interrupted:
        print(f"interrupted: everything fetched is saved; continue with `linkgraph crawl --db {db}`", file=sys.stderr)
    if quiet:
        return
    print(
        f"crawled {result.pages:,} pages ({result.errors:,} errors, {result.skipped:,} skipped) "
        f"in {result.elapsed:.1f}s, {result.links:,} links; queue left: {result.queued:,}",
        file=sys.stderr,
    )
    for host, note in sorted(result.host_notes.items()):
        print(f"  {host}: {note}", file=sys.stderr)


def cmd_stats(args: argparse.Namespace) -> int:
    result = api.stats(args.db)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"linkgraph store {args.db}", show_header=False)
    table.add_column()
    table.add_column(justify="right")
    pages = result["pages"]
    table.add_row("pages fetched", f"{pages['fetched']:,}")
    for status, n in sorted(pages["by_status"].items()):
        table.add_row(f"  HTTP {status}", f"{n:,}")
    table.add_row("URLs not fetched", f"{pages['failed'] + pages['skipped']:,}")
    for reason, n in sorted(pages["not_fetched"].items()):
        table.add_row(f"  {reason}", f"{n:,}")
    links = result["links"]
    table.add_row("links", f"{links['total']:,}")
    for kind in ("link", "redirect", "canonical", "follow", "nofollow"):
        table.add_row(f"  {kind}", f"{links[kind]:,}")
    table.add_row("URLs known", f"{result['urls']:,}")
    table.add_row("hosts (crawled)", f"{result['hosts']:,} ({result['hosts_crawled']:,})")
    table.add_row("domains", f"{result['domains']:,}")
    table.add_row("frontier (still queued)", f"{result['frontier']:,}")
    Console().print(table)
    for note in result["host_notes"]:
        print(f"  {note['host']}: {note['note']}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    count = api.export(args.db, format=args.format, output=args.output)
    if args.output:
        print(f"wrote {count:,} links to {args.output}", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(db=args.db, sites=args.sites, pages=args.pages, quiet=args.quiet)


# -- entry point -------------------------------------------------------------------------

_EXPECTED: tuple[type[BaseException], ...] = (StoreError, SettingsError, FetchError, CliError)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
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
        print(f"linkgraph: error: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
