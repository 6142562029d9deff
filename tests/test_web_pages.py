"""The pages of ``linkgraph serve`` read a page at a time from the store: page k of a list
sorted by any column, under any filter, is slice k of the whole list (the query function
with ``limit=None``) sorted by that column; the overview's numbers and charts are those
of every record. On the demo web crawled twice (new and lost links), and on an imported
store full of ties (no scores, one import time, repeated anchors), with and without the
rows counted ahead for hubs."""

from __future__ import annotations

import asyncio
import csv
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hub_support import make_hubs
from linkgraph.storage.identity import registrable_domain
from linkgraph.storage.interface import LinkFilter, PageSpec

import linkgraph
from linkgraph.demo import TARGET
from linkgraph.web.overview import Authority, overview

PER_PAGE = 4
FILTERS = {
    "default": LinkFilter(),
    "follow only": LinkFilter(follow_only=True),
    "internal": LinkFilter(include_internal=True),
    "lost": LinkFilter(include_lost=True),
    "placement": LinkFilter(placement="content"),
}
# (listing, the store's method for the whole list, its page method, the record's columns)
LISTINGS = {
    "backlinks": (
        "backlinks",
        "backlinks_page",
        (
            "source",
            "target",
            "anchor",
            "rel",
            "follow",
            "placement",
            "first_seen",
            "last_seen",
            "source_authority",
            "source_domain_authority",
        ),
    ),
    "referring-domains": (
        "referring_domains",
        "referring_domains_page",
        (
            "domain",
            "backlinks",
            "follow_backlinks",
            "first_seen",
            "last_seen",
            "authority",
            "ips",
            "subnets",
        ),
    ),
    "anchors": (
        "anchors",
        "anchors_page",
        ("anchor", "backlinks", "follow_backlinks", "referring_domains", "image"),
    ),
}
LOST = ("lost_at", "lost_reason")


def import_links(db: Path, source: Path) -> None:
    """linkgraph.import_links in a thread of its own: it runs an event loop, and this
    thread may hold a running one (Playwright's sync API, in the browser tests)."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(linkgraph.import_links, db, source).result(timeout=120)


def reference_sort(records: list[dict[str, Any]], column: str, descending: bool) -> list[Any]:
    """What a user expects of a click on a column: numbers by value, lists by length,
    text regardless of case; empty cells at the bottom either way; ties as they were."""

    def empty(r: dict[str, Any]) -> bool:
        return r[column] is None or r[column] == "" or r[column] == []

    def key(r: dict[str, Any]) -> Any:
        v = r[column]
        return len(v) if isinstance(v, list) else v.lower() if isinstance(v, str) else v

    full = [r for r in records if not empty(r)]
    full.sort(key=key, reverse=descending)
    return full + [r for r in records if empty(r)]


def whole(store: Any, method: str, target: str, where: LinkFilter) -> list[dict[str, Any]]:
    extra = {"sort": "authority"} if method == "backlinks" else {}
    return getattr(store, method)(target, where, mode=None, limit=None, **extra)  # type: ignore[no-any-return]


def pages_of(
    store: Any, method: str, target: str, where: LinkFilter, order: str, descending: bool
) -> tuple[list[list[dict[str, Any]]], set[int]]:
    """Every page of the list, and the totals each page answered with."""
    extra = {"sort": "authority"} if method == "backlinks_page" else {}
    pages, totals, offset = [], set(), 0
    while True:
        spec = PageSpec(order=order, descending=descending, offset=offset, limit=PER_PAGE)
        rows, total = getattr(store, method)(target, where, mode=None, page=spec, **extra)
        totals.add(total)
        if not rows:
            return pages, totals
        pages.append(rows)
        offset += PER_PAGE


def check_every_page(db: Path, target: str) -> int:
    """Compare every page of every listing, column, direction and filter; how many lists
    were compared (so a test can tell that there was something to compare)."""
    compared = 0
    with linkgraph.open_store(db) as store:
        for listing, (method, page_method, columns) in LISTINGS.items():
            for name, where in FILTERS.items():
                records = whole(store, method, target, where)
                for column in ("", *columns, *(LOST if where.include_lost else ())):
                    for descending in (True, False):
                        expected = (
                            reference_sort(records, column, descending) if column else records
                        )
                        got, totals = pages_of(
                            store, page_method, target, where, column, descending
                        )
                        where_ = (listing, name, column, descending)
                        assert totals == {len(records)}, where_
                        assert [len(p) for p in got[:-1]] == [PER_PAGE] * (len(got) - 1), where_
                        assert [r for p in got for r in p] == expected, where_
                        compared += bool(records)
    return compared


@pytest.fixture(scope="module")
def ties(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An imported store (no scores, every link seen at the same second) whose lists tie
    on every column: the same anchors in several cases, pages with several links to one
    URL, internal links, an empty anchor, rel values of one and two words."""
    tmp = tmp_path_factory.mktemp("ties")
    source = tmp / "links.csv"
    anchors = ["Acme", "acme", "ACME", "", "Éclair", "éclair", "shoes", "Shoes"]
    rels = ["", "nofollow", "nofollow ugc", "sponsored", ""]
    with source.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["source", "target", "anchor", "rel"])
        for i in range(18):
            site = f"http://{'ab'[i % 2]}{i % 5}.site{i % 3}.test/p{i}"
            for j in range(1 + i % 3):
                target = "https://www.acme.test/" if j != 1 else "https://www.acme.test/shoes"
                writer.writerow([site, target, anchors[(i + j) % 8], rels[(i * j) % 5]])
        writer.writerow(["https://shop.acme.test/", "https://www.acme.test/", "Home", ""])
    db = tmp / "ties.db"
    import_links(db, source)
    return db


