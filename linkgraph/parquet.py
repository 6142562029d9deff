"""``linkgraph export --format parquet`` and ``linkgraph import-parquet``: the store's link
and page tables as Parquet, the format DuckDB, Spark and pandas read directly.

``DIR/links/kind=link/…parquet`` (and ``kind=redirect``, ``kind=canonical``: Hive-style
partitions, so an engine reading only hyperlinks skips the rest) and ``DIR/pages/…parquet``.
Links: ``source``, ``target``, their ``*_host`` and ``*_domain``, ``anchor``, ``rel``
(list of tokens), ``follow``, ``image``, ``internal``, ``placement``, ``flags`` (the
store's bits), ``first_seen``, ``last_seen`` (null: seen once), ``lost_at``,
``lost_reason`` (timestamps in UTC, seconds). Pages: the page row (``fetched_at`` as
float seconds, as stored), with ``host``, ``domain``, ``noindex``/``nofollow`` and the
visible ``text``.

``import-parquet`` fills a new store from such a folder through the batched writer,
then gives links their dates and lost state back, so the round trip loses nothing a
query reads. It streams the export's record batches into a scratch SQLite file beside
the store (in the temporary folder for a PostgreSQL store), which sorts the links by
source page on disk, so memory stays bounded; a SQLite store is built beside ``db`` and
renamed into place when complete, a PostgreSQL one (an empty database, or one whose
store holds no URL) is filled in one transaction. Hosts' addresses
and notes, scores and a crawl's settings and queue are not part of the export.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from linkgraph.crawler.settings import SettingsError
from linkgraph.storage.identity import host_of, registrable_domain
from linkgraph.storage.records import Link, Page
from linkgraph.storage.spool import Spool
from linkgraph.storage.tables import (
    LINK_COLUMNS,
    has_urls,
    restore_history,
)
from linkgraph.storage.vocab import (
    FLAG_IMAGE,
    FLAG_INTERNAL,
    NOT_FOLLOW_FLAGS,
    ROBOTS_NOFOLLOW,
    ROBOTS_NOINDEX,
)
from linkgraph.storage.writer import StoreWriter

from .loop import run
from .stores import is_pg_url, refuse_other_urls, shown

if TYPE_CHECKING:
    from linkgraph.storage.pg.writer import PgWriter

__all__ = ["export_parquet", "import_parquet"]

_ROWS = 100_000  # rows per record batch written


def _arrow() -> Any:
    try:
        import pyarrow
        import pyarrow.dataset
    except ImportError:
        raise SettingsError("Parquet needs pyarrow: pip install 'linkgraph[parquet]'") from None
    return pyarrow


def _schemas(pa: Any) -> tuple[Any, Any]:
    stamp = pa.timestamp("s", tz="UTC")
    links = pa.schema(
        [
            ("source", pa.string()),
            ("target", pa.string()),
            ("source_host", pa.string()),
            ("source_domain", pa.string()),
            ("target_host", pa.string()),
            ("target_domain", pa.string()),
            ("anchor", pa.string()),
            ("rel", pa.list_(pa.string())),
            ("follow", pa.bool_()),
            ("image", pa.bool_()),
            ("internal", pa.bool_()),
            ("placement", pa.string()),
            ("kind", pa.string()),
            ("flags", pa.int32()),
            ("first_seen", stamp),
            ("last_seen", stamp),
            ("lost_at", stamp),
            ("lost_reason", pa.string()),
        ]
    )
    pages = pa.schema(
        [
            ("url", pa.string()),
            ("host", pa.string()),
            ("domain", pa.string()),
            ("status", pa.int32()),
            ("error", pa.string()),
            ("final_url", pa.string()),
            ("content_type", pa.string()),
            ("fetched_at", pa.float64()),
            ("depth", pa.int32()),
            ("title", pa.string()),
            ("lang", pa.string()),
            ("canonical", pa.string()),
            ("noindex", pa.bool_()),
            ("nofollow", pa.bool_()),
            ("size", pa.int64()),
            ("elapsed_ms", pa.int64()),
            ("etag", pa.string()),
            ("last_modified", pa.string()),
            ("outlinks", pa.int32()),
            ("checked_only", pa.bool_()),
            ("text", pa.string()),
        ]
    )
    return links, pages


def _when(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _batches(pa: Any, schema_: Any, rows: Iterator[dict[str, Any]]) -> Iterator[Any]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == _ROWS:
            yield pa.RecordBatch.from_pylist(chunk, schema=schema_)
            chunk = []
    yield pa.RecordBatch.from_pylist(chunk, schema=schema_)


def _link_dicts(rows: Iterator[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    for (
        source,
        target,
        kind,
        anchor,
        placement,
        rel,
        flags,
        first,
        last,
        lost,
        why,
    ) in rows:
        source_host, target_host = host_of(source), host_of(target)
        yield {
            "source": source,
            "target": target,
            "source_host": source_host,
            "source_domain": registrable_domain(source_host),
            "target_host": target_host,
            "target_domain": registrable_domain(target_host),
            "anchor": anchor,
            "rel": rel.split() if rel else [],
            "follow": not flags & NOT_FOLLOW_FLAGS,
            "image": bool(flags & FLAG_IMAGE),
            "internal": bool(flags & FLAG_INTERNAL),
            "placement": placement,
            "kind": kind,
            "flags": flags,
            "first_seen": _when(first),
            "last_seen": _when(last),
            "lost_at": _when(lost),
            "lost_reason": why,
        }


def _page_dicts(rows: Iterator[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    for row in rows:
        (url, status, error, final, ctype, fetched, depth, title, lang, canonical, robots) = row[
            :11
        ]
        (size, elapsed, etag, modified, outlinks, checked, text) = row[11:]
        host = host_of(url)
        yield {
            "url": url,
            "host": host,
            "domain": registrable_domain(host),
            "status": status,
            "error": error,
            "final_url": final,
            "content_type": ctype,
            "fetched_at": fetched,
            "depth": depth,
            "title": title,
            "lang": lang,
            "canonical": canonical,
            "noindex": bool(robots & ROBOTS_NOINDEX),
            "nofollow": bool(robots & ROBOTS_NOFOLLOW),
            "size": size,
            "elapsed_ms": elapsed,
            "etag": etag,
            "last_modified": modified,
            "outlinks": outlinks,
            "checked_only": bool(checked),
            "text": text,
        }


def _write(
    pa: Any, rows: Iterator[dict[str, Any]], schema_: Any, folder: Path, partition: str | None
) -> int:
    """Write ``rows`` as Parquet under ``folder``, in Hive partitions of ``partition``
    (``folder/kind=link/part-0.parquet``), streamed a batch at a time. Written here, in
    this thread, rather than by ``pyarrow.dataset.write_dataset``, which pulls the rows
    from a thread of its own and so cannot read them from our SQLite connection."""
    import pyarrow.parquet as pq

    file_schema = schema_.remove(schema_.get_field_index(partition)) if partition else schema_
    writers: dict[str, Any] = {}
    written = 0
    try:
        for batch in _batches(pa, schema_, rows):
            written += batch.num_rows
            if partition is None:
                parts = {"": batch}
            else:
                column = batch.column(partition)
                parts = {
                    value: batch.filter(pa.compute.equal(column, value)).drop_columns([partition])
                    for value in set(column.to_pylist())
                }
            for value, part in parts.items():
                writer = writers.get(value)
                if writer is None:
                    where = folder / f"{partition}={value}" if partition else folder
                    where.mkdir(parents=True, exist_ok=True)
                    writer = writers[value] = pq.ParquetWriter(
                        where / "part-0.parquet", file_schema
                    )
                writer.write_batch(part)
        if not writers:  # an empty table still has its folder and schema
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(file_schema.empty_table(), folder / "part-0.parquet")
    finally:
        for writer in writers.values():
            writer.close()
    return written


def export_parquet(db: str | os.PathLike[str], output: str | os.PathLike[str]) -> tuple[int, int]:
    """Write ``db``'s links and pages under the folder ``output``; returns (links, pages)."""
    if is_pg_url(db):
        from linkgraph.storage.pg.tables import table_rows
    else:
        refuse_other_urls(db)
        from linkgraph.storage.tables import table_rows
    pa = _arrow()
    import pyarrow.compute  # noqa: F401  (pa.compute, for the partitions)

    out = Path(output)
    if out.exists() and any(out.iterdir()):
        raise SettingsError(f"{out} is not empty: give a new folder for the Parquet tables")
    links_schema, pages_schema = _schemas(pa)
    with table_rows(db) as (links, pages):
        counts = (
            _write(pa, _link_dicts(links), links_schema, out / "links", "kind"),
            _write(pa, _page_dicts(pages), pages_schema, out / "pages", None),
        )
    return counts


