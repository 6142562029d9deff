"""The hand-built store of the pinned tests (test_pinned_rank_audit.py, test_pinned_audit.py):
its pages, its two crawls, and the fixtures that write and rank it.

The web, crawled twice (T1, then T2 a month later):

- www.t.test (the target): /, /about, /gone (404); / links to the farm's first site (so
  it is reciprocal) and, nofollow, to news.a.test.
- news.a.test/article links to the target (brand anchor), /gone (broken) and blog.a.test;
  at T2 also to /about (a new link).
- www.b.test/post links with an exact-match anchor at T1, answers 404 at T2 (lost).
- www.c.test/old redirects to the target; www.m.test and blog.a.test only mention "Acme
  Widgets"; www.s.test's four pages carry a footer link (sitewide).
- three farm domains link to each other and to the target with "blue widgets"; the first
  carries 110 more outbound links (a link page); www.n.test appears at T2.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph
from linkgraph.audit import load_profile

T1 = 1_700_000_000  # 2023-11-14T22:13:20Z
T2 = T1 + 30 * 86_400  # 2023-12-14T22:13:20Z
T = "http://www.t.test/"
FARM = [
    "http://cheap-casino-links-1234.xyz/",
    "http://best-seo-backlink-farm.xyz/",
    "http://www.link-swap-club.top/",
]
OTHER_HOSTS = {f"x{j}.other.test" for j in range(110)}
PROFILE = load_profile(brand=["Acme"], keyword=["blue widgets"])


def gen1() -> list[Page]:
    pages = [
        Page(T, 0, T1, status=200, text="Acme makes blue widgets and widget repair kits for industrial gearboxes", links=[
            Link(T + "about", "About", placement="nav"),
            Link(FARM[0], "partner"),
            Link("http://news.a.test/article", "press", rel=("nofollow",)),
        ]),
        Page(T + "about", 1, T1, status=200, text="About Acme widgets company history",
             links=[Link(T, "Home", placement="nav")]),
        Page(T + "gone", 1, T1, status=404),
        Page("http://news.a.test/article", 0, T1, status=200,
             text="Review of Acme blue widgets for gearboxes and repair kits",
             links=[Link(T, "Acme"), Link(T + "gone", "old page"), Link("http://blog.a.test/", "blog")]),
        Page("http://blog.a.test/", 0, T1, status=200,
             text="Cooking recipes and garden tips, Acme Widgets mentioned",
             links=[Link("http://news.a.test/article", "news")]),
        Page("http://www.m.test/", 0, T1, status=200, text="We love Acme Widgets in our workshop"),
        Page("http://www.b.test/post", 0, T1, status=200, text="blue widgets post",
             links=[Link(T, "blue widgets"), Link(T + "about", "click here")]),
        Page("http://www.c.test/old", 0, T1, status=301, final_url=T, links=[Link(T, kind="redirect")]),
    ]  # fmt: skip
    for i in range(4):
        pages.append(
            Page(
                f"http://www.s.test/p{i}",
                0,
                T1,
                status=200,
                text=f"sports scores page {i}",
                links=[
                    Link(T, "Acme widgets", placement="footer"),
                    Link(f"http://www.s.test/p{(i + 1) % 4}", "next"),
                ],
            )
        )
    for k, farm in enumerate(FARM):
        links = [Link(T, "blue widgets", image=k == 2)] + [
            Link(other, "friend") for other in FARM if other != farm
        ]
        if k == 0:
            links += [Link(f"http://x{j}.other.test/", f"site {j}") for j in range(110)]
        pages.append(
            Page(farm, 0, T1, status=200, text="casino poker bonus slots jackpot", links=links)
        )
    return pages


def gen2() -> list[Page]:
    out = []
    for p in gen1():
        if p.url == "http://www.b.test/post":
            out.append(Page(p.url, 0, T2, status=404))
        elif p.url == "http://news.a.test/article":
            p.links.append(Link(T + "about", "Acme team"))
            p.fetched_at = T2
            out.append(p)
        else:
            p.fetched_at = T2
            out.append(p)
    out.append(
        Page(
            "http://www.n.test/",
            0,
            T2,
            status=200,
            text="new fan of blue widgets",
            links=[Link(T, "www.t.test"), Link("http://news.a.test/article", "via")],
        )
    )
    return out


async def write(db: Path, pages: list[Page]) -> None:
    async with await StoreWriter.open(db) as writer:
        for page in pages:
            writer.add_page(page)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("pinned") / "web.db"
    asyncio.run(write(db, gen1()))
    asyncio.run(write(db, gen2()))
    return db


@pytest.fixture(scope="module")
def ranked(store: Path) -> tuple[Path, linkgraph.RankSummary]:
    return store, linkgraph.rank(store, trusted=["a.test", "www.s.test"])


def r9(value: object) -> object:
    return round(value, 9) if isinstance(value, float) else value


def score_rows(db: Path, table: str, key: str, names: str, column: str, cols: list[str]) -> dict:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            f"SELECT n.{column}, {', '.join('s.' + c for c in cols)} FROM {table} s"
            f" JOIN {names} n ON n.id = s.{key}"
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: tuple(r9(v) for v in row[1:]) for row in rows}