@pytest.fixture(scope="module")
def ties_hubs(ties: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same store with every linked URL a hub: its default lists come from the rows
    counted ahead."""
    db = tmp_path_factory.mktemp("hubs") / "hubs.db"
    shutil.copy(ties, db)
    assert make_hubs(db, min_links=1) > 0
    return db


@pytest.mark.parametrize("target", ["acme.test", "https://www.acme.test/"])
def test_every_page_is_its_slice_of_the_sorted_list_on_a_store_of_ties(
    ties: Path, target: str
) -> None:
    assert check_every_page(ties, target) > 0


@pytest.mark.parametrize("target", ["acme.test", "https://www.acme.test/"])
def test_every_page_is_its_slice_of_the_sorted_list_from_the_hub_rows(
    ties_hubs: Path, target: str
) -> None:
    assert check_every_page(ties_hubs, target) > 0


@pytest.fixture(scope="module")
def demo(audit: Any) -> Iterator[Path]:
    yield audit.gen2


def demo_target(audit: Any, which: str) -> str:
    """The demo's target site as a domain, a host or its home page's URL."""
    return {
        "domain": registrable_domain(TARGET),
        "host": TARGET,
        "url": f"http://{TARGET}:{audit.port}/",
    }[which]


@pytest.mark.parametrize("which", ["domain", "url"])
def test_every_page_is_its_slice_of_the_sorted_list_on_the_demo_store(
    demo: Path, audit: Any, which: str
) -> None:
    assert check_every_page(demo, demo_target(audit, which)) > 0


@pytest.fixture(scope="module")
def demo_hubs(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store with every linked URL a hub (linking hosts with addresses)."""
    db = tmp_path_factory.mktemp("demohubs") / "hubs.db"
    shutil.copy(demo, db)
    assert make_hubs(db, min_links=1) > 0
    return db


@pytest.mark.parametrize("which", ["domain", "url"])
def test_every_page_is_its_slice_of_the_sorted_list_from_the_demo_hub_rows(
    demo_hubs: Path, audit: Any, which: str
) -> None:
    assert check_every_page(demo_hubs, demo_target(audit, which)) > 0


def test_a_page_of_referring_domains_follows_another_process_writing_the_store(
    ties_hubs: Path, tmp_path: Path
) -> None:
    db = tmp_path / "hubs.db"
    shutil.copy(ties_hubs, db)
    spec = PageSpec(limit=100)
    with linkgraph.open_store(db) as store:
        before, _ = store.referring_domains_page(
            "https://www.acme.test/", LinkFilter(), mode=None, page=spec
        )
        source = tmp_path / "more.csv"
        source.write_text("source,target\nhttp://new.later.test/p,https://www.acme.test/\n")
        import_links(db, source)
        after, total = store.referring_domains_page(
            "https://www.acme.test/", LinkFilter(), mode=None, page=spec
        )
    assert "later.test" not in {r["domain"] for r in before}
    assert "later.test" in {r["domain"] for r in after}
    assert total == len(before) + 1


class RecordsOnly:
    """A store that answers only the whole lists (as a PostgreSQL store does today)."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        if name in ("target_overview", "authority_of") or name.endswith("_page"):
            raise AttributeError(name)
        return getattr(self._store, name)


@pytest.mark.parametrize("which, mode", [("domain", ""), ("url", ""), ("host", "host")])
def test_the_overview_counts_what_every_record_says(
    demo: Path, audit: Any, which: str, mode: str
) -> None:
    target = demo_target(audit, which)
    with linkgraph.open_store(demo) as store:
        counted = overview(store, Authority(store), target, mode)
        plain = RecordsOnly(store)
        from_records = overview(plain, Authority(plain), target, mode)
    assert counted["numbers"]["backlinks"] > 0
    assert counted["numbers"] == from_records["numbers"]
    assert counted["top_domains"] == from_records["top_domains"]
    assert counted["authority"] == from_records["authority"]
    assert counted["charts"] == from_records["charts"]
    # The store was crawled twice: the changes chart has new and lost links to compare.
    kinds = {v["what"] for v in counted["charts"]["changes"][0]["data"]["values"]}
    assert "new" in kinds and any(k.startswith("lost") for k in kinds)


def test_the_anchor_profile_normalizes_the_profile_once_not_per_anchor(
    ties: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph.graph import anchors

    from linkgraph.audit import anchor_profile

    built = []
    post_init = anchors.AnchorProfile.__post_init__

    def counted(self: Any) -> None:
        built.append(self)
        post_init(self)

    monkeypatch.setattr(anchors.AnchorProfile, "__post_init__", counted)
    with linkgraph.open_store(ties) as store:
        report = anchor_profile(store, "acme.test")
    assert len(report["anchors"]) > 3
    assert len(built) == 1


def table_of(html: str) -> str:
    """The list's table and its count line: what a user reads of a list page."""
    start = html.index('<table class="data" id="records">')
    count = re.search(r"<strong>[\d,]+</strong> records[^<]*", html)
    assert count is not None
    return count.group(0) + html[start : html.index("</table>", start)]


@pytest.mark.parametrize(
    "query",
    [
        "/backlinks?target=acme.test&order=anchor&dir=asc",
        "/backlinks?target=acme.test&order=rel&page=9",
        "/referring-domains?target=acme.test&order=backlinks&dir=asc",
        "/referring-domains?target=acme.test&include_internal=1&order=domain",
        "/anchors?target=https://www.acme.test/&order=anchor",
        "/anchors?target=acme.test&follow_only=1",
        # Past SQLite's largest integer: the last page, as a whole list shows it.
        "/anchors?target=acme.test&page=99999999999999999999",
        "/backlinks?target=acme.test&page=9223372036854775807",
    ],
)
def test_a_list_page_from_the_store_shows_what_the_whole_list_shows(
    ties_hubs: Path, query: str
) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from linkgraph.web import make_app

    async def both() -> list[str]:
        shown = []
        with linkgraph.open_store(ties_hubs) as store:
            for served in (store, RecordsOnly(store)):
                async with TestClient(TestServer(make_app(served, ties_hubs))) as client:
                    response = await client.get(query)
                    assert response.status == 200
                    shown.append(table_of(await response.text()))
        return shown

    # A loop of its own in a thread of its own: the worker's thread may hold a running
    # one (Playwright's sync API keeps one running for the browser tests' session).
    with ThreadPoolExecutor(1) as pool:
        shown = pool.submit(asyncio.run, both()).result(timeout=120)
    assert "<td" in shown[0]
    assert shown[0] == shown[1]


def test_the_domain_index_is_read_for_hub_targets_only(
    ties: Path, ties_hubs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph.storage import domainindex

    loads: list[Path] = []
    load = domainindex._load
    monkeypatch.setattr(domainindex, "_load", lambda conn, v: loads.append(v) or load(conn, v))
    for db, expected in ((ties, 0), (ties_hubs, 1)):
        loads.clear()
        with linkgraph.open_store(db) as store:
            for _ in range(2):
                store.referring_domains_page(
                    "https://www.acme.test/", LinkFilter(), mode=None, page=PageSpec()
                )
                store.target_overview("https://www.acme.test/", mode=None)
        assert len(loads) == expected, db
