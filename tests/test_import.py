"""``linkgraph import`` of exports in other encodings: detection, --encoding, errors."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest
from linkgraph.crawler.settings import SettingsError

import linkgraph
from linkgraph.cli import main
from linkgraph.importer import detect_encoding

SMART = "\u201ccaf\u00e9\u201d \u2014 cr\u00e8me br\u00fbl\u00e9e"  # “café” — crème brûlée
WIDE = "\u00dcn\u00efcode \u2013 \u2603 \u65e5\u672c"  # Ünïcode – ☃ 日本
CAFE_LATIN1 = b"source,target\nhttps://a.example/,https://t.example/caf\xe9\n"


def anchors_by_source(db: Path) -> dict[str, str]:
    return {r["source"]: r["anchor"] for r in linkgraph.iter_links(db)}


def assert_reads_the_wide_anchor(tmp_path: Path, data: bytes, name: str) -> None:
    """Importing DATA, saved as NAME, stores its one link with the anchor WIDE intact."""
    edges = tmp_path / name
    edges.write_bytes(data)
    db = tmp_path / "i.db"
    result = linkgraph.import_links(db, edges)
    assert result.links == 1
    assert anchors_by_source(db) == {"https://a.example/": WIDE}


def import_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes, *flags: str
) -> str:
    """``linkgraph import [FLAGS] edges.csv`` of DATA fails: its one line of error.

    The store is not created: a file that cannot be read leaves nothing half-imported.
    """
    edges = tmp_path / "edges.csv"
    edges.write_bytes(data)
    db = tmp_path / "i.db"
    assert main(["import", "--db", str(db), *flags, str(edges)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert not db.exists()
    return err


def test_cp1252_csv_with_smart_quotes_is_read_as_cp1252(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (
        "source,target,anchor\r\n"
        f"https://a.example/,https://t.example/,{SMART}\r\n"
        "https://b.example/,https://t.example/,plain\r\n"
    ).encode("cp1252")
    assert b"\x93caf\xe9\x94 \x97 " in data  # real Windows-1252 bytes, not UTF-8
    csv_file = tmp_path / "export.csv"
    csv_file.write_bytes(data)
    db = tmp_path / "i.db"

    assert main(["import", "--db", str(db), str(csv_file)]) == 0

    assert anchors_by_source(db) == {"https://a.example/": SMART, "https://b.example/": "plain"}
    assert "read as cp1252" in capsys.readouterr().out


def test_utf16_le_tsv_with_bom_as_excel_writes_it(tmp_path: Path) -> None:
    text = (
        "Referring page URL\tTarget URL\tAnchor\r\n"
        f"https://a.example/p\thttps://t.example/\t{WIDE}\r\n"
        f"https://b.example/q\thttps://t.example/x\t{SMART}\r\n"
    )
    tsv = tmp_path / "ahrefs.tsv"
    tsv.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    db = tmp_path / "i.db"

    assert main(["import", "--db", str(db), str(tsv)]) == 0

    assert anchors_by_source(db) == {"https://a.example/p": WIDE, "https://b.example/q": SMART}


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_byte_order_marks_choose_the_encoding(tmp_path: Path, bom: bytes, codec: str) -> None:
    text = f"source,target,anchor\nhttps://a.example/,https://t.example/,{WIDE}\n"
    assert_reads_the_wide_anchor(tmp_path, bom + text.encode(codec), "edges.csv")


def test_unknown_encoding_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b"https://a.example/,https://t.example/\n"
    err = import_error(capsys, tmp_path, data, "--encoding", "klingon-8")
    assert err.startswith("linkgraph: error: unknown text encoding 'klingon-8'")


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "zlib"])
def test_a_codec_that_is_not_a_text_encoding_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str
) -> None:
    err = import_error(capsys, tmp_path, CAFE_LATIN1, "--encoding", codec)
    assert err.startswith(f"linkgraph: error: unknown text encoding '{codec}'")


@pytest.mark.parametrize("codec", ["utf-16", "idna"])
def test_a_file_the_stated_codec_cannot_start_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str
) -> None:
    # utf-16 without a byte-order mark refuses the first bytes; idna fails on its own terms.
    err = import_error(capsys, tmp_path, CAFE_LATIN1, "--encoding", codec)
    assert err.startswith("linkgraph: error: ") and f"is not valid {codec} text" in err


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_recognised(tmp_path: Path, codec: str) -> None:
    text = f"source\ttarget\tanchor\nhttps://a.example/\thttps://t.example/\t{WIDE}\n"
    assert_reads_the_wide_anchor(tmp_path, text.encode(codec), "edges.tsv")


def test_undecodable_byte_is_a_one_line_error_naming_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 0x81 is undefined in Windows-1252 and invalid in UTF-8: neither can read line 3.
    data = (
        b"source,target,anchor\n"
        b"https://a.example/,https://t.example/,caf\xe9\n"
        b"https://b.example/,https://t.example/,bad \x81 byte\n"
    )
    err = import_error(capsys, tmp_path, data)
    edges = tmp_path / "edges.csv"
    assert err.startswith(f"linkgraph: error: {edges}: line 3 is not valid cp1252 text")


def test_stated_encoding_wins_and_its_errors_name_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edges = tmp_path / "edges.csv"
    edges.write_bytes(
        b"https://a.example/,https://t.example/,ok\nhttps://b.example/,https://t.example/,caf\xe9\n"
    )
    db = tmp_path / "i.db"
    assert main(["import", "--db", str(db), "--encoding", "utf-8", str(edges)]) == 1
    assert "line 2 is not valid utf-8 text" in capsys.readouterr().err
    assert main(["import", "--db", str(db), "--encoding", "latin-1", str(edges)]) == 0
    assert anchors_by_source(db)["https://b.example/"] == "caf\u00e9"


def test_bad_line_number_is_counted_across_read_chunks() -> None:
    # ~40 bytes a line: line 60,000 lies past the first 1 MiB chunk the check reads.
    lines = [f"https://a.example/{i},https://t.example/\n".encode() for i in range(1, 70_001)]
    lines[59_999] = b"https://a.example/x,https://t.example/,\xff\n"
    raw = io.BytesIO(b"".join(lines))
    assert sum(len(line) for line in lines[:59_999]) > 1 << 20
    with pytest.raises(SettingsError, match="line 60000 "):
        detect_encoding(raw, "big.csv", "utf-8")
