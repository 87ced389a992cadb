"""Per-run checks with spidermon, run when a spider closes; their outcome is stored with the run.

spidermon (1.27, Scrapy 2.19, dataclass items through itemadapter) checks one run from inside the crawl: the
finish reason, ERROR log lines, field coverage of :class:`ArticleItem` (``SPIDERMON_FIELD_COVERAGE_RULES``),
plus two govarchive monitors below (articles parsed, share of failed pages). :class:`StoreMonitorResults` puts
the outcome into the stats as ``govarchive/monitor_results``; the store pipeline writes it to
``crawl_runs.monitor_results``. Comparing a run with the portal's history is ``govarchive health``'s job: it
reads the archive and does not need Scrapy.
"""

from __future__ import annotations

from typing import Any

from spidermon import Monitor, MonitorSuite, monitors
from spidermon.contrib.scrapy.monitors import ErrorCountMonitor, FieldCoverageMonitor, FinishReasonMonitor
from spidermon.core.actions import Action

MONITOR_RESULTS_STAT = "govarchive/monitor_results"


@monitors.name("Articles")
class ArticlesMonitor(Monitor):
    """Articles parsed in the run."""

    @monitors.name("at least SPIDERMON_MIN_ARTICLES articles were found")
    def test_min_articles(self) -> None:
        """A run that finds no article is broken, whatever its finish reason.

        Found = parsed, or listed and skipped because an incremental run archived it before.
        """
        minimum = self.data.crawler.settings.getint("SPIDERMON_MIN_ARTICLES", 1)
        parsed = int(self.data.stats.get("govarchive/articles_parsed", 0))
        skipped = int(self.data.stats.get("govarchive/articles_skipped_known", 0))
        self.assertGreaterEqual(parsed + skipped, minimum,
                                f"{parsed} articles parsed and {skipped} known ones listed, expected {minimum}+")


@monitors.name("Failures")
class FailedShareMonitor(Monitor):
    """Share of pages that ended as failure records."""

    @monitors.name("failed pages stay under GOVARCHIVE_MAX_FAILED_SHARE")
    def test_failed_share(self) -> None:
        """Failed pages (download, parse or validation) over all pages that produced an item."""
        limit = self.data.crawler.settings.getfloat("GOVARCHIVE_MAX_FAILED_SHARE", 0.2)
        failed = int(self.data.stats.get("govarchive/items_failed", 0))
        parsed = int(self.data.stats.get("govarchive/articles_parsed", 0))
        total = failed + parsed
        share = failed / total if total else 0.0
        self.assertLessEqual(share, limit, f"{failed} of {total} pages failed ({share:.0%} > {limit:.0%})")


class StoreMonitorResults(Action):
    """Put the monitors' outcome into the crawl stats, for the store pipeline to archive."""

    def run_action(self) -> None:
        """Summarise every monitor: name, status and the failure message."""
        checks: list[dict[str, Any]] = []
        for item in self.result.monitor_results:
            message = None
            if item.error:
                message = str(item.error).strip().splitlines()[-1].removeprefix("AssertionError: ")
            checks.append({"monitor": item.item.name, "status": item.status, "message": message})
        self.data.crawler.stats.set_value(MONITOR_RESULTS_STAT, {
            "passed": self.result.all_monitors_passed,
            "failed": [c["monitor"] for c in checks if c["status"] not in ("OK", "SKIPPED")],
            "checks": checks,
        })


class SpiderCloseMonitorSuite(MonitorSuite):
    """The checks run on every portal spider's close (``SPIDERMON_SPIDER_CLOSE_MONITORS``)."""

    monitors = [FinishReasonMonitor, ErrorCountMonitor, FieldCoverageMonitor, ArticlesMonitor,  # noqa: RUF012
                FailedShareMonitor]
    monitors_finished_actions = [StoreMonitorResults]  # noqa: RUF012
