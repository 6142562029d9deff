"""The public Python API: one function per command, the same names and keywords.

The façade: it builds settings, opens the store once per call (or reads one the caller
opened with :func:`open_store`), and hands the work to the crawl's wiring
(:mod:`linkgraph.wiring`) or to the store's :class:`~storage.interface.LinkReader`.
"""

from __future__ import annotations

import io
import operator
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Unpack

from linkgraph.crawler.settings import CrawlSettings, SettingsError, load_settings
from linkgraph.storage.errors import StoreNotFound
from linkgraph.storage.identity import normalize
from linkgraph.storage.interface import AuditReader, Gap, LinkReader, TargetOptions, split_options
from linkgraph.storage.linkfile import write_links
from linkgraph.storage.vocab import EXPORT_FORMATS

from .stores import open_reader as _open_reader
from .stores import reading as _reading
from .stores import refuse_overwriting_store

if TYPE_CHECKING:
    from linkgraph.crawler.engine import CrawlStats
    from linkgraph.crawler.robotsfetch import RobotsFetch

    from .wiring import crawl_async, run

__all__ = [
    "anchors",
    "backlinks",
    "crawl",
    "crawl_async",
    "export",
    "failed_seeds",
    "intersect",
    "iter_links",
    "open_store",
    "referring_domains",
    "robots",
    "run",
    "stats",
    "top",
]

# The crawl's wiring loads the engine and aiohttp (a quarter of a second): only a command
# that crawls or fetches pays for it, not every query.
_WIRING = frozenset({"crawl_async", "run"})


