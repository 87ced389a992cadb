"""The replica at benchmark size: 2,000 articles per portal, each served at its own URL, looked up in constant time.

The crawl benchmark (``benchmarks/bench_crawl.py``) serves thousands of articles per portal; a replica that aliases
ids (the VCCorp URL keeps only 3 digits of the id) would serve one article for another, and one that scans its
articles per request would time itself instead of the crawler.
"""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, unquote

import pytest

from govarchive.replica.content import generate_articles
from govarchive.replica.sites import ReplicaSite, esc, site_classes
from portal_spiders.registry import default_registry

ARTICLES = 2_000


def big_site(slug: str) -> ReplicaSite:
    """``slug``'s replica with :data:`ARTICLES` articles, every title made unique by its id."""
    cfg = default_registry()[slug]
    articles = [a.edited(title=f"{a.title} (bài {a.id})") for a in generate_articles(slug, ARTICLES)]
    return site_classes()[cfg.platform](cfg, articles)


def get(site: ReplicaSite, path_and_query: str) -> bytes:
    """The body of a 200 reply to ``path_and_query``."""
    path, _, query = path_and_query.partition("?")
    reply = site.handle("GET", unquote(path), parse_qs(query), {})
    assert reply is not None and reply.status == 200, path_and_query
    return reply.body


@pytest.mark.parametrize("slug", ["baochinhphu", "pbgdpl-laichau"])
def test_each_article_has_its_own_url_and_page(slug: str) -> None:
    site = big_site(slug)
    paths = {a.id: site.article_path(a) for a in site.articles}
    assert len(set(paths.values())) == ARTICLES
    sample = [a for a in site.articles if a.id % 97 == 0 or a.id in (101, 1100, 1101, 2100)]
    assert any(a.id > 1000 for a in sample) and any(a.id < 1000 for a in sample)
    for art in sample:
        body = get(site, paths[art.id]).decode("utf-8")
        assert esc(art.title) in body.split("<body", 1)[1].split("Tin liên quan", 1)[0], (slug, art.id)


def test_vccorp_ids_1000_apart_are_different_pages() -> None:
    site = big_site("baochinhphu")
    low, high = site.find(150), site.find(1150)
    assert low is not None and high is not None
    assert site.article_path(low)[-7:] == site.article_path(high)[-7:]  # same 3-digit sequence number
    assert esc(low.title) in get(site, site.article_path(low)).decode("utf-8")
    assert esc(high.title) in get(site, site.article_path(high)).decode("utf-8")
    assert esc(low.title) not in get(site, site.article_path(high)).decode("utf-8").split("Tin liên quan")[0]


def test_lookup_does_not_grow_with_the_article_count() -> None:
    site = big_site("pbgdpl-laichau")
    get(site, site.article_path(site.articles[0]))  # builds the index
    paths = [site.article_path(a) for a in site.articles[-50:]]
    started = time.perf_counter()
    for path in paths:
        get(site, path)
    assert (time.perf_counter() - started) / len(paths) < 0.005  # a scan of 2,000 paths took 23 ms


def test_edits_and_new_articles_are_served() -> None:
    site = big_site("pbgdpl-laichau")
    art = site.articles[10]
    get(site, site.article_path(art))
    edited = site.edit_article(art.id, title="Tiêu đề đã sửa")
    assert "Tiêu đề đã sửa" in get(site, site.article_path(edited)).decode("utf-8")
    added = generate_articles("pbgdpl-laichau", 1, start_id=9_000)[0].edited(title="Bài mới nhất")
    site.add_articles([added])
    assert "Bài mới nhất" in get(site, site.article_path(site.find(added.id))).decode("utf-8")  # type: ignore[arg-type]


def test_listing_page_size_can_be_set_per_platform() -> None:
    """The benchmarks serve real portals' page sizes (Liferay 7: 10) instead of the replica's small test default."""
    from govarchive.replica.server import ReplicaState

    default = ReplicaState.from_registry(["bacgiang-gov", "laichau-dcs"], articles_per_portal=60)
    sized = ReplicaState.from_registry(["bacgiang-gov", "laichau-dcs"], articles_per_portal=60,
                                       page_sizes={"liferay": 10})
    assert sized.site("bacgiang-gov").per_page == 10 != default.site("bacgiang-gov").per_page
    assert sized.site("laichau-dcs").per_page == default.site("laichau-dcs").per_page  # other platforms as they were
    assert type(sized.site("bacgiang-gov")).per_page == default.site("bacgiang-gov").per_page  # the class untouched
    page = sized.site("bacgiang-gov").listing_page(0, 1)
    assert page.count('class="asset-abstract"') == 10 and "submitPage(2)" in page


def walk_listing(slug: str, start_path: str) -> tuple[list[str], list[bytes]]:
    """Follow ``slug``'s listing from ``start_path`` with its platform parser (postbacks replayed as POSTs), as a
    crawl does; the article URLs listed and the listing pages served."""
    from scrapy.http import HtmlResponse, Request

    from portal_spiders.platforms import get_platform

    cfg = default_registry()[slug]
    site = big_site(slug)
    parser = get_platform(cfg.platform)(cfg.selectors)
    origin = cfg.start_urls[0].split("/", 3)
    request = Request("/".join(origin[:3]) + start_path)
    urls: list[str] = []
    pages: list[bytes] = []
    while request is not None and len(pages) < 1_000:
        path, _, query = request.url.split("/", 3)[3].partition("?")
        form = parse_qs(request.body.decode()) if request.method == "POST" else {}
        reply = site.handle(request.method, unquote("/" + path), parse_qs(query), form)
        assert reply is not None and reply.status == 200, request
        pages.append(reply.body)
        listing = parser.parse_listing(HtmlResponse(request.url, body=reply.body, request=request, encoding="utf-8"))
        urls += [e.url for e in listing.entries]
        request = next(iter(listing.next_requests), None)
    return urls, pages


@pytest.mark.parametrize(("slug", "category"), [("dienbien-gov", 0), ("dienbien-gov", 1), ("pbgdpl-laichau", 0)])
def test_pagers_stay_small_and_reach_every_article(slug: str, category: int) -> None:
    """Real pagers show a window of page numbers (ASP.NET: blocks of 10 with "..." links; NukeViet: the pages
    around the current one). A pager listing all 300+ pages made every listing page grow with the archive, and
    the benchmark timed that; the crawler must still page past each window."""
    from urllib.parse import urlsplit

    site = big_site(slug)
    start = urlsplit(default_registry()[slug].start_urls[category]).path
    urls, pages = walk_listing(slug, start)
    listed = site.group(category) if slug == "dienbien-gov" else site.listed()  # type: ignore[attr-defined]
    assert len(pages) == -(-len(listed) // site.per_page) > 250
    assert len(set(urls)) == len(listed)
    pager_items = [len(re.findall(rb">(?:\d+|\.\.\.)</(?:a|span)>", page)) for page in pages]
    assert 3 <= max(pager_items) <= 12
