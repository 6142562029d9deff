"""``linkgraph import``: load an external edge list (CSV or TSV) into a store.

Columns: source URL, target URL, then optionally anchor text and rel tokens (space- or
comma-separated). A header row is recognised when its first field is not a URL; its
names then choose the columns (``source``/``from``, ``target``/``to``, ``anchor``,
``rel``), so exports from other tools load as they are. Imported links are kind
``link`` with placement ``content``; their sources get no page row (we did not fetch
them), so ``stats`` counts them as links, not pages.

Encoding: SEO tools export in whatever their platform likes (Excel's "Unicode text" is
UTF-16 LE with a BOM; Windows tools write CP1252). The file's encoding is decided in this
order: ``--encoding NAME`` when given; else a byte-order mark (UTF-8, UTF-16 LE/BE,
UTF-32 LE/BE); else UTF-16 LE/BE when the first two characters are ASCII with a NUL byte
beside each (a UTF-16 file saved without its mark); else UTF-8 when the whole file decodes strictly as UTF-8; else the
fallback :data:`FALLBACK_ENCODING` (Windows-1252), which the result reports. A byte the
chosen encoding cannot decode is a one-line error naming its line; nothing is guessed
past that.
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import multiprocessing
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from linkgraph.crawler.settings import SettingsError
from linkgraph.errors import LinkgraphError
from linkgraph.storage.edgerows import EdgeColumns
from linkgraph.storage.identity import normalize
from linkgraph.storage.intern import located_edges

from .csvencoding import FALLBACK_ENCODING, detect_encoding
from .loop import run

__all__ = ["FALLBACK_ENCODING", "ImportResult", "ReaderDied", "detect_encoding", "import_links"]

_ALIASES = {
    "source": (
        "source",
        "source_url",
        "from",
        "src",
        "referring_page",
        "referring_page_url",
        "url_from",
    ),
    "target": ("target", "target_url", "to", "dst", "url_to", "link"),
    "anchor": ("anchor", "anchor_text", "text"),
    "rel": ("rel", "rels"),
}
_SPLIT = re.compile(r"[\s,;]+")
_T = TypeVar("_T")
# Links per transaction: each commit pays fixed costs (statements, the WAL write of every
# B-tree page it touched), shared by more links in a bigger batch.
_BATCH = 102_400
# A file read in a process of its own starts with a batch of this many links, each next
# one twice the last up to _BATCH, and ends with batches halving again (by the bytes
# left): the importing process has nothing to commit until the first batch arrives,
# and what is read last commits after the reading is done, each on one core of two
# (docs/benchmarks.md, "Fifth pass").
_FIRST_BATCH = 12_800


@dataclass(slots=True)
class ImportResult:
    rows: int = 0
    links: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, with line numbers
    encoding: str = "utf-8"  # the Python codec the file was read with
    encoding_note: str = "UTF-8"  # how that was decided, for the user


def _columns(header: list[str]) -> dict[str, int]:
    # "Target URL", "target-url" and "target_url" are one column name (tools differ).
    lowered = [re.sub(r"[\s-]+", "_", h.strip().lower()) for h in header]
    found: dict[str, int] = {}
    for name, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in lowered:
                found[name] = lowered.index(alias)
                break
    if "source" not in found or "target" not in found:
        raise SettingsError(f"header {header!r} names no source and target columns")
    return found


# A URL already written the way the store keeps it normalises to itself: a lowercase
# http(s) scheme, a lowercase ASCII host whose last label starts with a letter (so it is
# no IPv4 number), no port, credentials or fragment, and a path and query of characters
# WHATWG leaves alone. Most cells of an export are such URLs; they skip the ada-url parse
# (3-5 us a call). Anything else, and the rarer cases below, go through normalize().
_CANONICAL = re.compile(
    r"(https?://(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*)"
    r"(/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?"
    r"(\?[A-Za-z0-9\-._~!$&()*+,;=:@/%?]*)?\Z"
)
_MISSING: Any = object()
_NO_HEADER = {"source": 0, "target": 1, "anchor": 2, "rel": 3}
# Characters of a bad cell quoted in a problem line.
_SHOWN = 200
_MEMO = 200_000  # distinct cells remembered at once (about 40 MB at most)
# Inputs of this many bytes or more are read in a process of their own (the second core),
# while this one commits; a smaller one is read here (a process costs tens of ms to start),
# as is every input where there is no fork (Windows).
_PROCESS_BYTES = 1 << 20


class ReaderDied(LinkgraphError):
    """The process reading the file ended without finishing it (killed, out of memory)."""


def _normalize_cell(text: str) -> str | None:
    """``normalize(text)``, without parsing a URL that is already in the store's form."""
    match = _CANONICAL.match(text)
    if match is None:
        return normalize(text)
    authority, path, query = match.groups()
    # IDNA labels are validated and dot segments ("/./", "/%2e%2e/") removed: ada decides.
    if "xn--" in authority or (path and ("/." in path or "%2e" in path or "%2E" in path)):
        return normalize(text)
    if path:
        # The text is the URL as stored: the same string, whose hash the memo computed
        # already (the writer's dictionaries of URLs reuse it).
        return text
    return f"{authority}/{query or ''}"


