"""A page's own facts, as :func:`~linkgraph.crawler.extract.extract` reads them: the head.

:class:`PageHead` gathers, in one selector pass over the document, the first ``<base
href>``, the first canonical ``<link>``, the ``<meta>`` robots directives for us, the
``content-language`` pragma and the ``<title>`` elements; :func:`robots_directives` parses
the robots directives of meta tags and of ``X-Robots-Tag`` headers alike. The rules are in
the docstring of :mod:`linkgraph.crawler.extract`, with the rest of what a page yields.
"""

from __future__ import annotations

from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .treequery import select

__all__ = ["PageHead", "robots_directives"]

# svg and math: the roots of the foreign content whose <title> elements are not the page's.
# img, script and style: what a link may hold that changes its anchor, gathered in the same
# pass for extract (a selector pass has a cost of its own, about a parse of a small page's).
# noscript, template and iframe (with script, style and title): the elements whose text is
# not visible, which extract takes out of the tree before reading the text.
_HEAD_ITEMS = (
    "base[href], title, meta[content], link[rel~=canonical i][href], svg, math,"
    " img, script, style, noscript, template, iframe"
)
_CONTENTS = frozenset({"img", "script", "style"})
_HIDDEN = frozenset({"script", "style", "noscript", "template", "iframe", "title"})


# Directives that take a value after a colon, so "max-snippet: 20" is not a user agent.
_VALUED = frozenset({"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"})
_AGENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def robots_directives(values: Iterable[str], agent_token: str) -> frozenset[str]:
    """The robots directives in ``X-Robots-Tag`` values (or meta robots contents) for us.

    Directives are comma-separated (a part without a colon may also separate them with
    spaces or semicolons). ``name: directives`` scopes the directives after it, up to the
    next such prefix, to the user agent ``name``; they apply when the name is
    ``agent_token`` (any case) and are ignored otherwise. ``none`` stands for ``noindex``
    and ``nofollow``. Valued directives come back as ``name:value``.

    >>> sorted(robots_directives(["noindex, nofollow"], "linkgraph"))
    ['nofollow', 'noindex']
    >>> sorted(robots_directives(["googlebot: noindex", "LinkGraph: none"], "linkgraph"))
    ['nofollow', 'noindex']
    >>> sorted(robots_directives(["max-snippet: 20, otherbot: noindex"], "linkgraph"))
    ['max-snippet:20']
    """
    agent = agent_token.strip().lower()
    found: set[str] = set()
    for value in values:
        applies = True
        for part in value.lower().split(","):
            name, colon, rest = part.partition(":")
            name = name.strip()
            if colon and name not in _VALUED:
                if not name or not _AGENT_CHARS.issuperset(name):
                    continue  # "06-nov-94 08:49": the tail of a date after a comma
                applies = name == agent
                name, colon, rest = rest.partition(":")
                name = name.strip()
            if not applies:
                continue
            if colon:
                if name in _VALUED:
                    found.add(f"{name}:{rest.strip()}")
                continue
            for token in name.replace(";", " ").split():
                if token == "none":
                    found.update(("noindex", "nofollow"))
                else:
                    found.add(token)
    return frozenset(found)


class PageHead:
    """The page-level facts, gathered in one selector pass over the document.

    ``titles`` are every ``<title>`` element, SVG and MathML ones too, and ``foreign``
    marks (by ``mem_id``) every ``<svg>`` and ``<math>`` element, so that the caller can
    tell the page's title from an icon's with one walk up the tree. ``contents`` are the
    page's ``<img>``, ``<script>`` and ``<style>`` elements, and ``hidden`` its
    ``<script>``, ``<style>``, ``<noscript>``, ``<template>``, ``<iframe>`` and ``<title>``
    elements (SVG and MathML ones too), in document order; ``svg`` says whether there is
    an ``<svg>`` element.
    """

    __slots__ = (
        "base_href",
        "canonical_href",
        "contents",
        "foreign",
        "hidden",
        "meta_lang",
        "robots",
        "svg",
        "titles",
    )

    def __init__(self, tree: LexborHTMLParser, agent: str) -> None:
        self.base_href: str | None = None
        self.canonical_href: str | None = None
        self.meta_lang: str | None = None
        self.robots: list[str] = []
        self.titles: list[LexborNode] = []
        self.foreign: dict[int, bool] = {}
        self.contents: list[LexborNode] = []
        self.hidden: list[LexborNode] = []
        self.svg = False
        for node in select(tree.root, _HEAD_ITEMS):
            tag = node.tag
            if tag in _HIDDEN:
                self.hidden.append(node)
                if tag != "title" and tag not in _CONTENTS:
                    continue  # noscript, template, iframe
            if tag in _CONTENTS:
                self.contents.append(node)
            elif tag == "meta":
                self._meta(node.attributes, agent)
            elif tag == "title":
                self.titles.append(node)
            elif tag == "svg" or tag == "math":
                self.foreign[node.mem_id] = True
                self.svg = self.svg or tag == "svg"
            elif tag == "base":
                if self.base_href is None:
                    self.base_href = node.attributes.get("href") or ""
            elif self.canonical_href is None:
                self.canonical_href = node.attributes.get("href") or ""

    def _meta(self, attrs: dict[str, str | None], agent: str) -> None:
        content = attrs.get("content")
        if content is None:
            return
        name = (attrs.get("name") or "").strip().lower()
        if name == "robots" or name == agent:
            self.robots.append(content)
        elif self.meta_lang is None:
            if (attrs.get("http-equiv") or "").strip().lower() == "content-language":
                # WHATWG "pragma-set default language": the part before any comma.
                self.meta_lang = content.partition(",")[0].strip().lower() or None
