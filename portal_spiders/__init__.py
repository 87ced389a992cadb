"""govarchive Scrapy project: settings, items, platform parsers and generated portal spiders."""
