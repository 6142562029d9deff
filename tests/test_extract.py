"""crawler.extract's links on hand-written pages: one test per rule of the module docstring
(targets, base, what is not in the tree, anchor text, rel, placement)."""

from __future__ import annotations

import pytest
from linkgraph.crawler import placement
from linkgraph.crawler.extract import extract, extract_fields
from linkgraph.storage.records import PLACEMENTS, Link

PAGE = "https://example.com/dir/page.html"


def links(html: str, url: str = PAGE) -> list[Link]:
    return extract(html, url).links


def targets(html: str, url: str = PAGE) -> list[str]:
    return [link.target for link in links(html, url)]


def only(html: str) -> Link:
    (link,) = links(html)
    return link


def placements(html: str) -> dict[str, str]:
    return {link.anchor: link.placement for link in links(html)}


# -- targets --------------------------------------------------------------------------------


def test_relative_absolute_and_protocol_relative() -> None:
    html = """
        <a href="other.html">1</a> <a href="../up/">2</a> <a href="/root?q=1">3</a>
        <a href="//cdn.example.net/x">4</a> <a href="https://Other.ORG:443/a/./b/../c">5</a>
        <a href="?only=query">6</a>
    """
    assert targets(html) == [
        "https://example.com/dir/other.html",
        "https://example.com/up/",
        "https://example.com/root?q=1",
        "https://cdn.example.net/x",
        "https://other.org/a/c",
        "https://example.com/dir/page.html?only=query",
    ]


def test_fragments_are_dropped() -> None:
    html = '<a href="#top">1</a><a href="/x#section-2">2</a>'
    assert targets(html) == [PAGE, "https://example.com/x"]


def test_empty_href_names_the_page_itself() -> None:
    # WHATWG: an empty URL resolves to the base URL. Kept, not skipped (see module doc).
    assert targets('<a href="">1</a><a href>2</a><a href="   ">3</a>') == [PAGE, PAGE, PAGE]


@pytest.mark.parametrize(
    "href",
    [
        "javascript:void(0)",
        " JavaScript:alert(1)",
        "mailto:someone@example.com",
        "tel:+49301234",
        "data:text/html,<p>x</p>",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "about:blank",
        "http://exa mple.com/",
        "https://[::1",
    ],
)
def test_non_web_and_invalid_targets_are_skipped(href: str) -> None:
    assert links(f'<a href="{href}">x</a>') == []


def test_a_without_href_is_not_a_link() -> None:
    assert links('<a name="top">anchor</a><a id="x">y</a>') == []


def test_html_entities_in_href_are_decoded() -> None:
    assert targets('<a href="/s?a=1&amp;b=2&#38;c=3">x</a>') == [
        "https://example.com/s?a=1&b=2&c=3"
    ]


def test_link_order_and_repeats_are_kept() -> None:
    html = '<a href="/b">1</a><a href="/a">2</a><a href="/b">3</a>'
    assert [link.anchor for link in links(html)] == ["1", "2", "3"]
    assert targets(html) == [
        "https://example.com/b",
        "https://example.com/a",
        "https://example.com/b",
    ]


def test_every_link_has_kind_link() -> None:
    assert {link.kind for link in links('<a href="/a">a</a><area href="/b">')} == {"link"}


# -- base -----------------------------------------------------------------------------------


def test_base_href_is_used_for_links_and_canonical() -> None:
    page = extract(
        '<head><base href="/other/"><link rel=canonical href="c"></head><a href="x">x</a>', PAGE
    )
    assert page.base == "https://example.com/other/"
    assert page.links[0].target == "https://example.com/other/x"
    assert page.canonical == "https://example.com/other/c"


def test_only_the_first_base_counts() -> None:
    page = extract(
        '<base href="https://a.example/"><base href="https://b.example/"><a href=x>', PAGE
    )
    assert page.base == "https://a.example/"


