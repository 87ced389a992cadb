"""Scrapy commands of the project (setting ``COMMANDS_MODULE``): ``crawl`` with the project's checks."""
