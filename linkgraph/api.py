"""The public Python API: one function per command, the same names and keywords.

This module is the composition root: it builds settings, opens the store, builds the
fetcher and engine, and runs them. Nothing below it reaches for global state.
"""

from __future__ import annotations

import asyncio
import csv
import io
import ipaddress
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import fields
from pathlib import Path
from typing import IO, Any, TypeVar

from crawler.engine import CrawlStats, Engine
from crawler.fetch import Fetcher, SafeResolver, read_hosts_file
from crawler.settings import CrawlSettings, SettingsError, load_settings
from crawler.urls import normalize
from storage import backlinks as _backlinks
from storage import queries
from storage.errors import StoreNotFound
from storage.writer import StoreWriter

__all__ = [
    "anchors",
    "backlinks",
    "crawl",
    "crawl_async",
    "export",
    "intersect",
    "iter_links",
    "referring_domains",
    "run",
    "stats",
    "top",
]

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


def read_list_file(path: str | os.PathLike[str], what: str) -> list[tuple[int, str]]:
    """The entries of a one-per-line file, with their line numbers; blank lines and ``#``
    comments (whole lines or line ends) left out. ``what`` names the file in errors."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SettingsError(f"cannot read {what} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"{what} {path} is not UTF-8 text") from None
    entries = ((number, line.split("#", 1)[0].strip()) for number, line in enumerate(lines, 1))
    return [(number, line) for number, line in entries if line]


def read_seeds_file(path: str | os.PathLike[str]) -> list[str]:
    """One URL per line; blank lines and ``#`` comments ignored."""
    return [line for _, line in read_list_file(path, "seeds file")]


async def crawl_async(
    db: str | os.PathLike[str],
    settings: CrawlSettings,
    *,
    progress: Callable[[CrawlStats], object] | None = None,
    check: bool = False,
) -> CrawlStats:
    """Crawl into ``db`` (created, or continued when it holds a crawl already).

    ``check=True`` instead checks the status of every link target not fetched yet
    (``linkgraph broken --check-external``)."""
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
        engine = Engine(settings, writer, fetcher, check=check)
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
    base = settings or stored_settings(db) or CrawlSettings()
    merged = dict(options)
    if seeds:
        merged["seeds"] = tuple(base.seeds) + tuple(seeds)
    final = load_settings(environ={}, overrides=merged, base=base)
    return run(crawl_async(db, final, progress=progress))


def stored_settings(db: str | os.PathLike[str]) -> CrawlSettings | None:
    """The settings the crawl in ``db`` last ran with, or ``None`` for a store without one.

    A continued crawl starts from these rather than from the defaults, so ``linkgraph crawl
    --db links.db`` resumes with the scope, caps, delay and hosts file it began with. The
    seeds are left out (the engine adds the stored ones itself), and so is ``quiet``.
    """
    try:
        with queries.reader(db) as conn:
            record = queries.crawl_record(conn)
    except StoreNotFound:
        return None
    if record is None:
        return None
    known = {f.name for f in fields(CrawlSettings)} - {"seeds", "quiet", "refresh"}
    # A stored null is a limit the crawl ran without: "none" keeps it lifted (a None
    # override would mean "not given" and bring the default back).
    stored = {k: "none" if v is None else v for k, v in record.items() if k in known}
    return load_settings(environ={}, overrides=stored, source=lambda name: f"stored {name}")


def stats(db: str | os.PathLike[str]) -> dict[str, Any]:
    """Counts of a store: pages by status, links by kind, hosts, domains, frontier size."""
    with queries.reader(db) as conn:
        return queries.stats(conn)


