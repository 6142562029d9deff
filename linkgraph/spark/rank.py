"""``linkgraph spark rank``: PageRank of every page, host and domain, and their backlink
and referring-domain counts, with Spark DataFrames over Parquet link tables.

The definitions are ``linkgraph rank``'s (graph/ranking.py, graph/levels.py,
graph/pagerank.py), so the scores agree within float rounding:

- nodes: every URL of the tables (link ends of any kind, pages), every host and domain
  of those; current links only (``lost_at`` null) carry anything;
- page level: distinct follow links, with redirects folded (a page that redirects has one
  out-link, to its target, in place of its links; a self-redirect is a dead end);
- host and domain levels: one edge per ordered pair of different hosts (domains) joined
  by a follow link or a redirect;
- backlinks / referring domains: distinct (source page, target URL) links between
  different registrable domains, and the distinct source domains among them;
- PageRank: damping ``alpha``, uniform teleport, the score of dead ends spread uniformly,
  stopping after the first iteration whose L1 change is below ``tol``, then normalized.

Up to ``broadcast_nodes`` nodes (2M) a level's score vector lives on the driver and each
iteration is one small job over the cached edges (vector.py; a graph of one block, up to
1M edges, is iterated inside one task). Larger levels iterate as DataFrames: one join and
one aggregation per step over cached tables, every step cut from the plan of the last (a
local checkpoint, a reliable one every ``checkpoint_every`` steps), so the lineage and the
query plan Spark analyses each step stay short. Output: ``DIR/page``,
``DIR/host``, ``DIR/domain`` (Parquet: the node's name, ``pagerank``, ``backlinks``,
``referring_domains``), which ``linkgraph import-scores`` writes into a store.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from linkgraph.crawler.settings import SettingsError

from .vector import BLOCK_EDGES, broadcast_pagerank

__all__ = ["LEVEL_KEYS", "SparkRankSummary", "pagerank", "spark_rank"]

# Up to this many nodes the score vector (8 bytes a node) lives on the driver and is
# broadcast to the tasks every iteration (vector.py); above it, the DataFrame iteration.
BROADCAST_NODES = 2_000_000
# The name column of each level's score table.
LEVEL_KEYS = {"page": "url", "host": "host", "domain": "domain"}


@dataclass(slots=True)
class SparkRankSummary:
    nodes: dict[str, int] = field(default_factory=dict)
    edges: dict[str, int] = field(default_factory=dict)
    iterations: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _functions() -> Any:
    from pyspark.sql import functions

    return functions


def pagerank(
    nodes: Any,
    edges: Any,
    *,
    alpha: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 1000,
    checkpoint_every: int = 10,
    broadcast_nodes: int = BROADCAST_NODES,
    block_edges: int = BLOCK_EDGES,
) -> tuple[Any, int]:
    """PageRank of ``nodes`` (column ``id``) over distinct ``edges`` (``src``, ``dst``):
    a DataFrame ``(id, pagerank)`` and the iterations it took (see the module docstring
    for the model; graph/pagerank.py is the single-machine version).

    Up to ``broadcast_nodes`` nodes the iteration is :func:`.vector.broadcast_pagerank`'s
    (edges in blocks of ``block_edges``). Above, each step of the DataFrame iteration:
    ``x_new[j] = sum(x[i] * alpha / outdeg[i]) + ((1 - alpha) + alpha * dangling_mass) / n``;
    the change and the next dangling mass come back in one action.
    """
    from pyspark.sql import Observation

    from linkgraph.graph.errors import ConvergenceError

    F = _functions()
    n = nodes.count()
    if n == 0:
        return nodes.select("id", F.lit(0.0).alias("pagerank")), 0
    if n <= broadcast_nodes:
        return broadcast_pagerank(
            nodes, edges, alpha=alpha, tol=tol, max_iter=max_iter, block_edges=block_edges
        )
    out = edges.groupBy("src").agg(F.count(F.lit(1)).alias("outdeg"))
    weighted = (
        edges.join(out, "src").select("src", "dst", (F.lit(alpha) / F.col("outdeg")).alias("w"))
    ).cache()
    state = (
        nodes.join(out.withColumnRenamed("src", "id"), "id", "left")
        .select("id", F.col("outdeg").isNull().alias("dangling"), F.lit(1.0 / n).alias("x"))
        .localCheckpoint(eager=True)
    )
    dangling_mass = state.agg(F.sum(F.when(F.col("dangling"), F.col("x")))).first()[0] or 0.0
    error = float("inf")
    held = [weighted, state]
    try:
        for iteration in range(1, max_iter + 1):
            base = ((1.0 - alpha) + alpha * dangling_mass) / n
            scores = state.select(F.col("id").alias("src"), "x")
            contrib = (
                weighted.join(scores, "src")
                .groupBy("dst")
                .agg(F.sum(F.col("x") * F.col("w")).alias("c"))
            )
            new_x = F.coalesce(F.col("c"), F.lit(0.0)) + F.lit(base)
            contrib = contrib.withColumnRenamed("dst", "id")
            step = state.join(contrib, "id", "left").select(
                "id", "dangling", new_x.alias("x"), F.abs(new_x - F.col("x")).alias("change")
            )
            # The change and the next dangling mass are counted while the step is
            # computed (an observation), not by a second job over its result.
            seen = Observation(f"step{iteration}")
            step = step.observe(
                seen,
                F.sum("change").alias("change"),
                F.sum(F.when(F.col("dangling"), F.col("x"))).alias("dangling"),
            )
            # Each step is cut from the plan of the last (a cached table keeps it, and
            # the plan Spark analyses would grow with every step until the driver runs out
            # of memory); every few steps the cut is a reliable checkpoint, which a lost
            # executor can read back, in between a local one.
            if iteration % checkpoint_every == 0:
                step = step.checkpoint(eager=True)
            else:
                step = step.localCheckpoint(eager=True)
            held.append(step)
            metrics = seen.get
            error, dangling_mass = metrics["change"], metrics["dangling"]
            dangling_mass = dangling_mass or 0.0
            previous, state = state, step.select("id", "dangling", "x")
            if previous is not held[1]:
                previous.unpersist()
            if error < tol:
                total = state.agg(F.sum("x")).first()[0]
                scores = state.select("id", (F.col("x") / F.lit(total)).alias("pagerank"))
                return scores, iteration
        raise ConvergenceError(max_iter, error, tol)
    finally:
        weighted.unpersist()


def _tables(spark: Any, folder: str) -> tuple[Any, Any]:
    """The link and page tables of a Parquet folder (``export --format parquet`` or
    ``spark extract``)."""
    try:
        links = spark.read.parquet(f"{folder.rstrip('/')}/links")
        pages = spark.read.parquet(f"{folder.rstrip('/')}/pages")
    except Exception as exc:  # AnalysisException: the path does not exist
        if type(exc).__name__ in {
            "AnalysisException",
            "PySparkException",
        } or "PATH_NOT_FOUND" in str(exc):
            raise SettingsError(
                f"{folder} holds no Parquet link and page tables (links/, pages/):"
                " give a folder written by `linkgraph export --format parquet` or `spark extract`"
            ) from None
        raise
    return links, pages


def _node_ids(frame: Any, key: str, checkpoint: bool) -> Any:
    """Distinct ``key`` values numbered; checkpointed, as the numbering is not repeatable."""
    F = _functions()
    numbered = frame.select(key).distinct().withColumn("id", F.monotonically_increasing_id())
    return numbered.checkpoint(eager=True) if checkpoint else numbered.localCheckpoint(eager=True)


def spark_rank(
    spark: Any,
    input: str,
    output: str,
    *,
    alpha: float = 0.85,
    tol: float = 1e-10,
    checkpoint_every: int = 10,
    broadcast_nodes: int = BROADCAST_NODES,
    block_edges: int = BLOCK_EDGES,
    progress: Callable[[str], object] | None = None,
) -> SparkRankSummary:
    """Rank the link tables under ``input``; write the score tables under ``output``."""
    F = _functions()
    say = progress or (lambda _msg: None)
    summary = SparkRankSummary()
    started = time.perf_counter()
    if not 0.0 < alpha < 1.0:
        raise SettingsError(f"alpha must be between 0 and 1, got {alpha}")
    if "://" not in output and os.path.isdir(output) and os.listdir(output):
        raise SettingsError(f"{output} is not empty: give a new folder for the score tables")
    own_checkpoints = spark.sparkContext.getCheckpointDir() is None
    if own_checkpoints:
        # On the output's file system, which a cluster's executors all reach; removed at
        # the end (Spark leaves its checkpoint files behind).
        spark.sparkContext.setCheckpointDir(f"{output.rstrip('/')}/_checkpoints")
    links, pages = _tables(spark, input)

    # Every URL with its host and domain, whichever table names it.
    ends = [
        links.select(
            F.col("source").alias("url"),
            F.col("source_host").alias("host"),
            F.col("source_domain").alias("domain"),
        ),
        links.select(
            F.col("target").alias("url"),
            F.col("target_host").alias("host"),
            F.col("target_domain").alias("domain"),
        ),
        pages.select("url", "host", "domain"),
    ]
    # Cached: the three numberings below each read it.
    urls = ends[0].unionByName(ends[1]).unionByName(ends[2]).dropDuplicates(["url"]).cache()
    # A reliable checkpoint survives a lost executor; in local mode there is none to lose,
    # and a local one skips writing the numbering to disk and reading it back.
    reliable = not spark.sparkContext.master.startswith("local")
    url_ids = _node_ids(urls, "url", reliable)
    url_ids = url_ids.join(urls, "url")
    host_ids = _node_ids(urls, "host", reliable)
    domain_ids = _node_ids(urls, "domain", reliable)
    node = (
        url_ids.join(host_ids.withColumnRenamed("id", "host_id"), "host")
        .join(domain_ids.withColumnRenamed("id", "domain_id"), "domain")
        .select("url", "id", "host_id", "domain_id")
        .cache()
    )

    def ids(frame: Any) -> Any:
        """(source, target) URLs to the ids of both ends at every level."""
        src = node.select(
            F.col("url").alias("source"),
            F.col("id").alias("src"),
            F.col("host_id").alias("src_host"),
            F.col("domain_id").alias("src_domain"),
        )
        dst = node.select(
            F.col("url").alias("target"),
            F.col("id").alias("dst"),
            F.col("host_id").alias("dst_host"),
            F.col("domain_id").alias("dst_domain"),
        )
        return frame.join(src, "source").join(dst, "target")

    current = links.where(F.col("lost_at").isNull())
    # Distinct (source, target) backlinks, followable when any of their links is.
    pairs = ids(
        current.where(F.col("kind") == "link")
        .groupBy("source", "target")
        .agg(F.max(F.col("follow").cast("int")).alias("follow"))
    ).cache()
    # One redirect per page: its latest current one (storage.graphload.REDIRECTS_SQL).
    from pyspark.sql import Window

    latest = Window.partitionBy("source").orderBy(
        F.coalesce(F.col("last_seen"), F.col("first_seen")).desc()
    )
    redirects = ids(
        current.where(F.col("kind") == "redirect")
        .withColumn("n", F.row_number().over(latest))
        .where(F.col("n") == 1)
        .select("source", "target")
    ).cache()

    follow = pairs.where(F.col("follow") == 1)
    # Page level: the links of a page that redirects give way to its redirect.
    page_edges = (
        follow.join(redirects.select("src"), "src", "left_anti")
        .select("src", "dst")
        .unionByName(redirects.where(F.col("src") != F.col("dst")).select("src", "dst"))
        .distinct()
    )

    def group_edges(level: str) -> Any:
        a, b = f"src_{level}", f"dst_{level}"
        return (
            follow.select(F.col(a).alias("src"), F.col(b).alias("dst"))
            .unionByName(redirects.select(F.col(a).alias("src"), F.col(b).alias("dst")))
            .where(F.col("src") != F.col("dst"))
            .distinct()
        )

    external = pairs.where(F.col("src_domain") != F.col("dst_domain"))
    levels = {
        "page": (node.select("id", F.col("url")), page_edges, "dst"),
        "host": (
            host_ids.select("id", "host"),
            group_edges("host"),
            "dst_host",
        ),
        "domain": (domain_ids.select("id", "domain"), group_edges("domain"), "dst_domain"),
    }
    for level, (nodes, edges, target) in levels.items():
        edges = edges.cache()
        summary.nodes[level] = nodes.count()
        summary.edges[level] = edges.count()
        say(f"ranking {summary.nodes[level]:,} {level}s ({summary.edges[level]:,} edges)")
        scores, summary.iterations[level] = pagerank(
            nodes.select("id"),
            edges,
            alpha=alpha,
            tol=tol,
            checkpoint_every=checkpoint_every,
            broadcast_nodes=broadcast_nodes,
            block_edges=block_edges,
        )
        counts = external.groupBy(F.col(target).alias("id")).agg(
            F.count(F.lit(1)).alias("backlinks"),
            F.countDistinct("src_domain").alias("referring_domains"),
        )
        key = LEVEL_KEYS[level]
        table = (
            nodes.join(scores, "id")
            .join(counts, "id", "left")
            .select(
                key,
                "pagerank",
                F.coalesce("backlinks", F.lit(0)).cast("long").alias("backlinks"),
                F.coalesce("referring_domains", F.lit(0)).cast("long").alias("referring_domains"),
            )
        )
        table.write.mode("errorifexists").parquet(f"{output.rstrip('/')}/{level}")
        edges.unpersist()
    if own_checkpoints:
        # The folder set above, not getCheckpointDir(): that is a subfolder Spark made in it.
        _remove(spark, f"{output.rstrip('/')}/_checkpoints")
    summary.seconds = time.perf_counter() - started
    return summary


def _remove(spark: Any, path: str) -> None:
    """Delete ``path`` (a folder) through Hadoop's file system API: local, HDFS or S3."""
    jvm = spark.sparkContext._jvm
    where = jvm.org.apache.hadoop.fs.Path(path)
    where.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(where, True)
