"""crawler.extract's page fields on hand-written pages: meta robots, canonical, title, lang,
visible text, and documents that must not raise."""

from __future__ import annotations

import pytest
from linkgraph.crawler.extract import Extracted, extract, robots_directives
from linkgraph.storage.records import Link
from selectolax.lexbor import LexborHTMLParser

PAGE = "https://example.com/dir/page.html"


# -- meta robots and X-Robots-Tag -----------------------------------------------------------


def test_meta_robots_generic() -> None:
    page = extract('<meta name="robots" content="NoIndex, NOFOLLOW">', PAGE)
    assert page.robots == frozenset({"noindex", "nofollow"})


def test_meta_robots_for_our_token_any_case() -> None:
    page = extract('<meta name="LinkGraph" content="noindex">', PAGE, agent_token="linkgraph")
    assert page.robots == frozenset({"noindex"})


def test_meta_robots_for_another_bot_is_ignored() -> None:
    html = '<meta name="googlebot" content="noindex"><meta name="bingbot" content="none">'
    assert extract(html, PAGE).robots == frozenset()


def test_meta_robots_generic_and_ours_combine() -> None:
    html = '<meta name="robots" content="noarchive"><meta name="mybot" content="nofollow">'
    assert extract(html, PAGE, agent_token="MyBot").robots == frozenset({"noarchive", "nofollow"})


def test_meta_robots_none_and_valued_directives() -> None:
    html = '<meta name="robots" content="none, max-snippet:-1, max-image-preview:large">'
    assert extract(html, PAGE).robots == frozenset(
        {"noindex", "nofollow", "max-snippet:-1", "max-image-preview:large"}
    )


def test_no_meta_robots() -> None:
    assert extract('<meta name="description" content="noindex">', PAGE).robots == frozenset()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["noindex"], {"noindex"}),
        (["noindex, nofollow"], {"noindex", "nofollow"}),
        (["NOINDEX", "nofollow"], {"noindex", "nofollow"}),
        (["none"], {"noindex", "nofollow"}),
        (["all"], {"all"}),
        (["noindex nofollow"], {"noindex", "nofollow"}),
        (["noindex;nofollow"], {"noindex", "nofollow"}),
        (["googlebot: noindex"], set()),
        (["linkgraph: noindex"], {"noindex"}),
        (["LinkGraph: noindex, nofollow"], {"noindex", "nofollow"}),
        (["googlebot: noindex", "linkgraph: nofollow"], {"nofollow"}),
        (["noarchive, googlebot: noindex, nofollow"], {"noarchive"}),
        (["googlebot: noindex, linkgraph: nofollow"], {"nofollow"}),
        (["max-snippet: 20, noindex"], {"max-snippet:20", "noindex"}),
        (
            ["unavailable_after: 25 Jun 2030 15:00:00 PST"],
            {"unavailable_after:25 jun 2030 15:00:00 pst"},
        ),
        (["unavailable_after: Sunday, 06-Nov-94 08:49:37 GMT"], {"unavailable_after:sunday"}),
        (["", " , ,"], set()),
        ([], set()),
    ],
)
def test_robots_directives(values: list[str], expected: set[str]) -> None:
    assert robots_directives(values, "linkgraph") == frozenset(expected)


# -- canonical, title, lang -----------------------------------------------------------------


# What extract reads from the head, by test id: (html, expected) per field.
SITE = "https://example.com"
CANONICAL: dict[str, tuple[str, str | None]] = {
    "first_resolved_without_fragment": (
        '<link rel="stylesheet" href="/s.css"><link rel="Canonical" href="/c?a=1#frag">\n'
        '<link rel="canonical" href="/second">',
        f"{SITE}/c?a=1",
    ),
    "among_other_rel_tokens": ('<link rel="alternate canonical" href="/c">', f"{SITE}/c"),
    "missing": ("<p>no canonical</p>", None),
    "not_web": ('<link rel="canonical" href="mailto:a@b">', None),
    "without_href": ('<link rel="canonical">', None),
    # With scripting off (as we parse), an <img> in <noscript> in <head> ends the head.
    "pushed_into_body_by_noscript_is_still_found": (
        '<head><noscript><img src="p.gif"></noscript><link rel="canonical" href="/c"></head>',
        f"{SITE}/c",
    ),
}
TITLE: dict[str, tuple[str, str | None]] = {
    "collapsed": ("<title>\n  Hello \t  world  </title>", "Hello world"),
    "missing": ("<p>x</p>", None),
    "blank": ("<title>  </title>", None),
    "is_the_first_html_title_not_an_svg_one": (
        "<body><svg><title>icon</title></svg><title>Page</title><title>Second</title>",
        "Page",
    ),
    "entities": ("<title>Fish &amp; Chips &ndash; Menu</title>", "Fish & Chips – Menu"),
}
LANG: dict[str, tuple[str, str | None]] = {
    "from_html_element": ('<html lang=" DE-at "><p>x', "de-at"),
    "from_meta_content_language": (
        '<html><head><meta http-equiv="Content-Language" content="fr, en"></head>',
        "fr",
    ),
    "html_lang_beats_meta": (
        '<html lang="en"><meta http-equiv="content-language" content="fr">',
        "en",
    ),
    "missing": ("<p>x</p>", None),
    "empty": ('<html lang=""><p>x</p>', None),
}
HEAD_FIELDS = [
    pytest.param(html, field, expected, id=f"{field}_{name}")
    for field, table in (("canonical", CANONICAL), ("title", TITLE), ("lang", LANG))
    for name, (html, expected) in table.items()
]


