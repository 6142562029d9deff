"""Progress: a live panel on a terminal, a plain line every few seconds otherwise.

The engine calls the display with its :class:`~crawler.engine.CrawlStats` four times a
second; the display decides what to show. ``--quiet`` shows nothing. Links and hosts
crawled are the store's totals as ``linkgraph stats`` counts them (current links of every
kind; hosts with a page that answered), so the last frame agrees with every summary.
"""

from __future__ import annotations

import sys
import time
from typing import IO, TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from .engine import CrawlStats

__all__ = ["Progress"]


def _line(stats: CrawlStats) -> str:
    return (
        f"pages {stats.pages:,}  {stats.rate():.1f}/s  queue {stats.queued:,}"
        f"  active hosts {stats.active_hosts}  errors {stats.errors:,}"
        f"  skipped {stats.skipped:,}  hosts crawled {stats.hosts_crawled:,}  links {stats.links:,}"
    )


class Progress:
    """Callable progress sink. Use as a context manager so the live panel is closed."""

    def __init__(
        self, *, quiet: bool = False, stream: IO[str] | None = None, every: float = 10.0
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.every = every
        self.live_mode = not quiet and self.stream.isatty()
        self._live: Live | None = None
        self._last = 0.0
        self._announced = False

    def __enter__(self) -> Progress:
        if self.live_mode:
            console = Console(file=self.stream)
            self._live = Live(console=console, refresh_per_second=4, transient=False)
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __call__(self, stats: CrawlStats) -> None:
        if self.quiet:
            return
        if stats.worker is not None and not self._announced:
            # One of several workers on a store: its id is what `linkgraph stats` lists.
            self._announced = True
            line = f"linkgraph: this is worker {stats.worker} of the crawl"
            if stats.pass_cap is not None:
                line += f", joining a pass capped at {stats.pass_cap:,} pages"
            if self._live is not None:
                self._live.console.print(line, markup=False, highlight=False)
            else:
                print(line, file=self.stream, flush=True)
        if self._live is not None:
            self._live.update(self._table(stats))
            return
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            print(f"[{stats.elapsed:7.1f}s] {_line(stats)}", file=self.stream, flush=True)

    @staticmethod
    def _table(stats: CrawlStats) -> Table:
        table = Table(title="linkgraph crawl", show_header=False, min_width=44)
        table.add_column(justify="left")
        table.add_column(justify="right")
        for label, value in (
            ("pages", f"{stats.pages:,}"),
            ("pages/s", f"{stats.rate():.1f}"),
            ("queue", f"{stats.queued:,}"),
            ("active hosts", f"{stats.active_hosts:,}"),
            ("hosts crawled", f"{stats.hosts_crawled:,}"),
            ("links", f"{stats.links:,}"),
            ("errors", f"{stats.errors:,}"),
            ("skipped (robots, hosts)", f"{stats.skipped:,}"),
            ("retries", f"{stats.retries:,}"),
            ("elapsed", f"{stats.elapsed:.1f}s"),
        ):
            table.add_row(label, value)
        return table
