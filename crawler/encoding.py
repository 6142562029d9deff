"""Bytes to text: which charset a page is in, and whether a response is HTML at all.

The charset is chosen the way browsers choose it (WHATWG HTML, "determining the character
encoding"), because the links we record must be the links a reader's browser shows:

1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) wins over everything;
2. then the ``charset`` parameter of the ``Content-Type`` header;
3. then a ``<meta charset>`` or ``<meta http-equiv="Content-Type" content="...;charset=...">``
   found by the prescan of the first 1024 bytes, continued over the first 64 KiB: browsers
   also obey a late ``<meta>`` (the parser "changes the encoding" when it reaches one while
   the encoding is still a guess), and a fifth of our real-page corpus declares its charset
   after byte 1024;
4. else UTF-8 when the bytes are valid UTF-8, else windows-1252, the Western default.

Labels are looked up in the Encoding Standard's table, not Python's codec registry: they
disagree where it matters (``iso-8859-1``, ``latin1`` and ``us-ascii`` all mean
windows-1252 on the web; ``gb2312`` means GBK; ``utf-32`` and ``latin-1`` mean nothing).
A label the table does not know, and the ``replacement`` labels (ISO-2022-KR/CN,
HZ-GB-2312), are ignored and the next rule decides. Decoding never raises: bad bytes
become U+FFFD.
"""

from __future__ import annotations

import codecs
import functools
import re

__all__ = ["decode_html", "encoding_from_label", "is_html"]

# The Encoding Standard's label table (https://encoding.spec.whatwg.org/#names-and-labels),
# one line per encoding: its name, the Python codec that decodes it, then its labels.
_TABLE = """
utf-8 utf-8 unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8
ibm866 cp866 866 cp866 csibm866 ibm866
iso-8859-2 iso8859_2 csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2
    iso_8859-2:1987 l2 latin2
iso-8859-3 iso8859_3 csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3
    iso_8859-3:1988 l3 latin3
iso-8859-4 iso8859_4 csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4
    iso_8859-4:1988 l4 latin4
iso-8859-5 iso8859_5 csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595
    iso_8859-5 iso_8859-5:1988
iso-8859-6 iso8859_6 arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114
    iso-8859-6 iso-8859-6-e iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6
    iso_8859-6:1987
iso-8859-7 iso8859_7 csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126
    iso8859-7 iso88597 iso_8859-7 iso_8859-7:1987 sun_eu_greek
iso-8859-8 iso8859_8 csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e
    iso-ir-138 iso8859-8 iso88598 iso_8859-8 iso_8859-8:1988 visual
iso-8859-8-i iso8859_8 csiso88598i iso-8859-8-i logical
iso-8859-10 iso8859_10 csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6
iso-8859-13 iso8859_13 iso-8859-13 iso8859-13 iso885913
iso-8859-14 iso8859_14 iso-8859-14 iso8859-14 iso885914
iso-8859-15 iso8859_15 csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9
iso-8859-16 iso8859_16 iso-8859-16
koi8-r koi8_r cskoi8r koi koi8 koi8-r koi8_r
koi8-u koi8_u koi8-ru koi8-u
macintosh mac_roman csmacintosh mac macintosh x-mac-roman
windows-874 cp874 dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874
windows-1250 cp1250 cp1250 windows-1250 x-cp1250
windows-1251 cp1251 cp1251 windows-1251 x-cp1251
windows-1252 cp1252 ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1
    iso-ir-100 iso8859-1 iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii
    windows-1252 x-cp1252 x-user-defined
windows-1253 cp1253 cp1253 windows-1253 x-cp1253
windows-1254 cp1254 cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9
    iso_8859-9:1989 l5 latin5 windows-1254 x-cp1254
windows-1255 cp1255 cp1255 windows-1255 x-cp1255
windows-1256 cp1256 cp1256 windows-1256 x-cp1256
windows-1257 cp1257 cp1257 windows-1257 x-cp1257
windows-1258 cp1258 cp1258 windows-1258 x-cp1258
x-mac-cyrillic mac_cyrillic x-mac-cyrillic x-mac-ukrainian
gbk gb18030 chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk
gb18030 gb18030 gb18030
big5 big5hkscs big5 big5-hkscs cn-big5 csbig5 x-x-big5
euc-jp euc_jp cseucpkdfmtjapanese euc-jp x-euc-jp
iso-2022-jp iso2022_jp csiso2022jp iso-2022-jp
shift_jis cp932 csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis
euc-kr cp949 cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989
    ksc5601 ksc_5601 windows-949
utf-16be utf-16-be unicodefffe utf-16be
utf-16le utf-16-le csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le
"""
# Notes on the table: GBK decodes with the gb18030 codec and Big5 with big5hkscs because the
# Standard's decoders for them are those supersets; Shift_JIS and EUC-KR are Microsoft's
# code pages 932 and 949 on the web. x-user-defined is mapped to windows-1252 (the prescan
# does the same) rather than to its private-use code points, which no reader can use.


