"""The publications and authors of a fleet: invented from a seed, checked to be distinct."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from .author import Author
from .medium_site import MediumSite
from .synthetic import PEOPLE

MEDIUM_HOST = "medium.test"
MEDIUM_ADDRESS = "127.0.0.1"
CUSTOM_ADDRESS = "127.0.0.2"
CUSTOM_SUFFIX = ".test"
# First path segments of medium.test that are not publications.
_RESERVED_SLUGS = frozenset({"", "feed", "_", "robots.txt"})

# Words the synthetic publications are named with.
_TOPICS = (
    "engineering",
    "design",
    "data",
    "product",
    "security",
    "mobile",
    "platform",
    "research",
    "infrastructure",
    "culture",
)
_KINDS = ("Blog", "Journal", "Notes", "Review", "Digest")


def invent_fleet(
    count: int,
    posts: int | tuple[int, int],
    seed: int,
    custom_share: float,
    *,
    era: str = "2025",
    authors: int = 0,
) -> tuple[list[MediumSite], list[Author]]:
    """`count` invented publications, deterministic from `seed`: a `custom_share` of them on
    custom domains (`<slug>.test`), spread evenly, the rest on medium.test, their homepages
    of `era`. Each has `posts` posts, or a number drawn from the inclusive range
    `(least, most)`. Author k (k < `authors`) publishes sites 2k and 2k+1 and has personal
    posts."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if not 0 <= custom_share <= 1:
        raise ValueError(f"custom_share must be between 0 and 1, got {custom_share}")
    least, most = (posts, posts) if isinstance(posts, int) else posts
    if not 0 <= least <= most:
        raise ValueError(f"posts must be N or (least, most) with 0 <= least <= most: {posts}")
    if not 0 <= authors <= min(len(PEOPLE), count // 2):
        raise ValueError(f"authors must be in 0..{min(len(PEOPLE), count // 2)}: {authors}")
    rng = random.Random(f"{seed}:fleet")
    sites = []
    for number in range(count):
        topic = _TOPICS[number % len(_TOPICS)]
        slug = f"{topic}-{number:02d}"
        custom = math.floor((number + 1) * custom_share) > math.floor(number * custom_share)
        team = f"{topic.title()} Team {number:02d}"
        sites.append(
            MediumSite(
                posts=rng.randint(least, most),
                seed=seed * count + number,
                name=f"{topic.title()} {_KINDS[number % len(_KINDS)]} {number:02d}",
                collection_id=f"{rng.getrandbits(48):012x}",
                slug=slug,
                domain=slug + CUSTOM_SUFFIX if custom else None,
                account=PEOPLE[number // 2] if number // 2 < authors else team,
                era=era,
            )
        )
    people = [Author(PEOPLE[k], sites[2 * k : 2 * k + 2], seed=seed) for k in range(authors)]
    return sites, people


def check_distinct(sites: Sequence[MediumSite], authors: Sequence[Author]) -> None:
    """Raise ValueError unless the sites and authors can be told apart the way a fleet
    routes."""
    for site in sites:
        if site.slug in _RESERVED_SLUGS or site.slug.startswith("@"):
            raise ValueError(f"slug {site.slug!r} is a path of medium.test itself")
        if site.domain is not None and (
            not site.domain.endswith(CUSTOM_SUFFIX) or site.domain == MEDIUM_HOST
        ):
            raise ValueError(f"custom domain {site.domain!r} must end in {CUSTOM_SUFFIX}")
    kinds = {
        "slug": [site.slug for site in sites],
        "custom domain": [site.domain for site in sites if site.domain is not None],
        "collection id": [site.collection_id for site in sites],
        "username": [author.username for author in authors],
        "post id": [post.id for site in sites for post in site.posts]
        + [post.id for author in authors for post in author.personal_posts()],
    }
    for kind, values in kinds.items():
        seen: set[str] = set()
        for value in values:
            if value in seen:
                raise ValueError(f"{kind} {value!r} appears twice in the fleet")
            seen.add(value)
