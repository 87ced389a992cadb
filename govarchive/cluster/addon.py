"""The cluster worker profile as a Scrapy add-on (``ADDONS`` in ``portal_spiders/settings.py``).

Without ``GOVARCHIVE_CLUSTER`` it disables itself and imports nothing (no Redis client in one-machine crawls). With
it, after every other setting is known (the command line included), it swaps in the worker components of
:mod:`govarchive.cluster.worker`.
"""

from __future__ import annotations

from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

# Worker components and the order they take.
WORKER_PIPELINE = ("govarchive.cluster.worker.ClusterItemPipeline", 1000)
WORKER_EXTENSION = ("govarchive.cluster.worker.ClusterWorkerExtension", 10)
WORKER_SPIDER_MIDDLEWARE = ("govarchive.cluster.worker.ClusterStartMiddleware", 10)
# The archiver holds the archive lock and runs the per-run monitors on the whole run, not on one worker's share.
ARCHIVER_ONLY_EXTENSIONS = ("portal_spiders.archive_lock.ArchiveLockExtension",
                            "spidermon.contrib.scrapy.extensions.Spidermon")


def component_path(component: object) -> str:
    """The import path of a component dictionary key (a path already, or a class)."""
    return component if isinstance(component, str) else f"{component.__module__}.{component.__qualname__}"


def _edit_components(settings: BaseSettings, name: str, *, drop: set[str], add: dict[str, int]) -> None:
    """Drop and add entries of a component dictionary by import path, importing none of them.

    Scrapy's ``set_in_component_priority_dict`` imports every entry to compare classes; add-ons run before the
    reactor is installed, and a pipeline module that imports ``twisted.internet.reactor`` (pipelines/files.py)
    would install the wrong one.
    """
    components = {key: order for key, order in settings.getdict(name).items() if component_path(key) not in drop}
    components.update(add)
    settings.set(name, components, settings.getpriority(name) or 0)


class ClusterAddon:
    """``-s GOVARCHIVE_CLUSTER=redis://host:6379/0``: this crawl becomes a worker of its portal's cluster run."""

    def update_settings(self, settings: BaseSettings) -> None:
        """Swap scheduler, pipelines and extensions for their cluster versions."""
        url = settings.get("GOVARCHIVE_CLUSTER")
        if not url:
            raise NotConfigured  # no message: disabled silently
        from govarchive.cluster import connect

        connect(url)  # a malformed URL fails here, naming the setting (no connection is made yet)
        settings.set("REDIS_URL", url, "addon")
        settings.set("SCHEDULER", "govarchive.cluster.worker.LeasedScheduler",
                     max(settings.getpriority("SCHEDULER") or 0, settings.getpriority("GOVARCHIVE_CLUSTER") or 0))
        _edit_components(settings, "ITEM_PIPELINES", drop=set(settings.getlist("GOVARCHIVE_ARCHIVER_PIPELINES")),
                         add=dict([WORKER_PIPELINE]))
        _edit_components(settings, "EXTENSIONS", drop=set(ARCHIVER_ONLY_EXTENSIONS), add=dict([WORKER_EXTENSION]))
        _edit_components(settings, "SPIDER_MIDDLEWARES", drop=set(), add=dict([WORKER_SPIDER_MIDDLEWARE]))
