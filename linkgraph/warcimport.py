"""``linkgraph import-warc`` and ``import-wat``: web archives into a store, as captures.

Each file is streamed record by record (:mod:`.warcread`); each record becomes a page
(:mod:`.warcpages` for WARC, :mod:`.watpages` for WAT) or a counted skip, and pages go
through the store's batched writer like a crawl's, dated by their capture. So several
crawls of a site imported in date order feed ``linkgraph changes`` as recrawls do.

Captures out of order: a capture older than the page's stored fetch time is skipped and
counted as ``older capture`` (it would otherwise mark links lost that a newer capture
holds); a revisit (or a 304) whose page the store has no capture of is skipped, since its
links are those of a capture we never saw. Import files in date order for a full history.

Not a crawl: the crawl's settings are not read or written, and a crawl's queued entry for
an imported page stays queued (``StoreWriter.keep_frontier``).

``db`` is a SQLite path or a PostgreSQL URL: the pages go through that store's batched
writer (:func:`.stores.open_writer`), with the same rules on both.

Resuming: per file, the store's ``crawl`` key/value table (on both backends) keeps ``import-archive:<fmt>:<id>``
(``fmt`` is warc or wat; the id a hash of the file's size and first MiB) with the offset and WARC-Record-ID of
the last record whose page is committed. A second run seeks there and goes on; a file
already read to its end is skipped, so importing a file twice adds nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from linkgraph.crawler.settings import SettingsError
from linkgraph.crawler.urls import host_of
from linkgraph.storage.records import Page

from .loop import run
from .stores import open_writer
from .warcpages import Bad, Skip, page_of
from .warcread import Capture, Damage, NotAnArchive, ReaderMissing, read_archive, require_reader

if TYPE_CHECKING:
    from linkgraph.storage.pg.writer import PgWriter
    from linkgraph.storage.writer import StoreWriter

__all__ = ["ArchiveReport", "file_identity", "import_archives", "import_pages", "import_warc"]

_BATCH = 200  # pages per transaction, the crawl's batch size
_YIELD = 64  # records between chances for Ctrl-C to be seen
_PROBLEMS = 20  # damage lines kept for the summary
_PROGRESS_EVERY = 0.5  # seconds between progress calls

Convert = Callable[[Capture], "Page | Skip | Bad"]


@dataclass(slots=True)
class ArchiveReport:
    """What an import did; filled as it goes, so a progress display can read it."""

    files: int = 0
    records: int = 0
    pages: int = 0  # pages written (new captures and recaptures)
    recaptures: int = 0  # revisits and 304s written as "seen again"
    links: int = 0  # links of the pages written (all kinds)
    redirects: int = 0
    older: int = 0  # captures older than the stored page, skipped
    skipped: Counter[str] = field(default_factory=Counter)
    damaged: int = 0
    errors: list[str] = field(default_factory=list)  # files that hold no WARC record
    problems: list[str] = field(default_factory=list)  # the first few, one line each
    already: list[str] = field(default_factory=list)  # files imported before, skipped
    resumed: list[str] = field(default_factory=list)  # files continued from an earlier run
    bytes: int = 0  # file bytes read (compressed, for .gz)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def problem(self, path: str, offset: int, reason: str) -> None:
        self.damaged += 1
        if len(self.problems) < _PROBLEMS:
            self.problems.append(f"{path} at offset {offset:,}: {reason}")


def file_identity(path: str | os.PathLike[str]) -> str:
    """A file's identity across runs: a hash of its size and its first MiB."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
        size = os.fstat(f.fileno()).st_size
    return hashlib.sha256(f"{size}:".encode() + head).hexdigest()[:32]


