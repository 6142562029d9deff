"""Helpers for the crawl integration tests (``tests/test_crawl_*.py``, ``tests/test_cli.py``).

Every crawl test runs the real engine against a live :class:`~linkgraph.demo.DemoWeb` on
loopback and then reads two independent records of what happened: the server's request
log (what was *sent*) and the store (what the crawler *recorded*). Expected outcomes come
from the sites a test declares or from the demo web's ground truth, never from the code
under test.

It also holds :func:`answered`, the page record that the query, audit and output tests write
their small hand-built stores from.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import uvloop
from linkgraph.crawler.engine import CrawlStats
from linkgraph.crawler.settings import CrawlSettings
from linkgraph.storage import queries
from linkgraph.storage.records import Link, Page

from linkgraph import api
from linkgraph.demo import DemoPage, DemoSite, DemoWeb, ExpectedLink, Hit, site_url

REPO = Path(__file__).resolve().parent.parent

# Settings that keep the tests short without switching any rule off: every wait the crawler
# honours is still there, only measured in tenths of seconds rather than minutes.
FAST: dict[str, Any] = {
    "delay": 0.05,
    "robots_retries": 1,
    "robots_retry_seconds": 0.2,
    "backoff_base": 0.1,
    "backoff_max": 2.0,
    "park_after_failures": 3,
    "park_seconds": 0.3,
    "max_parks": 1,
    "connect_timeout": 5.0,
    "read_timeout": 10.0,
    "flush_seconds": 0.2,
    "quiet": True,
}

# How much shorter than the crawler's gap a gap may look in the server's log. The crawler
# measures from the moment a request leaves; the server notes it when its handler runs,
# which for the first request on a new connection in a burst of a hundred was measured at
# up to 15 ms later (median 0.2 ms): ``Hit.time`` is taken after accept and parse.
EPSILON = 0.020


# -- building sites ----------------------------------------------------------------------


def link_page(
    host: str,
    path: str,
    targets: Iterable[str | tuple[str, str] | tuple[str, str, tuple[str, ...]]] = (),
    *,
    head: str = "",
    headers: dict[str, str] | None = None,
    title: str | None = None,
) -> DemoPage:
    """An HTML page holding one ``<a>`` per target, with its ground truth.

    A target is ``href``, ``(href, anchor)`` or ``(href, anchor, rel)``; ``href`` may be a
    path on ``host`` or an absolute URL (use :func:`site_url` for demo hosts).
    """
    items, expected = [], []
    for target in targets:
        href, anchor, rel = (target, target, ()) if isinstance(target, str) else (*target, ())[:3]
        rel_attr = f' rel="{" ".join(rel)}"' if rel else ""
        items.append(f'<li><a href="{escape(href)}"{rel_attr}>{escape(anchor)}</a></li>')
        absolute = site_url(host, href) if href.startswith("/") else href
        expected.append(ExpectedLink(absolute, anchor, tuple(rel)))
    document = (
        f"<!DOCTYPE html>\n<html><head><title>{escape(title or path)}</title>{head}</head>\n"
        f"<body><ul>\n{''.join(items)}\n</ul></body></html>\n"
    )
    return DemoPage.html(path, document, expected, headers=headers)


def site(
    name: str,
    pages: dict[str, Iterable[Any]] | Iterable[DemoPage],
    *,
    robots: str | DemoPage | None = None,
    seed: bool = True,
    **kwargs: Any,
) -> DemoSite:
    """A demo site from ``{path: targets}`` (see :func:`link_page`) or ready pages."""
    if isinstance(pages, dict):
        built = [link_page(name, path, targets) for path, targets in pages.items()]
    else:
        built = list(pages)
    robots_page = DemoPage.robots(robots) if isinstance(robots, str) else robots
    return DemoSite(name, built, robots_page, seed=seed, **kwargs)


# -- crawling ----------------------------------------------------------------------------


def settings_for(
    web: DemoWeb, hosts_file: Path, *, seeds: Iterable[str] | None = None, **overrides: Any
) -> CrawlSettings:
    """Crawl settings for a demo web: its seeds, its hosts file, :data:`FAST` timings."""
    values = {**FAST, **overrides}
    return CrawlSettings(
        seeds=tuple(web.seeds if seeds is None else seeds), hosts_file=str(hosts_file), **values
    )


async def crawl(
    web: DemoWeb, tmp_path: Path, *, db: str = "links.db", **overrides: Any
) -> tuple[CrawlStats, Path]:
    """Crawl ``web`` into ``tmp_path / db`` (or the PostgreSQL store ``db`` names) in this
    event loop; returns the stats and the store."""
    remote = "://" in db
    hosts = web.write_hosts_file(tmp_path / ("pg.hosts" if remote else f"{db}.hosts"))
    path: Any = db if remote else tmp_path / db
    stats = await api.crawl_async(path, settings_for(web, hosts, **overrides))
    return stats, path


def crawl_blocking(
    web: DemoWeb, tmp_path: Path, *, db: str = "links.db", **overrides: Any
) -> tuple[CrawlStats, Path]:
    """:func:`crawl` on a fresh event loop, for a web served from its own thread."""
    return asyncio.run(crawl(web, tmp_path, db=db, **overrides))


@contextlib.contextmanager
def served_on_uvloop(web: DemoWeb) -> Iterator[DemoWeb]:
    """Serve ``web`` from a thread of its own running uvloop, for timing measurements.

    ``with DemoWeb(...)`` does the same on asyncio's own loop. A server notes a request's
    arrival when its handler runs, and in a burst of a hundred new connections asyncio's
    loop gets there tens of milliseconds late; uvloop's accept and read paths keep that
    lag several times smaller.
    """
    started = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        state["loop"], state["stop"] = asyncio.get_running_loop(), asyncio.Event()
        async with web:
            started.set()
            await state["stop"].wait()

    def run() -> None:
        try:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(serve())
        except Exception as exc:  # reported in the test's thread below
            state["error"] = exc
        finally:
            started.set()

    thread = threading.Thread(target=run, name="demoweb-uvloop", daemon=True)
    thread.start()
    started.wait(30)
    if "error" in state:
        thread.join()
        raise state["error"]
    try:
        yield web
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(30)


# -- reading what the server saw ----------------------------------------------------------


def page_hits(web: DemoWeb, site_name: str | None = None) -> list[Hit]:
    """The logged requests that were not for robots.txt."""
    return [h for h in web.hits(site_name) if h.path != "/robots.txt"]


def paths(web: DemoWeb, site_name: str) -> list[str]:
    """Paths requested on one site, in order, robots.txt included."""
    return [h.path for h in web.hits(site_name)]


def gaps(hits: list[Hit]) -> list[float]:
    """Seconds between the arrivals of consecutive requests."""
    return [b.time - a.time for a, b in itertools.pairwise(hits)]


def by_site(hits: Iterable[Hit]) -> dict[str, list[Hit]]:
    grouped: dict[str, list[Hit]] = {}
    for hit in hits:
        grouped.setdefault(hit.site, []).append(hit)
    return grouped


# -- writing a store by hand ---------------------------------------------------------------


def answered(
    url: str, links: Iterable[Link] = (), *, at: float | None = None, **fields: Any
) -> Page:
    """The record of ``url`` fetched at depth 0 and answered 200 without a redirect, carrying
    ``links``: the page a hand-built store is mostly made of. ``at`` is when it was fetched
    (now by default); ``fields`` sets any other :class:`Page` field (title, text...)."""
    fetched_at = time.time() if at is None else at
    return Page(url, 0, fetched_at, status=200, final_url=url, links=list(links), **fields)


# -- reading what the crawler stored ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredPage:
    status: int | None
    error: str | None
    content_type: str | None
    robots: int
    size: int
    title: str | None
    depth: int


def stored_pages(db: Path) -> dict[str, StoredPage]:
    """Every URL the crawl is done with, by URL."""
    with queries.reader(db) as conn:
        rows = conn.execute(
            "SELECT u.url, p.status, p.error, p.content_type, p.robots, p.size, p.title, p.depth"
            " FROM pages p JOIN urls u ON u.id = p.url_id"
        ).fetchall()
    return {url: StoredPage(*rest) for url, *rest in rows}


def stored_links(db: Path) -> set[tuple[str, str, str, str, str]]:
    """Every stored link as ``(source, target, anchor, kind, placement)``."""
    return {
        (r["source"], r["target"], r["anchor"], r["kind"], r["placement"])
        for r in api.iter_links(db)
    }


def link_records(db: Path) -> list[dict[str, Any]]:
    return list(api.iter_links(db))


def frontier_size(db: Path) -> int:
    with queries.reader(db) as conn:
        return conn.execute("SELECT count(*) FROM frontier").fetchone()[0]


def count_pages(db: Path) -> int:
    """Pages committed so far, read while another process may be writing the store."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return 0
    try:
        return conn.execute("SELECT count(*) FROM pages").fetchone()[0]
    except sqlite3.Error:
        return 0  # the schema is not there yet
    finally:
        conn.close()


# -- the command line in a child process --------------------------------------------------


def cli_command(*args: str) -> list[str]:
    # -P: the child imports the installed package, not the checkout's linkgraph/ folder
    # (which lacks crawler/, graph/ and storage/: they install inside it).
    return [sys.executable, "-P", "-m", "linkgraph", *args]


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINKGRAPH_")}
    env.update(extra)
    return env


@contextlib.contextmanager
def child(args: list[str], *, cwd: Path = REPO, **env: str) -> Iterator[subprocess.Popen[str]]:
    """A ``linkgraph`` child process that is always reaped, killed if still running."""
    process = subprocess.Popen(
        cli_command(*args),
        cwd=cwd,
        env=child_env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)


def wait_until(predicate: Any, timeout: float, what: str, poll: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)
