"""`linkgraph rank` on a PostgreSQL store gives the scores it gives on SQLite.

Scores are compared by node name (URL, host, domain), since the two stores need not
number their rows alike: a crawl into PostgreSQL leaves gaps in its ids (an identity
column takes a value for every row an ``ON CONFLICT DO NOTHING`` insert proposes), and
the ranking must not count those gaps as nodes.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from crawl_support import crawl_blocking
from linkgraph.storage.pg.connection import connect

import linkgraph
from linkgraph.demo import DemoWeb, generate

pytestmark = pytest.mark.timeout(180)

_SQL = {
    "page": "SELECT u.url, s.pagerank, s.authority, s.trust, s.backlinks, s.referring_domains"
    " FROM page_scores s JOIN urls u ON u.id = s.url_id",
    "host": "SELECT h.name, s.pagerank, s.authority, s.trust, s.backlinks, s.referring_domains"
    " FROM host_scores s JOIN hosts h ON h.id = s.host_id",
    "domain": "SELECT d.name, s.pagerank, s.authority, s.trust, s.backlinks,"
    " s.referring_domains FROM domain_scores s JOIN domains d ON d.id = s.domain_id",
}


def sqlite_scores(path: Path, level: str) -> dict[str, tuple]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return {name: tuple(rest) for name, *rest in conn.execute(_SQL[level])}


def pg_scores(url: str, level: str) -> dict[str, tuple]:
    with connect(url) as conn:
        return {name: tuple(rest) for name, *rest in conn.execute(_SQL[level])}


def assert_same_scores(a: dict[str, tuple], b: dict[str, tuple]) -> None:
    assert a.keys() == b.keys()
    for name, left in a.items():
        right = b[name]
        assert left[3:] == right[3:], name  # backlinks, referring domains: exact
        for x, y in zip(left[:3], right[:3], strict=True):  # pagerank, authority, trust
            assert (x is None) == (y is None), name
            if x is not None:
                assert x == pytest.approx(y, rel=1e-9, abs=1e-15), name


def gaps(url: str, table: str) -> int:
    with connect(url) as conn:
        top, count = conn.execute(f"SELECT max(id), count(*) FROM {table}").fetchone()
    return top - count


def test_rank_of_a_copied_store_gives_the_sqlite_scores_with_trusted_seeds(
    audit: SimpleNamespace, pg_url: str, tmp_path: Path
) -> None:
    sqlite = tmp_path / "ranked.db"
    shutil.copy(audit.gen2, sqlite)
    linkgraph.copy(sqlite, pg_url)
    with connect(pg_url, autocommit=True) as conn:  # the copied scores must not survive
        for table in ("page_scores", "host_scores", "domain_scores"):
            conn.execute(f"UPDATE {table} SET pagerank = -1, authority = -1")
    trusted = tmp_path / "trusted.txt"
    trusted.write_text("old-stockist.test\n")
    summaries = [linkgraph.rank(db, trusted=trusted) for db in (sqlite, pg_url)]
    assert summaries[0].trusted == summaries[1].trusted == 1
    assert summaries[0].backlinks == summaries[1].backlinks > 0
    assert summaries[0].top_domains == summaries[1].top_domains
    for level in ("page", "host", "domain"):
        assert_same_scores(sqlite_scores(sqlite, level), pg_scores(pg_url, level))
    assert linkgraph.top(pg_url, level="domain", limit=5) == linkgraph.top(
        sqlite, level="domain", limit=5
    )


def test_rank_of_a_crawl_into_postgresql_and_of_its_sqlite_copy_leaves_the_id_gaps_out(
    pg_url: str, tmp_path: Path
) -> None:
    copied = tmp_path / "copied.db"
    with DemoWeb(generate(12, 6, seed=3)) as web:
        _, sqlite = crawl_blocking(web, tmp_path)
        crawl_blocking(web, tmp_path, db=pg_url)
    assert gaps(pg_url, "urls") > 0  # else this test would not test the renumbering
    linkgraph.copy(pg_url, copied)  # the copy keeps the ids, gaps and all
    for db in (sqlite, pg_url, copied):
        linkgraph.rank(db)
    for level in ("page", "host", "domain"):
        expected = sqlite_scores(sqlite, level)
        assert_same_scores(expected, pg_scores(pg_url, level))
        assert_same_scores(expected, sqlite_scores(copied, level))


def test_rank_of_a_url_that_is_not_a_store_is_one_line(pg_url: str, capsys: Any) -> None:
    from linkgraph.cli import main

    assert main(["rank", "--db", pg_url]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no linkgraph store" in err[0], err


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_trusted_host_stored_while_the_rank_runs_is_left_out(
    audit: SimpleNamespace,
    pg_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    # A crawl commits a host of a trusted domain after the graph was read: the host is
    # not a node of it, and the rank goes on without it.
    import sqlite3

    from linkgraph.storage import scores
    from linkgraph.storage.pg import ranking

    sqlite = tmp_path / "ranked.db"
    shutil.copy(audit.gen2, sqlite)
    db: Any = sqlite
    if backend == "postgresql":
        linkgraph.copy(sqlite, pg_url)
        db = pg_url
    module = ranking if backend == "postgresql" else scores
    real = module.trusted_candidates

    def after_a_crawl_commit(conn: Any, domains: Any) -> Any:
        insert = (
            "INSERT INTO hosts(name, domain_id) SELECT 'new.old-stockist.test', id FROM domains"
            " WHERE name = 'old-stockist.test'"
        )
        if backend == "postgresql":
            with connect(pg_url, autocommit=True) as other:
                other.execute(insert)
        else:
            with sqlite3.connect(sqlite) as other:
                other.execute(insert)
        return real(conn, domains)

    monkeypatch.setattr(module, "trusted_candidates", after_a_crawl_commit)
    trusted = tmp_path / "trusted.txt"
    trusted.write_text("old-stockist.test\n")
    assert linkgraph.rank(db, trusted=trusted).trusted == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_url_ids_past_the_packed_links_range_are_refused_in_one_line(
    audit: SimpleNamespace, pg_url: str, tmp_path: Path, capsys: Any, backend: str
) -> None:
    import sqlite3

    from linkgraph.cli import main

    sqlite = tmp_path / "ranked.db"
    shutil.copy(audit.gen2, sqlite)
    insert = "INSERT INTO urls(id, hash, host_id, url) VALUES (1073741824, 7, 1, 'http://x.test/')"
    db: Any = sqlite
    if backend == "postgresql":
        linkgraph.copy(sqlite, pg_url)
        with connect(pg_url, autocommit=True) as conn:
            conn.execute(insert)
        db = pg_url
    else:
        with sqlite3.connect(sqlite) as conn:
            conn.execute(insert)
    assert main(["rank", "--db", str(db), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "linkgraph: error: URL ids reach 1,073,741,824: the link graph is read with ids below"
        " 1,073,741,824\n"
    )
