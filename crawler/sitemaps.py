"""Bounded sitemap parsing: urlset and sitemap-index XML, gzip, and plain-text sitemaps.

Sitemaps come from strangers, so every step has a bound. Gzip is inflated only up to
``max_bytes`` (a 50 KiB bomb that inflates to gigabytes stops there). The XML is not given
to an XML parser: a forward scan over the bytes picks out ``<loc>`` elements whose parent
is ``<url>`` or ``<sitemap>``, so no entity is ever expanded (no "billion laughs"), no DTD
or external resource is read, and a malformed file yields what it has instead of failing.
The scan never steps back, so it is linear in the input, and it stops at ``max_urls``.

Only the five predefined entities and numeric character references are decoded, as a
conforming parser would; CDATA sections are taken verbatim; comments are skipped.
"""

from __future__ import annotations

import codecs
import re
import zlib
from dataclasses import dataclass, field

from .urls import normalize

__all__ = ["Sitemap", "parse_sitemap"]

_GZIP_MAGIC = b"\x1f\x8b"
# sitemaps.org caps a <loc> at 2,048 characters; allow for escaping and some excess.
_MAX_LOC_BYTES = 8192
# Deeper nesting than this means a broken or hostile file; we stop tracking it.
_MAX_DEPTH = 64

# A comment, a CDATA section, a declaration or processing instruction, or a tag.
_MARKUP = re.compile(rb"<(?:(!--)|(!\[CDATA\[)|[!?]|(/?)([A-Za-z_][\w.:-]*)([^<>]*)>)")
_XML_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_INTERNAL_SUBSET_END = re.compile(rb"\]\s*>")
_REFERENCE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|lt|gt|amp|quot|apos);")
_PREDEFINED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_LINE = re.compile(rb"[^\r\n]+")
_NON_SPACE = re.compile(rb"\S")


@dataclass(slots=True)
class Sitemap:
    """What one sitemap file lists, in document order and without duplicates."""

    urls: list[str] = field(default_factory=list)
    """Page URLs (``<url><loc>``, or the lines of a text sitemap), normalised."""
    sitemaps: list[str] = field(default_factory=list)
    """Child sitemaps of a sitemap index (``<sitemap><loc>``), normalised."""
    truncated: bool = False
    """True when ``max_urls`` or ``max_bytes`` cut the file short."""


def parse_sitemap(
    body: bytes, *, max_urls: int = 50_000, max_bytes: int = 50 * 1024 * 1024
) -> Sitemap:
    """Parse a sitemap body (XML or text, gzip-compressed or not). Never raises.

    At most ``max_urls`` entries (page URLs and child sitemaps together) are returned and at
    most ``max_bytes`` of (decompressed) input are read; the sitemaps.org limits are 50,000
    URLs and 50 MB. Entries that are not absolute http(s) URLs are skipped.

    >>> parse_sitemap(b'''<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    ...   <url><loc>https://example.com/a?x=1&amp;y=2</loc></url></urlset>''').urls
    ['https://example.com/a?x=1&y=2']
    >>> parse_sitemap(b"https://example.com/a\\nnot a url\\nhttps://example.com/b\\n").urls
    ['https://example.com/a', 'https://example.com/b']
    """
    result = Sitemap()
    if body.startswith(_GZIP_MAGIC):
        body, result.truncated, partial = _gunzip(body, max_bytes)
    else:
        result.truncated = partial = len(body) > max_bytes
        body = body[:max_bytes]
    body = _to_ascii_compatible(body)
    first = _NON_SPACE.search(body)
    if first is not None and first.group() == b"<":
        # Only complete elements are taken, so a cut file is safe as it is.
        _scan_xml(body, _declared_encoding(body), max_urls, result)
    else:
        if partial:
            # The last line of a cut text sitemap may be half a URL, itself a valid URL.
            body = body[: body.rfind(b"\n") + 1]
        _scan_text(body, max_urls, result)
    return result


def _gunzip(data: bytes, limit: int) -> tuple[bytes, bool, bool]:
    """Inflate gzip members, at most ``limit`` bytes in all.

    Returns the bytes, whether the limit cut them, and whether they end early (cut by the
    limit, or a download cut short).
    """
    out: list[bytes] = []
    size = 0
    while data.startswith(_GZIP_MAGIC):  # a file may hold several gzip members
        if size >= limit:
            return b"".join(out), True, True
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            # max_length bounds the output, so a bomb costs at most ``limit`` bytes.
            chunk = inflater.decompress(data, limit - size)
        except zlib.error:
            return b"".join(out), False, True  # corrupt: keep what came before
        out.append(chunk)
        size += len(chunk)
        if not inflater.eof:
            return b"".join(out), size >= limit, True
        data = inflater.unused_data
    return b"".join(out), False, False


def _to_ascii_compatible(body: bytes) -> bytes:
    # The scan works on bytes and needs "<" to be one byte. sitemaps.org requires UTF-8,
    # but a UTF-16 file with a byte order mark is recoded rather than read as noise.
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace").encode("utf-8")
    if body.startswith(codecs.BOM_UTF8):
        return body[len(codecs.BOM_UTF8) :]
    return body


