"""Trap guards in a live crawl: endless URL spaces end under the default settings.

The guards themselves are proven on a virtual clock in ``test_trap_rules.py``; this is
the live check, through the store and ``linkgraph stats``.

Each test serves a trap on loopback, crawls it with the default guards (only the timings
of ``FAST``), and checks the requests the server saw and the reasons the store recorded
against counts worked out by hand; then lifts the guard and shows the crawl goes further.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from crawl_support import crawl, link_page
from linkgraph.storage import queries

from linkgraph import cli
from linkgraph.demo import CalendarTrap, DemoSite, DemoWeb

pytestmark = pytest.mark.timeout(90)


def calendar_web() -> DemoWeb:
    name = "blog.cal.test"
    home = link_page(name, "/", ["/calendar/2024-01-01"])
    return DemoWeb([DemoSite(name, [home], fallback=CalendarTrap(name))])


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
