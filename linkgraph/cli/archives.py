"""The commands that read other formats into a store: ``import-warc``, ``import-wat``
(web archives) and ``import-parquet``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from ..output import say
from ..stores import shown as shown_store
from .common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, arg, call, command

if TYPE_CHECKING:
    from ..warcimport import ArchiveReport

_PATHS_HELP = "{what} files, plain or gzipped (.gz); in capture-date order for a full history"


class _Progress:
    """Records, MB/s, pages and links on standard error: one line rewritten in place on
    a terminal, a line every ten seconds otherwise, nothing with ``--quiet``."""

    def __init__(self, *, quiet: bool, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self._last = 0.0

    def line(self, r: ArchiveReport) -> str:
        rate = r.bytes / 1e6 / r.elapsed if r.elapsed > 0 else 0.0
        return (
            f"records {r.records:,}  {r.records / max(r.elapsed, 1e-9):,.0f}/s  {rate:.1f} MB/s"
            f"  pages {r.pages:,}  links {r.links:,}  damaged {r.damaged:,}"
        )

    def __call__(self, r: ArchiveReport) -> None:
        if self.quiet:
            return
        if self.live:
            print(f"\r{self.line(r)}", end="", file=self.stream, flush=True)
            return
        now = time.monotonic()
        if now - self._last >= 10.0:
            self._last = now
            print(f"[{r.elapsed:7.1f}s] {self.line(r)}", file=self.stream, flush=True)

    def done(self) -> None:
        if self.live:
            print(file=self.stream)


def _summary(r: ArchiveReport, db: str) -> None:
    for problem in r.problems:
        say(f"  damaged: {problem}", sys.stderr)
    if r.damaged > len(r.problems):
        print(f"  ... and {r.damaged - len(r.problems):,} more damaged", file=sys.stderr)
    for path in r.already:
        say(f"  {path}: imported before, skipped", sys.stderr)
    for path in r.resumed:
        say(f"  {path}: continued where an earlier import stopped", sys.stderr)
    skipped = ", ".join(f"{n:,} {why}" for why, n in sorted(r.skipped.items()))
    say(
        f"imported {r.pages:,} pages ({r.recaptures:,} recaptures, {r.redirects:,} redirects)"
        f" with {r.links:,} links from {r.records:,} records of {r.files:,} files into {shown_store(db)}"
        f"; {r.older:,} older captures and {r.damaged:,} damaged records skipped"
        + (f"; skipped: {skipped}" if skipped else "")
    )


def _run(args: argparse.Namespace, function: Callable[..., ArchiveReport]) -> int:
    from ..warcimport import ArchiveReport

    report = ArchiveReport()
    progress = _Progress(quiet=args.quiet)
    try:
        call(function, args, progress=progress, report=report)
    except KeyboardInterrupt:
        progress.done()
        _summary(report, args.db)
        print(
            "linkgraph: interrupted; what was read is committed: run the same command again"
            " to continue",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    progress.done()
    _summary(report, args.db)
    for error in report.errors:
        say(f"linkgraph: error: {error}", sys.stderr)
    return EXIT_ERROR if report.errors else EXIT_OK


@command(
    arg("paths", nargs="+", metavar="PATH", help=_PATHS_HELP.format(what="WARC")),
    "db",
    "quiet",
)
def cmd_import_warc(args: argparse.Namespace) -> int:
    """Import web archives (WARC): HTML captures become pages with their links, dated by capture.

    Example:
      linkgraph import-warc --db links.db crawl-2024.warc.gz crawl-2025.warc.gz
      linkgraph import-warc --db links.db CC-MAIN-*.warc.gz && linkgraph rank --db links.db
      linkgraph changes --db links.db example.com   # new and lost backlinks between captures
    """
    from ..warcimport import import_warc

    return _run(args, import_warc)


@command(
    arg("paths", nargs="+", metavar="PATH", help=_PATHS_HELP.format(what="WAT")),
    "db",
    "quiet",
)
def cmd_import_wat(args: argparse.Namespace) -> int:
    """Import Common Crawl WAT files: the hyperlinks each HTML capture holds, dated by capture.

    Example:
      linkgraph import-wat --db links.db CC-MAIN-20240517233122-20240518023122-00000.warc.wat.gz
      linkgraph import-wat --db links.db wat/*.wat.gz && linkgraph referring-domains --db links.db example.com
    """
    from ..watimport import import_wat

    return _run(args, import_wat)


@command(
    arg("folder", metavar="DIR", help="a folder written by `linkgraph export --format parquet`"),
    "db",
)
def cmd_import_parquet(args: argparse.Namespace) -> int:
    """Fill a new store from a Parquet export (link and page tables), losing nothing.

    Example:
      linkgraph export --db links.db --format parquet --output tables/
      linkgraph import-parquet --db copy.db tables/
    """
    from ..parquet import import_parquet

    links, pages = call(import_parquet, args)
    print(f"imported {links:,} links and {pages:,} pages into {shown_store(args.db)}")
    return EXIT_OK
