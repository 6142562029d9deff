"""``import-warc`` on bad and hostile input: one-line errors, counted skips, escaped text,
never a traceback; and the one-line hint when the reader is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import linkgraph
from linkgraph.cli import main

pytest.importorskip("fastwarc", reason="import-warc needs the warc extra")
pytest.importorskip("warcio", reason="the tests write their archives with warcio")

from warc_support import Rec, page, write_warc

DAY = "2020-01-01T00:00:00Z"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["import-warc", "--quiet", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_a_file_that_is_not_a_warc_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bogus = tmp_path / "notes.warc.gz"
    bogus.write_text("these are my notes\n" * 50)
    code, _, err = run(capsys, "--db", str(tmp_path / "s.db"), str(bogus))
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("linkgraph: error:")]
    assert errors == [f"linkgraph: error: {bogus}: not a WARC file (Invalid WARC header)"]


def test_an_empty_file_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.warc"
    empty.write_bytes(b"")
    code, _, err = run(capsys, "--db", str(tmp_path / "s.db"), str(empty))
    assert code == 1
    assert f"linkgraph: error: {empty}: no WARC records (an empty file?)" in err.splitlines()


def pages(n: int) -> list[Rec]:
    return [Rec(f"http://a.example/{i}", DAY, page(f"http://t.example/{i}") * 20) for i in range(n)]


@pytest.mark.parametrize(
    ("cut", "why"), [(50, "response cut off"), (200, "without Content-Length")]
)
def test_a_truncated_gzip_keeps_the_records_before_the_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int, why: str
) -> None:
    whole = write_warc(tmp_path / "whole.warc.gz", pages(10))
    data = whole.read_bytes()
    # 50 bytes short ends the last record in its body, 200 in its WARC header.
    (tmp_path / "cut.warc.gz").write_bytes(data[: len(data) - cut])
    code, out, err = run(capsys, "--db", str(tmp_path / "s.db"), str(tmp_path / "cut.warc.gz"))
    assert code == 0
    assert "imported 9 pages" in out
    damaged = [line for line in err.splitlines() if "damaged:" in line]
    assert len(damaged) == 1 and why in damaged[0]


def test_a_corrupt_gzip_member_loses_only_its_record(tmp_path: Path) -> None:
    whole = write_warc(tmp_path / "whole.warc.gz", pages(10))
    data = bytearray(whole.read_bytes())
    middle = data.find(b"\x1f\x8b\x08", len(data) // 2)  # a member in the middle
    data[middle + 20 : middle + 60] = bytes(40)
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(bytes(data))
    report = linkgraph.import_warc(tmp_path / "s.db", [bad])
    assert report.pages == 9
    assert report.damaged >= 1


def test_hostile_url_and_anchor_are_escaped_in_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = "\x1b]8;;http://phish.example/\x07click\x1b]8;;\x07\x1b[2J"
    archive = write_warc(
        tmp_path / "evil.warc.gz",
        [
            Rec(f"javascript:{evil}", DAY, page("http://t.example/")),
            Rec("http://a.example/", DAY, f'<a href="http://t.example/">{evil}</a>'.encode()),
        ],
    )
    db = tmp_path / "s.db"
    code, out, err = run(capsys, "--db", str(db), str(archive))
    assert code == 0
    assert "\x1b" not in out + err
    assert "\\x1b" in err  # the bad target URI, shown escaped
    main(["backlinks", "--db", str(db), "http://t.example/", "--format", "csv"])
    listing = capsys.readouterr().out
    assert "\x1b" not in listing and "\x07" not in listing
    # Stored as found: escaping is the output's job.
    assert [r["anchor"] for r in linkgraph.iter_links(db)] == [evil]


def test_without_fastwarc_the_command_says_what_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fastwarc.warc", None)  # import fails as if absent
    archive = tmp_path / "a.warc"
    archive.write_bytes(b"WARC/1.0\r\n")
    db = tmp_path / "s.db"
    code, _out, err = run(capsys, "--db", str(db), str(archive))
    assert code == 1
    assert err.splitlines() == [
        "linkgraph: error: reading web archives needs FastWARC: pip install 'linkgraph[warc]'"
    ]
    assert not db.exists()


def test_a_page_url_longer_than_the_crawlers_limit_is_skipped(tmp_path: Path) -> None:
    long = "http://a.example/" + "x" * 2100
    archive = write_warc(
        tmp_path / "long.warc.gz",
        [Rec(long, DAY, page("http://t.example/")), Rec("http://a.example/", DAY, page())],
    )
    report = linkgraph.import_warc(tmp_path / "s.db", [archive])
    assert report.skipped == {"URL longer than max_url_length": 1}
    assert report.pages == 1
