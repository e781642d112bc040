"""Scrapy settings for archive_spider. Project settings carry the `ARCHIVE_` prefix."""

BOT_NAME = "archive_spider"
SPIDER_MODULES = ["archive_spider.spiders"]
NEWSPIDER_MODULE = "archive_spider.spiders"

# Where posts are stored.
ARCHIVE_DB = "archive.db"
# Seconds a crawl waits for another process writing the same archive before giving up.
ARCHIVE_LOCK_WAIT = 0.0
# Posts per GraphQL listing page: Medium allows up to 100, and fewer requests is politer.
ARCHIVE_PAGE_SIZE = 100
# The sitemap cross-check reads the day sitemaps that may hold something new, plus a few
# others in rotation, least recently read first: ARCHIVE_AUDIT_REQUESTS of them on a
# publication's first walk, and ARCHIVE_AUDIT (`crawl --audit N`) on any walk. A weekly
# run with --audit checks every day in turn without reading hundreds each run.
ARCHIVE_AUDIT_REQUESTS = 10
ARCHIVE_AUDIT = 0

# Politeness: Medium sits behind Cloudflare and asks crawlers to go gently. Every host a
# publication is served from (medium.com and custom domains alike) is one operator: all
# requests share one download slot (MediumSlotMiddleware), so DOWNLOAD_DELAY is the delay
# between two requests to Medium whatever the number of publications. A run of part i of N
# (`--part i/N`) multiplies it by N, so N partitions together keep the same budget.
# A browser-like User-Agent: Scrapy's own is refused outright by Cloudflare.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
# The Medium slot (MEDIUM_SLOT in middlewares.py) waits exactly DOWNLOAD_DELAY: the delay is
# a budget, and Scrapy's ±50% would let bursts run at twice the rate. "jitter" is the key of
# Scrapy 2.19+, "randomize_delay" the key older releases read.
DOWNLOAD_SLOTS = {"medium.com": {"jitter": 0.0, "randomize_delay": False}}
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# A cache would replay challenge pages as content on the next run.
HTTPCACHE_ENABLED = False

# Bounded work: a stuck server or a decompression bomb must not hang or exhaust the crawl.
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

# Retries: default retries lose pages under load. While answers fail, the whole Medium slot
# waits ARCHIVE_RETRY_BACKOFF_BASE * 2**failures seconds, or what Retry-After asks, at most
# ARCHIVE_RETRY_BACKOFF_MAX, before its next request; one success lifts the wait.
RETRY_TIMES = 10
RETRY_HTTP_CODES = [408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524]
ARCHIVE_RETRY_BACKOFF_BASE = 1.0
ARCHIVE_RETRY_BACKOFF_MAX = 60.0
# A host that failed ARCHIVE_OUTAGE_AFTER times in a row, or answered nothing for
# ARCHIVE_OUTAGE_TIMEOUT seconds, is down: its requests are dropped and its walks end
# partial (exit 4), to be resumed by the next run (outage.py).
ARCHIVE_OUTAGE_AFTER = 10
ARCHIVE_OUTAGE_TIMEOUT = 300.0
# A name that does not resolve fails in bounded time (Scrapy's default is 60 s): robots.txt
# and the homepage, one lookup each, stay within 30 s.
DNS_TIMEOUT = 12

DOWNLOADER_MIDDLEWARES = {
    # Requests pass in ascending order, responses in descending order.
    "archive_spider.middlewares.TrackingParamsMiddleware": 50,
    "archive_spider.middlewares.OffsiteGuardMiddleware": 60,
    "archive_spider.middlewares.MediumSlotMiddleware": 70,
    # Scrapy's RetryMiddleware stays at 550.
    # Sees responses before the retry middleware: a challenge is never retried or parsed.
    "archive_spider.middlewares.ChallengeMiddleware": 560,
    # Sees every answer and error first, retries included; holds requests while the site fails.
    "archive_spider.outage.OutageBreakerMiddleware": 590,
}

# Thumbnails kept in the archive (`crawl --images`): each post's preview image, fetched once
# at ARCHIVE_IMAGE_URL ({image_id}: its Medium image id) and stored in table `images`
# (pipelines/images.py). Image requests have their own download slot ("images"), apart from
# the Medium budget: ARCHIVE_IMAGE_CONCURRENCY requests at a time, ARCHIVE_IMAGE_DELAY seconds
# apart. A body over ARCHIVE_IMAGE_MAX_BYTES, or an image over ARCHIVE_IMAGE_MAX_PIXELS
# (checked before it is decoded: decompression bombs), is refused.
ARCHIVE_IMAGES = False
ARCHIVE_IMAGE_URL = "https://miro.medium.com/v2/resize:fit:320/{image_id}"
ARCHIVE_IMAGE_DELAY = 0.25
ARCHIVE_IMAGE_CONCURRENCY = 2
ARCHIVE_IMAGE_MAX_BYTES = 2 * 1024 * 1024
ARCHIVE_IMAGE_MAX_PIXELS = 4_000_000

SPIDER_MIDDLEWARES = {
    "archive_spider.thumbnails.ThumbnailsMiddleware": 950,
}

EXTENSIONS = {
    "archive_spider.progress.Progress": 500,
    "archive_spider.shutdown.PromptShutdown": 510,
}
# Seconds a run asked to stop (SIGTERM, Ctrl-C, --max-time) may take to close by itself
# before its walks are marked interrupted and it ends (shutdown.py).
ARCHIVE_SHUTDOWN_GRACE = 3.0
ARCHIVE_PROGRESS = "off"

# Items of a response go through the pipelines one at a time, in order: a Page marker then
# commits exactly the renderings before it. It is also faster: with Twisted's reactor Scrapy
# starts CONCURRENT_ITEMS workers per response (scrapy/scrapy#5182).
CONCURRENT_ITEMS = 1
# Our callbacks return no values; skipping the per-response source check of every callback
# made a 10,000-post crawl 1.3 times faster.
WARN_ON_GENERATOR_RETURN_VALUE = False

ITEM_PIPELINES = {
    "archive_spider.pipelines.validate.ValidatePipeline": 100,
    "archive_spider.pipelines.agreement.AgreementPipeline": 150,
    "archive_spider.pipelines.merge.MergePipeline": 200,
    "archive_spider.pipelines.store.StorePipeline": 300,
    # Only with ARCHIVE_IMAGES: fetches the thumbnails of stored posts.
    "archive_spider.pipelines.images.ArchiveImagesPipeline": 400,
}

# Twisted's own reactor (epoll on Linux): against a local server it made sequential requests
# 11 times faster than Scrapy's default asyncio reactor (6 ms against 70 ms a request).
TWISTED_REACTOR = None
# Scrapy's remote-control HTTP endpoint is not wanted on a scheduled crawler.
REMOTE_CONTROL_ENABLED = False

REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
