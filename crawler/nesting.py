"""A nesting cap for HTML, applied before the tree is built, so parsing stays linear.

HTML tree construction walks the stack of open elements for many tokens: a ``<div>``
start tag looks for an open ``<p>`` "in button scope", an unknown end tag walks down to
the first special element. On a page that never closes its elements the stack is as deep
as the page is long, and parsing is quadratic: measured with lexbor,
``'<div><span><b>' * 40_000`` (0.56 MB) takes 11 s, a 1.4 MB page about 170 s. Browsers
cap the depth of the tree they build (Blink and WebKit at 512) for this reason.

:func:`cap_nesting` does the same before lexbor sees the page: one linear scan over the
tags keeps an approximate stack of open elements (void elements, raw text, comments,
the common implied end tags and scope rules of the WHATWG algorithm), and start tags
that would open an element deeper than ``max_depth`` are dropped from the source, with
their end tags. Their content stays, one level up, as in a browser. Links (``<a>``,
``<area>``, except SVG links nested that deep) and the elements that hold page metadata
are never dropped. The scan errs on
the side of a deeper stack than lexbor builds, so the bound holds; on real pages the
stack is far below the cap (the corpus's deepest page stays under 100 levels) and the
page passes through unchanged.

Not bounded here: "reconstruct the active formatting elements" clones every formatting
element left open (``<b id=1>...<b id=2000>`` closed off by a ``</div>``) at each later
paragraph, so 2,000 of them and 2,000 paragraphs (37 KB, 6,000 tags: below the scan)
build 4 million nodes, 1.4 s and 1.5 GB. Capping open formatting elements in this scan
would bound it, but needs a cheap test for which pages to scan.
"""

from __future__ import annotations

import functools
import re

__all__ = ["MAX_DEPTH", "SCAN_ABOVE", "cap_nesting"]

MAX_DEPTH = 512

_VOID = frozenset(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param"
    " source track wbr".split()
)
_RAW_TEXT = frozenset("script style xmp iframe noembed noframes textarea title".split())
_KEEP = frozenset("a area base link meta title html head body".split())
# The "special" category of the HTML Standard: an unknown end tag never closes past one.
_SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button caption"
    " center col colgroup dd details dir div dl dt embed fieldset figcaption figure footer form"
    " frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html iframe img input keygen li link"
    " listing main marquee menu meta nav noembed noframes noscript object ol p param plaintext"
    " pre script search section select source style summary table tbody td template textarea"
    " tfoot th thead title tr track ul wbr xmp".split()
)
# "has an element in scope" stops at these.
_SCOPE = frozenset("applet caption html table td th marquee object template svg math".split())
# Start tags that close an open <p> ("If the stack of open elements has a p element in
# button scope, then close a p element").
_CLOSES_P = frozenset(
    "address article aside blockquote center details dialog dir div dl fieldset figcaption"
    " figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr listing main menu nav ol p pre"
    " search section summary table ul xmp dd dt li".split()
)
# Start tags that close an open element of their own family (<li> closes <li>...).
_SIBLINGS = {
    "li": ("li",),
    "dd": ("dd", "dt"),
    "dt": ("dd", "dt"),
    "option": ("option",),
    "optgroup": ("option", "optgroup"),
    "tr": ("tr", "td", "th"),
    "td": ("td", "th"),
    "th": ("td", "th"),
    "thead": ("thead", "tbody", "tfoot", "tr", "td", "th"),
    "tbody": ("thead", "tbody", "tfoot", "tr", "td", "th"),
    "tfoot": ("thead", "tbody", "tfoot", "tr", "td", "th"),
    "a": ("a",),
    "button": ("button",),
    "nobr": ("nobr",),
    **{f"h{n}": ("h1", "h2", "h3", "h4", "h5", "h6") for n in range(1, 7)},
}
# In SVG or MathML these leave foreign content; elsewhere there ``/>`` closes an element.
_BREAKOUT = frozenset(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img"
    " li listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul"
    " var font".split()
)
_INTEGRATION = frozenset("foreignobject desc mi mo mn ms mtext annotation-xml".split())
# Below this many "<" the scan costs more than it can save: the tree construction of a
# page with n tags walks the stack at most n * n / 2 steps, tens of milliseconds at 8,192.
SCAN_ABOVE = 8192
_LOOKBACK = 64  # how far down the stack an end tag or an implied end tag looks

# A comment's start, a tag (whole: attribute values in quotes may hold ">"; possessive,
# so a tag left open at the end of the page costs one pass, not a backtracking search),
# or the start of a bogus comment (<!doctype>, <?...>, </ x>).
_TOKEN = re.compile(
    r"<(?:(!--)|(/?)([A-Za-z][^\t\n\f\r />]*)"
    r"""(?:[^>"'=]++|=[\t\n\f\r ]*+(?:"[^"]*+"|'[^']*+')?+|["'])*+>?"""
    r"|[!?]|/(?=[^A-Za-z>]))"
)
_COMMENT_END = re.compile(r"->|>|.*?--!?>", re.S)


