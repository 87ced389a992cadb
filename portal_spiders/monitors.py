"""Per-run checks with spidermon, run when a spider closes; their outcome is stored with the run, in plain words.

spidermon (1.27, Scrapy 2.19, dataclass items through itemadapter) checks one run from inside the crawl: the
finish reason, ERROR log lines of this portal (per portal: :mod:`portal_spiders.logcount`), the field coverage of
:class:`ArticleItem` (``SPIDERMON_FIELD_COVERAGE_RULES``), articles found and the share of failed pages. Each
check says what is wrong in words ("3 of 3 pages failed (100%, limit 20%)"), never a unittest assertion.

:class:`StoreMonitorResults` puts the outcome into the stats as ``govarchive/monitor_results``; the store pipeline
writes it to ``crawl_runs.monitor_results``: ``{"passed": bool, "failed": [message, ...], "checks": [{"check",
"monitor", "status", "message"}]}``. :class:`PlainSpidermon` replaces spidermon's extension to log one line per
failed check (spidermon's own runner logs through the deprecated ``Spider.log()`` and prints assertion blocks).
:class:`NotifyFailedRun` is a spidermon action that sends a failed run to the operators' e-mail or webhook
(``GOVARCHIVE_NOTIFY_FAILED_RUNS``; channels as in :mod:`govarchive.notify`).

Comparing a run with the portal's history is ``govarchive health``'s job: it reads the archive without Scrapy.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from spidermon import Monitor, MonitorSuite, monitors
from spidermon.contrib.scrapy.extensions import Spidermon
from spidermon.contrib.scrapy.monitors import FieldCoverageMonitor
from spidermon.contrib.scrapy.runners import SpiderMonitorResult, SpiderMonitorRunner
from spidermon.core.actions import Action

from portal_spiders.diagnosis import CAUSE_STAT, reason_words

MONITOR_RESULTS_STAT = "govarchive/monitor_results"


class PortalMonitor(Monitor):
    """A check with a stable key (``check``) and a plain-words failure message."""

    check = ""
    longMessage = False  # only our own message, not unittest's "x not less than y : ..."

    def setting(self, name: str, default: Any = None) -> Any:
        """A crawler setting."""
        return self.data.crawler.settings.get(name, default)

    def stat(self, name: str) -> int:
        """A numeric crawl stat (0 when missing)."""
        return int(self.data.stats.get(name, 0) or 0)


@monitors.name("finish")
class FinishMonitor(PortalMonitor):
    """The run's finish reason."""

    check = "finish"

    @monitors.name("the run finished normally")
    def test_finish_reason(self) -> None:
        """``finished`` (or another reason of ``SPIDERMON_EXPECTED_FINISH_REASONS``)."""
        expected = self.data.crawler.settings.getlist("SPIDERMON_EXPECTED_FINISH_REASONS") or ["finished"]
        reason = self.data.stats.get("finish_reason")
        if reason not in expected:
            self.fail(f"the run ended with '{reason}' ({reason_words(reason)}), not {' or '.join(expected)}")


@monitors.name("errors")
class ErrorsMonitor(PortalMonitor):
    """ERROR log lines of this portal (not of the other portals crawled in the same process)."""

    check = "errors"

    @monitors.name("at most SPIDERMON_MAX_ERRORS errors logged")
    def test_errors(self) -> None:
        """Parser crashes, retries given up, store errors..."""
        limit = self.data.crawler.settings.getint("SPIDERMON_MAX_ERRORS", 10)
        errors = self.stat("log_count/ERROR")
        if errors > limit:
            cause = self.data.stats.get(CAUSE_STAT)
            self.fail(f"{errors} errors logged for this portal (limit {limit})" + (f": {cause}" if cause else ""))


