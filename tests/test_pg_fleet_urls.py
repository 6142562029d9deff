"""``--max-urls-per-host`` in a fleet worker counts what one SQLite process counts.

A worker counts each URL it queues for a host; when it later claims that host, the
store's queue for it holds those same entries. Added again, they made one worker refuse
URLs that one SQLite process queues.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from crawl_support import crawl, site
from fleet_support import pages

from linkgraph.demo import DemoWeb
from linkgraph.demo.model import site_url

pytestmark = pytest.mark.timeout(300)

BIG = "big.test"


def test_one_worker_queues_what_one_sqlite_process_queues(pg_url: str, tmp_path: Path) -> None:
    # hub.test links to 20 pages of big.test, each of which links to the same 100 more:
    # under a cap of 30, the 20 and the first 10 of the 100 are queued, the rest refused.
    hub = site("hub.test", {"/": [site_url(BIG, f"/p{i}") for i in range(20)]})
    big = site(
        BIG,
        {
            **{f"/p{i}": [f"/r{j}" for j in range(100)] for i in range(20)},
            **{f"/r{j}": [] for j in range(100)},
        },
        seed=False,
    )

    async def both() -> tuple[dict, dict]:
        async with DemoWeb([hub, big]) as web:
            _, lite = await crawl(web, tmp_path, max_urls_per_host=30, scope="any")
            await crawl(web, tmp_path, db=pg_url, max_urls_per_host=30, scope="any")
        return pages(lite), pages(pg_url)

    lite, pg = asyncio.run(both())
    fetched = {url.split("/", 3)[3] for url, (status, _) in pg.items() if BIG in url and status}
    assert fetched == {f"p{i}" for i in range(20)} | {f"r{j}" for j in range(10)}
    assert pg == lite