def cap_nesting(
    html: str, max_depth: int = MAX_DEPTH, *, scan_above: int = SCAN_ABOVE
) -> tuple[str, int]:
    """``html`` with start tags deeper than ``max_depth`` removed, and how many were.

    Pages with at most ``scan_above`` tags are not scanned (see :data:`SCAN_ABOVE`).

    >>> html, dropped = cap_nesting("<div>" * 10_000 + "<a href=/x>x</a>")
    >>> dropped, html.count("<div>"), html.endswith("<a href=/x>x</a>")
    (9488, 512, True)
    """
    limit = max(max_depth, scan_above)
    if len(html) <= 3 * limit or html.count("<") <= limit:  # a tag takes 3 characters
        return html, 0
    stack: list[tuple[str, bool]] = []  # (name, dropped)
    counts: dict[str, int] = {}
    cuts: list[tuple[int, int]] = []
    dropped = 0
    pos = 0
    search = _TOKEN.search
    while (m := search(html, pos)) is not None:
        start, pos = m.span()
        comment, slash, name = m.groups()
        if comment:  # "<!-->" and "<!--->" end at once
            end = _COMMENT_END.match(html, pos)
            pos = end.end() if end else len(html)
            continue
        if name is None:  # a bogus comment, up to ">"
            close = html.find(">", pos)
            pos = len(html) if close < 0 else close + 1
            continue
        name = name.lower()
        if slash:  # an end tag
            found = _find(stack, name) if counts.get(name) else None
            if found is not None:
                if stack[found][1]:
                    cuts.append((start, pos))
                _pop_to(stack, counts, found)
            continue
        in_foreign = _in_foreign(counts)
        if in_foreign and name in _BREAKOUT:
            while stack and (counts.get("svg") or counts.get("math")):
                _pop_to(stack, counts, len(stack) - 1)
            in_foreign = False
        if name in _VOID or (in_foreign and html[pos - 2 : pos] == "/>"):
            continue
        if not in_foreign and name in _RAW_TEXT:
            close = _raw_text_end(name).search(html, pos)
            pos = len(html) if close is None else close.start()
            if len(stack) >= max_depth:
                continue
        elif name == "plaintext" and not in_foreign:
            break
        if name in _CLOSES_P and counts.get("p"):
            _close(stack, counts, ("p",))
        family = _SIBLINGS.get(name)
        if family and not in_foreign and any(counts.get(n) for n in family):
            _close(stack, counts, family)
        # An SVG <a> does not close the one around it: only there can links nest, and
        # each holds the text of all inside it, so beyond the cap they go too.
        drop = len(stack) >= max_depth and (name not in _KEEP or (in_foreign and name == "a"))
        if drop:
            cuts.append((start, pos))
            dropped += 1
        stack.append((name, drop))
        counts[name] = counts.get(name, 0) + 1
    if not cuts:
        return html, 0
    parts = []
    last = 0
    for start, end in cuts:
        parts.append(html[last:start])
        last = end
    parts.append(html[last:])
    return "".join(parts), dropped


def _find(stack: list[tuple[str, bool]], name: str) -> int | None:
    """The index of the open element an end tag ``name`` closes, or None when it closes none."""
    special = name in _SPECIAL
    for i in range(len(stack) - 1, max(-1, len(stack) - 1 - _LOOKBACK), -1):
        entry = stack[i][0]
        if entry == name:
            return i
        if (entry in _SCOPE) if special else (entry in _SPECIAL):
            return None
    return None


def _close(stack: list[tuple[str, bool]], counts: dict[str, int], names: tuple[str, ...]) -> None:
    """Implied end tags: pop to the nearest open element named in ``names``, if in scope."""
    for i in range(len(stack) - 1, max(-1, len(stack) - 1 - _LOOKBACK), -1):
        entry = stack[i][0]
        if entry in names:
            _pop_to(stack, counts, i)
            return
        if entry in _SCOPE:
            return


def _pop_to(stack: list[tuple[str, bool]], counts: dict[str, int], index: int) -> None:
    for popped, _ in stack[index:]:
        counts[popped] -= 1
    del stack[index:]


def _in_foreign(counts: dict[str, int]) -> bool:
    """Inside SVG or MathML and not inside one of its HTML integration points (roughly)."""
    if not (counts.get("svg") or counts.get("math")):
        return False
    return not any(counts.get(name) for name in _INTEGRATION)


@functools.cache
def _raw_text_end(name: str) -> re.Pattern[str]:
    return re.compile(rf"</{name}[\t\n\f\r />]", re.I)