def _parse_table(table: str) -> dict[str, tuple[str, str]]:
    labels: dict[str, tuple[str, str]] = {}
    for line in table.replace("\n    ", " ").strip().splitlines():
        name, codec, *names = line.split()
        for label in names:
            labels[label] = (name, codec)
    return labels


_LABELS = _parse_table(_TABLE)
_ASCII_WS = " \t\n\f\r"


# Python's single-byte Windows codecs leave a few bytes of 0x80-0x9F undefined (0x81, 0x8D,
# 0x8F, 0x90, 0x9D in cp1252); the Encoding Standard maps each to the C1 control of the same
# number, so a page never grows a U+FFFD where a browser shows nothing. All single-byte
# codecs report themselves as "charmap"; in the ISO-8859 ones 0x80-0x9F are always defined.
def _c1_or_replace(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    byte = error.object[error.start]
    if error.encoding == "charmap" and 0x80 <= byte <= 0x9F:
        return chr(byte), error.start + 1
    return "\ufffd", error.end


_ERRORS = "linkgraph.c1-or-replace"
codecs.register_error(_ERRORS, _c1_or_replace)


def encoding_from_label(label: str) -> tuple[str, str] | None:
    """The Encoding Standard's (name, Python codec) for a label, or ``None`` if unknown.

    >>> encoding_from_label(" ISO-8859-1 ")
    ('windows-1252', 'cp1252')
    >>> encoding_from_label("utf-32") is None
    True
    """
    return _LABELS.get(label.strip(_ASCII_WS).lower())


# -- the Content-Type header --------------------------------------------------------------

_CHARSET_PARAM = re.compile(r';\s*charset\s*=\s*("([^"]*)"?|[^;\s]*)', re.IGNORECASE)


@functools.lru_cache(maxsize=256)  # a crawl sees a few Content-Type values, on every page
def _header_charset(content_type: str | None) -> tuple[str, str] | None:
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    if match is None:
        return None
    value = match.group(2) if match.group(2) is not None else match.group(1)
    return encoding_from_label(value)


# -- the <meta> prescan ---------------------------------------------------------------------

_PRESCAN_BYTES = 1024
_LATE_META_BYTES = 65536

# The tokens of the prescan (WHATWG HTML "prescan a byte stream to determine its encoding")
# that matter: a comment, skipped to its "-->", and a <meta start tag. Unlike the Standard we
# do not step over the attributes of other tags, which only matters for a "<meta" inside an
# attribute value; in exchange the regex engine skips everything else, and a page whose
# <meta> sits after 60 KiB of inline script costs microseconds, not milliseconds.
_TOKEN = re.compile(rb"<(?:!--|meta[\t\n\f\r /])", re.IGNORECASE)
_CHARSET_WORD = re.compile(rb"charset", re.IGNORECASE)
# "Get an attribute": a name (which may start with "="), then optionally "=" and a value that
# is double-quoted, single-quoted or unquoted. An empty name group means the tag ended.
_ATTRIBUTE = re.compile(
    rb"[\t\n\f\r /]*"
    rb"(?:([^\t\n\f\r />][^\t\n\f\r /=>]*)[\t\n\f\r ]*"
    rb"(?:=[\t\n\f\r ]*(?:\"([^\"]*)\"?|'([^']*)'?|([^\t\n\f\r >]*)))?)?"
)
# "Extract a character encoding from a meta element" (the content attribute of a pragma).
_CONTENT_CHARSET = re.compile(
    rb"charset[\t\n\f\r ]*=[\t\n\f\r ]*(?:\"([^\"]*)\"|'([^']*)'|([^\t\n\f\r ;\"'][^\t\n\f\r ;]*))",
    re.IGNORECASE,
)


def _meta_charset(data: bytes, pos: int) -> tuple[tuple[str, str] | None, int]:
    """Read the attributes of a ``<meta`` tag starting at ``pos``: (encoding or None, end)."""
    seen: set[bytes] = set()
    got_pragma = False
    need_pragma: bool | None = None
    charset: tuple[str, str] | None = None
    while True:
        match = _ATTRIBUTE.match(data, pos)
        if match is None or match.group(1) is None or match.end() == pos:
            break
        pos = match.end()
        name = match.group(1).lower()
        if name in seen:
            continue
        seen.add(name)
        value = next((g for g in match.groups()[1:] if g is not None), b"")
        if name == b"http-equiv":
            got_pragma = value.lower() == b"content-type"
        elif name == b"content" and charset is None:
            found = _CONTENT_CHARSET.search(value)
            if found is not None:
                label = next(g for g in found.groups() if g is not None)
                charset = encoding_from_label(label.decode("latin-1"))
                need_pragma = True
        elif name == b"charset":
            charset = encoding_from_label(value.decode("latin-1"))
            need_pragma = False
    if need_pragma is None or (need_pragma and not got_pragma) or charset is None:
        return None, pos
    if charset[0] in ("utf-16le", "utf-16be"):
        # A page that can say "utf-16" in ASCII is not UTF-16: the Standard reads it as UTF-8.
        return _LABELS["utf-8"], pos
    return charset, pos


def _prescan(body: bytes) -> tuple[str, str] | None:
    data = body[:_LATE_META_BYTES]
    pos = 0
    while (token := _TOKEN.search(data, pos)) is not None:
        pos = token.end()
        if token.group() == b"<!--":
            end = data.find(b"-->", pos)
            if end < 0:
                return None
            pos = end + 3
            continue
        # Most <meta> tags are about something else; read attributes only when it may pay.
        close = data.find(b">", pos)
        if _CHARSET_WORD.search(data, pos, len(data) if close < 0 else close) is None:
            continue
        found, pos = _meta_charset(data, pos)
        if found is not None:
            return found
    return None


# -- decoding -------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16be", "utf-16-be"),
)


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        # A body cut by the size cap may end inside a character; that is still UTF-8.
        return error.reason == "unexpected end of data" and error.end == len(body)
    return True


