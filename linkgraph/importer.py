"""``linkgraph import``: load an external edge list (CSV or TSV) into a store.

Columns: source URL, target URL, then optionally anchor text and rel tokens (space- or
comma-separated). A header row is recognised when its first field is not a URL; its
names then choose the columns (``source``/``from``, ``target``/``to``, ``anchor``,
``rel``), so exports from other tools load as they are. Imported links are kind
``link`` with placement ``content``; their sources get no page row (we did not fetch
them), so ``stats`` counts them as links, not pages.
"""

from __future__ import annotations

import csv
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from crawler.settings import SettingsError
from crawler.urls import normalize
from storage.records import Link
from storage.writer import StoreWriter

from .api import run

__all__ = ["ImportResult", "import_links"]

_ALIASES = {
    "source": ("source", "source_url", "from", "src", "referring_page", "url_from"),
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


def _columns(header: list[str]) -> dict[str, int]:
    lowered = [h.strip().lower() for h in header]
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


def import_links(
    db: str | os.PathLike[str], file: str | os.PathLike[str], *, delimiter: str | None = None
) -> ImportResult:
    """Load an edge list into ``db`` (created if missing). ``file`` ``-`` reads standard input."""
    path = str(file)
    try:
        stream = sys.stdin if path == "-" else Path(path).open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SettingsError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if delimiter is None:
            first = stream.readline()
            delimiter = "\t" if "\t" in first or path.endswith(".tsv") else ","
            lines = [first]
        else:
            lines = []
        rows = csv.reader(_chain(lines, stream), delimiter=delimiter)
        result = ImportResult()
        try:
            run(_load(db, rows, result))
        except UnicodeDecodeError:
            raise SettingsError(f"{path} is not UTF-8 text") from None
        except csv.Error as exc:
            raise SettingsError(f"{path}: not valid CSV: {exc}") from None
        return result
    finally:
        if stream is not sys.stdin:
            stream.close()


def _chain(first: list[str], rest: object):  # type: ignore[no-untyped-def]
    yield from first
    yield from rest  # type: ignore[misc]
