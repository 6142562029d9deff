"""The link check (check mode) on a virtual clock: HEAD, GET where HEAD is refused, the
crawl's politeness, and an unreachable host reported with its network error."""

from __future__ import annotations

import pytest
from fakes import Answer, html, memory_writer, run_crawl
from linkgraph.storage.records import Link, Page

pytestmark = pytest.mark.timeout(60)

A, B = "http://a.test", "http://b.test"


async def test_link_targets_get_head_then_get_where_head_is_refused() -> None:
    writer = memory_writer()
    links = [Link(f"{A}/ok"), Link(f"{A}/nohead"), Link(f"{B}/down")]
    writer.add_page(Page(f"{A}/", 0, 1.0, status=200, links=links))
    await writer.flush()
    script = {
        f"{A}/ok": html(),
        f"{A}/nohead": [Answer(405), html()],
        f"{B}/robots.txt": Answer(error="connect", sent=False),
    }
    crawl = await run_crawl(script, seeds=[], writer=writer, check=True, robots_retries=0)
    log = [(r.method, r.url, r.start) for r in crawl.fetcher.requests("a.test")]
    assert log == [
        ("GET", f"{A}/robots.txt", 0.0),
        ("HEAD", f"{A}/ok", 1.0),
        ("HEAD", f"{A}/nohead", 2.0),
        ("GET", f"{A}/nohead", 3.0),  # RFC 9110 §9.3.2: HEAD refused, asked again with GET
    ]
    assert crawl.fetcher.urls("b.test") == [f"{B}/robots.txt"]
    checked = {url: (p.status, p.error, p.checked_only) for url, p in crawl.writer.pages.items()}
    assert checked[f"{A}/ok"] == (200, None, True)
    assert checked[f"{A}/nohead"] == (200, None, True)
    # A host that cannot be reached makes its links broken, with the reason why.
    assert checked[f"{B}/down"] == (None, "connect", True)
