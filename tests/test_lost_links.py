"""Lost links are history, not current: a hand-built store crawled twice, answers by hand.

Generation 1 (fetched at T1), then a refetch of every page (at T2):

==========================  =====================================  ============================
page                        generation 1                           generation 2
==========================  =====================================  ============================
www.a.test/                 t.test/ "T", t.test/p "P", u.test/     t.test/ "T", u.test/ (P gone)
www.b.test/post             t.test/ "B"                            404
www.c.test/old              t.test/ "C"                            301 to www.c.test/new
www.d.test/                 t.test/pricing "D", u.test/            same links, now noindex
www.e.test/                 t.test/ "E"                            unchanged
www.f.test/moved            301 to t.test/                         200, t.test/ "F"
==========================  =====================================  ============================

Current links into t.test after generation 2: a→t.test/, e→t.test/, f→t.test/ (three
backlinks from three domains). Lost: a→/p (removed), b (page-404), c (page-redirects),
d→/pricing and d→u.test/ (page-noindex), and f's redirect hop (removed).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from linkgraph.crawler.settings import SettingsError
from linkgraph.storage.graphload import load_graph
from linkgraph.storage.queries import reader
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph
from linkgraph.cli import main

T1 = 1_700_000_000  # 2023-11-14T22:13:20Z
T2 = T1 + 90 * 86_400  # 2024-02-12T22:13:20Z
LOST_AT = "2024-02-12T22:13:20Z"
T = "http://www.t.test/"
U = "http://www.u.test/"


def gen1() -> list[Page]:
    return [
        Page("http://www.a.test/", 0, T1, status=200, links=[Link(T, "T"), Link(T + "p", "P"), Link(U, "U")]),
        Page("http://www.b.test/post", 0, T1, status=200, links=[Link(T, "B")]),
        Page("http://www.c.test/old", 0, T1, status=200, links=[Link(T, "C")]),
        Page("http://www.d.test/", 0, T1, status=200, links=[Link(T + "pricing", "D"), Link(U, "D")]),
        Page("http://www.e.test/", 0, T1, status=200, links=[Link(T, "E")]),
        Page("http://www.f.test/moved", 0, T1, status=301, final_url=T, links=[Link(T, kind="redirect")]),
    ]  # fmt: skip


def gen2() -> list[Page]:
    new = "http://www.c.test/new"
    return [
        Page("http://www.a.test/", 0, T2, status=200, links=[Link(T, "T"), Link(U, "U")]),
        Page("http://www.b.test/post", 0, T2, status=404),
        Page("http://www.c.test/old", 0, T2, status=301, final_url=new, links=[Link(new, kind="redirect")]),
        Page("http://www.d.test/", 0, T2, status=200, noindex=True, links=[Link(T + "pricing", "D"), Link(U, "D")]),
        Page("http://www.e.test/", 0, T2, status=200, links=[Link(T, "E")]),
        Page("http://www.f.test/moved", 0, T2, status=200, links=[Link(T, "F")]),
    ]  # fmt: skip


async def write(db: Path, pages: list[Page]) -> tuple[int, int]:
    """Commit the pages; the writer's running (links, hosts crawled) totals after."""
    async with await StoreWriter.open(db) as writer:
        for page in pages:
            page.final_url = page.final_url or page.url
            writer.add_page(page)
    return writer.links, writer.hosts_crawled


@pytest.fixture
async def store(tmp_path: Path) -> Path:
    db = tmp_path / "links.db"
    await write(db, gen1())
    await write(db, gen2())
    return db


def pairs(records: list[dict]) -> set[tuple[str, str]]:
    return {(r["source"], r["target"]) for r in records}


CURRENT = {
    ("http://www.a.test/", T),
    ("http://www.e.test/", T),
    ("http://www.f.test/moved", T),
}
LOST = {
    ("http://www.a.test/", T + "p", "removed"),
    ("http://www.b.test/post", T, "page-404"),
    ("http://www.c.test/old", T, "page-redirects"),
    ("http://www.d.test/", T + "pricing", "page-noindex"),
}


