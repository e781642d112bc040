"""The local Medium-like site, exercised over real HTTP with plain urllib."""

from __future__ import annotations

import base64
import http.client
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from archive_spider.testing.medium_site import MediumSite, card_date

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
DC = "{http://purl.org/dc/elements/1.1/}"
APOLLO = re.compile(r"window\.__APOLLO_STATE__\s*=\s*")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# No proxy from the environment, and redirects are answers to look at, not to follow.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)


def request(site, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if body is not None else {}
    return urllib.request.Request(site.origin + path, data=data, headers=headers)


def fetch(site, path, body=None, timeout=5.0):
    """(status, headers, body) of GET `path`, or of a POST of `body` as JSON."""
    try:
        with OPENER.open(request(site, path, body), timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def graphql(site, *operations):
    status, _, body = fetch(site, "/_/graphql", list(operations))
    assert status == 200, body
    return json.loads(body)


def publication_posts(first, after="", slug=None, domain="netflixtechblog.com"):
    return {
        "operationName": "PublicationContentDataQuery",
        "variables": {
            "ref": {"slug": slug, "domain": domain},
            "first": first,
            "after": after,
            "orderBy": {"publishedAt": "DESC"},
            "filter": {"published": True},
        },
        "query": "query PublicationContentDataQuery { ... }",
    }


def homepage_posts(limit, start=None, domain_or_slug="netflixtechblog.com"):
    paging = {"limit": limit} if start is None else {"limit": limit, "from": start}
    return {
        "operationName": "PublicationHomepageQuery",
        "variables": {"domainOrSlug": domain_or_slug, "paging": paging},
        "query": "query PublicationHomepageQuery { ... }",
    }


def post_by_id(post_id):
    return {"operationName": "PostByIdQuery", "variables": {"id": post_id}, "query": "..."}


def connection(answer):
    return answer["data"]["publication"]["publicationPostsConnection"]


def walk_listing(site, first):
    """Every page of PublicationContentDataQuery: the ids in order, and the page sizes."""
    ids, sizes, after = [], [], ""
    while True:
        page = connection(graphql(site, publication_posts(first, after))[0])
        ids += [edge["node"]["id"] for edge in page["edges"]]
        sizes.append(len(page["edges"]))
        if not page["pageInfo"]["hasNextPage"]:
            return ids, sizes
        after = page["pageInfo"]["endCursor"]


def expected_ids(site):
    return [post["id"] for post in site.expected_posts()]


def answers_normally(site):
    status, _, body = fetch(site, "/_/graphql", [publication_posts(5)])
    return status == 200 and len(connection(json.loads(body)[0])["edges"]) == 5


# The data ---------------------------------------------------------------------------------


def test_posts_are_deterministic_and_shaped_like_medium_posts():
    site = MediumSite(posts=200, seed=3)
    assert site.expected_posts() == MediumSite(posts=200, seed=3).expected_posts()
    assert expected_ids(site) != expected_ids(MediumSite(posts=200, seed=4))
    posts = site.expected_posts()
    ids = [p["id"] for p in posts]
    assert len(set(ids)) == 200
    assert all(re.fullmatch(r"[0-9a-f]{12}", i) for i in ids)
    published = [p["published"] for p in posts]
    assert published == sorted(published, reverse=True)
    assert len(set(published)) == 200
    assert published[-1] < "2020" and published[0] > "2025-11"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", p) for p in published)
    assert all(
        p["url"] == f"https://netflixtechblog.com/{urlsplit(p['url']).path[1:]}" for p in posts
    )
    assert all(p["url"].endswith("-" + p["id"]) for p in posts)
    assert None in {p["subtitle"] for p in posts} and "" not in {p["subtitle"] for p in posts}
    assert any(p["subtitle"] and p["subtitle"].startswith("By ") for p in posts)
    assert any("\u200a\u2014\u200a" in p["title"] for p in posts)
    assert any("\u201c" in p["title"] or "\u2019" in p["title"] for p in posts)
    assert 20 < sum(p["member_only"] for p in posts) < 60
    images = {p["image_id"][:2] for p in posts if p["image_id"]}
    assert images == {"1*", "0*"}
    assert {p["account"] for p in posts} == {"Netflix Technology Blog"}
    assert 1 <= sum(1 for post in site.posts if post.pinned_at) <= 2


def test_an_unknown_era_is_refused():
    with pytest.raises(ValueError, match="era"):
        MediumSite(era="2019")


@pytest.mark.parametrize(
    ("published", "text"),
    [
        (datetime(2025, 11, 6, 7, 0, tzinfo=timezone.utc), "5h ago"),
        (datetime(2025, 11, 4, 8, 0, tzinfo=timezone.utc), "2d ago"),
        (datetime(2025, 10, 17, 9, 0, tzinfo=timezone.utc), "Oct 17"),
        (datetime(2018, 11, 26, 9, 0, tzinfo=timezone.utc), "Nov 26, 2018"),
    ],
)
def test_card_dates_take_medium_forms(published, text):
    now = datetime(2025, 11, 6, 12, tzinfo=timezone.utc)
    assert card_date(int(published.timestamp() * 1000), now) == text


# Pages ------------------------------------------------------------------------------------


def test_the_homepage_has_ten_cards_and_a_strict_json_apollo_state(medium_site):
    status, headers, body = fetch(medium_site, "/")
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert page.count('data-testid="post-preview"') == 10
    first_ten = medium_site.expected_posts()[:10]
    hrefs = re.findall(r'<div role="link" tabindex="0" data-href="([^"]+)"', page)
    assert hrefs == [post["url"] for post in first_ten]
    assert page.count("2d ago") == 2  # the newest card, its footer rendered twice
    locked = sum(post["member_only"] for post in first_ten)
    assert page.count('aria-label="Member-only story"') == 2 * locked
    assert f'window.__GRAPHQL_URI__ = "{medium_site.origin}/_/graphql"' in page
    assert "?source=collection_home_page----2615bd06b42e-----9-----" in page

    state, _ = json.JSONDecoder().raw_decode(page, APOLLO.search(page).end())
    collection = state["Collection:2615bd06b42e"]
    assert collection["__typename"] == "Collection"
    assert collection["slug"] == "netflix-techblog"
    assert collection["domain"] == "netflixtechblog.com"
    assert collection["customDomainState"]["live"]["domain"] == "netflixtechblog.com"
    root_ref = state["ROOT_QUERY"][
        'collectionByDomainOrSlug({"domainOrSlug":"netflixtechblog.com"})'
    ]
    assert root_ref == {"__ref": "Collection:2615bd06b42e"}
    assert state["User:c3aeaf49d8a4"]["name"] == "Netflix Technology Blog"
    stubs = {key: node for key, node in state.items() if key.startswith("Post:")}
    assert stubs == {f"Post:{p['id']}": {"__typename": "Post", "id": p["id"]} for p in first_ten}


def test_a_post_page_and_a_missing_page(medium_site):
    post = medium_site.expected_posts()[4]
    status, _, body = fetch(medium_site, urlsplit(post["url"]).path)
    assert status == 200 and post["title"] in body.decode()
    status, _, body = fetch(medium_site, "/no-such-page")
    assert status == 404 and "Out of nothing, something." in body.decode()


def test_robots_txt_disallows_like_medium_and_names_the_sitemap(medium_site):
    status, _, body = fetch(medium_site, "/robots.txt")
    text = body.decode()
    assert status == 200
    assert "User-Agent: *\n" in text and "Disallow: /m/\n" in text
    assert "Disallow: /*/*source=\n" in text
    assert f"Sitemap: {medium_site.origin}/sitemap/sitemap.xml" in text


def test_the_rss_feed_has_the_ten_newest_posts(medium_site):
    status, _, body = fetch(medium_site, "/feed")
    assert status == 200
    assert b"<title><![CDATA[" in body
    items = ElementTree.fromstring(body).findall("channel/item")
    newest = medium_site.expected_posts()[:10]
    assert len(items) == 10
    for item, post in zip(items, newest, strict=True):
        assert item.findtext("title") == post["title"]
        assert item.findtext("link") == post["url"] + "?source=rss----2615bd06b42e---4"
        assert item.find("guid").get("isPermaLink") == "false"
        assert item.findtext("guid") == f"https://medium.com/p/{post['id']}"
        assert item.findtext(f"{DC}creator") == "Netflix Technology Blog"
        assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT", item.findtext("pubDate"))
        assert item.findall("category")


def test_the_sitemap_children_cover_every_post_exactly_once(medium_site):
    medium_site.add_posts(3)  # a few hours apart: some day holds more than one post
    status, _, body = fetch(medium_site, "/sitemap/sitemap.xml")
    assert status == 200
    index = ElementTree.fromstring(body)
    children = [
        (child.findtext(f"{SITEMAP}loc"), child.findtext(f"{SITEMAP}lastmod"))
        for child in index.iterfind(f"{SITEMAP}sitemap")
    ]
    posts = {post.id: post for post in medium_site.posts}
    listed, tagged, sizes = [], [], []
    for loc, lastmod in children:
        assert loc.startswith(medium_site.origin + "/sitemap/")
        status, _, body = fetch(medium_site, urlsplit(loc).path)
        assert status == 200
        urls = [u.findtext(f"{SITEMAP}loc") for u in ElementTree.fromstring(body)]
        if loc.endswith("/sitemap/tags.xml"):
            tagged += urls
            continue
        day = re.fullmatch(r".*/sitemap/posts/(\d{4})/posts-(\1-\d\d-\d\d)\.xml", loc)[2]
        ids = [url.rsplit("-", 1)[1] for url in urls]
        assert all(posts[i].unique_slug in url for i, url in zip(ids, urls, strict=True))
        latest = max(posts[i].latest_published_at for i in ids)
        assert lastmod.startswith(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(latest / 1000)))
        assert {p["published"][:10] for p in medium_site.expected_posts() if p["id"] in ids} == {
            day
        }
        listed += urls
        sizes.append(len(urls))
    assert sorted(listed) == sorted(p["url"] for p in medium_site.expected_posts())
    assert max(sizes) > 1
    assert tagged and all(url.startswith("https://netflixtechblog.com/tagged/") for url in tagged)


# GraphQL ----------------------------------------------------------------------------------


def test_paging_by_seven_visits_every_post_once_newest_first(medium_site):
    ids, sizes = walk_listing(medium_site, 7)
    assert ids == expected_ids(medium_site)
    assert sizes == [7, 7, 7, 7, 2]
    page = connection(graphql(medium_site, publication_posts(7))[0])
    node = page["edges"][0]["node"]
    expected = medium_site.expected_posts()[0]
    assert node["uniqueSlug"] == urlsplit(expected["url"]).path[1:]
    assert node["mediumUrl"] == f"https://medium.com/netflix-techblog/{node['uniqueSlug']}"
    assert node["collection"] == {
        "__typename": "Collection",
        "id": "2615bd06b42e",
        "slug": "netflix-techblog",
        "domain": "netflixtechblog.com",
    }
    assert node["visibility"] == ("LOCKED" if node["isLocked"] else "PUBLIC")
    assert page["edges"][0]["listedAt"] == node["firstPublishedAt"]


def test_first_is_capped_at_100_and_pages_can_fall_short(make_medium_site):
    site = make_medium_site(posts=250)
    page = connection(graphql(site, publication_posts(500))[0])
    assert len(page["edges"]) == 100 and page["pageInfo"]["hasNextPage"]
    short = make_medium_site(posts=250, page_shortfall=2)
    ids, sizes = walk_listing(short, 100)
    assert sizes == [98, 98, 54]
    assert ids == expected_ids(short)


def test_unknown_cursors_and_other_publications(medium_site):
    cursor = connection(graphql(medium_site, publication_posts(3))[0])["pageInfo"]["endCursor"]
    position = json.loads(base64.urlsafe_b64decode(cursor))
    assert set(position) == {"feed_sort_listed_at##listed_at", "post_id", "publication_id"}
    forged = base64.urlsafe_b64encode(json.dumps({**position, "post_id": "0" * 12}).encode())
    for bad in ("not a cursor", forged.decode(), json.dumps(position)):
        answer = graphql(medium_site, publication_posts(3, bad))[0]
        assert answer == {"errors": [{"message": "invalid cursor"}]}
    by_slug = graphql(medium_site, publication_posts(3, slug="netflix-techblog", domain=None))
    assert len(connection(by_slug[0])["edges"]) == 3
    other = graphql(medium_site, publication_posts(3, domain="example.com"))
    assert other == [{"data": {"publication": None}}]


def test_the_homepage_operation_pages_through_everything_pins_first(make_medium_site):
    site = make_medium_site(posts=45)
    pinned = [post.id for post in sorted(site.posts, key=lambda p: -p.pinned_at) if post.pinned_at]
    seen, start = [], None
    while True:
        answer = graphql(site, homepage_posts(10, start))[0]
        posts = answer["data"]["collection"]["homepagePostsConnection"]
        seen += [node["id"] for node in posts["posts"]]
        following = posts["pagingInfo"]["next"]
        if following is None:
            break
        assert following["limit"] == 10 and following["from"][0] in "PL"
        start = following["from"]
    assert seen[: len(pinned)] == pinned
    assert seen[len(pinned) :] == [i for i in expected_ids(site) if i not in pinned]
    assert graphql(site, homepage_posts(5, domain_or_slug="nope")) == [
        {"data": {"collection": None}}
    ]
    assert "errors" in graphql(site, homepage_posts(5, "X12"))[0]


def test_posts_by_id_and_unknown_operations(medium_site):
    wanted = expected_ids(medium_site)[5:8]
    answers = graphql(medium_site, *map(post_by_id, [*wanted, "000000000000"]))
    assert [a["data"]["post"]["id"] for a in answers[:3]] == wanted
    assert answers[3] == {"data": {"post": None}}
    unknown = {"operationName": "ViewerQuery", "variables": {}, "query": "..."}
    assert graphql(medium_site, unknown) == [{"errors": [{"message": "unknown operation"}]}]
    status, _, _ = fetch(medium_site, "/_/graphql", [post_by_id(wanted[0])] * 26)
    assert status == 400


def test_new_posts_come_first_on_page_one(medium_site):
    before = expected_ids(medium_site)
    added = medium_site.add_posts(3)
    page = connection(graphql(medium_site, publication_posts(5))[0])
    ids = [edge["node"]["id"] for edge in page["edges"]]
    assert ids[:3] == [post.id for post in added]
    assert ids[3:] == before[:2]
    assert expected_ids(medium_site) == ids[:3] + before
    assert len(walk_listing(medium_site, 10)[0]) == 33


# Faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["503", "429"])
def test_error_statuses_then_normal_answers(medium_site, kind):
    medium_site.faults.rate = 1.0
    medium_site.faults.kinds = [kind]
    status, headers, _ = fetch(medium_site, "/_/graphql", [publication_posts(5)])
    assert status == int(kind)
    if kind == "429":
        assert headers["Retry-After"] == "1"
    assert fetch(medium_site, "/robots.txt")[0] == 200  # robots.txt is never faulted
    medium_site.faults.rate = 0.0
    assert answers_normally(medium_site)


def test_a_reset_is_a_connection_error(medium_site):
    medium_site.faults.rate = 1.0
    medium_site.faults.kinds = ["reset"]
    with pytest.raises((ConnectionError, urllib.error.URLError)) as caught:
        OPENER.open(request(medium_site, "/"), timeout=5)
    error = caught.value
    assert isinstance(getattr(error, "reason", error), ConnectionError)
    medium_site.faults.rate = 0.0
    assert answers_normally(medium_site)
    assert medium_site.requests[0].status == 0


def test_a_truncated_body_is_not_json(medium_site):
    medium_site.faults.rate = 1.0
    medium_site.faults.kinds = ["truncated"]
    with OPENER.open(request(medium_site, "/_/graphql", [publication_posts(20)]), timeout=5) as r:
        length = int(r.headers["Content-Length"])
        with pytest.raises(http.client.IncompleteRead) as caught:
            r.read()
    partial = caught.value.partial
    assert 0 < len(partial) < length
    with pytest.raises(json.JSONDecodeError):
        json.loads(partial)
    medium_site.faults.rate = 0.0
    assert answers_normally(medium_site)


def test_a_timeout_leaves_the_client_waiting(medium_site):
    medium_site.faults.rate = 1.0
    medium_site.faults.kinds = ["timeout"]
    medium_site.faults.timeout_seconds = 0.5
    with pytest.raises((TimeoutError, urllib.error.URLError)) as caught:
        OPENER.open(request(medium_site, "/"), timeout=0.1)
    error = caught.value
    assert isinstance(getattr(error, "reason", error), TimeoutError)
    medium_site.faults.rate = 0.0
    assert answers_normally(medium_site)


def test_random_faults_follow_the_rate_and_the_seed(make_medium_site):
    def statuses(site):
        site.faults.rate = 0.5
        site.faults.kinds = ["503", "429"]
        return [fetch(site, "/feed")[0] for _ in range(30)]

    first = statuses(make_medium_site(posts=5, seed=7))
    assert first == statuses(make_medium_site(posts=5, seed=7))
    assert {200, 503, 429} == set(first)


def test_the_cloudflare_challenge(medium_site):
    medium_site.faults.challenge = True
    for path in ("/", "/feed"):
        status, headers, body = fetch(medium_site, path)
        assert status == 403 and b"<title>Just a moment...</title>" in body
        assert headers["cf-mitigated"] == "challenge" and headers["Server"] == "cloudflare"
    status, _, body = fetch(medium_site, "/_/graphql", [publication_posts(5)])
    assert status == 403
    medium_site.faults.challenge = False
    assert answers_normally(medium_site)


def test_faults_reach_robots_txt_only_when_asked(medium_site):
    medium_site.faults.challenge = True
    assert fetch(medium_site, "/robots.txt")[0] == 200
    medium_site.faults.robots = True
    assert fetch(medium_site, "/robots.txt")[0] == 403


def test_schema_drift_breaks_both_listing_operations(medium_site):
    medium_site.faults.schema_drift = True
    primary, fallback, by_id = graphql(
        medium_site,
        publication_posts(5),
        homepage_posts(5),
        post_by_id(expected_ids(medium_site)[0]),
    )
    assert primary["errors"][0]["message"].startswith(
        'Cannot query field "publicationPostsConnection"'
    )
    assert fallback["errors"][0]["message"].startswith(
        'Cannot query field "homepagePostsConnection"'
    )
    assert by_id["data"]["post"]["id"] == expected_ids(medium_site)[0]


def test_a_refused_primary_operation_leaves_the_fallback(medium_site):
    medium_site.faults.refuse_primary = True
    status, _, body = fetch(medium_site, "/_/graphql", [publication_posts(5)])
    assert status == 400
    assert json.loads(body)[0]["errors"]
    answer = graphql(medium_site, homepage_posts(100))[0]
    nodes = answer["data"]["collection"]["homepagePostsConnection"]["posts"]
    assert sorted(node["id"] for node in nodes) == sorted(expected_ids(medium_site))


def test_an_offsite_redirect_of_the_homepage(medium_site):
    medium_site.faults.offsite_redirect = True
    status, headers, _ = fetch(medium_site, "/")
    assert status == 302 and headers["Location"] == "http://example.invalid/"
    assert fetch(medium_site, "/feed")[0] == 200


def test_slow_and_gone(medium_site):
    medium_site.faults.slow = 0.2
    started = time.monotonic()
    assert fetch(medium_site, "/feed")[0] == 200
    assert time.monotonic() - started >= 0.2
    medium_site.faults.slow = 0.0
    medium_site.faults.gone = True
    assert fetch(medium_site, "/")[0] == 404
    assert fetch(medium_site, "/_/graphql", [publication_posts(5)])[0] == 404


# Control ----------------------------------------------------------------------------------


def test_the_request_log_records_operations(medium_site):
    fetch(medium_site, "/?source=x")
    graphql(medium_site, publication_posts(3))
    graphql(medium_site, post_by_id("0" * 12))
    fetch(medium_site, "/missing")
    assert [logged[:4] for logged in medium_site.requests] == [
        ("GET", "/?source=x", None, 200),
        ("POST", "/_/graphql", "PublicationContentDataQuery", 200),
        ("POST", "/_/graphql", "PostByIdQuery", 200),
        ("GET", "/missing", None, 404),
    ]
    times = [logged.at for logged in medium_site.requests]
    assert times == sorted(times) and times[0] < times[-1] <= time.monotonic()
    medium_site.reset_log()
    assert medium_site.requests == []


def test_the_command_line_serves_until_interrupted():
    command = [sys.executable, "-m", "archive_spider.testing.medium_site", "--posts", "5"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url)
        with OPENER.open(url + "robots.txt", timeout=5) as response:
            assert response.status == 200
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=5)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    assert rest == ""
