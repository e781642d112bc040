"""One reading of each fact of Medium's Collection and Post objects, for every source."""

from __future__ import annotations

import pytest

from archive_spider.items import Publication
from archive_spider.sources.post_nodes import BadPublication, post_url, read_publication, subtitle

COLLECTION = {"__typename": "Collection", "id": "2615bd06b42e", "slug": "netflix-techblog"}
NETFLIX = Publication("2615bd06b42e", "netflix-techblog", "netflixtechblog.com", None)
ON_MEDIUM = Publication("2615bd06b42e", "netflix-techblog", None, None)
SLUG = "a-post-3f1c0a9d5b2e"


@pytest.mark.parametrize(
    ("node", "served", "domain"),
    [
        ({"domain": "NetflixTechBlog.com"}, None, "netflixtechblog.com"),
        ({"domain": None}, "netflixtechblog.com", None),  # null: it has none, whatever served
        (
            {"customDomainState": {"live": {"domain": "netflixtechblog.com"}}},
            None,
            "netflixtechblog.com",
        ),
        ({}, "netflixtechblog.com", "netflixtechblog.com"),  # no key: the host that served it
        ({}, "medium.com", None),
        ({}, "netflix.medium.com", None),
        ({}, "127.0.0.1", None),
    ],
)
def test_the_custom_domain_is_read_in_one_order(node, served, domain):
    assert read_publication({**COLLECTION, **node}, served_host=served).domain == domain


def test_the_customdomainstate_may_be_a_ref():
    state = {"CustomDomain:x": {"domain": "netflixtechblog.com"}}

    def resolve(value):
        ref = value.get("__ref") if isinstance(value, dict) else None
        return state.get(ref, {}) if ref else (value if isinstance(value, dict) else {})

    node = {**COLLECTION, "customDomainState": {"live": {"__ref": "CustomDomain:x"}}}
    assert read_publication(node, resolve).domain == "netflixtechblog.com"


@pytest.mark.parametrize(
    "domain", ["not a host/name", "127.0.0.1", "medium.com", "javascript:alert(1)//", 42, ""]
)
def test_a_domain_that_is_no_host_name_is_refused(domain):
    with pytest.raises(BadPublication, match="not a host"):
        read_publication({**COLLECTION, "domain": domain})


@pytest.mark.parametrize(
    ("node", "publication", "url"),
    [
        ({"uniqueSlug": SLUG}, NETFLIX, f"https://netflixtechblog.com/{SLUG}"),
        (
            {"mediumUrl": f"https://medium.com/netflix-techblog/{SLUG}?source=rss"},
            NETFLIX,
            f"https://netflixtechblog.com/{SLUG}",
        ),
        (
            {"mediumUrl": f"https://netflixtechblog.com/{SLUG}"},
            ON_MEDIUM,
            f"https://medium.com/netflix-techblog/{SLUG}",
        ),
        (
            {"mediumUrl": f"https://medium.com/@jdoe/{SLUG}?source=x"},
            None,
            f"https://medium.com/@jdoe/{SLUG}",
        ),
        ({"mediumUrl": f"https://jdoe.medium.com/{SLUG}"}, None, f"https://jdoe.medium.com/{SLUG}"),
        # A mediumUrl that names another post is never rebased onto the publication.
        (
            {"mediumUrl": "https://medium.com/x/other-0123456789ab"},
            NETFLIX,
            "https://medium.com/x/other-0123456789ab",
        ),
    ],
)
def test_the_canonical_url_is_built_one_way(node, publication, url):
    assert post_url({"id": "3f1c0a9d5b2e", **node}, publication) == url


def test_the_subtitle_of_both_eras():
    current = {'extendedPreviewContent({"isHomepage":true})': {"subtitle": "Now"}}
    old = {
        'extendedPreviewContent({"truncationConfig":{}})': {"bodyModel": {}},
        "previewContent": {"subtitle": "Then"},
    }
    assert (subtitle(current), subtitle(old), subtitle({**old, **current})) == (
        "Now",
        "Then",
        "Now",
    )
