"""What the tests of the pre-aggregates share (``test_hub_inlinks.py``,
``test_hub_anchors.py``, ``test_link_sources.py``): the target T, three days, a
hand-built crawl written through the crawl writer, and hubs chosen at a threshold the
tests set."""

from __future__ import annotations

from pathlib import Path

from linkgraph.storage import inlinks, schema
from linkgraph.storage.records import Page
from linkgraph.storage.writer import StoreWriter

__all__ = ["T1", "T2", "T3", "T", "crawl", "make_hubs"]

T = "http://www.t.test/"
T1 = 1_700_000_000
T2 = T1 + 86_400
T3 = T2 + 86_400


async def crawl(db: Path, pages: list[Page]) -> None:
    """Write ``pages`` as one crawl would (a page without a final URL answered itself)."""
    async with await StoreWriter.open(db) as writer:
        for page in pages:
            page.final_url = page.final_url or page.url
            writer.add_page(page)


def make_hubs(db: Path, min_links: int = 1) -> int:
    """Choose the hubs of ``db`` again at ``min_links`` links; how many there are."""
    conn = schema.connect(db)
    try:
        return inlinks.refresh(conn, min_links=min_links)
    finally:
        conn.close()
