"""CPU time a page of the crawl's parse worker: ``parse_page``, and ``extract`` alone.

The pages are the ones ``bench_crawl.py`` crawls (the demo web of 300 hosts x 50 pages,
seed 7, no traps), as the demo server serves them: absolute URLs with a port filled in.
Each measurement runs in a process of its own, with the code installed or with a
``--variant`` (a folder put first on ``PYTHONPATH`` that holds a ``linkgraph`` package, as
``bench_crawl.py``'s variants do), in turns that rotate every round, so that a busy
machine favours no one. It counts CPU time (``time.process_time()``), after a warm-up of
1,000 pages: ``parse_page(body, content type, url, "linkgraph", want_text=True)`` over
every page, then ``extract`` over their decoded text. With ``--batches``, also the parse
worker as a crawl runs it (``python -m linkgraph.crawler.parsing``, its own process, the
pages and answers framed as the crawl frames them), fed the pages in batches of each size
given, the next batch sent once every answer of the last one is back: the worker's own
CPU a page (from ``/proc``, Linux only), after the same warm-up. A crawl at concurrency
100 sends the worker about eight pages a write.

Examples::

    python scripts/bench_parse.py --variant old=/tmp/old --repeat 4
    python scripts/bench_parse.py --batches 1,8,2000
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _benchutil import add_number, bench_parser, parse_args

PORT = 8080  # any port: the pages only need one written in


def pages(sites: int, per_site: int) -> list[tuple[bytes, str | None, str]]:
    """(body, content type, url) of every HTML page of the demo web, as served."""
    from linkgraph.demo.model import PORT_TOKEN
    from linkgraph.demo.sites import generate

    token, port = PORT_TOKEN.encode(), str(PORT).encode()
    found = []
    for site in generate(sites, per_site, seed=7, traps=False):
        for page in site.pages.values():
            response = page.responses[-1]
            content_type = response.headers.get("Content-Type")
            if response.status != 200 or "html" not in (content_type or ""):
                continue
            body = response.body.replace(token, port)
            found.append((body, content_type, f"http://{site.name}:{PORT}{page.path}"))
    return found


def _proc_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) process ``pid`` has used (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_cpu(bench: list[tuple[bytes, str | None, str]], batch: int) -> float:
    """ms of CPU a page of the parse worker, fed ``bench`` ``batch`` pages at a time."""
    import pickle
    import threading

    from linkgraph.crawler.parsing import _HEADER, ParseLimits

    def frame(message: object) -> bytes:
        data = pickle.dumps(message, protocol=5)
        return _HEADER.pack(len(data)) + data

    requests = [frame(page) for page in bench]
    worker = subprocess.Popen(
        [sys.executable, "-P", "-m", "linkgraph.crawler.parsing"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert worker.stdin is not None and worker.stdout is not None
    answered = threading.Semaphore(0)

    def read_answers() -> None:
        stdout = worker.stdout
        assert stdout is not None
        while len(header := stdout.read(_HEADER.size)) == _HEADER.size:
            stdout.read(_HEADER.unpack(header)[0])
            answered.release()

    reader = threading.Thread(target=read_answers, daemon=True)
    reader.start()
    worker.stdin.write(frame(("linkgraph", True, ParseLimits())))

    def feed(start: int, stop: int) -> None:
        assert worker.stdin is not None
        for at in range(start, stop, batch):
            worker.stdin.write(b"".join(requests[at : min(at + batch, stop)]))
            worker.stdin.flush()
            for _ in range(min(at + batch, stop) - at):
                answered.acquire()

    warm = min(1000, len(requests) // 2)
    feed(0, warm)
    before = _proc_cpu(worker.pid)
    feed(warm, len(requests))
    used = _proc_cpu(worker.pid) - before
    worker.stdin.close()
    worker.wait()
    reader.join()
    return used * 1000 / (len(requests) - warm)


def child(sites: int, per_site: int, batches: list[int]) -> dict[str, float]:
    """One measurement, in this process: ms of CPU a page."""
    from linkgraph.crawler.encoding import decode_html
    from linkgraph.crawler.extract import extract
    from linkgraph.crawler.parsing import parse_page

    bench = pages(sites, per_site)
    texts = [(decode_html(body, content_type)[0], url) for body, content_type, url in bench]
    for body, content_type, url in bench[:1000]:
        parse_page(body, content_type, url, "linkgraph", True)
    start = time.process_time()
    for body, content_type, url in bench:
        parse_page(body, content_type, url, "linkgraph", True)
    parse_ms = (time.process_time() - start) * 1000 / len(bench)
    start = time.process_time()
    for html, url in texts:
        extract(html, url, want_text=True, max_links=10_000)
    extract_ms = (time.process_time() - start) * 1000 / len(bench)
    result = {"pages": len(bench), "parse_page_ms": parse_ms, "extract_ms": extract_ms}
    for batch in batches:
        result[f"worker_{batch}_ms"] = worker_cpu(bench, batch)
    return result


def measure(path: str | None, sites: int, per_site: int, batches: str) -> dict[str, Any]:
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [path, env.get("PYTHONPATH")]))
    command = [sys.executable, "-P", __file__, "--child", "--sites", str(sites)]
    command += ["--pages", str(per_site)] + (["--batches", batches] if batches else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__ or "", json=True)
    add_number(parser, "--sites", 300, "demo hosts")
    add_number(parser, "--pages", 50, "pages a host")
    add_number(parser, "--repeat", 3, "rounds")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="also measure the linkgraph package found in PATH (repeatable)",
    )
    parser.add_argument(
        "--batches",
        default="",
        metavar="N,N",
        help="also time the parse worker in its own process, fed N pages a write "
        "(e.g. --batches 1,8,2000; Linux)",
    )
    parser.add_argument("--child", action="store_true", help="(internal) one measurement")
    args = parse_args(parser, argv)
    if args.child:
        batches = [int(n) for n in args.batches.split(",") if n]
        print(json.dumps(child(args.sites, args.pages, batches)))
        return 0
    entries: list[tuple[str, str | None]] = [("installed", None)]
    entries += [
        (name, str(Path(path).resolve()))
        for name, _, path in (variant.partition("=") for variant in args.variant)
    ]
    runs: list[dict[str, Any]] = []
    for round_no in range(1, args.repeat + 1):
        shift = (round_no - 1) % len(entries)
        for name, path in entries[shift:] + entries[:shift]:
            measured = measure(path, args.sites, args.pages, args.batches)
            result = {"label": name, "round": round_no, **measured}
            runs.append(result)
            workers = "".join(
                f", worker fed {key[7:-3]} a write {value:.3f}"
                for key, value in measured.items()
                if key.startswith("worker_")
            )
            print(
                f"round {round_no} {name}: parse_page {result['parse_page_ms']:.3f} ms/page,"
                f" extract {result['extract_ms']:.3f}{workers} ({result['pages']:,} pages)",
                flush=True,
            )
    for name, _ in entries:
        mine = [run for run in runs if run["label"] == name]
        fields = [key for key in mine[0] if key.endswith("_ms")]
        for field in fields:
            values = sorted(run[field] for run in mine)
            print(
                f"{name} {field[:-3]}: {values[0]:.3f} to {values[-1]:.3f} ms/page"
                f" (median {statistics.median(values):.3f})"
            )
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
