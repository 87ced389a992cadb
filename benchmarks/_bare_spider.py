"""The bare spider of ``benchmarks/bench_crawl.py``: fetch a list of URLs, do nothing with the responses.

Run by ``scrapy runspider`` from the checkout, so it gets the project's download settings (replica routing, robots.txt,
downloader middlewares, politeness settings given with ``-s``) but no item pipeline, no extension of the project and
no WARC capture: what is left is Scrapy fetching the pages.

    scrapy runspider benchmarks/_bare_spider.py -a urls=URLS.txt -s REPLICA_URL=...
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import scrapy


class BareSpider(scrapy.Spider):
    """Requests every URL of the ``urls`` file (one a line) and drops the responses."""

    name = "bench-bare"
    custom_settings: ClassVar[dict[str, Any]] = {
        "ITEM_PIPELINES": {}, "EXTENSIONS": {}, "SPIDERMON_ENABLED": False, "WARC_ENABLED": False}

    def __init__(self, urls: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls_file = Path(urls)

    async def start(self) -> Any:
        """One request per URL of the file."""
        for url in self.urls_file.read_text(encoding="utf-8").split():
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Any, **kwargs: Any) -> Iterator[Any]:
        """Nothing: the response is dropped."""
        yield from ()
