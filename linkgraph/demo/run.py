"""``linkgraph demo``: serve the built-in demo web on loopback, crawl it, summarise.

The demo web (see :mod:`linkgraph.demo.sites`) is a few dozen sites on their own
127.77.x.y addresses, reached through a hosts file the demo writes, so the crawl runs
with every politeness rule on and without touching the network. Settings differ from a
real crawl only where waiting would make a demo dull: a 0.2 s delay, and robots.txt /
parking retries after seconds rather than minutes. The Crawl-delay of www.echo.test
(2 s) is still honoured, and www.foxtrot.test's 60 s is still refused.
"""

from __future__ import annotations

import fcntl
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from linkgraph.crawler.progress import Progress
from linkgraph.crawler.settings import CrawlSettings, SettingsError
from linkgraph.crawler.urls import registrable_domain
from linkgraph.storage import queries, schema
from linkgraph.storage.errors import NotAStore, StoreError
from linkgraph.storage.safetext import terminal_safe

from .. import api, audit
from ..stores import is_pg_url, refuse_other_urls, shown
from .sites import describe, generate
from .truth import BRAND, KEYWORDS, TARGET
from .web import DemoWeb

__all__ = ["DEFAULT_SITES", "DEMO_SETTINGS", "demo_settings", "demo_size", "run_demo"]

# The generator's floors: the traps need 12 generated hosts, a regular site 6 pages.
MIN_GENERATED, MIN_PAGES = 12, 6
# And its ceilings. Each site listens on its own address of 127.77.0.0/16, 2-254 in each
# last octet: no more exist. The generator's time grows with the square of the pages of a
# site (1,000 take seconds, 10,000 minutes), so --pages 10**9 would build for ever.
MAX_SITES, MAX_PAGES = 256 * 253, 1000
# 40 generated sites plus the fixed ones (old.alpha.test and the audit sites): the web
# the README describes, 56 sites on 35 domains.
DEFAULT_SITES = 56

DEMO_SETTINGS = {
    "delay": 0.2,
    "max_depth": 8,
    "robots_retries": 2,
    "robots_retry_seconds": 1.0,
    "park_after_failures": 3,
    "park_seconds": 1.0,
    "backoff_base": 1.0,
    "backoff_max": 5.0,
}


def demo_settings(seeds: list[str], hosts_file: str, *, quiet: bool = False) -> CrawlSettings:
    # pinned_only: the demo web links out to real sites; the demo must not even look
    # their names up, let alone check them.
    return CrawlSettings(
        seeds=tuple(seeds),
        hosts_file=hosts_file,
        pinned_only=True,
        quiet=quiet,
        **DEMO_SETTINGS,  # type: ignore[arg-type]
    )


def demo_size(sites: int, pages: int) -> int:
    """How many sites :func:`generate` must make for a demo web of ``sites`` sites in all.

    The demo web always holds some fixed sites besides the generated ones (an unreachable
    host and the backlink-audit sites); ``sites`` counts them too, so that the number
    asked for is the number the summary shows. Too small a web is refused, not enlarged,
    and so is one past :data:`MAX_SITES` or :data:`MAX_PAGES`.
    """
    fixed = len(generate(MIN_GENERATED, 1)) - MIN_GENERATED
    if sites < MIN_GENERATED + fixed:
        raise SettingsError(
            f"the demo web needs at least {MIN_GENERATED + fixed} sites ({fixed} fixed trap and"
            f" audit sites and {MIN_GENERATED} generated ones), not {sites}"
        )
    if sites > MAX_SITES:
        raise SettingsError(
            f"the demo web has at most {MAX_SITES:,} sites (one loopback address each), not {sites}"
        )
    if pages < MIN_PAGES:
        raise SettingsError(f"demo sites need at least {MIN_PAGES} pages each, not {pages}")
    if pages > MAX_PAGES:
        raise SettingsError(f"demo sites have at most {MAX_PAGES:,} pages each, not {pages}")
    return sites - fixed


