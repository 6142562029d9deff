"""The backlink-audit corner of the demo web, and how it changes three months later.

:func:`linkgraph.demo.sites.generate` adds these sites when ``traps=True``. They do not
depend on its size or seed. The brand to audit is "Acme Shoes" at ``www.acme-shoes.test``
(:data:`~linkgraph.demo.truth.BRAND`, :data:`~linkgraph.demo.truth.TARGET`). All hosts are
seeds but the last two, which are outside every seed's registrable domain: a crawl records
links to them and never fetches them.

==========================  ==============================  ==================================
host                        path                            what it tests
==========================  ==============================  ==================================
www.acme-shoes.test         every page                      the audit target; brand and
                                                            keywords in its text
www.acme-shoes.test         /about                          reciprocal: links back to
                                                            www.runners-weekly.test
www.acme-shoes.test         /blog/choosing-running-shoes    broken outbound link in scope:
                                                            runners-weekly's 404
                                                            /reviews/2019-shoe-guide
www.acme-shoes.test         /stockists                      links to check with ``broken
                                                            --check-external`` (see below)
www.acme-shoes.test         /size-guide                     no ETag / Last-Modified: never 304
www.acme-shoes.test         /old-catalogue, /summer-sale    410; 404 (broken backlinks' targets)
www.runners-weekly.test     /, /reviews/...                 running magazine: branded, exact,
                                                            partial, generic, naked-URL and
                                                            image anchors; / links the 404
                                                            /summer-sale of the target
www.trail-tips.test         /posts/first-trail-race         exact "trail running shoes", and
                                                            "click here"
www.marathon-club.test      every page                      sitewide footer link "Acme Shoes"
www.city-news.test          /2024/acme-store-opening        a story that mentions and links
www.recipe-corner.test      /recipes/lemon-pasta            exact-match anchor on an unrelated
                                                            (cooking) page
www.fitness-forum.test      /threads/shoe-advice            empty anchor, image link, a ``ugc
                                                            nofollow`` naked-URL comment link
www.gear-deals.test         /deals/acme-summer; /deals/     ``sponsored`` links; a link to the
                                                            410 /old-catalogue of the target
www.healthy-living.test     /articles/start-running         generation 2: a new referring
                                                            domain
(four hosts, note           (see ``truth.MENTIONS``)        unlinked brand mentions: the text
``unlinked-mention``)                                       names the brand, no link to it
``truth.FARM`` (five hosts) every page                      a link farm with spammy names;
                                                            each footer links the other four
                                                            (a clique of mutual links)
(each farm host)            /, /links                       exact-match money anchors to the
                                                            target; /links has 160+ links
(each farm host)            /directory/<topic>              30 thin pages
www.old-stockist.test       /, /shop; /closed; /gone        out of scope: 200; 404; 410
www.old-stockist.test       /no-head                        405 to HEAD (``Allow: GET``), 200
                                                            to GET: a checker falls back to GET
www.defunct-retailer.test   (any)                           out of scope, listed, refuses
==========================  ==============================  ==================================

The facts a crawl of these sites must find (the brand, the links, what changes in
generation 2, the mentions, the broken and external links) are in
:mod:`linkgraph.demo.truth`.
"""

from __future__ import annotations

from typing import Any

from .markup import Block, MarkupSite
from .model import GENERATION_DATES, DemoPage, DemoSite, site_url
from .truth import (
    ALIASES,
    BRAND,
    CHANGES,
    EXTERNAL,
    FARM,
    NEW_REFERRER,
    RECIPROCAL,
    REFUSED,
    SITEWIDE,
    TARGET,
)

__all__ = ["audit_sites"]


# Topical text, so that TF-IDF relevance has something to measure ---------------------------

