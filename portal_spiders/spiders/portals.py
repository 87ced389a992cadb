"""Generate one spider class per registry entry so ``scrapy list`` / ``scrapy crawl <slug>`` work.

The registry is validated at import time: a malformed entry stops ``scrapy`` at start-up with the file,
entry and key named (:class:`portal_spiders.registry.RegistryError`).
"""

from __future__ import annotations

import re

from portal_spiders.registry import PortalConfig, default_registry
from portal_spiders.spiders.base import PortalSpider


def spider_class(cfg: PortalConfig) -> type[PortalSpider]:
    """A :class:`PortalSpider` subclass bound to one portal."""
    class_name = "".join(p.capitalize() for p in re.split(r"[-_]", cfg.slug)) + "Spider"
    return type(class_name, (PortalSpider,), {
        "name": cfg.slug,
        "portal": cfg,
        "__module__": __name__,
        "__doc__": f"{cfg.name} ({cfg.platform}; host {cfg.host_status}, platform {cfg.platform_status}).",
    })


SPIDERS: dict[str, type[PortalSpider]] = {}
for _cfg in default_registry().values():
    _cls = spider_class(_cfg)
    SPIDERS[_cfg.slug] = globals()[_cls.__name__] = _cls
del _cfg, _cls  # only the named classes stay visible to Scrapy's spider loader
