"""Every politeness rule on a virtual clock: the real engine, a scripted fetcher
(``tests/fakes.py``) and the in-memory store, no socket and no real waiting.

Expected times are worked out by hand from the settings in each test and written out;
they are the fetcher's log of when each request started, in virtual seconds from 0.
Each test keeps its waits different from one another (delay 1, Crawl-delay 2.5, ...) so a
rule applied in the wrong place gives a different number.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from fakes import EPOCH, Answer, html, run_crawl, text

pytestmark = pytest.mark.timeout(60)

A = "http://a.test"


def seeds(n: int, base: str = A) -> list[str]:
    return [f"{base}/p/{i}" for i in range(n)]


def leaves(urls: list[str], **kwargs: float) -> dict[str, Answer]:
    return {u: html(**kwargs) for u in urls}


# -- the gap between requests, one connection per host ------------------------------------------


async def test_requests_to_a_host_start_one_delay_apart() -> None:
    urls = seeds(3)
    crawl = await run_crawl(leaves(urls), seeds=urls, delay=1.0)
    assert crawl.fetcher.urls("a.test") == [f"{A}/robots.txt", *urls]
    assert crawl.fetcher.starts("a.test") == [0.0, 1.0, 2.0, 3.0]


async def test_the_gap_runs_from_the_start_of_a_request_not_its_end() -> None:
    """Each answer takes 0.25 s: the next request still starts one delay after the last
    started, not one delay after it ended (that would be 1.25 apart)."""
    urls = seeds(3)
    script = {f"{A}/robots.txt": text("", 404, takes=0.25)} | leaves(urls, takes=0.25)
    crawl = await run_crawl(script, seeds=urls, delay=1.0)
    assert crawl.fetcher.starts("a.test") == [0.0, 1.0, 2.0, 3.0]


async def test_one_request_at_a_time_per_host_even_when_slower_than_the_delay() -> None:
    """Answers take 2.5 s, the delay is 1 s and ten workers are free: the next request
    waits for the previous answer, so each starts when the last one ended."""
    urls = seeds(3)
    script = {f"{A}/robots.txt": text("", 404, takes=2.5)} | leaves(urls, takes=2.5)
    crawl = await run_crawl(script, seeds=urls, delay=1.0, concurrency=10)
    log = crawl.fetcher.requests("a.test")
    assert [r.start for r in log] == [0.0, 2.5, 5.0, 7.5]
    assert [r.end for r in log] == [2.5, 5.0, 7.5, 10.0]


async def test_a_worker_never_waits_out_a_host_delay() -> None:
    """One worker; a.test has a Crawl-delay of 10 s; five other hosts are ready. The worker
    serves them during a.test's gap instead of sleeping beside it."""
    others = [f"http://h{i}.test/" for i in range(5)]
    script = {f"{A}/robots.txt": text("User-agent: *\nCrawl-delay: 10\n")}
    script |= leaves([f"{A}/", *others])
    crawl = await run_crawl(script, seeds=[f"{A}/", *others], concurrency=1)
    assert crawl.fetcher.starts("a.test") == [0.0, 10.0]
    other_starts = [r.start for r in crawl.fetcher.log if r.host != "a.test"]
    assert len(other_starts) == 10  # robots.txt and "/" of each
    # robots.txt of each at t=0, "/" one delay (1 s) later: all inside a.test's 10 s gap.
    assert sorted(other_starts) == [0.0] * 5 + [1.0] * 5


# -- connections per IP address -------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_ip", "starts"),
    [
        (1, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]),
        (2, [0.0, 0.0, 1.0, 1.0, 2.0, 2.0]),
        (3, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]),
    ],
)
async def test_hosts_on_one_address_share_its_connection_cap(
    per_ip: int, starts: list[float]
) -> None:
    """Three hosts on one address, every answer takes 1 s, delay 0.5 s: at most ``per_ip``
    requests to the address at once, robots.txt and "/" of each host."""
    hosts = ["http://x.test/", "http://y.test/", "http://z.test/"]
    script = {f"{h}robots.txt": text("", 404, takes=1.0) for h in hosts} | leaves(hosts, takes=1.0)
    ips = {h.split("/")[2]: ["198.51.100.7"] for h in hosts}
    crawl = await run_crawl(script, seeds=hosts, ips=ips, connections_per_ip=per_ip, delay=0.5)
    assert sorted(r.start for r in crawl.fetcher.log) == starts