class _Importer:
    """One import run: the writer, the pages waiting for their batch, the position."""

    def __init__(
        self,
        writer: StoreWriter | PgWriter,
        report: ArchiveReport,
        convert: Convert,
        progress: Callable[[ArchiveReport], None] | None,
    ) -> None:
        self.writer = writer
        self.report = report
        self.convert = convert
        self.progress = progress
        self.pending: list[tuple[Page, str | None]] = []  # (page, captured IP)
        self.pending_urls: set[str] = set()
        self.key: str | None = None
        self.state: dict[str, object] = {}
        self._shown = 0.0

    async def commit(self) -> None:
        """Write the pending pages in one batch and the file's position with them."""
        pending, self.pending, self.pending_urls = self.pending, [], set()
        r = self.report
        stored = await self.writer.fetch_times([page.url for page, _ in pending])
        for page, ip in pending:
            before = stored.get(page.url)
            if before is not None and page.fetched_at < before:
                r.older += 1
                continue
            if page.not_modified and before is None:
                r.skipped["revisit without an imported capture"] += 1
                continue
            self.writer.add_page(page)
            if ip:
                self.writer.note_host(host_of(page.url), ip=ip)
            r.pages += 1
            r.recaptures += page.not_modified
            r.links += len(page.links)
            r.redirects += sum(1 for link in page.links if link.kind == "redirect")
        await self.writer.flush()
        if self.key is not None:
            await self.writer.save_state(self.key, self.state)

    async def make_room(self, page: Page) -> None:
        # The same URL twice in one batch would be compared with the store as it was
        # before both: commit the first capture before the second is read against it.
        if page.url in self.pending_urls:
            await self.commit()

    async def add(self, page: Page, ip: str | None) -> None:
        self.pending.append((page, ip))
        self.pending_urls.add(page.url)
        if len(self.pending) >= _BATCH:
            await self.commit()

    def show(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is not None and (force or now - self._shown >= _PROGRESS_EVERY):
            self._shown = now
            self.progress(self.report)

    async def import_file(self, path: str, fmt: str) -> None:
        r = self.report
        try:
            # Blocking reads on the loop are fine: the import is all this loop runs (the
            # writer's SQL has its own thread), as in `linkgraph import`.
            stream: BinaryIO = Path(path).open("rb")  # noqa: ASYNC230
            identity = file_identity(path)
        except OSError as exc:
            raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
        with stream:
            self.key = f"import-archive:{fmt}:{identity}"
            saved = await self.writer.load_state(self.key)
            if isinstance(saved, dict) and saved.get("done"):
                r.already.append(path)
                return
            r.files += 1
            start = saved if isinstance(saved, dict) else None
            if start is not None:
                r.resumed.append(path)
            self.state = {"path": path, "format": fmt, "offset": 0, "record_id": "", "count": 0}
            first = int(start["offset"]) if start is not None else 0  # type: ignore[call-overload]
            base = r.bytes
            try:
                for count, item in self._items(stream, start):
                    r.records += 1
                    r.bytes = base + item.offset - first
                    found: Page | Skip | Bad | None = None
                    if isinstance(item, Damage):
                        r.problem(path, item.offset, item.reason)
                    else:
                        found = self.convert(item)
                        if isinstance(found, Skip):
                            r.skipped[found.reason] += 1
                        elif isinstance(found, Bad):
                            r.problem(path, item.offset, found.reason)
                        else:
                            await self.make_room(found)
                    # The position moves with the page: a commit saves exactly the
                    # records whose pages it holds.
                    self.state.update(
                        offset=item.offset, record_id=getattr(item, "record_id", ""), count=count
                    )
                    if isinstance(found, Page):
                        await self.add(found, getattr(item, "ip", None))
                    if r.records % _YIELD == 0:
                        self.show()
                        await asyncio.sleep(0)
            except NotAnArchive as exc:
                r.errors.append(f"{path}: {exc}")
                return
            r.bytes = base + os.fstat(stream.fileno()).st_size - first
            if not self.state["count"] and start is None:
                r.errors.append(f"{path}: no WARC records (an empty file?)")
                return
            self.state["done"] = True
            await self.commit()
            self.show(force=True)

    def _items(
        self, stream: BinaryIO, saved: dict[str, object] | None
    ) -> Iterator[tuple[int, Capture | Damage]]:
        """The file's records, numbered from 1, after those an earlier run committed."""
        if saved is None:
            yield from enumerate(read_archive(stream), 1)
            return
        offset, record_id, count = saved["offset"], saved["record_id"], saved["count"]
        assert isinstance(offset, int) and isinstance(count, int)
        # Fast path: the record at the saved offset is the saved one (plain files and
        # record-per-member gzip); read on after it.
        items = read_archive(stream, start=offset)
        first = next(items, None)
        if first is not None and getattr(first, "record_id", None) == record_id and record_id:
            yield from enumerate(items, count + 1)
            return
        items.close()
        # Else (a whole-file gzip, whose offsets are not record starts): count past them.
        for number, item in enumerate(read_archive(stream), 1):
            if number > count:
                yield number, item


async def _run(
    db: str | os.PathLike[str],
    paths: Sequence[str],
    fmt: str,
    convert: Convert,
    report: ArchiveReport,
    progress: Callable[[ArchiveReport], None] | None,
) -> None:
    async with await open_writer(db, bulk=True) as writer:
        writer.keep_frontier = True
        importer = _Importer(writer, report, convert, progress)
        try:
            for path in paths:
                await importer.import_file(path, fmt)
        except BaseException:
            # Ctrl-C (or a failure): what was read completely is committed with its
            # position, so the next run goes on from there.
            if importer.pending:
                await importer.commit()
            raise


async def _replay(
    db: str | os.PathLike[str], pages: Iterable[tuple[Page, str | None]], report: ArchiveReport
) -> None:
    async with await open_writer(db, bulk=True) as writer:
        writer.keep_frontier = True
        importer = _Importer(writer, report, page_of, None)  # its convert is not called
        for number, (page, ip) in enumerate(pages, 1):
            await importer.make_room(page)
            await importer.add(page, ip)
            if number % _YIELD == 0:
                await asyncio.sleep(0)
        await importer.commit()


def import_pages(
    db: str | os.PathLike[str],
    pages: Iterable[tuple[Page, str | None]],
    *,
    report: ArchiveReport | None = None,
) -> ArchiveReport:
    """Write ``(page, captured IP)`` pairs, records an archive's ``convert`` already made
    pages, into ``db`` in the order given, as :func:`import_archives` writes a file's:
    older captures skipped, revisits without a capture skipped, first and last seen from
    the capture dates (``spark extract`` replays the captures of several files with it).
    Only ``pages``, ``recaptures``, ``links``, ``redirects``, ``older`` and ``skipped``
    of the report are filled: reading the records is the caller's."""
    report = report if report is not None else ArchiveReport()
    run(_replay(db, pages, report))
    return report


def import_archives(
    db: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    *,
    fmt: str,
    convert: Convert,
    progress: Callable[[ArchiveReport], None] | None = None,
    report: ArchiveReport | None = None,
) -> ArchiveReport:
    """Import archive files of format ``fmt`` (``warc`` or ``wat``) into ``db``, each
    record made a page by ``convert``. ``report`` (made if not given) is filled as the
    import goes, so a caller interrupted by Ctrl-C can still say what was done."""
    files = [os.fspath(p) for p in paths]
    for path in files:
        if not os.path.isfile(path):
            why = "a folder, not a file" if os.path.isdir(path) else "no such file"
            raise SettingsError(f"cannot read {path}: {why}")
    try:
        require_reader()  # before the store is created
    except ReaderMissing as exc:
        raise SettingsError(f"reading web archives needs FastWARC: {exc}") from None
    report = report if report is not None else ArchiveReport()
    run(_run(db, files, fmt, convert, report, progress))
    return report


def import_warc(
    db: str | os.PathLike[str],
    paths: Sequence[str | os.PathLike[str]],
    *,
    progress: Callable[[ArchiveReport], None] | None = None,
    report: ArchiveReport | None = None,
) -> ArchiveReport:
    """Import WARC / WARC.gz files into ``db``, a SQLite path or a PostgreSQL URL (created
    if missing); see the module doc."""
    return import_archives(db, paths, fmt="warc", convert=page_of, progress=progress, report=report)