def decode_html(body: bytes, content_type: str | None) -> tuple[str, str]:
    """Decode an HTML response body as a browser would: returns ``(text, encoding name)``.

    The name is the Encoding Standard's, in lower case (``utf-8``, ``windows-1252``,
    ``shift_jis``...). Never raises; undecodable bytes become U+FFFD.

    >>> decode_html(b"caf\\xe9", "text/html; charset=ISO-8859-1")
    ('café', 'windows-1252')
    >>> decode_html(b'<meta charset="utf-8">caf\\xc3\\xa9', None)[1]
    'utf-8'
    """
    for bom, name, codec in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, _ERRORS), name
    found = _header_charset(content_type) or _prescan(body)
    if found is None:
        found = _LABELS["utf-8"] if _valid_utf8(body) else _LABELS["windows-1252"]
    name, codec = found
    return body.decode(codec, _ERRORS), name


# -- is it HTML? ----------------------------------------------------------------------------

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# MIME types that mean "the server did not say" (WHATWG MIME Sniffing, "unknown" types).
_UNKNOWN_TYPES = frozenset({"", "unknown/unknown", "application/unknown", "*/*"})
_SNIFF_BYTES = 512
# WHATWG MIME Sniffing, "identifying a resource with an unknown MIME type", the HTML rows:
# each pattern must be followed by a tag-terminating byte. The Standard's terminators are
# space and ">"; we also accept the other ASCII whitespace, which real pages put there.
_HTML_START = re.compile(
    rb"<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p"
    rb"|!--)[\t\n\f\r >]",
    re.IGNORECASE,
)


def is_html(content_type: str | None, head: bytes) -> bool:
    """True when a response is an HTML document (``head`` is the first bytes of its body).

    A ``Content-Type`` of ``text/html`` or ``application/xhtml+xml`` is HTML and any other
    declared type is not; only when the type is missing (or ``unknown/unknown``, ``*/*``)
    are the first bytes sniffed for an HTML tag, after whitespace and a byte order mark.

    >>> is_html("text/html; charset=utf-8", b"")
    True
    >>> is_html(None, b"\\n  <!DOCTYPE html><html>")
    True
    >>> is_html("image/png", b"<html>")
    False
    """
    essence = (content_type or "").partition(";")[0].strip(_ASCII_WS).lower()
    if essence in _HTML_TYPES:
        return True
    if essence not in _UNKNOWN_TYPES:
        return False
    head = head[:_SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", "replace").encode("ascii", "replace")
    elif head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    return _HTML_START.match(head.lstrip(b" \t\n\f\r")) is not None
