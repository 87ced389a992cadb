"""The cluster worker profile as a Scrapy add-on (``ADDONS`` in ``portal_spiders/settings.py``).

Without ``GOVARCHIVE_CLUSTER`` it disables itself and imports nothing (no Redis client in one-machine crawls). With
it, after every other setting is known (the command line included), it swaps in the worker components of
:mod:`govarchive.cluster.worker`.
"""

from __future__ import annotations

from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object

# Worker components and the order they take.
WORKER_PIPELINE = ("govarchive.cluster.worker.ClusterItemPipeline", 1000)
WORKER_EXTENSION = ("govarchive.cluster.worker.ClusterWorkerExtension", 10)
WORKER_SPIDER_MIDDLEWARE = ("govarchive.cluster.worker.ClusterStartMiddleware", 10)
# The archiver holds the archive lock and runs the per-run monitors on the whole run, not on one worker's share.
ARCHIVER_ONLY_EXTENSIONS = ("portal_spiders.archive_lock.ArchiveLockExtension",
                            "spidermon.contrib.scrapy.extensions.Spidermon")


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
        for path in settings.getlist("GOVARCHIVE_ARCHIVER_PIPELINES"):
            settings.set_in_component_priority_dict("ITEM_PIPELINES", load_object(path), None)
        for path in ARCHIVER_ONLY_EXTENSIONS:
            settings.set_in_component_priority_dict("EXTENSIONS", load_object(path), None)
        for name, (path, order) in (("ITEM_PIPELINES", WORKER_PIPELINE), ("EXTENSIONS", WORKER_EXTENSION),
                                    ("SPIDER_MIDDLEWARES", WORKER_SPIDER_MIDDLEWARE)):
            settings.set_in_component_priority_dict(name, load_object(path), order)
