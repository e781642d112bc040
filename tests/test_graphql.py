"""Tests for the GraphQL request builders and answer parsers."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive_spider.bylines import post_authors
from archive_spider.items import Post
from archive_spider.sources.graphql import (
    HOMEPAGE_POSTS,
    POST_BY_ID,
    PUBLICATION_POSTS,
    ListingPage,
    PostBatch,
    SchemaDrift,
    headers,
    homepage_posts_body,
    parse_homepage_posts,
    parse_posts_by_id,
    parse_publication_posts,
    posts_by_id_body,
    publication_posts_body,
)

FIXTURES = Path(__file__).parent / "fixtures"
SEEN_AT = "2024-10-27T08:00:00Z"
ACCOUNT = "Netflix Technology Blog"


def load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def page1() -> ListingPage:
    return parse_publication_posts(load("graphql_page1.json"), seen_at=SEEN_AT)


def first_node() -> dict:
    return load("graphql_page1.json")[0]["data"]["publication"]["publicationPostsConnection"][
        "edges"
    ][0]["node"]


def listing(*nodes) -> list:
    """A one-page PublicationContentDataQuery answer holding `nodes`."""
    edges = [{"listedAt": 1, "node": node} for node in nodes]
    connection = {"edges": edges, "pageInfo": {"endCursor": "c", "hasNextPage": False}}
    return [{"data": {"publication": {"id": "p", "publicationPostsConnection": connection}}}]


def node_post(**changes) -> Post | None:
    """The Post parsed from the first fixture node with `changes` applied (None = key removed)."""
    node = first_node()
    for key, value in changes.items():
        if value is None:
            node.pop(key, None)
        else:
            node[key] = value
    posts = parse_publication_posts(listing(node), seen_at=SEEN_AT).posts
    return posts[0] if posts else None


# --- parsing the fixtures ---------------------------------------------------------------------


def test_page1_posts_and_cursor():
    page = page1()
    assert [p.id for p in page.posts] == ["4e3f2180c4c7", "3eaffdf3263c", "f48060ff1ee7"]
    assert page.next_cursor == (
        '{"feed_sort_listed_at##listed_at":1727792100000,'
        '"post_id":"f48060ff1ee7","publication_id":"2615bd06b42e"}'
    )
    assert page.rejected == []


def test_page1_first_post_exact():
    subtitle = "By Anna Lopez and Ravi Menon"
    assert page1().posts[0] == Post(
        id="4e3f2180c4c7",
        url="https://netflixtechblog.com/scaling-media-encoding-with-cosmos-workflows-4e3f2180c4c7",
        title="Scaling Media Encoding with Cosmos Workflows",
        subtitle=subtitle,
        authors=post_authors(subtitle, ACCOUNT),
        account=ACCOUNT,
        published="2024-10-25T16:41:52Z",
        published_text=None,
        published_precision="exact",
        read_minutes=10,
        image_id="1*Xk2cQn4bVv0s7pGz1mJ8Ew.png",
        image_url="https://miro.medium.com/v2/resize:fit:1400/1*Xk2cQn4bVv0s7pGz1mJ8Ew.png",
        member_only=False,
        publication="2615bd06b42e",
        source="graphql",
        seen_at=SEEN_AT,
    )


def test_page1_pinned_post_with_empty_subtitle():
    post = page1().posts[1]
    assert post.title == "Netflix\u2019s Data Gateway: Two Years In"
    assert post.subtitle is None
    assert post.authors == post_authors(None, ACCOUNT)
    assert post.read_minutes == 7
    assert post.published == "2024-10-08T16:00:00Z"
    assert post.image_id == "0*qH5xW9bYzKcL2aTn"


def test_page1_locked_post():
    post = page1().posts[2]
    assert post.member_only is True
    assert post.read_minutes == 12
    assert post.image_id is None and post.image_url is None
    # mediumUrl carries ?source=… on medium.com; the URL is built from the collection domain.
    assert post.url == (
        "https://netflixtechblog.com/rebuilding-the-title-launch-observability-stack-f48060ff1ee7"
    )


def test_page2_is_last_page():
    page = parse_publication_posts(load("graphql_page2.json"), seen_at=SEEN_AT)
    assert page.next_cursor is None
    assert [(p.id, p.published, p.read_minutes) for p in page.posts] == [
        ("78f372faa79c", "2024-09-18T12:10:00Z", 5),
        ("784ffcf24a90", "2024-09-03T16:00:00Z", 12),
    ]
    assert page.posts[1].url == (
        "https://netflixtechblog.com/lessons-from-migrating-playback-licensing-to-grpc-784ffcf24a90"
    )


def test_no_query_string_in_any_url():
    pages = [
        parse_publication_posts(load("graphql_page1.json"), seen_at=SEEN_AT),
        parse_publication_posts(load("graphql_page2.json"), seen_at=SEEN_AT),
        parse_homepage_posts(load("graphql_homepage.json"), seen_at=SEEN_AT),
    ]
    urls = [u for page in pages for p in page.posts for u in (p.url, p.image_url) if u]
    assert len(urls) == 14
    assert not [u for u in urls if "?" in u or "#" in u]


def test_unbatched_dict_answer_is_accepted():
    assert parse_publication_posts(load("graphql_page1.json")[0], seen_at=SEEN_AT) == page1()


def test_homepage_keeps_pinned_post_first():
    page = parse_homepage_posts(load("graphql_homepage.json"), seen_at=SEEN_AT)
    assert [p.id for p in page.posts] == ["3eaffdf3263c", "4e3f2180c4c7", "f48060ff1ee7"]
    assert page.next_cursor == "L1727792100000"
    assert page.posts[1] == page1().posts[0]


def test_homepage_last_page_has_no_cursor():
    payload = load("graphql_homepage.json")
    payload[0]["data"]["collection"]["homepagePostsConnection"]["pagingInfo"]["next"] = None
    assert parse_homepage_posts(payload, seen_at=SEEN_AT).next_cursor is None


def test_posts_by_id_skips_unknown_ids():
    payload = [{"data": {"post": first_node()}}, {"data": {"post": None}}]
    batch = parse_posts_by_id(payload, seen_at=SEEN_AT)
    assert batch == PostBatch(posts=[page1().posts[0]], rejected=[])
    assert parse_posts_by_id({"data": {"post": None}}, seen_at=SEEN_AT).posts == []


# --- node fields ------------------------------------------------------------------------------


def test_url_from_slug_when_collection_has_no_domain():
    collection = {"id": "2615bd06b42e", "slug": "netflix-techblog", "domain": None}
    assert node_post(collection=collection).url == (
        "https://medium.com/netflix-techblog/scaling-media-encoding-with-cosmos-workflows-4e3f2180c4c7"
    )


def test_url_from_medium_url_without_collection():
    post = node_post(
        collection=None, mediumUrl="https://medium.com/@someone/a-post-4e3f2180c4c7?s=1"
    )
    assert post.url == "https://medium.com/@someone/a-post-4e3f2180c4c7"


@pytest.mark.parametrize(
    ("reading_time", "minutes"),
    [
        (9.3, 10),
        (1, 1),
        (0.2, 1),
        (0, 0),
        (1000, 1000),
        (-1, None),
        (1000.5, None),
        ("9", None),
        (True, None),
        (None, None),
        (math.inf, None),
        (math.nan, None),
    ],
)
def test_read_minutes(reading_time, minutes):
    assert node_post(readingTime=reading_time).read_minutes == minutes


@pytest.mark.parametrize(
    ("locked", "visibility", "member_only"),
    [(None, "LOCKED", True), (True, None, True), (False, "PUBLIC", False), (None, None, None)],
)
def test_member_only(locked, visibility, member_only):
    assert node_post(isLocked=locked, visibility=visibility).member_only is member_only


@pytest.mark.parametrize("value", [None, "1729874512345", True, -5, 10**20])
def test_unusable_publication_time(value):
    post = node_post(firstPublishedAt=value)
    assert (post.published, post.published_precision) == (None, None)


def test_invalid_nodes_are_rejected_with_reasons():
    good = first_node()
    no_id = {k: v for k, v in good.items() if k != "id"}
    upper = {**good, "id": "4E3F2180C4C7"}
    no_url = {**good, "uniqueSlug": None, "mediumUrl": None}
    bad_url = {**good, "collection": None, "mediumUrl": "javascript:alert(1)"}
    payload = listing(good, no_id, upper, "oops", no_url, bad_url)
    payload[0]["data"]["publication"]["publicationPostsConnection"]["edges"].append(None)
    page = parse_publication_posts(payload, seen_at=SEEN_AT)
    assert [p.id for p in page.posts] == ["4e3f2180c4c7"]
    assert page.rejected == [
        "edge 1: id None is not 8-12 hex characters",
        "edge 2: id '4E3F2180C4C7' is not 8-12 hex characters",
        "edge 3: node is not an object",
        "edge 4: post 4e3f2180c4c7 has no usable uniqueSlug or mediumUrl",
        "edge 5: post 4e3f2180c4c7 has no usable uniqueSlug or mediumUrl",
        "edge 6: node is not an object",
    ]


def test_eleven_character_ids_are_valid():
    assert node_post(id="c35b40c499e").id == "c35b40c499e"


# --- schema drift -----------------------------------------------------------------------------


def drift(parse, payload) -> SchemaDrift:
    with pytest.raises(SchemaDrift) as caught:
        parse(payload, seen_at=SEEN_AT)
    assert "\n" not in str(caught.value)
    return caught.value


def test_errors_answer():
    error = drift(parse_publication_posts, load("graphql_errors.json"))
    assert error.operation == PUBLICATION_POSTS
    assert str(error) == (
        "Medium's GraphQL answer to PublicationContentDataQuery has errors: Cannot query field "
        '"publicationPostsConnection" on type "Publication". Did you mean "postsConnection"?'
    )


def test_null_publication():
    payload = [{"data": {"publication": None}}]
    error = drift(parse_publication_posts, payload)
    assert str(error).startswith(
        "Medium's GraphQL answer to PublicationContentDataQuery has no "
        "data.publication.publicationPostsConnection"
    )
    assert str(error).endswith("the API changed?")


def test_missing_page_info():
    payload = load("graphql_page1.json")
    del payload[0]["data"]["publication"]["publicationPostsConnection"]["pageInfo"]
    assert "pageInfo" in str(drift(parse_publication_posts, payload))


def test_has_next_page_without_cursor():
    payload = load("graphql_page1.json")
    page_info = payload[0]["data"]["publication"]["publicationPostsConnection"]["pageInfo"]
    page_info["endCursor"] = None
    assert "endCursor" in str(drift(parse_publication_posts, payload))


@pytest.mark.parametrize("payload", ["<html>Just a moment...</html>", 42, None, [], [[]], [{}]])
def test_not_an_answer(payload):
    for parse, op in [
        (parse_publication_posts, PUBLICATION_POSTS),
        (parse_homepage_posts, HOMEPAGE_POSTS),
        (parse_posts_by_id, POST_BY_ID),
    ]:
        if payload == [] and parse is parse_posts_by_id:
            continue  # an empty batch answers no operation
        assert drift(parse, payload).operation == op


def test_homepage_drift():
    assert drift(parse_homepage_posts, [{"data": {"collection": None}}]).operation == HOMEPAGE_POSTS
    payload = load("graphql_homepage.json")
    del payload[0]["data"]["collection"]["homepagePostsConnection"]["pagingInfo"]
    assert "pagingInfo" in str(drift(parse_homepage_posts, payload))
    assert "errors" in str(drift(parse_homepage_posts, load("graphql_errors.json")))


def test_posts_by_id_drift():
    assert "data.post" in str(drift(parse_posts_by_id, [{"data": {}}]))
    error = drift(parse_posts_by_id, [{"data": {"post": None}}, {"errors": [{"message": "x"}]}])
    assert error.operation == POST_BY_ID


# --- request bodies and headers ---------------------------------------------------------------


def test_publication_posts_body():
    body = publication_posts_body(slug=None, domain="netflixtechblog.com", first=25, after="")
    assert len(body) == 1
    assert body[0]["operationName"] == "PublicationContentDataQuery"
    assert body[0]["variables"] == {
        "ref": {"slug": None, "domain": "netflixtechblog.com"},
        "first": 25,
        "after": "",
        "orderBy": {"publishedAt": "DESC"},
        "filter": {"published": True},
    }
    query = body[0]["query"]
    assert query.startswith("query PublicationContentDataQuery($ref: PublicationRef!, ")
    assert "publicationByRef(ref: $ref)" in query
    assert "pageInfo { endCursor hasNextPage }" in query
    assert "fragment PostFields on Post { id title uniqueSlug mediumUrl" in query
    assert "collection { id slug domain }" in query
    assert json.loads(json.dumps(body)) == body


def test_publication_posts_body_by_slug_with_cursor():
    cursor = '{"post_id":"f48060ff1ee7"}'
    body = publication_posts_body(slug="netflix-techblog", domain=None, first=100, after=cursor)
    assert body[0]["variables"]["ref"] == {"slug": "netflix-techblog", "domain": None}
    assert body[0]["variables"]["after"] == cursor


@pytest.mark.parametrize("first", [0, 101])
def test_publication_posts_body_limits(first):
    with pytest.raises(ValueError):
        publication_posts_body(slug=None, domain="netflixtechblog.com", first=first)


def test_homepage_posts_body():
    first = homepage_posts_body(domain_or_slug="netflixtechblog.com", limit=25)
    assert first[0]["operationName"] == "PublicationHomepageQuery"
    assert first[0]["variables"] == {"domainOrSlug": "netflixtechblog.com", "paging": {"limit": 25}}
    assert "collectionByDomainOrSlug(domainOrSlug: $domainOrSlug)" in first[0]["query"]
    nxt = homepage_posts_body(domain_or_slug="netflix-techblog", limit=25, from_="L1727792100000")
    assert nxt[0]["variables"]["paging"] == {"limit": 25, "from": "L1727792100000"}


def test_posts_by_id_body():
    ids = [f"{n:012x}" for n in range(25)]
    body = posts_by_id_body(ids)
    assert [op["variables"] for op in body] == [{"id": i} for i in ids]
    assert {op["operationName"] for op in body} == {"PostByIdQuery"}
    assert body[0]["query"].startswith("query PostByIdQuery($id: ID!) { post(id: $id) {")


@pytest.mark.parametrize(
    "ids", [[f"{n:012x}" for n in range(26)], [], ["not-an-id"]], ids=["26", "empty", "bad"]
)
def test_posts_by_id_body_refuses(ids):
    with pytest.raises(ValueError):
        posts_by_id_body(ids)


def test_headers():
    assert headers("https://netflixtechblog.com/", "PublicationContentDataQuery") == {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "Origin": "https://netflixtechblog.com",
        "Referer": "https://netflixtechblog.com/",
        "graphql-operation": "PublicationContentDataQuery",
        "apollographql-client-name": "lite",
    }


# --- property tests ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def check_post(post: Post) -> None:
    assert re.fullmatch(r"[0-9a-f]{8,12}", post.id)
    assert re.match(r"^https?://[^/?#\s]+", post.url)
    assert "?" not in post.url and "#" not in post.url
    assert not any(c.isspace() for c in post.url)
    assert post.read_minutes is None or 0 <= post.read_minutes <= 1000
    assert (post.published is None) == (post.published_precision is None)
    assert post.published is None or ISO.match(post.published)
    assert post.image_url is None or "?" not in post.image_url
    assert post.member_only in (None, True, False)
    assert all(isinstance(a, str) for a in post.authors)
    assert (post.source, post.seen_at) == ("graphql", SEEN_AT)


def parse_all(payload) -> None:
    for parse in (parse_publication_posts, parse_homepage_posts, parse_posts_by_id):
        try:
            result = parse(payload, seen_at=SEEN_AT)
        except SchemaDrift:
            continue
        for post in result.posts:
            check_post(post)


@settings(max_examples=300)
@given(JSON)
def test_arbitrary_json_raises_only_schema_drift(payload):
    parse_all(payload)


def field_values(*plausible):
    return st.one_of(JSON, *(st.just(v) for v in plausible))


NODE = st.fixed_dictionaries(
    {},
    optional={
        "id": field_values("4e3f2180c4c7", "c35b40c499e"),
        "title": field_values("A title"),
        "uniqueSlug": field_values("a-post-4e3f2180c4c7", "a/b?c"),
        "mediumUrl": field_values("https://medium.com/x/a-4e3f2180c4c7?source=rss", "http://[::1"),
        "firstPublishedAt": field_values(1729874512345, 1e300, -1),
        "readingTime": field_values(9.3, -2.5, 1e308),
        "isLocked": field_values(True, False),
        "visibility": field_values("LOCKED", "PUBLIC"),
        "previewImage": field_values({"id": "1*x.png"}, {"id": "a b?c"}),
        "extendedPreviewContent": field_values({"subtitle": "By A and B"}, {"subtitle": ""}),
        "creator": field_values({"name": "Netflix Technology Blog"}, {"name": 3}),
        "collection": field_values(
            {"domain": "netflixtechblog.com", "slug": "netflix-techblog"},
            {"domain": "evil.com/x?", "slug": "a b"},
        ),
    },
)


@settings(max_examples=300)
@given(st.lists(NODE | JSON, max_size=5), st.booleans(), JSON)
def test_arbitrary_nodes_give_valid_posts(nodes, has_next, cursor):
    publication = listing(*nodes)
    page_info = publication[0]["data"]["publication"]["publicationPostsConnection"]["pageInfo"]
    page_info.update(hasNextPage=has_next, endCursor=cursor)
    homepage = [
        {
            "data": {
                "collection": {
                    "homepagePostsConnection": {
                        "posts": copy.deepcopy(nodes),
                        "pagingInfo": {"next": {"from": cursor} if has_next else None},
                    }
                }
            }
        }
    ]
    by_id = [{"data": {"post": node}} for node in nodes]
    for payload in (publication, homepage, by_id):
        parse_all(payload)
    try:
        page = parse_publication_posts(publication, seen_at=SEEN_AT)
    except SchemaDrift:
        assert has_next and not (isinstance(cursor, str) and cursor)
    else:
        assert len(page.posts) + len(page.rejected) == len(nodes)


def test_authors_come_from_bylines(monkeypatch):
    calls = []
    monkeypatch.setattr(
        "archive_spider.sources.post_nodes.post_authors",
        lambda subtitle, account: calls.append((subtitle, account)) or ["X"],
    )
    assert [p.authors for p in page1().posts] == [["X"]] * 3
    assert calls == [
        ("By Anna Lopez and Ravi Menon", ACCOUNT),
        (None, ACCOUNT),
        ("How we trace a launch from the catalog to the device", ACCOUNT),
    ]
