"""``linkgraph spark extract``: WARC or WAT files into the Parquet link and page tables of
``export --format parquet``, plus host- and domain-level edge tables: the rows
``import-warc`` / ``import-wat`` of the same files, in the order given, followed by
``export --format parquet`` write.

One definition of a capture, not two, in two stages (:mod:`.captures`):

1. a task per file reads it as the import does, each record made a page by
   :func:`.warcpages.page_of` or :func:`.watimport.page_of_wat`, and keys each page by
   ``(URL, the file's position in the list, the record's number in the file)``;
2. the pages are shuffled by URL and sorted by that key within each partition
   (``repartitionAndSortWithinPartitions``, which spills to disk), so every URL's
   captures meet in one task in the import's order; the task writes them in that order
   through the import's own writing (:func:`linkgraph.warcimport.import_pages`) into a
   scratch store and takes the rows the export takes from it.

So a URL captured in several files gives one page row (its newest capture), and one row
per link with ``first_seen``/``last_seen`` across the captures; a link its newer capture
no longer carries comes out lost (``lost_at``, ``lost_reason``), a capture older than one
already written is skipped, and a revisit is a recapture of a capture already seen, as
in the import. A file listed twice, or a copy of one (the import's file identity: size
and first MiB), counts once, as the import skips a file it has imported.

A task gets its file whole from Spark (``binaryFiles``, which reads local, HDFS and S3
paths alike) and writes it to its local temporary folder for the reader: an executor needs
memory and scratch disk for its largest file (Common Crawl's WARC files are about 1 GB,
its WAT files about 300 MB). Stage 2 has ``spark.sql.shuffle.partitions`` partitions,
or one per :data:`FILES_PER_MERGE` files if that is more.

Output under ``DIR``: ``links/kind=…/`` and ``pages/`` (the export's columns), and
``host_edges/`` and ``domain_edges/`` (``source``, ``target``, ``links``: the current
hyperlinks and redirects from one host, or domain, to another).
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from linkgraph.crawler.settings import SettingsError

__all__ = ["FILES_PER_MERGE", "ExtractSummary", "format_of", "read_paths", "spark_extract"]

# Files' worth of captures per stage-2 partition (at least): a stage-2 task has a fixed
# cost (a task, a scratch store: about 0.5 s of CPU in local mode), which one per file
# made 40% of the run on small files (docs/benchmarks.md, "spark extract"); eight of
# Common Crawl's WAT files (about 50,000 pages each) still make a small scratch store.
FILES_PER_MERGE = 8


@dataclass(slots=True)
class ExtractSummary:
    files: int = 0
    records: int = 0
    pages: int = 0
    links: int = 0
    damaged: int = 0
    older: int = 0  # captures older than one of the same URL read before, skipped
    problems: list[str] = field(default_factory=list)  # files that held no WARC record
    already: list[str] = field(default_factory=list)  # copies of files listed before, skipped


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

    from .captures import path_key, positions_of, read_task, replay_task

    say = progress or (lambda _msg: None)
    out = output.rstrip("/")
    if "://" not in output and os.path.isdir(output) and os.listdir(output):
        raise SettingsError(f"{output} is not empty: give a new folder for the tables")
    link_schema, page_schema = _spark_schemas()
    link_names, page_names = link_schema.fieldNames(), page_schema.fieldNames()
    # A path listed twice is read once, at its first place (the import skips it as
    # imported already); Spark would hand it to two tasks.
    keys = [path_key(p) for p in paths]
    first = {key: at for at, key in reversed(list(enumerate(keys)))}
    unique = [p for at, p in enumerate(paths) if first[keys[at]] == at]
    repeats = [p for at, p in enumerate(paths) if first[keys[at]] != at]
    formats = [format_of(p) for p in unique]
    sc = spark.sparkContext
    shuffle = int(spark.conf.get("spark.sql.shuffle.partitions", "1"))
    partitions = max(shuffle, -(-len(unique) // FILES_PER_MERGE))
    say(f"extracting {len(unique):,} archive files")
    files = sc.binaryFiles(",".join(unique), minPartitions=len(unique))
    # Broadcast once, not shipped with every task: Common Crawl lists ~90,000 files a crawl.
    listing = sc.broadcast((unique, positions_of(unique), formats))
    captures = files.mapPartitions(lambda part: read_task(part, *listing.value))
    by_url = captures.repartitionAndSortWithinPartitions(
        partitions, partitionFunc=lambda key: zlib.crc32(key[0].encode())
    )
    tagged = by_url.mapPartitions(lambda part: replay_task(part, link_names, page_names))
    tagged = tagged.persist(StorageLevel.MEMORY_AND_DISK)
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
        counts = tagged.filter(lambda t: t[0] in ("file", "written")).collect()
    finally:
        tagged.unpersist()
        listing.destroy()
        if stamp_before is None:
            spark.conf.unset(stamp_key)
        else:
            spark.conf.set(stamp_key, stamp_before)
    summary = _summary(counts)
    summary.already.extend(repeats)
    return summary


def _summary(counts: list[tuple[str, Any]]) -> ExtractSummary:
    """The run's counts: per file from stage 1 (in list order, a copy of a file read before
    not counted, as the import does not count a file it skips), written from stage 2."""
    summary = ExtractSummary()
    identities: set[str] = set()
    files = sorted((c[1] for c in counts if c[0] == "file"), key=lambda entry: entry[0])
    for _position, identity, path, found in files:
        if identity in identities:
            summary.already.append(path)
            continue
        if found["records"]:  # the import marks a file done only when it held records
            identities.add(identity)
        summary.files += 1
        summary.records += found["records"]
        summary.damaged += found["damaged"]
        summary.problems.extend(found["errors"])
    for _tag, written in (c for c in counts if c[0] == "written"):
        summary.pages += written["pages"]
        summary.links += written["links"]
        summary.older += written["older"]
    return summary
