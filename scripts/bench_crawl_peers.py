"""The peers of ``bench_crawl.py``: the Scrapy spider and the bare aiohttp loop.

Each ``child_*`` function runs one crawl in the benchmark's child process from the spec
the parent wrote (seeds, hosts, hosts file, concurrency, feed path) and returns its
counts, wall time and CPU time. See ``bench_crawl.py`` for how they are configured and why.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

NOT_FOLLOW = frozenset({"nofollow", "sponsored", "ugc"})
# What the benchmark web's robots.txt disallows: the bare loop, which reads no robots.txt,
# skips these paths so that all three crawlers fetch the same URLs.
DISALLOWED = ("/private/", "/tmp/")


class PinnedResolver:
    """Scrapy's TWISTED_DNS_RESOLVER for the benchmark: demo host names from the hosts file."""

    def __init__(self, reactor: Any, pinned: dict[str, str]) -> None:
        self.reactor = reactor
        self.pinned = pinned

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> PinnedResolver:
        from twisted.internet.interfaces import IResolverSimple
        from zope.interface import directlyProvides

        pinned = {}
        for line in Path(crawler.settings["BENCH_HOSTS_FILE"]).read_text().splitlines():
            parts = line.split("#", 1)[0].split()
            if len(parts) >= 2:
                pinned.update(dict.fromkeys(parts[1:], parts[0]))
        resolver = cls(reactor, pinned)
        directlyProvides(resolver, IResolverSimple)
        return resolver

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Any = ()) -> Any:
        from twisted.internet import defer
        from twisted.internet.error import DNSLookupError

        address = self.pinned.get(name.lower())
        return defer.succeed(address) if address else defer.fail(DNSLookupError(name))


