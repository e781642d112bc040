"""Invented publications and posts, deterministic from a seed, and the clock they run on."""

from __future__ import annotations

import bisect
import hashlib
import math
import random
import re
import string
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any, NamedTuple

DEFAULT_NOW = datetime(2025, 11, 6, 12, tzinfo=timezone.utc)
NAME = "Netflix TechBlog"
COLLECTION_ID = "2615bd06b42e"
SLUG = "netflix-techblog"
DOMAIN = "netflixtechblog.com"
MEDIUM_DOMAIN = "medium.com"
DESCRIPTION = (
    "Learn about Netflix\u2019s world class engineering efforts, company culture, "
    "product developments and more."
)
ACCOUNT = "Netflix Technology Blog"
ACCOUNT_USERNAME = "netflixtechblog"
ACCOUNT_ID = "c3aeaf49d8a4"
AVATAR_IMAGE = "1*BJWRqfSMf9Da9vsXG9EBRQ.jpeg"
LOGO_IMAGE = "1*ty4NvNrGg4ReETxqU2N3Og.png"

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
_SPAN_MS = 7 * 365 * DAY_MS  # how far back the initial posts reach
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_IMAGE_CHARS = string.ascii_letters + string.digits + "-_"
_HOMEPAGE_FROM = re.compile(r"([PL])(\d{1,16})")

# Words the synthetic titles, subtitles and tags are made of.
_LEADS = ("Scaling", "Rebuilding", "Observing", "Testing", "Securing", "Migrating", "Simplifying")
_SUBJECTS = (
    "the Playback Session Service",
    "Media Encoding Workflows",
    "Title Launch Observability",
    "the Recommendation Pipeline",
    "Edge Routing with Zuul",
    "Spark Jobs at Scale",
    "the Studio Search Index",
    "Live Streaming Ingest",
)
_SYSTEMS = ("Data Gateway", "Cosmos", "Maestro", "Conductor", "Titus", "Atlas", "Mantis", "Hollow")
_CODAS = ("Part 1", "Part 2", "Lessons Learned", "A Retrospective", "Two Years In")
_SENTENCES = (
    "How we keep streaming jobs healthy when traffic bursts tenfold",
    "What broke, what we fixed and what we would do again",
    "A tour of the design, the trade-offs and the numbers",
    "From a prototype to every device in two quarters",
    "Virtual threads, structured concurrency and what went wrong",
)
PEOPLE = (
    "Ana Silva",
    "Bo Chen",
    "Celina Amados",
    "Ravi Menon",
    "Tom Okafor",
    "Mei Tanaka",
    "Jonas Berg",
    "Priya Natarajan",
)
_TAGS = (
    "netflix",
    "data-engineering",
    "distributed-systems",
    "machine-learning",
    "video-encoding",
    "observability",
    "java",
    "security",
    "streaming",
    "netflix-api",
)


@dataclass(frozen=True)
class SyntheticPost:
    """One invented post. `number` counts from 1 (the oldest) and never changes."""

    number: int
    id: str
    title: str
    subtitle: str
    first_published_at: int
    latest_published_at: int
    reading_time: float
    image_id: str | None
    locked: bool
    tags: tuple[str, ...]
    claps: int
    responses: int
    pinned_at: int = 0

    @property
    def unique_slug(self) -> str:
        return f"{slugify(self.title)}-{self.id}"


@dataclass(frozen=True)
class Publication:
    """A publication: its collection, where it is hosted (`domain` None: on medium.com under
    `/<slug>`) and the account that publishes its posts."""

    name: str
    collection_id: str
    slug: str
    domain: str | None
    account: str

    @property
    def account_id(self) -> str:
        return account_handle(self.account)[0]

    @property
    def account_username(self) -> str:
        return account_handle(self.account)[1]

    @property
    def public_host(self) -> str:
        return self.domain or MEDIUM_DOMAIN

    @property
    def prefix(self) -> str:
        """The path its pages sit under: "" on a custom domain, else `/<slug>`."""
        return "" if self.domain else f"/{self.slug}"

    @property
    def feed_path(self) -> str:
        return "/feed" if self.domain else f"/feed/{self.slug}"

    @property
    def home_url(self) -> str:
        """https://<domain>/ or https://medium.com/<slug>."""
        return f"https://{self.public_host}{self.prefix or '/'}"

    def post_url(self, post: SyntheticPost) -> str:
        """Where a crawler should file `post`: on the custom domain, else under the slug."""
        return f"https://{self.public_host}{self.prefix}/{post.unique_slug}"

    def names(self, slug: Any, domain: Any, collection_id: Any = None) -> bool:
        """Whether a slug, a custom domain or a collection id is this publication's."""
        return (
            (isinstance(slug, str) and slug == self.slug)
            or (isinstance(domain, str) and domain.lower() == self.domain)
            or (isinstance(collection_id, str) and collection_id == self.collection_id)
        )


