"""The local Medium site emits only the keys real Medium pages and GraphQL answers use."""

from __future__ import annotations

import html
import http.client
import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive_spider.testing.medium_fleet import MediumFleet
from archive_spider.testing.medium_site import MediumSite

KEYS = json.loads((Path(__file__).parent / "fixtures" / "medium_keys.json").read_text("utf-8"))
APOLLO = re.compile(r"window\.__APOLLO_STATE__\s*=\s*")
AUTHOR_POST_FIELDS = {
    *("id", "url", "title", "subtitle", "published", "read_minutes", "image_id"),
    *("member_only", "account", "publication"),
}


@pytest.fixture(scope="module", params=["2025", "2021"])
def shaped_fleet(request):
    """Eight publications of one era, half on custom domains, two of them with an author."""
    fleet = MediumFleet.synthetic(8, posts=(12, 30), seed=5, era=request.param, authors=2)
    with fleet:
        yield fleet


def get(fleet, url):
    """(status, headers, body) of GET `url`, a fleet URL on either server."""
    parts = urlsplit(url)
    address = fleet.medium_address if parts.hostname == "medium.test" else fleet.custom_address
    connection = http.client.HTTPConnection(address, parts.port, timeout=5)
    try:
        connection.request("GET", parts.path or "/", headers={"Host": parts.netloc})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode()
    finally:
        connection.close()


def graphql(fleet, *operations):
    connection = http.client.HTTPConnection(fleet.medium_address, fleet.medium_port, timeout=5)
    try:
        body = json.dumps(list(operations))
        connection.request("POST", "/_/graphql", body, headers={"Host": "medium.test"})
        response = connection.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        connection.close()


def apollo_state(page):
    return json.JSONDecoder().raw_decode(page, APOLLO.search(page).end())[0]


def unknown_keys(value, where, seen):
    """Keys inside `value` no real page uses: an object with a __typename is checked against
    that type's keys, one without against the GraphQL fields. `seen` counts the types met."""
    if isinstance(value, list):
        return [key for item in value for key in unknown_keys(item, where, seen)]
    if not isinstance(value, dict) or set(value) == {"__ref"}:
        return []
    typename = value.get("__typename")
    seen[typename] += 1
    allowed = KEYS["types"].get(typename, []) if typename else KEYS["graphql_fields"]
    problems = []
    for key, item in value.items():
        name = key.split("(", 1)[0]
        if name not in allowed:
            problems.append(f"{where}: {typename or 'GraphQL object'} has {name!r}")
        problems += unknown_keys(item, f"{where}.{name}", seen)
    return problems


def state_problems(state, seen):
    problems = [
        f"ROOT_QUERY has {key!r}"
        for key in state["ROOT_QUERY"]
        if key.split("(")[0] not in KEYS["ROOT_QUERY"]
    ]
    for key, node in state.items():
        if key != "ROOT_QUERY":
            assert key.split(":", 1)[0] == node["__typename"], key
            problems += unknown_keys(node, key, seen)
    return problems


def pages_of(fleet):
    """Every page with an Apollo state: each site's homepage and each author's profile."""
    urls = [fleet.url(site) for site in fleet.sites]
    return urls + [fleet.author_url(author) for author in fleet.authors]


def canonical(post, state):
    """Where the crawler files a post node: on its collection's custom domain, under its
    collection's slug on medium.com, or at its mediumUrl (a personal post)."""
    segment = urlsplit(post["mediumUrl"]).path.rstrip("/").rsplit("/", 1)[-1]
    if post["collection"] is None:
        return post["mediumUrl"].split("?")[0]
    collection = state[post["collection"]["__ref"]]
    if collection["domain"]:
        return f"https://{collection['domain']}/{segment}"
    return f"https://medium.com/{collection['slug']}/{segment}"


# Every key ---------------------------------------------------------------------------------


