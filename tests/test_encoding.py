"""crawler.encoding: the charset a browser would pick, and whether a body is HTML."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from linkgraph.crawler.encoding import decode_html, encoding_from_label, is_html

# -- decode_html: the order of the rules ----------------------------------------------------


def test_header_charset_iso_8859_1_is_windows_1252() -> None:
    assert decode_html(b"caf\xe9", "text/html; charset=ISO-8859-1") == ("café", "windows-1252")


def test_windows_1252_smart_quotes_and_euro() -> None:
    # 0x80-0x9F are printable in windows-1252 (and so in "iso-8859-1" on the web).
    text, name = decode_html(b"\x93quoted\x94 \x96 \x80 5", "text/html; charset=iso-8859-1")
    assert (text, name) == ("\u201cquoted\u201d \u2013 \u20ac 5", "windows-1252")


def test_windows_1252_holes_are_c1_controls_not_replacement() -> None:
    text, _ = decode_html(b"a\x81b\x8dc\x9dd", "text/html; charset=windows-1252")
    assert text == "a\x81b\x8dc\x9dd"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html;charset=utf-8",
        "text/html; Charset=UTF-8",
        'text/html; charset="utf-8"',
        "text/html; foo=bar; charset=utf8 ",
    ],
)
def test_header_charset_spellings(content_type: str) -> None:
    assert decode_html("über".encode(), content_type) == ("über", "utf-8")


def test_header_wins_over_meta() -> None:
    body = b'<meta charset="utf-8"><p>caf\xe9'
    assert decode_html(body, "text/html; charset=windows-1252")[1] == "windows-1252"


@pytest.mark.parametrize(
    ("bom", "encoded"),
    [
        (b"\xef\xbb\xbf", "<p>café</p>".encode()),
        (b"\xff\xfe", "<p>café</p>".encode("utf-16-le")),
        (b"\xfe\xff", "<p>café</p>".encode("utf-16-be")),
    ],
)
def test_bom_wins_over_header_and_is_removed(bom: bytes, encoded: bytes) -> None:
    text, _ = decode_html(bom + encoded, "text/html; charset=windows-1252")
    assert text == "<p>café</p>"


def test_bom_names() -> None:
    assert decode_html(b"\xff\xfe<\x00", None)[1] == "utf-16le"
    assert decode_html(b"\xfe\xff\x00<", None)[1] == "utf-16be"
    assert decode_html(b"\xef\xbb\xbf<", None)[1] == "utf-8"


@pytest.mark.parametrize(
    "head",
    [
        b'<meta charset="windows-1251">',
        b"<meta charset=windows-1251>",
        b"<META CHARSET='cp1251' >",
        b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
        b"<meta content='text/html;charset=\"windows-1251\"' http-equiv=content-type>",
        b"<!DOCTYPE html><html><head><title>t</title><meta charset=x-cp1251>",
    ],
)
def test_meta_prescan(head: bytes) -> None:
    body = head + "<p>Привет</p>".encode("cp1251")
    text, name = decode_html(body, "text/html")
    assert name == "windows-1251"
    assert text.endswith("<p>Привет</p>")


def test_meta_http_equiv_content_without_pragma_is_ignored() -> None:
    # A content="...charset=" counts only together with http-equiv="content-type".
    body = b'<meta name="description" content="charset=windows-1251"><p>caf\xc3\xa9'
    assert decode_html(body, None)[1] == "utf-8"


def test_meta_inside_comment_is_ignored() -> None:
    body = b'<!-- <meta charset="koi8-r"> --><p>caf\xc3\xa9</p>'
    assert decode_html(body, None) == ('<!-- <meta charset="koi8-r"> --><p>café</p>', "utf-8")


def test_meta_late_in_a_long_head_is_found() -> None:
    # Browsers honour a <meta charset> the parser reaches after the 1024-byte prescan.
    body = b"<head><script>" + b"x=1;" * 500 + b'</script><meta charset="iso-8859-1"><p>caf\xe9'
    assert decode_html(body, None) == (body.decode("cp1252"), "windows-1252")


def test_meta_saying_utf16_means_utf8() -> None:
    body = '<meta charset="utf-16"><p>café'.encode()
    assert decode_html(body, None) == ('<meta charset="utf-16"><p>café', "utf-8")


def test_unknown_header_label_falls_back_to_meta() -> None:
    body = b'<meta charset="iso-8859-15"><p>\xa4'
    assert decode_html(body, "text/html; charset=no-such-thing") == (
        '<meta charset="iso-8859-15"><p>€',
        "iso-8859-15",
    )


def test_utf8_default_then_windows_1252() -> None:
    assert decode_html("<p>Grüße".encode(), None) == ("<p>Grüße", "utf-8")
    assert decode_html(b"<p>Gr\xfc\xdfe", None) == ("<p>Grüße", "windows-1252")
    assert decode_html(b"", None) == ("", "utf-8")


def test_body_cut_inside_a_character_is_still_utf8() -> None:
    body = "<p>naïve ü".encode()[:-1]  # the size cap cut the last "ü" in half
    text, name = decode_html(body, None)
    assert name == "utf-8"
    assert text == "<p>naïve \ufffd"


def test_gbk_label_decodes_with_gb18030() -> None:
    body = b'<meta charset="gb2312">' + "话剧".encode("gb18030")
    assert decode_html(body, None) == ('<meta charset="gb2312">话剧', "gbk")


@pytest.mark.parametrize(
    "body",
    [
        bytes(range(256)),
        b"\xff\xfe\x00",  # a UTF-16 BOM and an odd byte
        b"<meta charset=utf-8>\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc",
        b"<meta charset=shift_jis>\x81\x00\xff\xfe",
        b"<meta charset=euc-kr>\xc9\xff",
        b"<meta charset=iso-2022-jp>\x1b$B\xff",
        b"<meta charset=big5>\xa4",
        b"<meta charset=",
        b"<meta",
        b"<!--",
        b"<meta charset='unterminated",
    ],
)
def test_garbage_never_raises(body: bytes) -> None:
    text, name = decode_html(body, None)
    assert isinstance(text, str)
    assert encoding_from_label(name) is not None


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("latin1", "windows-1252"),
        ("US-ASCII", "windows-1252"),
        ("ascii", "windows-1252"),
        ("iso-8859-9", "windows-1254"),
        ("tis-620", "windows-874"),
        ("sjis", "shift_jis"),
        ("ks_c_5601-1987", "euc-kr"),
        ("utf-16", "utf-16le"),
        ("x-mac-roman", "macintosh"),
        ("\tUTF8 ", "utf-8"),
    ],
)
def test_whatwg_labels(label: str, name: str) -> None:
    found = encoding_from_label(label)
    assert found is not None and found[0] == name


@pytest.mark.parametrize("label", ["utf-32", "latin-1", "hz-gb-2312", "iso-2022-kr", "", "rot13"])
def test_labels_the_web_does_not_know(label: str) -> None:
    assert encoding_from_label(label) is None


def test_corpus_pages_decode_without_new_replacement_characters(corpus: Path) -> None:
    # Every page of the real-page corpus declares or implies its charset correctly except
    # one that says UTF-8 and is not (browsers show U+FFFD there too). Some pages hold
    # U+FFFD in their own UTF-8 bytes, mangled before they were saved; those stay.
    lying = {"eval/der-erfolg-gibt-recht.de.rinderleber.html.gz"}
    root = corpus / "html-trafilatura"
    names: dict[str, int] = {}
    for line in (root / "urls.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        file = line.split("\t")[1]
        body = gzip.decompress((root / file).read_bytes())
        text, name = decode_html(body, None)
        names[name] = names.get(name, 0) + 1
        if file not in lying:
            assert text.count("\ufffd") == body.count("\ufffd".encode()), file
    assert names == {"utf-8": 221, "windows-1252": 8, "gbk": 1}


# -- is_html ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/html", "TEXT/HTML; charset=utf-8", " text/html ;", "application/xhtml+xml"],
)
def test_declared_html(content_type: str) -> None:
    assert is_html(content_type, b"")


@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "application/pdf",
        "text/css",
        "application/json",
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "text/htmlx",
    ],
)
def test_declared_other_types_are_not_html_even_if_they_look_it(content_type: str) -> None:
    assert not is_html(content_type, b"<!DOCTYPE html><html>")


@pytest.mark.parametrize(
    "head",
    [
        b"<!DOCTYPE html>",
        b"<!doctype HTML PUBLIC '-//W3C//DTD HTML 4.01//EN'>",
        b"  \r\n\t<html lang=en>",
        b"<HEAD>",
        b"<body>",
        b"<a href=x>",
        b"<p>hello",
        b"<div class=x>",
        b"<title>t</title>",
        b"<script>",
        b"<!-- comment -->",
        b"<table>",
        b"<br>",
        b"<b>bold",
        b"<h1>",
        b"<iframe src=x>",
        b"<font size=2>",
        b"<style>",
        b"\xef\xbb\xbf<html>",
        b"\xff\xfe" + "<html>".encode("utf-16-le"),
        b"<html\n lang=en>",
    ],
)
def test_sniffed_html(head: bytes) -> None:
    assert is_html(None, head)
    assert is_html("", head)


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"   ",
        b"\x89PNG\r\n\x1a\n",
        b"%PDF-1.7",
        b"GIF89a",
        b"\xff\xd8\xff\xe0",
        b'{"a": 1}',
        b"body { color: red }",
        b"<?xml version='1.0'?><rss>",
        b"<svg xmlns='http://www.w3.org/2000/svg'>",
        b"<abbr>",  # "<a" must end the tag name
        b"<pre>",  # "<p" likewise
        b"<htmlx>",
        b"hello <html>",
        b"<!--x",  # the comment pattern needs a terminator too
    ],
)
def test_sniffed_not_html(head: bytes) -> None:
    assert not is_html(None, head)


def test_unknown_content_types_are_sniffed() -> None:
    assert is_html("unknown/unknown", b"<html>")
    assert is_html("*/*", b"<html>")
    assert not is_html("unknown/unknown", b"%PDF-1.4")