@pytest.mark.parametrize(("html", "field", "expected"), HEAD_FIELDS)
def test_canonical_title_and_lang(html: str, field: str, expected: str | None) -> None:
    assert getattr(extract(html, PAGE), field) == expected


def test_canonical_is_not_a_link() -> None:
    assert extract('<link rel="canonical" href="/c">', PAGE).links == []


# -- visible text -------------------------------------------------------------------------------


def test_text_only_when_asked() -> None:
    assert extract("<p>hello</p>", PAGE).text is None


def test_visible_text_excludes_scripts_styles_and_head() -> None:
    html = """<html><head><title>T</title><style>p{color:red}</style></head><body>
        <h1>Heading</h1><script>var hidden = 1;</script><p>First<br>line</p><p>Second</p>
        <noscript>Please enable JavaScript</noscript><template><p>tpl</p></template>
        <svg><title>icon</title><text>chart</text></svg><iframe>fallback</iframe>
        <!-- a comment --><p>caf&eacute;&nbsp;au lait</p></body></html>"""
    page = extract(html, PAGE, want_text=True)
    assert page.text == "Heading First line Second chart café au lait"
    assert page.title == "T"  # stripping for the text does not lose the title


def test_visible_text_keeps_links_intact() -> None:
    page = extract('<p>See <a href="/x">this</a>.</p>', PAGE, want_text=True)
    assert [link.anchor for link in page.links] == ["this"]
    assert page.text is not None and "this" in page.text


# Hidden elements inside one another, in SVG and MathML, around links, in templates, in
# <head> and after </body>, in capitals: where taking them out one by one could go wrong.
NESTED_HIDDEN = [
    "<noscript><p>a<script>b</script><style>c</style>d</p></noscript>e",
    "<p>a<noscript><noscript>b</noscript>c</noscript>d<iframe><p>x</p></iframe>f</p>",
    "<svg><title>t<script>s</script></title><style>st</style><text>shown</text></svg>after",
    "<svg><script><a href=/x>svg script link</a></script><title><a href=/y>y</a></title></svg>z",
    "<math><mtext><noscript>n</noscript>m</mtext><title>mt</title></math>tail",
    "<a href=/l>link<noscript>no<script>s</script></noscript><style>x</style> text</a>",
    "<template><p>t<noscript>n</noscript></p></template>kept<TITLE>late title</TITLE>",
    "<head><title>a</title><noscript><style>s</style></noscript></head><body>b</body>",
    "<body>b</body><script>after body</script><iframe>fr</iframe><noscript>ns</noscript>",
    "<table><tr><td>c<noscript>n</noscript></td><style>s</style></tr></table>t",
]


@pytest.mark.parametrize("html", NESTED_HIDDEN)
def test_visible_text_is_what_stripping_the_hidden_tags_leaves(html: str) -> None:
    # The reference: selectolax's strip_tags of the same tags, a walk of the tree per tag.
    tree = LexborHTMLParser(html)
    body = tree.body
    tree.strip_tags(["script", "style", "noscript", "template", "iframe", "title"])
    expected = " ".join(body.text(separator=" ").split()) if body is not None else ""
    assert extract(html, PAGE, want_text=True).text == expected


def test_visible_text_of_empty_document() -> None:
    assert extract("", PAGE, want_text=True).text == ""


# -- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   ",
        "<",
        "<a href",
        "<a href='/x",
        "\x00\x00",
        "<svg><a>",
        "</a></a></html>",
        "<table><a href=/x>t</a><tr><td>c</td></tr></table>",
        "\ufffd" * 10,
    ],
)
def test_odd_documents_do_not_raise(html: str) -> None:
    assert isinstance(extract(html, PAGE), Extracted)


def test_extracted_fields() -> None:
    page = extract('<title>t</title><a href="/a">a</a>', PAGE)
    assert page == Extracted(
        links=[Link("https://example.com/a", "a")],
        title="t",
        lang=None,
        canonical=None,
        robots=frozenset(),
        base=PAGE,
        text=None,
    )