def test_the_inventory_cites_its_sources():
    assert "medium-real-shapes.md" in KEYS["about"]
    assert "medium-apollo-keys-2021.json" in KEYS["about"]
    assert all(source.startswith("medium-site.md §") for source in KEYS["sources"].values())
    added = {name.split(".")[0] for name in KEYS["sources"]} - {"graphql_fields"}
    assert added == {"Post", "Publication", "PublicationPage", "PublicationPostsSection"}
    assert "customDomain" not in KEYS["types"]["Collection"] and "PageParams" not in KEYS["types"]


def test_every_apollo_state_uses_only_real_keys(shaped_fleet):
    seen = Counter()
    problems = []
    for url in pages_of(shaped_fleet):
        status, _, page = get(shaped_fleet, url)
        assert status == 200, url
        problems += [f"{url}: {problem}" for problem in state_problems(apollo_state(page), seen)]
    assert problems == []
    common = {"Collection", "CustomDomainState", "CustomDomain", "User", "ImageMetadata", "Post"}
    full = {"PreviewContent", "RichText", "Section", "Paragraph", "PostConnection", "Paging"}
    assert common | full <= set(seen)  # profile pages have full posts in both eras
    if shaped_fleet.sites[0].era == "2025":
        assert {"PublicationPage", "PublicationPostsSection"} <= set(seen)


def test_every_graphql_answer_uses_only_real_keys(shaped_fleet):
    seen = Counter()
    answers = []
    for site in shaped_fleet.sites:
        ref = {"slug": site.slug, "domain": site.domain}
        variables = {"ref": ref, "first": 7, "after": ""}
        while True:
            operation = {"operationName": "PublicationContentDataQuery", "variables": variables}
            answer = graphql(shaped_fleet, operation)[0]
            answers.append(answer)
            info = answer["data"]["publication"]["publicationPostsConnection"]["pageInfo"]
            if not info["hasNextPage"]:
                break
            variables = {**variables, "after": info["endCursor"]}
        paging = {"limit": 6}
        while paging:
            operation = {
                "operationName": "PublicationHomepageQuery",
                "variables": {"domainOrSlug": site.domain or site.slug, "paging": paging},
            }
            answer = graphql(shaped_fleet, operation)[0]
            answers.append(answer)
            paging = answer["data"]["collection"]["homepagePostsConnection"]["pagingInfo"]["next"]
        by_id = [{"operationName": "PostByIdQuery", "variables": {"id": p.id}} for p in site.posts]
        answers += graphql(shaped_fleet, *by_id[:25])
    problems = []
    for index, answer in enumerate(answers):
        assert set(answer) == {"data"}
        problems += unknown_keys(answer["data"], f"answer {index}", seen)
    assert problems == []
    assert {"Publication", "Post", "Collection", "User", "Tag", "PostConnection"} <= set(seen)
    assert seen[None] > 0  # edges, pageInfo and paging, which carry no __typename


# Eras ---------------------------------------------------------------------------------------


def test_2021_homepages_have_no_post_preview_cards_and_full_posts():
    for domain in ("netflixtechblog.com", None):
        site = MediumSite(posts=40, seed=9, era="2021", domain=domain)
        page = site.answer(
            "GET", site.publication.prefix or "/", b"", "localhost:80"
        ).reply.body.decode()
        assert 'data-testid="post-preview"' not in page and "<article" not in page
        state = apollo_state(page)
        collection = state[f"Collection:{site.collection_id}"]
        assert collection["domain"] == domain
        assert ("customDomainState" in collection) == (domain is not None)
        key = 'homepagePostsConnection({"paging":{"limit":10}})'
        listed = [state[ref["__ref"]] for ref in collection[key]["posts"]]
        assert collection[key]["pagingInfo"]["next"]["limit"] == 10
        pinned = [post.id for post in sorted(site.posts, key=lambda p: -p.pinned_at)]
        assert listed[0]["id"] == pinned[0] and listed[0]["pinnedAt"] > 0
        titles = [html.unescape(t) for t in re.findall(r"<h3[^>]*>([^<]*)</h3>", page)]
        assert titles == [node["title"] for node in listed]
        expected = {post["id"]: post for post in site.expected_posts()}
        for node in listed:
            assert "uniqueSlug" not in node
            assert node["collection"] == {"__ref": f"Collection:{site.collection_id}"}
            assert canonical(node, state) == expected[node["id"]]["url"]
            assert node["previewContent"]["subtitle"] == (expected[node["id"]]["subtitle"] or "")
            extended = next(v for k, v in node.items() if k.startswith("extendedPreviewContent("))
            assert "subtitle" not in extended and extended["bodyModel"]["__typename"] == "RichText"
            image = expected[node["id"]]["image_id"]
            assert node["previewImage"] == {"__ref": f"ImageMetadata:{image or ''}"}
        assert {"__ref": "ImageMetadata:"} in [node["previewImage"] for node in listed]
        hosts = {urlsplit(node["mediumUrl"]).hostname for node in listed}
        assert hosts == ({"medium.com", domain} if domain else {"medium.com"})
        roots = [key.split("(")[0] for key in state["ROOT_QUERY"] if "(" in key]
        assert roots == ["collectionByDomainOrSlug", "collection"]