_TEXT = {
    "shoes": """Acme Shoes makes running shoes and trail running shoes for road and trail runners.
Every pair of running shoes is tested for cushioning, grip and fit on long runs.
Our trail running shoes have deep lugs, a rock plate and a waterproof upper.
Choose running shoes by the shape of your foot, your weekly distance and the ground.""",
    "running": """Running shoes need a cushioned midsole and a snug heel for long road runs.
Beginners should pick running shoes with stable support and replace them often.
Easy runs, tempo runs and long runs each reward a different running shoe.
Marathon runners rotate two pairs of running shoes so the foam can recover.""",
    "trail": """Trail running shoes grip mud, rock and wet roots with deep lugs on the outsole.
On technical trails a rock plate protects the foot from sharp stones.
Trail runners carry water, a jacket and a map on long mountain runs.
Waterproof trail running shoes keep feet dry on wet moorland paths.""",
    "club": """The running club meets every Tuesday for intervals on the track.
Members train together for the spring marathon and the autumn half marathon.
New runners are welcome: our coaches plan easy runs for every pace.""",
    "news": """The city council approved the new budget for parks and public transport.
Main Street shops report a busy season as the tram line reopens.
The farmers market returns to the old square every Saturday morning.""",
    "recipes": """Whisk the eggs with the sugar until pale, then fold in the flour and butter.
Simmer the tomato sauce for twenty minutes with garlic, basil and olive oil.
Bake the loaf at 180 degrees until golden, then cool it on a wire rack.
Season the pasta water well and keep a cup of it for the sauce.""",
    "forum": """Post your training questions and the community will answer within a day.
Strength work twice a week keeps runners free of injury through the season.
Stretch after every run and sleep well before a long race.""",
    "deals": """Today's discount codes and coupons for outdoor gear, checked every morning.
Prices drop at the end of each season: sign up for price alerts.""",
    "health": """Walking or running for thirty minutes a day lowers blood pressure.
Start slowly: alternate one minute of running with two minutes of walking.
Drink water, eat vegetables and sleep eight hours to recover from exercise.""",
    "spam": """Win big with casino bonus codes and free spins every single day.
Cheap backlinks boost your rankings overnight, guaranteed or your money back.
Payday loans approved in minutes with no credit check and no questions.
The best online slots, poker rooms and betting tips, all in one directory.""",
}
_SPAM_TOPICS = (
    "casino-bonus poker-rooms online-slots sports-betting payday-loans cheap-loans "
    "replica-watches diet-pills cheap-flights seo-services buy-followers web-hosting "
    "crypto-signals forex-tips cheap-hotels car-insurance essay-writing vpn-deals "
    "cheap-phones lottery-results bingo-sites dating-sites weight-loss cheap-backlinks "
    "link-building press-releases article-directory cheap-software free-movies gift-cards"
).split()


def _prose(topic: str, start: int = 0, count: int = 2) -> str:
    bank = _TEXT[topic].splitlines()
    return " ".join(bank[(start + i) % len(bank)] for i in range(count))


# The sites ------------------------------------------------------------------------------------


def _writer(name: str, title: str, nav: list[tuple[str, str]], **kw: Any) -> MarkupSite:
    return MarkupSite(name, title, nav, aliases=ALIASES, **kw)


def _until_generation_2(
    s: MarkupSite, generation: int, path: str, title: str, blocks: list[Block], then: int | str
) -> None:
    """A page of generation 1 that generation 2 replaces: with a status page when ``then``
    is a status code, with a redirect to ``then`` when it is a path."""
    if generation == 1:
        s.page(path, title, blocks)
    elif isinstance(then, int):
        s.add(DemoPage.status(path, then))
    else:
        s.add(DemoPage.redirect(path, then))


def _acme() -> DemoSite:
    nav = [("/", "Home"), ("/running-shoes", "Running shoes")]
    nav += [("/trail-running-shoes", "Trail running shoes"), ("/about", "About")]
    s = _writer(TARGET, BRAND, nav, footer=["[Where to buy](/stockists)", "[Sizes](/size-guide)"])
    browse = (
        "Browse our [running shoes](/running-shoes) and [trail running shoes]"
        "(/trail-running-shoes), or read [how to choose running shoes]"
        "(/blog/choosing-running-shoes)."
    )
    s.page("/", f"{BRAND}: running shoes and trail running shoes", [_prose("shoes", 0), browse])
    s.page("/running-shoes", "Running shoes", [_prose("shoes", 1), _prose("running", 0, 3)])
    s.page("/trail-running-shoes", "Trail running shoes", [_prose("shoes", 2), _prose("trail")])
    guide = "Runners Weekly compared older models in [the 2019 guide](rw:/reviews/2019-shoe-guide)."
    s.page(
        "/blog/choosing-running-shoes",
        "How to choose running shoes",
        [_prose("shoes", 3), _prose("running", 1), guide],
    )
    s.page(
        "/about",
        f"About {BRAND}",
        [
            f"{BRAND} was founded by two trail runners in 2009. {_prose('shoes', 0, 1)}",
            "Our friends at [Runners Weekly](rw:/) test every new model we make.",
        ],
    )
    shops = ["[Old Stockist](old:/)", "[Old Stockist online shop](old:/shop)"]
    shops += [
        "[Old Stockist, High Street (closed)](old:/closed)",
        "[Old Stockist outlet](old:/gone)",
    ]
    shops += ["[Old Stockist opening hours](old:/no-head)", "[Defunct Retailer](defunct:/)"]
    s.page("/stockists", "Where to buy", ["Our shoes are sold by these shops:", shops])
    sizes = [_prose("shoes", 3, 1), "Measure your foot in the evening, when it is largest."]
    s.page("/size-guide", "Size guide", sizes, note="no-validators", validators=False)
    s.add(DemoPage.status("/old-catalogue", 410, note="status-410"))
    return s.site(note="audit-target")