@monitors.name("coverage")
class ArticleFieldCoverageMonitor(FieldCoverageMonitor):
    """spidermon's field coverage, for articles only (failure records are items too) and in words."""

    check = "coverage"
    longMessage = False

    @monitors.name("articles have their fields")
    def test_check_if_field_coverage_rules_are_met(self) -> None:
        """Each rule of ``SPIDERMON_FIELD_COVERAGE_RULES`` (``"ArticleItem/title": 1.0`` ...)."""
        if not int(self.data.stats.get("spidermon_item_scraped_count/ArticleItem", 0) or 0):
            self.skipTest("no articles (the 'articles' check reports that)")
        tolerance = self.crawler.settings.getfloat("SPIDERMON_FIELD_COVERAGE_TOLERANCE", 0)
        low = []
        for rule, expected in self.crawler.settings.getdict("SPIDERMON_FIELD_COVERAGE_RULES").items():
            actual = float(self.data.stats.get(f"spidermon_field_coverage/{rule}", 0) or 0)
            if actual < expected and not math.isclose(actual, expected, abs_tol=tolerance):
                low.append(f"{rule.split('/', 1)[-1]} on {actual:.0%} of articles (expected {float(expected):.0%})")
        if low:
            self.fail("fields missing: " + ", ".join(low))


@monitors.name("articles")
class ArticlesMonitor(PortalMonitor):
    """Articles parsed in the run."""

    check = "articles"

    @monitors.name("at least SPIDERMON_MIN_ARTICLES articles were found")
    def test_min_articles(self) -> None:
        """A run that finds no article is broken, whatever its finish reason.

        Found = parsed, or listed and skipped because an incremental run archived it before.
        """
        minimum = self.data.crawler.settings.getint("SPIDERMON_MIN_ARTICLES", 1)
        parsed = self.stat("govarchive/articles_parsed")
        skipped = self.stat("govarchive/articles_skipped_known")
        if parsed + skipped < minimum:
            cause = self.data.stats.get(CAUSE_STAT)
            found = "no articles found" if not parsed + skipped else f"only {parsed + skipped} articles found"
            self.fail(f"{found} (expected at least {minimum})" + (f": {cause}" if cause else ""))


@monitors.name("failures")
class FailedShareMonitor(PortalMonitor):
    """Share of pages that ended as failure records."""

    check = "failed_share"

    @monitors.name("failed pages stay under GOVARCHIVE_MAX_FAILED_SHARE")
    def test_failed_share(self) -> None:
        """Failed pages (download, parse or validation) over all pages that produced an item."""
        limit = self.data.crawler.settings.getfloat("GOVARCHIVE_MAX_FAILED_SHARE", 0.2)
        failed = self.stat("govarchive/items_failed")
        total = failed + self.stat("govarchive/articles_parsed")
        share = failed / total if total else 0.0
        if share > limit:
            self.fail(f"{failed} of {total} pages failed ({share:.0%}, limit {limit:.0%})")


def _message(item: Any) -> str | None:
    """The plain failure message of a check result (the assertion's text, or an error's last line)."""
    if item.reason:
        return str(item.reason).strip() or None
    if item.error:
        return str(item.error).strip().splitlines()[-1]
    return None


class StoreMonitorResults(Action):
    """Put the checks' outcome into the crawl stats, for the store pipeline to archive."""

    def run_action(self) -> None:
        """Summarise every check: key, name, status and the plain failure message."""
        checks: list[dict[str, Any]] = []
        for item in self.result.monitor_results:
            failed = item.status not in ("OK", "SKIPPED")
            checks.append({"check": getattr(item.item, "check", "") or item.item.name, "monitor": item.item.name,
                           "status": item.status, "message": _message(item) if failed else None})
        self.data.crawler.stats.set_value(MONITOR_RESULTS_STAT, {
            "passed": self.result.all_monitors_passed,
            "failed": [c["message"] or c["monitor"] for c in checks if c["status"] not in ("OK", "SKIPPED")],
            "checks": checks,
        })


class NotifyFailedRun(Action):
    """Send a failed run to the operators (``GOVARCHIVE_NOTIFY_FAILED_RUNS = True``; channels: govarchive.notify).

    Off by default: the scheduled ``govarchive health --notify`` reports every portal at once. This action is for
    deployments that run bare ``scrapy crawl`` jobs (scrapyd) without a health timer.
    """

    def run_action(self) -> None:
        """Send the portal's failed checks and cause; a sending error is logged, never raised into the crawl."""
        crawler = self.data.crawler
        if not crawler.settings.getbool("GOVARCHIVE_NOTIFY_FAILED_RUNS") or \
                self.data.stats.get("finish_reason") == "shutdown":  # the operator stopped it: no alarm
            return
        from govarchive.notify import NotifyError, config_from_env, send

        spider = self.data.spider
        results = self.data.stats.get(MONITOR_RESULTS_STAT) or {}
        problems = list(results.get("failed") or [])
        cause = self.data.stats.get(CAUSE_STAT)
        subject = f"govarchive: crawl of {spider.name} failed" + (f": {cause}" if cause else "")
        text = "\n".join([subject, "", *(f"- {p}" for p in problems)])
        payload = {"event": "govarchive.crawl_failed", "portal": spider.name, "cause": cause, "problems": problems,
                   "finish_reason": self.data.stats.get("finish_reason"), "text": subject}
        try:
            send(config_from_env(), subject=subject, text=text, payload=payload)
        except NotifyError as exc:
            spider.logger.warning("could not send the failed-run notification: %s", exc)


class PlainMonitorResult(SpiderMonitorResult):
    """spidermon's result writer, in plain words: one line per failed check, through ``Spider.logger``."""

    def next_step(self) -> None:
        """Start a step without spidermon's banner."""
        super(SpiderMonitorResult, self).next_step()

    def finish_step(self) -> None:
        """One summary line for the checks; failed actions are logged too."""
        super(SpiderMonitorResult, self).finish_step()
        step = self.step
        if step.name == "MONITORS":
            failed = [item for item in step.all_items if item.status not in ("OK", "SKIPPED")]
            for item in failed:
                self.log(f"check failed: {_message(item) or item.item.name}", level=logging.WARNING)
            passed = sum(item.status == "OK" for item in step.all_items)
            skipped = len(step.all_items) - passed - len(failed)
            self.log(f"{passed} checks passed, {len(failed)} failed" + (f", {skipped} skipped" if skipped else ""),
                     level=logging.INFO)
        else:
            for item in step.all_items:
                if item.status == "ERROR":
                    self.log(f"action {item.item.name} failed: {str(item.error).strip().splitlines()[-1]}",
                             level=logging.WARNING)

    def write_item_result(self, item: Any, extra: Any = None) -> None:
        """Each check's status at DEBUG level."""
        self.log(f"{item.name}: {self.step[item].status}{f' ({extra})' if extra else ''}", level=logging.DEBUG)

    def log(self, msg: Any, level: int = logging.DEBUG) -> None:
        """Through ``Spider.logger`` (``Spider.log()`` is deprecated since Scrapy 2.13)."""
        self.spider.logger.log(level, "[Spidermon] %s", msg)


class PlainMonitorRunner(SpiderMonitorRunner):
    """spidermon's runner with :class:`PlainMonitorResult`."""

    def create_result(self) -> PlainMonitorResult:
        """The plain-words result writer."""
        return PlainMonitorResult(self.spider)


class PlainSpidermon(Spidermon):
    """spidermon's Scrapy extension, running the suites with :class:`PlainMonitorRunner`."""

    def _run_suites(self, spider: Any, suites: list[Any]) -> None:
        data = self._generate_data_for_spider(spider)
        for suite in suites:
            PlainMonitorRunner(spider=spider).run(suite, **data)


class SpiderCloseMonitorSuite(MonitorSuite):
    """The checks run on every portal spider's close (``SPIDERMON_SPIDER_CLOSE_MONITORS``)."""

    monitors = [FinishMonitor, ErrorsMonitor, ArticleFieldCoverageMonitor, ArticlesMonitor,  # noqa: RUF012
                FailedShareMonitor]
    monitors_finished_actions = [StoreMonitorResults]  # noqa: RUF012
    monitors_failed_actions = [NotifyFailedRun]  # noqa: RUF012
