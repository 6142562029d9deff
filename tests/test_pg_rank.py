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


def crawl_leaving_gaps(web: DemoWeb, tmp_path: Path, pg_url: str, monkeypatch: Any) -> None:
    """Crawl into ``pg_url`` as a fleet does: each batch sends every value it names to be
    interned (another worker's ids are not remembered), and ON CONFLICT takes an id of the
    sequence for every value that was there, so ids have gaps."""
    from linkgraph.storage.pg.interning import Interned

    def remembers_nothing(self: Any, table: str, values: list[Any]) -> tuple[dict, list[int]]:
        return {}, list(range(len(values)))

    with monkeypatch.context() as patched:
        patched.setattr(Interned, "split", remembers_nothing)
        crawl_blocking(web, tmp_path, db=pg_url)


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
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = tmp_path / "copied.db"
    with DemoWeb(generate(12, 6, seed=3)) as web:
        _, sqlite = crawl_blocking(web, tmp_path)
        crawl_leaving_gaps(web, tmp_path, pg_url, monkeypatch)
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


def write_score_tables(folder: Path, names: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Score tables as `linkgraph spark rank` writes them, with made-up values: the n-th
    name of a level (sorted) gets PageRank 1/(n+2); the last name of each level is left
    out (a store node the tables do not name) and one name the store lacks is added."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    given: dict[str, dict[str, float]] = {}
    for level, key in (("page", "url"), ("host", "host"), ("domain", "domain")):
        named = [*sorted(names[level])[:-1], f"not-in-the-store-{level}"]
        ranks = [1.0 / (n + 2) for n in range(len(named))]
        given[level] = dict(zip(named, ranks, strict=True))
        (folder / level).mkdir(parents=True)
        table = pa.table(
            {
                key: named,
                "pagerank": ranks,
                "backlinks": list(range(len(named))),
                "referring_domains": [n % 3 for n in range(len(named))],
            }
        )
        pq.write_table(table, folder / level / "part-0.parquet")
    return given


def test_import_scores_into_a_postgresql_crawl_with_id_gaps_stores_them_by_name(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyarrow", reason="import-scores reads Parquet (pip install pyarrow)")
    with DemoWeb(generate(12, 6, seed=3)) as web:
        _, sqlite = crawl_blocking(web, tmp_path)
        crawl_leaving_gaps(web, tmp_path, pg_url, monkeypatch)
    assert gaps(pg_url, "urls") > 0  # else this test would not test the numbering
    names = {level: list(pg_scores_names(pg_url, level)) for level in ("page", "host", "domain")}
    given = write_score_tables(tmp_path / "scores", names)
    reports = [linkgraph.import_scores(db, tmp_path / "scores") for db in (sqlite, pg_url)]
    assert reports[0] == reports[1]
    assert reports[1].unknown == {"page": 1, "host": 1, "domain": 1}
    assert reports[1].unscored == {"page": 1, "host": 1, "domain": 1}
    for level in ("page", "host", "domain"):
        stored = pg_scores(pg_url, level)
        assert stored.keys() == set(names[level])  # a row per store node, none per gap
        left_out = sorted(names[level])[-1]
        assert stored[left_out][0] == 0.0 and stored[left_out][3] == 0
        for name, pagerank in given[level].items():
            if name in stored:
                assert stored[name][0] == pytest.approx(pagerank, rel=1e-12), name
        assert_same_scores(sqlite_scores(sqlite, level), stored)


def pg_scores_names(url: str, level: str) -> list[str]:
    table, column = {
        "page": ("urls", "url"),
        "host": ("hosts", "name"),
        "domain": ("domains", "name"),
    }[level]
    with connect(url) as conn:
        return [name for (name,) in conn.execute(f"SELECT {column} FROM {table}")]


def test_import_scores_never_prints_the_password_of_the_store(
    pg_server: Any, pg_url: str, tmp_path: Path, capsys: Any
) -> None:
    pytest.importorskip("pyarrow", reason="import-scores reads Parquet (pip install pyarrow)")
    from pg_support import PASSWORD, PASSWORD_USER

    from linkgraph.cli import main

    assert main(["init-db", pg_url]) == 0
    with connect(pg_url) as conn:
        conn.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{PASSWORD_USER}"')
    name = pg_url.split("@/", 1)[1].split("?")[0]
    url = pg_server.url(name, user=f"{PASSWORD_USER}:{PASSWORD}")
    write_score_tables(tmp_path / "scores", {"page": ["a"], "host": ["b"], "domain": ["c"]})
    capsys.readouterr()
    assert main(["import-scores", str(tmp_path / "scores"), "--db", url]) == 0
    out = capsys.readouterr()
    assert f"wrote the scores into postgresql://{PASSWORD_USER}:***@" in out.out
    assert PASSWORD not in out.out + out.err