def test_backlinks_list_current_links_and_lost_ones_only_when_asked(store: Path) -> None:
    assert pairs(linkgraph.backlinks(store, "t.test")) == CURRENT
    records = linkgraph.backlinks(store, "t.test", include_lost=True)
    assert {(r["source"], r["target"], r["lost_reason"]) for r in records} == {
        (s, t, None) for s, t in CURRENT
    } | LOST
    assert {r["lost_at"] for r in records if r["lost_reason"]} == {LOST_AT}


def test_referring_domains_and_anchors_count_current_links(store: Path) -> None:
    domains = linkgraph.referring_domains(store, "t.test")
    assert {r["domain"]: r["backlinks"] for r in domains} == {"a.test": 1, "e.test": 1, "f.test": 1}
    history = linkgraph.referring_domains(store, "t.test", include_lost=True)
    assert {r["domain"]: (r["backlinks"], r["lost_reason"]) for r in history} == {
        "a.test": (2, None),  # one current backlink left: the domain is not lost
        "b.test": (1, "page-404"),
        "c.test": (1, "page-redirects"),
        "d.test": (1, "page-noindex"),
        "e.test": (1, None),
        "f.test": (1, None),
    }
    anchors = linkgraph.anchors(store, "t.test")
    assert {a["anchor"]: a["backlinks"] for a in anchors} == {"T": 1, "E": 1, "F": 1}
    with_lost = linkgraph.anchors(store, "t.test", include_lost=True)
    assert {a["anchor"]: a["lost_reason"] for a in with_lost} == {
        "T": None,
        "E": None,
        "F": None,
        "P": "removed",
        "B": "page-404",
        "C": "page-redirects",
        "D": "page-noindex",
    }


def test_intersect_uses_current_links(store: Path) -> None:
    # a.test links t and u now; d.test did, until it went noindex.
    assert [r["domain"] for r in linkgraph.intersect(store, ["t.test", "u.test"])] == ["a.test"]
    history = linkgraph.intersect(store, ["t.test", "u.test"], include_lost=True)
    assert {r["domain"]: r["lost_competitors"] for r in history} == {
        "a.test": [],
        "d.test": ["t.test", "u.test"],
    }


def test_stats_and_export_count_current_links(store: Path) -> None:
    stats = linkgraph.stats(store)
    # Current: a→t, a→u, e→t, f→t (links) and c/old→c/new (redirect).
    assert stats["links"] == {
        "total": 5,
        "link": 4,
        "redirect": 1,
        "canonical": 0,
        "follow": 4,
        "nofollow": 0,
        "lost": 6,  # a→/p, b→t, c→t, d→/pricing, d→u, f's redirect hop
    }
    out = io.StringIO()
    assert linkgraph.export(store, format="jsonl", output=out) == 5
    assert all("lost_at" not in json.loads(line) for line in out.getvalue().splitlines())
    out = io.StringIO()
    assert linkgraph.export(store, format="csv", output=out, include_lost=True) == 11
    header, *rows = out.getvalue().splitlines()
    assert header.endswith(",lost_at,lost_reason")
    assert sum(row.endswith(f",{LOST_AT},page-noindex") for row in rows) == 2


async def test_the_writers_running_totals_are_the_stats_totals(tmp_path: Path) -> None:
    """What the live display shows during a crawl (the writer's totals) is what `stats`
    counts: current links of every kind, hosts with a page that answered."""
    db = tmp_path / "links.db"
    # Generation 1: a 3, b 1, c 1, d 2, e 1 links and f's redirect hop; six hosts answered.
    assert await write(db, gen1()) == (9, 6)
    assert (linkgraph.stats(db)["links"]["total"], linkgraph.stats(db)["hosts_crawled"]) == (9, 6)
    # Generation 2 (a new writer counts the store it opens): the 404 still answered.
    assert await write(db, gen2()) == (5, 6)
    # A fetch error leaves e.test with no page that answered.
    assert await write(db, [Page("http://www.e.test/", 0, T2 + 60, error="connect")]) == (4, 5)
    assert (linkgraph.stats(db)["links"]["total"], linkgraph.stats(db)["hosts_crawled"]) == (4, 5)
    # A writer that reopens the store reads its totals from the seal: still 4 and 5.
    assert await write(db, []) == (4, 5)


