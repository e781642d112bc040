"""Many publications on two loopback addresses, and the resolver that lets Scrapy reach them."""

from __future__ import annotations

import csv
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from archive_spider.testing.loopback import LoopbackResolver, loopback_address
from archive_spider.testing.medium_fleet import Author, MediumFleet, average_rate, highest_rate
from archive_spider.testing.medium_site import MediumSite

APOLLO = re.compile(r"window\.__APOLLO_STATE__\s*=\s*")
RESOLVER = "archive_spider.testing.loopback.LoopbackResolver"


@pytest.fixture
def fleet():
    """Six publications: medium.com-hosted at even positions, custom domains at odd ones."""
    with MediumFleet.synthetic(count=6, posts=(3, 8), seed=1) as started:
        yield started


def on_medium(fleet, path, body=None):
    return fetch(fleet.medium_address, fleet.medium_port, "medium.test", path, body)


def on_custom(fleet, host, path, body=None):
    return fetch(fleet.custom_address, fleet.custom_port, host, path, body)


def fetch(address, port, hostname, path, body=None):
    """(status, body) of GET `path`, or of a POST of `body` as JSON, with Host `hostname`."""
    connection = http.client.HTTPConnection(address, port, timeout=5)
    try:
        data = None if body is None else json.dumps(body).encode()
        method = "GET" if body is None else "POST"
        connection.request(method, path, data, headers={"Host": f"{hostname}:{port}"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def graphql_on_medium(fleet, *operations):
    status, body = on_medium(fleet, "/_/graphql", list(operations))
    assert status == 200, body
    return json.loads(body)


def content_query(slug=None, domain=None, collection_id=None):
    ref = {"slug": slug, "domain": domain}
    if collection_id is not None:
        ref["id"] = collection_id
    return {
        "operationName": "PublicationContentDataQuery",
        "variables": {"ref": ref, "first": 2, "after": ""},
    }


def homepage_query(domain_or_slug):
    return {
        "operationName": "PublicationHomepageQuery",
        "variables": {"domainOrSlug": domain_or_slug, "paging": {"limit": 2}},
    }


def post_by_id(post_id):
    return {"operationName": "PostByIdQuery", "variables": {"id": post_id}}


def title_of(page):
    return re.search(r"<title>([^<]*)</title>", page)[1]


# The fleet's data -------------------------------------------------------------------------


def test_a_synthetic_fleet_is_half_custom_distinct_and_deterministic():
    fleet = MediumFleet.synthetic(count=30, posts=(2, 12), seed=4)
    sites = fleet.sites
    custom = [site for site in sites if site.domain]
    assert len(sites) == 30 and len(custom) == 15
    assert all(re.fullmatch(r"[a-z]+-\d\d\.test", site.domain) for site in custom)
    for attribute in ("collection_id", "slug", "name", "account", "seed"):
        assert len({getattr(site, attribute) for site in sites}) == 30, attribute
    assert all(re.fullmatch(r"[0-9a-f]{12}", site.collection_id) for site in sites)
    assert {len(site.posts) for site in sites} <= set(range(2, 13))
    posts = fleet.expected_posts()
    assert len(posts) == sum(len(site.posts) for site in sites)
    assert len({post["id"] for post in posts}) == len(posts)
    assert {post["publication"] for post in posts} == {site.collection_id for site in sites}
    assert posts == MediumFleet.synthetic(count=30, posts=(2, 12), seed=4).expected_posts()
    assert posts != MediumFleet.synthetic(count=30, posts=(2, 12), seed=5).expected_posts()


def test_a_fleet_refuses_sites_it_could_not_tell_apart():
    twins = [MediumSite(posts=3, slug="a", collection_id="a" * 12, domain="a.test")]
    twins.append(MediumSite(posts=3, slug="b", collection_id="b" * 12, domain="b.test"))
    with pytest.raises(ValueError, match="post id"):  # same seed, same posts
        MediumFleet(twins)
    with pytest.raises(ValueError, match=r"end in \.test"):
        MediumFleet([MediumSite(posts=1)])  # netflixtechblog.com
    with pytest.raises(ValueError, match="slug 'feed'"):
        MediumFleet([MediumSite(posts=1, slug="feed", domain=None)])


def test_a_medium_hosted_site_puts_its_posts_on_medium_com(fleet):
    site = fleet.sites[0]
    assert site.domain is None and site.slug == "engineering-00"
    posts = site.expected_posts()
    assert all(
        post["url"] == f"https://medium.com/engineering-00/{urlsplit(post['url']).path[16:]}"
        and post["url"].endswith("-" + post["id"])
        for post in posts
    )
    assert {post["account"] for post in posts} == {"Engineering Team 00"}

    status, page = on_medium(fleet, "/engineering-00")
    assert status == 200 and title_of(page) == "Engineering Blog 00"
    hrefs = re.findall(r'<div role="link" tabindex="0" data-href="([^"]+)"', page)
    assert hrefs == [post["url"] for post in posts[:10]]
    assert '<link rel="canonical" href="https://medium.com/engineering-00">' in page
    state, _ = json.JSONDecoder().raw_decode(page, APOLLO.search(page).end())
    collection = state[f"Collection:{site.collection_id}"]
    assert collection["domain"] is None and "customDomainState" not in collection
    assert collection["slug"] == "engineering-00"
    assert 'collectionByDomainOrSlug({"domainOrSlug":"engineering-00"})' in state["ROOT_QUERY"]
    assert {node["name"] for key, node in state.items() if key.startswith("User:")} == {
        "Engineering Team 00"
    }


def test_authors_publish_in_two_sites_and_on_their_own():
    fleet = MediumFleet.synthetic(count=6, posts=(3, 8), seed=1, authors=2)
    for author, sites in zip(fleet.authors, (fleet.sites[0:2], fleet.sites[2:4]), strict=True):
        assert author.sites == sites and {site.account for site in sites} == {author.name}
        creators = {
            site.answer_operation(post_by_id(post.id))["data"]["post"]["creator"]["id"]
            for site in sites
            for post in site.posts
        }
        assert creators == {author.user_id}
        personal = author.personal_posts()
        listed = {post["id"] for post in author.expected_posts()}
        assert personal and {post.id for post in personal} <= listed
    assert {site.account for site in fleet.sites[4:]} == {"Security Team 04", "Mobile Team 05"}
    with pytest.raises(ValueError, match="published by"):
        Author("Somebody Else", fleet.sites[:1])
    with pytest.raises(ValueError, match="username"):
        MediumFleet(fleet.sites, authors=[fleet.authors[0], Author("Ana Silva", seed=9)])


# Routing ----------------------------------------------------------------------------------


def test_medium_test_routes_by_path(fleet):
    medium_site, custom_site = fleet.sites[2], fleet.sites[3]
    post = medium_site.expected_posts()[1]
    assert on_medium(fleet, "/data-02/")[0] == 200
    status, page = on_medium(fleet, urlsplit(post["url"]).path)
    assert status == 200 and post["title"] in page

    status, feed = on_medium(fleet, "/feed/data-02")
    links = [item.findtext("link") for item in ElementTree.fromstring(feed).iter("item")]
    assert status == 200 and links[1].startswith(post["url"] + "?source=rss----")

    status, robots = on_medium(fleet, "/robots.txt")
    assert status == 200
    assert f"Sitemap: http://medium.test:{fleet.medium_port}/sitemap/sitemap.xml" in robots
    for missing in ("/", "/feed", f"/feed/{custom_site.slug}", "/data-02/sitemap/sitemap.xml"):
        assert on_medium(fleet, missing)[0] == 404, missing
    assert [(r.path, r.status) for r in medium_site.requests] == [
        ("/data-02/", 200),
        (urlsplit(post["url"]).path, 200),
        ("/feed/data-02", 200),
        ("/data-02/sitemap/sitemap.xml", 404),
    ]


def test_custom_domains_route_by_host(fleet):
    for site in fleet.sites[1::2]:
        status, page = on_custom(fleet, site.domain, "/")
        assert status == 200 and title_of(page) == site.name
    status, feed = on_custom(fleet, "design-01.test", "/feed")
    assert status == 200 and "https://design-01.test/" in feed
    assert on_custom(fleet, "design-01.test", "/sitemap/sitemap.xml")[0] == 200
    assert on_custom(fleet, "unknown.test", "/")[0] == 404
    assert on_custom(fleet, "engineering-00.test", "/")[0] == 404  # hosted on medium.com
    assert [r.host for r in fleet.requests if r.server == "127.0.0.2"][-2:] == [
        f"unknown.test:{fleet.custom_port}",
        f"engineering-00.test:{fleet.custom_port}",
    ]


def test_fleet_urls_lead_to_each_homepage(fleet):
    for site in fleet.sites:
        url = urlsplit(fleet.url(site))
        if site.domain is None:
            expected = ("medium.test", fleet.medium_port, f"/{site.slug}")
            assert (url.hostname, url.port, url.path) == expected
            status, page = on_medium(fleet, url.path)
        else:
            assert (url.hostname, url.port, url.path) == (site.domain, fleet.custom_port, "/")
            status, page = on_custom(fleet, site.domain, url.path)
        assert status == 200 and title_of(page) == site.name


# GraphQL ----------------------------------------------------------------------------------


def test_graphql_answers_each_operation_from_the_publication_it_names(fleet):
    sites = fleet.sites
    answers = graphql_on_medium(
        fleet,
        content_query(slug="data-02"),
        content_query(domain="product-03.test"),
        content_query(collection_id=sites[4].collection_id),
        homepage_query("engineering-00"),
        homepage_query("mobile-05.test"),
        content_query(slug="nobody-here"),
        homepage_query("nobody-here"),
    )
    listed = [answer["data"]["publication"] for answer in answers[:3]]
    assert [publication["id"] for publication in listed] == [
        sites[2].collection_id,
        sites[3].collection_id,
        sites[4].collection_id,
    ]
    first_node = listed[1]["publicationPostsConnection"]["edges"][0]["node"]
    assert first_node["id"] == sites[3].posts[0].id
    assert first_node["collection"]["domain"] == "product-03.test"
    homepages = [answer["data"]["collection"]["id"] for answer in answers[3:5]]
    assert homepages == [sites[0].collection_id, sites[5].collection_id]
    assert answers[5:] == [{"data": {"publication": None}}, {"data": {"collection": None}}]


def test_posts_by_id_are_found_in_any_site(fleet):
    wanted = [fleet.sites[index].posts[-1].id for index in (0, 3, 5)]
    answers = graphql_on_medium(fleet, *map(post_by_id, [*wanted, "0" * 12]))
    posts = [answer["data"]["post"] for answer in answers]
    assert [post["id"] for post in posts[:3]] == wanted
    assert [post["collection"]["id"] for post in posts[:3]] == [
        fleet.sites[index].collection_id for index in (0, 3, 5)
    ]
    assert posts[0]["mediumUrl"].startswith("https://medium.com/engineering-00/")
    assert posts[3] is None
    # GraphQL on a custom domain is Medium's too: it answers about other publications.
    status, body = on_custom(fleet, "design-01.test", "/_/graphql", [post_by_id(wanted[0])])
    assert status == 200 and json.loads(body)[0]["data"]["post"]["id"] == wanted[0]


def test_a_request_meets_the_faults_of_the_site_it_names(fleet):
    flaky = fleet.sites[2]
    flaky.faults.rate = 1.0
    flaky.faults.kinds = ["503"]
    assert on_medium(fleet, "/_/graphql", [content_query(slug="data-02")])[0] == 503
    assert on_medium(fleet, "/data-02")[0] == 503
    assert on_medium(fleet, "/_/graphql", [content_query(slug="security-04")])[0] == 200
    assert on_medium(fleet, "/security-04")[0] == 200
    assert [r.status for r in flaky.requests] == [503, 503]
    assert [r.status for r in fleet.requests] == [503, 503, 200, 200]


# The request log --------------------------------------------------------------------------


def test_the_request_log_records_every_request_in_order_with_its_time(fleet):
    before = time.monotonic()
    on_medium(fleet, "/engineering-00?source=x")
    on_custom(fleet, "design-01.test", "/_/graphql", [post_by_id("0" * 12)])
    on_custom(fleet, "nowhere.test", "/feed")
    after = time.monotonic()
    logged = fleet.requests
    medium, design, nowhere = (
        f"medium.test:{fleet.medium_port}",
        f"design-01.test:{fleet.custom_port}",
        f"nowhere.test:{fleet.custom_port}",
    )
    assert [entry[1:] for entry in logged] == [
        ("127.0.0.1", medium, "GET", "/engineering-00?source=x", None, 200),
        ("127.0.0.2", design, "POST", "/_/graphql", "PostByIdQuery", 200),
        ("127.0.0.2", nowhere, "GET", "/feed", None, 404),
    ]
    times = [entry.at for entry in logged]
    assert before <= times[0] <= times[1] <= times[2] <= after
    assert fleet.max_rate(60) == pytest.approx(3 / 60)
    assert fleet.max_rate(60, [r for r in logged if r.server == "127.0.0.2"]) == 2 / 60
    fleet.reset_log()
    assert fleet.requests == [] and fleet.mean_rate() == 0.0


def test_rates_over_sliding_windows():
    times = [0.0, 0.25, 0.5, 2.0, 2.25, 4.0]
    assert highest_rate(times, 3.0) == 5 / 3  # 0.0 .. 2.25
    assert highest_rate(times, 2.0) == 1.5  # [0.0, 2.0) leaves the request at 2.0 out
    assert highest_rate(times, 0.25) == 4.0  # one request per window
    assert highest_rate(times, 0.5) == 4.0  # 0.0 and 0.25, or 2.0 and 2.25
    assert highest_rate(list(reversed(times)), 3.0) == 5 / 3
    assert highest_rate([], 1.0) == 0.0
    assert average_rate(times) == 5 / 4
    assert average_rate([1.0, 2.0, 3.0, 4.0]) == 1.0
    assert average_rate([5.0]) == 0.0
    assert average_rate([5.0, 5.0]) == math.inf
    with pytest.raises(ValueError):
        highest_rate(times, 0)


# Publication lists, ports and the command line --------------------------------------------


def test_the_publication_list_names_every_site(fleet, tmp_path):
    path = tmp_path / "publications.csv"
    fleet.write_publications_csv(path, parts={fleet.sites[1].collection_id: 2})
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "url,name,part"
    rows = list(csv.DictReader(lines))
    assert [row["url"] for row in rows] == [fleet.url(site) for site in fleet.sites]
    assert [row["name"] for row in rows] == [site.name for site in fleet.sites]
    assert [row["part"] for row in rows] == ["", "2", "", "", "", ""]
    assert rows[0]["url"] == f"http://medium.test:{fleet.medium_port}/engineering-00"
    assert rows[1]["url"] == f"http://design-01.test:{fleet.custom_port}/"


def test_both_servers_share_a_port_unless_it_is_taken():
    with MediumFleet.synthetic(count=2, posts=1) as fleet:
        assert fleet.custom_port == fleet.medium_port
    with socket.socket() as taken:
        taken.bind(("127.0.0.2", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with MediumFleet.synthetic(count=2, posts=1, port=port) as fleet:
            assert (fleet.medium_port, fleet.custom_port) == (port, port + 1)
            assert on_custom(fleet, "design-01.test", "/")[0] == 200


def test_the_command_line_serves_a_fleet_until_interrupted(tmp_path):
    listing = tmp_path / "fleet.csv"
    command = [sys.executable, "-m", "archive_spider.testing.medium_fleet"]
    command += ["--publications", "4", "--posts", "2-3", "--csv", str(listing)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"4 publications listed in {listing}: medium.test on 127.0.0.1:")
        rows = list(csv.DictReader(listing.read_text(encoding="utf-8").splitlines()))
        custom = urlsplit(rows[1]["url"])
        assert custom.hostname == "design-01.test"
        status, page = fetch("127.0.0.2", custom.port, custom.hostname, "/")
        assert status == 200 and title_of(page) == rows[1]["name"]
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=5)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0 and rest == ""


# The resolver -----------------------------------------------------------------------------


def test_test_names_resolve_to_the_fleet_addresses():
    assert loopback_address("medium.test") == "127.0.0.1"
    assert loopback_address("Medium.TEST.") == "127.0.0.1"
    assert loopback_address("engineering-07.test") == "127.0.0.2"
    assert loopback_address("medium.com") is None
    assert loopback_address("latest") is None
    resolver = LoopbackResolver(reactor=None, cache_size=0, timeout=1.0)
    resolved = []
    resolver.getHostByName("design-01.test").addCallback(resolved.append)
    assert resolved == ["127.0.0.2"]


# A tiny crawl: each URL's address, status and <title> as Scrapy fetched it.
CRAWL = """
import json, sys
import scrapy
from scrapy.crawler import CrawlerProcess

setting, resolver, urls = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
fetched = []

class Fetch(scrapy.Spider):
    name = "fetch"
    start_urls = urls

    def parse(self, response):
        title = response.css("title::text").get()
        fetched.append([response.url, response.status, str(response.ip_address), title])

process = CrawlerProcess({
    setting: resolver,
    "TWISTED_REACTOR": None,
    "ROBOTSTXT_OBEY": True,
    "RETRY_ENABLED": False,
    "DOWNLOAD_TIMEOUT": 10,
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "LOG_LEVEL": "WARNING",
})
process.crawl(Fetch)
process.start()
print(json.dumps(sorted(fetched)))
"""


@pytest.mark.parametrize("setting", ["DNS_RESOLVER", "TWISTED_DNS_RESOLVER"])
def test_scrapy_reaches_the_fleet_through_the_loopback_resolver(fleet, setting):
    on_medium_com, custom = fleet.sites[0], fleet.sites[1]
    by_localhost = f"http://localhost:{fleet.medium_port}/{fleet.sites[2].slug}"
    urls = [fleet.url(on_medium_com), fleet.url(custom), by_localhost]
    environment = {name: value for name, value in os.environ.items() if "proxy" not in name.lower()}
    result = subprocess.run(
        [sys.executable, "-c", CRAWL, setting, RESOLVER, json.dumps(urls)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == sorted(
        [
            [urls[0], 200, "127.0.0.1", on_medium_com.name],
            [urls[1], 200, "127.0.0.2", custom.name],
            [by_localhost, 200, "127.0.0.1", fleet.sites[2].name],  # Scrapy's own resolver
        ]
    )
    hosts = {(r.server, r.host.partition(":")[0], r.path) for r in fleet.requests}
    assert hosts == {
        ("127.0.0.1", "medium.test", "/robots.txt"),
        ("127.0.0.1", "medium.test", "/engineering-00"),
        ("127.0.0.2", "design-01.test", "/robots.txt"),
        ("127.0.0.2", "design-01.test", "/"),
        ("127.0.0.1", "localhost", "/robots.txt"),
        ("127.0.0.1", "localhost", "/data-02"),
    }
