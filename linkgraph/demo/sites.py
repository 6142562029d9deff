"""The generated demo web: :func:`generate`, and :func:`describe` for the summary.

Sites are data (:mod:`linkgraph.demo.model`): :class:`DemoSite` holds :class:`DemoPage`
objects, each a list of canned :class:`Response` objects plus the ground truth of the links
its HTML carries (:class:`ExpectedLink`, which is ``storage.records.Link``). The
port is only known once the demo web is bound, so absolute URLs are written with
:data:`PORT_TOKEN` (:func:`site_url`); the running demo web serves copies with the real port.

:func:`generate` builds a small realistic web: organisations with several hosts under one
registrable domain, a few hubs that many sites link to, pages with header, nav, content,
sidebar, comments and footer links; hubs have the note ``hub``. With ``traps=True`` the
first six organisations are the trap ones (:mod:`linkgraph.demo.traps` has their table)
and the backlink-audit sites of :mod:`linkgraph.demo.audit` are added (a brand to audit and
the sites linking to it, a link farm, brand mentions, broken and external links; its
docstring has their table), and ``generation=2`` serves the same web three months later,
changed as :data:`linkgraph.demo.truth.CHANGES` lists. With ``traps=False`` (benchmarks)
there are no delays, errors, loops or outbound links, and robots.txt disallows
``/private/`` and ``/tmp/``. On every host ``/private/account`` is disallowed and
``/contact`` has a mailto: link (not a web link); every ``blog.`` page has a self canonical.

Every 2xx answer carries a strong ``ETag`` (a hash of the body served) and a
``Last-Modified`` (:data:`GENERATION_DATES` of the generation that wrote the page), and a
matching ``If-None-Match`` or ``If-Modified-Since`` gets ``304 Not Modified``;
``www.acme-shoes.test/size-guide`` (note ``no-validators``) is served without either.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from html import escape
from itertools import accumulate
from typing import Any

from linkgraph.crawler.urls import registrable_domain

from .audit import audit_sites
from .markup import LinkWriter
from .model import (
    GENERATION_DATES,
    DemoPage,
    DemoSite,
    ExpectedLink,
    expected_edges,
    host_of_url,
    site_url,
)
from .traps import EXPLORE, REAL_SITES, ROBOTS, CalendarTrap, trap_pages
from .truth import audit_facts

__all__ = ["describe", "generate"]


def describe(sites: list[DemoSite]) -> dict[str, Any]:
    """Counts for the ``linkgraph demo`` summary.

    Beyond sites, pages and links: the audit content (``farm_sites``, ``target_backlinks``
    and ``target_referring_domains`` of :data:`linkgraph.demo.truth.TARGET`,
    ``brand_mentions`` and ``unlinked_mentions`` of its brand, ``broken_links``: links to
    4xx pages or hosts that refuse), and ``pages_without_validators``.
    """
    names = {s.name for s in sites}
    links = [(src, ln) for src, ln in expected_edges(sites) if ln.kind == "link"]
    notes = {s.note for s in sites} | {p.note for s in sites for p in s.pages.values()}
    return {
        "sites": len(sites),
        "listening": sum(s.listening for s in sites),
        "domains": len({registrable_domain(n) for n in names}),
        "seeds": sum(s.seed and s.listening for s in sites),
        "pages": sum(len(s.pages) for s in sites),
        "links": len(links),
        "cross_site_links": sum(host_of_url(src) != host_of_url(ln.target) for src, ln in links),
        "nofollow_links": sum(
            bool({"nofollow", "sponsored", "ugc"} & set(ln.rel)) for _, ln in links
        ),
        "outbound_links": sum(host_of_url(ln.target) not in names for _, ln in links),
        "traps": sorted(n for n in notes if n),
        **audit_facts(sites),
    }


# The generator -----------------------------------------------------------------------------

_NATO = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
    "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()
_SUFFIXES = "labs media works press daily studio net hub group online".split()
_SECTIONS = {"www": "/articles/", "blog": "/posts/", "shop": "/products/", "news": "/stories/"}
_WORDS = (
    "crawler graph link anchor harbour river garden signal quiet bright archive lantern "
    "orchard paper window market village winter summer journey bridge compass copper meadow "
    "island letter pattern rhythm season shadow thunder valley wonder the a of and to in with "
    "on for from by every small large early late green blue golden silver open hidden"
).split()
_ADJECTIVES = "quiet bright hidden golden early late open small green silver".split()
_NOUNS = "harbour garden lantern orchard market bridge meadow island valley compass".split()
_COMMENTERS = "Ada Grace Linus Alan Barbara Ken Margaret Dennis Frances Edsger Radia Tim".split()


@dataclass(eq=False)
class _Host:
    name: str
    org: str
    kind: str
    trap: bool
    small: bool = False
    articles: list[tuple[str, str]] = field(default_factory=list)
    blogroll: list[_Host] = field(default_factory=list)
    sisters: list[_Host] = field(default_factory=list)
    powered_by: _Host | None = None

    @property
    def title(self) -> str:
        return self.org if self.kind == "www" else f"{self.org} {self.kind.capitalize()}"


class _Builder:
    def __init__(self, n_sites: int, pages_per_site: int, seed: int, traps: bool) -> None:
        self.rng = random.Random(seed)
        self.traps = traps
        self.hosts: list[_Host] = []
        self._layout(n_sites, max(1, pages_per_site - 5))
        regular = [h for h in self.hosts if not h.trap and h.kind == "www"]
        self.hubs = hubs = regular[: max(2, len(regular) // 8)]
        rest = [h for h in self.hosts if h not in hubs]
        self.rng.shuffle(rest)
        # Zipf-like weights over hubs first: a few sites get most of the links.
        self.pool = hubs + rest
        self.cum_weights = list(
            accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(self.pool)))
        )
        for h in self.hosts:
            h.blogroll = [self._pick(h) for _ in range(3)]
            h.powered_by = self.rng.choice([x for x in hubs if x is not h] or hubs)
            h.sisters = [x for x in self.hosts if x.org == h.org and x is not h]

    def _layout(self, n_sites: int, n_articles: int) -> None:
        plan: list[tuple[str, list[str]]] = []
        if self.traps:
            plan = [("alpha", ["www", "blog", "shop"]), ("bravo", ["www", "news"])]
            plan += [(name, ["www"]) for name in ("charlie", "delta", "echo", "foxtrot")]
        names = [*_NATO, *(f"{n}{s}" for s in _SUFFIXES for n in _NATO)]
        left = n_sites - 10 if self.traps else n_sites  # 9 trap hosts + old.alpha.test
        org = len(plan)
        while left > 0:
            kinds = ["www"] + [
                k
                for k, p in (("blog", 0.45), ("shop", 0.25), ("news", 0.15))
                if self.rng.random() < p
            ]
            name = names[org] if org < len(names) else f"org{org}"
            plan.append((name, kinds[:left]))
            left -= len(kinds[:left])
            org += 1
        for name, kinds in plan:
            for kind in kinds:
                small = self.traps and name in ("echo", "foxtrot")
                trap = self.traps and len(self.hosts) < 9
                host = _Host(f"{kind}.{name}.test", name.capitalize(), kind, trap)
                host.small = small
                for i in range(1 if small else n_articles):
                    title = f"{self.rng.choice(_ADJECTIVES)} {self.rng.choice(_NOUNS)} {i + 1}"
                    host.articles.append((_SECTIONS[kind] + title.replace(" ", "-"), title.title()))
                self.hosts.append(host)

    def _pick(self, host: _Host) -> _Host:
        while True:
            other = self.rng.choices(self.pool, cum_weights=self.cum_weights)[0]
            if other is not host or len(self.pool) == 1:
                return other

    def _other(self, host: _Host) -> tuple[str, str]:
        other = self._pick(host)
        if self.rng.random() < 0.7:
            return site_url(other.name), other.title
        path, title = self.rng.choice(other.articles)
        return site_url(other.name, path), title

    def _rel(self) -> tuple[str, ...]:
        roll = self.rng.random()
        return ("nofollow",) if roll < 0.08 else ("sponsored",) if roll < 0.12 else ()

    def _sentence(self, words: int = 9) -> str:
        text = " ".join(self.rng.choices(_WORDS, k=words))
        return text[0].upper() + text[1:] + "."

    def _nav(self, h: _Host) -> list[tuple[str, str]]:
        if h.small:
            return [("/", "Home"), ("/about", "About")]
        section = _SECTIONS[h.kind]
        label = section.strip("/").capitalize()
        return [("/", "Home"), (section, label), ("/about", "About"), ("/contact", "Contact")]

    def render(
        self,
        h: _Host,
        path: str,
        title: str,
        main: Callable[[LinkWriter], str],
        *,
        head: str = "",
        base: str | None = None,
        canonical: str | None = None,
        comments: int = 0,
        charset: bool = True,
    ) -> tuple[str, list[ExpectedLink]]:
        """The whole page, written strictly in document order (the ground truth's order)."""
        d, rng = LinkWriter(h.name, path, base), self.rng
        out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n']
        out.append('<meta charset="utf-8">\n' if charset else "")
        out.append(f"<title>{escape(title)} | {escape(h.title)}</title>\n")
        out.append(f'<base href="{escape(base)}">\n' if base else "")
        canonical = canonical or (path if h.kind == "blog" else None)
        out.append(d.canonical(canonical) if canonical else "")
        out.append(f'{head}</head>\n<body>\n<header class="site-header">\n')
        out.append(d.img("/", f"{h.title} logo", "header", "/img/logo.png"))
        out.append(
            f'\n<p class="tagline">{self._sentence(6)}</p>\n</header>\n<nav class="menu">\n<ul>\n'
        )
        out += [f"<li>{d.a(href, label, 'nav')}</li>\n" for href, label in self._nav(h)]
        out.append("</ul>\n</nav>\n<main>\n")
        out.append(main(d))
        out.append('</main>\n<aside class="sidebar">\n<h2>Blogroll</h2>\n<ul>\n')
        out += [f"<li>{d.a(site_url(x.name), x.title, 'sidebar')}</li>\n" for x in h.blogroll]
        out.append("</ul>\n<h2>Popular</h2>\n<ul>\n")
        out += [f"<li>{d.a(p, t, 'sidebar')}</li>\n" for p, t in h.articles[:2]]
        out.append("</ul>\n</aside>\n")
        if comments:
            out.append('<section id="comments">\n<h2>Comments</h2>\n')
            for _ in range(comments):
                who = d.a(
                    site_url(self._pick(h).name),
                    rng.choice(_COMMENTERS),
                    "comments",
                    ("ugc", "nofollow"),
                )
                out.append(f'<div class="comment"><p>{who} wrote: {self._sentence()}</p></div>\n')
            out.append("</section>\n")
        out.append(f"<footer>\n<p>&copy; 2024 {escape(h.org)}.</p>\n<ul>\n")
        footer = [("/about", "About us")]
        footer += [] if h.small else [("/contact", "Contact"), ("/private/account", "My account")]
        footer += [(site_url(x.name), x.title) for x in h.sisters]
        if h.powered_by is not None:
            footer.append((site_url(h.powered_by.name), f"Powered by {h.powered_by.org}"))
        out += [f"<li>{d.a(href, text, 'footer')}</li>\n" for href, text in footer]
        out.append("</ul>\n</footer>\n</body>\n</html>\n")
        return "".join(out), d.links

    def page(
        self,
        h: _Host,
        path: str,
        title: str,
        links: Iterable[tuple[str, str]] = (),
        *,
        extra: str = "",
        headers: dict[str, str] | None = None,
        note: str = "",
        encoding: str | None = None,
        delay: float = 0.0,
        **render: Any,
    ) -> DemoPage:
        """A simple page: a heading, a paragraph, a list of links and ``extra`` HTML."""

        def main(d: LinkWriter) -> str:
            items = "".join(f"<li>{d.a(href, text, 'content')}</li>\n" for href, text in links)
            return (
                f"<article>\n<h1>{escape(title)}</h1>\n<p>{self._sentence(14)}</p>\n"
                f"{extra}<ul>\n{items}</ul>\n</article>\n"
            )

        document, found = self.render(h, path, title, main, **render)
        return DemoPage.html(
            path, document, found, headers=headers, delay=delay, encoding=encoding, note=note
        )

    def regular_pages(self, h: _Host) -> list[DemoPage]:
        rng, s = self.rng, self._sentence
        pages = []
        for path, title in h.articles:

            def article(d: LinkWriter, path: str = path, title: str = title) -> str:
                inner = rng.choice([a for a in h.articles if a[0] != path] or h.articles)
                out = [f"<article>\n<h1>{escape(title)}</h1>\n"]
                out.append(f"<p>{s()} {d.a(inner[0], inner[1], 'content')} {s()}</p>\n")
                href, anchor = self._other(h)
                out.append(f"<p>{s()} {s()} See {d.a(href, anchor, 'content', self._rel())}.</p>\n")
                if rng.random() < 0.3:
                    out.append(
                        f"<figure>{d.img(inner[0], f'Photo: {inner[1]}', 'content')}</figure>\n"
                    )
                if rng.random() < 0.5:
                    href, anchor = self._other(h)
                    out.append(f"<p>{s()} Also {d.a(href, anchor, 'content', self._rel())}.</p>\n")
                out.append(f"<p>{s(14)}</p>\n</article>\n")
                return "".join(out)

            comments = 0 if h.small else rng.choice((0, 0, 1, 2, 3))
            document, links = self.render(h, path, title, article, comments=comments)
            pages.append(DemoPage.html(path, document, links))

        def home(d: LinkWriter) -> str:
            href, anchor = self._other(h)
            welcome = f"<h1>Welcome to {escape(h.title)}</h1>\n"
            out = [f"{welcome}<p>{s()} We like {d.a(href, anchor, 'content')}.</p>\n"]
            out.append(
                f"<figure>{d.img(*h.articles[0], 'content')}</figure>\n<h2>Latest</h2>\n<ul>\n"
            )
            out += [f"<li>{d.a(p, t, 'content')}</li>\n" for p, t in h.articles[-5:]]
            explore = EXPLORE.get(h.name, "") if self.traps else ""
            if explore:
                out.append('</ul>\n<section class="explore">\n<h2>Explore</h2>\n<ul>\n')
                for item in explore.split("; "):
                    href, text = item.split(" ", 1)
                    out.append(f"<li>{d.a(href, text, 'content')}</li>\n")
                out.append("</ul>\n</section>\n")
            else:
                out.append("</ul>\n")
            return "".join(out)

        document, links = self.render(h, "/", h.title, home)
        pages.append(DemoPage.html("/", document, links))
        about = [(site_url(x.name), x.title) for x in h.sisters]
        about += [(REAL_SITES[0], "How crawlers work")] if self.traps else []
        pages.append(self.page(h, "/about", f"About {h.title}", about))
        if not h.small:
            pages.append(self.page(h, _SECTIONS[h.kind], "Everything", h.articles))
            mail = f'<p>Write to <a href="mailto:hello@{h.name}">hello@{h.name}</a>.</p>\n'
            pages.append(self.page(h, "/contact", "Contact", extra=mail))
            pages.append(self.page(h, "/private/account", "Your account"))
        return pages


def generate(
    n_sites: int = 40,
    pages_per_site: int = 12,
    *,
    seed: int = 7,
    traps: bool = True,
    generation: int = 1,
) -> list[DemoSite]:
    """A deterministic demo web of ``n_sites`` hosts (the same web for the same arguments).

    Each host has ``pages_per_site`` regular pages (at least 6): home, section index, about,
    contact, ``/private/account`` and articles. Only ``www.`` hosts are seeds; the others are
    reached through links. ``traps=True`` (at least 12 sites, one of them not listening) adds
    the traps of the module docstring and, after the ``n_sites`` hosts, the fixed
    backlink-audit sites of :mod:`linkgraph.demo.audit`; ``traps=False`` is the fast,
    well-behaved benchmark web.

    ``generation=2`` is the same web three months later: the same hosts, and the same
    pages but for the audit pages listed in :data:`~linkgraph.demo.truth.CHANGES` (without traps, the two
    generations are the same web). Serve it in place of generation 1 with
    ``DemoWeb.replace_sites``.

    >>> sites = generate(12, 6, seed=1)
    >>> sites[0].name, len(sites) - len(generate(12, 6, seed=1, traps=False))
    ('www.alpha.test', 16)
    """
    if n_sites < (12 if traps else 1) or pages_per_site < 1:
        raise ValueError("generate needs n_sites >= 12 with traps (1 without), pages_per_site >= 1")
    if generation not in GENERATION_DATES:
        raise ValueError(f"generation must be one of {sorted(GENERATION_DATES)}")
    builder = _Builder(n_sites, pages_per_site, seed, traps)
    sites = []
    for h in builder.hosts:
        pages = builder.regular_pages(h)
        robots: DemoPage | None = DemoPage.robots(ROBOTS if traps else ROBOTS + "Disallow: /tmp/\n")
        note = "hub" if h in builder.hubs else ""
        if h.trap:
            extra, robots = trap_pages(h.name, partial(builder.page, h))
            pages += extra
            note = robots.note if robots else "robots-404"
        endless = CalendarTrap(h.name) if h.trap and h.kind == "blog" else None
        sites.append(
            DemoSite(h.name, pages, robots, seed=h.kind == "www", fallback=endless, note=note)
        )
        if h.trap and h.kind == "shop":
            sites.append(
                DemoSite("old.alpha.test", listening=False, seed=False, note="unreachable")
            )
    if traps:
        sites += audit_sites(generation)
    return sites