def test_rank_and_graphs_use_current_links_only(store: Path) -> None:
    with reader(store) as conn:
        g = load_graph(conn)
        url = dict(conn.execute("SELECT id - 1, url FROM urls"))
    edges = {(url[s], url[t]) for s, t in zip(g.src.tolist(), g.dst.tolist(), strict=True)}
    assert edges == CURRENT | {("http://www.a.test/", U)}
    redirects = {(url[s], url[t]) for s, t in zip(g.redirect_src, g.redirect_dst, strict=True)}
    assert redirects == {("http://www.c.test/old", "http://www.c.test/new")}
    linkgraph.rank(store)
    top = {r["domain"]: r for r in linkgraph.top(store, limit=50)}
    assert (top["t.test"]["backlinks"], top["t.test"]["referring_domains"]) == (3, 3)
    graph = linkgraph.to_networkx(store, level="domain")
    assert set(graph.predecessors("t.test")) == {"a.test", "e.test", "f.test"}


async def test_a_canonical_the_page_no_longer_declares_is_lost(tmp_path: Path) -> None:
    db = tmp_path / "links.db"
    page, canonical = "http://www.g.test/a?ref=x", "http://www.g.test/a"
    await write(db, [Page(page, 0, T1, status=200, canonical=canonical, links=[Link(canonical, kind="canonical")])])  # fmt: skip
    assert linkgraph.stats(db)["links"]["canonical"] == 1
    await write(db, [Page(page, 0, T2, status=200)])
    assert (linkgraph.stats(db)["links"]["canonical"], linkgraph.stats(db)["links"]["lost"]) == (
        0,
        1,
    )
    (record,) = linkgraph.iter_links(db, include_lost=True)
    assert (record["kind"], record["lost_at"], record["lost_reason"]) == (
        "canonical",
        LOST_AT,
        "removed",
    )


def test_include_lost_on_a_graph_export_is_a_clear_error(store: Path) -> None:
    with pytest.raises(SettingsError, match="jsonl and csv"):
        linkgraph.export(store, format="gexf", output=io.BytesIO(), include_lost=True)


def test_cli_include_lost_adds_the_lost_columns(
    store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backlinks", "t.test", "--db", str(store), "--format", "csv"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert "lost_at" not in header and len(rows) == 3
    assert (
        main(["backlinks", "t.test", "--db", str(store), "--format", "csv", "--include-lost"]) == 0
    )
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.endswith(",lost_at,lost_reason") and len(rows) == 7
    assert (
        main(
            [
                "referring-domains",
                "t.test",
                "--db",
                str(store),
                "--include-lost",
                "--format",
                "json",
            ]
        )
        == 0
    )
    lost = {r["domain"]: r["lost_at"] for r in json.loads(capsys.readouterr().out)}
    assert lost["b.test"] == LOST_AT and lost["a.test"] is None


@pytest.mark.parametrize(
    ("argv", "added"),
    [
        (["anchors", "t.test"], ",lost_at,lost_reason"),
        (["intersect", "t.test", "u.test"], ",lost_competitors"),
        (["export"], ",lost_at,lost_reason"),
    ],
)
def test_cli_include_lost_adds_its_columns_to_every_command(
    store: Path, capsys: pytest.CaptureFixture[str], argv: list[str], added: str
) -> None:
    fmt = ["--format", "csv"]
    assert main([*argv, "--db", str(store), *fmt]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert not header.endswith(added)
    assert main([*argv, "--db", str(store), *fmt, "--include-lost"]) == 0
    header, *more = capsys.readouterr().out.splitlines()
    assert header.endswith(added) and len(more) > len(rows)
