"""Links and page metadata out of an HTML document, with selectolax's lexbor parser.

lexbor builds the tree a browser builds (the WHATWG parsing algorithm), so what we record
is what a reader's browser would show. The rules, in one place:

Links
    Every ``<a href>`` and ``<area href>`` in the document tree, in document order, one
    :class:`~storage.records.Link` per element (repeats are kept; the store aggregates).
    An SVG ``<a>`` counts too, with ``href`` or else ``xlink:href``, since browsers follow
    it. The target is ``crawler.urls.resolve(href, base)``; elements whose target is not an
    http(s) URL (``javascript:``, ``mailto:``, ``tel:``, ``data:``, unparsable) are skipped.
    An empty ``href`` is kept: per WHATWG it names the base URL (usually the page itself).
Base
    The first ``<base href>`` resolved against the page URL when that gives an http(s) URL,
    else the page URL.
What is not in the tree
    Comments, ``<script>``, ``<style>``, ``<textarea>`` and ``<title>`` hold text, not
    elements, so links written inside them do not exist. ``<template>`` content lives in a
    separate fragment that neither lexbor's CSS selection nor ``text()`` reaches, so it is
    skipped too (it is inert until a script clones it).
``<noscript>``
    We parse as a browser with scripting disabled, which is what a crawler is: the content
    of ``<noscript>`` is markup and its links are recorded (they are the links a client
    without JavaScript can follow). Its text is left out of the visible ``text``, where it
    is nearly always "please enable JavaScript".
Anchor text
    The element's text content, without the text of ``<script>`` and ``<style>`` inside
    it, whitespace (any Unicode whitespace, so ``&nbsp;`` too) collapsed to single spaces.
    A link holding an ``<img>`` has ``image=True``; when its text is empty its anchor is the
    images' ``alt`` texts (repeats dropped: lazy-loading markup often repeats the image in a
    ``<noscript>``). An ``<area>`` is an image link whose anchor is its ``alt``.
rel
    The ``rel`` tokens, lower-cased, repeats dropped, in order.
Placement
    Decided by the innermost ancestor that is a placement container; ``content`` when there
    is none. An element is a container, checking in this order:

    1. ``comments`` when it is a ``div``, ``section``, ``article``, ``aside``, ``ol``,
       ``ul``, ``dl`` or ``footer`` whose ``id`` or one of whose classes is exactly (any
       case) one of :data:`COMMENT_TOKENS`. Whole tokens only, and only block containers, so
       a ``<span class="comment-count">`` badge or an ``<a class="comments-link">`` in the
       article body does not turn the article into comments.
    2. its ARIA ``role`` (the first of its tokens we know): ``navigation`` → ``nav``,
       ``banner`` → ``header``, ``contentinfo`` → ``footer``, ``complementary`` →
       ``sidebar``;
    3. its tag: ``nav``, ``header``, ``footer``, ``aside`` (→ ``sidebar``), wherever they
       are (a ``<header>`` inside an ``<article>`` counts as ``header`` too);
    4. ``sidebar`` for the same block containers with an ``id`` or class in
       :data:`SIDEBAR_TOKENS`.
Metadata
    ``title``: the first ``<title>`` outside SVG/MathML, whitespace collapsed (``None`` when
    absent or blank). ``lang``: ``<html lang>``, else the first ``<meta http-equiv=
    "content-language">`` (up to a comma), lower-cased. ``canonical``: the first ``<link
    rel=canonical href>`` anywhere in the document, resolved (``None`` when it is not
    http(s)). ``robots``: the directives of ``<meta name=robots>`` and of ``<meta name=
    {agent_token}>``, parsed by :func:`robots_directives`. (The head is gathered by
    :mod:`crawler.pagemeta`; its rules are stated here with the rest.)
Visible text (``want_text=True``)
    The text of ``<body>`` without ``<script>``, ``<style>``, ``<noscript>``,
    ``<template>``, ``<iframe>`` fallback and SVG ``<title>``, text nodes joined with a
    space (so block boundaries never glue words together) and whitespace collapsed. CSS is
    not evaluated: text hidden by stylesheets is included.

Limits
    Elements nested deeper than 512 levels are flattened before parsing
    (:mod:`crawler.nesting`), as Blink and WebKit do, so placement comes from the
    containers within the first 512 levels. SVG links inside more than
    :data:`MAX_LINK_NESTING` other links are not recorded. ``max_links`` caps the links
    kept, in document order (``truncated``); targets longer than ``max_url_length`` are
    left out (``long_urls``); a :class:`Budget` of CPU time that runs out ends the
    extraction with the links found so far (``error="parse-timeout"``). The work is then
    linear in the size of the page (the nesting scan skips pages of up to 8,192 tags,
    whose worst case is a fraction of a second). The same scan bounds the formatting
    elements (``<b>``, ``<font>``...) the parser re-creates in each paragraph when they
    are left open: 32 open at once, and about 2^18 copies per page
    (:mod:`crawler.nesting` says how, and what it does not bound).

Misnested markup
    We record the tree the parser builds, as a browser does. When markup is misnested (an
    ``<a>`` wrapping a ``<div>`` inside a ``<p>``, an ``<a>`` inside an ``<a>``), HTML tree
    construction closes the open ``<a>`` and clones it around the content that follows
    (the "adoption agency" steps), so one ``<a>`` in the source can give several links with
    the same target, often empty. Each is a link in the browser's DOM, so each is kept; on
    our corpus that is 35 links in 34,282. Telling clones from deliberate repeats (the same
    icon link twice for two screen sizes) is not possible from the tree.

Known difference from a browser: the query of a relative URL on a page in a legacy
encoding is percent-encoded from UTF-8, where a browser would use the page's encoding
(ada-url, like most URL libraries, has no such mode).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from linkgraph.storage.records import Link
from selectolax.lexbor import LexborHTMLParser, LexborNode

from .nesting import cap_nesting
from .pagemeta import PageHead, robots_directives
from .placement import (
    COMMENT_TOKENS,
    SIDEBAR_TOKENS,
    containers,
    innermost,
    link_contents,
    link_nesting,
    placements,
)
from .treequery import select
from .urls import MAX_URL_LENGTH, resolve

__all__ = [
    "COMMENT_TOKENS",
    "SIDEBAR_TOKENS",
    "Budget",
    "Extracted",
    "LinkFields",
    "as_links",
    "extract",
    "extract_fields",
    "robots_directives",
]

# A link's anchor is all the text inside it, links inside it included: n SVG links each
# inside the last would cost (and store) n * n characters. Deeper ones are not recorded.
MAX_LINK_NESTING = 16


_LINKS = "a[href], area[href]"

_TEXT_FREE = frozenset({"script", "style"})


@dataclass(slots=True)
class Extracted:
    """What :func:`extract` found in one page."""

    links: list[Link]
    title: str | None
    lang: str | None
    canonical: str | None
    robots: frozenset[str]
    base: str
    text: str | None
    # (hash, host, registrable domain) of link targets, when the caller had them computed
    url_info: dict[str, tuple[int, str, str]] | None = None
    # "parse-timeout" (the CPU budget ran out: the links found until then) or
    # "parse-failed" (the parser crashed: no links)
    error: str | None = None
    truncated: bool = False  # the page had more than max_links links
    long_urls: int = 0  # link targets longer than max_url_length, left out
    # the targets of links to follow (no nofollow, sponsored or ugc), each once, in order,
    # when the caller had them computed
    follow: list[str] | None = None


def _collapse(text: str) -> str:
    return " ".join(text.split())


# -- the page -------------------------------------------------------------------------------


class Budget:
    """The CPU time one page may take; :func:`extract` stops where it runs out.

    ``clock`` is the calling thread's CPU time by default, so a busy machine or a page
    parsed beside others is not charged for their work; tests pass a fake clock.

    Reading a thread's CPU time is a system call, and its cost (with what it evicts) was a
    few percent of a small page's parse. So a check first reads ``wall``, a clock that runs
    at least as fast as ``clock`` (the monotonic wall clock, for the default CPU clock: a
    thread cannot use more CPU time than passes): while less than the budget has passed on
    it, the budget cannot have run out, and ``clock`` is read only at the start.
    """

    __slots__ = ("_clock", "_end", "_wall", "_wall_end", "exceeded")

    def __init__(
        self,
        seconds: float | None,
        clock: Callable[[], float] = time.thread_time,
        wall: Callable[[], float] | None = None,
    ) -> None:
        if wall is None and clock is time.thread_time:
            wall = time.perf_counter
        self._clock = clock
        self._end = None if seconds is None else clock() + seconds
        self._wall = None if seconds is None else wall
        self._wall_end = 0.0
        if seconds is not None and wall is not None:
            self._wall_end = wall() + seconds
        self.exceeded = False

    def spent(self) -> bool:
        """True once the budget is used up (and from then on)."""
        if self.exceeded or self._end is None:
            return self.exceeded
        if self._wall is not None and self._wall() < self._wall_end:
            return False
        if self._clock() >= self._end:
            self.exceeded = True
        return self.exceeded


def _text_without_scripts(node: LexborNode) -> str:
    parts = []
    for child in node.traverse(include_text=True):
        if child.is_text_node and child.parent.tag not in _TEXT_FREE:
            parts.append(child.text_content or "")
    return "".join(parts)


# The fields of a Link, in its order: a plain tuple is what a worker sends (marshal takes
# no named tuple), built as such for parse_page, and as Links for extract's callers.
LinkFields = tuple[str, str, tuple[str, ...], str, bool, str]


@dataclass(slots=True)
class _Found:
    links: list[LinkFields]
    truncated: bool = False  # more links than max_links
    long_urls: int = 0  # targets longer than max_url_length, left out


def _links(
    found: _Found,
    tree: LexborHTMLParser,
    head: PageHead,
    base: str,
    budget: Budget,
    max_links: int | None,
    max_url: int,
) -> None:
    elements = select(tree.root, _LINKS)
    if not elements:
        return
    marks = containers(tree.root)
    targets: dict[str, str | None] = {}
    start = 0
    # In windows, so that a page of 200,000 links costs the placements of the first
    # max_links or so, not of all (some elements are skipped: mailto:, too long...).
    while start < len(elements) and not (found.truncated or budget.exceeded):
        size = len(elements)
        if max_links is not None:
            size = max_links - len(found.links)
            size += size // 4 + 16
        window = elements[start : start + size]
        start += len(window)
        _link_window(window, marks, head, base, budget, max_links, max_url, targets, found)


def _link_window(
    nodes: list[LexborNode],
    marks: dict[int, str],
    head: PageHead,
    base: str,
    budget: Budget,
    max_links: int | None,
    max_url: int,
    targets: dict[str, str | None],
    found: _Found,
) -> None:
    placed = placements(nodes, marks)
    if budget.spent():
        return
    # Each link's tag and key, read once: link_contents needs those of the <a> links too.
    tags = [node.tag for node in nodes]
    keys = [node.mem_id for node in nodes]
    anchors = [key for key, tag in zip(keys, tags, strict=True) if tag == "a"]
    alts, scripted = link_contents(head.contents, anchors)
    # Only SVG links can hold links (an HTML <a> closes the open one), and a few hundred
    # cost little however nested: look (a walk of the whole tree) only past that. The head
    # knows whether there is an <svg> (tree.css_first() built a CSS engine for the page).
    nesting = None
    if len(nodes) > 256 and head.svg:
        nesting = link_nesting(nodes)
    links = found.links
    for i, node in enumerate(nodes):
        if i & 63 == 63 and budget.spent():
            return
        if nesting is not None and nesting[i] > MAX_LINK_NESTING:
            continue
        attrs = node.attributes
        href = attrs.get("href", attrs.get("xlink:href")) or ""
        target = targets.get(href, "")
        if target == "":
            target = targets[href] = resolve(href, base)
            if target is not None and len(target) > max_url:
                found.long_urls += 1
                target = targets[href] = None
        if target is None:
            continue
        if max_links is not None and len(links) >= max_links:
            found.truncated = True
            return
        if tags[i] == "area":
            anchor = _collapse(attrs.get("alt") or "")
            image = True
        else:
            key = keys[i]
            text = _text_without_scripts(node) if key in scripted else node.text()
            anchor = _collapse(text)
            image = key in alts
            if image and not anchor:
                anchor = " ".join(alts[key])
        rel = attrs.get("rel")
        rels = tuple(dict.fromkeys(rel.lower().split())) if rel else ()
        links.append((target, anchor, rels, placed[i], image, "link"))


def _title(head: PageHead) -> str | None:
    """The first ``<title>`` outside SVG and MathML (icons have their own), collapsed."""
    if not head.foreign:  # no SVG or MathML on the page: no walk up the tree
        return _collapse(head.titles[0].text()) or None if head.titles else None
    for node, foreign in zip(head.titles, innermost(head.titles, head.foreign), strict=True):
        if foreign is None:
            return _collapse(node.text()) or None
    return None


def extract(
    html: str,
    url: str,
    *,
    agent_token: str = "linkgraph",
    want_text: bool = False,
    max_links: int | None = None,
    max_url_length: int = MAX_URL_LENGTH,
    budget: Budget | None = None,
) -> Extracted:
    """Parse a page and return its links and metadata (the rules are in the module doc).

    ``url`` is the page's own (final) URL; ``agent_token`` names our ``<meta>`` robots tag.
    At most ``max_links`` links are kept (``truncated`` says when there were more);
    targets longer than ``max_url_length`` are left out and counted in ``long_urls``.
    When ``budget`` runs out the page comes back with the links found so far and
    ``error="parse-timeout"``.

    >>> html = '<base href="/d/"><nav><a href="p#x" rel="NoFollow">A&nbsp; b</a></nav>'
    >>> link = extract(html, "https://example.com/a/b").links[0]
    >>> link.target, link.anchor, link.rel, link.placement
    ('https://example.com/d/p', 'A b', ('nofollow',), 'nav')
    """
    links, found = extract_fields(
        html,
        url,
        agent_token=agent_token,
        want_text=want_text,
        max_links=max_links,
        max_url_length=max_url_length,
        budget=budget,
    )
    found.links = as_links(links)
    return found


_new_link = tuple.__new__


def as_links(fields: list[LinkFields]) -> list[Link]:
    """Each link's fields as a :class:`Link` (a named tuple), built in C."""
    return [_new_link(Link, link) for link in fields]


