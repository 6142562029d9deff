"""`linkgraph rank` on a crawled store agrees with networkx built independently from the links."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from pathlib import Path

import networkx as nx
import pytest
from cli_support import run
from crawl_support import answered
from linkgraph.storage.identity import host_of, registrable_domain
from linkgraph.storage.records import Link, Page
from linkgraph.storage.writer import StoreWriter

import linkgraph


def random_web(seed: int) -> tuple[dict[str, list[tuple[str, bool]]], dict[str, str]]:
    """Pages on 12 hosts of 6 domains with random follow/nofollow links, plus redirects."""
    rng = random.Random(seed)
    hosts = [f"{sub}.d{d}.test" for d in range(6) for sub in ("www", "blog")]
    pages = [f"http://{h}/p{i}" for h in hosts for i in range(5)]
    links = {}
    for page in pages:
        targets = rng.sample(pages, rng.randint(0, 6))
        links[page] = [(t, rng.random() < 0.8) for t in targets if t != page]
    # A few pages redirect instead of carrying links.
    redirects = {}
    for page in rng.sample(pages, 4):
        target = rng.choice([p for p in pages if p != page])
        links[page] = []
        redirects[page] = target
    return links, redirects


async def build(db: Path, links: dict, redirects: dict) -> None:
    async with await StoreWriter.open(db) as writer:
        for page, out in links.items():
            if page in redirects:
                writer.add_page(
                    Page(
                        page,
                        0,
                        time.time(),
                        status=301,
                        final_url=redirects[page],
                        links=[Link(redirects[page], kind="redirect")],
                    )
                )
                continue
            writer.add_page(
                answered(page, [Link(t, "a", () if f else ("nofollow",)) for t, f in out])
            )


def scores(db: Path, table: str, key: str, names: str, column: str) -> dict[str, float]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        f"SELECT n.{column}, s.pagerank FROM {table} s JOIN {names} n ON n.id = s.{key}"
    ).fetchall()
    conn.close()
    return dict(rows)


def l1(a: dict[str, float], b: dict[str, float]) -> float:
    return sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in set(a) | set(b))


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_page_host_domain_pagerank_match_networkx(tmp_path: Path, seed: int) -> None:
    links, redirects = random_web(seed)
    db = tmp_path / "r.db"
    await build(db, links, redirects)
    linkgraph.rank(db)

    # Page level: follow links, and a redirecting page's single link to its target.
    page_graph = nx.DiGraph()
    page_graph.add_nodes_from(links)
    for page, out in links.items():
        for target, follow in out:
            page_graph.add_node(target)
            if follow:
                page_graph.add_edge(page, target)
    for page, target in redirects.items():
        page_graph.add_edge(page, target)
    expected = nx.pagerank(page_graph, alpha=0.85, tol=1e-13, max_iter=10_000)
    assert l1(scores(db, "page_scores", "url_id", "urls", "url"), expected) < 1e-8

    # Host and domain level: one edge per ordered pair of different groups with a follow link.
    for table, key, names, group in (
        ("host_scores", "host_id", "hosts", host_of),
        ("domain_scores", "domain_id", "domains", lambda u: registrable_domain(host_of(u))),
    ):
        g = nx.DiGraph()
        g.add_nodes_from({group(p) for p in page_graph})
        for a, b in page_graph.edges:
            if group(a) != group(b):
                g.add_edge(group(a), group(b))
        expected = nx.pagerank(g, alpha=0.85, tol=1e-13, max_iter=10_000)
        assert l1(scores(db, table, key, names, "name"), expected) < 1e-8, table


async def test_trustrank_favours_what_trusted_sites_link_to(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    links = {
        "http://www.trusted.test/": [("http://www.good.test/", True)],
        "http://www.good.test/": [("http://www.trusted.test/", True)],
        "http://www.spam1.test/": [("http://www.spam2.test/", True)],
        "http://www.spam2.test/": [
            ("http://www.spam1.test/", True),
            ("http://www.good.test/", True),
        ],
    }
    await build(db, links, {})
    trusted = tmp_path / "trusted.txt"
    trusted.write_text("# seeds\ntrusted.test\n")
    summary = linkgraph.rank(db, trusted=trusted)
    assert summary.trusted == 1
    rows = {r["domain"]: r for r in linkgraph.top(db, level="domain", limit=10)}
    assert rows["good.test"]["trust"] > rows["spam1.test"]["trust"]
    assert rows["spam2.test"]["trust"] == pytest.approx(
        0.0, abs=1e-12
    )  # nothing trusted links to it


async def test_rank_counts_backlinks_and_referring_domains(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    links = {
        "http://www.a.test/1": [("http://www.t.test/", True), ("http://www.t.test/x", False)],
        "http://www.a.test/2": [("http://www.t.test/", True)],
        "http://blog.b.test/": [("http://www.t.test/", True)],
        "http://www.t.test/": [("http://www.t.test/x", True)],  # internal: not counted
    }
    await build(db, links, {})
    linkgraph.rank(db)
    top = {r["domain"]: r for r in linkgraph.top(db, level="domain")}
    assert (top["t.test"]["backlinks"], top["t.test"]["referring_domains"]) == (4, 2)
    pages = {r["url"]: r for r in linkgraph.top(db, level="page", limit=50)}
    assert (
        pages["http://www.t.test/"]["backlinks"],
        pages["http://www.t.test/"]["referring_domains"],
    ) == (3, 2)
    assert pages["http://www.t.test/x"]["backlinks"] == 1  # the nofollow pair still is a backlink


def one_link_store(tmp_path: Path) -> Path:
    """A store of one imported link, www.a.test -> www.t.test."""
    edges = tmp_path / "edges.csv"
    edges.write_text("https://www.a.test/,https://www.t.test/\n")
    db = tmp_path / "one.db"
    linkgraph.import_links(db, edges)
    return db


def test_import_then_rank(tmp_path: Path) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text(
        "source_url,target_url,anchor_text,rel\n"
        "https://www.a.test/,https://www.t.test/,T,\n"
        "https://www.b.test/,https://www.t.test/,T,nofollow\n"
        "not a url,https://www.t.test/,x,\n"
        "https://www.b.test/,https://www.a.test/,A,ugc sponsored\n"
    )
    db = tmp_path / "i.db"
    result = linkgraph.import_links(db, edges)
    assert (result.rows, result.links, result.skipped) == (4, 3, 1)
    assert "line 4" in result.problems[0]
    records = {(r["source"], r["target"]): r for r in linkgraph.iter_links(db)}
    assert records[("https://www.b.test/", "https://www.a.test/")]["rel"] == ["ugc", "sponsored"]
    assert records[("https://www.b.test/", "https://www.t.test/")]["follow"] is False
    assert linkgraph.stats(db)["pages"]["fetched"] == 0  # imported sources were not fetched
    linkgraph.rank(db)
    assert linkgraph.top(db, level="domain")[0]["domain"] == "t.test"
    tsv = tmp_path / "edges.tsv"
    tsv.write_text("https://www.c.test/\thttps://www.t.test/\n")
    assert linkgraph.import_links(db, tsv).links == 1


def test_rank_that_does_not_converge_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from linkgraph.graph import ranking
    from linkgraph.graph.errors import ConvergenceError

    from linkgraph.cli import main

    db = one_link_store(tmp_path)

    def never_converges(*args: object, **kwargs: object) -> None:
        raise ConvergenceError(100, 0.5, 1e-10)

    # The level pipeline calls PageRank where it lives now: graph/ranking.py.
    monkeypatch.setattr(ranking, "pagerank", never_converges)
    assert main(["rank", "--db", str(db), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("linkgraph: error: ") and "100" in err
    assert err.count("\n") == 1


def _scores_and_indexes(db: Path) -> list[tuple[object, ...]]:
    """Every row of the three score tables, then their indexes' names and SQL."""
    with sqlite3.connect(db) as conn:
        return [
            row
            for table in ("page_scores", "host_scores", "domain_scores")
            for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1")
        ] + conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
            " AND tbl_name LIKE '%_scores' ORDER BY name"
        ).fetchall()


def test_rank_failing_at_the_domain_level_keeps_every_previous_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page level is handed to the writer before the domain level fails: its new
    # scores must be rolled back with the rest, not committed on their own.
    from linkgraph.graph import ranking
    from linkgraph.graph.errors import ConvergenceError

    db = tmp_path / "i.db"
    first = tmp_path / "first.csv"
    first.write_text("https://www.a.test/,https://www.t.test/\n")
    linkgraph.import_links(db, first)
    linkgraph.rank(db)

    before = _scores_and_indexes(db)
    more = tmp_path / "more.csv"
    more.write_text(
        "https://www.b.test/,https://www.a.test/\nhttps://www.c.test/,https://www.b.test/\n"
    )
    linkgraph.import_links(db, more)
    real_score_level = ranking.score_level
    levels: list[int] = []

    def fails_third(*args: object, **kwargs: object) -> object:
        levels.append(1)
        if len(levels) == 3:
            raise ConvergenceError(100, 0.5, 1e-10)
        return real_score_level(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ranking, "score_level", fails_third)
    with pytest.raises(ConvergenceError):
        linkgraph.rank(db)
    assert len(levels) == 3
    assert _scores_and_indexes(db) == before
    monkeypatch.undo()
    linkgraph.rank(db)
    assert _scores_and_indexes(db) != before  # the new links do change the scores once ranked


