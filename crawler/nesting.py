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

Open formatting elements are bounded too. The parser keeps a list of the formatting
elements (``<b>``, ``<font>``, ``<i>``... but not ``<a>``: a new one ends the last) that
were opened and not yet closed by their own end tag, and "reconstructs" them, as fresh
copies with all their attributes, before each later text or phrasing element whose place
has lost them. Left open and closed off by a ``</div>``, 2,000 of them (distinct
attributes defeat the HTML Standard's "Noah's Ark" limit of three identical ones) are
copied into each of 2,000 paragraphs: a 37 KB page built 4 million nodes, 1.4 s and
1.5 GB; 8 elements with 10 KB of attributes in 4,000 paragraphs copied 320 MB. The scan
keeps an over-count of that list (an element leaves it only when its own end tag finds it
with nothing but phrasing elements above) and

* drops formatting start tags that would leave more than ``MAX_FORMATTING`` (32) on it,
  or more than ``MAX_FORMATTING_BYTES`` (2 KB) of their tags;
* charges, at each tag, twice the list (the text before the tag and the tag may each
  re-create it all); when the charges pass ``MAX_CLONES`` (2^18) elements or
  ``MAX_CLONE_BYTES`` (16 MB) of tags, it drops every formatting element on the list,
  and every later one.

A page is scanned when one pass of a regular expression finds more than ``SCAN_ABOVE``
tags, or enough formatting start tags not closed right after some text by their own end
tag (``<b>x</b>`` is off the list at once) that, re-created after every tag, they could
pass the same charges. So no page makes the parser copy more than about 2^18 formatting
elements or 16 MB of their attributes. The bomb above (2,000 and 2,000) builds 68,000
nodes (32 copies a paragraph), 40 MB; with 8,000 of each, 16,000 (the charges ran out).

Why these values: on the 230 pages of the corpus the over-count never passes 12 elements
or 1 KB of tags, and the charges stay under 6,400 elements and 70 KB (1.4 MB with the
links, see below), so the tests check that every page passes unchanged at half the caps and an eighth of the charges. 2^18
elements is about 90 MB of nodes at worst (15 open elements, 8,000 paragraphs: the worst
page not scanned), against 1.5 GB before; a lower budget would scan more real pages (4 are
scanned for it at 2^18, 1 at 2^19), and the scan costs about as much as the parse. The
cost on the corpus (30 MB): the regular expression takes about 52 ms where counting the
"<" took 22 ms, and with the 4 pages it scans extraction goes from about 405 to 470 ms of
CPU (2^19: 455 ms).

Links are re-created too: an ``<a>`` left open and closed off by a ``</div>`` is copied,
with all its attributes, into each later paragraph (only one ``<a>`` is on the list at a
time: a new one ends it). 20,000 paragraphs after a link with 10 KB of attributes (90 KB)
copied 200 MB, 266 MB of memory in all; 5,000 after 50 KB (70 KB, too few tags to be
scanned then), 250 MB. A link is never dropped, so the scan charges the open ``<a>``'s
name and attributes (not the space between them) to the same byte budget, at each tag
until its end tag or the next ``<a>``. Once the copies ran out, the open ``<a>`` is ended
by an ``</a>`` put just before the next tag that may take it off the parser's stack (an
end tag of an element around it, or a start tag that closes a ``<p>``, a list item or
back to a table context), so it is not re-created: the link keeps its text, the
paragraphs after it are no longer links. Both pages now copy under 9 MB (about 40 MB of
memory), and the trigger counts the largest ``<a>`` not closed right after some text.
Its copies add at most one node per tag, so they are charged bytes, not elements.

The corpus's links charge up to 1.4 MB (a page of 300 links of 400-700 bytes each, open
over a dozen tags), so a page with about ten times as many such links runs out of copies
and its later links that hold a block (``<a><div>...``) lose that text. With ``<a>`` in
the trigger's expression it takes about 105 ms on the corpus instead of 70, and counts
the end tags it swallowed, which scans one more page (6); extraction went from about 700
to 725 ms of CPU.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "MAX_CLONES",
    "MAX_CLONE_BYTES",
    "MAX_DEPTH",
    "MAX_FORMATTING",
    "MAX_FORMATTING_BYTES",
    "SCAN_ABOVE",
    "cap_nesting",
]