def tag_title(tag: str) -> str:
    """The display title of a tag slug: "data-engineering" -> "Data Engineering"."""
    return tag.replace("-", " ").title()


def slugify(title: str) -> str:
    """Medium's slug of a title: lower case, apostrophes dropped, other runs of non-alphanumerics
    turned into one "-"."""
    text = title.lower().replace("\u2019", "").replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def account_handle(account: str) -> tuple[str, str]:
    """(user id, username) of the account named `account`: Netflix's for the default one,
    else made from the name."""
    if account == ACCOUNT:
        return ACCOUNT_ID, ACCOUNT_USERNAME
    user_id = hashlib.sha256(account.encode()).hexdigest()[:12]
    return user_id, re.sub(r"[^a-z0-9]+", "", account.lower()) or user_id


def invent_post(
    seed: int | str, number: int, first: int, now: int, taken: set[str]
) -> SyntheticPost:
    """Post `number` of the posts made from `seed`, first published at `first` (ms)."""
    rng = random.Random(f"{seed}:post:{number}")
    post_id = f"{rng.getrandbits(48):012x}"
    while post_id in taken:
        post_id = f"{rng.getrandbits(48):012x}"
    taken.add(post_id)
    latest = first + rng.randrange(60_000, 30 * DAY_MS) if rng.random() < 0.5 else first
    return SyntheticPost(
        number=number,
        id=post_id,
        title=f"Synthetic post {number}: {_title_phrase(rng)}",
        subtitle=_subtitle(rng),
        first_published_at=first,
        latest_published_at=latest if latest <= now else first,
        reading_time=rng.uniform(0.6, 22.0),
        image_id=_image_id(rng),
        locked=rng.random() < 0.2,
        tags=tuple(rng.sample(_TAGS, rng.randint(1, 4))),
        claps=min(int(rng.paretovariate(1.2) * 30) - 30, 25_000),
        responses=rng.choice((0, 0, 1, 2, 3, 7, 12, 21)),
    )


def invent_posts(seed: int, count: int, now: datetime) -> list[SyntheticPost]:
    """`count` posts, newest first, about 2 days old back to about 7 years old; one or two
    older ones pinned, as a publication's editors do."""
    timeline = random.Random(f"{seed}:timeline")
    now_ms = to_ms(now)
    at = now_ms - 2 * DAY_MS - 3 * HOUR_MS - timeline.randrange(HOUR_MS)
    taken: set[str] = set()
    posts = []
    for number in range(count, 0, -1):
        posts.append(invent_post(seed, number, at, now_ms, taken))
        at -= max(1000, round(_SPAN_MS / count * timeline.uniform(0.3, 1.7)))
    rng = random.Random(f"{seed}:pins")
    candidates = list(range(3, min(len(posts), 30))) or list(range(len(posts)))[-1:]
    chosen = rng.sample(candidates, min(len(candidates), rng.choice((1, 2))))
    for rank, index in enumerate(chosen):
        post = posts[index]
        pinned = post.first_published_at + rng.randrange(DAY_MS, 60 * DAY_MS)
        posts[index] = replace(post, pinned_at=min(pinned, now_ms - HOUR_MS - rank))
    return posts


def newer_posts(
    seed: int, posts: list[SyntheticPost], count: int, now: datetime
) -> tuple[list[SyntheticPost], datetime]:
    """`count` posts newer than `posts` (newest first), and the clock after them: `now`, or
    later if the last of them would be in the future."""
    rng = random.Random(f"{seed}:added:{len(posts)}")
    at = posts[0].first_published_at if posts else to_ms(now) - DAY_MS
    times = []
    for _ in range(count):
        at += rng.randrange(30 * 60_000, 6 * HOUR_MS)
        times.append(at)
    now_ms = max(to_ms(now), at + 60_000)
    taken = {post.id for post in posts}
    added = [
        invent_post(seed, len(posts) + 1 + i, first, now_ms, taken) for i, first in enumerate(times)
    ]
    added.reverse()
    return added, from_ms(now_ms)


