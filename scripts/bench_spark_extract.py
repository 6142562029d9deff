"""`linkgraph spark extract` in local mode against `import-warc` + `export --format parquet`
on the same files: wall time of each, and whether they wrote the same rows.

The files are the corpus's `pywb/iana.warc.gz` and `commoncrawl-whirlwind/whirlwind.warc.gz`
(``../shared/corpus/warc-samples``), each copied ``--repeat`` times. Every copy starts with
a `warcinfo` record of its own, so `import-warc` does not skip it as a file already
imported: the copies capture the same URLs again at the same dates, so the merge of
captures across files (a URL's captures replayed in file order) has work to do.
The Spark side is timed with the session already up (its start-up is reported apart),
in wall time and in CPU seconds of the whole process tree (this process, the JVM and the
Python workers, read from /proc), which a busy machine disturbs less than wall time.

Example::

    python scripts/bench_spark_extract.py --repeat 10 --master 'local[2]'
"""

from __future__ import annotations

import gzip
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _benchutil import add_number, bench_parser, cpu_model, parse_args, report_json

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "warc-samples"
FILES = ("pywb/iana.warc.gz", "commoncrawl-whirlwind/whirlwind.warc.gz")


def warcinfo(copy: int) -> bytes:
    """A gzip member holding one `warcinfo` record that names the copy."""
    block = f"software: bench_spark_extract\r\ncopy: {copy}\r\n".encode()
    head = (
        "WARC/1.0\r\nWARC-Type: warcinfo\r\nWARC-Date: 2020-01-01T00:00:00Z\r\n"
        f"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-{copy:012d}>\r\n"
        f"Content-Type: application/warc-fields\r\nContent-Length: {len(block)}\r\n\r\n"
    ).encode()
    return gzip.compress(head + block + b"\r\n\r\n")


def make_files(folder: Path, repeat: int) -> list[Path]:
    paths = []
    for copy in range(repeat):
        for number, name in enumerate(FILES):
            path = folder / f"copy{copy:03d}-{number}.warc.gz"
            with path.open("wb") as out:
                out.write(warcinfo(copy * len(FILES) + number))
                with (CORPUS / name).open("rb") as source:
                    shutil.copyfileobj(source, out)
            paths.append(path)
    return paths


def tree_cpu_seconds(root: int | None = None) -> float:
    """CPU seconds (user + system, with those of reaped children) of ``root`` (this
    process) and every process below it, from /proc."""
    root = os.getpid() if root is None else root
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # gone since the listing
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) "
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    tree, todo = {root}, [root]
    while todo:
        pid = todo.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        tree.update(children)
        todo.extend(children)
    return sum(times.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


def table(folder: Path) -> Counter[str]:
    import pyarrow.dataset as ds

    data = ds.dataset(folder, format="parquet", partitioning="hive", exclude_invalid_files=True)
    return Counter(repr(sorted(r.items())) for r in data.to_table().to_pylist())


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, json=True)
    add_number(parser, "--repeat", 10, "copies of each corpus file")
    parser.add_argument("--master", default="local[2]", help="Spark master (default local[2])")
    args = parse_args(parser, argv)
    if not all((CORPUS / name).is_file() for name in FILES):
        raise SystemExit(f"the corpus files are missing under {CORPUS}")
    from linkgraph.parquet import export_parquet
    from linkgraph.spark import spark_session
    from linkgraph.spark.extract import spark_extract
    from linkgraph.warcimport import import_warc

    work = Path(tempfile.mkdtemp(prefix="bench-spark-extract-"))
    try:
        paths = make_files(work, args.repeat)
        size = sum(p.stat().st_size for p in paths)
        began, cpu = time.perf_counter(), time.process_time()
        report = import_warc(work / "store.db", paths)
        export_parquet(work / "store.db", work / "export")
        single, single_cpu = time.perf_counter() - began, time.process_time() - cpu

        began = time.perf_counter()
        spark = spark_session(args.master, app="bench-spark-extract", loopback=True)
        spark.range(1).count()
        start_up = time.perf_counter() - began
        try:
            began, cpu = time.perf_counter(), tree_cpu_seconds()
            summary = spark_extract(spark, [str(p) for p in paths], str(work / "spark"))
            extract = time.perf_counter() - began
            extract_cpu = tree_cpu_seconds() - cpu
        finally:
            spark.stop()
        same = {
            name: table(work / "spark" / name) == table(work / "export" / name)
            for name in ("links", "pages")
        }
        result: dict[str, Any] = {
            "cpu": cpu_model(),
            "load_average": os.getloadavg()[0],
            "master": args.master,
            "files": len(paths),
            "megabytes": round(size / 1e6, 1),
            "records": report.records,
            "pages_written": report.pages,
            "import_and_export_s": round(single, 2),
            "import_and_export_cpu_s": round(single_cpu, 2),
            "spark_start_s": round(start_up, 2),
            "spark_extract_s": round(extract, 2),
            "spark_extract_cpu_s": round(extract_cpu, 2),
            "spark_pages_written": summary.pages,
            "same_rows": same,
        }
        report_json(result, args.json)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