def child_scrapy(spec: dict[str, Any]) -> dict[str, Any]:
    import types

    import scrapy
    from linkgraph.storage.identity import registrable_domain
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess

    timings: dict[str, float] = {}
    counts: Counter[str] = Counter()

    class LinkSpider(scrapy.Spider):
        name = "bench"

        def __init__(self, seeds: list[str], domains: list[str], **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.seeds = seeds
            self.allowed_domains = domains

        @classmethod
        def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> LinkSpider:
            spider = super().from_crawler(crawler, *args, **kwargs)
            crawler.signals.connect(spider.opened, signal=signals.spider_opened)
            return spider

        def opened(self) -> None:
            timings["opened"], timings["cpu_opened"] = time.perf_counter(), time.process_time()

        async def start(self) -> Any:
            # Not start_urls: those bypass the dupe filter, so every seed would be fetched
            # a second time when a page links to it; the other crawlers fetch a URL once.
            for url in self.seeds:
                yield scrapy.Request(url, callback=self.parse)

        def parse(self, response: Any) -> Any:
            counts["pages"] += 1
            source = response.url
            for a in response.css("a[href]"):
                url = response.urljoin(a.attrib["href"]).split("#", 1)[0]
                if not url.startswith(("http://", "https://")):
                    continue
                rel = a.attrib.get("rel", "")
                counts["links"] += 1
                yield {
                    "source": source,
                    "target": url,
                    "anchor": " ".join(" ".join(a.css("::text").getall()).split()),
                    "rel": rel,
                }
                if NOT_FOLLOW.isdisjoint(rel.lower().split()):
                    yield response.follow(url, callback=self.parse)
            timings["last_response"], timings["cpu_last"] = time.perf_counter(), time.process_time()

    settings: dict[str, Any] = {
        "ROBOTSTXT_OBEY": True,
        "CONCURRENT_REQUESTS": spec["concurrency"],
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_DELAY_JITTER": 0,  # RANDOMIZE_DOWNLOAD_DELAY's successor in Scrapy 2.19
        "AUTOTHROTTLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
        "USER_AGENT": "linkgraph-bench (+https://github.com/linkgraph/linkgraph)",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "TWISTED_DNS_RESOLVER": "_bench_pins.PinnedResolver",
        "BENCH_HOSTS_FILE": spec["hosts_file"],
        "FEEDS": {spec["feed"]: {"format": "jsonlines", "encoding": "utf-8"}},
    }
    if spec["scrapy_loop"] == "uvloop":
        settings["ASYNCIO_EVENT_LOOP"] = "uvloop.Loop"
    # Scrapy loads the resolver by dotted path; a registered module works under any runner
    # (this file may be __main__, or run by a profiler).
    pins = types.ModuleType("_bench_pins")
    pins.PinnedResolver = PinnedResolver  # type: ignore[attr-defined]
    sys.modules["_bench_pins"] = pins
    domains = sorted({registrable_domain(u.split("/")[2].rsplit(":", 1)[0]) for u in spec["seeds"]})
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(LinkSpider)
    process.crawl(crawler, seeds=spec["seeds"], domains=domains)
    process.start()
    end = timings.get("last_response", time.perf_counter())
    stats = crawler.stats.get_stats()
    return {
        "elapsed": end - timings.get("opened", end),
        "cpu": timings.get("cpu_last", 0.0) - timings.get("cpu_opened", 0.0),
        "elapsed_to_close": float(stats.get("elapsed_time_seconds", 0.0)),
        "pages": counts["pages"],
        "links": counts["links"],
        "items": stats.get("item_scraped_count", 0),
        "requests": stats.get("downloader/request_count", 0),
        "robots": stats.get("robotstxt/request_count", 0),
        "errors": stats.get("log_count/ERROR", 0),
        "loop": spec["scrapy_loop"],
    }


def child_bare(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncio
    from collections import deque

    import ada_url
    import aiohttp
    import uvloop
    from selectolax.lexbor import LexborHTMLParser

    from linkgraph.demo import DemoResolver

    hosts: dict[str, str] = spec["hosts"]
    concurrency: int = spec["concurrency"]

    def split(url: str) -> tuple[str, str]:
        parts = url.split("/", 3)
        return parts[2].rsplit(":", 1)[0], "/" + (parts[3] if len(parts) > 3 else "")

    async def crawl() -> Counter[str]:
        queues: dict[str, deque[str]] = {}
        scheduled: set[str] = set()  # hosts in `ready` or in a worker's hands
        ready: asyncio.Queue[str | None] = asyncio.Queue()
        seen: set[str] = set()
        counts: Counter[str] = Counter()
        active = 0

        def offer(url: str) -> None:
            if url in seen:
                return
            seen.add(url)
            host, path = split(url)
            if host not in hosts or path.startswith(DISALLOWED):
                return
            queues.setdefault(host, deque()).append(url)
            if host not in scheduled:
                scheduled.add(host)
                ready.put_nowait(host)

        connector = aiohttp.TCPConnector(
            resolver=DemoResolver(hosts), limit=concurrency, limit_per_host=0, use_dns_cache=False
        )
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                nonlocal active
                while (host := await ready.get()) is not None:
                    active += 1
                    url = queues[host].popleft()
                    try:
                        async with session.get(url, allow_redirects=False) as resp:
                            body = await resp.read()
                            status, ctype = resp.status, resp.headers.get("Content-Type", "")
                    except aiohttp.ClientError:
                        counts["errors"] += 1
                    else:
                        if status == 200 and "html" in ctype:
                            counts["pages"] += 1
                            tree = LexborHTMLParser(body.decode("utf-8", "replace"))
                            for node in tree.css("a[href]"):
                                attrs = node.attributes
                                try:
                                    target = ada_url.join_url(url, attrs.get("href") or "")
                                except ValueError:
                                    continue
                                if not target.startswith(("http://", "https://")):
                                    continue
                                counts["links"] += 1
                                rel = attrs.get("rel") or ""
                                if NOT_FOLLOW.isdisjoint(rel.lower().split()):
                                    offer(target.split("#", 1)[0])
                    active -= 1
                    if queues[host]:
                        ready.put_nowait(host)
                    else:
                        scheduled.discard(host)
                        if not scheduled and active == 0:
                            for _ in range(concurrency):
                                ready.put_nowait(None)

            for seed in spec["seeds"]:
                offer(seed)
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return counts

    start, cpu = time.perf_counter(), time.process_time()
    counts = uvloop.run(crawl())
    return {"elapsed": time.perf_counter() - start, "cpu": time.process_time() - cpu, **counts}
