"""``import-warc`` and ``import-wat`` into a PostgreSQL store store what they store in a
SQLite one: the same real archives (``../shared/corpus/warc-samples``) imported into both,
compared row by row and query by query; a re-import adds nothing, an interrupted one
continues; the captured address is the host's; bad input is the same one-line error."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from backend_rows import answers, busiest_targets, counts, stored
from linkgraph.storage.records import QueueItem

import linkgraph
from linkgraph import warcimport
from linkgraph.cli import main

pytest.importorskip("fastwarc", reason="import-warc needs the warc extra")

pytestmark = pytest.mark.timeout(240)

# Every WARC of the corpus but the whirlwind's WET (plain text, no records of ours).
WARCS = (
    "pywb/example.warc.gz",
    "pywb/example-extra.warc",
    "pywb/example-wget-1-14.warc.gz",
    "pywb/example-wpull.warc.gz",
    "pywb/dupes.warc.gz",
    "pywb/iana.warc.gz",
    "warcio/example.warc.gz",
    "warcio/example-iana.org-chunked.warc",
    "webarchive-commons/IAH-urls-wget.warc.gz",
    "webarchive-commons/link-extraction-test.warc",
    "commoncrawl-whirlwind/whirlwind.warc.gz",
)


@pytest.fixture(scope="module")
def samples(corpus: Path) -> Path:
    return corpus / "warc-samples"


def archives(samples: Path, names: tuple[str, ...]) -> list[Path]:
    return [samples / name for name in names]


@pytest.fixture(scope="module")
def wats(samples: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The corpus's WAT (Common Crawl's, describing a request only) and one describing
    the HTML captures of ``iana.warc.gz``, built as Common Crawl's extractor would."""
    pytest.importorskip("lxml.html")
    from test_wat_import import wat_of_html_captures
    from warc_support import write_warc

    records = wat_of_html_captures(samples / "pywb" / "iana.warc.gz")
    built = write_warc(tmp_path_factory.mktemp("wat") / "iana.warc.wat.gz", records)
    return [samples / "commoncrawl-whirlwind" / "whirlwind.warc.wat.gz", built]


IMPORTS = {"warc": linkgraph.import_warc, "wat": linkgraph.import_wat}


@pytest.mark.parametrize("fmt", IMPORTS)
def test_an_archive_import_stores_the_same_rows_and_answers_on_each_backend(
    samples: Path, tmp_path: Path, pg_url: str, fmt: str, request: pytest.FixtureRequest
) -> None:
    function = IMPORTS[fmt]
    files = archives(samples, WARCS) if fmt == "warc" else request.getfixturevalue("wats")
    sqlite = tmp_path / "archives.db"
    reports = [function(db, files) for db in (sqlite, pg_url)]
    assert reports[1].pages == reports[0].pages > 0
    assert reports[1].links == reports[0].links > 0
    assert reports[1].skipped == reports[0].skipped
    on_sqlite, on_pg = stored(sqlite), stored(pg_url)
    assert on_pg["links"] and on_pg["pages"]
    if fmt == "warc":  # recaptures in it mark links lost, which the comparison covers
        assert any(row[9] is not None for row in on_pg["links"])
    for table in on_sqlite:
        assert on_pg[table] == on_sqlite[table], table
    targets = busiest_targets(sqlite)
    assert answers(pg_url, targets) == answers(sqlite, targets)


def test_each_host_keeps_the_address_it_was_captured_at_on_postgresql(
    samples: Path, pg_url: str
) -> None:
    warcio = pytest.importorskip("warcio.archiveiterator", reason="the independent reader")
    archive = samples / "webarchive-commons" / "IAH-urls-wget.warc.gz"
    addresses: dict[str, str] = {}
    with archive.open("rb") as f:
        for record in warcio.ArchiveIterator(f):
            ip = record.rec_headers.get_header("WARC-IP-Address")
            if record.rec_type == "response" and ip:
                addresses[record.rec_headers.get_header("WARC-Target-URI").split("/")[2]] = ip
    assert addresses  # the file records where each capture came from
    linkgraph.import_warc(pg_url, [archive])
    hosts = {name: ip for name, ip, _ in stored(pg_url)["hosts"] if ip is not None}
    assert hosts == {host: ip for host, ip in addresses.items() if host in hosts}
    assert set(hosts) == set(addresses)


