"""The public Python API: one function per command, the same names and keywords.

This module is the composition root: it builds settings, opens the store, builds the
fetcher and engine, and runs them. Nothing below it reaches for global state.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from crawler.engine import CrawlStats, Engine
from crawler.fetch import Fetcher, SafeResolver, read_hosts_file
from crawler.settings import CrawlSettings, SettingsError, load_settings
from crawler.urls import normalize
from storage import queries
from storage.writer import StoreWriter

__all__ = ["crawl", "crawl_async", "export", "iter_links", "run", "stats"]

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


def read_seeds_file(path: str | os.PathLike[str]) -> list[str]:
    """One URL per line; blank lines and ``#`` comments ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SettingsError(f"cannot read seeds file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"seeds file {path} is not UTF-8 text") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


async def crawl_async(
    db: str | os.PathLike[str],
    settings: CrawlSettings,
    *,
    progress: Callable[[CrawlStats], object] | None = None,
) -> CrawlStats:
    """Crawl into ``db`` (created, or continued when it holds a crawl already)."""
    pinned = read_hosts_file(settings.hosts_file) if settings.hosts_file else {}
    resolver = SafeResolver(pinned, allow_private=settings.allow_private_addresses)
    async with (
        await StoreWriter.open(db, batch_pages=settings.batch_pages) as writer,
        Fetcher(
            user_agent=settings.user_agent,
            resolver=resolver,
            concurrency=settings.concurrency,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
        ) as fetcher,
    ):
        engine = Engine(settings, writer, fetcher)
        return await engine.run(progress=progress)


def crawl(
    db: str | os.PathLike[str],
    seeds: list[str] | tuple[str, ...] = (),
    *,
    settings: CrawlSettings | None = None,
    progress: Callable[[CrawlStats], object] | None = None,
    **options: Any,
) -> CrawlStats:
    """Crawl politely from ``seeds`` into the store at ``db``.

    ``options`` are :class:`~crawler.settings.CrawlSettings` fields (``max_pages=100``,
    ``delay=2.0``, ...). Calling it again on the same ``db`` continues the crawl.

    Example::

        import linkgraph
        linkgraph.crawl("links.db", ["https://example.com/"], max_pages=50)
    """
    base = settings or CrawlSettings()
    merged = dict(options)
    if seeds:
        merged["seeds"] = tuple(base.seeds) + tuple(seeds)
    final = load_settings(environ={}, overrides=merged, base=base)
    return run(crawl_async(db, final, progress=progress))


def stats(db: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts of a store: pages by status, links by kind, hosts, domains, frontier size."""
    with queries.reader(db) as conn:
        return queries.stats(conn)


def iter_links(db: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every link in the store as an export record (see ``storage.queries.EXPORT_FIELDS``)."""
    with queries.reader(db) as conn:
        yield from queries.iter_links(conn)


def export(
    db: str | os.PathLike[str],
    *,
    format: str = "jsonl",
    output: str | os.PathLike[str] | IO[str] | None = None,
) -> int:
    """Write every link as JSON lines or CSV; returns the number of records written.

    ``output`` is a path, an open text file, or ``None`` for standard output. A path is
    written to a temporary name and renamed at the end, so an interrupted export never
    leaves a half file under the name asked for.
    """
    if format not in ("jsonl", "csv"):
        raise SettingsError(f"unknown export format {format!r}: use jsonl or csv")
    if output is None or isinstance(output, io.IOBase) or hasattr(output, "write"):
        stream = sys.stdout if output is None else output
        return _write_links(db, format, stream)  # type: ignore[arg-type]
    target = Path(output)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            count = _write_links(db, format, fh)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def _write_links(db: str | os.PathLike[str], format: str, stream: IO[str]) -> int:
    count = 0
    if format == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for record in iter_links(db):
            stream.write(dumps(record))
            stream.write("\n")
            count += 1
    else:
        writer = csv.DictWriter(stream, fieldnames=queries.EXPORT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for record in iter_links(db):
            record["rel"] = " ".join(record["rel"])
            record["follow"] = "true" if record["follow"] else "false"
            record["image"] = "true" if record["image"] else "false"
            writer.writerow(record)
            count += 1
    return count


def normalize_seed(url: str) -> str | None:
    """A seed as the store will hold it, or ``None`` when it is not an http(s) URL."""
    return normalize(url)