MAX_DEPTH = 512
MAX_FORMATTING = 32
MAX_FORMATTING_BYTES = 2048
MAX_CLONES = 1 << 18
MAX_CLONE_BYTES = 1 << 24

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
# The formatting elements the parser re-creates after they are closed off ("reconstruct
# the active formatting elements"), except <a>: a new <a> ends the one before it, so at
# most one is re-created, and links are never dropped.
_FORMATTING = frozenset("b big code em font i nobr s small strike strong tt u".split())
# Start tags that may pop an <a>: they close a <p>, a sibling or back to a table context.
_ENDS_LINK = (
    _CLOSES_P
    | frozenset("body button caption col colgroup frameset html tbody td tfoot th thead tr".split())
) - frozenset(["a"])
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
# One pass for the decision to scan: every "<", and each formatting or <a> start tag with
# its attributes (the parser copies those into every element it re-creates) and, when only
# text follows up to its own end tag, that end tag: such an element is off the parser's
# list at once. Names by character class: much faster than re.I on every "<".
_NAMES = (
    "(?:"
    + "|".join("".join(f"[{c}{c.upper()}]" for c in name) for name in sorted(_FORMATTING))
    + "|[aA])"
)
_COUNT = re.compile(
    r"<(?:(?=[aAbBcCeEfFiInNsStTuU])(" + _NAMES + r"(?=[\t\n\f\r />])"
    r"""(?:[^>"'=]++|=[\t\n\f\r ]*+(?:"[^"]*+"|'[^']*+')?+|["'])*+"""
    r"(?:>[^<]*+</" + _NAMES + r"[\t\n\f\r ]*+>)?))?"
)
_CLOSED = re.compile(r"([A-Za-z]+).*</([A-Za-z]+)[\t\n\f\r ]*>", re.S)
# A tag's name, attribute names and values, quoted values whole: what a copy holds.
_WORDS = re.compile(r"""[^\t\n\f\r "'=>/]++|"[^"]*+"|'[^']*+'""")
_COMMENT_END = re.compile(r"->|>|.*?--!?>", re.S)


def cap_nesting(
    html: str,
    max_depth: int = MAX_DEPTH,
    *,
    scan_above: int = SCAN_ABOVE,
    max_formatting: int = MAX_FORMATTING,
    max_formatting_bytes: int = MAX_FORMATTING_BYTES,
    max_clones: int = MAX_CLONES,
    max_clone_bytes: int = MAX_CLONE_BYTES,
) -> tuple[str, int]:
    """``html`` with start tags deeper than ``max_depth`` removed, and how many were.

    Formatting start tags that would leave more than ``max_formatting`` formatting
    elements, or more than ``max_formatting_bytes`` of their tags, open at once are
    removed too. Pages with at most ``scan_above`` tags and no more formatting tags than
    that are not scanned (see :data:`SCAN_ABOVE`). When the parser could re-create more
    than ``max_clones`` of them, or ``max_clone_bytes`` of their tags, the formatting
    elements still open are removed from the source, and later ones too.

    >>> html, dropped = cap_nesting("<div>" * 10_000 + "<a href=/x>x</a>")
    >>> dropped, html.count("<div>"), html.endswith("<a href=/x>x</a>")
    (9488, 512, True)
    >>> cap_nesting("<div>" + "<i>" * 100 + "</div>" + "<p>x" * 2_000)[0].count("<i>")
    32
    """
    if not _worth_scanning(html, max(max_depth, scan_above), max_clones, max_clone_bytes):
        return html, 0
    stack: list[tuple[str, bool, int]] = []  # (name, dropped, where a formatting tag starts)
    counts: dict[str, int] = {}
    cuts: list[tuple[int, int, str]] = []  # (start, end, what replaces them)
    dropped = 0
    # The formatting elements the parser may still re-create: all opened and not yet
    # closed by their own end tag, wherever they are now (an over-count, so the bound holds),
    # as {start: end} of their tags; and an upper bound on the copies made so far.
    live: dict[int, int] = {}
    formatting = formatting_bytes = clones = clone_bytes = 0
    # The <a> the parser may still re-create (a new one ends it), as its tag's length;
    # once the copies ran out, it is closed before anything that could take it off the
    # parser's stack, so that it is never re-created. The link itself stays.
    link = 0
    links_closed = False
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
        if formatting or link:
            # The text before this tag and the tag itself may each re-create them all.
            clones += 2 * formatting  # an <a> adds a node a tag at most: linear
            clone_bytes += 2 * (formatting_bytes + link)
            if clones > max_clones or clone_bytes > max_clone_bytes:
                cuts.extend((opened, end, "") for opened, end in live.items())
                dropped += len(live)
                live.clear()
                formatting = formatting_bytes = max_formatting = 0
                links_closed = True
        if link and links_closed and _pops_link(stack, counts, name, slash):
            # End the link just before the tag that takes it off the parser's stack (the
            # next text or phrasing element would re-create it): its text stays its own.
            cuts.append((start, start, "</a>"))
            link = 0
        if slash:  # an end tag
            found = _find(stack, name) if counts.get(name) else None
            if name == "a" and not _in_foreign(counts):
                if found is not None or not counts.get("a"):
                    # Closed, or no longer on the stack: either way off the list.
                    link = 0
            if found is not None:
                _, was_dropped, opened = stack[found]
                if was_dropped or (opened >= 0 and opened not in live):
                    cuts.append((start, pos, ""))
                elif opened >= 0:
                    # Closed with nothing but phrasing elements above it: the parser
                    # takes it off its list of active formatting elements.
                    formatting -= 1
                    formatting_bytes -= live.pop(opened) - opened
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
        opened = -1
        if not drop and not in_foreign and name in _FORMATTING:
            weight = pos - start
            if formatting >= max_formatting or formatting_bytes + weight > max_formatting_bytes:
                # Gone from the source, so not on the parser's stack either; an end tag
                # for it closes an earlier one, or none, as the parser would see it.
                cuts.append((start, pos, ""))
                dropped += 1
                continue
            formatting += 1
            formatting_bytes += weight
            live[start] = pos
            opened = start
        if drop:
            cuts.append((start, pos, ""))
            dropped += 1
        if name == "a" and not drop and not in_foreign:
            link = _attributes_length(html[start:pos])
        stack.append((name, drop, opened))
        counts[name] = counts.get(name, 0) + 1
    if not cuts:
        return html, 0
    cuts.sort()  # the formatting tags cut when the copies ran out come late
    parts = []
    last = 0
    for start, end, replacement in cuts:
        parts.append(html[last:start])
        parts.append(replacement)
        last = end
    parts.append(html[last:])
    return "".join(parts), dropped


