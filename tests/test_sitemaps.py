"""Sitemap parsing: formats, limits, and hostile or broken input."""

from __future__ import annotations

import gzip
import itertools
import random
import re
import tracemalloc

import pytest
from linkgraph.crawler import sitemaps
from linkgraph.crawler.sitemaps import Sitemap, parse_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*locs: str, ns: str = NS) -> bytes:
    entries = "".join(f"<url><loc>{loc}</loc><lastmod>2024-01-01</lastmod></url>\n" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>\n{entries}</urlset>\n'.encode()


# ----------------------------------------------------------------------------- formats


def test_a_namespaced_urlset() -> None:
    body = urlset("https://example.com/", "https://example.com/a")
    assert parse_sitemap(body) == Sitemap(urls=["https://example.com/", "https://example.com/a"])


def test_a_urlset_without_a_namespace() -> None:
    assert parse_sitemap(urlset("http://example.com/a", ns="")).urls == ["http://example.com/a"]


def test_a_prefixed_namespace_and_attributes() -> None:
    body = b"""<?xml version="1.0"?>
<sm:urlset xmlns:sm="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xsi="x">
  <sm:url id="1"><sm:loc >https://example.com/a</sm:loc ><sm:priority>0.5</sm:priority></sm:url>
</sm:urlset>"""
    assert parse_sitemap(body).urls == ["https://example.com/a"]


def test_a_sitemap_index() -> None:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex {NS}>
  <sitemap><loc>https://example.com/sitemap-1.xml.gz</loc><lastmod>2024-01-01</lastmod></sitemap>
  <sitemap>
    <loc>
      https://example.com/sitemap-2.xml
    </loc>
  </sitemap>
</sitemapindex>""".encode()
    assert parse_sitemap(body) == Sitemap(
        sitemaps=["https://example.com/sitemap-1.xml.gz", "https://example.com/sitemap-2.xml"]
    )


def test_only_locs_of_url_and_sitemap_count() -> None:
    # Image, video and alternate-language extensions have their own URLs; they are not pages.
    body = f"""<urlset {NS} xmlns:image="i" xmlns:xhtml="h" xmlns:video="v">
<url>
  <loc>https://example.com/page</loc>
  <image:image><image:loc>https://cdn.example.com/a.jpg</image:loc></image:image>
  <xhtml:link rel="alternate" hreflang="de" href="https://example.com/de/page"/>
  <video:video><video:content_loc>https://cdn.example.com/v.mp4</video:content_loc></video:video>
</url>
<loc>https://example.com/stray</loc>
</urlset>""".encode()
    assert parse_sitemap(body).urls == ["https://example.com/page"]


def test_urls_are_normalised_and_deduplicated() -> None:
    body = urlset(
        "HTTPS://Example.COM:443/a b",
        "https://example.com/a%20b#frag",
        "https://example.com/b",
    )
    assert parse_sitemap(body).urls == ["https://example.com/a%20b", "https://example.com/b"]


def test_entries_that_are_not_absolute_http_urls_are_skipped() -> None:
    body = urlset(
        "/relative",
        "example.com/no-scheme",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "",
        "https://example.com/ok",
    )
    assert parse_sitemap(body).urls == ["https://example.com/ok"]


def test_gzip() -> None:
    body = gzip.compress(urlset("https://example.com/a"))
    assert parse_sitemap(body).urls == ["https://example.com/a"]


def test_gzip_with_several_members() -> None:
    text = urlset("https://example.com/a", "https://example.com/b")
    middle = text.index(b"<url>", text.index(b"<url>") + 1)
    body = gzip.compress(text[:middle]) + gzip.compress(text[middle:])
    assert parse_sitemap(body).urls == ["https://example.com/a", "https://example.com/b"]


def test_a_plain_text_sitemap() -> None:
    body = (
        b"https://example.com/a\r\n"
        b"  https://example.com/b  \n"
        b"\n"
        b"not a url\r"
        b"/relative\n"
        b"https://example.com/a\n"
        b"http://example.com/c"
    )
    assert parse_sitemap(body) == Sitemap(
        urls=["https://example.com/a", "https://example.com/b", "http://example.com/c"]
    )


def test_a_gzipped_text_sitemap() -> None:
    assert parse_sitemap(gzip.compress(b"https://example.com/a\n")).urls == [
        "https://example.com/a"
    ]


def test_a_utf8_byte_order_mark() -> None:
    assert parse_sitemap(b"\xef\xbb\xbf" + urlset("https://example.com/a")).urls == [
        "https://example.com/a"
    ]


def test_utf16_with_a_byte_order_mark() -> None:
    body = urlset("https://example.com/caf\u00e9").decode().encode("utf-16")
    assert parse_sitemap(body).urls == ["https://example.com/caf%C3%A9"]


def test_a_declared_legacy_encoding() -> None:
    body = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?>'
        b"<urlset><url><loc>https://example.com/caf\xe9</loc></url></urlset>"
    )
    assert parse_sitemap(body).urls == ["https://example.com/caf%C3%A9"]


# ------------------------------------------------------------------ escaping and markup


def test_the_predefined_entities_and_character_references() -> None:
    body = urlset("https://example.com/?a=1&amp;b=&lt;&gt;&quot;&apos;&#38;&#x26;&#65;")
    assert parse_sitemap(body).urls == ["https://example.com/?a=1&b=%3C%3E%22%27&&A"]


def test_other_entities_are_left_alone() -> None:
    assert parse_sitemap(urlset("https://example.com/a&nbsp;b")).urls == [
        "https://example.com/a&nbsp;b"
    ]


def test_bad_character_references_cannot_make_a_fragment() -> None:
    body = urlset("https://example.com/a&#0;b&#xD800;c&#x110000;d")
    assert parse_sitemap(body).urls == ["https://example.com/a%EF%BF%BDb%EF%BF%BDc%EF%BF%BDd"]


def test_cdata_is_taken_verbatim() -> None:
    body = urlset("<![CDATA[https://example.com/?a=1&b=2]]>", "https://example.com/<![CDATA[x]]>")
    assert parse_sitemap(body).urls == ["https://example.com/?a=1&b=2", "https://example.com/x"]


def test_comments_are_skipped() -> None:
    body = f"""<urlset {NS}>
<!-- <url><loc>https://example.com/commented-out</loc></url> -->
<url><loc>https://example.com/a<!-- inside -->b</loc></url>
</urlset>""".encode()
    assert parse_sitemap(body).urls == ["https://example.com/ab"]


def test_entity_expansion_never_happens() -> None:
    # "Billion laughs": a conforming XML parser would expand &lol9; to 10^9 "lol"s.
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{entities}'
        '<!ENTITY page "<url><loc>https://evil.example/</loc></url>">'
        '<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
        f"<urlset {NS}><url><loc>https://example.com/&lol9;</loc></url>&page;&ext;</urlset>"
    ).encode()
    result = parse_sitemap(body)
    # Expanded, the loc would be 3 * 10^9 characters (and skipped as too long); neither
    # &page; nor the external &ext; adds a URL.
    assert result.urls == ["https://example.com/&lol9;"] and result.sitemaps == []


# ---------------------------------------------------------------------------- limits


def test_max_urls_bounds_the_result() -> None:
    body = urlset(*(f"https://example.com/{i}" for i in range(100)))
    result = parse_sitemap(body, max_urls=10)
    assert result.urls == [f"https://example.com/{i}" for i in range(10)]
    assert result.truncated
    assert not parse_sitemap(body, max_urls=100).truncated


def test_max_urls_counts_child_sitemaps_too() -> None:
    locs = "".join(f"<sitemap><loc>https://example.com/s{i}.xml</loc></sitemap>" for i in range(5))
    result = parse_sitemap(f"<sitemapindex>{locs}</sitemapindex>".encode(), max_urls=3)
    assert len(result.sitemaps) == 3
    assert result.truncated


def test_max_urls_bounds_a_text_sitemap() -> None:
    body = b"".join(b"https://example.com/%d\n" % i for i in range(100))
    result = parse_sitemap(body, max_urls=7)
    assert len(result.urls) == 7
    assert result.truncated


def test_the_sitemaps_org_default_of_50000() -> None:
    body = b"".join(b"https://example.com/%d\n" % i for i in range(50_001))
    result = parse_sitemap(body)
    assert len(result.urls) == 50_000
    assert result.truncated


def test_max_bytes_bounds_a_plain_body() -> None:
    body = urlset("https://example.com/a", "https://example.com/b")
    cut = parse_sitemap(body, max_bytes=body.index(b"https://example.com/b"))
    assert cut.urls == ["https://example.com/a"]
    assert cut.truncated


def test_a_gzip_bomb_is_inflated_only_up_to_max_bytes() -> None:
    # 200 MiB of zeros compress to about 200 KB; inflating them whole would take 200 MiB.
    bomb = gzip.compress(bytes(200 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 1024 * 1024
    limit = 8 * 1024 * 1024
    tracemalloc.start()
    try:
        result = parse_sitemap(bomb, max_bytes=limit)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result == Sitemap(truncated=True)
    assert peak < 3 * limit


def test_a_gzip_bomb_after_real_entries_keeps_them() -> None:
    head = f"<urlset {NS}><url><loc>https://example.com/a</loc></url><url><loc>".encode()
    body = gzip.compress(head + b"x" * (20 * 1024 * 1024))
    result = parse_sitemap(body, max_bytes=1024 * 1024)
    assert result.urls == ["https://example.com/a"]
    assert result.truncated


def test_a_cut_gzip_download_keeps_its_complete_entries() -> None:
    body = gzip.compress(urlset(*(f"https://example.com/{i}" for i in range(1000))))
    result = parse_sitemap(body[: len(body) // 2])
    assert 0 < len(result.urls) < 1000
    assert result.urls == [f"https://example.com/{i}" for i in range(len(result.urls))]


def test_a_long_loc_is_skipped() -> None:
    body = urlset("https://example.com/" + "a" * 20_000, "https://example.com/short")
    assert parse_sitemap(body).urls == ["https://example.com/short"]


# ------------------------------------------------------------------------------ junk


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n\t ",
        b"\x1f\x8b",
        b"\x1f\x8bnot really gzip",
        b"<html><head><title>404</title></head><body>Not found</body></html>",
        b"<urlset><url><loc>https://example.com/a",
        b"<urlset><url><loc><![CDATA[https://example.com/a",
        b"<urlset><!-- never closed <url><loc>https://example.com/a</loc></url>",
        b"<!DOCTYPE x [ <!ENTITY a 'b'>",
        b"<<<<>>>><loc></loc><url><loc/></url></loc></url>",
        b"<url><loc><b>https://example.com/a</b></loc></url>",
        b"\x00\xff\xfe\x00<\x00u\x00",
        b"<?xml version='1.0' encoding='no-such-codec'?><urlset/>",
        b"<?xml version='1.0' encoding='utf-16'?><urlset/>",
    ],
)
def test_junk_yields_nothing_and_never_raises(body: bytes) -> None:
    result = parse_sitemap(body)
    assert result.urls == [] and result.sitemaps == []


def test_random_bytes_never_raise_and_yield_nothing() -> None:
    # Seeded, so a failure reproduces. The bytes hold no "http", so no URL can come out.
    rng = random.Random(20240101)
    for size in (1, 10, 100, 10_000, 100_000):
        data = rng.randbytes(size)
        assert b"http" not in data.lower()
        for body in (data, b"<urlset>" + data, b"\x1f\x8b" + data):
            result = parse_sitemap(body)
            assert (result.urls, result.sitemaps) == ([], []), (size, body[:10])


class Scanned:
    """Bytes searched by the XML scanner: by its markup pattern and by ``bytes.find``.

    A work count instead of a clock: each search is charged from where it starts to
    where it stops (the end of its match, or of the body when it finds nothing).
    """

    def __init__(self) -> None:
        self.bytes = 0
        self.starts: list[int] = []


def count_scanning(monkeypatch: pytest.MonkeyPatch) -> Scanned:
    scanned = Scanned()
    pattern, scan_xml = sitemaps._MARKUP, sitemaps._scan_xml

    class Pattern:
        def search(self, body: bytes, pos: int) -> re.Match[bytes] | None:
            match = pattern.search(body, pos)
            scanned.starts.append(pos)
            scanned.bytes += (match.end() if match else len(body)) - pos
            return match

    class Body(bytes):
        def find(self, sub: bytes, start: int = 0, end: int | None = None) -> int:  # type: ignore[override]
            stop = len(self) if end is None else end
            found = super().find(sub, start, stop)
            scanned.bytes += (stop if found < 0 else found + len(sub)) - start
            return found

    def counted_scan_xml(body: bytes, *args: object) -> None:
        scan_xml(Body(body), *args)

    monkeypatch.setattr(sitemaps, "_MARKUP", Pattern())
    monkeypatch.setattr(sitemaps, "_scan_xml", counted_scan_xml)
    return scanned


@pytest.mark.parametrize(
    ("body", "urls"),
    [
        (b"<" * 2_000_000, []),
        (b"<loc><![CDATA[" * 200_000, []),
        (b"<a " * 500_000, []),
        (b"<!--" * 500_000, []),
        (b"<url>" * 200_000 + b"<loc>https://example.com/deep</loc>", ["https://example.com/deep"]),
        (b"</url>" * 200_000, []),
        (b"<url><loc>" + b"a" * 2_000_000, []),
        (b"<!DOCTYPE x [" * 200_000, []),
    ],
)
def test_pathological_markup_is_scanned_in_linear_work(
    body: bytes, urls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Quadratic behaviour would search the rest of the body again for each "<": here it
    # would be ~10^11 bytes. A linear scan searches each byte at most twice (a declaration
    # is searched for both its ">" and its "["), and each markup search starts after the
    # last one.
    scanned = count_scanning(monkeypatch)
    result = parse_sitemap(body)
    assert (result.urls, result.sitemaps) == (urls, [])
    assert 0 < scanned.bytes <= 2 * len(body)
    assert all(a < b for a, b in itertools.pairwise(scanned.starts)), "the scan went back"


def test_the_cut_last_line_of_a_text_sitemap_is_dropped() -> None:
    body = b"https://example.com/first\nhttps://example.com/second-page\n"
    cut = parse_sitemap(body, max_bytes=body.index(b"-page"))
    assert cut.urls == ["https://example.com/first"]
    assert cut.truncated
    download = gzip.compress(body * 2000)
    result = parse_sitemap(download[: len(download) // 2])
    assert set(result.urls) == {"https://example.com/first", "https://example.com/second-page"}