def __getattr__(name: str) -> Any:
    if name in _WIRING:
        from . import wiring

        return getattr(wiring, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# What every query function reads: a store's path, or a store the caller opened.
Store = str | os.PathLike[str] | LinkReader


def open_store(path: str | os.PathLike[str], *, check: bool = False) -> AuditReader:
    """Open the store at ``path`` (a SQLite file, or a ``postgresql://`` URL) once,
    read-only, for many queries; close it (or use ``with``). Every query function takes
    it in place of a path. ``check`` runs the store's health check first (SQLite's
    ``quick_check``). Raises ``StoreNotFound``, ``NotAStore``, ``CorruptStore``...

    Example::

        with linkgraph.open_store("links.db") as store:
            for rival in ("rival-a.com", "rival-b.com"):
                print(rival, len(linkgraph.referring_domains(store, rival, limit=None)))
    """
    return _open_reader(path, check=check)


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
    from .wiring import crawl_async, run

    base = settings or stored_settings(db) or CrawlSettings()
    merged = dict(options)
    if seeds:
        merged["seeds"] = tuple(base.seeds) + tuple(seeds)
    final = load_settings(environ={}, overrides=merged, base=base)
    return run(crawl_async(db, final, progress=progress))


def failed_seeds(db: Store) -> list[str]:
    """``"URL (reason)"`` for every seed of the crawl in ``db`` if every one failed, else ``[]``.

    A seed failed when the crawl is done with it and got no page: no response (``connect``,
    ``dns``, ``timeout``...), skipped (``robots-unavailable``...), or an HTTP error status.
    ``linkgraph crawl`` exits non-zero after such a crawl: it built nothing to query.
    """
    with _reading(db) as store:
        record = store.crawl_record() or {}
        urls = [str(u) for u in record.get("seeds", [])]
        outcomes = store.url_outcomes(urls)
    failed = []
    for url in urls:
        status, error = outcomes.get(url, (0, None))
        if status is not None and status < 400:  # 0: not done yet, so not failed
            return []
        failed.append(f"{url} ({error or f'HTTP {status}'})")
    return failed


def stored_settings(db: Store) -> CrawlSettings | None:
    """The settings the crawl in ``db`` last ran with, or ``None`` for a store without one.

    A continued crawl starts from these rather than from the defaults, so ``linkgraph crawl
    --db links.db`` resumes with the scope, caps, delay and hosts file it began with. The
    seeds are left out (the engine adds the stored ones itself), and so is ``quiet``.
    """
    try:
        with _reading(db) as store:
            record = store.crawl_record()
    except StoreNotFound:
        return None
    if record is None:
        return None
    known = {f.name for f in fields(CrawlSettings)} - {"seeds", "quiet", "refresh"}
    # A stored null is a limit the crawl ran without: "none" keeps it lifted (a None
    # override would mean "not given" and bring the default back).
    stored = {k: "none" if v is None else v for k, v in record.items() if k in known}
    return load_settings(environ={}, overrides=stored, source=lambda name: f"stored {name}")


def stats(db: Store) -> dict[str, Any]:
    """Counts of a store: pages by status, links by kind, hosts, domains, frontier size.

    Runs SQLite's ``quick_check`` first: ``stats`` is the command to ask whether a store
    is healthy (it raises :class:`~storage.errors.CorruptStore` when it is not)."""
    with _reading(db, check=True) as store:
        return store.stats()


def iter_links(db: Store, *, include_lost: bool = False) -> Iterator[dict[str, Any]]:
    """Every current link in the store as an export record (see
    ``storage.queries.EXPORT_FIELDS``); ``include_lost`` adds lost links, and ``lost_at`` /
    ``lost_reason`` to every record."""
    with _reading(db) as store:
        yield from store.iter_links(include_lost=include_lost)


def export(
    db: Store,
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
    domain) for Gephi and other tools. ``parquet`` writes the link table (current and lost
    links) and the page table as Parquet under the folder ``output``
    (:mod:`linkgraph.parquet`). ``output`` is a path, an open file, or ``None``
    for standard output. A path is written to a temporary name and renamed at the end,
    so an interrupted export never leaves a half file under the name asked for; a pipe or
    a device (``/dev/stdout``, a FIFO) is written in place, and a path holding a SQLite
    database (the store itself, given by mistake) is refused.
    """
    from .graphs import LEVELS, export_graph

    if format not in EXPORT_FORMATS:
        raise SettingsError(f"unknown export format {format!r}: use {', '.join(EXPORT_FORMATS)}")
    if level not in LEVELS:
        raise SettingsError(f"unknown level {level!r}: use page, host or domain")
    if include_lost and format not in ("jsonl", "csv", "parquet"):  # parquet holds them always
        raise SettingsError("--include-lost is for jsonl and csv: a graph holds current links only")
    if format == "parquet":  # a folder of tables, current and lost links both
        if output is None or not isinstance(output, (str, os.PathLike)):
            raise SettingsError("--format parquet writes a folder: give it with --output DIR")
        from .parquet import export_parquet

        return export_parquet(db, output)[0]  # type: ignore[arg-type]
    binary = format in ("graphml", "gexf")

    def write(stream: IO[Any]) -> int:
        if format in ("jsonl", "csv"):
            # Opened before the CSV header is written: `export > links.csv` of a missing
            # store must not leave a file that looks like the export of an empty one.
            with _reading(db) as store:
                records = store.iter_links(include_lost=include_lost)
                return write_links(records, stream, format=format, include_lost=include_lost)
        return export_graph(db, stream, format=format, level=level)

    if output is None or isinstance(output, io.IOBase) or hasattr(output, "write"):
        stream: Any = output
        if stream is None:
            stream = sys.stdout.buffer if binary else sys.stdout
        return write(stream)
    target = Path(output)

    def opened(path: Path) -> IO[Any]:
        return path.open("wb") if binary else path.open("w", encoding="utf-8", newline="")

    if target.is_dir():
        raise SettingsError(f"{target} is a folder: give --output a file name")
    refuse_overwriting_store(target)
    if target.exists() and not target.is_file():
        # A pipe or a device (/dev/stdout, /dev/null, a FIFO): a file renamed over it
        # would replace it, so the records go straight in.
        with opened(target) as fh:
            return write(fh)
    tmp = target.with_name(f".{target.name}.partial")
    try:
        with opened(tmp) as fh:
            count = write(fh)
        tmp.replace(target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        # The message names the file asked for, not the temporary one beside it.
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count


def _about_target(
    db: Store, query: str, target: str, options: TargetOptions, **more: Any
) -> list[dict[str, Any]]:
    """Ask the store's ``query`` (a :class:`LinkReader` method) about ``target``: the
    options become the link filter, the mode and the limit (100 unless given)."""
    mode, limit, where = split_options(options, query)
    ask = operator.methodcaller(query, target, where, mode=mode, limit=limit, **more)
    with _reading(db) as store:
        return ask(store)  # type: ignore[no-any-return]


def backlinks(
    db: Store, target: str, *, sort: str = "authority", **options: Unpack[TargetOptions]
) -> list[dict[str, Any]]:
    """Links into ``target`` (a URL, or a bare domain / host name), strongest sources first.

    A target with a scheme is a URL (``mode="exact"`` by default, or ``"prefix"``); a bare
    name is a domain and its subdomains (``mode="domain"``) or one host (``"host"``).
    Records carry the export fields plus ``source_authority`` (the linking page's 0-100
    authority) and ``source_domain_authority`` (its registrable domain's). Current links
    only; ``include_lost`` adds lost ones, each record then with ``lost_at`` and
    ``lost_reason``.

    The keywords (here and for :func:`referring_domains` and :func:`anchors`) are those of
    :class:`~storage.interface.TargetOptions`: ``mode``, ``limit`` (100; ``None`` for
    all), ``follow_only``, ``include_internal``, ``include_lost`` and ``placement``.

    Example::

        linkgraph.backlinks("links.db", "example.com", follow_only=True, limit=20)
    """
    return _about_target(db, "backlinks", target, options, sort=sort)


def referring_domains(
    db: Store, target: str, **options: Unpack[TargetOptions]
) -> list[dict[str, Any]]:
    """One record per registrable domain with a current link to ``target``: ``domain``, ``backlinks``,
    ``follow_backlinks``, ``first_seen``, ``last_seen``, ``authority``, and the addresses
    its linking hosts resolved to (``ips``) with their /24 ``subnets``. ``include_lost``
    counts lost links too, with ``lost_at`` / ``lost_reason`` per domain (see
    :func:`storage.backlinks.referring_domains`)."""
    return _about_target(db, "referring_domains", target, options)


def anchors(db: Store, target: str, **options: Unpack[TargetOptions]) -> list[dict[str, Any]]:
    """Anchor texts of the current links into ``target`` with backlink and
    referring-domain counts (``include_lost``: lost links too, with ``lost_at`` /
    ``lost_reason`` per anchor)."""
    return _about_target(db, "anchors", target, options)


def top(db: Store, *, level: str = "domain", limit: int | None = 20) -> list[dict[str, Any]]:
    """The highest-authority pages, hosts or domains (after :func:`rank`), with their
    current backlinks and referring domains as counted by the last :func:`rank`."""
    with _reading(db) as store:
        return store.top(level=level, limit=limit)


def intersect(
    db: Store,
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
    with _reading(db) as store:
        return store.intersect(Gap(competitors, exclude, min, mode, include_lost), limit=limit)


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
    from linkgraph.crawler.fetch import FetchError
    from linkgraph.crawler.robots import rules_for_response
    from linkgraph.crawler.urls import resolve

    from .wiring import fetch_robots_txt, run

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
        fetched = run(fetch_robots_txt(robots_url, settings))
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