def iter_links(db: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every link in the store as an export record (see ``storage.queries.EXPORT_FIELDS``)."""
    with queries.reader(db) as conn:
        yield from queries.iter_links(conn)


EXPORT_FORMATS = ("jsonl", "csv", "graphml", "gexf", "edgelist")


def export(
    db: str | os.PathLike[str],
    *,
    format: str = "jsonl",
    level: str = "page",
    output: str | os.PathLike[str] | IO[Any] | None = None,
) -> int:
    """Write the store's links; returns the number of records (or edges) written.

    ``jsonl`` and ``csv`` write every link, one record each (``level`` is ignored).
    ``graphml``, ``gexf`` and ``edgelist`` write the graph at ``level`` (page, host or
    domain) for Gephi and other tools. ``output`` is a path, an open file, or ``None``
    for standard output. A path is written to a temporary name and renamed at the end,
    so an interrupted export never leaves a half file under the name asked for.
    """
    from .graphs import LEVELS, export_graph

    if format not in EXPORT_FORMATS:
        raise SettingsError(f"unknown export format {format!r}: use {', '.join(EXPORT_FORMATS)}")
    if level not in LEVELS:
        raise SettingsError(f"unknown level {level!r}: use page, host or domain")
    binary = format in ("graphml", "gexf")

    def write(stream: IO[Any]) -> int:
        if format in ("jsonl", "csv"):
            return _write_links(db, format, stream)
        return export_graph(db, stream, format=format, level=level)

    if output is None or isinstance(output, io.IOBase) or hasattr(output, "write"):
        stream: Any = output
        if stream is None:
            stream = sys.stdout.buffer if binary else sys.stdout
        return write(stream)
    target = Path(output)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        with tmp.open("wb") if binary else tmp.open("w", encoding="utf-8", newline="") as fh:
            count = write(fh)
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def backlinks(
    db: str | os.PathLike[str],
    target: str,
    *,
    mode: str | None = None,
    follow_only: bool = False,
    include_internal: bool = False,
    placement: str | None = None,
    limit: int | None = 100,
    sort: str = "authority",
) -> list[dict[str, Any]]:
    """Links into ``target`` (a URL, or a bare domain / host name), strongest sources first.

    A target with a scheme is a URL (``mode="exact"`` by default, or ``"prefix"``); a bare
    name is a domain and its subdomains (``mode="domain"``) or one host (``"host"``).
    Records carry the export fields plus ``source_authority``.

    Example::

        linkgraph.backlinks("links.db", "example.com", follow_only=True, limit=20)
    """
    with queries.reader(db) as conn:
        return _backlinks.backlinks(
            conn,
            _backlinks.resolve_target(conn, target, mode),
            follow_only=follow_only,
            include_internal=include_internal,
            placement=placement,
            limit=limit,
            sort=sort,
        )


def referring_domains(
    db: str | os.PathLike[str],
    target: str,
    *,
    mode: str | None = None,
    follow_only: bool = False,
    include_internal: bool = False,
    placement: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """One record per registrable domain linking to ``target``: ``domain``, ``backlinks``,
    ``follow_backlinks``, ``first_seen``, ``last_seen``, ``authority``, and the addresses
    its linking hosts resolved to (``ips``) with their /24 ``subnets``."""
    with queries.reader(db) as conn:
        t = _backlinks.resolve_target(conn, target, mode)
        records = _backlinks.referring_domains(
            conn,
            t,
            follow_only=follow_only,
            include_internal=include_internal,
            placement=placement,
            limit=limit,
        )
    for record in records:
        record["subnets"] = sorted({subnet_24(ip) for ip in record["ips"]})
    return records


def subnet_24(ip: str) -> str:
    """The /24 of an IPv4 address (the /48 of an IPv6 one): links from one subnet often
    share an owner, which is why backlink tools count referring subnets."""
    address = ipaddress.ip_address(ip)
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def anchors(
    db: str | os.PathLike[str],
    target: str,
    *,
    mode: str | None = None,
    follow_only: bool = False,
    include_internal: bool = False,
    placement: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """Anchor texts of the links into ``target`` with backlink and referring-domain counts."""
    with queries.reader(db) as conn:
        return _backlinks.anchors(
            conn,
            _backlinks.resolve_target(conn, target, mode),
            follow_only=follow_only,
            include_internal=include_internal,
            placement=placement,
            limit=limit,
        )


def top(
    db: str | os.PathLike[str], *, level: str = "domain", limit: int = 20
) -> list[dict[str, Any]]:
    """The highest-authority pages, hosts or domains (after :func:`rank`)."""
    with queries.reader(db) as conn:
        return _backlinks.top(conn, level=level, limit=limit)


def intersect(
    db: str | os.PathLike[str],
    competitors: list[str],
    *,
    exclude: str | None = None,
    min: int = 2,
    mode: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """The competitor backlink gap: domains linking to at least ``min`` of ``competitors``
    but not to ``exclude``, each with the competitors it links to and its authority.

    Example::

        linkgraph.intersect("links.db", ["rival-a.com", "rival-b.com"], exclude="me.com", min=2)
    """
    with queries.reader(db) as conn:
        return _backlinks.intersect(
            conn,
            [_backlinks.resolve_target(conn, c, mode) for c in competitors],
            exclude=_backlinks.resolve_target(conn, exclude, mode) if exclude else None,
            min_count=min,
            limit=limit,
        )


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