def _remember(memo: dict[str, _T], cell: str, compute: Callable[[str], _T]) -> _T:
    """``compute(cell)``, kept in ``memo``: exports repeat their sources (one page, many
    links), anchors and rels, and each distinct cell is worked out once. A full memo is
    emptied rather than kept in least-recently-used order, which would cost every lookup."""
    if len(memo) >= _MEMO:
        memo.clear()
    value = memo[cell] = compute(cell)
    return value


def _url_of(cell: str) -> str | None:
    # A URL field holding a line break is rows run together: a quote opened and never
    # closed swallows the lines after it up to the next quote. Parsing it as a URL would
    # drop the breaks (WHATWG does) and store one made-up target in place of those rows.
    if "\n" in cell or "\r" in cell:
        return None
    return _normalize_cell(cell.strip())


def _rel_tokens(cell: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.lower() for t in _SPLIT.split(cell.strip()) if t))


def _anchor_text(cell: str) -> str:
    return " ".join(cell.split())


def _chunks(
    rows: Iterator[list[str]],
    now: int,
    result: ImportResult,
    left: Callable[[], tuple[int, int]] | None = None,
) -> Iterator[EdgeColumns]:
    """The links of ``rows``, :data:`_BATCH` at a time, as the writer takes them
    (:func:`.storage.intern.located_edges`: URLs found, keyed and hosted); the rows read,
    links and skipped rows are counted into ``result`` as they go. With ``left`` (bytes
    read and bytes left of the file), batches grow from :data:`_FIRST_BATCH` at the start
    and shrink again towards the end."""
    columns: dict[str, int] | None = None
    # Per distinct cell: its URL as stored (None: not http(s)), rel tokens, anchor text.
    urls: dict[str, str | None] = {}
    rels: dict[str, tuple[str, ...]] = {}
    anchors: dict[str, str] = {}
    miss = _MISSING
    smallest = min(_FIRST_BATCH, _BATCH)
    batch = _BATCH if left is None else smallest
    # The rows read since the last batch, a list per field: what located_edges takes
    # apart anyway, without a tuple per row.
    edges = EdgeColumns()
    add_source, add_target = edges.sources.append, edges.targets.append
    add_anchor, add_rel = edges.anchors.append, edges.rels.append
    for line_no, row in enumerate(rows, 1):
        if not row or (not row[0].strip() and all(not cell.strip() for cell in row)):
            continue
        if columns is None:
            header = "://" not in row[0]
            columns = _columns(row) if header else _NO_HEADER
            source_at, target_at = columns["source"], columns["target"]
            anchor_at, rel_at = columns.get("anchor", -1), columns.get("rel", -1)
            if header:
                continue
        result.rows += 1
        n = len(row)
        cell = row[source_at] if source_at < n else ""
        source = urls.get(cell, miss)
        if source is miss:
            source = _remember(urls, cell, _url_of)
        cell = row[target_at] if target_at < n else ""
        target = urls.get(cell, miss)
        if target is miss:
            target = _remember(urls, cell, _url_of)
        if source is None or target is None:
            result.skipped += 1
            if len(result.problems) < 5:
                at = source_at if source is None else target_at
                bad = row[at].strip() if at < n else ""
                if len(bad) > _SHOWN:  # a run-on field can hold the rest of the file
                    bad = bad[:_SHOWN] + "..."
                what = (
                    "a line break inside a URL (a quote never closed?)"
                    if "\n" in bad or "\r" in bad
                    else "not an http(s) URL"
                )
                result.problems.append(f"line {line_no}: {what}: {bad!r}")
            continue
        rel: tuple[str, ...] = ()
        if 0 <= rel_at < n and (cell := row[rel_at]):
            rel = rels.get(cell, miss)  # type: ignore[arg-type]
            if rel is miss:
                rel = _remember(rels, cell, _rel_tokens)
        anchor = ""
        if 0 <= anchor_at < n and (cell := row[anchor_at]):
            anchor = anchors.get(cell, miss)  # type: ignore[arg-type]
            if anchor is miss:
                anchor = _remember(anchors, cell, _anchor_text)
        add_source(source)
        add_target(target)
        add_anchor(anchor)
        add_rel(rel)
        result.links += 1
        if len(edges) == batch:
            yield located_edges(edges, now)
            if left is not None:
                batch = _next_batch(batch, smallest, result.links, *left())
            edges = EdgeColumns()
            add_source, add_target = edges.sources.append, edges.targets.append
            add_anchor, add_rel = edges.anchors.append, edges.rels.append
    if len(edges):
        yield located_edges(edges, now)