def _lock_or_refuse(fd: int, db: Path) -> None:
    """Lock ``fd`` exclusively without waiting; when another process holds it, close ``fd``
    and raise :class:`StoreError` (the writer's lock and the demo's lock file alike)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreError(f"another linkgraph is writing {db}") from None


@contextmanager
def _demo_lock(db: Path) -> Iterator[None]:
    """Hold ``DB.lock`` exclusively for a whole demo run, or raise :class:`StoreError`.

    The demo deletes its store before crawling: without this, a second ``linkgraph demo``
    on the same path deleted the store the first was still writing. The writer's own lock
    sits on the store file, which the demo replaces, so it cannot serve here; this lock
    file outlives the replacement. It is removed at the end (see the inode check below).
    """
    lock_path = Path(f"{db}.lock")
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create {lock_path}: {exc.strerror}") from None
        _lock_or_refuse(fd, db)
        # The previous holder unlinks the file as it finishes: if it did so after we opened
        # it, we hold an orphan while a third run may lock a new file at the path. Retry.
        try:
            if os.stat(lock_path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        lock_path.unlink(missing_ok=True)
        os.close(fd)


def _refuse_if_written(db: Path) -> None:
    """A crawl (``linkgraph crawl`` or ``broken --check-external``) holds the writer's
    lock on the store file itself: never delete a store under it."""
    try:
        fd = os.open(db, os.O_RDONLY)
    except FileNotFoundError:
        return
    _lock_or_refuse(fd, db)
    os.close(fd)  # closing releases the probe's lock


# The advisory lock a demo holds on a PostgreSQL database while it runs ("LKDM").
_PG_DEMO_LOCK = 0x4C4B444D


@contextmanager
def _empty_database(url: str) -> Iterator[None]:
    """Hold the PostgreSQL database at ``url`` for a demo, or raise :class:`StoreError`.

    A demo file holding an earlier demo is replaced; a database may hold anything, so a
    demo only crawls into one without a store, or whose store holds no URL yet, and a
    second demo on it is refused while this one runs (a session advisory lock, dropped
    with the connection however the demo ends).
    """
    from linkgraph.storage.pg.connection import redact, session_lock
    from linkgraph.storage.pg.tables import has_urls

    with session_lock(url, _PG_DEMO_LOCK) as locked:
        if not locked:
            raise StoreError(f"another linkgraph demo is writing {redact(url)}")
        if has_urls(url):
            raise StoreError(
                f"{redact(url)} holds a store already; the demo crawls into an empty database"
                " and never empties one: give another database"
            )
        yield


def _clear_old_demo(db: Path) -> None:
    """Replace a previous demo store, and nothing else."""
    try:
        version = schema.inspect_file(db)
    except NotAStore as exc:
        raise StoreError(f"{exc}; refusing to replace it with the demo store") from None
    if version is None:
        return
    _refuse_if_written(db)
    with queries.reader(db) as conn:
        record = queries.crawl_record(conn) or {}
    # A demo crawl is the one that used the demo's own hosts file.
    if "linkgraph-demo-" not in str(record.get("hosts_file") or ""):
        raise StoreError(f"{db} holds a crawl that is not the demo's; refusing to replace it")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def run_demo(
    *,
    db: str = "demo.db",
    sites: int = DEFAULT_SITES,
    pages: int = 12,
    quiet: bool = False,
    recrawl: bool = False,
    check_external: bool = False,
) -> int:
    """Crawl a fresh demo web into ``db`` and print a summary; returns an exit status.

    ``sites`` is the number of sites of the demo web, at least 28 (see :func:`demo_size`);
    ``pages`` the pages of each generated site, at least 6.

    ``recrawl``: then move the demo web three months on (generation 2: removed links,
    deleted and redirected pages, a new referring domain...) and crawl it again with
    ``--refresh``, so that ``linkgraph changes`` has history to show.
    ``check_external``: then check the link targets the crawl did not fetch, as
    ``linkgraph broken --check-external`` does, while the demo web is still up.

    ``db`` is a file, replaced when it holds an earlier demo, or a PostgreSQL URL, whose
    database must hold no store yet (or one without URLs): the demo never empties one.
    """
    n_sites, n_pages = demo_size(sites, pages), pages
    if is_pg_url(db):
        with _empty_database(db):
            return _run(db, db, n_sites, n_pages, quiet, recrawl, check_external)
    refuse_other_urls(db)  # a mistyped URL, not a file to lock and replace
    with _demo_lock(Path(db)):  # one demo per store at a time
        path = Path(db)
        _clear_old_demo(path)
        return _run(db, path, n_sites, n_pages, quiet, recrawl, check_external)


def _run(
    db: str,
    path: str | Path,
    n_sites: int,
    n_pages: int,
    quiet: bool,
    recrawl: bool,
    check_external: bool,
) -> int:
    """The demo itself, into the store at ``path`` (``db`` as the user gave it)."""
    db = shown(db)  # what messages show: a PostgreSQL URL without its password
    web = DemoWeb(generate(n_sites, n_pages))
    with tempfile.TemporaryDirectory(prefix="linkgraph-demo-") as tmp, web:
        hosts_file = str(web.write_hosts_file(Path(tmp) / "hosts"))
        settings = demo_settings(web.seeds, hosts_file, quiet=quiet)
        facts = describe(web.sites)
        if not quiet:
            print(
                f"demo web: {facts['sites']} sites on {facts['domains']} domains at 127.77.x.y:{web.port},"
                f" {facts['pages']} pages; crawling into {db} ...",
                file=sys.stderr,
            )
        with Progress(quiet=quiet) as progress:
            result = api.run(api.crawl_async(path, settings, progress=progress))
        if result.interrupted:
            print(f"interrupted; what was fetched is in {db}", file=sys.stderr)
            return 130
        if recrawl:
            time.sleep(1.0)  # link times are whole seconds: keep the two crawls apart
            since = datetime.now(UTC).isoformat(timespec="seconds")
            web.replace_sites(generate(n_sites, n_pages, generation=2))
            if not quiet:
                print(
                    "the demo web is three months older now; recrawling with --refresh ...",
                    file=sys.stderr,
                )
            with Progress(quiet=quiet) as progress:
                again = api.run(
                    api.crawl_async(path, replace(settings, refresh=True), progress=progress)
                )
            if again.interrupted:
                print(f"interrupted; what was fetched is in {db}", file=sys.stderr)
                return 130
        if check_external:
            if not quiet:
                print("checking the link targets the crawl did not fetch ...", file=sys.stderr)
            with Progress(quiet=quiet) as progress:
                checked = api.run(api.crawl_async(path, settings, progress=progress, check=True))
            if checked.interrupted:
                print(f"interrupted; what was checked is in {db}", file=sys.stderr)
                return 130
    _summary(db, path, result.elapsed)
    if recrawl:
        report = audit.changes(path, registrable_domain(TARGET), since=since)
        lost = Counter(r["reason"] for r in report["links"] if r["change"] == "lost")
        new = sum(r["change"] == "new" for r in report["links"])
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(lost.items()))
        print(f"recrawl: {TARGET} gained {new} backlinks and lost {sum(lost.values())} ({reasons})")
        print(f"  linkgraph changes {registrable_domain(TARGET)} --db {db} --since {since}")
    if check_external:
        print(f"broken links: {len(audit.broken(path))} (see `linkgraph broken --db {db}`)")
    print(
        f"next: linkgraph rank --db {db} && linkgraph top --db {db}"
        f"   |   linkgraph anchors {registrable_domain(TARGET)} --db {db} --classify --brand '{BRAND}'"
        f" --keyword '{KEYWORDS[0]}'"
    )
    return 0


def _summary(db: str, path: str | Path, elapsed: float) -> None:
    """The store's numbers, all from ``stats`` (the live display counts the same way)."""
    counts = api.stats(path)
    links = counts["links"]
    lost = f" and {links['lost']:,} lost ones" if links["lost"] else ""
    print(
        f"crawled {counts['pages']['fetched']:,} pages on {counts['hosts_crawled']:,} hosts in"
        f" {elapsed:.1f}s ({counts['hosts']:,} hosts known, with the link targets never fetched);"
        f" stored {links['total']:,} current links ({links['link']:,} links:"
        f" {links['follow']:,} follow, {links['nofollow']:,} nofollow;"
        f" {links['redirect']:,} redirects; {links['canonical']:,} canonicals){lost}"
        f" to {counts['urls']:,} URLs in {db}"
    )
    not_fetched = ", ".join(f"{k} {v}" for k, v in sorted(counts["pages"]["not_fetched"].items()))
    if not_fetched:
        print(terminal_safe(f"not fetched: {not_fetched}"))
    for note in counts["host_notes"]:
        if (
            "robots.txt" in note["note"]
            or "Crawl-delay" in note["note"]
            or "gave up" in note["note"]
        ):
            print(terminal_safe(f"  {note['host']}: {note['note']}"))
