"""`linkgraph spark extract` against `import-warc` / `import-wat` + `export --format parquet`
on the same archives of the corpus, and `spark rank` over what it wrote.

Spark runs for real (local[2], loopback only: see spark_support.py)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cli_support import run
from spark_support import spark_fixture  # noqa: F401  (the session fixture `spark`)

WARCS = ("pywb/iana.warc.gz", "webarchive-commons/IAH-urls-wget.warc.gz")
WAT = "commoncrawl-whirlwind/whirlwind.warc.wat.gz"


def table_rows(folder: Path) -> Counter[str]:
    """A Parquet table's rows (Hive partitions as columns), each as a comparable text."""
    import pyarrow.dataset as ds

    data = ds.dataset(folder, format="parquet", partitioning="hive", exclude_invalid_files=True)
    return Counter(repr(sorted(row.items())) for row in data.to_table().to_pylist())


@pytest.fixture(scope="module")
def archives(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The paths file of the archives, and the store import-warc and import-wat made of them
    (ranked by `linkgraph rank`, exported as Parquet beside it)."""
    from linkgraph.cli import main

    folder = tmp_path_factory.mktemp("archives")
    files = [corpus / "warc-samples" / name for name in (*WARCS, WAT)]
    listing = folder / "paths.txt"
    listing.write_text("# the corpus's samples\n" + "".join(f"{f}\n\n" for f in files))
    db = folder / "store.db"
    assert main(["import-warc", *map(str, files[:2]), "--db", str(db), "--quiet"]) == 0
    assert main(["import-wat", str(files[2]), "--db", str(db), "--quiet"]) == 0
    assert main(["rank", "--db", str(db), "--quiet"]) == 0
    out = str(folder / "export")
    assert main(["export", "--db", str(db), "--format", "parquet", "--output", out]) == 0
    return listing, db


@pytest.mark.timeout(600)
def test_spark_extract_writes_the_rows_import_and_export_write_and_spark_rank_reads_them(
    archives: tuple[Path, Path], spark: Any, tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    from linkgraph.spark.extract import read_paths, spark_extract
    from linkgraph.spark.rank import spark_rank

    listing, db = archives
    exported = db.parent / "export"
    out = tmp_path / "tables"
    summary = spark_extract(spark, read_paths(str(listing)), str(out))
    assert summary.files == 3 and summary.problems == []

    expected_links = table_rows(exported / "links")
    assert sum(expected_links.values()) > 1000  # the corpus files hold links
    assert table_rows(out / "links") == expected_links
    assert table_rows(out / "pages") == table_rows(exported / "pages")

    assert_edges_count_current_links(out, table_rows_list(exported / "links", hive=True))

    # spark rank reads the extract's tables: the store's own ranking, level by level.
    scores = tmp_path / "scores"
    spark_rank(spark, str(out), str(scores), tol=1e-8)
    tables = {"page": ("page_scores", "url_id", "urls", "url")}
    tables |= {"host": ("host_scores", "host_id", "hosts", "name")}
    for level, (table, key, names, column) in tables.items():
        with sqlite3.connect(db) as conn:
            stored = dict(
                conn.execute(
                    f"SELECT n.{column}, s.pagerank FROM {table} s JOIN {names} n ON n.id = s.{key}"
                )
            )
        name = "url" if level == "page" else "host"
        got = {r[name]: r["pagerank"] for r in pq.read_table(scores / level).to_pylist()}
        assert set(got) == set(stored), level
        assert sum(abs(got[k] - stored[k]) for k in stored) < 1e-6, level


def assert_edges_count_current_links(out: Path, export_links: list[dict[str, Any]]) -> None:
    """The edge tables under ``out`` hold, per pair of different hosts (domains), the
    number of current hyperlinks and redirects among ``export_links`` (counted here)."""
    for level in ("host", "domain"):
        a, b = f"source_{level}", f"target_{level}"
        counted = Counter(
            (r[a], r[b])
            for r in export_links
            if r["kind"] in ("link", "redirect") and r["lost_at"] is None and r[a] != r[b]
        )
        edges = {
            (r["source"], r["target"]): r["links"] for r in table_rows_list(out / f"{level}_edges")
        }
        assert edges == dict(counted), level
        assert edges, level


def table_rows_list(folder: Path, *, hive: bool = False) -> list[dict[str, Any]]:
    import pyarrow.dataset as ds

    data = ds.dataset(
        folder, format="parquet", partitioning="hive" if hive else None, exclude_invalid_files=True
    )
    return data.to_table().to_pylist()


def test_spark_extract_with_a_missing_archive_says_which_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "paths.txt"
    listing.write_text(f"{tmp_path / 'gone.warc.gz'}\n")
    code, out, err = run(
        capsys, "spark", "extract", "--input", str(listing), "--output", str(tmp_path / "o")
    )
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        f"linkgraph: error: {listing}: no such file: {tmp_path / 'gone.warc.gz'}"
    ]
    assert not (tmp_path / "o").exists()


def test_spark_extract_with_an_empty_paths_file_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "paths.txt"
    listing.write_text("# nothing yet\n\n")
    code, _, err = run(
        capsys, "spark", "extract", "--input", str(listing), "--output", str(tmp_path / "o")
    )
    assert code == 1
    assert err.splitlines() == [
        f"linkgraph: error: {listing} lists no archive files (one path a line)"
    ]


OLD, MID, NEW = "2020-01-01T00:00:00Z", "2020-06-01T00:00:00Z", "2021-01-01T00:00:00Z"
IANA = "http://www.iana.org/"


def iana_bodies(corpus: Path) -> dict[str, bytes]:
    """The HTML bodies of the home, about and numbers pages in ``pywb/iana.warc.gz``."""
    from warcio.archiveiterator import ArchiveIterator

    wanted = {IANA, f"{IANA}about", f"{IANA}numbers"}
    bodies = {}
    with (corpus / "warc-samples" / "pywb" / "iana.warc.gz").open("rb") as stream:
        for record in ArchiveIterator(stream):
            url = record.rec_headers.get_header("WARC-Target-URI")
            if record.rec_type == "response" and url in wanted:
                bodies[url] = record.content_stream().read()
    assert set(bodies) == wanted
    return bodies


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


@pytest.fixture
def recaptured(corpus: Path, tmp_path: Path) -> tuple[list[Path], Path]:
    """Two WARC files capturing iana.org pages at two dates, and a copy of the second
    (the list, in order), and the Parquet export of their import by import-warc."""
    pytest.importorskip("fastwarc", reason="import-warc needs the warc extra")
    pytest.importorskip("warcio", reason="the test writes its archives with warcio")
    from warc_support import Rec, write_warc

    from linkgraph.cli import main

    bodies = iana_bodies(corpus)
    home, about, numbers = IANA, f"{IANA}about", f"{IANA}numbers"
    assert bodies[home].count(b'href="/contact"') == 1
    # The newer capture of the home page links to example.org where the older one
    # linked to /contact.
    changed = bodies[home].replace(b'href="/contact"', b'href="http://www.example.org/welcome"')
    old = write_warc(
        tmp_path / "old.warc.gz",
        [
            Rec(home, OLD, bodies[home]),
            Rec(about, OLD, bodies[about]),
            Rec(numbers, MID, bodies[numbers]),
        ],
    )
    new = write_warc(
        tmp_path / "new.warc.gz",
        [
            Rec(home, NEW, changed),
            Rec(about, NEW, kind="revisit"),  # seen again, unchanged
            Rec(numbers, OLD, changed),  # older than the stored capture (MID): skipped
            Rec(f"{IANA}protocols", NEW, kind="revisit"),  # of no capture read: skipped
        ],
    )
    copy = tmp_path / "copy-of-new.warc.gz"  # the import skips it as imported already
    copy.write_bytes(new.read_bytes())
    files = [old, new, copy]
    db, exported = tmp_path / "store.db", tmp_path / "export"
    assert main(["import-warc", *map(str, files), "--db", str(db), "--quiet"]) == 0
    assert main(["export", "--db", str(db), "--format", "parquet", "--output", str(exported)]) == 0
    return files, exported


@pytest.mark.timeout(600)
def test_spark_extract_merges_captures_of_a_url_across_files_as_import_warc_does(
    recaptured: tuple[list[Path], Path], spark: Any, tmp_path: Path
) -> None:
    from linkgraph.spark.extract import spark_extract

    (old, new, copy), exported = recaptured
    home, about, numbers = IANA, f"{IANA}about", f"{IANA}numbers"
    out = tmp_path / "tables"
    summary = spark_extract(spark, [str(old), str(new), str(copy)], str(out))
    assert (summary.files, summary.already, summary.older, summary.problems) == (
        2,
        [str(copy)],
        1,
        [],
    )

    links = sorted(table_rows(out / "links").elements())
    assert links == sorted(table_rows(exported / "links").elements())
    pages = sorted(table_rows(out / "pages").elements())
    assert pages == sorted(table_rows(exported / "pages").elements())
    assert_edges_count_current_links(out, table_rows_list(exported / "links", hive=True))

    # What the merge has to get right, read from the Spark side.
    page_rows = {r["url"]: r for r in table_rows_list(out / "pages")}
    assert set(page_rows) == {home, about, numbers}  # one row per URL
    assert page_rows[home]["fetched_at"] == when(NEW).timestamp()
    assert page_rows[numbers]["fetched_at"] == when(MID).timestamp()
    rows = table_rows_list(out / "links", hive=True)
    by = Counter[tuple[str, str]]()
    for r in rows:
        by[r["source"], r["target"]] += 1
        gone = (r["lost_at"], r["lost_reason"])
        if r["source"] == home and r["target"] == f"{IANA}contact":  # only in the older one
            assert gone == (when(NEW), "removed")
        elif r["source"] == home and r["target"] == "http://www.example.org/welcome":
            assert (r["first_seen"], r["last_seen"], *gone) == (when(NEW), None, None, None)
        elif r["source"] in (home, about) and r["target"] == "http://www.icann.org/":
            assert (r["first_seen"], r["last_seen"], *gone) == (when(OLD), when(NEW), None, None)
        elif r["source"] == numbers:  # captured once (MID): its older capture skipped
            assert (r["first_seen"], r["last_seen"]) == (when(MID), None)
    assert by[home, f"{IANA}contact"] and by[home, "http://www.example.org/welcome"]
    assert by[home, "http://www.icann.org/"] and by[about, "http://www.icann.org/"]
    assert not by[numbers, "http://www.example.org/welcome"]


def test_each_input_path_is_found_under_the_name_spark_gives_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkgraph.spark.captures import position_of, positions_of

    monkeypatch.chdir(tmp_path)
    paths = [
        "crawl/a.warc.gz",  # relative: Spark reads it from the working folder
        "hdfs:///cc/b.warc.gz",  # Spark adds the name node
        "s3a://one/c.warc.gz",
        "s3a://two/c.warc.gz",  # the same key in another bucket is another file
        f"{tmp_path}/crawl/a.warc.gz",  # the first one again: its first place counts
    ]
    positions = positions_of(paths)
    named = {
        f"file:{tmp_path}/crawl/a.warc.gz": 0,
        "hdfs://namenode:8020/cc/b.warc.gz": 1,
        "s3a://one/c.warc.gz": 2,
        "s3a://two/c.warc.gz": 3,
    }
    assert {name: position_of(name, positions) for name in named} == named
    with pytest.raises(LookupError):
        position_of("file:/elsewhere/a.warc.gz", positions)


def test_the_two_stages_run_by_hand_write_the_rows_import_warc_and_export_write(
    recaptured: tuple[list[Path], Path], tmp_path: Path
) -> None:
    """Stage 1, the shuffle by URL (two partitions) and stage 2 as Spark runs them, in
    this process: the merge itself, checked where Java is missing too."""
    import zlib

    import pyarrow as pa

    from linkgraph.parquet import _schemas
    from linkgraph.spark.captures import positions_of, read_task, replay_task

    files, exported = recaptured
    paths = [str(f) for f in files]
    # Spark names a local file file:/path; the files come in another order than listed.
    contents = [(f"file:{f}", f.read_bytes()) for f in reversed(files)]
    captures = list(read_task(contents, paths, positions_of(paths), ["warc"] * len(paths)))
    parts: list[list[Any]] = [[], []]
    for key, value in captures:
        parts[zlib.crc32(key[0].encode()) % 2].append((key, value))
    for part in parts:
        part.sort(key=lambda kv: kv[0])  # repartitionAndSortWithinPartitions's order
    schemas = dict(zip(("link", "page"), _schemas(pa), strict=True))
    names = [schema.names for schema in schemas.values()]
    tagged = [t for part in parts for t in replay_task(part, *names)]

    def rows(tag: str) -> list[str]:
        # Through Arrow, as Spark writes them, so values compare as the export's read back.
        found = [dict(zip(schemas[tag].names, r, strict=True)) for t, r in tagged if t == tag]
        table = pa.Table.from_pylist(found, schema=schemas[tag])
        return sorted(repr(sorted(row.items())) for row in table.to_pylist())

    assert rows("link") == sorted(table_rows(exported / "links").elements())
    assert rows("page") == sorted(table_rows(exported / "pages").elements())
    assert len(rows("link")) > 100
    assert sorted(entry[2] for t, entry in tagged if t == "file") == sorted(paths)


def test_two_empty_files_count_as_import_warc_counts_them_not_as_a_copy(tmp_path: Path) -> None:
    """Empty files share one file identity, but the import marks a file done only when it
    held records: the second empty file is read (and reported) again, not skipped."""
    from linkgraph.spark.captures import positions_of, read_task
    from linkgraph.spark.extract import _summary
    from linkgraph.warcimport import ArchiveReport, import_archives
    from linkgraph.warcpages import page_of

    files = [tmp_path / "e1.warc", tmp_path / "e2.warc"]
    for f in files:
        f.write_bytes(b"")
    imported = import_archives(
        tmp_path / "s.db", files, fmt="warc", convert=page_of, report=ArchiveReport()
    )
    paths = [str(f) for f in files]
    contents = [(f"file:{f}", f.read_bytes()) for f in files]
    entries = [
        ("file", (key[1], *value))
        for key, value in read_task(contents, paths, positions_of(paths), ["warc", "warc"])
    ]
    summary = _summary(entries)
    assert (summary.files, summary.already) == (imported.files, []) == (2, [])
    assert len(summary.problems) == len(imported.errors) == 2