def _runners_weekly(generation: int) -> DemoSite:
    nav = [("/", "Home"), ("/reviews/best-running-shoes", "Reviews"), ("/about", "About")]
    s = _writer(RECIPROCAL, "Runners Weekly", nav)
    home = [
        _prose("running", 0),
        f"Our favourite brand this season is [{BRAND}](acme:/).",
        "Missed our [summer sale picks](acme:/summer-sale)? Read the reviews: [the best running "
        "shoes](/reviews/best-running-shoes) and [trail shoes](/reviews/trail-shoes).",
    ]
    s.page("/", "Runners Weekly", home)
    pick = "Our top pick among [running shoes](acme:/running-shoes) is light and stable."
    if generation == 2:
        pick = "Our top pick is light and stable."
    best = [
        _prose("running", 1, 3),
        f"{pick} New to the sport? See [best running shoes for beginners]"
        "(acme:/blog/choosing-running-shoes).",
        "Want the whole range? [read more](acme:/)",
    ]
    s.page("/reviews/best-running-shoes", "The best running shoes of the year", best)
    trail = [
        _prose("trail", 0, 3),
        "[!Acme Trailblazer 2 on a muddy path](acme:/trail-running-shoes)",
        f"We ran 300 kilometres in the Trailblazer 2 by {BRAND}. Full specs at "
        "[www.acme-shoes.test](acme:/).",
    ]
    moved = "/reviews/best-running-shoes" if generation == 2 else None
    s.page("/reviews/trail-shoes", "Trail shoes reviewed", trail, canonical=moved)
    s.page("/about", "About Runners Weekly", [_prose("running", 2)])
    return s.site(note="backlink-source")


def _trail_tips(generation: int) -> DemoSite:
    s = _writer("www.trail-tips.test", "Trail Tips", [("/", "Home"), ("/about", "About")])
    home = [
        _prose("trail", 1),
        "Latest: [my first trail race](/posts/first-trail-race), [my gear list](/posts/gear-list).",
    ]
    if generation == 2:
        home.append(
            f"This spring I switched to the [{BRAND} trail range](acme:/trail-running-shoes)."
        )
    s.page("/", "Trail Tips", home)
    race = [
        _prose("trail", 2, 3),
        "I wore light [trail running shoes](acme:/trail-running-shoes) with a rock plate. "
        "To see the pair, [click here](acme:/).",
    ]
    _until_generation_2(s, generation, "/posts/first-trail-race", "My first trail race", race, 404)
    gear = [
        _prose("trail", 3),
        f"My shoes are from {BRAND}, my jacket is ten years old, and my map is paper.",
        "Race reports are on [Runners Weekly](rw:/).",
    ]
    s.page("/posts/gear-list", "My gear list", gear, note="unlinked-mention")
    s.page("/about", "About Trail Tips", [_prose("trail", 0, 1)])
    return s.site(note="backlink-source")


def _marathon_club(generation: int) -> DemoSite:
    nav = [("/", "Home"), ("/events", "Events"), ("/results", "Results"), ("/join", "Join")]
    footer = [f"Official shoe partner: [{BRAND}](acme:/)", "[About the club](/about)"]
    s = _writer(SITEWIDE, "Marathon Club", nav, footer=footer)
    s.page("/", "Marathon Club", [_prose("club", 0, 3), _prose("running", 3, 2)])
    events = [_prose("club", 1), "Next race: the city marathon."]
    _until_generation_2(s, generation, "/events", "Events", events, 500)
    s.page("/results", "Results", [_prose("club", 2), _prose("running", 3, 1)])
    s.page("/join", "Join the club", [_prose("club", 2, 1), _prose("running", 1, 2)])
    s.page("/about", "About the club", [_prose("club", 0), _prose("trail", 2, 2)])
    return s.site(note="sitewide-footer")


