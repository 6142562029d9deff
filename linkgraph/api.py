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
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import IO, Any, TypeVar

from linkgraph.crawler.engine import CrawlStats, Engine
from linkgraph.crawler.fetch import Fetcher, FetchError, SafeResolver, read_hosts_file
from linkgraph.crawler.robots import rules_for_response
from linkgraph.crawler.robotsfetch import RobotsFetch, fetch_robots
from linkgraph.crawler.settings import CrawlSettings, SettingsError, load_settings
from linkgraph.crawler.urls import resolve
from linkgraph.storage import backlinks as _backlinks
from linkgraph.storage import queries
from linkgraph.storage.errors import StoreNotFound
from linkgraph.storage.identity import normalize
from linkgraph.storage.safetext import csv_cell, json_safe
from linkgraph.storage.schema import inspect_file
from linkgraph.storage.writer import StoreWriter

__all__ = [
    "anchors",
    "backlinks",
    "crawl",
    "crawl_async",
    "export",
    "failed_seeds",
    "intersect",
    "iter_links",
    "referring_domains",
    "robots",
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
    if not check and not any(normalize(s) for s in settings.seeds) and inspect_file(db) is None:
        # The engine says the same, but only once the store is open, and opening creates
        # it: a crawl with nothing to do must not leave a new empty store behind.
        raise SettingsError("no seed URLs: give SEED_URL arguments or --seeds FILE")
    pinned = read_hosts_file(settings.hosts_file) if settings.hosts_file else {}
    resolver = SafeResolver(
        pinned,
        allow_private=settings.allow_private_addresses,
        pinned_only=settings.pinned_only,
    )
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


def failed_seeds(db: str | os.PathLike[str]) -> list[str]:
    """``"URL (reason)"`` for every seed of the crawl in ``db`` if every one failed, else ``[]``.

    A seed failed when the crawl is done with it and got no page: no response (``connect``,
    ``dns``, ``timeout``...), skipped (``robots-unavailable``...), or an HTTP error status.
    ``linkgraph crawl`` exits non-zero after such a crawl: it built nothing to query.
    """
    with queries.reader(db) as conn:
        record = queries.crawl_record(conn) or {}
        urls = [str(u) for u in record.get("seeds", [])]
        outcomes = queries.url_outcomes(conn, urls)
    failed = []
    for url in urls:
        status, error = outcomes.get(url, (0, None))
        if status is not None and status < 400:  # 0: not done yet, so not failed
            return []
        failed.append(f"{url} ({error or f'HTTP {status}'})")
    return failed


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
    """Counts of a store: pages by status, links by kind, hosts, domains, frontier size.

    Runs SQLite's ``quick_check`` first: ``stats`` is the command to ask whether a store
    is healthy (it raises :class:`~storage.errors.CorruptStore` when it is not)."""
    with queries.reader(db, check=True) as conn:
        return queries.stats(conn)


def iter_links(
    db: str | os.PathLike[str], *, include_lost: bool = False
) -> Iterator[dict[str, Any]]:
    """Every current link in the store as an export record (see
    ``storage.queries.EXPORT_FIELDS``); ``include_lost`` adds lost links, and ``lost_at`` /
    ``lost_reason`` to every record."""
    with queries.reader(db) as conn:
        yield from queries.iter_links(conn, include_lost=include_lost)


EXPORT_FORMATS = ("jsonl", "csv", "graphml", "gexf", "edgelist")


def export(
    db: str | os.PathLike[str],
    *,
    format: str = "jsonl",
    level: str = "page",
    output: str | os.PathLike[str] | IO[Any] | None = None,
    include_lost: bool = False,
) -> int:
    """Write the store's links; returns the number of records (or edges) written.

    ``jsonl`` and ``csv`` write every current link, one record each (``level`` is
    ignored); ``include_lost`` adds the lost links with ``lost_at`` and ``lost_reason``.
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
    if include_lost and format not in ("jsonl", "csv"):
        raise SettingsError("--include-lost is for jsonl and csv: a graph holds current links only")
    binary = format in ("graphml", "gexf")

    def write(stream: IO[Any]) -> int:
        if format in ("jsonl", "csv"):
            return _write_links(db, format, stream, include_lost=include_lost)
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
    include_lost: bool = False,
    placement: str | None = None,
    limit: int | None = 100,
    sort: str = "authority",
) -> list[dict[str, Any]]:
    """Links into ``target`` (a URL, or a bare domain / host name), strongest sources first.

    A target with a scheme is a URL (``mode="exact"`` by default, or ``"prefix"``); a bare
    name is a domain and its subdomains (``mode="domain"``) or one host (``"host"``).
    Records carry the export fields plus ``source_authority`` (the linking page's 0-100
    authority) and ``source_domain_authority`` (its registrable domain's). Current links
    only; ``include_lost`` adds lost ones, each record then with ``lost_at`` and
    ``lost_reason``.

    Example::

        linkgraph.backlinks("links.db", "example.com", follow_only=True, limit=20)
    """
    with queries.reader(db) as conn:
        return _backlinks.backlinks(
            conn,
            _backlinks.resolve_target(conn, target, mode),
            follow_only=follow_only,
            include_internal=include_internal,
            include_lost=include_lost,
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
    include_lost: bool = False,
    placement: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """One record per registrable domain with a current link to ``target``: ``domain``, ``backlinks``,
    ``follow_backlinks``, ``first_seen``, ``last_seen``, ``authority``, and the addresses
    its linking hosts resolved to (``ips``) with their /24 ``subnets``. ``include_lost``
    counts lost links too, with ``lost_at`` / ``lost_reason`` per domain (see
    :func:`storage.backlinks.referring_domains`)."""
    with queries.reader(db) as conn:
        t = _backlinks.resolve_target(conn, target, mode)
        records = _backlinks.referring_domains(
            conn,
            t,
            follow_only=follow_only,
            include_internal=include_internal,
            include_lost=include_lost,
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
    include_lost: bool = False,
    placement: str | None = None,
    limit: int | None = 100,
) -> list[dict[str, Any]]:
    """Anchor texts of the current links into ``target`` with backlink and
    referring-domain counts (``include_lost``: lost links too, with ``lost_at`` /
    ``lost_reason`` per anchor)."""
    with queries.reader(db) as conn:
        return _backlinks.anchors(
            conn,
            _backlinks.resolve_target(conn, target, mode),
            follow_only=follow_only,
            include_internal=include_internal,
            include_lost=include_lost,
            placement=placement,
            limit=limit,
        )


def top(
    db: str | os.PathLike[str], *, level: str = "domain", limit: int | None = 20
) -> list[dict[str, Any]]:
    """The highest-authority pages, hosts or domains (after :func:`rank`), with their
    current backlinks and referring domains as counted by the last :func:`rank`."""
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
    include_lost: bool = False,
) -> list[dict[str, Any]]:
    """The competitor backlink gap: domains linking to at least ``min`` of ``competitors``
    but not to ``exclude``, each with the competitors it links to and its authority.
    Current links only; ``include_lost`` also counts competitors a domain linked to
    before, listed in ``lost_competitors``.

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
            include_lost=include_lost,
        )


def _write_links(
    db: str | os.PathLike[str], format: str, stream: IO[str], *, include_lost: bool = False
) -> int:
    count = 0
    if format == "jsonl":
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        for record in iter_links(db, include_lost=include_lost):
            stream.write(json_safe(dumps(record)))
            stream.write("\n")
            count += 1
    else:
        # The same cells as every CSV of the command (storage.safetext.csv_cell): crawled
        # text escaped and formula-safe, true/false, lists joined with "; ".
        fields = queries.EXPORT_FIELDS + (queries.LOST_FIELDS if include_lost else ())
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(fields)
        for record in iter_links(db, include_lost=include_lost):
            writer.writerow([csv_cell(record[name]) for name in fields])
            count += 1
    return count


def normalize_seed(url: str) -> str | None:
    """A seed as the store will hold it, or ``None`` when it is not an http(s) URL."""
    return normalize(url)


# A base for paths asked about a robots.txt read from a file: only the path is matched, and
# nothing is fetched, so the name (reserved by RFC 2606) is never resolved.
_FILE_BASE = "http://robots.invalid/"


def robots(
    source: str | os.PathLike[str],
    urls: Sequence[str],
    *,
    user_agent: str | None = None,
    settings: CrawlSettings | None = None,
) -> dict[str, Any]:
    """Allowed or disallowed, and by which rule: the answer a crawl gets from a robots.txt.

    ``source`` is a robots.txt file or an http(s) URL. A URL is fetched as a crawl fetches
    it (redirects, ``robots_max_bytes``, the same address safety: a private host needs the
    settings' ``hosts_file`` pin or ``allow_private_addresses``) and read with the same
    status rules: 4xx allows everything, 5xx and 429 disallow everything. ``urls`` are
    absolute http(s) URLs, or paths starting with "/". ``user_agent`` is a User-Agent
    whose first word is the product token (default: the settings'). A file that cannot
    be read raises ``SettingsError``; a URL that cannot be fetched, ``FetchError``.

    Example::

        import linkgraph
        report = linkgraph.robots("robots.txt", ["/private/x"], user_agent="linkgraph")
        report["results"][0]  # {"url": "/private/x", "allowed": False, "line": 2, ...}
    """
    settings = settings or CrawlSettings()
    if user_agent is not None:
        settings = load_settings(environ={}, overrides={"user_agent": user_agent}, base=settings)
    token = settings.product_token
    text = os.fspath(source)
    fetched: RobotsFetch | None = None
    if text.lower().startswith(("http://", "https://")):
        robots_url = normalize(text)
        if robots_url is None:
            raise SettingsError(f"not a valid http(s) URL: {text!r}")
        fetched = run(_fetch_robots(robots_url, settings))
        if fetched.error is not None:
            raise FetchError(fetched.error.reason, f"robots.txt not fetched: {fetched.error}")
        rules, outcome = fetched.rules, fetched.outcome
        base = robots_url
    else:
        try:
            body = Path(text).read_bytes()
        except OSError as exc:
            raise SettingsError(f"cannot read robots.txt file {text}: {exc.strerror}") from None
        rules, outcome = rules_for_response(200, body, max_bytes=settings.robots_max_bytes)
        base = _FILE_BASE
    results = []
    for url in urls:
        absolute = resolve(url, base) if url.startswith("/") else normalize(url)
        if absolute is None:
            raise SettingsError(f"not an http(s) URL or a path starting with '/': {url!r}")
        decision = rules.decide(absolute, token)
        rule = decision.rule
        written = f"{'Allow' if rule.allow else 'Disallow'}: {rule.pattern}" if rule else None
        results.append(
            {
                "url": url,
                "allowed": decision.allowed,
                "rule": written,
                "line": rule.line if rule else None,
                "user_agent": rule.user_agent if rule else None,
                "reason": decision.reason,
            }
        )
    return {
        "robots": text,
        "fetched": fetched.url if fetched else None,
        "status": fetched.status if fetched else None,
        "outcome": str(outcome),
        "token": token,
        "results": results,
    }


async def _fetch_robots(url: str, settings: CrawlSettings) -> RobotsFetch:
    pinned = read_hosts_file(settings.hosts_file) if settings.hosts_file else {}
    resolver = SafeResolver(pinned, allow_private=settings.allow_private_addresses)
    async with Fetcher(
        user_agent=settings.user_agent,
        resolver=resolver,
        concurrency=1,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
    ) as fetcher:
        return await fetch_robots(
            fetcher,
            url,
            max_bytes=settings.robots_max_bytes,
            max_redirects=settings.robots_max_redirects,
        )