def _title_phrase(rng: random.Random) -> str:
    """A title; some carry hair-spaced em dashes or curly quotes, as Medium's titles do."""
    shape = rng.random()
    if shape < 0.15:
        return f"{rng.choice(_LEADS)} {rng.choice(_SUBJECTS)}\u200a—\u200a{rng.choice(_CODAS)}"
    if shape < 0.3:
        return f"Netflix\u2019s {rng.choice(_SYSTEMS)}: {rng.choice(_CODAS)}"
    if shape < 0.4:
        return f"Why We Said \u201cNo\u201d to {rng.choice(_SYSTEMS)}"
    return f"{rng.choice(_LEADS)} {rng.choice(_SUBJECTS)}"


def _subtitle(rng: random.Random) -> str:
    """Empty, a byline ("By Ana Silva and Bo Chen") or a sentence."""
    shape = rng.random()
    if shape < 0.25:
        return ""
    if shape < 0.55:
        names = rng.sample(PEOPLE, rng.randint(1, 3))
        if len(names) == 1:
            return f"By {names[0]}"
        return f"By {', '.join(names[:-1])} and {names[-1]}"
    return rng.choice(_SENTENCES)


def _image_id(rng: random.Random) -> str | None:
    """`1*<22 chars>.png`-like ids mostly, some `0*<16 chars>` without extension, a few none."""
    shape = rng.random()
    if shape < 0.04:
        return None
    if shape < 0.3:
        return "0*" + "".join(rng.choices(_IMAGE_CHARS, k=16))
    extension = rng.choice((".png", ".png", ".jpeg", ".jpg", ".gif"))
    return "1*" + "".join(rng.choices(_IMAGE_CHARS, k=22)) + extension


def expected_post(post: SyntheticPost, url: str, account: str) -> dict:
    """What a crawler should store for `post`, filed at `url`."""
    return {
        "id": post.id,
        "url": url,
        "title": post.title,
        "subtitle": post.subtitle or None,
        "published": iso(post.first_published_at, millis=False),
        "read_minutes": math.ceil(post.reading_time),
        "image_id": post.image_id,
        "member_only": post.locked,
        "account": account,
    }


class Catalog(NamedTuple):
    """The posts at one moment, replaced whole (never mutated) when posts are added."""

    posts: list[SyntheticPost]  # newest first
    keys: list[int]  # -first_published_at of `posts`: ascending, for bisect
    by_id: dict[str, SyntheticPost]
    pins: list[SyntheticPost]  # pinned posts, most recently pinned first
    days: dict[str, list[SyntheticPost]]  # by UTC publishing day (YYYY-MM-DD), newest first

    @classmethod
    def of(cls, posts: list[SyntheticPost]) -> Catalog:
        pins = sorted((p for p in posts if p.pinned_at), key=lambda p: -p.pinned_at)
        days: dict[str, list[SyntheticPost]] = {}
        for post in posts:
            days.setdefault(iso(post.first_published_at)[:10], []).append(post)
        keys = [-p.first_published_at for p in posts]
        return cls(posts, keys, {p.id: p for p in posts}, pins, days)

    def homepage_sequence(self, start: Any, count: int) -> list[SyntheticPost] | None:
        """Up to `count` posts from `start` in homepage order: pinned posts first
        ("P<pinnedAt>" continues among them), then the others newest first
        ("L<firstPublishedAt>"); None if `start` is neither."""
        if start in (None, ""):
            pins, index = self.pins, 0
        elif isinstance(start, str) and (match := _HOMEPAGE_FROM.fullmatch(start)):
            moment = int(match[2])
            if match[1] == "P":
                pins, index = [p for p in self.pins if p.pinned_at < moment], 0
            else:
                pins, index = [], bisect.bisect_right(self.keys, -moment)
        else:
            return None
        sequence = list(pins[:count])
        while len(sequence) < count and index < len(self.posts):
            if not self.posts[index].pinned_at:
                sequence.append(self.posts[index])
            index += 1
        return sequence


def homepage_from(post: SyntheticPost) -> str:
    """The `from` of the homepage page after `post`: "P<pinnedAt>" or "L<firstPublishedAt>"."""
    return f"P{post.pinned_at}" if post.pinned_at else f"L{post.first_published_at}"


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def rfc822(ms: int) -> str:
    return format_datetime(from_ms(ms), usegmt=True)


def iso(ms: int, *, millis: bool = True) -> str:
    """`2024-10-26T16:41:52.345Z`, or to the second (`...:52Z`) without `millis`."""
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))
    return f"{text}.{ms % 1000:03d}Z" if millis else text + "Z"
