"""Reading a WARC stays bounded in work and memory whatever a record holds: many tiny
chunks, a compression bomb, a block far larger than the page size cap."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from linkgraph import warcread
from linkgraph.warcread import MAX_BODY, dechunk, decode_content, read_archive

pytest.importorskip("fastwarc", reason="reading WARC needs the warc extra")
pytest.importorskip("warcio", reason="the tests write their archives with warcio")

from warc_support import Rec, write_warc


def test_dechunk_does_linear_work_in_the_number_of_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0

    def counting_len(obj: object) -> int:
        nonlocal calls
        calls += 1
        return len(obj)  # type: ignore[arg-type]

    # Every len() the module makes goes through the counter (module globals come first).
    monkeypatch.setattr(warcread, "len", counting_len, raising=False)
    chunks = 3000
    body = dechunk(b"1\r\nx\r\n" * chunks + b"0\r\n\r\n")
    assert body == b"x" * chunks
    assert calls <= 4 * chunks  # summing every chunk so far per chunk made it ~chunks**2 / 2


def test_a_brotli_bomb_inflates_no_further_than_the_page_cap() -> None:
    brotli = pytest.importorskip("brotli")
    bomb = brotli.compress(b"\0" * (100 << 20), quality=1)  # ~19 KB in, 100 MB out
    tracemalloc.start()
    try:
        body = decode_content(bomb, "br")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert body == b"\0" * MAX_BODY
    assert peak < 3 * MAX_BODY


def test_a_huge_record_is_read_through_without_holding_its_block(tmp_path: Path) -> None:
    big = 100 << 20
    archive = write_warc(
        tmp_path / "video.warc",
        [
            Rec(
                "http://a.example/v",
                "2024-01-01T00:00:00Z",
                b"v" * big,
                headers=[("Content-Type", "video/mp4")],
            ),
            Rec("http://a.example/", "2024-01-01T00:00:00Z", b"<a href=/v>v</a>"),
        ],
        gzip=False,
    )
    tracemalloc.start()
    try:
        with archive.open("rb") as stream:
            captures = list(read_archive(stream))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [c.url for c in captures] == ["http://a.example/v", "http://a.example/"]
    video = captures[0]
    assert isinstance(video, warcread.Capture)
    assert video.size == big  # the payload's full length is still reported
    assert video.body == b"v" * MAX_BODY
    assert peak < 4 * MAX_BODY  # the block alone was 100 MB
