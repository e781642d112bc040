"""Run a crawl in this process and report what it did: the library behind `archive-spider crawl`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from .outcome import Outcome, image_outcomes, judge
from .spiders.collection import CollectionSpider
from .storage import stored_post_count


@dataclass
class CrawlReport:
    stats: dict
    outcome: Outcome

    def count(self, name: str) -> int:
        return self.stats.get(f"archive/{name}", 0)

    @property
    def unique_posts(self) -> int:
        return sum(self.count(f"posts_{s}") for s in ("new", "updated", "unchanged"))

    @property
    def walks(self) -> dict:
        """Each source or publication of the run: its run row's counts, status and error."""
        return self.stats.get("archive/walks") or {}

    @property
    def images(self) -> dict:
        """What `--images` did: stored, gone, refused, failed, already_kept (counts)."""
        return image_outcomes(self.stats)

    def as_dict(self) -> dict:
        return {
            "status": self.outcome.status,
            "exit_code": self.outcome.exit_code,
            "error": self.outcome.error,
            "crawl_id": self.count("crawl_id") or None,
            "pages": self.count("pages"),
            "renderings": self.count("renderings"),
            "unique_posts": self.unique_posts,
            "new": self.count("posts_new"),
            "updated": self.count("posts_updated"),
            "rejected": self.count("rejected"),
            "errors": self.stats.get("log_count/ERROR", 0),
            "images": self.images,
            "publications": self.walks,
        }

    def summary(self) -> str:
        line = (
            f"{self.outcome.status}: pages {self.count('pages')}, "
            f"renderings {self.count('renderings')}, unique posts {self.unique_posts}, "
            f"new {self.count('posts_new')}, updated {self.count('posts_updated')}, "
            f"rejected {self.count('rejected')}, errors {self.stats.get('log_count/ERROR', 0)}"
        )
        if self.images:
            line += "; images " + ", ".join(f"{k} {v}" for k, v in sorted(self.images.items()))
        if len(self.walks) > 1:
            statuses = Counter(walk["status"] for walk in self.walks.values())
            line += "; publications " + ", ".join(f"{n} {s}" for s, n in statuses.most_common())
        return line


def crawl_settings(db_path: Path, log_level: str | None = None, **overrides) -> Settings:
    """The project settings with the archive path, logging and any overrides applied."""
    settings = Settings()
    settings.setmodule("archive_spider.settings", priority="project")
    settings.set("ARCHIVE_DB", str(db_path), priority="cmdline")
    settings.set("LOG_ENABLED", bool(log_level), priority="cmdline")
    if log_level:
        settings.set("LOG_LEVEL", log_level.upper(), priority="cmdline")
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    return settings


def run_crawl(
    sources: list[str],
    db_path: Path,
    *,
    publications: Path | None = None,
    part: tuple[int, int] = (1, 1),
    as_of: str | None = None,
    full: bool = False,
    log_level: str | None = None,
    **overrides,
) -> CrawlReport:
    """Crawl `sources` and the `part` (i, N) of the `publications` list into `db_path`.

    A database this run created but left empty is removed.
    """
    created = not db_path.exists()
    process = CrawlerProcess(crawl_settings(db_path, log_level, **overrides))
    crawler = process.create_crawler(CollectionSpider)
    process.crawl(
        crawler,
        sources=sources,
        publications=str(publications) if publications else None,
        part=part[0],
        parts=part[1],
        as_of=as_of,
        full=full,
    )
    process.start()
    stats = crawler.stats.get_stats()
    report = CrawlReport(stats, judge(stats, stats.get("finish_reason", "unknown")))
    if created and stored_post_count(db_path) == 0:
        remove_database(db_path)
    return report


def remove_database(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
