"""CPU per robots.txt decision: this checkout's crawler against a git ref's, alternated.

Loads ``crawler/`` of ``--against`` (default ``main``, via ``git archive``) as a second
package beside the installed one, so both run in one process on the same input, and times
each in CPU time (``time.process_time``), ``--rounds`` times, old and new in turn; the
best round of each counts (the others were slowed by a neighbour on a shared machine).

Two workloads:

- ``demo``: what the engine does before each fetch of the benchmark crawl's web
  (``generate(300, 50, seed=7, traps=False)``, every page and each robots.txt):
  ``RobotsCache.rules_for`` for a host whose robots.txt is cached, then
  ``RobotsRules.allowed`` (``step``), and ``allowed`` alone (``allowed``).
- ``real``: ``allowed`` on every ``--every``-th of protego's 4,231 real robots.txt files
  (``../shared/corpus``) with made-up paths.

Before timing, ``--check`` compares every decision of both (allowed, reason and the
deciding rule's pattern and line) on the workloads and on all 4,231 files with more
paths and three agents, and stops at the first that differs.

Example::

    PYTHONPATH=scripts python -P scripts/bench_robots.py --check --rounds 7
"""

from __future__ import annotations

import importlib
import io
import math
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from _benchutil import add_number, bench_parser, cpu_model, parse_args

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "robotstxt-protego" / "robotstxt_test_data.tar.gz"
TOKEN = "linkgraph"

# Paths a crawl of a real site asks about: pages, queries, escapes, the usual admin areas.
REAL_PATHS = [
    "/",
    "/index.html",
    "/about-us/",
    "/news/2019/07/some-article-title-123456.html",
    "/products/item?id=42&ref=home",
    "/search?q=shoes&page=2",
    "/wp-admin/admin-ajax.php",
    "/en-us/docs/guide/getting-started",
    "/tag/python/page/3/",
    "/cart/checkout",
    "/user/login?next=%2Faccount",
    "/caf%C3%A9/menu",
    "/static/css/site.min.css",
    "/p/ABC-123;jsessionid=XYZ",
    "/robots.txt",
    "/sitemap.xml",
]
# More for --check: odd shapes a URL of ours can have.
CHECK_PATHS = [
    *REAL_PATHS,
    "",
    "/?",
    "/a//b",
    "//double/slash",
    "/%7Euser/%2Fx",
    "/a*b$c",
    "/private/",
    "/tmp/x",
    "/index.htm",
    "/search/",
    "/admin",
    "/api/v1/",
    "/feed",
    "/print/x.php$",
]


def load_crawler(ref: str, into: Path) -> ModuleType:
    """``crawler/`` at git ``ref`` as the package ``crawler_<n>``, importable beside ours."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref, "crawler"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    name = f"crawler_{abs(hash(ref))}"
    (into / "crawler").rename(into / name)
    sys.path.insert(0, str(into))
    return importlib.import_module(name)


class Variant:
    """One version of the crawler's robots.txt code, set up for the workloads."""

    def __init__(self, label: str, package: str) -> None:
        self.label = label
        robots = importlib.import_module(f"{package}.robots")
        cache = importlib.import_module(f"{package}.robotscache")
        politeness = importlib.import_module(f"{package}.politeness")
        settings = importlib.import_module(f"{package}.settings")
        seams = importlib.import_module(f"{package}.seams")
        self.parse: Callable[[bytes], Any] = robots.RobotsRules.parse
        self.cache = cache.RobotsCache(settings.CrawlSettings(), None, seams.SystemClock(), None)
        self.host_of_entry = lambda name, rules, origins: _host(politeness, name, rules, origins)


def _host(politeness: ModuleType, name: str, rules: Any, origins: list[str]) -> Any:
    host = politeness.Host(name, 0.0)
    for origin in origins:
        host.robots[origin] = politeness.RobotsEntry(rules, "parsed", math.inf)
    return host


def demo_workload() -> list[tuple[str, bytes, list[str]]]:
    """(host, robots.txt body, URLs fetched) of each host of the benchmark crawl's web."""
    from linkgraph.demo.sites import generate

    hosts = []
    for site in generate(300, 50, seed=7, traps=False):
        body = site.robots.responses[0].body if site.robots else b""
        base = f"http://{site.name}:8080"
        hosts.append((site.name, body, [base + "/robots.txt"] + [base + p for p in site.pages]))
    return hosts


def real_files(every: int) -> list[tuple[str, bytes]]:
    """Every ``every``-th of the real robots.txt files (all with 1), sorted by name."""
    if not CORPUS.exists():
        raise SystemExit(f"{CORPUS} not found: the real robots.txt files are needed")
    with tarfile.open(CORPUS) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile()), key=lambda m: m.name)
        chosen = members[::every]
        return [(m.name.rsplit("/", 1)[1], tar.extractfile(m).read()) for m in chosen]  # type: ignore[union-attr]


