"""The bare spider of ``benchmarks/bench_crawl.py``: fetch a list of URLs, do nothing with the responses.

Run by ``scrapy runspider`` from the checkout, so it gets the project's download settings (replica routing, robots.txt,
downloader middlewares, politeness settings given with ``-s``) but no item pipeline, no extension of the project and
no WARC capture: what is left is Scrapy fetching the pages.

    scrapy runspider benchmarks/_bare_spider.py -a urls=URLS.txt -a stats=STATS.json -s REPLICA_URL=...
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import scrapy


class BareSpider(scrapy.Spider):
    """Requests every URL of the ``urls`` file (one a line) and drops the responses."""

    name = "bench-bare"
    custom_settings: ClassVar[dict[str, Any]] = {
        "ITEM_PIPELINES": {}, "EXTENSIONS": {}, "SPIDERMON_ENABLED": False, "WARC_ENABLED": False}

    def __init__(self, urls: str, stats: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls_file, self.stats_file = Path(urls), Path(stats)

    async def start(self) -> Any:
        """One request per URL of the file."""
        for url in self.urls_file.read_text(encoding="utf-8").split():
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Any, **kwargs: Any) -> Iterator[Any]:
        """Nothing: the response is dropped."""
        yield from ()

    def closed(self, reason: str) -> None:
        """Write the crawl's Scrapy stats (JSON) for the benchmark."""
        stats = {k: v for k, v in self.crawler.stats.get_stats().items() if isinstance(v, (int, float, str))}
        self.stats_file.write_text(json.dumps({**stats, "finish_reason": reason}), encoding="utf-8")
