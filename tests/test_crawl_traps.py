"""Trap guards in a live crawl: endless URL spaces end under the default settings.

Each test serves a trap on loopback, crawls it with the default guards (only the timings
of ``FAST``), and checks the requests the server saw and the reasons the store recorded
against counts worked out by hand; then lifts the guard and shows the crawl goes further.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crawl_support import crawl, link_page, page_hits, stored_pages
from linkgraph.storage import queries

from linkgraph import api, cli
from linkgraph.demo import CalendarTrap, DemoPage, DemoSite, DemoWeb

pytestmark = pytest.mark.timeout(90)


def calendar_web() -> DemoWeb:
    name = "blog.cal.test"
    home = link_page(name, "/", ["/calendar/2024-01-01"])
    return DemoWeb([DemoSite(name, [home], fallback=CalendarTrap(name))])


def not_fetched(db: Path) -> dict[str, int]:
    with queries.reader(db) as conn:
        return queries.stats(conn)["pages"]["not_fetched"]


async def test_the_calendar_trap_ends_at_the_default_depth(tmp_path: Path) -> None:
    async with calendar_web() as web:
        stats, db = await crawl(web, tmp_path)
        requested = [h.path for h in page_hits(web)]
    # The home page is depth 0 and day k is depth k: days 1..20 are fetched, and day 21,
    # linked from day 20, is the one URL refused.
    assert requested == ["/"] + [f"/calendar/2024-01-{d:02d}" for d in range(1, 21)]
    assert not_fetched(db) == {"trap-depth": 1}
    assert stored_pages(db)[web.url("blog.cal.test", "/calendar/2024-01-21")].depth == 21
    assert stats.skipped == 1 and stats.queued == 0


async def test_lifting_the_depth_guard_fetches_deeper(tmp_path: Path) -> None:
    async with calendar_web() as web:
        # "none" lifts the guard; max_pages (here) is what ends this crawl instead.
        _, db = await crawl(web, tmp_path, max_depth=None, max_pages=30)
        requested = [h.path for h in page_hits(web)]
    assert len(requested) == 30
    assert requested[-1] == "/calendar/2024-01-29"
    # Continuing the crawl keeps the guard lifted rather than bringing the default back.
    stored = api.stored_settings(db)
    assert stored is not None and stored.max_depth is None


def session_site(name: str) -> DemoSite:
    """Every page of /s links /s again with a new session id, for ever."""

    def session(path: str) -> DemoPage | None:
        if not path.startswith("/s?sid="):
            return None
        sid = int(path.removeprefix("/s?sid="))
        return link_page(name, path, [f"/s?sid={sid + 1}"])

    home = link_page(name, "/", ["/s?sid=1"])
    return DemoSite(name, [home], fallback=session)


async def test_session_ids_stop_at_the_query_guard(tmp_path: Path) -> None:
    name = "www.sid.test"
    async with DemoWeb([session_site(name)]) as web:
        _, db = await crawl(web, tmp_path, max_queries_per_path=5)
        guarded = [h.path for h in page_hits(web)]
        web.reset()
        _, lifted_db = await crawl(web, tmp_path, db="lifted.db", max_queries_per_path=None)
        lifted = [h.path for h in page_hits(web)]
    # Five distinct query strings on /s are queued; the sixth is refused.
    assert guarded == ["/"] + [f"/s?sid={i}" for i in range(1, 6)]
    assert not_fetched(db) == {"trap-query": 1}
    # Lifted, the session ids run on until the depth guard: sid=k is depth k.
    assert lifted == ["/"] + [f"/s?sid={i}" for i in range(1, 21)]
    assert not_fetched(lifted_db) == {"trap-depth": 1}


def loop_site(name: str) -> DemoSite:
    """A relative link that grows the path: /loop/ links x/, /loop/x/ links x/, ..."""

    def loop(path: str) -> DemoPage | None:
        return link_page(name, path, ["x/"]) if path.startswith("/loop/") else None

    params = "&".join(f"p{i}=1" for i in range(21))  # one more than the default 20
    home = link_page(name, "/", ["/loop/", f"/search?{params}", "/search?q=1"])
    return DemoSite(name, [home], fallback=loop)


async def test_repeating_segments_and_long_queries_are_refused(tmp_path: Path) -> None:
    name = "www.loop.test"
    async with DemoWeb([loop_site(name)]) as web:
        _, db = await crawl(web, tmp_path)
        guarded = [h.path for h in page_hits(web)]
        web.reset()
        _, lifted_db = await crawl(
            web, tmp_path, db="lifted.db", max_segment_repeats=4, max_query_params=None
        )
        lifted = [h.path for h in page_hits(web)]
    # x may appear twice; /loop/x/x/x/ is the one refused. /search?q=1 is fetched (a 404).
    assert sorted(guarded) == ["/", "/loop/", "/loop/x/", "/loop/x/x/", "/search?q=1"]
    assert not_fetched(db) == {"trap-repeat": 1, "trap-query": 1}
    assert "/loop/x/x/x/x/" in lifted and len(lifted) == len(guarded) + 3
    assert not_fetched(lifted_db) == {"trap-repeat": 1}


async def test_urls_past_the_per_host_cap_are_recorded(tmp_path: Path) -> None:
    name = "www.many.test"
    pages = {"/": [f"/p/{i}" for i in range(5)], **{f"/p/{i}": [] for i in range(5)}}
    home, *rest = (link_page(name, path, targets) for path, targets in pages.items())
    async with DemoWeb([DemoSite(name, [home, *rest])]) as web:
        _, db = await crawl(web, tmp_path, max_urls_per_host=3)
        requested = [h.path for h in page_hits(web)]
    # The seed and the first two links fill the cap of three; three links are left over.
    assert requested == ["/", "/p/0", "/p/1"]
    assert not_fetched(db) == {"host-url-cap": 3}


async def test_stats_names_the_guards_the_crawl_ran_with(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with calendar_web() as web:
        _, db = await crawl(web, tmp_path, max_urls_per_host=None, host_max_failures=4)
    with queries.reader(db) as conn:
        guards = queries.stats(conn)["guards"]
    assert guards == {
        "max_depth": 20,
        "max_urls_per_host": None,
        "max_segment_repeats": 2,
        "max_queries_per_path": 1000,
        "max_query_params": 20,
        "host_budget_seconds": 3600.0,
        "host_max_failures": 4,
    }
    assert cli.main(["stats", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "trap-depth" in out
    assert "guards: max_depth 20, max_urls_per_host none," in out
    assert "host_max_failures 4" in out
