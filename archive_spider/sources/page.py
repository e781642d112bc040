"""A Medium page read through each of its sources on its own: the Apollo state, then the cards.

One source failing (a 2021 page has no post-preview cards; a page may carry no state, or a
broken one) never hides what the other holds: a page fails only when no source yields a
post, and each source that failed is reported by name ("apollo", "html").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..items import Post, Publication
from . import LayoutChanged
from .apollo import ApolloStateError, parse_apollo, read_apollo_state
from .cards import parse_cards_report


@dataclass
class HomePage:
    """What a publication's or an author's page holds, from all its sources together.

    See `apollo.ApolloPage` for `publication`, `publications`, `missing` and `skipped`;
    `failed` maps each source that failed to why.
    """

    publication: Publication | None = None
    is_author_page: bool = False
    posts: list[Post] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def read_page(html: str, *, page_url: str, reference: datetime) -> HomePage:
    """Every post of the page, from its Apollo state and from its cards.

    Raises `LayoutChanged` when no source yields a post, and `BadPublication` (from the
    state) when the page's publication cannot be read.
    """
    page = HomePage()
    try:
        state = read_apollo_state(html)
    except ApolloStateError as error:
        state, page.failed["apollo"] = None, str(error)
    if state is None:
        page.failed.setdefault("apollo", "the page has no window.__APOLLO_STATE__")
    else:
        apollo = parse_apollo(state, reference=reference, origin=page_url)
        page.publication, page.is_author_page = apollo.publication, apollo.is_author_page
        page.posts, page.publications = apollo.posts, apollo.publications
        page.missing, page.skipped = apollo.missing, apollo.skipped
    own = page.publication.id if page.publication else None
    try:
        cards, skipped = parse_cards_report(
            html, page_url=page_url, reference=reference, publication=own
        )
    except LayoutChanged as error:
        page.failed["html"] = str(error)
    else:
        page.posts = cards + page.posts
        if skipped:
            page.skipped["card_without_link"] = len(skipped)
    if not page.posts:
        why = "; ".join(f"{source}: {error}" for source, error in page.failed.items())
        raise LayoutChanged(f"no source on the page yielded a post ({why or 'none listed'})")
    return page
