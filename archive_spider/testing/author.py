"""An author's profile page on medium.com: personal posts beside their posts in publications."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from . import pages
from .apollo_state import PAGE_POSTS, Listed, medium_url_2021, profile_state
from .medium_site import MediumSite
from .synthetic import (
    DAY_MS,
    DEFAULT_NOW,
    SyntheticPost,
    account_handle,
    expected_post,
    invent_post,
    to_ms,
)


class Author:
    """The account `name`, publishing in `sites` (each site's `account` must be `name`) and,
    `personal` times, outside any publication. Its profile page (2021 shape, served at
    `path` on medium.com) lists its 10 newest posts, every personal post among them."""

    def __init__(
        self,
        name: str,
        sites: Sequence[MediumSite] = (),
        *,
        personal: int = 3,
        seed: int = 0,
        now: datetime = DEFAULT_NOW,
    ) -> None:
        if not 0 <= personal < PAGE_POSTS:
            raise ValueError(f"personal must be in 0..{PAGE_POSTS - 1}, got {personal}")
        for site in sites:
            if site.account != name:
                raise ValueError(f"{site.slug} is published by {site.account!r}, not {name!r}")
        self.name, self.sites, self.now = name, list(sites), now
        self.user_id, self.username = account_handle(name)
        self.bio = f"{name} writes about streaming, data and the systems behind them."
        self._seed = seed
        self._personal = personal

    @property
    def path(self) -> str:
        """The profile page's path on medium.com: /@<username>."""
        return f"/@{self.username}"

    def personal_posts(self) -> list[SyntheticPost]:
        """Posts in no publication, newest first, each newer than the (10 - `personal`)th
        newest of its posts in publications, so that the profile page lists them all."""
        in_sites = sorted(
            (post for site in self.sites for post in site.posts),
            key=lambda post: -post.first_published_at,
        )
        now = to_ms(self.now)
        floor = now - 365 * DAY_MS
        if len(in_sites) >= PAGE_POSTS - self._personal:
            floor = in_sites[PAGE_POSTS - self._personal - 1].first_published_at + 1
        step = max(1, (now - DAY_MS - floor) // (self._personal + 1))
        taken = {post.id for post in in_sites}
        posts = [
            invent_post(f"{self._seed}:@{self.username}", number, floor + number * step, now, taken)
            for number in range(1, self._personal + 1)
        ]
        return posts[::-1]

    def listed(self) -> list[Listed]:
        """(post, publication or None, mediumUrl) of the posts its profile page lists."""
        return self._all()[:PAGE_POSTS]

    def _all(self) -> list[Listed]:
        """(post, publication or None, mediumUrl) of all its posts, newest first."""
        entries: list[Listed] = [
            (post, None, f"https://medium.com/@{self.username}/{post.unique_slug}")
            for post in self.personal_posts()
        ]
        for site in self.sites:
            entries += [
                (p, site.publication, medium_url_2021(site.publication, p)) for p in site.posts
            ]
        entries.sort(key=lambda entry: -entry[0].first_published_at)
        return entries

    def page(self, origin: str) -> str:
        """The profile page, its GraphQL URI on `origin`."""
        everything = self._all()
        listed, following = everything[:PAGE_POSTS], None
        if len(everything) > PAGE_POSTS:
            following = {"from": str(listed[-1][0].first_published_at), "limit": PAGE_POSTS}
        apollo = profile_state(self.name, self.bio, listed, following)
        return pages.profile_page(self.name, self.bio, listed, apollo, origin, self.now, self._seed)

    def expected_posts(self) -> list[dict]:
        """What a crawler of the profile page should store for each post it lists, newest
        first, with `publication`: the collection id, None for a personal post."""
        expected = []
        for post, publication, medium_url in self.listed():
            url = publication.post_url(post) if publication else medium_url
            expected.append(
                {
                    **expected_post(post, url, self.name),
                    "publication": publication.collection_id if publication else None,
                }
            )
        return expected
