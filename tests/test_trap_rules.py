"""Trap guards on a virtual clock: endless URL spaces end under the default guards, and
lifting a guard lets the crawl go further. The real engine over ``tests/fakes.py``;
expected requests are worked out by hand from the guard settings."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fakes import Answer, html, run_crawl

pytestmark = pytest.mark.timeout(60)

CAL = "http://blog.cal.test"


def calendar(url: str) -> Answer | None:
    """/calendar/DAY links the next day, for ever."""
    prefix = f"{CAL}/calendar/"
    if not url.startswith(prefix):
        return None
    day = date.fromisoformat(url.removeprefix(prefix))
    return html(f"/calendar/{day + timedelta(days=1)}")


CALENDAR = {f"{CAL}/": html("/calendar/2024-01-01")}


def paths(crawl: object, host: str, base: str) -> list[str]:
    urls = crawl.fetcher.urls(host, robots=False)  # type: ignore[attr-defined]
    return [u.removeprefix(base) for u in urls]


async def test_the_calendar_trap_ends_at_the_default_depth() -> None:
    crawl = await run_crawl(CALENDAR, seeds=[f"{CAL}/"], fallback=calendar)
    # The home page is depth 0 and day k is depth k: days 1..20 are fetched, and day 21,
    # linked from day 20, is the one URL refused.
    assert paths(crawl, "blog.cal.test", CAL) == ["/"] + [
        f"/calendar/2024-01-{d:02d}" for d in range(1, 21)
    ]
    assert crawl.not_fetched() == {"trap-depth": 1}
    assert crawl.page(f"{CAL}/calendar/2024-01-21").depth == 21
    assert crawl.stats.skipped == 1 and crawl.stats.queued == 0


async def test_lifting_the_depth_guard_fetches_deeper() -> None:
    # "none" lifts the guard; max_pages is what ends this crawl instead.
    crawl = await run_crawl(
        CALENDAR, seeds=[f"{CAL}/"], fallback=calendar, max_depth=None, max_pages=30
    )
    requested = paths(crawl, "blog.cal.test", CAL)
    assert len(requested) == 30
    assert requested[-1] == "/calendar/2024-01-29"
    # Continuing the crawl keeps the guard lifted rather than bringing the default back.
    assert crawl.writer.settings is not None and crawl.writer.settings["max_depth"] is None


SID = "http://www.sid.test"


def sessions(url: str) -> Answer | None:
    """Every page of /s links /s again with a new session id."""
    if not url.startswith(f"{SID}/s?sid="):
        return None
    return html(f"/s?sid={int(url.rsplit('=', 1)[1]) + 1}")


async def test_session_ids_stop_at_the_query_guard() -> None:
    script = {f"{SID}/": html("/s?sid=1")}
    guarded = await run_crawl(script, seeds=[f"{SID}/"], fallback=sessions, max_queries_per_path=5)
    lifted = await run_crawl(
        script, seeds=[f"{SID}/"], fallback=sessions, max_queries_per_path=None
    )
    # Five distinct query strings on /s are queued; the sixth is refused.
    assert paths(guarded, "www.sid.test", SID) == ["/"] + [f"/s?sid={i}" for i in range(1, 6)]
    assert guarded.not_fetched() == {"trap-query": 1}
    # Lifted, the session ids run on until the depth guard: sid=k is depth k.
    assert paths(lifted, "www.sid.test", SID) == ["/"] + [f"/s?sid={i}" for i in range(1, 21)]
    assert lifted.not_fetched() == {"trap-depth": 1}


LOOP = "http://www.loop.test"


def loop(url: str) -> Answer | None:
    """A relative link that grows the path: /loop/ links x/, /loop/x/ links x/, ..."""
    return html("x/") if url.startswith(f"{LOOP}/loop/") else None


async def test_repeating_segments_and_long_queries_are_refused() -> None:
    params = "&".join(f"p{i}=1" for i in range(21))  # one more than the default 20
    script = {f"{LOOP}/": html("/loop/", f"/search?{params}", "/search?q=1")}
    guarded = await run_crawl(script, seeds=[f"{LOOP}/"], fallback=loop)
    lifted = await run_crawl(
        script, seeds=[f"{LOOP}/"], fallback=loop, max_segment_repeats=4, max_query_params=None
    )
    requested = paths(guarded, "www.loop.test", LOOP)
    # x may appear twice; /loop/x/x/x/ is the one refused. /search?q=1 is fetched (a 404).
    assert sorted(requested) == ["/", "/loop/", "/loop/x/", "/loop/x/x/", "/search?q=1"]
    assert guarded.not_fetched() == {"trap-repeat": 1, "trap-query": 1}
    lifted_paths = paths(lifted, "www.loop.test", LOOP)
    assert "/loop/x/x/x/x/" in lifted_paths and len(lifted_paths) == len(requested) + 3
    assert lifted.not_fetched() == {"trap-repeat": 1}


async def test_urls_past_the_per_host_cap_are_recorded() -> None:
    many = "http://www.many.test"
    script = {f"{many}/": html(*(f"/p/{i}" for i in range(5)))}
    script |= {f"{many}/p/{i}": html() for i in range(5)}
    crawl = await run_crawl(script, seeds=[f"{many}/"], max_urls_per_host=3)
    # The seed and the first two links fill the cap of three; three links are left over.
    assert paths(crawl, "www.many.test", many) == ["/", "/p/0", "/p/1"]
    assert crawl.not_fetched() == {"host-url-cap": 3}
