"""``linkgraph spark extract`` and ``spark rank`` (PySpark jobs for link data beyond one
machine) and ``linkgraph import-scores`` (their scores into a store)."""

from __future__ import annotations

import argparse
import sys

from ..output import say
from ..stores import shown as shown_store
from .common import EXIT_OK, arg, call, command, shown, switch


@command(
    arg(
        "job",
        choices=("extract", "rank"),
        help="extract: WARC / WAT files into Parquet link, page and host/domain edge tables;"
        " rank: PageRank and backlink / referring-domain counts of Parquet link tables",
    ),
    arg(
        "--input",
        required=True,
        metavar="PATH",
        help="extract: a text file listing WARC or WAT files, one a line (local, hdfs://"
        " or s3a://; a name with .wat is read as WAT); rank: a folder of Parquet link and"
        " page tables (`export --format parquet` or `spark extract`), local, hdfs:// or s3a://",
    ),
    arg(
        "--output",
        required=True,
        metavar="DIR",
        help="a new folder (local, hdfs:// or s3a://) for the Parquet tables written",
    ),
    arg(
        "--master",
        default=None,
        metavar="URL",
        help="Spark master (default: what spark-submit or SPARK_MASTER set, else local[*])",
    ),
    shown(switch("--quiet", default=False, help="no progress output")),
)
def cmd_spark(args: argparse.Namespace) -> int:
    """Run a Spark job: extract web archives into link tables, or rank a link graph too big for one machine.

    Example:
      ls /data/crawl/*.warc.gz > warcs.txt && linkgraph spark extract --input warcs.txt --output tables/
      linkgraph export --db links.db --format parquet --output tables/
      linkgraph spark rank --input tables/ --output scores/
      linkgraph import-scores scores/ --db links.db && linkgraph top --db links.db
      spark-submit --master yarn $(which linkgraph) spark rank --input hdfs:///cc/tables --output hdfs:///cc/scores
    """
    from ..spark import require, spark_session

    paths: list[str] = []
    if args.job == "extract":
        from ..spark.extract import read_paths

        paths = read_paths(args.input)  # a bad list fails before anything else
    require()

    def progress(message: str) -> None:
        if not args.quiet:
            say(f"{message} ...", sys.stderr)

    spark = spark_session(args.master, app=f"linkgraph spark {args.job}")
    try:
        if args.job == "extract":
            from ..spark.extract import spark_extract

            done = spark_extract(spark, paths, args.output, progress=progress)
            for problem in done.problems:
                say(f"  {problem}", sys.stderr)
            print(
                f"extracted {done.files:,} files ({done.records:,} records, {done.damaged:,}"
                f" damaged): {done.pages:,} pages, {done.links:,} links into {args.output}"
            )
            return EXIT_OK
        from ..spark.rank import spark_rank

        summary = spark_rank(spark, args.input, args.output, progress=progress)
        ranked = ", ".join(
            f"{summary.nodes[level]:,} {level}s ({summary.iterations[level]} iterations)"
            for level in summary.nodes
        )
        print(f"ranked {ranked} in {summary.seconds:.1f}s into {args.output}")
    finally:
        spark.stop()
    return EXIT_OK


@command(
    arg("folder", metavar="DIR", help="a folder written by `linkgraph spark rank`"),
    "db",
)
def cmd_import_scores(args: argparse.Namespace) -> int:
    """Write scores computed by `linkgraph spark rank` into a store, for top, backlinks and the rest.

    Example:
      linkgraph spark rank --input tables/ --output scores/
      linkgraph import-scores scores/ --db links.db && linkgraph top --db links.db
      linkgraph import-scores scores/ --db postgresql://crawler@db.example.org/links
    """
    from ..scoreimport import import_scores

    report = call(import_scores, args)
    for level in report.scored:
        line = f"{level}: {report.scored[level]:,} scored"
        if report.unscored[level]:
            line += f", {report.unscored[level]:,} in the store but not in the scores (0)"
        if report.unknown[level]:
            line += f", {report.unknown[level]:,} not in the store (skipped)"
        print(line)
    print(f"wrote the scores into {shown_store(args.db)}")
    return EXIT_OK