def _seconds(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _read(folder: Path, name: str) -> Any:
    import pyarrow.dataset as ds

    where = folder / name
    if not where.is_dir():
        raise SettingsError(f"{folder} has no {name}/ folder: not a linkgraph Parquet export")
    try:
        dataset = ds.dataset(
            where, format="parquet", partitioning="hive" if name == "links" else None
        )
    except (OSError, _arrow().ArrowException) as exc:
        raise _damaged(where, exc) from None
    # Checked up front: a foreign folder otherwise fails deep inside pyarrow or our loop.
    wanted = _schemas(_arrow())[0 if name == "links" else 1].names
    missing = [column for column in wanted if column not in dataset.schema.names]
    if missing:
        raise SettingsError(
            f"{where} is not a linkgraph Parquet export (missing columns: {', '.join(missing)})"
        )
    return dataset


_PAGE_FIELDS = (
    "url",
    "depth",
    "fetched_at",
    "status",
    "error",
    "final_url",
    "content_type",
    "title",
    "lang",
    "canonical",
    "noindex",
    "nofollow",
    "size",
    "etag",
    "last_modified",
    "text",
    "checked_only",
    "outlinks",
    "elapsed_ms",
)
_SPOOL_LINKS = (*LINK_COLUMNS, "image")


def _spool(folder: Path, path: Path) -> Spool:
    """Copy the export's tables, a record batch at a time, into a scratch file at ``path``
    (see :mod:`linkgraph.storage.spool`): memory stays bounded whatever the export's size."""
    pages, links = _read(folder, "pages"), _read(folder, "links")
    spool = Spool(path, _SPOOL_LINKS, _PAGE_FIELDS)
    try:
        for batch in links.to_batches(columns=list(_SPOOL_LINKS), batch_size=_ROWS):
            spool.add_links(
                (
                    *(row[c] for c in LINK_COLUMNS[:5]),
                    " ".join(row["rel"] or ()),
                    row["flags"],
                    _seconds(row["first_seen"]),
                    _seconds(row["last_seen"]),
                    _seconds(row["lost_at"]),
                    row["lost_reason"],
                    bool(row["image"]),
                )
                for row in batch.to_pylist()
            )
        for batch in pages.to_batches(columns=list(_PAGE_FIELDS), batch_size=_ROWS):
            spool.add_pages(tuple(row[c] for c in _PAGE_FIELDS) for row in batch.to_pylist())
    except _arrow().ArrowException as exc:  # a file damaged past its footer
        spool.close()
        raise _damaged(folder, exc) from None
    except BaseException:
        spool.close()
        raise
    return spool


def _damaged(where: Path, exc: BaseException) -> SettingsError:
    # pyarrow's messages run over several lines; the CLI's error is one.
    return SettingsError(
        f"{where} holds a damaged or foreign Parquet file: {' '.join(str(exc).split())}"
    )


async def _fill(writer: StoreWriter | PgWriter, spool: Spool) -> None:
    """Write the spooled pages, each with its links, and the links of pages not exported,
    through ``writer``'s batches."""
    current: str | None = None
    group: list[Link] = []
    first: int | None = None
    written = 0

    async def put(source: str, row: dict[str, Any] | None) -> None:
        nonlocal written
        if row is None:
            writer.add_links(source, group, first or 0)
        else:
            writer.add_page(_page(row, group))
        written += len(group) + 1
        if written >= 50_000:
            await writer.flush()
            written = 0

    rows = spool.links(
        ("source", "target", "anchor", "rel", "placement", "image", "kind", "first_seen"),
        by_source=True,
    )
    for source, target, anchor, rel, placement, image, kind, seen in rows:
        if source != current:
            if current is not None:
                await put(current, spool.take_page(current))
            current, group, first = source, [], None
        group.append(Link(target, anchor or "", tuple(rel.split()), placement, bool(image), kind))
        first = seen if first is None or (seen is not None and seen < first) else first
    if current is not None:
        await put(current, spool.take_page(current))
    group = []
    for row in spool.untaken_pages():
        await put(row["url"], row)
        await asyncio.sleep(0)


async def _fill_sqlite(path: Path, spool: Spool) -> None:
    async with await StoreWriter.open(path, bulk=True) as writer:
        await _fill(writer, spool)


async def _fill_postgres(url: str, spool: Spool) -> None:
    """Fill the PostgreSQL store at ``url`` and give its links their history, all in one
    transaction: interrupted, it leaves the store as it was (SQLite: the rename)."""
    from linkgraph.storage.pg.tables import restore_history as restore_pg
    from linkgraph.storage.pg.writer import PgWriter

    async with await PgWriter.open(url) as writer, writer.atomic() as conn:
        await _fill(writer, spool)
        await writer.flush()
        await restore_pg(
            conn, spool.links(_SPOOL_LINKS[:-1]), spool.pages(("url", "outlinks", "elapsed_ms"))
        )


def _page(row: dict[str, Any], links: list[Link]) -> Page:
    return Page(
        row["url"],
        row["depth"],
        row["fetched_at"],
        status=row["status"],
        error=row["error"],
        final_url=row["final_url"],
        content_type=row["content_type"],
        title=row["title"],
        lang=row["lang"],
        canonical=row["canonical"],
        noindex=bool(row["noindex"]),
        nofollow=bool(row["nofollow"]),
        size=row["size"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        text=row["text"],
        checked_only=bool(row["checked_only"]),
        links=links,
    )


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)


def import_parquet(db: str | os.PathLike[str], folder: str | os.PathLike[str]) -> tuple[int, int]:
    """Fill the new store ``db`` (a SQLite path or an empty PostgreSQL database) from a
    Parquet export in ``folder``; returns (links, pages).

    A SQLite store is built in a file beside ``db`` and renamed into place only when
    complete; a PostgreSQL one is filled in one transaction. Either way an interrupted
    import leaves no half-filled store behind and can simply be rerun."""
    _arrow()
    where = Path(folder)
    if is_pg_url(db):
        from linkgraph.storage.pg.tables import has_urls as pg_has_urls

        full = pg_has_urls(db)
    else:
        refuse_other_urls(db)
        full = has_urls(db)
    if full:
        raise SettingsError(
            f"{shown(db)} holds links already: import-parquet fills a new store"
            " (give a new --db path, or remove this one first)"
        )
    if is_pg_url(db):
        # The scratch file sorts the export on this machine, not beside a database.
        with tempfile.TemporaryDirectory(prefix="linkgraph-parquet-") as scratch:
            spool = _spool(where, Path(scratch) / "spool")
            try:
                run(_fill_postgres(os.fspath(db), spool))
                return spool.counts()
            finally:
                spool.close()
    dest = Path(db)
    building = dest.with_name(f"{dest.name}.importing")
    scratch = dest.with_name(f"{dest.name}.spool")
    _remove(building)  # what a killed run left
    _remove(scratch)
    try:
        spool = _spool(where, scratch)
        try:
            run(_fill_sqlite(building, spool))
            links, pages = spool.counts()
            restore_history(
                building,
                spool.links(_SPOOL_LINKS[:-1]),
                spool.pages(("url", "outlinks", "elapsed_ms")),
            )
        finally:
            spool.close()
        _remove(dest)  # an empty store (has_urls said so) or nothing
        os.replace(building, dest)
    finally:
        _remove(building)
        _remove(scratch)
    return links, pages
