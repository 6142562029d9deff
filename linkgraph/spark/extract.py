"""``linkgraph spark extract``: WARC or WAT files into the Parquet link and page tables of
``export --format parquet``, plus host- and domain-level edge tables, one file per task.

One extraction, not two: a task reads its file exactly as ``import-warc`` / ``import-wat``
do (:func:`linkgraph.warcimport.import_archives` with :func:`.warcpages.page_of` or
:func:`.watimport.page_of_wat`, into a scratch store beside it), then takes the rows
``export --format parquet`` takes from that store (:mod:`linkgraph.parquet`). The rows of
a link (its flags, ``follow``, ``internal``, dates, one row per distinct link) are what
the store's writer makes of a page, so going through it keeps one definition of them
instead of a second one written for Spark.

A task gets its file whole from Spark (``binaryFiles``, which reads local, HDFS and S3
paths alike) and writes it to its local temporary folder for the reader: an executor needs
memory and scratch disk for its largest file (Common Crawl's WARC files are about 1 GB,
its WAT files about 300 MB).

Each file is extracted on its own: a URL captured in two files of one run gives two page
rows, and its links twice (a store keeps the newest capture and dates its links from
both). Give one crawl's files per run, as Common Crawl publishes them.

Output under ``DIR``: ``links/kind=…/`` and ``pages/`` (the export's columns), and
``host_edges/`` and ``domain_edges/`` (``source``, ``target``, ``links``: the current
hyperlinks and redirects from one host, or domain, to another).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkgraph.crawler.settings import SettingsError

__all__ = ["ExtractSummary", "archive_rows", "format_of", "read_paths", "spark_extract"]


@dataclass(slots=True)
class ExtractSummary:
    files: int = 0
    records: int = 0
    pages: int = 0
    links: int = 0
    damaged: int = 0
    problems: list[str] = field(default_factory=list)  # files that held no WARC record


def format_of(path: str) -> str:
    """``wat`` for a WAT file (Common Crawl names them ``….warc.wat.gz``), else ``warc``."""
    name = path.rstrip("/").rsplit("/", 1)[-1].lower()
    return "wat" if ".wat" in name else "warc"


def read_paths(paths_file: str) -> list[str]:
    """The archive paths of a paths file: one a line; blank lines and ``#`` comments skipped."""
    try:
        text = Path(paths_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SettingsError(f"cannot read {paths_file}: {why}") from None
    paths = [line.strip() for line in text.splitlines()]
    paths = [p for p in paths if p and not p.startswith("#")]
    if not paths:
        raise SettingsError(f"{paths_file} lists no archive files (one path a line)")
    for path in paths:
        if "," in path:  # Spark reads a comma as a separator between paths
            raise SettingsError(f"{paths_file}: a path with a comma cannot be read: {path}")
        if "://" not in path and not os.path.isfile(path):
            raise SettingsError(f"{paths_file}: no such file: {path}")
    return paths


def archive_rows(path: str, fmt: str, scratch: str) -> Iterator[tuple[str, Any]]:
    """One archive file as ``("link", row)`` and ``("page", row)`` (the dicts
    ``export --format parquet`` writes), then ``("file", counts)``: imported as
    ``import-warc`` (``fmt="warc"``) or ``import-wat`` (``"wat"``) imports it, into a
    scratch store in the folder ``scratch``."""
    from linkgraph.parquet import _link_dicts, _page_dicts
    from linkgraph.storage.tables import table_rows
    from linkgraph.warcimport import import_archives
    from linkgraph.warcpages import page_of
    from linkgraph.watimport import page_of_wat

    db = Path(scratch) / "archive.db"
    report = import_archives(db, [path], fmt=fmt, convert=page_of_wat if fmt == "wat" else page_of)
    with table_rows(db) as (links, pages):
        for row in _link_dicts(links):
            yield "link", row
        for row in _page_dicts(pages):
            yield "page", row
    yield (
        "file",
        {
            "records": report.records,
            "pages": report.pages,
            "links": report.links,
            "damaged": report.damaged,
            "errors": report.errors,
        },
    )


def _task(
    files: Iterable[tuple[str, bytes]], link_names: list[str], page_names: list[str]
) -> Iterator[tuple[str, Any]]:
    """A partition's ``(path, content)`` pairs as tagged row tuples (run on an executor)."""
    for path, content in files:
        with tempfile.TemporaryDirectory(prefix="linkgraph-extract-") as scratch:
            # The reader sniffs gzip from the bytes; the name only has to be a file's.
            local = Path(scratch) / "archive"
            local.write_bytes(content)
            del content
            for tag, row in archive_rows(str(local), format_of(path), scratch):
                if tag == "link":
                    yield tag, tuple(row[name] for name in link_names)
                elif tag == "page":
                    yield tag, tuple(row[name] for name in page_names)
                else:
                    row["errors"] = [e.replace(str(local), path) for e in row["errors"]]
                    yield tag, (path, row)


def _spark_schemas() -> tuple[Any, Any]:
    """The export's link and page columns (linkgraph/parquet.py) as Spark types."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_schema

    from linkgraph.parquet import _schemas

    links, pages = _schemas(pa)
    return from_arrow_schema(links), from_arrow_schema(pages)


def spark_extract(
    spark: Any,
    paths: list[str],
    output: str,
    *,
    progress: Any = None,
) -> ExtractSummary:
    """Extract the archives ``paths`` into the tables under ``output`` (module docstring)."""
    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    say = progress or (lambda _msg: None)
    out = output.rstrip("/")
    if "://" not in output and os.path.isdir(output) and os.listdir(output):
        raise SettingsError(f"{output} is not empty: give a new folder for the tables")
    link_schema, page_schema = _spark_schemas()
    link_names, page_names = link_schema.fieldNames(), page_schema.fieldNames()
    sc = spark.sparkContext
    say(f"extracting {len(paths):,} archive files")
    files = sc.binaryFiles(",".join(paths), minPartitions=len(paths))
    tagged = files.mapPartitions(lambda part: _task(part, link_names, page_names)).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    # Timestamps as Parquet's TIMESTAMP (UTC, microseconds), as pyarrow, DuckDB and pandas
    # read them, not Spark's default INT96, which they read as naive local times.
    stamp_key = "spark.sql.parquet.outputTimestampType"
    stamp_before = spark.conf.get(stamp_key, None)
    spark.conf.set(stamp_key, "TIMESTAMP_MICROS")
    try:
        links = spark.createDataFrame(
            tagged.filter(lambda t: t[0] == "link").map(lambda t: t[1]), link_schema
        )
        pages = spark.createDataFrame(
            tagged.filter(lambda t: t[0] == "page").map(lambda t: t[1]), page_schema
        )
        links.write.partitionBy("kind").mode("errorifexists").parquet(f"{out}/links")
        pages.write.mode("errorifexists").parquet(f"{out}/pages")
        current = links.where(F.col("kind").isin("link", "redirect") & F.col("lost_at").isNull())
        for level in ("host", "domain"):
            a, b = f"source_{level}", f"target_{level}"
            (
                current.where(F.col(a) != F.col(b))
                .groupBy(F.col(a).alias("source"), F.col(b).alias("target"))
                .agg(F.count(F.lit(1)).alias("links"))
                .write.mode("errorifexists")
                .parquet(f"{out}/{level}_edges")
            )
        summary = ExtractSummary()
        for _path, counts in tagged.filter(lambda t: t[0] == "file").map(lambda t: t[1]).collect():
            summary.files += 1
            summary.records += counts["records"]
            summary.pages += counts["pages"]
            summary.links += counts["links"]
            summary.damaged += counts["damaged"]
            summary.problems.extend(counts["errors"])
    finally:
        tagged.unpersist()
        if stamp_before is None:
            spark.conf.unset(stamp_key)
        else:
            spark.conf.set(stamp_key, stamp_before)
    return summary
