"""`linkgraph spark rank` in local mode against `linkgraph rank`'s ranking on the same graph:
wall time, peak memory per edge, and the L1 distance of their page scores.

The graph is cnr-2000 (``../shared/corpus/webgraph-cnr-2000``, 325,557 pages, 3.2M links)
or a synthetic one (``--synthetic EDGES``: pages with a power-law number of links, 50 pages
per host, 2 hosts per domain). Pages are named ``http://hH.dD.test/pN``. The single-machine
side runs ``graph.ranking.rank_levels`` on the link arrays (what ``linkgraph rank`` does
between loading the store and writing the scores, so store I/O is not in it); the Spark
side runs ``linkgraph spark rank`` as a command on a Parquet link table of the same links.
Each runs in a child process. Peak memory: the single-machine child's own peak RSS; for
Spark, the largest sum of the RSS of the child's whole process tree (the linkgraph
driver, the JVM and the Python workers), sampled from /proc every 0.2 s.

Example::

    python scripts/bench_spark.py --graph cnr --master 'local[2]'
    python scripts/bench_spark.py --synthetic 10000000 --json /tmp/spark.json
"""

from __future__ import annotations

import gzip
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _benchutil import add_number, bench_parser, cpu_model, parse_args, report_json

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
PAGES_PER_HOST = 50
HOSTS_PER_DOMAIN = 2


def cnr_edges() -> tuple[np.ndarray, int]:
    with gzip.open(CORPUS / "webgraph-cnr-2000" / "cnr-2000.edges.tsv.gz", "rb") as stream:
        data = stream.read()
    body = data[data.index(b"\n") + 1 :]
    edges = np.fromstring(body, dtype=np.int64, sep=" ").reshape(-1, 2)
    return edges, 325_557