def test_base_without_href_is_skipped() -> None:
    page = extract('<base target="_blank"><base href="/second/"><a href=x>x</a>', PAGE)
    assert page.base == "https://example.com/second/"


@pytest.mark.parametrize("href", ["javascript:x", "data:text/html,x", "ftp://e/", "http://a b/"])
def test_non_web_base_falls_back_to_page_url(href: str) -> None:
    page = extract(f'<base href="{href}"><a href="x">x</a>', PAGE)
    assert page.base == PAGE
    assert page.links[0].target == "https://example.com/dir/x"


def test_base_fragment_is_dropped() -> None:
    assert extract('<base href="/b/#frag"><a href="">x</a>', PAGE).links[0].target == (
        "https://example.com/b/"
    )


def test_base_inside_template_is_not_a_base() -> None:
    assert extract('<template><base href="/t/"></template><a href=x>x</a>', PAGE).base == PAGE


# -- what is not in the tree ----------------------------------------------------------------


def test_links_in_comments_scripts_styles_and_templates_are_not_links() -> None:
    html = """
        <!-- <a href="/in-comment">c</a> -->
        <script>document.write('<a href="/in-script">s</a>')</script>
        <style>/* <a href="/in-style">s</a> */</style>
        <template><a href="/in-template">t</a><div><a href="/deeper">d</a></div></template>
        <textarea><a href="/in-textarea">t</a></textarea>
        <title><a href="/in-title">t</a></title>
        <a href="/real">real</a>
    """
    assert targets(html) == ["https://example.com/real"]


def test_template_content_is_invisible_to_css_selection_too() -> None:
    # The guarantee the module relies on: lexbor keeps template content in a fragment that
    # neither css() nor text() reach.
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser('<template><a href="/t">t<img alt="x"></a></template><p>')
    assert tree.css("a") == []
    assert tree.css("template img") == []
    assert tree.body is not None and "t" not in tree.body.text()


def test_noscript_links_are_kept() -> None:
    assert targets('<noscript><a href="/no-js">menu</a></noscript>') == [
        "https://example.com/no-js"
    ]


def test_svg_links_with_href_or_xlink_href() -> None:
    html = """<svg><a xlink:href="/old"><text>old</text></a><a href="/new" xlink:href="/x">
              <text>new</text></a></svg>"""
    assert targets(html) == ["https://example.com/old", "https://example.com/new"]


def test_html_a_with_only_xlink_href_is_not_a_link() -> None:
    assert links('<a xlink:href="/x">x</a>') == []


# -- anchor text and images -----------------------------------------------------------------


def test_anchor_text_is_text_content_collapsed() -> None:
    link = only('<a href="/x">\n  Read <b>the</b>\t<i>full</i>&nbsp;&nbsp;story \n</a>')
    assert link.anchor == "Read the full story"
    assert link.image is False


def test_anchor_text_skips_script_and_style_inside_the_link() -> None:
    link = only('<a href="/x">Read<script>var a = 1;</script> <style>.x{}</style>more</a>')
    assert link.anchor == "Read more"


def test_image_link_uses_alt_when_there_is_no_text() -> None:
    link = only('<a href="/x"> <img src="a.png" alt="  Company\n logo "> </a>')
    assert (link.anchor, link.image) == ("Company logo", True)


def test_image_link_with_text_keeps_the_text() -> None:
    link = only('<a href="/x"><img src="a.png" alt="icon"> Products</a>')
    assert (link.anchor, link.image) == ("Products", True)


def test_image_link_alts_are_joined_without_repeats() -> None:
    # Lazy loading often repeats the image inside <noscript>.
    html = """<a href="/x"><img data-src="a.png" alt="Logo"><noscript><img src="a.png" alt="Logo">
              </noscript><img src="b.png" alt="Shop"><img src="c.png"></a>"""
    link = only(html)
    assert (link.anchor, link.image) == ("Logo Shop", True)


def test_image_link_without_alt_has_empty_anchor() -> None:
    link = only('<a href="/x"><img src="a.png"></a>')
    assert (link.anchor, link.image) == ("", True)