# -- Crawl-delay ------------------------------------------------------------------------------


async def test_crawl_delay_is_honoured_from_the_robots_request_on() -> None:
    urls = seeds(3)
    script = {f"{A}/robots.txt": text("User-agent: *\nCrawl-delay: 2.5\n")} | leaves(urls)
    crawl = await run_crawl(script, seeds=urls, delay=1.0)
    assert crawl.fetcher.starts("a.test") == [0.0, 2.5, 5.0, 7.5]


async def test_a_crawl_delay_shorter_than_ours_does_not_shorten_the_gap() -> None:
    urls = seeds(2)
    script = {f"{A}/robots.txt": text("User-agent: *\nCrawl-delay: 0.5\n")} | leaves(urls)
    crawl = await run_crawl(script, seeds=urls, delay=2.0)
    assert crawl.fetcher.starts("a.test") == [0.0, 2.0, 4.0]


async def test_crawl_delay_above_the_cap_skips_the_host() -> None:
    urls = seeds(2)
    script = {f"{A}/robots.txt": text("User-agent: *\nCrawl-delay: 60\n")} | leaves(urls)
    crawl = await run_crawl(script, seeds=urls, max_crawl_delay=30)
    assert crawl.fetcher.urls() == [f"{A}/robots.txt"]
    assert [crawl.page(u).error for u in urls] == ["crawl-delay", "crawl-delay"]
    assert "Crawl-delay 60s is above the cap of 30s" in crawl.stats.host_notes["a.test"]
    assert "Crawl-delay 60s" in (crawl.writer.hosts["a.test"]["note"] or "")


# -- 429, 503, Retry-After and backoff ---------------------------------------------------------


def http_date(virtual: float) -> str:
    return format_datetime(datetime.fromtimestamp(EPOCH + virtual, UTC), usegmt=True)


@pytest.mark.parametrize(
    ("status", "retry_after", "second"),
    [
        (429, "5", 6.0),  # asked at t=1 to wait 5 s
        (503, "5", 6.0),
        (429, http_date(10.0), 10.0),  # asked at t=1 to come back at t=10
    ],
)
async def test_retry_after_is_honoured(status: int, retry_after: str, second: float) -> None:
    script = {f"{A}/": [text("slow down", status, **{"Retry-After": retry_after}), html()]}
    crawl = await run_crawl(script, seeds=[f"{A}/"], delay=1.0, backoff_max=60)
    assert crawl.fetcher.starts("a.test") == [0.0, 1.0, second]
    assert crawl.page(f"{A}/").status == 200
    assert crawl.stats.retries == 1


async def test_retry_after_above_backoff_max_skips_the_host_instead_of_coming_back_early() -> None:
    script = {f"{A}/": text("later", 503, **{"Retry-After": "3600"}), f"{A}/other": html()}
    crawl = await run_crawl(script, seeds=[f"{A}/", f"{A}/other"], backoff_max=60)
    assert crawl.fetcher.urls("a.test", robots=False) == [f"{A}/"]
    assert crawl.page(f"{A}/").status == 503
    assert crawl.page(f"{A}/other").error == "throttled"


async def test_backoff_is_exponential_without_retry_after() -> None:
    """backoff_base 2: waits of 2, 4 and 8 s after three 503s, never under the delay."""
    script = {f"{A}/": [text("busy", 503)] * 3 + [html()]}
    crawl = await run_crawl(script, seeds=[f"{A}/"], backoff_base=2.0, max_retries=3)
    assert crawl.fetcher.starts("a.test") == [0.0, 1.0, 3.0, 7.0, 15.0]
    assert crawl.page(f"{A}/").status == 200