def _city_news(generation: int) -> DemoSite:
    s = _writer("www.city-news.test", "City News", [("/", "Home"), ("/about", "About")])
    stories = ["[A new shoe shop on Main Street](/2024/acme-store-opening)"]
    stories += ["[Road closures for the marathon](/2024/marathon-road-closures)"]
    stories += ["[The farmers market is back](/2024/farmers-market)"]
    s.page("/", "City News", [_prose("news", 0), stories])
    opening = [
        f"{BRAND} opens its first city store on Main Street this Saturday.",
        _prose("news", 1, 1),
        "For the opening offers, [click here](acme:/stockists). "
        "The company's story: [read more](acme:/about).",
    ]
    _until_generation_2(
        s, generation, "/2024/acme-store-opening", "A new shoe shop on Main Street", opening, 410
    )
    closures = [
        "Main Street closes from 7 to 13 on Sunday for the city marathon.",
        f"The race is organised by the [Marathon Club](mc:/) and sponsored by {BRAND}.",
    ]
    title = "Road closures for the marathon"
    s.page("/2024/marathon-road-closures", title, closures, note="unlinked-mention")
    s.page("/2024/farmers-market", "The farmers market is back", [_prose("news", 2)])
    s.page("/about", "About City News", [_prose("news", 0, 1)])
    return s.site(note="backlink-source")


def _recipe_corner() -> DemoSite:
    s = _writer("www.recipe-corner.test", "Recipe Corner", [("/", "Home"), ("/about", "About")])
    recipes = ["[Lemon pasta](/recipes/lemon-pasta)", "[Banana bread](/recipes/banana-bread)"]
    s.page("/", "Recipe Corner", [_prose("recipes", 0), recipes])
    pasta = [
        _prose("recipes", 3),
        "Grate the zest of two lemons into the butter. Partner: [running shoes]"
        "(acme:/running-shoes).",
    ]
    s.page("/recipes/lemon-pasta", "Lemon pasta", pasta)
    bread = [
        _prose("recipes", 2),
        f"I bake this after a long walk in my new {BRAND}; it keeps for three days.",
    ]
    s.page("/recipes/banana-bread", "Banana bread", bread, note="unlinked-mention")
    s.page("/about", "About Recipe Corner", [_prose("recipes", 1, 1)])
    return s.site(note="backlink-source")


def _fitness_forum(generation: int) -> DemoSite:
    s = _writer("www.fitness-forum.test", "Fitness Forum", [("/", "Home"), ("/about", "About")])
    threads = ["[Shoe advice for a first marathon](/threads/shoe-advice)"]
    threads += ["[Marathon training plans](/threads/marathon-training)"]
    s.page("/", "Fitness Forum", [_prose("forum", 0), _prose("running", 0, 1), threads])
    advice = [
        "Which running shoes should I buy for my first marathon? " + _prose("running", 2, 1),
        f"Most of us run in [{BRAND}](acme:/). [](acme:/running-shoes)",
        "[!photo of my shoes](acme:/trail-running-shoes)",
    ]
    naked = '[www.acme-shoes.test/running-shoes](acme:/running-shoes "ugc nofollow")'
    replies = [("Ada", f"Try the road range: {naked}"), ("Linus", "Fit matters most.")]
    noindex = '<meta name="robots" content="noindex">\n' if generation == 2 else ""
    title = "Shoe advice for a first marathon"
    s.page("/threads/shoe-advice", title, advice, comments=replies, head=noindex)
    training = [
        _prose("forum", 1),
        _prose("running", 3, 1),
        f"I follow a sixteen week plan and run in {BRAND}; no injuries so far.",
    ]
    title = "Marathon training plans"
    s.page("/threads/marathon-training", title, training, note="unlinked-mention")
    s.page("/about", "About the forum", [_prose("forum", 2, 1), _prose("trail", 3, 2)])
    return s.site(note="backlink-source")


def _gear_deals(generation: int) -> DemoSite:
    s = _writer("www.gear-deals.test", "Gear Deals", [("/", "Home"), ("/deals/", "Deals")])
    s.page("/", "Gear Deals", [_prose("deals", 0), "[All deals](/deals/)"])
    deals = ["[Summer shoe sale](/deals/acme-summer)"]
    deals += ["[Last year's catalogue](acme:/old-catalogue)"]
    s.page("/deals/", "All deals", [_prose("deals", 1, 1), deals])
    sale = [
        f"{BRAND} takes 20% off this week. " + _prose("deals", 0, 1),
        '[trail running shoes](acme:/trail-running-shoes "sponsored") from 79 euros, '
        f'and a [{BRAND} coupon](acme:/ "sponsored").',
    ]
    _until_generation_2(s, generation, "/deals/acme-summer", "Summer shoe sale", sale, "/deals/")
    return s.site(note="backlink-source")