def test_image_in_one_link_does_not_mark_the_next() -> None:
    html = '<a href="/a"><img alt="A"></a><a href="/b"></a>'
    assert [(link.anchor, link.image) for link in links(html)] == [("A", True), ("", False)]


def test_area_anchor_is_its_alt() -> None:
    html = """<img usemap="#m" src="map.png"><map name="m">
              <area shape="rect" coords="0,0,10,10" href="/north" alt=" North  region ">
              <area shape="rect" coords="0,0,10,10" href="/south"></map>"""
    assert [(link.target, link.anchor, link.image) for link in links(html)] == [
        ("https://example.com/north", "North region", True),
        ("https://example.com/south", "", True),
    ]


# -- rel --------------------------------------------------------------------------------------


def test_rel_tokens_lowercased_deduplicated_in_order() -> None:
    link = only('<a href="/x" rel=" NoFollow\tugc  nofollow\nSponsored ">x</a>')
    assert link.rel == ("nofollow", "ugc", "sponsored")
    assert link.follow is False


def test_rel_absent_or_empty() -> None:
    assert only('<a href="/x">x</a>').rel == ()
    assert only('<a href="/x" rel="">x</a>').rel == ()
    assert only('<a href="/x" rel="noopener">x</a>').follow is True


def test_area_rel() -> None:
    assert only('<map><area href="/x" rel="nofollow"></map>').rel == ("nofollow",)


# -- placement --------------------------------------------------------------------------------


# Hand-worked pages, by test id: (html, the placement of each link by its anchor).
PLACEMENT_PAGES: dict[str, tuple[str, dict[str, str]]] = {
    "by_tag": (
        """
            <header><a href="/1">h</a></header>
            <nav><a href="/2">n</a></nav>
            <main><p><a href="/3">c</a></p></main>
            <aside><a href="/4">s</a></aside>
            <footer><a href="/5">f</a></footer>
            <a href="/6">top-level</a>
        """,
        {
            "h": "header",
            "n": "nav",
            "c": "content",
            "s": "sidebar",
            "f": "footer",
            "top-level": "content",
        },
    ),
    "innermost_container_wins": (
        """
            <header><a href="/1">header</a><nav><ul><li><a href="/2">nav-in-header</a></li></ul>
            </nav></header>
            <footer><nav><a href="/3">nav-in-footer</a></nav><a href="/4">footer</a></footer>
            <nav><div class="menu"><header><a href="/5">header-in-nav</a></header></div></nav>
            <aside><div id="comments"><a href="/6">comments-in-aside</a></div></aside>
        """,
        {
            "header": "header",
            "nav-in-header": "nav",
            "nav-in-footer": "nav",
            "footer": "footer",
            "header-in-nav": "header",
            "comments-in-aside": "comments",
        },
    ),
    "by_aria_role": (
        """
            <div role="navigation"><a href="/1">n</a></div>
            <div role="banner"><a href="/2">h</a></div>
            <div role="contentinfo"><a href="/3">f</a></div>
            <div role="complementary"><a href="/4">s</a></div>
            <div role="NAVIGATION menubar"><a href="/5">n2</a></div>
            <div role="main"><a href="/6">c</a></div>
            <aside role="navigation"><a href="/7">role-beats-tag</a></aside>
        """,
        {
            "n": "nav",
            "h": "header",
            "f": "footer",
            "s": "sidebar",
            "n2": "nav",
            "c": "content",
            "role-beats-tag": "nav",
        },
    ),
}


@pytest.mark.parametrize(("html", "expected"), PLACEMENT_PAGES.values(), ids=PLACEMENT_PAGES.keys())
def test_placement(html: str, expected: dict[str, str]) -> None:
    assert placements(html) == expected


def test_role_on_the_link_itself_is_not_a_container() -> None:
    assert only('<a href="/x" role="navigation">x</a>').placement == "content"