async def test_backoff_is_capped_by_backoff_max_and_gives_up_after_max_retries() -> None:
    script = {f"{A}/": text("busy", 503)}
    crawl = await run_crawl(
        script, seeds=[f"{A}/"], backoff_base=2.0, backoff_max=5.0, max_retries=3
    )
    # Waits 2, 4, then 8 capped to 5: the first try and three retries, then the 503 is kept.
    assert crawl.fetcher.starts("a.test") == [0.0, 1.0, 3.0, 7.0, 12.0]
    assert crawl.page(f"{A}/").status == 503


# -- failures: parking and the host budget --------------------------------------------------


async def test_a_failing_host_is_parked_then_given_up() -> None:
    """Every page answers 500. After three failures in a row the host rests 10 s; after
    its second parking (max_parks 1) it is given up and the rest recorded as parked."""
    urls = seeds(10)
    script = {u: text("error", 500) for u in urls}
    crawl = await run_crawl(
        script, seeds=urls, park_after_failures=3, park_seconds=10.0, max_parks=1
    )
    assert crawl.fetcher.starts("a.test", robots=False) == [1.0, 2.0, 3.0, 13.0, 14.0, 15.0]
    assert [crawl.page(u).status for u in urls[:6]] == [500] * 6
    assert [crawl.page(u).error for u in urls[6:]] == ["parked"] * 4
    assert "gave up after repeated 500 answers" in crawl.stats.host_notes["a.test"]


async def test_a_connection_error_is_retried_after_the_delay_and_counts_toward_parking() -> None:
    """A refused connection (nothing sent) is retried like any request, one delay later;
    the third failure in a row parks the host for 10 s."""
    url = f"{A}/"
    script = {url: [Answer(error="connect", sent=False)] * 3 + [html()]}
    crawl = await run_crawl(
        script, seeds=[url], park_after_failures=3, park_seconds=10.0, max_retries=3
    )
    assert crawl.fetcher.starts("a.test") == [0.0, 1.0, 2.0, 3.0, 13.0]
    assert crawl.page(url).status == 200
    assert crawl.stats.retries == 3


async def test_a_host_is_given_up_after_host_max_failures_in_a_row() -> None:
    """host_max_failures 4 counts across a parking: 3 failures, the rest, a fourth."""
    urls = seeds(6)
    script = {u: text("error", 500) for u in urls}
    crawl = await run_crawl(
        script,
        seeds=urls,
        park_after_failures=3,
        park_seconds=10.0,
        max_parks=5,
        host_max_failures=4,
    )
    assert crawl.fetcher.starts("a.test", robots=False) == [1.0, 2.0, 3.0, 13.0]
    assert [crawl.page(u).error for u in urls[4:]] == ["host-budget"] * 2
    assert "host budget: 4 failed requests in a row" in crawl.stats.host_notes["a.test"]


async def test_a_host_past_its_time_budget_is_given_up() -> None:
    """Every answer takes 100 s, the budget is 250 s: robots.txt (100), /p/0 (200), /p/1
    (300, past 250); the other URLs are recorded, not requested. b.test spends 200 s."""
    slow = seeds(5)
    script = {f"{A}/robots.txt": text("", 404, takes=100.0)} | leaves(slow, takes=100.0)
    script |= {"http://b.test/robots.txt": text("", 404, takes=100.0)}
    script |= leaves(["http://b.test/"], takes=100.0)
    crawl = await run_crawl(
        script, seeds=[*slow, "http://b.test/"], delay=0.0, host_budget_seconds=250.0
    )
    assert crawl.fetcher.starts("a.test") == [0.0, 100.0, 200.0]
    assert [crawl.page(u).status for u in slow[:2]] == [200, 200]
    assert [crawl.page(u).error for u in slow[2:]] == ["host-budget"] * 3
    assert crawl.page("http://b.test/").status == 200
    assert "300s spent waiting on responses (budget 250s)" in crawl.stats.host_notes["a.test"]
    assert "b.test" not in crawl.stats.host_notes


