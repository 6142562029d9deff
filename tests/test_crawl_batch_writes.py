"""How a crawl's batch is written: without holding the event loop for the whole batch (the
loop takes turns every few dozen pages), its page texts in the order the full-text index
takes cheaply, and its link rows in the links table's order."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path
from typing import ClassVar

import pytest
from linkgraph.storage.edgerows import rows_of_keys
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


async def test_a_batch_of_page_texts_goes_into_the_full_text_index_in_rowid_order(
    tmp_path: Path,
) -> None:
    # FTS5 writes out the terms it holds each time a row comes with a rowid below the
    # last one (a segment each time, merged later): out of order, a crawl's batch of
    # texts cost the index three times the CPU.
    statements: list[str] = []
    async with await StoreWriter.open(tmp_path / "s.db") as writer:
        urls = [f"https://site.example/{name}" for name in "abc"]
        for url, links in zip(urls, [[Link(urls[2])], [], []], strict=True):
            page = Page(url, 1, 1_700_000_000.0, status=200, final_url=url, text=f"text of {url}")
            page.links = links
            writer.add_page(page)  # a, then b, then c: c got its id before b (a link of a)
        await writer._conn.set_trace_callback(statements.append)
        await writer.flush()
    (insert,) = [s for s in statements if s.startswith("INSERT INTO page_text")]
    rowids = [int(n) for n in re.findall(r"\((\d+),'text of", insert)]
    assert rowids == [1, 2, 3]  # a, c, b


def test_link_keys_become_rows_in_order_of_target_then_source() -> None:
    # key (target, source, kind, anchor, placement, rel, flags) -> first seen
    first_seen = {
        (9, 2, 0, 5, 1, 0, 16): 100,
        (3, 7, 1, 0, 0, 2, 0): 200,
        (3, 1, 0, 4, 0, 0, 1): 300,
    }
    assert rows_of_keys(first_seen).tolist() == [
        [3, 1, 0, 4, 0, 0, 1, 300],
        [3, 7, 1, 0, 0, 2, 0, 200],
        [9, 2, 0, 5, 1, 0, 16, 100],
    ]
    assert rows_of_keys({}).shape == (0, 8)