def _declared_encoding(body: bytes) -> str:
    """The ``<?xml encoding=...?>`` of the file when Python knows it and it keeps ASCII as is."""
    match = _XML_ENCODING.match(body[:300].lstrip())
    if match is None:
        return "utf-8"
    name = match.group(1).decode("ascii")
    try:
        if "<loc>:/?#&;".encode(name) == b"<loc>:/?#&;":
            return codecs.lookup(name).name
    except (LookupError, UnicodeError):
        pass
    return "utf-8"


def _scan_text(body: bytes, max_urls: int, result: Sitemap) -> None:
    # sitemaps.org text format: one URL per line, UTF-8; anything else on a line is junk.
    seen: set[str] = set()
    for match in _LINE.finditer(body):
        line = match.group()
        if len(line) > _MAX_LOC_BYTES:
            continue
        url = normalize(line.decode("utf-8", "replace"))
        if url is not None and url not in seen:
            if len(seen) >= max_urls:
                result.truncated = True
                return
            seen.add(url)
            result.urls.append(url)


def _scan_xml(body: bytes, encoding: str, max_urls: int, result: Sitemap) -> None:
    seen: set[str] = set()
    stack: list[bytes] = []  # local names of the open elements, outermost first
    pos = 0
    while True:
        # One search finds the next markup; a "<" that starts none is stepped over in C.
        tag = _MARKUP.search(body, pos)
        if tag is None:
            return
        comment, cdata, closing, name, rest = tag.groups()
        if comment:
            pos = _after(body, b"-->", tag.end())
            continue
        if cdata:
            pos = _after(body, b"]]>", tag.end())
            continue
        if name is None:
            pos = _after_declaration(body, tag.start())
            continue
        pos = tag.end()
        local = name.rpartition(b":")[2].lower()
        if closing:
            # Pop to the matching element; an end tag that matches nothing is ignored.
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth] == local:
                    del stack[depth:]
                    break
            continue
        if rest.endswith(b"/"):
            continue  # an empty element: <loc/>
        if local == b"loc" and stack and stack[-1] in (b"url", b"sitemap"):
            # A <loc> directly inside <url> or <sitemap>; <image:loc> inside
            # <image:image> is an image, not a page, and is skipped by that test.
            text, pos = _element_text(body, pos, encoding)
            url = normalize(text) if text is not None else None
            if url is not None and url not in seen:
                if len(seen) >= max_urls:
                    result.truncated = True
                    return
                seen.add(url)
                (result.urls if stack[-1] == b"url" else result.sitemaps).append(url)
        if len(stack) < _MAX_DEPTH:
            stack.append(local)


def _after(body: bytes, terminator: bytes, start: int) -> int:
    end = body.find(terminator, start)
    return len(body) if end < 0 else end + len(terminator)


def _after_declaration(body: bytes, lt: int) -> int:
    """Skip ``<?...?>``, ``<!DOCTYPE ...>`` (with an internal subset) and the like."""
    if body.startswith(b"<?", lt):
        return _after(body, b"?>", lt + 2)
    end = body.find(b">", lt)
    bracket = body.find(b"[", lt, end if end >= 0 else len(body))
    if bracket >= 0:
        # <!DOCTYPE x [ <!ENTITY ...> ... ]>: the declarations are skipped, never used.
        subset_end = _INTERNAL_SUBSET_END.search(body, bracket)
        return len(body) if subset_end is None else subset_end.end()
    return len(body) if end < 0 else end + 1


def _element_text(body: bytes, pos: int, encoding: str) -> tuple[str | None, int]:
    """The text of an element starting at ``pos`` and where the scan goes on from.

    Text and CDATA are joined and comments skipped up to the next tag; None when the text
    is too long or the file ends first. The tag is left for the caller to read.
    """
    parts: list[str] = []
    size = 0
    while True:
        lt = body.find(b"<", pos)
        if lt < 0:
            return None, len(body)
        size += lt - pos
        if size > _MAX_LOC_BYTES:
            return None, lt
        parts.append(_unescape(body[pos:lt].decode(encoding, "replace")))
        if body.startswith(b"<![CDATA[", lt):
            end = body.find(b"]]>", lt + 9)
            if end < 0:
                return None, len(body)
            size += end - lt - 9
            if size > _MAX_LOC_BYTES:
                return None, end + 3
            parts.append(body[lt + 9 : end].decode(encoding, "replace"))
            pos = end + 3
        elif body.startswith(b"<!--", lt):
            pos = _after(body, b"-->", lt + 4)
        else:
            return "".join(parts).strip(), lt


def _unescape(text: str) -> str:
    """Decode the five predefined entities and character references; leave the rest."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(_reference, text)


def _reference(match: re.Match[str]) -> str:
    name = match.group(1)
    if not name.startswith("#"):
        return _PREDEFINED[name]
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    # Not a character XML allows (NUL, surrogates, beyond Unicode): the replacement
    # character, so the reference cannot turn into "#" and cut the URL at a fragment.
    if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
        return "\ufffd"
    return chr(code)