def test_importing_the_same_archives_again_adds_nothing_on_postgresql(
    samples: Path, tmp_path: Path, pg_url: str
) -> None:
    files = archives(samples, WARCS)
    linkgraph.import_warc(pg_url, files)
    before, rows = counts(pg_url), stored(pg_url)
    again = linkgraph.import_warc(pg_url, files)
    assert (again.pages, again.links, again.records) == (0, 0, 0)
    assert again.already == [str(f) for f in files]
    assert counts(pg_url) == before
    assert stored(pg_url) == rows
    # And the store says so as SQLite's does: one `import-archive:` key per file, done.
    keys = [key for key, value in rows["crawl"] if key.startswith("import-archive:warc:")]
    assert len(keys) == len(files)


def test_an_interrupted_import_into_postgresql_continues_to_the_rows_of_one_import(
    samples: Path, tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = samples / "pywb" / "iana.warc.gz"
    once = tmp_path / "once.db"
    linkgraph.import_warc(once, [archive])
    monkeypatch.setattr(warcimport, "_PROGRESS_EVERY", 0.0)

    def stop(report: warcimport.ArchiveReport) -> None:
        if report.records >= 128:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        linkgraph.import_warc(pg_url, [archive], progress=stop)
    half = counts(pg_url)["pages"]
    assert 0 < half < counts(once)["pages"]  # what was read before Ctrl-C is committed
    report = linkgraph.import_warc(pg_url, [archive])
    assert report.resumed == [str(archive)]
    full = stored(once)
    # The resume key differs from one import's by the record count it stopped at: the
    # rest of the store must not.
    on_pg = stored(pg_url)
    on_pg.pop("crawl"), full.pop("crawl")
    assert on_pg == full


def test_an_import_leaves_a_crawls_queue_and_settings_alone_on_postgresql(
    samples: Path, pg_url: str
) -> None:
    from linkgraph.storage.pg.writer import PgWriter

    home = "http://www.iana.org/"  # a page the archive holds
    settings = {"seeds": [home], "max_pages": 10}

    async def crawl_state() -> None:
        async with await PgWriter.open(pg_url) as writer:
            writer.add_queued([QueueItem(home, 0)])
            await writer.save_crawl(settings)

    asyncio.run(crawl_state())
    linkgraph.import_warc(pg_url, [samples / "pywb" / "iana.warc.gz"])
    rows = stored(pg_url)
    assert home in {row[0] for row in rows["pages"]}
    assert rows["frontier"] == [(home, 0, 0)]
    assert linkgraph.api.stored_settings(pg_url) is not None
    assert dict(rows["crawl"])["settings"] == '{"max_pages": 10, "seeds": ["http://www.iana.org/"]}'


def errors(capsys: pytest.CaptureFixture[str], db: str, *paths: str) -> tuple[int, list[str]]:
    code = main(["import-warc", "--quiet", "--db", db, *paths])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, [line for line in err.splitlines() if line.startswith("linkgraph: error:")]


def test_bad_input_is_the_same_one_line_error_on_each_backend(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.warc.gz"
    notes.write_text("these are my notes\n" * 50)
    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    for bad in ([str(notes)], [str(empty)], [str(tmp_path / "missing.warc")], [str(tmp_path)]):
        on_sqlite = errors(capsys, str(tmp_path / "s.db"), *bad)
        on_pg = errors(capsys, pg_url, *bad)
        assert on_sqlite[0] == 1 and len(on_sqlite[1]) == 1, bad
        assert on_pg == on_sqlite, bad
    assert counts(pg_url)["pages"] == 0


def test_the_imports_name_the_store_without_its_password(
    samples: Path, tmp_path: Path, pg_server, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "hunter-two-staple"
    name = pg_url.split("@/", 1)[1].split("?")[0]
    url = pg_server.url(name, user=f"postgres:{secret}")  # trusted: the password is unused
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\nhttp://a.example/,http://t.example/\n")
    for argv in (
        ["import-warc", "--quiet", "--db", url, str(samples / "pywb" / "example.warc.gz")],
        ["import", "--db", url, str(edges)],
    ):
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, err
        assert " into postgresql://postgres:***@/" in out
        assert secret not in out + err