def synthetic_edges(m: int, seed: int) -> tuple[np.ndarray, int]:
    """``m`` distinct links on ``m // 10`` pages: out-degrees and in-link choices both
    skewed (Zipf-like), as on the web."""
    rng = np.random.default_rng(seed)
    n = max(2, m // 10)
    weights = 1.0 / np.arange(1, n + 1) ** 0.8
    weights /= weights.sum()
    src = rng.integers(0, n, size=int(m * 1.1))
    dst = rng.choice(n, size=src.size, p=weights)
    pairs = np.unique((src << 32) | dst)[:m]
    return np.column_stack([pairs >> 32, pairs & 0xFFFFFFFF]), n


def write_parquet(edges: np.ndarray, n: int, folder: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = np.arange(n)
    hosts = np.array(
        [f"h{h}.d{h // HOSTS_PER_DOMAIN}.test" for h in range(n // PAGES_PER_HOST + 1)]
    )
    domains = np.array([f"d{d}.test" for d in range(len(hosts) // HOSTS_PER_DOMAIN + 1)])
    host_of = ids // PAGES_PER_HOST
    url = np.char.add(np.char.add("http://", hosts[host_of]), np.char.add("/p", ids.astype(str)))
    (folder / "links" / "kind=link").mkdir(parents=True)
    (folder / "pages").mkdir(parents=True)
    stamp = pa.timestamp("s", tz="UTC")
    step = 1 << 20
    with pq.ParquetWriter(
        folder / "links" / "kind=link" / "part-0.parquet", _links_schema(pa)
    ) as w:
        for start in range(0, len(edges), step):
            s, d = edges[start : start + step, 0], edges[start : start + step, 1]
            k = len(s)
            w.write_table(
                pa.table(
                    {
                        "source": url[s],
                        "target": url[d],
                        "source_host": hosts[host_of[s]],
                        "source_domain": domains[host_of[s] // HOSTS_PER_DOMAIN],
                        "target_host": hosts[host_of[d]],
                        "target_domain": domains[host_of[d] // HOSTS_PER_DOMAIN],
                        "follow": np.ones(k, dtype=bool),
                        "first_seen": pa.array([0] * k, type=stamp),
                        "last_seen": pa.nulls(k, type=stamp),
                        "lost_at": pa.nulls(k, type=stamp),
                    },
                    schema=_links_schema(pa),
                )
            )
    pq.write_table(
        pa.table(
            {"url": url, "host": hosts[host_of], "domain": domains[host_of // HOSTS_PER_DOMAIN]}
        ),
        folder / "pages" / "part-0.parquet",
    )


def _links_schema(pa: object) -> object:
    stamp = pa.timestamp("s", tz="UTC")  # type: ignore[attr-defined]
    s = pa.string()  # type: ignore[attr-defined]
    return pa.schema(  # type: ignore[attr-defined]
        [
            ("source", s),
            ("target", s),
            ("source_host", s),
            ("source_domain", s),
            ("target_host", s),
            ("target_domain", s),
            ("follow", pa.bool_()),  # type: ignore[attr-defined]
            ("first_seen", stamp),
            ("last_seen", stamp),
            ("lost_at", stamp),
        ]
    )


_SINGLE = """
import sys, time, numpy as np, resource
from linkgraph.graph.ranking import LinkArrays, rank_levels
d = np.load(sys.argv[1])
edges, n = d["edges"], int(d["n"])
order = np.lexsort((edges[:, 0], edges[:, 1]))
hosts = np.arange(n) // {pph}
g = LinkArrays(n, int(hosts.max()) + 1, int(hosts.max()) // {hpd} + 1,
    edges[order, 0].astype(np.int32), edges[order, 1].astype(np.int32),
    np.ones(len(edges), bool), np.zeros(0, np.int32), np.zeros(0, np.int32),
    hosts.astype(np.int32), (np.arange(int(hosts.max()) + 1) // {hpd}).astype(np.int32))
t = time.perf_counter()
r = rank_levels(g)
print(time.perf_counter() - t)
np.save(sys.argv[2], r.levels["page"]["pagerank"])
"""


def _tree_rss(root: int) -> int:
    """The summed RSS (bytes) of ``root`` and every process below it."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, grew = {root}, True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in tree} - tree
        grew = bool(below)
        tree |= below
    return sum(rss.get(pid, 0) for pid in tree)


def _tree_peak_rss(argv: list[str], env: dict[str, str]) -> int:
    """Run ``argv`` to its end (failing on a non-zero exit); its tree's peak summed RSS."""
    child = subprocess.Popen(argv, env=env)
    peak = 0
    while child.poll() is None:
        peak = max(peak, _tree_rss(child.pid))
        time.sleep(0.2)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, argv)
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, seed=7, json=True)
    parser.add_argument("--graph", choices=("cnr", "synthetic"), default="synthetic")
    add_number(parser, "--synthetic", 1_000_000, "links of the synthetic graph")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    args = parse_args(parser, argv)
    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    try:
        edges, n = (
            cnr_edges() if args.graph == "cnr" else synthetic_edges(args.synthetic, args.seed)
        )
        m = len(edges)
        np.savez(work / "graph.npz", edges=edges, n=n)
        write_parquet(edges, n, work / "tables")
        code = _SINGLE.format(pph=PAGES_PER_HOST, hpd=HOSTS_PER_DOMAIN)
        clock = time.perf_counter()
        single = subprocess.run(
            [sys.executable, "-c", code, str(work / "graph.npz"), str(work / "single.npy")],
            capture_output=True,
            text=True,
            check=True,
        )
        single_wall = time.perf_counter() - clock
        single_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        clock = time.perf_counter()
        env = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1")
        spark_rss = _tree_peak_rss(
            [
                sys.executable,
                "-m",
                "linkgraph",
                "spark",
                "rank",
                "--quiet",
                "--master",
                args.master,
                "--input",
                str(work / "tables"),
                "--output",
                str(work / "scores"),
            ],
            env,
        )
        spark_wall = time.perf_counter() - clock
        import pyarrow.parquet as pq

        table = pq.read_table(work / "scores" / "page").to_pydict()
        got = np.zeros(n)
        got[[int(u.rsplit("/p", 1)[1]) for u in table["url"]]] = table["pagerank"]
        l1 = float(np.abs(got - np.load(work / "single.npy")).sum())
        result = {
            "graph": args.graph,
            "pages": n,
            "links": m,
            "cpu": cpu_model(),
            "master": args.master,
            "rank_seconds": float(single.stdout.split()[-1]),
            "rank_wall": single_wall,
            "rank_peak_rss_bytes_per_link": single_rss / m,
            "spark_wall": spark_wall,
            "spark_peak_rss_bytes_per_link": spark_rss / m,
            "ratio_wall": spark_wall / single_wall,
            "page_l1": l1,
        }
        report_json(result, args.json)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