def _worth_scanning(html: str, tags: int, clones: int, clone_bytes: int) -> bool:
    """Whether the page has more than ``tags`` tags, or could make the parser re-create
    more than ``clones`` formatting elements or ``clone_bytes`` of their tags.

    Each formatting start tag not closed right after some text may stay on the parser's
    list, and the list can be re-created after each tag and after the text before it.
    """
    return _may_need_scanning(html, tags, clones, clone_bytes) and _counted(
        html, tags, clones, clone_bytes
    )


def _counted(html: str, tags: int, clones: int, clone_bytes: int) -> bool:
    """:func:`_worth_scanning`'s answer from one pass of a regular expression."""
    found = _COUNT.findall(html)  # "" for each "<" that does not open a formatting element
    if len(found) > tags:
        return True
    left = left_bytes = link_bytes = 0
    count = len(found)
    for tag in filter(None, found):
        closed = _CLOSED.fullmatch(tag)
        if closed is not None:
            count += 1  # the end tag's "<" was in the match
        if closed is None or closed[1].lower() != closed[2].lower():
            # An <a> (no formatting element's name starts so): one at a time on the list.
            if tag[0] in "aA":
                link_bytes = max(link_bytes, len(tag) + 2)
            else:
                left += 1
                left_bytes += len(tag) + 2  # with "<" and ">"
    left_bytes += link_bytes
    rounds = 2 * count + 1
    return count > tags or left * rounds > clones or left_bytes * rounds > clone_bytes


def _may_need_scanning(html: str, tags: int, clones: int, clone_bytes: int) -> bool:
    """False when counting "<" alone shows that :func:`_worth_scanning` would say no: most
    small pages (a pass of its regular expression costs ten times as much as the count).

    Every match of ``_COUNT`` starts at a "<" of its own and the closing tag it may take in
    holds another, so the count of "<" bounds the tags counted and the tags left on the
    list; the tags left are disjoint pieces of the page, each after its own "<", so their
    lengths plus 2 sum to at most the page's length plus that count.
    """
    lt = html.count("<")
    rounds = 2 * lt + 1
    return lt > tags or lt * rounds > clones or (len(html) + lt) * rounds > clone_bytes


def _pops_link(
    stack: list[tuple[str, bool, int]], counts: dict[str, int], name: str, end: bool
) -> bool:
    """Whether the tag ``name`` may take an open ``<a>`` off the stack (roughly, erring
    on the side of yes): an end tag of an element below it, or a block's start tag."""
    if _in_foreign(counts):
        return False
    if not end:
        return name in _ENDS_LINK
    if name == "a" or not counts.get(name):
        return False
    found = _find(stack, name)
    return found is None or any(entry[0] == "a" for entry in stack[found:])


def _attributes_length(tag: str) -> int:
    """About how many characters a copy of the element of ``tag`` holds: its name and
    attributes, but not the space between them (real links are often indented)."""
    return sum(map(len, _WORDS.findall(tag)))


def _find(stack: list[tuple[str, bool, int]], name: str) -> int | None:
    """The index of the open element an end tag ``name`` closes, or None when it closes none."""
    special = name in _SPECIAL
    for i in range(len(stack) - 1, max(-1, len(stack) - 1 - _LOOKBACK), -1):
        entry = stack[i][0]
        if entry == name:
            return i
        if (entry in _SCOPE) if special else (entry in _SPECIAL):
            return None
    return None


def _close(
    stack: list[tuple[str, bool, int]], counts: dict[str, int], names: tuple[str, ...]
) -> None:
    """Implied end tags: pop to the nearest open element named in ``names``, if in scope."""
    for i in range(len(stack) - 1, max(-1, len(stack) - 1 - _LOOKBACK), -1):
        entry = stack[i][0]
        if entry in names:
            _pop_to(stack, counts, i)
            return
        if entry in _SCOPE:
            return


def _pop_to(stack: list[tuple[str, bool, int]], counts: dict[str, int], index: int) -> None:
    for popped, _, _ in stack[index:]:
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
