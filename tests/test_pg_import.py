"""`linkgraph import` into a PostgreSQL store stores what an import into SQLite stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import linkgraph

pytestmark = pytest.mark.timeout(180)

_TIMES = {"first_seen", "last_seen", "lost_at", "fetched_at", "seen"}


def links(db: str | Path) -> list[tuple]:
    with linkgraph.open_store(db) as store:
        records = list(store.iter_links(include_lost=True))
    return sorted(
        tuple(sorted((k, str(v)) for k, v in r.items() if k not in _TIMES)) for r in records
    )


def write_edges(path: Path, n: int) -> Path:
    """``n`` edges over a few hundred sites, with anchors, rels and repeated rows: over
    1 MiB from about 20,000 rows, so the file is read in the import's second process."""
    rows = ["source,target,anchor,rel"]
    for i in range(n):
        rel = ("", "nofollow", "sponsored ugc")[i % 3]
        rows.append(
            f"https://site{i % 300}.example/page/{i % 1700},"
            f"https://www.target{i % 7}.example/item/{i % 911},"
            f"anchor {i % 13} \u2014 caf\u00e9,{rel}"
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("n", [500, 24_000], ids=["in-process", "reading-process"])
def test_an_import_into_postgresql_stores_the_links_an_import_into_sqlite_stores(
    pg_url: str, tmp_path: Path, n: int
) -> None:
    edges = write_edges(tmp_path / "edges.csv", n)
    assert (edges.stat().st_size >= 1 << 20) == (n > 20_000)
    sqlite = tmp_path / "links.db"
    results = [linkgraph.import_links(db, edges) for db in (sqlite, pg_url)]
    assert results[0].links == results[1].links == n
    assert links(pg_url) == links(sqlite)
    again = linkgraph.import_links(pg_url, edges)  # nothing is stored twice
    assert again.links == n
    assert links(pg_url) == links(sqlite)
    assert linkgraph.stats(pg_url)["links"] == linkgraph.stats(sqlite)["links"]


def test_an_import_into_postgresql_never_prints_the_password_of_the_store(
    pg_server: Any, pg_url: str, tmp_path: Path, capsys: Any
) -> None:
    from pg_support import PASSWORD, PASSWORD_USER
    from psycopg import connect

    from linkgraph.cli import main

    assert main(["init-db", pg_url]) == 0
    with connect(pg_url) as conn:
        conn.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{PASSWORD_USER}"')
        conn.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{PASSWORD_USER}"')
    name = pg_url.split("@/", 1)[1].split("?")[0]
    url = pg_server.url(name, user=f"{PASSWORD_USER}:{PASSWORD}")
    capsys.readouterr()
    assert main(["import", str(write_edges(tmp_path / "edges.csv", 50)), "--db", url]) == 0
    out = capsys.readouterr()
    assert f"into postgresql://{PASSWORD_USER}:***@" in out.out
    assert PASSWORD not in out.out + out.err