def test_rank_failing_at_the_page_level_keeps_the_page_scores_it_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page table is emptied (and its index dropped) before the page level is ranked.
    from linkgraph.graph import ranking
    from linkgraph.graph.errors import ConvergenceError

    db = one_link_store(tmp_path)
    linkgraph.rank(db)
    before = _scores_and_indexes(db)
    assert any(row[0] == "page_scores_rank" for row in before)

    def fails(*args: object, **kwargs: object) -> object:
        raise ConvergenceError(100, 0.5, 1e-10)

    monkeypatch.setattr(ranking, "score_level", fails)
    with pytest.raises(ConvergenceError):
        linkgraph.rank(db)
    assert _scores_and_indexes(db) == before


def test_a_level_emptied_and_never_written_fails_and_keeps_its_scores(tmp_path: Path) -> None:
    from linkgraph.storage import scores as store_scores
    from linkgraph.storage.errors import StoreError

    db = one_link_store(tmp_path)
    linkgraph.rank(db)
    before = _scores_and_indexes(db)
    with store_scores.writer(db) as conn:
        with pytest.raises(StoreError, match="page scores were emptied, not written"):
            with store_scores.replacing_scores(conn) as writes:
                writes.clear("page")
    assert _scores_and_indexes(db) == before


def test_rank_verbose_names_every_phase_in_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_text("https://www.a.test/,https://www.t.test/\nhttps://b.test/,https://a.test/\n")
    db = tmp_path / "v.db"
    linkgraph.import_links(db, edges)
    code, out, err = run(capsys, "rank", "--db", str(db), "--quiet", "--verbose")
    assert code == 0 and out == ""
    phases = [line.split()[0:-1] for line in err.splitlines()]
    assert [" ".join(words) for words in phases] == [
        "open",
        "load",
        "counts",
        "page graph",
        "page scores",
        "host graph",
        "host scores",
        "domain graph",
        "domain scores",
        "write",
        "hubs",
    ]
    _, _, quiet_err = run(capsys, "rank", "--db", str(db), "--quiet")
    assert quiet_err == ""


def test_rank_reads_the_graph_while_the_store_is_being_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph.storage import schema
    from linkgraph.storage import scores as store_scores

    db = one_link_store(tmp_path)
    loaded = threading.Event()
    real_load, real_check = store_scores.load_graph, schema.quick_check

    def load(conn: sqlite3.Connection, **options: object) -> object:
        graph = real_load(conn, **options)  # type: ignore[arg-type]
        loaded.set()
        return graph

    def check(conn: sqlite3.Connection, path: object) -> None:
        # Read one after the other, the graph would wait for this check: it never comes.
        assert loaded.wait(10), "the graph was not read during the integrity check"
        real_check(conn, path)

    monkeypatch.setattr(store_scores, "load_graph", load)
    monkeypatch.setattr(schema, "quick_check", check)
    assert linkgraph.rank(db).backlinks == 1


def test_rank_runs_where_the_os_has_no_cpu_affinity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.sched_getaffinity exists on Linux only; macOS and Windows rank too.
    import os

    db = one_link_store(tmp_path)
    monkeypatch.delattr(os, "sched_getaffinity")
    assert linkgraph.rank(db).backlinks == 1
