"""The two stages of ``spark extract`` that run on the executors: archive files into page
captures keyed by URL (stage 1), and a partition's captures, sorted, into the export's
rows (stage 2). The driver's side, and the shuffle between them, is :mod:`.extract`.

Stage 1 reads a file as ``import-warc`` / ``import-wat`` read it (:mod:`linkgraph.warcread`,
then :func:`.warcpages.page_of` or :func:`.watimport.page_of_wat` per record) and yields
each page under the key ``(url, file position, record number)``: sorted by that key, a
URL's captures come in the order ``import-warc`` of the files, in the order given, would
write them. Stage 2 writes them in that order with
:func:`linkgraph.warcimport.import_pages` (the import's own writing: older captures
skipped, revisits as recaptures, first/last seen and lost links from capture dates) into
a scratch store, then takes the rows ``export --format parquet`` takes from a store
(:mod:`linkgraph.parquet`). A page's row and its links' rows depend only on the captures
of its URL, so each partition of URLs is a store of its own, and ids (each scratch
store's own) never reach the rows, which name URLs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "FILE_KEY",
    "archive_captures",
    "path_key",
    "position_of",
    "positions_of",
    "read_task",
    "replay_task",
]

# The key of a file's counts in the shuffle: no page URL is empty, so they sort first.
FILE_KEY = ""

Key = tuple[str, int, int]  # (page URL, file position in the input list, record number)


def archive_captures(
    local: str, fmt: str, report: Any, *, shown: str | None = None
) -> Iterator[tuple[int, Any, str | None]]:
    """The pages of one archive file as ``(record number, page, captured IP)``, in file
    order; its records, skips, damage and errors counted in ``report`` (an
    :class:`~linkgraph.warcimport.ArchiveReport`) as ``import-warc`` counts them.
    ``shown``: the path to name in problems (``local`` is a task's copy)."""
    from linkgraph.storage.records import Page
    from linkgraph.warcpages import Bad, Skip, page_of
    from linkgraph.warcread import Damage, NotAnArchive, read_archive
    from linkgraph.watimport import page_of_wat

    convert = page_of_wat if fmt == "wat" else page_of
    name = shown or local
    count = 0
    with open(local, "rb") as stream:
        try:
            for count, item in enumerate(read_archive(stream), 1):
                report.records += 1
                if isinstance(item, Damage):
                    report.problem(name, item.offset, item.reason)
                    continue
                found = convert(item)
                if isinstance(found, Skip):
                    report.skipped[found.reason] += 1
                elif isinstance(found, Bad):
                    report.problem(name, item.offset, found.reason)
                elif isinstance(found, Page):
                    # After convert: a WAT record's IP is read from its JSON by page_of_wat.
                    yield count, found, item.ip
        except NotAnArchive as exc:
            report.errors.append(f"{name}: {exc}")
            return
    if not count:
        report.errors.append(f"{name}: no WARC records (an empty file?)")


def read_task(
    files: Iterable[tuple[str, bytes]],
    paths: list[str],
    positions: dict[str, int],
    formats: list[str],
) -> Iterator[tuple[Key, tuple[Any, ...]]]:
    """Stage 1: a partition's ``(path, content)`` pairs (Spark's ``binaryFiles``) of the
    input list ``paths`` (``positions``: :func:`positions_of` it; read as ``formats``) as ``((url, position, record), (file
    identity, page, ip))``, and per file ``((FILE_KEY, position, 0), (file identity,
    path, counts))``."""
    from linkgraph.warcimport import ArchiveReport, file_identity

    for spark_path, content in files:
        position = position_of(spark_path, positions)
        path = paths[position]
        report = ArchiveReport()
        with tempfile.TemporaryDirectory(prefix="linkgraph-extract-") as scratch:
            # The reader sniffs gzip from the bytes; the name only has to be a file's.
            local = Path(scratch) / "archive"
            local.write_bytes(content)
            del content
            identity = file_identity(local)
            for record, page, ip in archive_captures(
                str(local), formats[position], report, shown=path
            ):
                yield (page.url, position, record), (identity, page, ip)
        counts = {
            "records": report.records,
            "damaged": report.damaged,
            "errors": report.errors,
        }
        yield (FILE_KEY, position, 0), (identity, path, counts)


def replay_task(
    items: Iterable[tuple[Key, tuple[Any, ...]]], link_names: list[str], page_names: list[str]
) -> Iterator[tuple[str, Any]]:
    """Stage 2: a partition's captures, sorted by key, written through the import's writer
    into a scratch store; yields ``("link", row)`` and ``("page", row)`` (tuples in the
    export's column order), ``("file", (position, identity, path, counts))`` for the
    file counts that landed here, and ``("written", counts)`` once."""
    from linkgraph.parquet import _link_dicts, _page_dicts
    from linkgraph.storage.tables import table_rows
    from linkgraph.warcimport import ArchiveReport, import_pages

    files: list[tuple[int, str, str, dict[str, Any]]] = []

    def captures() -> Iterator[tuple[Any, str | None]]:
        url: str | None = None
        first: dict[str, int] = {}  # the URL's captures: file identity -> first position
        for (key_url, position, _record), value in items:
            if key_url == FILE_KEY:
                identity, path, counts = value
                files.append((position, identity, path, counts))
                continue
            if key_url != url:
                url, first = key_url, {}
            identity, page, ip = value
            # A second copy of a file already read (the same identity as import-warc
            # computes it): import-warc skips that file whole, as imported already.
            if first.setdefault(identity, position) != position:
                continue
            yield page, ip

    written = ArchiveReport()
    with tempfile.TemporaryDirectory(prefix="linkgraph-replay-") as scratch:
        db = Path(scratch) / "captures.db"
        import_pages(db, captures(), report=written)
        with table_rows(db) as (links, pages):
            for row in _link_dicts(links):
                yield "link", tuple(row[name] for name in link_names)
            for row in _page_dicts(pages):
                yield "page", tuple(row[name] for name in page_names)
    for entry in files:
        yield "file", entry
    yield "written", {"pages": written.pages, "links": written.links, "older": written.older}


def positions_of(paths: list[str]) -> dict[str, int]:
    """Each file's first position in the input list, by :func:`path_key`."""
    positions: dict[str, int] = {}
    for position, path in enumerate(paths):
        positions.setdefault(path_key(path), position)
    return positions


def position_of(spark_path: str, positions: dict[str, int]) -> int:
    """The position in the input list of the file Spark names ``spark_path``
    (``file:/abs/path`` for a local one), from :func:`positions_of`."""
    from urllib.parse import unquote

    key = path_key(spark_path)
    for candidate in (key, unquote(key)):
        if candidate in positions:
            return positions[candidate]
    raise LookupError(f"spark extract: {spark_path} is not a file of the input list")


def path_key(path: str) -> str:
    """A path as both the input list and Spark name it: the path part of a URL
    (``hdfs://namenode:8020/x`` and ``hdfs:///x`` are both ``/x``), or a local path
    made absolute (Spark reads a relative one from the working folder)."""
    import os
    from urllib.parse import urlsplit

    if ":" not in path.split("/", 1)[0]:
        return os.path.abspath(path)
    parts = urlsplit(path)  # a scheme: s3a://bucket/..., hdfs://..., file:/...
    # The bucket names an object store's file; a name node, which Spark may add, does not.
    keep_host = parts.scheme not in ("file", "hdfs", "viewfs")
    return f"{parts.netloc if keep_host else ''}{parts.path}"