def extract_fields(
    html: str,
    url: str,
    *,
    agent_token: str = "linkgraph",
    want_text: bool = False,
    max_links: int | None = None,
    max_url_length: int = MAX_URL_LENGTH,
    budget: Budget | None = None,
) -> tuple[list[LinkFields], Extracted]:
    """:func:`extract`, with the links apart, each as the plain tuple of its fields (what
    a parsing worker sends back), and ``links`` left empty."""
    budget = budget or Budget(None)
    tree = LexborHTMLParser(cap_nesting(html)[0])
    head = PageHead(tree, agent_token.strip().lower())
    base = url
    if head.base_href is not None:
        base = resolve(head.base_href, url) or url
    found = _Found([])
    if not budget.spent():
        _links(found, tree, head, base, budget, max_links, max_url_length)

    root = tree.root
    lang = (root.attributes.get("lang") or "").strip().lower() if root is not None else ""
    canonical = None
    if head.canonical_href is not None:
        canonical = resolve(head.canonical_href, base)
        if canonical is not None and len(canonical) > max_url_length:
            canonical = None

    text = None
    if want_text and not budget.spent():
        body = tree.body
        # The elements whose text is not visible, out of the tree: tree.strip_tags() of
        # their tags, without a walk of the tree for each tag. Each is unlinked, not freed,
        # so one inside another already unlinked is unlinked from that, harmlessly.
        for node in head.hidden:
            node.decompose(False)
        # Text nodes of ASCII whitespace alone add no word: skipped before the join.
        text = _collapse(body.text(separator=" ", skip_empty=True)) if body is not None else ""

    return found.links, Extracted(
        links=[],
        title=_title(head),
        lang=lang or head.meta_lang,
        canonical=canonical,
        robots=robots_directives(head.robots, agent_token),
        base=base,
        text=text,
        error="parse-timeout" if budget.spent() else None,
        truncated=found.truncated,
        long_urls=found.long_urls,
    )
