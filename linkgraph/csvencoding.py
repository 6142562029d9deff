"""The text encoding of an edge list: what ``linkgraph import`` reads a file with.

SEO tools export in whatever their platform likes (Excel's "Unicode text" is UTF-16 LE
with a BOM; Windows tools write CP1252). The order of the rules is described in
:mod:`linkgraph.importer`; :func:`detect_encoding` applies them.
"""

from __future__ import annotations

import codecs
from typing import BinaryIO

from linkgraph.crawler.settings import SettingsError

__all__ = ["FALLBACK_ENCODING", "detect_encoding"]

FALLBACK_ENCODING = "cp1252"
# UTF-32 LE's mark begins with UTF-16 LE's (FF FE): test the longer marks first. The
# utf-16 / utf-32 codecs read the mark themselves and take the byte order from it.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 LE (byte-order mark)"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 BE (byte-order mark)"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 (byte-order mark)"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 LE (byte-order mark)"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 BE (byte-order mark)"),
)


def detect_encoding(raw: BinaryIO, name: str, encoding: str | None = None) -> tuple[str, str]:
    """The codec to read ``raw`` with and a note saying why (see :mod:`linkgraph.importer`).

    ``raw`` is a seekable binary file; it is read through once (to check that every byte
    decodes) and left at its start. ``name`` names the file in errors. Raises
    :class:`SettingsError` for an unknown codec or a line that does not decode.
    """
    head = raw.read(4)
    raw.seek(0)
    if encoding is not None:
        try:
            codec = codecs.lookup(encoding).name
            text_codec = codecs.lookup(encoding)._is_text_encoding
        except LookupError:
            text_codec = None
        if not text_codec:  # rot13, base64, hex... are codecs, but not of bytes to text
            raise SettingsError(
                f"unknown text encoding {encoding!r}: give a codec name such as utf-8, cp1252,"
                " utf-16, latin-1"
            ) from None
        if codec == "utf-8" and head.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"  # the mark is not part of the first column's name
        chosen, note = codec, f"{codec} (--encoding)"
    else:
        for bom, codec, bom_note in _BOMS:
            if head.startswith(bom):
                chosen, note = codec, bom_note
                break
        else:
            if len(head) == 4 and head[1] == head[3] == 0 and 0 < head[0] < 128 > head[2] > 0:
                chosen, note = "utf-16-le", "UTF-16 LE (no byte-order mark: NUL bytes)"
            elif len(head) == 4 and head[0] == head[2] == 0 and 0 < head[1] < 128 > head[3] > 0:
                chosen, note = "utf-16-be", "UTF-16 BE (no byte-order mark: NUL bytes)"
            elif _first_bad_line(raw, "utf-8") is None:
                return "utf-8", "UTF-8"
            else:
                chosen = FALLBACK_ENCODING
                note = f"{FALLBACK_ENCODING} (Windows-1252): the file is not UTF-8"
    bad = _first_bad_line(raw, chosen)
    if bad is not None:
        neither = " (nor UTF-8)" if note.endswith("is not UTF-8") else ""
        raise SettingsError(
            f"{name}: line {bad} is not valid {chosen} text{neither}; give --encoding NAME"
            " with the file's encoding"
        )
    return chosen, note


def _first_bad_line(raw: BinaryIO, codec: str) -> int | None:
    """The line number of the first byte ``codec`` cannot decode, or ``None``; streamed,
    so a large file is never held in memory."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    lines = 0
    try:
        while chunk := raw.read(1 << 20):
            try:
                lines += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                # exc.object is what the decoder held plus this chunk; all before exc.start
                # decodes, so its newlines finish the count.
                try:
                    before = bytes(exc.object[: exc.start]).decode(codec, "replace")
                except UnicodeError:
                    return lines + 1
                return lines + before.count("\n") + 1
            except (UnicodeError, ValueError):  # e.g. "UTF-16 stream does not start with BOM"
                return lines + 1
        try:
            decoder.decode(b"", final=True)
        except (UnicodeError, ValueError):  # the file ends inside a character
            return lines + 1
        return None
    finally:
        raw.seek(0)