def time_step(variant: Variant, hosts: list[tuple[Any, Any, list[str]]]) -> float:
    """CPU seconds for rules_for + allowed on every URL, as the engine does them."""
    rules_for, token = variant.cache.rules_for, TOKEN
    start = time.process_time()
    for host, _, urls in hosts:
        for url in urls:
            coroutine = rules_for(host, url)
            try:
                coroutine.send(None)
            except StopIteration as done:  # a cached host never awaits
                done.value.allowed(url, token)
    return time.process_time() - start


def time_allowed(rules_urls: list[tuple[Any, list[str]]]) -> float:
    """CPU seconds for allowed on every URL."""
    start = time.process_time()
    for rules, urls in rules_urls:
        allowed = rules.allowed
        for url in urls:
            allowed(url, TOKEN)
    return time.process_time() - start


def _decision(rules: Any, url: str, agent: str) -> tuple[Any, ...]:
    d = rules.decide(url, agent)
    rule = d.rule and (d.rule.allow, d.rule.pattern, d.rule.line, d.rule.user_agent)
    return d.allowed, d.reason, rule


def check(variants: list[Variant], bodies: list[tuple[str, bytes]]) -> int:
    """Compare every decision of the variants; the count compared. Exits on a difference."""
    old, new = variants
    count = 0
    for name, body in bodies:
        a, b = old.parse(body), new.parse(body)
        for agent in (TOKEN, "googlebot", "*"):
            for base in (f"https://{name}", f"http://{name}:8080", ""):
                for path in CHECK_PATHS:
                    url = base + path
                    if _decision(a, url, agent) != _decision(b, url, agent):
                        raise SystemExit(
                            f"differ on {name} {url!r} {agent}: "
                            f"{_decision(a, url, agent)} != {_decision(b, url, agent)}"
                        )
                    count += 1
    return count


def main(argv: list[str] | None = None) -> None:
    parser = bench_parser(__doc__ or "")
    parser.add_argument("--against", default="main", help="git ref of the old code (default main)")
    add_number(parser, "--rounds", 5, "timed rounds of each variant, alternated")
    add_number(parser, "--every", 10, "time every Nth real robots.txt file")
    parser.add_argument("--check", action="store_true", help="compare all decisions first")
    args = parse_args(parser, argv)
    with tempfile.TemporaryDirectory() as tmp:
        old = load_crawler(args.against, Path(tmp))
        variants = [Variant(args.against, old.__name__), Variant("this", "linkgraph.crawler")]
        demo = demo_workload()
        real = real_files(args.every)
        if args.check:
            compared = check(variants, [(n, b) for n, b, _ in demo] + real_files(1))
            compared += check(variants, real)
            print(f"check: {compared:,} decisions identical")
        print(f"machine: {cpu_model()}; Python {sys.version.split()[0]}")
        demo_urls = sum(len(urls) for _, _, urls in demo)
        real_urls = len(real) * len(REAL_PATHS)
        per_variant = []
        for v in variants:
            hosts = [
                (
                    v.host_of_entry(name, v.parse(body), [urls[0][: urls[0].index("/", 7)]]),
                    body,
                    urls,
                )
                for name, body, urls in demo
            ]
            demo_rules = [(h.robots[next(iter(h.robots))].rules, urls) for h, _, urls in hosts]
            real_rules = [
                (v.parse(body), [f"https://{name}{p}" for p in REAL_PATHS]) for name, body in real
            ]
            per_variant.append((hosts, demo_rules, real_rules))
        best: dict[tuple[str, str], float] = {}
        for _ in range(args.rounds):
            for v, (hosts, demo_rules, real_rules) in zip(variants, per_variant, strict=True):
                for work, seconds in (
                    ("demo step", time_step(v, hosts)),
                    ("demo allowed", time_allowed(demo_rules)),
                    ("real allowed", time_allowed(real_rules)),
                ):
                    key = (work, v.label)
                    best[key] = min(best.get(key, math.inf), seconds)
        counts = {"demo step": demo_urls, "demo allowed": demo_urls, "real allowed": real_urls}
        print(
            f"{'workload':14} {'URLs':>7} "
            + " ".join(f"{v.label:>10}" for v in variants)
            + "   (µs per decision, best of rounds)"
        )
        for work, n in counts.items():
            cells = " ".join(f"{best[(work, v.label)] / n * 1e6:10.2f}" for v in variants)
            ratio = best[(work, variants[0].label)] / best[(work, variants[1].label)]
            print(f"{work:14} {n:7,} {cells}   x{ratio:.1f}")


if __name__ == "__main__":
    main()
