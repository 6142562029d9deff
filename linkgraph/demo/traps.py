"""The demo web's traps: the hosts that test a crawler's manners and its parser.

With ``traps=True`` :func:`~linkgraph.demo.sites.generate` makes the first six organisations
of the generated web the trap ones (regular organisations start at ``golf.test``): their
hosts get the regular pages plus those below, from :func:`trap_pages`, and each home page an
"Explore" list (:data:`EXPLORE`) that leads to them. A trap page names its trap in
``DemoPage.note`` (``redirect-loop``...), a trap host in ``DemoSite.note`` (``robots-500``...).

==================  ================================  ==========================================
host                path                              what it tests
==================  ================================  ==========================================
www.alpha.test      /old-about                        301 to /about (internal redirect)
www.alpha.test      /go/shop                          302 to shop.alpha.test (cross-host)
www.alpha.test      /chain/1                          301, 302, 307 chain of 3 to /chain/end
www.alpha.test      /loop/a                           redirect loop /loop/a <-> /loop/b
www.alpha.test      /missing, /gone                   links to a 404 and a 410
www.alpha.test      explore list                      old.alpha.test (in hosts file, refused);
                                                      wikipedia.org / github.com (never fetch)
blog.alpha.test     robots.txt                        a ``linkgraph`` group: /members/ disallowed
                                                      only for us, /drafts/ only for ``*``
blog.alpha.test     /calendar/2024-01-01              infinite calendar (next day, forever)
blog.alpha.test     /archive/                         ``<base href>`` to /archive/2023/
shop.alpha.test     robots.txt                        Allow beats shorter Disallow
                                                      (/private/press/), ``/*.pdf$``, ``/search?``
shop.alpha.test     /products/?sort=price             canonical to /products/
old.alpha.test      (any)                             listed, nothing listens: connect refused
www.bravo.test      robots.txt                        404: everything allowed (/private/ too)
www.bravo.test      /downloads                        PDF, PNG, CSS, JSON files linked
www.bravo.test      /cafe                             ISO-8859-1 page, anchor "Café"
www.bravo.test      /no-type                          HTML with no Content-Type header
www.bravo.test      /gzip, /brotli, /deflate          Content-Encoding gzip, br, deflate
news.bravo.test     /meta-nofollow                    meta robots nofollow: /behind-meta-robots,
                                                      linked only from there, is never fetched
news.bravo.test     /meta-linkgraph                   meta name=linkgraph nofollow: the same for
                                                      /behind-meta-linkgraph
news.bravo.test     /x-robots-noindex                 X-Robots-Tag: noindex header
news.bravo.test     /busy, /flaky                     429 + Retry-After: 1, 503, then 200
news.bravo.test     /slow                             answers after 1 s
news.bravo.test     /hidden-links                     hrefs in a comment and scripts are not
                                                      links: /commented-out, /from-script
www.charlie.test    robots.txt                        500: fetch nothing else on the host
www.delta.test      robots.txt                        301 to /robots-real.txt (/secret/ banned)
www.delta.test      /sitemap.xml                      named by ``Sitemap:``; lists /orphan/1..3,
                                                      which no page links to
www.delta.test      /syndicated                       canonical to another host
www.echo.test       robots.txt                        Crawl-delay: 2 (a three-page site)
www.foxtrot.test    robots.txt                        Crawl-delay: 60 (skip the host, report it)
every blog. host    every page                        self canonical
every host          /private/account                  ``Disallow: /private/``
every host          /contact                          mailto: link (not a web link)
==================  ================================  ==========================================
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

from .markup import LinkWriter
from .model import DemoPage, Response, site_url

__all__ = ["CalendarTrap"]

REAL_SITES = ("https://en.wikipedia.org/wiki/Web_crawler", "https://github.com/python/cpython")
ROBOTS = "User-agent: *\nDisallow: /private/\n"
# The way in to each trap host's traps: an "Explore" list on its home page ("href anchor; ...").
EXPLORE = {
    "www.alpha.test": "/old-about Our old about page; /go/shop Visit our shop; /chain/1 The long "
    "way round; /loop/a Round in circles; /missing A page that never was; /gone A page that is "
    f"gone; {site_url('old.alpha.test')} Our old site; {REAL_SITES[0]} Crawlers on Wikipedia; "
    f"{REAL_SITES[1]} CPython on GitHub",
    "blog.alpha.test": "/drafts/ Drafts; /members/ Members area; /calendar/2024-01-01 Events; "
    "/archive/ Archive",
    "shop.alpha.test": "/private/press/release Press release; /files/catalog.pdf Catalog (PDF); "
    "/files/catalog.pdf?download=1 Download the catalog; /search?q=shoes Search for shoes; "
    "/search Search; /products/?sort=price Products by price",
    "www.bravo.test": "/downloads Downloads; /cafe Café; /no-type A plain page; /gzip Gzip "
    "edition; /brotli Brotli edition; /deflate Deflate edition",
    "news.bravo.test": "/meta-nofollow Not followed; /meta-linkgraph Not followed by linkgraph; "
    "/x-robots-noindex Not indexed; /busy Busy page; /flaky Flaky page; /slow Slow page; "
    "/hidden-links Hidden links",
    "www.delta.test": "/secret/plan The plan; /syndicated Syndicated story",
}


@dataclass(frozen=True, slots=True)
class CalendarTrap:
    """An endless calendar: every ``prefix + YYYY-MM-DD`` exists and links to the next day."""

    host: str
    prefix: str = "/calendar/"

    def __call__(self, path: str) -> DemoPage | None:
        try:
            day = date.fromisoformat(path.removeprefix(self.prefix))
        except ValueError:
            return None
        return self.page(day) if path == f"{self.prefix}{day.isoformat()}" else None

    def page(self, day: date) -> DemoPage:
        """The page of one day."""
        path = f"{self.prefix}{day.isoformat()}"
        d = LinkWriter(self.host, path)
        home = d.a("/", "Home", "nav")
        after = (
            d.a(f"{self.prefix}{day + timedelta(1)}", "Next day", "content")
            if day < date.max
            else ""
        )
        document = (
            f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>Events on {day}</title>\n</head>\n<body>\n<nav>{home}</nav>\n<main>\n"
            f"<h1>Events on {day}</h1>\n<p>No events.</p>\n<p>{after}</p>\n"
            "</main>\n</body>\n</html>\n"
        )
        return DemoPage.html(path, document, d.links, note="calendar-trap")


def trap_pages(here: str, page: Callable[..., DemoPage]) -> tuple[list[DemoPage], DemoPage | None]:
    """The extra pages and the robots.txt of the trap host ``here`` (see the module docstring).

    ``page(path, title, links=(), **options)`` writes a simple page of that host in the
    generated web's layout.
    """
    move = DemoPage.redirect
    robots: DemoPage | None = DemoPage.robots(ROBOTS)
    groups: dict[str, list[DemoPage]] = {}  # pages by the trap (note) they exercise
    if here == "www.alpha.test":
        groups = {
            "redirect-301": [move("/old-about", "/about")],
            "redirect-302-cross-host": [move("/go/shop", site_url("shop.alpha.test"), 302)],
            "redirect-chain": [
                move("/chain/1", site_url(here, "/chain/2")),
                move("/chain/2", "/chain/3", 302),
                move("/chain/3", "/chain/end", 307),
                page("/chain/end", "The end of the chain"),
            ],
            "redirect-loop": [move("/loop/a", "/loop/b"), move("/loop/b", "/loop/a")],
            "status-410": [DemoPage.status("/gone", 410)],
        }
    elif here == "blog.alpha.test":
        ours = "User-agent: linkgraph\nDisallow: /private/\nDisallow: /members/\n"
        robots = DemoPage.robots(
            f"User-agent: *\nDisallow: /private/\nDisallow: /drafts/\n\n{ours}",
            note="robots-agent-group",
        )
        months = [("january", "January"), ("february", "February"), ("/about", "About")]
        base = site_url(here, "/archive/2023/")
        groups = {
            "robots-agent-group": [
                page("/drafts/", "Drafts"),
                page("/members/", "Members"),
            ],
            "calendar-trap": [CalendarTrap(here).page(date(2024, 1, 1))],
            "base-href": [
                page("/archive/", "Archive", months, base=base),
                page("/archive/2023/january", "January 2023"),
                page("/archive/2023/february", "February 2023"),
            ],
        }
    elif here == "shop.alpha.test":
        rules = "Allow: /private/press/\nDisallow: /*.pdf$\nDisallow: /search?\n"
        robots = DemoPage.robots(ROBOTS + rules, note="robots-wildcards")
        pdf = _pdf("Catalog")
        groups = {
            "robots-allow-precedence": [page("/private/press/release", "Press release")],
            "robots-wildcards": [
                DemoPage.file("/files/catalog.pdf", pdf, "application/pdf"),
                DemoPage.file("/files/catalog.pdf?download=1", pdf, "application/pdf"),
                page("/search?q=shoes", "Results for shoes"),
                page("/search", "Search"),
            ],
            "canonical": [page("/products/?sort=price", "By price", canonical="/products/")],
        }
    elif here == "www.bravo.test":
        robots = None  # a 404 robots.txt: everything is allowed
        files = {
            "/files/report.pdf": (_pdf("Report"), "application/pdf"),
            "/img/photo.png": (_png(), "image/png"),
            "/css/site.css": (b"body { font-family: serif; }\n", "text/css"),
            "/api/data.json": (b'{"sites": 40}\n', "application/json"),
        }
        listed = [(path, path.rsplit("/", 1)[1]) for path in files]
        other = [(site_url("www.alpha.test"), "Alpha"), ("/about", "About")]
        latin1 = {"Content-Type": "text/html; charset=ISO-8859-1"}
        untyped = page("/no-type", "Plain", other)
        untyped.responses[0].headers.clear()
        groups = {
            "non-html": [page("/downloads", "Downloads", listed)]
            + [DemoPage.file(path, *files[path]) for path in files],
            "latin-1": [
                page("/cafe", "Café", [("/menu", "Café menu")], charset=False, headers=latin1),
                page("/menu", "Menu"),
            ],
            "no-content-type": [untyped],
            "content-encoding": [
                page(f"/{name}", name.title(), other, encoding=encoding)
                for name, encoding in (
                    ("gzip", "gzip"),
                    ("brotli", "br"),
                    ("deflate", "deflate"),
                )
            ],
        }
    elif here == "news.bravo.test":
        hidden = (
            '<!-- <a href="/commented-out">An old link</a> -->\n'
            "<script>document.write('<a href=\"/from-script\">Script link</a>');</script>\n"
            '<script type="application/ld+json">{"url": "/from-json-ld"}</script>\n'
        )

        def meta(name: str) -> str:
            return f'<meta name="{name}" content="nofollow">\n'

        def hidden_by(name: str) -> list[tuple[str, str]]:
            return [(f"/behind-meta-{name}", "Secret")]

        about, noindex = [("/about", "About")], {"X-Robots-Tag": "noindex"}
        plain = {"Content-Type": "text/plain"}
        busy, flaky = page("/busy", "Busy"), page("/flaky", "Flaky")
        busy.responses.insert(0, Response(429, b"Slow down\n", {**plain, "Retry-After": "1"}))
        flaky.responses.insert(0, Response(503, b"Unavailable\n", plain))
        groups = {
            "meta-robots-nofollow": [
                page("/meta-nofollow", "Meta", hidden_by("robots"), head=meta("robots")),
                page("/behind-meta-robots", "Linked from a nofollow page"),
            ],
            "meta-linkgraph-nofollow": [
                page("/meta-linkgraph", "Meta", hidden_by("linkgraph"), head=meta("linkgraph")),
                page("/behind-meta-linkgraph", "Linked from a nofollow page"),
            ],
            "x-robots-tag-noindex": [page("/x-robots-noindex", "Noindex", about, headers=noindex)],
            "status-429-retry-after": [busy],
            "status-503-once": [flaky],
            "slow": [page("/slow", "Slow", delay=1.0)],
            "links-in-comments-and-scripts": [page("/hidden-links", "Hidden", about, extra=hidden)],
        }
    elif here == "www.charlie.test":
        robots = DemoPage.robots("Internal error\n", 500, note="robots-500")
    elif here == "www.delta.test":
        robots = DemoPage.redirect("/robots.txt", "/robots-real.txt", note="robots-redirect")
        real = ROBOTS + f"Disallow: /secret/\n\nSitemap: {site_url(here, '/sitemap.xml')}\n"
        orphans = [f"/orphan/{i}" for i in (1, 2, 3)]
        urls = "".join(f"<url><loc>{site_url(here, p)}</loc></url>\n" for p in ["/", *orphans])
        xmlns = "http://www.sitemaps.org/schemas/sitemap/0.9"
        sitemap = f'<?xml version="1.0"?>\n<urlset xmlns="{xmlns}">\n{urls}</urlset>\n'
        groups = {
            "robots-redirect": [
                replace(DemoPage.robots(real), path="/robots-real.txt"),
                page("/secret/plan", "The plan"),
            ],
            "sitemap": [DemoPage.file("/sitemap.xml", sitemap.encode(), "application/xml")],
            "sitemap-orphan": [page(p, f"Orphan {p[-1]}") for p in orphans],
            "canonical-cross-host": [
                page("/syndicated", "Syndicated", canonical=site_url("blog.alpha.test"))
            ],
        }
    elif here in ("www.echo.test", "www.foxtrot.test"):
        delay = 2 if here == "www.echo.test" else 60
        text = f"User-agent: *\nCrawl-delay: {delay}\n"
        robots = DemoPage.robots(text, note=f"crawl-delay-{delay}")
    for note, group in groups.items():
        for trap_page in group:
            trap_page.note = note
    return [p for group in groups.values() for p in group], robots


def _pdf(title: str) -> bytes:
    catalog = "1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>"
    return f"%PDF-1.4\n% {title}\n{catalog}\n%%EOF\n".encode()


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\x2a\x6f\xb4")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )
