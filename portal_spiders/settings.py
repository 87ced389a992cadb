"""Scrapy settings of the govarchive project.

Politeness first: these are slow public servers. Per-portal overrides come from the registry
(``politeness`` and ``tls`` keys) and never weaken other hosts.
"""

import os

from govarchive.paths import default_path

BOT_NAME = "govarchive"
SPIDER_MODULES = ["portal_spiders.spiders"]
NEWSPIDER_MODULE = "portal_spiders.spiders"

# Where items are archived; `govarchive --db` and `-s ARCHIVE_DB=...` override it. The default is data/archive.db
# of the project (the directory of scrapy.cfg), also when `scrapy crawl` runs from a subdirectory.
ARCHIVE_DB = os.environ.get("GOVARCHIVE_DB") or default_path("data/archive.db")
ARCHIVE_BATCH_SIZE = 50  # articles per commit (WAL); a SIGKILL loses at most one uncommitted batch
ARCHIVE_BATCH_SECONDS = 5.0
# Incremental crawls stop reading a listing after this many consecutive articles archived by a complete run;
# 0 = one listing page's worth (pinned old articles at the top of a listing do not end the walk).
INCREMENTAL_STOP_AFTER = 0

# An honest User-Agent with a contact, configurable per deployment.
GOVARCHIVE_CONTACT = os.environ.get("GOVARCHIVE_CONTACT", "https://github.com/govarchive/govarchive")
USER_AGENT = f"govarchive/0.1 (+{GOVARCHIVE_CONTACT}; archive of Vietnamese official news)"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
DOWNLOAD_DELAY_JITTER = 0.5  # ±50% around DOWNLOAD_DELAY
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 60
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Exponential backoff between retries (portal_spiders/politeness.py): 2 s, 4 s, 8 s ... capped.
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0
# A 429/503 with Retry-After pauses the whole host for the time asked, up to this ceiling (seconds); a longer
# wait defers the host's remaining requests to the next run as recorded failures (docs/reliability.md).
RETRY_AFTER_MAX = 600.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "portal_spiders.politeness.BackoffRetryMiddleware": 550,
    # no fetch of loopback/private/link-local/metadata addresses, every redirect hop included (outside the replica)
    "portal_spiders.addressguard.AddressGuardMiddleware": 60,
    # counts each attempt's outcome per host (DNS, refused, TLS, HTTP status...) for the cause in words
    "portal_spiders.diagnosis.DiagnosisMiddleware": 940,
    # WARC capture next to the downloader: the bytes as received, before decompression, redirects and retries
    "portal_spiders.warc.WarcCaptureMiddleware": 950,
    # after "stop now" (second Ctrl-C, network down) a download fails at once instead of waiting in its host's
    # slot for the politeness delay; last in line, so requests that waited for robots.txt are caught too
    "portal_spiders.interrupt.InterruptMiddleware": 990,
    # redirects back to a URL already requested (ASP.NET cookie ping-pong) are followed; loops become failures
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "portal_spiders.redirects.LoopAwareRedirectMiddleware": 600,
}
REDIRECT_MAX_TIMES = 10
# Scrapy's 1 GiB default let a gzip bomb through. DOWNLOAD_MAXSIZE stays the backstop for files (attachments);
# pages (listings, articles, feeds) are capped at GOVARCHIVE_PAGE_MAXSIZE: real article pages are < 2 MB (legal
# full texts ~1 MB, baochinhphu ~340 KB), and a page over the cap is recorded as a failure with its size. Sitemaps
# may be 50 MB uncompressed (sitemaps.org). Memory bound: docs/reliability.md.
DOWNLOAD_MAXSIZE = 50 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
GOVARCHIVE_PAGE_MAXSIZE = 4 * 1024 * 1024
GOVARCHIVE_SITEMAP_MAXSIZE = 50 * 1024 * 1024
CONCURRENT_ITEMS = 10  # measured +25-32% items/s against the default 100 on a parsing spider
COOKIES_ENABLED = True  # ASP.NET postback pagers need the session cookie
TELNETCONSOLE_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
# Scrapy parses every callback's source on every response to warn about `return value` in a generator (about
# 1 ms per article); ruff's B901 checks the project's callbacks once instead (pyproject.toml).
WARN_ON_GENERATOR_RETURN_VALUE = False
LOG_LEVEL = os.environ.get("GOVARCHIVE_LOG_LEVEL", "INFO")

# The replica router is a no-op unless REPLICA_URL is set (offline demo and tests). It wraps Scrapy's own
# HTTP/1.1 handler, so redirects, retries, robots.txt and politeness behave exactly as against real hosts.
DOWNLOAD_HANDLERS = {
    "http": "portal_spiders.routing.RoutingDownloadHandler",
    "https": "portal_spiders.routing.RoutingDownloadHandler",
}
# Every crawl with a REPLICA_URL logs a REPLICA MODE warning first and is recorded as a replica run
# (portal_spiders/replica_guard.py); an archive holds replica runs or real runs, never both.
REPLICA_URL = os.environ.get("GOVARCHIVE_REPLICA_URL", "")
REPLICA_HOSTS: list[str] = []  # empty: route every host to the replica when REPLICA_URL is set

# TLS: certificates are verified for every host; a registry entry's `tls` table (or TLS_POLICIES = {host: policy})
# relaxes versions, ciphers or verification for that host only (portal_spiders/tls.py), logged once per host.
DOWNLOAD_VERIFY_CERTIFICATES = True
TLS_POLICIES: dict[str, dict[str, object]] = {}

# Scrapy's collector without its per-access deprecation wrapper: ~2 µs saved on each of ~100 stats calls per article
STATS_CLASS = "portal_spiders.stats.RunStatsCollector"
# Per-run checks with spidermon at spider close (portal_spiders/monitors.py); results go to crawl_runs, in words.
SPIDERMON_ENABLED = True
EXTENSIONS = {
    "portal_spiders.archive_lock.ArchiveLockExtension": 0,  # one crawl at a time per archive (<db>.lock)
    "portal_spiders.replica_guard.ReplicaGuardExtension": 1,  # replica runs: said loudly, never mixed with real ones
    # log_count/* per portal, not per process (several portals share a `govarchive crawl` process)
    "scrapy.extensions.logcount.LogCount": None,
    "portal_spiders.logcount.PortalLogCount": 0,
    # the cause of a bad run in words (govarchive/cause); before spidermon and the store read it
    "portal_spiders.diagnosis.DiagnosisExtension": 100,
    # spidermon, logging one plain line per failed check instead of assertion blocks and Spider.log()
    "portal_spiders.monitors.PlainSpidermon": 500,
    "portal_spiders.gctune.GcTuning": 0,  # GC_THRESHOLDS below
}
# Thresholds of Python's cyclic garbage collector during a crawl (portal_spiders/gctune.py): collections in larger
# batches, about 3% less CPU per article; empty: Python's default (700, 10, 10).
GC_THRESHOLDS = "20000,20,20"
# Progress lines of `scrapy crawl` (Scrapy's LogStats): every 15 s instead of every minute.
LOGSTATS_INTERVAL = 15.0
# `scrapy crawl` with the project's checks (spider arguments, settings, archive path and lock: one line each).
COMMANDS_MODULE = "portal_spiders.commands"
# A malformed portals.toml stops `scrapy list`/`crawl` with one line naming the file, entry and key.
SPIDER_LOADER_CLASS = "portal_spiders.loader.PortalSpiderLoader"
SPIDERMON_SPIDER_CLOSE_MONITORS = ["portal_spiders.monitors.SpiderCloseMonitorSuite"]
SPIDERMON_EXPECTED_FINISH_REASONS = ["finished"]
SPIDERMON_MAX_ERRORS = 10  # ERROR log lines (parser crashes, retries given up) per run
SPIDERMON_ADD_FIELD_COVERAGE = True
SPIDERMON_FIELD_COVERAGE_SKIP_IF_NO_ITEM = True  # "no articles at all" is SPIDERMON_MIN_ARTICLES' job
# A field holding None is missing: spidermon counts it as present by default, and the normaliser stores every empty
# field as None, so without this an article without a date or a body would pass the rules below.
SPIDERMON_FIELD_COVERAGE_SKIP_NONE = True
# Coverage of the item's own fields only: by default spidermon also walks every dict value (field_sources,
# document ...) key by key, about 20 more stats increments per article; where each field came from is counted
# once per committed article by the store (govarchive/source/<field>/<kind>).
SPIDERMON_DICT_FIELDS_COVERAGE_LEVELS = 0
SPIDERMON_FIELD_COVERAGE_RULES = {
    "ArticleItem/title": 1.0,
    "ArticleItem/published": 0.9,
    "ArticleItem/body_text": 0.9,
}
SPIDERMON_MIN_ARTICLES = 1
GOVARCHIVE_MAX_FAILED_SHARE = 0.2
# Send a failed run to e-mail/webhook from inside the crawl (spidermon action; channels from GOVARCHIVE_SMTP_*,
# GOVARCHIVE_EMAIL_*, GOVARCHIVE_WEBHOOK_URL). Off: `govarchive health --notify` is the usual alert path.
GOVARCHIVE_NOTIFY_FAILED_RUNS = False

# A host that never answered and failed at the network level (DNS, refused, timeout, TLS) on a request's last retry
# is skipped for the rest of the run: its other pages are recorded as failures at once (the next run tries again).
GOVARCHIVE_SKIP_DEAD_HOSTS = True

# `govarchive crawl`: a second Ctrl-C, or this many seconds after the first, cuts in-flight requests short.
GOVARCHIVE_STOP_GRACE_SECONDS = 3.0
# `govarchive crawl`: when this many hosts failed at the network level and none answered, the network is down:
# say so once and stop every portal (exit code 4).
GOVARCHIVE_NETWORK_DOWN_HOSTS = 3

ITEM_PIPELINES = {
    "pipelines.normalize.NormalizePipeline": 100,
    "pipelines.validate.ValidatePipeline": 200,
    "pipelines.dedupe.DedupePipeline": 300,
    "pipelines.files.ArchiveFilesPipeline": 400,
    "pipelines.store.StorePipeline": 900,
}

# Archival fidelity (docs/archive.md). WARC/1.1 captures of every response, rotated by size, in WARC_DIR (default:
# warc/ beside ARCHIVE_DB); `govarchive crawl --warc-dir DIR` / `--no-warc`.
WARC_ENABLED = True
WARC_DIR = ""
WARC_MAX_SIZE = 1024**3
# Attachments and images as files (pipelines/files.py): content-addressed by SHA-256 in FILES_STORE (default: files/
# beside ARCHIVE_DB), reused for FILES_EXPIRES days, capped per sniffed type (bytes; keys: MIME type, "image/*",
# "*"; unset keys keep the defaults: PDF 100 MiB, ZIP/RAR/7z 200 MiB, images 20 MiB, anything else 50 MiB).
ATTACHMENTS_DOWNLOAD = True
IMAGES_DOWNLOAD = True
ATTACHMENT_TEXT = True  # text of PDF/DOCX/XLSX/DOC/XLS into attachments.text
FILES_STORE = ""
FILES_EXPIRES = 90
FILES_MAX_SIZES: dict[str, int] = {}
MEDIA_ALLOW_REDIRECTS = True  # every hop goes through the address guard
ADDRESS_GUARD_ENABLED = True
# Takedowns (portal_spiders/removals.py): a run where at least REMOVAL_MIN_FOR_SHARE archived articles, more than
# REMOVAL_MAX_SHARE of those it fetched, look removed at once marks none of them (an outage, not a takedown).
REMOVAL_MAX_SHARE = 0.5
REMOVAL_MIN_FOR_SHARE = 5

# Scale-out (docs/scale.md): `-s GOVARCHIVE_CLUSTER=redis://host:6379/0` (or `govarchive worker`) makes this crawl a
# worker of its portal's cluster run: shared Redis frontier with leases, items to Redis; `govarchive archiver` runs
# the GOVARCHIVE_ARCHIVER_PIPELINES and writes the archive. The add-on does nothing without the setting.
ADDONS = {"govarchive.cluster.addon.ClusterAddon": 0}
GOVARCHIVE_CLUSTER = ""
GOVARCHIVE_CLUSTER_PREFIX = "govarchive"  # Redis key prefix (several clusters can share one Redis)
GOVARCHIVE_CLUSTER_HEARTBEAT = 2.0  # seconds between a worker's heartbeats
GOVARCHIVE_CLUSTER_LEASE_TTL = 15.0  # a worker silent this long is dead: its leased requests go back to the queue
GOVARCHIVE_CLUSTER_WAIT = 600.0  # how long a worker waits for the archiver to open its run
GOVARCHIVE_ARCHIVER_BATCH = 50  # stream entries per archiver transaction
GOVARCHIVE_ARCHIVER_PIPELINES = [  # run by the archiver; every other pipeline runs on the workers
    "pipelines.normalize.NormalizePipeline",
    "pipelines.validate.ValidatePipeline",
    "pipelines.dedupe.DedupePipeline",
    "pipelines.files.ArchiveFilesPipeline",  # the files store and its rows live beside the archive
    "pipelines.store.StorePipeline",
]
