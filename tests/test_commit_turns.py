"""A crawl's batch is written without holding the event loop for the whole batch: the
loop takes turns (responses read, pages sent to the parser) every few dozen pages."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import ClassVar

import pytest
from linkgraph.storage.intern import YIELD_EVERY
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

pytestmark = pytest.mark.timeout(60)

PAGES = 8 * YIELD_EVERY


class Watched(list):  # a page's links, noting the loop's turn each time they are read
    turns: ClassVar[list[int]] = []
    turn = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        Watched.turns.append(Watched.turn)
        return super().__iter__()


async def test_a_batch_of_pages_is_written_in_turns_of_the_event_loop(tmp_path: Path) -> None:
    async def ticking() -> None:
        while True:
            await asyncio.sleep(0)
            Watched.turn += 1

    Watched.turns = []
    async with await StoreWriter.open(tmp_path / "s.db", batch_pages=PAGES) as writer:
        for i in range(PAGES):
            url = f"https://site{i % 7}.example/{i}"
            page = Page(url, 1, 1_700_000_000.0, status=200, final_url=url)
            page.links = Watched([Link(f"https://t{i % 11}.example/", "a")])
            writer.add_page(page)
        ticker = asyncio.ensure_future(ticking())
        try:
            await writer.flush()
        finally:
            ticker.cancel()
        assert writer.links == PAGES
    # Each pass over the batch's pages (URLs and anchors, rels, link rows and counts)
    # reads every page's links, and lets the loop turn every YIELD_EVERY pages: no more
    # than two reads a page go by without a turn, where a pass in one piece is PAGES.
    longest = max(len(list(run)) for _, run in itertools.groupby(Watched.turns))
    assert len(Watched.turns) >= 3 * PAGES
    assert longest <= 2 * YIELD_EVERY