# -- robots.txt: once per origin, first, with bounded retries -------------------------------------


async def test_robots_txt_comes_first_and_once_per_origin() -> None:
    """Two origins on one host (http and https) each have their own robots.txt (RFC 9309
    §2.3), each fetched once however many URLs are queued."""
    http, https = seeds(4), seeds(2, "https://a.test")
    crawl = await run_crawl(leaves(http + https), seeds=http + https)
    urls = crawl.fetcher.urls("a.test")
    assert urls.count(f"{A}/robots.txt") == 1
    assert urls.count("https://a.test/robots.txt") == 1
    assert urls[0].endswith("/robots.txt")
    assert urls.index("https://a.test/robots.txt") < urls.index(https[0])
    assert crawl.stats.robots_fetches == 2


async def test_unreachable_robots_txt_is_retried_then_the_host_is_skipped() -> None:
    """A 503 robots.txt disallows everything (§2.3.1.4); it is asked again every
    robots_retry_seconds (7), robots_retries (2) times, then the host is given up."""
    urls = seeds(2)
    script = {f"{A}/robots.txt": text("down", 503)} | leaves(urls)
    crawl = await run_crawl(script, seeds=urls, robots_retries=2, robots_retry_seconds=7.0)
    assert crawl.fetcher.urls() == [f"{A}/robots.txt"] * 3
    assert crawl.fetcher.starts() == [0.0, 7.0, 14.0]
    assert [crawl.page(u).error for u in urls] == ["robots-unavailable"] * 2


async def test_robots_txt_that_comes_back_opens_the_host() -> None:
    urls = seeds(2)
    script = {f"{A}/robots.txt": [text("down", 503), text("User-agent: *\nDisallow: /p/1\n")]}
    crawl = await run_crawl(script | leaves(urls), seeds=urls, robots_retry_seconds=7.0)
    assert crawl.fetcher.urls() == [f"{A}/robots.txt", f"{A}/robots.txt", urls[0]]
    assert crawl.fetcher.starts() == [0.0, 7.0, 8.0]
    assert crawl.page(urls[0]).status == 200
    assert crawl.page(urls[1]).error == "robots"


async def test_a_host_waiting_for_its_address_and_woken_by_new_links_is_handed_out_once() -> None:
    """Hosts waiting for a slot on their address are woken again and again by links found
    on the others' pages: each is still handed to one worker at a time, its gap kept."""
    names = ["p", "q", "r", "s", "t", "u"]
    hosts = [f"http://{n}.test/" for n in names]
    script: dict[str, Answer] = {}
    for i, host in enumerate(hosts):
        others = [f"{h}page{i}" for h in hosts if h != host]
        script[f"{host}robots.txt"] = text("User-agent: *\n", takes=0.3)
        script[host] = html(*others, takes=0.7)
        for j in range(len(hosts)):
            script[f"{host}page{j}"] = html(*others, takes=0.2 + 0.1 * j)
    ips = {f"{n}.test": ["198.51.100.7"] for n in names}
    crawl = await run_crawl(script, seeds=hosts, ips=ips, connections_per_ip=2, delay=0.5)
    log = crawl.fetcher.log
    assert len(log) == 6 * 7  # robots.txt, "/" and a page linked from each other host
    for name in names:
        mine = sorted((r for r in log if r.host == f"{name}.test"), key=lambda r: r.start)
        assert all(b.start - a.start >= 0.5 for a, b in itertools.pairwise(mine))
        assert all(b.start >= a.end for a, b in itertools.pairwise(mine))
    edges = sorted([(r.start, 1) for r in log] + [(r.end, -1) for r in log])
    running = [sum(step for _, step in edges[: i + 1]) for i in range(len(edges))]
    assert max(running) == 2
