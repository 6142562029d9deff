"""``import-warc`` over time: capture dates, recaptures, older captures, re-imports,
resuming, and leaving a crawl's own state alone. The archives are written in the test."""

from __future__ import annotations

import asyncio
import gzip
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from linkgraph.storage.records import QueueItem
from linkgraph.storage.writer import StoreWriter

import linkgraph
from linkgraph import warcimport

pytest.importorskip("fastwarc", reason="import-warc needs the warc extra")
pytest.importorskip("warcio", reason="the tests write their archives with warcio")

from warc_support import Rec, page, row_counts, write_warc

A = "http://a.example/"


def stamp(day: str) -> str:
    return f"{day}T00:00:00Z"


def iso(day: str) -> str:
    return datetime.fromisoformat(stamp(day)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def links_of(db: Path) -> dict[str, dict]:
    return {
        r["target"]: r for r in linkgraph.iter_links(db, include_lost=True) if r["kind"] == "link"
    }


def test_captures_in_date_order_give_first_and_last_seen_and_lost_links(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    first = write_warc(
        tmp_path / "2020.warc.gz",
        [Rec(A, stamp("2020-01-01"), page("http://t.example/x", "http://t.example/y"))],
    )
    second = write_warc(
        tmp_path / "2021.warc.gz", [Rec(A, stamp("2021-01-01"), page("http://t.example/x"))]
    )
    linkgraph.import_warc(db, [first])
    linkgraph.import_warc(db, [second])
    links = links_of(db)
    kept, gone = links["http://t.example/x"], links["http://t.example/y"]
    assert (kept["first_seen"], kept["last_seen"], kept["lost_at"]) == (
        iso("2020-01-01"),
        iso("2021-01-01"),
        None,
    )
    assert (gone["lost_at"], gone["lost_reason"]) == (iso("2021-01-01"), "removed")
    changes = linkgraph.changes(db, "t.example", since="2020-06-01")["links"]
    assert [(c["target"], c["change"], c["date"]) for c in changes] == [
        ("http://t.example/y", "lost", iso("2021-01-01"))
    ]


def test_older_capture_is_skipped_and_marks_nothing_lost(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    newer = write_warc(
        tmp_path / "2021.warc.gz", [Rec(A, stamp("2021-01-01"), page("http://t.example/x"))]
    )
    older = write_warc(
        tmp_path / "2019.warc.gz", [Rec(A, stamp("2019-01-01"), page("http://t.example/z"))]
    )
    linkgraph.import_warc(db, [newer])
    report = linkgraph.import_warc(db, [older])
    assert (report.older, report.pages) == (1, 0)
    links = links_of(db)
    assert set(links) == {"http://t.example/x"}
    assert links["http://t.example/x"]["lost_at"] is None


def test_revisit_is_a_recapture_with_the_original_links(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    archive = write_warc(
        tmp_path / "r.warc.gz",
        [
            Rec(A, stamp("2020-01-01"), page("http://t.example/x")),
            Rec(A, stamp("2022-01-01"), kind="revisit"),
            # A revisit of a page never captured has no links to count.
            Rec("http://b.example/", stamp("2022-01-01"), kind="revisit"),
        ],
    )
    report = linkgraph.import_warc(db, [archive])
    assert (report.pages, report.recaptures) == (2, 1)
    assert report.skipped == {"revisit without an imported capture": 1}
    link = links_of(db)["http://t.example/x"]
    assert (link["first_seen"], link["last_seen"]) == (iso("2020-01-01"), iso("2022-01-01"))


def test_redirect_and_missing_page_are_recorded_like_a_crawl(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    archive = write_warc(
        tmp_path / "x.warc.gz",
        [
            Rec(A, stamp("2020-01-01"), status=301, headers=[("Location", "/new")]),
            Rec("http://a.example/gone", stamp("2020-01-01"), b"no", status=404),
            Rec(
                "http://a.example/style.css",
                stamp("2020-01-01"),
                b"a{}",
                headers=[("Content-Type", "text/css")],
            ),
        ],
    )
    report = linkgraph.import_warc(db, [archive])
    assert report.skipped == {"not HTML": 1}
    with sqlite3.connect(db) as conn:
        pages = dict(
            conn.execute("SELECT u.url, p.status FROM pages p JOIN urls u ON u.id = p.url_id")
        )
    assert pages == {A: 301, "http://a.example/gone": 404}
    redirects = [r for r in linkgraph.iter_links(db) if r["kind"] == "redirect"]
    assert [(r["source"], r["target"]) for r in redirects] == [(A, "http://a.example/new")]


def test_importing_a_file_twice_adds_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    archive = write_warc(
        tmp_path / "a.warc.gz",
        [
            Rec(f"http://a.example/{i}", stamp("2020-01-01"), page(f"http://t.example/{i}"))
            for i in range(5)
        ],
    )
    linkgraph.import_warc(db, [archive])
    before = row_counts(db)
    report = linkgraph.import_warc(db, [archive])
    assert report.already == [str(archive)]
    assert report.pages == 0
    assert row_counts(db) == before


def many_pages(n: int) -> list[Rec]:
    return [
        Rec(
            f"http://s{i % 7}.example/{i}",
            stamp("2020-01-01"),
            page(f"http://t.example/{i}", f"http://t.example/{i + 1}"),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("layout", ["member-per-record", "whole-file-gzip", "plain"])
def test_interrupted_import_resumes_to_the_same_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    archive = tmp_path / "many.warc"
    write_warc(archive, many_pages(600), gzip=layout == "member-per-record")
    if layout == "whole-file-gzip":
        whole = tmp_path / "many.warc.gz"
        whole.write_bytes(gzip.compress(archive.read_bytes()))
        archive = whole
    once = tmp_path / "once.db"
    linkgraph.import_warc(once, [archive])

    monkeypatch.setattr(warcimport, "_PROGRESS_EVERY", 0.0)

    def stop(report: warcimport.ArchiveReport) -> None:
        if report.records >= 300:
            raise KeyboardInterrupt

    db = tmp_path / "twice.db"
    with pytest.raises(KeyboardInterrupt):
        linkgraph.import_warc(db, [archive], progress=stop)
    half = row_counts(db)["pages"]
    assert 200 <= half < 600  # what was read before Ctrl-C is committed
    report = linkgraph.import_warc(db, [archive])
    assert report.resumed == [str(archive)]
    assert report.pages == 600 - half
    assert row_counts(db) == row_counts(once)


def test_import_leaves_a_crawls_queue_and_settings_alone(tmp_path: Path) -> None:
    db = tmp_path / "crawl.db"
    settings = {"seeds": [A], "max_pages": 10}

    async def crawl_state() -> None:
        async with await StoreWriter.open(db) as writer:
            writer.add_queued([QueueItem(A, 0)])
            await writer.save_crawl(settings)

    asyncio.run(crawl_state())
    archive = write_warc(
        tmp_path / "a.warc.gz", [Rec(A, stamp("2020-01-01"), page("http://t.example/"))]
    )
    linkgraph.import_warc(db, [archive])
    with sqlite3.connect(db) as conn:
        queued = [
            u
            for (u,) in conn.execute("SELECT u.url FROM frontier f JOIN urls u ON u.id = f.url_id")
        ]
        (saved,) = conn.execute("SELECT value FROM crawl WHERE key = 'settings'").fetchone()
    assert queued == [A]
    assert json.loads(saved) == settings
