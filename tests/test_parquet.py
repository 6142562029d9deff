"""``export --format parquet`` and ``import-parquet``: a round trip loses nothing a query
reads: every link row (dates, lost state, flags) and every page row."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

import linkgraph
from linkgraph.cli import main

pa_dataset = pytest.importorskip("pyarrow.dataset", reason="Parquet needs the parquet extra")
pytest.importorskip("fastwarc", reason="the store is filled by import-warc")
pytest.importorskip("warcio", reason="the tests write their archives with warcio")

from warc_support import Rec, page, write_warc  # noqa: E402

LINK_ROWS = (
    "SELECT s.url, t.url, l.kind, a.text, l.placement, r.tokens, l.flags, l.first_seen,"
    " l.last_seen, l.lost_at, l.lost_reason FROM links l JOIN urls s ON s.id = l.source_id"
    " JOIN urls t ON t.id = l.target_id JOIN anchors a ON a.id = l.anchor_id"
    " JOIN rels r ON r.id = l.rel_id"
)
PAGE_ROWS = (
    "SELECT u.url, p.status, p.error, f.url, p.content_type, p.fetched_at, p.depth, p.title,"
    " p.lang, c.url, p.robots, p.size, p.elapsed_ms, p.etag, p.last_modified, p.outlinks,"
    " p.checked_only, (SELECT text FROM page_text WHERE rowid = p.url_id) FROM pages p"
    " JOIN urls u ON u.id = p.url_id LEFT JOIN urls f ON f.id = p.final_id"
    " LEFT JOIN urls c ON c.id = p.canonical_id"
)


def rows(db: Path) -> tuple[list[tuple], list[tuple]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute(LINK_ROWS), key=repr), sorted(conn.execute(PAGE_ROWS), key=repr)


@pytest.fixture
def store(tmp_path: Path, corpus: Path) -> Path:
    """Real captures, a site captured twice (lost links, last_seen), loose imported edges."""
    db = tmp_path / "orig.db"
    samples = corpus / "warc-samples"
    linkgraph.import_warc(
        db,
        [
            samples / "pywb" / "iana.warc.gz",
            samples / "webarchive-commons" / "IAH-urls-wget.warc.gz",
        ],
    )
    a = "http://a.example/"
    for day, targets in (("2020", ("x", "y")), ("2021", ("x",))):
        archive = write_warc(
            tmp_path / f"{day}.warc.gz",
            [
                Rec(
                    a,
                    f"{day}-01-01T00:00:00Z",
                    page(
                        *(f"http://t.example/{t}" for t in targets),
                        extra='<a href="/n" rel="nofollow">n</a>',
                    ),
                )
            ],
        )
        linkgraph.import_warc(db, [archive])
    edges = tmp_path / "edges.csv"
    edges.write_text(
        "source,target,anchor,rel\nhttps://e.example/,https://t.example/z,zed,sponsored\n"
    )
    linkgraph.import_links(db, edges)
    return db


def test_round_trip_keeps_every_link_and_page_row(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    written = linkgraph.export(store, format="parquet", output=out)
    copy = tmp_path / "copy.db"
    links, pages = linkgraph.import_parquet(copy, out)
    original_links, original_pages = rows(store)
    assert written == links == len(original_links)
    assert pages == len(original_pages)
    assert rows(copy) == (original_links, original_pages)
    # Lost links and a link seen once (last_seen NULL) are among them.
    assert any(r[9] is not None for r in original_links)
    assert any(r[8] is None for r in original_links)
    assert linkgraph.stats(copy)["links"] == linkgraph.stats(store)["links"]


def exported(folder: Path) -> dict[str, list[str]]:
    return {
        table: sorted(
            map(
                repr, pa_dataset.dataset(folder / table, partitioning="hive").to_table().to_pylist()
            )
        )
        for table in ("links", "pages")
    }


def test_export_of_a_postgresql_copy_writes_the_same_tables(
    store: Path, tmp_path: Path, pg_url: str
) -> None:
    linkgraph.copy(store, pg_url)
    counts = [
        linkgraph.export(db, format="parquet", output=tmp_path / name)
        for db, name in ((store, "sqlite"), (pg_url, "pg"))
    ]
    assert counts[0] == counts[1]
    sqlite, pg = exported(tmp_path / "sqlite"), exported(tmp_path / "pg")
    assert len(sqlite["links"]) == len(rows(store)[0]) and sqlite["pages"]
    assert pg == sqlite


def test_export_is_hive_partitioned_by_kind_for_other_engines(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables"
    linkgraph.export(store, format="parquet", output=out)
    links = pa_dataset.dataset(out / "links", format="parquet", partitioning="hive").to_table()
    kinds = ("link", "redirect", "canonical")
    stored = Counter(kinds[r[2]] for r in rows(store)[0])
    assert Counter(links["kind"].to_pylist()) == stored
    assert sorted(p.name for p in (out / "links").iterdir()) == sorted(f"kind={k}" for k in stored)
    zed = [r for r in links.to_pylist() if r["target"] == "https://t.example/z"]
    assert zed == [
        {
            **zed[0],
            "source": "https://e.example/",
            "source_domain": "e.example",
            "target_domain": "t.example",
            "anchor": "zed",
            "rel": ["sponsored"],
            "follow": False,
        }
    ]


def test_include_lost_is_taken_by_parquet_which_holds_lost_links_anyway(
    store: Path, tmp_path: Path
) -> None:
    linkgraph.export(store, format="parquet", output=tmp_path / "plain")
    linkgraph.export(store, format="parquet", output=tmp_path / "lost", include_lost=True)
    tables = [
        pa_dataset.dataset(tmp_path / name / "links", format="parquet", partitioning="hive")
        .to_table()
        .to_pylist()
        for name in ("plain", "lost")
    ]
    assert any(row["lost_at"] is not None for row in tables[0])
    assert sorted(map(repr, tables[1])) == sorted(map(repr, tables[0]))


def test_bad_folders_and_stores_are_one_line_errors(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tables"
    assert main(["export", "--db", str(store), "--format", "parquet", "--output", str(out)]) == 0
    assert main(["export", "--db", str(store), "--format", "parquet", "--output", str(out)]) == 1
    assert main(["import-parquet", "--db", str(store), str(out)]) == 1
    assert main(["import-parquet", "--db", str(tmp_path / "n.db"), str(tmp_path)]) == 1
    assert main(["export", "--db", str(store), "--format", "parquet"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert err == [
        f"linkgraph: error: {out} is not empty: give a new folder for the Parquet tables",
        f"linkgraph: error: {store} holds links already: import-parquet fills a new store"
        " (give a new --db path, or remove this one first)",
        f"linkgraph: error: {tmp_path} has no pages/ folder: not a linkgraph Parquet export",
        "linkgraph: error: --format parquet writes a folder: give it with --output DIR",
    ]


def test_without_pyarrow_the_command_says_what_to_install(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import fails as if absent
    out = tmp_path / "tables"
    assert main(["export", "--db", str(store), "--format", "parquet", "--output", str(out)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "linkgraph: error: Parquet needs pyarrow: pip install 'linkgraph[parquet]'"
    ]
    assert not out.exists()


def test_a_foreign_parquet_folder_is_a_one_line_error_naming_missing_columns(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    out = tmp_path / "tables"
    assert main(["export", "--db", str(store), "--format", "parquet", "--output", str(out)]) == 0
    capsys.readouterr()
    foreign = tmp_path / "foreign"
    (foreign / "links").mkdir(parents=True)
    pq.write_table(pa.table({"src": ["a"], "dst": ["b"]}), foreign / "links" / "x.parquet")
    shutil.copytree(out / "pages", foreign / "pages")
    code = main(["import-parquet", "--db", str(tmp_path / "f.db"), str(foreign)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines() == [
        f"linkgraph: error: {foreign / 'links'} is not a linkgraph Parquet export"
        " (missing columns: source, target, source_host, source_domain, target_host,"
        " target_domain, anchor, rel, follow, image, internal, placement, kind, flags,"
        " first_seen, last_seen, lost_at, lost_reason)"
    ]
    pages = pq.read_table(foreign / "pages").drop_columns(["outlinks"])
    shutil.rmtree(foreign / "pages")
    (foreign / "pages").mkdir()
    pq.write_table(pages, foreign / "pages" / "p.parquet")
    assert main(["import-parquet", "--db", str(tmp_path / "g.db"), str(foreign)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"linkgraph: error: {foreign / 'pages'} is not a linkgraph Parquet export"
        " (missing columns: outlinks)"
    ]


def test_an_interrupted_import_leaves_no_store_and_a_rerun_completes(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph import parquet

    out = tmp_path / "tables"
    linkgraph.export(store, format="parquet", output=out)
    target = tmp_path / "new"
    target.mkdir()
    copy = target / "copy.db"

    def interrupted(*args: object, **kwargs: object) -> int:
        raise KeyboardInterrupt  # Ctrl-C after the links were written, before the dates

    with monkeypatch.context() as patch:
        patch.setattr(parquet, "restore_history", interrupted)
        with pytest.raises(KeyboardInterrupt):
            linkgraph.import_parquet(copy, out)
    assert list(target.iterdir()) == []  # no half-filled store, no scratch files
    linkgraph.import_parquet(copy, out)
    assert rows(copy) == rows(store)
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        "copy.db"
    ]