@pytest.mark.parametrize(
    "container",
    [
        '<div id="comments">',
        '<div id="Comments">',
        '<section class="comments">',
        '<div class="comments-area entry">',
        '<ol class="comment-list">',
        '<ol class="commentlist">',
        '<div id="comment-section">',
        '<div id="disqus_thread">',
        '<div id="respond" class="comment-respond">',
        '<ul class="x comments-list">',
        '<article class="comments">',
    ],
)
def test_comment_sections(container: str) -> None:
    tag = container[1:].split()[0].rstrip(">")
    html = f'<article><p><a href="/c">content</a></p>{container}<a href="/x">in</a></{tag}>'
    assert placements(html) == {"content": "content", "in": "comments"}


@pytest.mark.parametrize(
    "html",
    [
        # A link to the comments from the article body is content.
        '<p><a class="comments-link" href="/p#comments">3 comments</a></p>',
        '<p class="no-comments-link"><a href="/x">x</a></p>',
        '<div class="no-comments"><a href="/x">x</a></div>',
        '<div class="post"><span class="comment-count"><a href="/x">12</a></span></div>',
        '<div class="comments-count"><a href="/x">12</a></div>',
        '<p id="comments"><a href="/x">x</a></p>',
        '<span id="comments"><a href="/x">x</a></span>',
        '<div class="comment"><a href="/x">x</a></div>',
    ],
)
def test_things_that_are_not_comment_sections(html: str) -> None:
    assert only(html).placement == "content"


def test_sidebar_by_class_or_id() -> None:
    html = """
        <div id="sidebar"><a href="/1">a</a></div>
        <div class="col widget-area"><a href="/2">b</a></div>
        <section class="Sidebar"><a href="/3">c</a></section>
        <div class="has-sidebar"><a href="/4">d</a></div>
        <span class="sidebar"><a href="/5">e</a></span>
    """
    assert placements(html) == {
        "a": "sidebar",
        "b": "sidebar",
        "c": "sidebar",
        "d": "content",
        "e": "content",
    }


def test_comments_rule_beats_role_and_tag_on_one_element() -> None:
    html = '<aside id="comments" role="complementary"><a href="/x">x</a></aside>'
    assert only(html).placement == "comments"


def test_placements_are_all_known_to_the_store() -> None:
    html = """<nav><a href=/1>1</a></nav><header><a href=/2>2</a></header><footer><a href=/3>3
              </a></footer><aside><a href=/4>4</a></aside><div id=comments><a href=/5>5</a>
              </div><a href=/6>6</a>"""
    assert {link.placement for link in links(html)} == set(PLACEMENTS)


def test_prefilter_covers_every_token() -> None:
    # The container selector finds candidates by substring; every exact token must contain
    # one of the substrings or its elements would never be looked at.
    tokens = placement.COMMENT_TOKENS | placement.SIDEBAR_TOKENS
    assert all(any(s in token for s in placement._PREFILTER) for token in tokens)


# -- robustness ---------------------------------------------------------------------------------


def test_misnested_links_follow_the_html_parser() -> None:
    # <a> cannot contain <a>: the parser closes the first at the second, as browsers do.
    html = '<a href="/outer">one <a href="/inner">two</a> three</a>'
    assert [(link.target, link.anchor) for link in links(html)] == [
        ("https://example.com/outer", "one"),
        ("https://example.com/inner", "two"),
    ]


def test_extract_fields_gives_each_link_as_the_plain_tuple_of_its_fields() -> None:
    html = '<nav><a href="/x" rel="NoFollow">X</a></nav><a href="/y"><img alt="Y"></a>'
    links, found = extract_fields(html, "https://example.com/")
    assert links == [
        ("https://example.com/x", "X", ("nofollow",), "nav", False, "link"),
        ("https://example.com/y", "Y", (), "content", True, "link"),
    ]
    assert {type(link) for link in links} == {tuple}  # what marshal takes, unlike a Link
    assert found.links == []