def _healthy_living(generation: int) -> DemoSite:
    s = _writer(NEW_REFERRER, "Healthy Living", [("/", "Home")])
    s.page("/", "Healthy Living", [_prose("health", 0), "[Start running](/articles/start-running)"])
    text = [_prose("health", 1, 2), _prose("running", 1, 2), _prose("trail", 0, 1)]
    if generation == 2:
        text.append(f"We asked the team at [{BRAND}](acme:/running-shoes) what to wear.")
    s.page("/articles/start-running", "Start running", text)
    return s.site(note="backlink-source")


def _farm(index: int) -> DemoSite:
    def title(i: int) -> str:
        return FARM[i].removeprefix("www.").removesuffix(".test").replace("-", " ").title()

    others = [i for i in range(len(FARM)) if i != index]
    nav = [("/", "Home"), ("/links", "Links"), ("/about", "About")]
    footer = [f"Partner: [{title(i)}](farm{i}:/)" for i in others]
    s = _writer(FARM[index], title(index), nav, footer=footer)
    money = "Looking for [running shoes](acme:/running-shoes)? All our [links](/links)."
    s.page("/", title(index), [_prose("spam", index, 3), money])
    links = ["[running shoes](acme:/running-shoes)", "[best running shoes](acme:/)"]
    links += ["[trail running shoes](acme:/trail-running-shoes)"]
    links += [f"[{title(i)} links](farm{i}:/links)" for i in others]
    links += [
        f"[{topic.replace('-', ' ').title()}](farm{i}:/directory/{topic})"
        for i in range(len(FARM))
        for topic in _SPAM_TOPICS
    ]
    s.page("/links", "Links", [_prose("spam", index + 1, 1), links])
    s.page("/about", "About us", [_prose("spam", index + 2)])
    for topic in _SPAM_TOPICS:
        name = topic.replace("-", " ")
        text = [f"The best {name} sites. {_prose('spam', index, 1)}", "[All links](/links)"]
        s.page(f"/directory/{topic}", f"{name.title()} directory", text)
    return s.site(note="link-farm")


def _external() -> list[DemoSite]:
    s = _writer(EXTERNAL, "Old Stockist", [("/", "Home")])
    s.page("/", "Old Stockist", ["Shoes and boots since 1950."])
    s.page("/shop", "Shop", ["Our online shop is open."])
    s.add(DemoPage.status("/closed", 404, note="status-404"))
    s.add(DemoPage.status("/gone", 410, note="status-410"))
    s.page("/no-head", "Opening hours", ["Open 9 to 5."], note="head-405").allow = ("GET",)
    return [
        s.site(robots=None, seed=False, note="external-check"),
        DemoSite(REFUSED, listening=False, seed=False, note="external-refused"),
    ]


def _build(generation: int) -> list[DemoSite]:
    return [
        _acme(),
        _runners_weekly(generation),
        _trail_tips(generation),
        _marathon_club(generation),
        _city_news(generation),
        _recipe_corner(),
        _fitness_forum(generation),
        _gear_deals(generation),
        _healthy_living(generation),
        *(_farm(i) for i in range(len(FARM))),
        *_external(),
    ]


_CHANGE_NOTES = {"new": "new-link", "removed": "removed-link"}


def audit_sites(generation: int = 1) -> list[DemoSite]:
    """The audit sites in ``generation`` (1 or 2), as the module docstring describes.

    In generation 2, a page whose responses differ from generation 1 has
    ``GENERATION_DATES[2]`` as its ``last_modified`` and its :data:`CHANGES` reason as its
    note; the other pages are the same as in generation 1.

    >>> [s.name for s in audit_sites()][:2]
    ['www.acme-shoes.test', 'www.runners-weekly.test']
    """
    if generation not in GENERATION_DATES:
        raise ValueError(f"generation must be one of {sorted(GENERATION_DATES)}")
    sites = _build(generation)
    if generation > 1:
        before = {(s.name, p.path): p.responses for s in _build(1) for p in s.pages.values()}
        notes = {c.source: _CHANGE_NOTES.get(c.reason, c.reason) for c in CHANGES}
        for site in sites:
            for page in site.pages.values():
                if before.get((site.name, page.path)) != page.responses:
                    page.last_modified = GENERATION_DATES[generation]
                    page.note = page.note or notes.get(site_url(site.name, page.path), "")
    return sites