def _next_batch(batch: int, smallest: int, links: int, read: int, unread: int) -> int:
    """The size of the batch after one of ``batch`` links: twice that, up to
    :data:`_BATCH`, or once the file's ``unread`` bytes hold fewer than two such batches
    (at the bytes a link so far: ``links`` in ``read``), half of what they hold."""
    ahead = unread * links // max(read, 1)
    if ahead < 2 * batch:
        return max(smallest, ahead // 2)
    return min(2 * batch, _BATCH)


async def _load(
    db: str | os.PathLike[str], chunks: AsyncIterable[EdgeColumns] | Iterator[EdgeColumns]
) -> None:
    from .stores import open_writer

    async with await open_writer(db, bulk=True) as writer:
        # A batch commits (its SQL in the writer's thread, mostly outside the GIL) while
        # the next one is read: in another process (_Reader), else between statements.
        committing: asyncio.Future[None] | None = None
        try:
            async for columns in _aiter(chunks):
                if committing is not None:
                    await committing
                writer.add_columns(columns)
                committing = asyncio.ensure_future(writer.flush())
            if committing is not None:
                await committing
        except BaseException:
            if committing is not None and not committing.done():
                await asyncio.wait([committing])  # its transaction ends before the store closes
            raise


async def _aiter(chunks: AsyncIterable[_T] | Iterator[_T]) -> AsyncIterator[_T]:
    if isinstance(chunks, AsyncIterable):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk
            await asyncio.sleep(0)  # the commit meanwhile goes on to its next statement


def _open_rows(raw: BinaryIO, path: str, codec: str, delimiter: str | None) -> tuple[Any, Any]:
    """A ``csv.reader`` over ``raw`` decoded with ``codec``, and the text stream it reads
    (for the caller to close: the reader lets go of it at its end); without
    ``delimiter``, a tab in the first line (or a ``.tsv`` name) makes it a TSV, else a
    CSV."""
    stream = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")
    lines = []
    if delimiter is None:
        first = stream.readline()
        delimiter = "\t" if "\t" in first or path.endswith(".tsv") else ","
        lines = [first]
    return csv.reader(itertools.chain(lines, stream), delimiter=delimiter), stream


def _read_error(exc: BaseException, path: str, codec: str, rows: Any) -> LinkgraphError | None:
    """The one-line error for what reading the file raised, ``None`` if not the file's."""
    if isinstance(exc, LinkgraphError):
        return exc
    if isinstance(exc, UnicodeDecodeError):  # checked before; only a file changed meanwhile
        return SettingsError(f"{path} is not {codec} text")
    if isinstance(exc, csv.Error):
        hint = ""
        if "NUL" in str(exc):
            hint = " (UTF-16 without a byte-order mark? try --encoding utf-16-le)"
        line = rows.line_num if rows is not None else 0
        return SettingsError(f"{path}: not valid CSV at line {line}: {exc}{hint}")
    return None


def _read_in_child(
    conn: Connection,
    theirs: Connection,
    source: str | bytes,
    codec: str,
    delimiter: str | None,
    now: int,
    path: str,
) -> None:
    """The reading process: each batch of located columns, with the counts so far, sent
    to the importing process; then the counts, or the error that stopped the reading."""
    # Ctrl-C reaches the whole process group: the importing process decides, and ends us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The importing process's end, inherited: closed, so that once that process is gone
    # (killed) the pipe has no reader and our next write fails instead of blocking.
    theirs.close()
    result = ImportResult()
    rows = None
    try:
        with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as raw:
            size = os.fstat(raw.fileno()).st_size if isinstance(source, str) else len(source)

            def left() -> tuple[int, int]:
                # The text stream reads ahead of the rows by a chunk: close enough.
                return raw.tell(), size - raw.tell()

            rows, stream = _open_rows(raw, path, codec, delimiter)
            for columns in _chunks(rows, now, result, left):
                conn.send(("batch", columns, result))
            stream.close()
        conn.send(("done", None, result))
    except BrokenPipeError:
        pass  # the importing process is gone
    except BaseException as exc:
        error = _read_error(exc, path, codec, rows)
        if error is None:
            error = ReaderDied(f"reading {path} failed: {type(exc).__name__}: {exc}")
        try:
            conn.send(("error", str(error), result))
        except OSError:
            pass
    finally:
        conn.close()


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Reader:
    """The file read by :func:`_read_in_child` in a process of its own: the batches
    arrive while this process commits the ones before."""

    def __init__(
        self,
        source: str | bytes,
        codec: str,
        delimiter: str | None,
        now: int,
        path: str,
        result: ImportResult,
    ) -> None:
        # Forked: nothing to import again, and the module's settings (and a test's
        # patches) hold in the child.
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe(duplex=False)
        self._path = path
        self._result = result
        self._proc = context.Process(
            target=_read_in_child,
            args=(child, self._conn, source, codec, delimiter, now, path),
            name="linkgraph-import-reader",
            daemon=True,
        )
        self._proc.start()
        child.close()  # ours closed: the pipe ends (EOF) when the reading process does

    async def __aiter__(self) -> AsyncIterator[EdgeColumns]:
        loop = asyncio.get_running_loop()
        fd = self._conn.fileno()
        while True:
            ready: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fd, _set_done, ready)
            try:
                await ready
            finally:
                loop.remove_reader(fd)
            # uvloop made it non-blocking; a batch is read whole, as the child writes it.
            os.set_blocking(fd, True)
            try:
                kind, payload, counts = self._conn.recv()
            except (EOFError, OSError):
                self._proc.join(5)
                code = self._proc.exitcode
                how = f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"
                raise ReaderDied(
                    f"the process reading {self._path} ended before the file did ({how})"
                ) from None
            result = self._result
            result.rows, result.links = counts.rows, counts.links
            result.skipped, result.problems = counts.skipped, counts.problems
            if kind == "error":
                raise SettingsError(payload)
            if kind == "done":
                return
            yield payload

    def close(self) -> None:
        """End the reading process (done, or no longer wanted) and the pipe."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(5)
        self._conn.close()


def import_links(
    db: str | os.PathLike[str],
    file: str | os.PathLike[str],
    *,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> ImportResult:
    """Load an edge list into ``db`` (created if missing). ``file`` ``-`` reads standard input.

    ``encoding`` is a Python codec name; without it the encoding is detected (byte-order
    mark, else UTF-8, else :data:`FALLBACK_ENCODING`) and reported in the result.
    """
    from .stores import refuse_other_urls

    refuse_other_urls(db)
    path = str(file)
    piped = path == "-"
    try:
        # Standard input, a pipe (`<(zcat links.csv.gz)`) or a FIFO is read whole:
        # detecting the encoding needs a second pass.
        raw: BinaryIO = io.BytesIO(sys.stdin.buffer.read()) if piped else Path(path).open("rb")
        if not raw.seekable():
            with raw:
                raw, piped = io.BytesIO(raw.read()), True
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    result = ImportResult()
    try:
        codec, note = detect_encoding(raw, path, encoding)
        result.encoding, result.encoding_note = codec, note
        now = int(time.time())
        size = len(raw.getvalue()) if piped else os.fstat(raw.fileno()).st_size  # type: ignore[attr-defined]
        # The reading process is forked and waited for with the event loop's add_reader:
        # POSIX only (Windows has neither).
        if size < _PROCESS_BYTES or os.name != "posix":
            rows, stream = _open_rows(raw, path, codec, delimiter)
            try:
                run(_load(db, _chunks(rows, now, result)))
            except (UnicodeDecodeError, csv.Error) as exc:
                raise _read_error(exc, path, codec, rows) from None  # type: ignore[misc]
            finally:
                stream.close()
            return result
        source: str | bytes = raw.getvalue() if piped else path  # type: ignore[attr-defined]
        reader = _Reader(source, codec, delimiter, now, path, result)
        try:
            run(_load(db, reader))
        finally:
            reader.close()
        return result
    finally:
        raw.close()
