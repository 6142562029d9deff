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
import codecs
import csv
import io
import itertools
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from linkgraph.crawler.settings import SettingsError
from linkgraph.storage.commit import Edge
from linkgraph.storage.identity import normalize
from linkgraph.storage.writer import StoreWriter

from .loop import run

__all__ = ["FALLBACK_ENCODING", "ImportResult", "detect_encoding", "import_links"]

FALLBACK_ENCODING = "cp1252"
# UTF-32 LE's mark begins with UTF-16 LE's (FF FE): test the longer marks first. The
# utf-16 / utf-32 codecs read the mark themselves and take the byte order from it.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 LE (byte-order mark)"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 BE (byte-order mark)"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 (byte-order mark)"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE (byte-order mark)"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE (byte-order mark)"),
)

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
_MEMO = 200_000  # distinct cells remembered at once (about 40 MB at most)
_YIELD = 256  # rows between chances for the commit running meanwhile to go on


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
    return _normalize_cell(cell.strip())


def _rel_tokens(cell: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.lower() for t in _SPLIT.split(cell.strip()) if t))


def _anchor_text(cell: str) -> str:
    return " ".join(cell.split())


async def _load(
    db: str | os.PathLike[str], rows: Iterator[list[str]], result: ImportResult
) -> None:
    now = time.time()
    columns: dict[str, int] | None = None
    # Per distinct cell: its URL as stored (None: not http(s)), rel tokens, anchor text.
    urls: dict[str, str | None] = {}
    rels: dict[str, tuple[str, ...]] = {}
    anchors: dict[str, str] = {}
    miss = _MISSING
    edges: list[Edge] = []  # rows read since the last hand-over to the writer
    async with await StoreWriter.open(db, bulk=True) as writer:
        # A batch commits while the next one is read: the commit's SQL runs in the
        # writer's thread, mostly outside the GIL.
        committing: asyncio.Future[None] | None = None
        try:
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
                        result.problems.append(f"line {line_no}: not an http(s) URL: {bad!r}")
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
                edges.append((source, target, anchor, rel))
                result.links += 1
                if result.links % _YIELD == 0:
                    writer.add_edges(edges, now)
                    edges = []
                    await asyncio.sleep(0)
                    if result.links % _BATCH == 0:
                        if committing is not None:
                            await committing
                        committing = asyncio.ensure_future(writer.flush())
            writer.add_edges(edges, now)  # the last few rows; closing the writer commits them
            if committing is not None:
                await committing
        except BaseException:
            if committing is not None and not committing.done():
                await asyncio.wait([committing])  # its transaction ends before the store closes
            raise


def detect_encoding(raw: BinaryIO, name: str, encoding: str | None = None) -> tuple[str, str]:
    """The codec to read ``raw`` with and a note saying why (see the module docstring).

    ``raw`` is a seekable binary file; it is read through once (to check that every byte
    decodes) and left at its start. ``name`` names the file in errors. Raises
    :class:`SettingsError` for an unknown codec or a line that does not decode.
    """
    head = raw.read(4)
    raw.seek(0)
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
            text_codec = codecs.lookup(encoding)._is_text_encoding
        except LookupError:
            text_codec = None
        if not text_codec:  # rot13, base64, hex... are codecs, but not of bytes to text
            raise SettingsError(
                f"unknown text encoding {encoding!r}: give a codec name such as utf-8, cp1252,"
                " utf-16, latin-1"
            ) from None
        if codec == "utf-8" and head.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"  # the mark is not part of the first column's name
        chosen, note = codec, f"{codec} (--encoding)"
    else:
        for bom, codec, bom_note in _BOMS:
            if head.startswith(bom):
                chosen, note = codec, bom_note
                break
        else:
            if len(head) == 4 and head[1] == head[3] == 0 and 0 < head[0] < 128 > head[2] > 0:
                chosen, note = "utf-16-le", "UTF-16 LE (no byte-order mark: NUL bytes)"
            elif len(head) == 4 and head[0] == head[2] == 0 and 0 < head[1] < 128 > head[3] > 0:
                chosen, note = "utf-16-be", "UTF-16 BE (no byte-order mark: NUL bytes)"
            elif _first_bad_line(raw, "utf-8") is None:
                return "utf-8", "UTF-8"
            else:
                chosen = FALLBACK_ENCODING
                note = f"{FALLBACK_ENCODING} (Windows-1252): the file is not UTF-8"
    bad = _first_bad_line(raw, chosen)
    if bad is not None:
        neither = " (nor UTF-8)" if note.endswith("is not UTF-8") else ""
        raise SettingsError(
            f"{name}: line {bad} is not valid {chosen} text{neither}; give --encoding NAME"
            " with the file's encoding"
        )
    return chosen, note


def _first_bad_line(raw: BinaryIO, codec: str) -> int | None:
    """The line number of the first byte ``codec`` cannot decode, or ``None``; streamed,
    so a large file is never held in memory."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = 0
    try:
        while chunk := raw.read(1 << 20):
            try:
                lines += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                # exc.object is what the decoder held plus this chunk; all before exc.start
                # decodes, so its newlines finish the count.
                try:
                    before = bytes(exc.object[: exc.start]).decode(codec, "replace")
                except UnicodeError:
                    return lines + 1
                return lines + before.count("\n") + 1
            except (UnicodeError, ValueError):  # e.g. "UTF-16 stream does not start with BOM"
                return lines + 1
        try:
            decoder.decode(b"", final=True)
        except (UnicodeError, ValueError):  # the file ends inside a character
            return lines + 1
        return None
    finally:
        raw.seek(0)


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
    from .stores import refuse_postgres

    refuse_postgres(db, "import")
    path = str(file)
    try:
        # Standard input is read whole: detecting the encoding needs a second pass.
        raw: BinaryIO = (
            io.BytesIO(sys.stdin.buffer.read()) if path == "-" else Path(path).open("rb")
        )
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        codec, note = detect_encoding(raw, path, encoding)
        stream = io.TextIOWrapper(raw, encoding=codec, errors="strict", newline="")
        if delimiter is None:
            first = stream.readline()
            delimiter = "\t" if "\t" in first or path.endswith(".tsv") else ","
            lines = [first]
        else:
            lines = []
        rows = csv.reader(itertools.chain(lines, stream), delimiter=delimiter)
        result = ImportResult(encoding=codec, encoding_note=note)
        try:
            run(_load(db, rows, result))
        except UnicodeDecodeError:  # checked above; only a file changed meanwhile gets here
            raise SettingsError(f"{path} is not {codec} text") from None
        except csv.Error as exc:
            hint = ""
            if "NUL" in str(exc):
                hint = " (UTF-16 without a byte-order mark? try --encoding utf-16-le)"
            raise SettingsError(
                f"{path}: not valid CSV at line {rows.line_num}: {exc}{hint}"
            ) from None
        return result
    finally:
        raw.close()
