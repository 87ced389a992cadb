"""Feed dates: RSS ``pubDate`` in US ``M/d/yyyy`` order (baochinhphu.vn) is read month-first when told so."""

from __future__ import annotations

from scrapy.http import XmlResponse

from portal_spiders.discovery import parse_feed
from portal_spiders.platforms import get_platform

FEED = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>A</title><link>https://baochinhphu.vn/a-102260905122709839.htm</link>
  <pubDate>9/5/2026 1:30:00 PM</pubDate></item>
<item><title>B</title><link>https://baochinhphu.vn/b-102260910080000111.htm</link>
  <pubDate>9/10/2026 8:05:00 AM</pubDate></item>
<item><title>C</title><link>https://baochinhphu.vn/c-102260903080000222.htm</link>
  <pubDate>Thu, 03 Sep 2026 08:00:00 +0700</pubDate></item>
</channel></rss>"""


def _feed() -> XmlResponse:
    return XmlResponse(url="https://baochinhphu.vn/rss/home.rss", body=FEED)


def test_mdy_feed_dates_are_month_first_and_sorted() -> None:
    entries = parse_feed(_feed(), order="MDY")
    assert [(e.title, e.published) for e in entries] == [
        ("B", "2026-09-10T08:05:00+07:00"),
        ("A", "2026-09-05T13:30:00+07:00"),
        ("C", "2026-09-03T08:00:00+07:00"),  # RFC 2822 becomes ISO in +07:00 like the others
    ]


def test_default_order_reads_day_first() -> None:
    published = {e.title: e.published for e in parse_feed(_feed())}
    assert published["A"] == "2026-05-09T13:30:00+07:00"


def test_vccorp_reads_feeds_month_first_and_pages_day_first() -> None:
    vccorp = get_platform("vccorp")
    assert (vccorp.feed_date_order, vccorp.date_order) == ("MDY", "DMY")
