"""Listing discovery through RSS, sitemaps and SharePoint list endpoints."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import TextResponse

from portal_spiders.discovery import parse_feed, parse_sharepoint_list, parse_sitemap


def _response(url: str, body: str, ctype: str = "text/xml") -> TextResponse:
    return TextResponse(url=url, body=body.encode("utf-8"), encoding="utf-8", request=Request(url),
                        headers={"Content-Type": ctype})


def test_rss_items_newest_first() -> None:
    body = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Tin tức</title>
    <item><title>Bài cũ</title><link>https://pbgdpl.laichau.gov.vn/index.php/news/a-1.html</link>
      <pubDate>Mon, 18 Mar 2024 08:00:00 +0700</pubDate></item>
    <item><title>Bài mới</title><link>/index.php/news/b-2.html</link>
      <pubDate>Fri, 22 Mar 2024 20:36:00 +0700</pubDate></item>
    </channel></rss>"""
    entries = parse_feed(_response("https://pbgdpl.laichau.gov.vn/index.php/rss/", body))
    assert [e.url for e in entries] == ["https://pbgdpl.laichau.gov.vn/index.php/news/b-2.html",
                                        "https://pbgdpl.laichau.gov.vn/index.php/news/a-1.html"]
    assert entries[0].title == "Bài mới"


def test_atom_feed() -> None:
    body = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
    <entry><title>A</title><link href="https://x.gov.vn/a.html"/><updated>2024-03-22T20:36:00+07:00</updated></entry>
    </feed>"""
    assert [e.url for e in parse_feed(_response("https://x.gov.vn/feed", body))] == ["https://x.gov.vn/a.html"]


def test_sitemap_and_index() -> None:
    urlset = """<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <url><loc>https://mst.gov.vn/a-1.htm</loc><lastmod>2024-03-01</lastmod></url>
    <url><loc>https://mst.gov.vn/b-2.htm</loc><lastmod>2024-03-20</lastmod></url></urlset>"""
    entries, children = parse_sitemap(_response("https://mst.gov.vn/sitemap.xml", urlset))
    assert [e.url for e in entries] == ["https://mst.gov.vn/b-2.htm", "https://mst.gov.vn/a-1.htm"]
    assert children == []
    index = """<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>https://mst.gov.vn/sitemap-1.xml</loc></sitemap></sitemapindex>"""
    assert parse_sitemap(_response("https://mst.gov.vn/sitemap.xml", index)) == ([], ["https://mst.gov.vn/sitemap-1.xml"])


def test_sharepoint_list_verbose_and_minimal_odata() -> None:
    verbose = """{"d": {"results": [{"ID": 7, "Title": "Tin A", "Created": "2024-03-22T13:36:00Z"},
                                    {"ID": 6, "Title": "Tin B", "Created": "2024-03-21T01:00:00Z"}],
                       "__next": "https://x.dcs.vn/_api/web/lists/getbytitle('TinTuc')/items?$skiptoken=Paged%3dTRUE"}}"""
    entries, next_url = parse_sharepoint_list(
        _response("https://x.dcs.vn/_api/web/lists/getbytitle('TinTuc')/items", verbose, "application/json"),
        "/Pages/chi-tiet.aspx?ItemID={ID}")
    assert [e.url for e in entries] == ["https://x.dcs.vn/Pages/chi-tiet.aspx?ItemID=7",
                                        "https://x.dcs.vn/Pages/chi-tiet.aspx?ItemID=6"]
    assert next_url and "skiptoken" in next_url
    minimal = '{"value": [{"ID": 3, "Title": "C"}, {"Title": "no id"}]}'
    entries, next_url = parse_sharepoint_list(_response("https://x.dcs.vn/_api/x", minimal, "application/json"),
                                              "https://x.dcs.vn/Pages/ct.aspx?ItemID={ID}")
    assert [e.url for e in entries] == ["https://x.dcs.vn/Pages/ct.aspx?ItemID=3"] and next_url is None
