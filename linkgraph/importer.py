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

import codecs
import csv
import io
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from linkgraph.crawler.settings import SettingsError
from linkgraph.storage.identity import normalize
from linkgraph.storage.records import Link
from linkgraph.storage.writer import StoreWriter

from .api import run

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
_BATCH = 2000


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


async def _load(db: str | os.PathLike[str], rows: csv.reader, result: ImportResult) -> None:  # type: ignore[valid-type]
    now = time.time()
    columns: dict[str, int] | None = None
    async with await StoreWriter.open(db) as writer:
        for line_no, row in enumerate(rows, 1):  # type: ignore[attr-defined]
            if not row or all(not cell.strip() for cell in row):
                continue
            if columns is None:
                if "://" not in row[0]:
                    columns = _columns(row)
                    continue
                columns = {"source": 0, "target": 1, "anchor": 2, "rel": 3}
            result.rows += 1

            def cell(name: str, row: list[str] = row, columns: dict[str, int] = columns) -> str:
                index = columns.get(name)
                return row[index].strip() if index is not None and index < len(row) else ""

            source, target = normalize(cell("source")), normalize(cell("target"))
            if source is None or target is None:
                result.skipped += 1
                if len(result.problems) < 5:
                    bad = cell("source") if source is None else cell("target")
                    result.problems.append(f"line {line_no}: not an http(s) URL: {bad!r}")
                continue
            rel = tuple(dict.fromkeys(t.lower() for t in _SPLIT.split(cell("rel")) if t))
            anchor = " ".join(cell("anchor").split())
            writer.add_links(source, [Link(target, anchor, rel)], now)
            result.links += 1
            if result.links % _BATCH == 0:
                await writer.flush()


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
        rows = csv.reader(_chain(lines, stream), delimiter=delimiter)
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


def _chain(first: list[str], rest: object):  # type: ignore[no-untyped-def]
    yield from first
    yield from rest  # type: ignore[misc]