def test_2025_homepages_have_cards_and_stub_posts():
    site = MediumSite(posts=20, seed=2)
    page = site.answer("GET", "/", b"", "localhost:80").reply.body.decode()
    assert page.count('data-testid="post-preview"') == 10
    state = apollo_state(page)
    posts = [node for key, node in state.items() if key.startswith("Post:")]
    assert posts and all(set(node) == {"__typename", "id"} for node in posts)
    assert state["PublicationPage:homepage"]["sections"]


# medium.com -------------------------------------------------------------------------------


def test_medium_com_redirects_a_custom_domain_publication(shaped_fleet):
    site = next(site for site in shaped_fleet.sites if site.domain)
    home = f"http://{site.domain}:{shaped_fleet.custom_port}/"
    status, headers, _ = get(shaped_fleet, shaped_fleet.medium_url(site))
    assert (status, headers["Location"]) == (301, home)
    post = site.posts[0]
    status, headers, _ = get(shaped_fleet, f"{shaped_fleet.medium_url(site)}/{post.unique_slug}")
    assert (status, headers["Location"]) == (301, home + post.unique_slug)
    shaped_fleet.redirect_offsite.add(site.slug)
    try:
        status, headers, _ = get(shaped_fleet, shaped_fleet.medium_url(site))
    finally:
        shaped_fleet.redirect_offsite.discard(site.slug)
    assert (status, headers["Location"]) == (301, "http://elsewhere.invalid/")
    assert get(shaped_fleet, home)[0] == 200


def test_the_author_page_mixes_personal_and_publication_posts(shaped_fleet):
    author = shaped_fleet.authors[0]
    status, _, page = get(shaped_fleet, shaped_fleet.author_url(author))
    assert status == 200 and 'data-testid="post-preview"' not in page
    state = apollo_state(page)
    roots = sorted(key.split("(")[0] for key in state["ROOT_QUERY"] if "(" in key)
    assert roots == ["user", "userResult"]
    user = state[f"User:{author.user_id}"]
    key = next(key for key in user if key.startswith("homepagePostsConnection("))
    nodes = [state[ref["__ref"]] for ref in user[key]["posts"]]
    expected = author.expected_posts()
    assert [node["id"] for node in nodes] == [post["id"] for post in expected]
    assert [canonical(node, state) for node in nodes] == [post["url"] for post in expected]
    personal = [node for node in nodes if node["collection"] is None]
    assert personal and len(personal) < len(nodes)
    assert all(
        node["mediumUrl"].startswith(f"https://medium.com/@{author.username}/") for node in personal
    )
    publications = {post["publication"] for post in expected} - {None}
    assert publications <= {site.collection_id for site in author.sites}
    assert {f"Collection:{pub}" for pub in publications} == {
        key for key in state if key.startswith("Collection:")
    }
    assert {post["account"] for post in expected} == {author.name}
    assert all(set(post) == AUTHOR_POST_FIELDS for post in expected)
