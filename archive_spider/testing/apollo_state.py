"""`window.__APOLLO_STATE__` of publication homepages (2021 and 2025 shapes) and profiles."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .synthetic import (
    AVATAR_IMAGE,
    DESCRIPTION,
    LOGO_IMAGE,
    Publication,
    SyntheticPost,
    account_handle,
)

# Where a post sits on a page: the post, its publication (None: a personal post), mediumUrl.
Listed = tuple[SyntheticPost, Publication | None, str]

PAGE_POSTS = 10
# The arguments Medium's pages put in the key of extendedPreviewContent.
_TRUNCATION = {
    "truncationConfig": {
        "previewParagraphsWordCountThreshold": 400,
        "minimumWordLengthForTruncation": 150,
        "truncateAtEndOfSentence": True,
        "showFullImageCaptions": True,
        "shortformPreviewParagraphsWordCountThreshold": 30,
        "shortformMinimumWordLengthForTruncation": 30,
    }
}


def call_key(field: str, arguments: dict) -> str:
    """An Apollo cache key of a field with arguments: `field({"a":1})`."""
    return f"{field}({json.dumps(arguments, separators=(',', ':'))})"


def ref(key: str) -> dict:
    return {"__ref": key}


def medium_url_2021(publication: Publication, post: SyntheticPost) -> str:
    """mediumUrl of a post on a 2021 page: on the custom domain for most posts of a
    publication that has one, on medium.com under the slug for the others."""
    if publication.domain and post.number % 4:
        return f"https://{publication.domain}/{post.unique_slug}"
    return f"https://medium.com/{publication.slug}/{post.unique_slug}"


def homepage_state_2025(publication: Publication, posts: Sequence[SyntheticPost]) -> dict:
    """A current homepage: stub Post nodes, ordered by `PublicationPage:homepage` sections."""
    section_id = f"{publication.collection_id}-homepage-0"
    return {
        "ROOT_QUERY": _collection_root(publication, by_id=False),
        **_publication_nodes(publication),
        "PublicationPage:homepage": {
            "__typename": "PublicationPage",
            "id": "homepage",
            "sections": [ref(f"PublicationPostsSection:{section_id}")],
        },
        f"PublicationPostsSection:{section_id}": {
            "__typename": "PublicationPostsSection",
            "id": section_id,
            "title": "Latest",
            "layout": "LIST",
            "posts": [ref(f"Post:{p.id}") for p in posts],
        },
        **{f"Post:{p.id}": {"__typename": "Post", "id": p.id} for p in posts},
    }


def homepage_state_2021(
    publication: Publication, listed: Sequence[Listed], following: dict | None
) -> dict:
    """A 2021 homepage: full Post nodes, ordered by the collection's homepagePostsConnection;
    `following` is its pagingInfo.next."""
    state: dict[str, Any] = {
        "ROOT_QUERY": _collection_root(publication, by_id=True),
        **_publication_nodes(publication),
    }
    collection = state[f"Collection:{publication.collection_id}"]
    collection[call_key("homepagePostsConnection", {"paging": {"limit": PAGE_POSTS}})] = (
        _connection(listed, following)
    )
    state.update(_post_nodes(listed, publication.account_id))
    return state


def profile_state(account: str, bio: str, listed: Sequence[Listed], following: dict | None) -> dict:
    """A 2021 profile page at /@<username>: the user, its homepagePostsConnection, and the
    collections its listed posts belong to."""
    user_id, username = account_handle(account)
    user_key = f"User:{user_id}"
    by_name = {"username": username}
    paging = {"paging": {"limit": PAGE_POSTS}, "includeDistributedResponses": True}
    state: dict[str, Any] = {
        "ROOT_QUERY": {
            "__typename": "Query",
            "viewer": None,
            call_key("user", by_name): ref(user_key),
            call_key("userResult", by_name): ref(user_key),
        },
        user_key: {
            **_user_node(account),
            "bio": bio,
            "hasSubdomain": False,
            call_key("homepagePostsConnection", paging): _connection(listed, following),
        },
    }
    for _, publication, _ in listed:
        if publication is not None:
            state[f"Collection:{publication.collection_id}"] = _collection_node(publication)
    state.update(_post_nodes(listed, user_id))
    return state


def _collection_root(publication: Publication, *, by_id: bool) -> dict:
    key = ref(f"Collection:{publication.collection_id}")
    root: dict[str, Any] = {"__typename": "Query", "viewer": None}
    domain_or_slug = {"domainOrSlug": publication.domain or publication.slug}
    root[call_key("collectionByDomainOrSlug", domain_or_slug)] = key
    if by_id:
        root[call_key("collection", {"id": publication.collection_id})] = key
    return root


def _publication_nodes(publication: Publication) -> dict:
    """The collection of a homepage, its logo and the account that publishes it."""
    return {
        f"ImageMetadata:{LOGO_IMAGE}": {
            "__typename": "ImageMetadata",
            "id": LOGO_IMAGE,
            "originalWidth": 2072,
            "originalHeight": 320,
        },
        f"User:{publication.account_id}": _user_node(publication.account),
        f"Collection:{publication.collection_id}": {
            **_collection_node(publication),
            "description": DESCRIPTION,
            "logo": ref(f"ImageMetadata:{LOGO_IMAGE}"),
            "creator": ref(f"User:{publication.account_id}"),
        },
    }


def _collection_node(publication: Publication) -> dict:
    """`domain` is the custom domain or null; a live custom domain also has its state."""
    node: dict[str, Any] = {
        "__typename": "Collection",
        "id": publication.collection_id,
        "name": publication.name,
        "slug": publication.slug,
        "domain": publication.domain,
    }
    if publication.domain:
        node["customDomainState"] = {
            "__typename": "CustomDomainState",
            "live": {
                "__typename": "CustomDomain",
                "domain": publication.domain,
                "isSubdomain": False,
                "status": "ACTIVE",
            },
        }
    return node


def _user_node(account: str) -> dict:
    user_id, username = account_handle(account)
    return {
        "__typename": "User",
        "id": user_id,
        "name": account,
        "username": username,
        "imageId": AVATAR_IMAGE,
        "mediumMemberAt": 0,
    }


def _connection(listed: Sequence[Listed], following: dict | None) -> dict:
    return {
        "__typename": "PostConnection",
        "posts": [ref(f"Post:{post.id}") for post, _, _ in listed],
        "pagingInfo": {"__typename": "Paging", "next": following},
    }


def _post_nodes(listed: Sequence[Listed], creator_id: str) -> dict:
    """Full 2021 Post nodes of `listed`, with their images and preview paragraphs."""
    nodes: dict[str, Any] = {}
    for post, publication, medium_url in listed:
        image = post.image_id or ""
        nodes[f"ImageMetadata:{image}"] = {"__typename": "ImageMetadata", "id": image}
        if image:
            nodes[f"ImageMetadata:{image}"].update(focusPercentX=None, focusPercentY=None)
        texts = (("H3", post.title), ("P", f"The synthetic body of post {post.number}."))
        paragraphs = []
        for index, (kind, text) in enumerate(texts):
            paragraph_id = f"{post.id}_{index}"
            paragraphs.append(ref(f"Paragraph:{paragraph_id}"))
            nodes[f"Paragraph:{paragraph_id}"] = _paragraph(paragraph_id, kind, text)
        nodes[f"Post:{post.id}"] = {
            "__typename": "Post",
            "id": post.id,
            "title": post.title,
            "mediumUrl": medium_url,
            "firstPublishedAt": post.first_published_at,
            "latestPublishedAt": post.latest_published_at,
            "readingTime": post.reading_time,
            "previewImage": ref(f"ImageMetadata:{image}"),
            "previewContent": {
                "__typename": "PreviewContent",
                "subtitle": post.subtitle,
                "isFullContent": False,
            },
            call_key("extendedPreviewContent", _TRUNCATION): {
                "__typename": "PreviewContent",
                "bodyModel": {
                    "__typename": "RichText",
                    "sections": [_section(post.id[:4])],
                    "paragraphs": paragraphs,
                },
                "isFullContent": False,
            },
            "creator": ref(f"User:{creator_id}"),
            "collection": ref(f"Collection:{publication.collection_id}") if publication else None,
            "isLocked": post.locked,
            "visibility": "LOCKED" if post.locked else "PUBLIC",
            "pinnedAt": post.pinned_at,
            "isPublished": True,
            "isShortform": False,
            "statusForCollection": "APPROVED" if publication else None,
        }
    return nodes


def _paragraph(paragraph_id: str, kind: str, text: str) -> dict:
    return {
        "__typename": "Paragraph",
        "id": paragraph_id,
        "name": paragraph_id[-6:],
        "type": kind,
        "href": None,
        "layout": None,
        "metadata": None,
        "text": text,
        "hasDropCap": None,
        "dropCapImage": None,
        "markups": [],
        "iframe": None,
        "mixtapeMetadata": None,
    }


def _section(name: str) -> dict:
    return {
        "__typename": "Section",
        "name": name,
        "startIndex": 0,
        "textLayout": None,
        "imageLayout": None,
        "backgroundImage": None,
        "videoLayout": None,
        "backgroundVideo": None,
    }
