"""Writing demo pages together with the ground truth of the links they carry.

:class:`LinkWriter` writes one page's links and records each as an
:class:`~linkgraph.demo.model.ExpectedLink` in the same call, so the HTML and the ground
truth cannot disagree. :class:`MarkupSite` writes whole pages of one host from paragraphs
in a tiny link markup; the audit sites (:mod:`linkgraph.demo.audit`) are written with it,
the generated web (:mod:`linkgraph.demo.sites`) with :class:`LinkWriter` directly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from .model import PORT_TOKEN, DemoPage, DemoSite, ExpectedLink, site_url

__all__ = ["LinkWriter", "MarkupSite"]


class LinkWriter:
    """Writes a page's links and their ground truth together, so the two cannot disagree."""

    def __init__(self, host: str, path: str, base: str | None = None) -> None:
        self.base = base or f"http://{host}:{PORT_TOKEN}{path}"
        self.links: list[ExpectedLink] = []

    def _absolute(self, href: str) -> str:
        if "://" in href:
            return href
        if href.startswith("/"):
            return self.base[: self.base.index("/", 8)] + href
        return self.base[: self.base.rfind("/") + 1] + href

    def a(self, href: str, text: str, placement: str, rel: tuple[str, ...] = ()) -> str:
        self.links.append(ExpectedLink(self._absolute(href), text, rel, placement))
        attr = f' rel="{" ".join(rel)}"' if rel else ""
        return f'<a href="{escape(href)}"{attr}>{escape(text)}</a>'

    def img(self, href: str, alt: str, placement: str, src: str = "/img/photo.png") -> str:
        self.links.append(ExpectedLink(self._absolute(href), alt, (), placement, True))
        return f'<a href="{escape(href)}"><img src="{src}" alt="{escape(alt)}"></a>'

    def canonical(self, href: str) -> str:
        self.links.append(ExpectedLink(self._absolute(href), kind="canonical"))
        return f'<link rel="canonical" href="{escape(href)}">\n'


# "[anchor](href)" is a link, with its rel after the href in quotes: [a](href "nofollow");
# "[!alt](href)" is an image link and "[](href)" a link with an empty anchor.
_MARKUP_LINK = re.compile(r'\[(!?)([^\]]*)\]\(([^)\s"]+)(?: "([^"]*)")?\)')
Block = str | list[str]  # a paragraph, or a list of items


@dataclass
class MarkupSite:
    """Writes the pages of one host from paragraphs in a tiny link markup.

    Every page has a header (a link home), a nav, an article of ``blocks``, optional
    comments, and a footer showing ``footer`` on every page. In markup, ``[anchor](href)``
    is a link (``[anchor](href "rel tokens")`` with a rel), ``[!alt](href)`` an image link
    and ``[](href)`` a link with an empty anchor. An href ``key:/path`` whose key is in
    ``aliases`` is ``site_url(aliases[key], path)``; any other href is written as given.

    >>> s = MarkupSite("www.a.test", "A", nav=[("/", "Home")], aliases={"b": "www.b.test"})
    >>> page = s.page("/x", "X", ["See [B](b:/) or [more](/y)."])
    >>> [(link.target, link.anchor) for link in page.links][-2:]
    [('http://www.b.test:@PORT@/', 'B'), ('http://www.a.test:@PORT@/y', 'more')]
    """

    name: str
    title: str
    nav: list[tuple[str, str]]
    footer: list[str] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)
    pages: list[DemoPage] = field(default_factory=list)

    def href(self, href: str) -> str:
        key, sep, path = href.partition(":")
        return site_url(self.aliases[key], path) if sep and key in self.aliases else href

    def markup(self, d: LinkWriter, text: str, placement: str) -> str:
        """``text`` as HTML, its links written through ``d`` at ``placement``."""
        out, at = [], 0
        for m in _MARKUP_LINK.finditer(text):
            image, label, href, rel = m.groups()
            out.append(escape(text[at : m.start()]))
            if image:
                out.append(d.img(self.href(href), label, placement, "/img/photo.png"))
            else:
                out.append(d.a(self.href(href), label, placement, tuple((rel or "").split())))
            at = m.end()
        out.append(escape(text[at:]))
        return "".join(out)

    def page(
        self,
        path: str,
        title: str,
        blocks: Iterable[Block],
        *,
        comments: Iterable[tuple[str, str]] = (),
        head: str = "",
        canonical: str | None = None,
        note: str = "",
        validators: bool = True,
    ) -> DemoPage:
        """Add (and return) an HTML page; ``comments`` are ``(author, markup)`` pairs."""
        d, mark = LinkWriter(self.name, path), self.markup
        out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n']
        out.append(f"<title>{escape(title)} | {escape(self.title)}</title>\n")
        out.append(d.canonical(canonical) if canonical else "")
        out.append(f'{head}</head>\n<body>\n<header class="site-header">')
        out.append(f"{d.a('/', self.title, 'header')}</header>\n<nav>\n<ul>\n")
        out += [f"<li>{d.a(href, label, 'nav')}</li>\n" for href, label in self.nav]
        out.append(f"</ul>\n</nav>\n<main>\n<article>\n<h1>{escape(title)}</h1>\n")
        for block in blocks:
            if isinstance(block, str):
                out.append(f"<p>{mark(d, block, 'content')}</p>\n")
            else:
                items = "".join(f"<li>{mark(d, item, 'content')}</li>\n" for item in block)
                out.append(f"<ul>\n{items}</ul>\n")
        out.append("</article>\n")
        said = [
            f"<p>{escape(who)} wrote: {mark(d, text, 'comments')}</p>" for who, text in comments
        ]
        if said:
            out.append('<section id="comments">\n<h2>Replies</h2>\n')
            out += [f'<div class="comment">{p}</div>\n' for p in said]
            out.append("</section>\n")
        out.append(f"</main>\n<footer>\n<p>&copy; 2024 {escape(self.title)}.</p>\n<ul>\n")
        out += [f"<li>{mark(d, item, 'footer')}</li>\n" for item in self.footer]
        out.append("</ul>\n</footer>\n</body>\n</html>\n")
        return self.add(
            DemoPage.html(path, "".join(out), d.links, note=note, validators=validators)
        )

    def add(self, page: DemoPage) -> DemoPage:
        """Add a page written some other way (a status page, a redirect)."""
        self.pages.append(page)
        return page

    def site(self, robots: str | None = "User-agent: *\nDisallow:\n", **kw: Any) -> DemoSite:
        """The :class:`DemoSite` of the pages so far (``kw``: its other fields)."""
        robots_page = DemoPage.robots(robots) if robots is not None else None
        return DemoSite(self.name, self.pages, robots_page, **kw)
