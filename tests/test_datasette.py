"""Datasette over an archive: metadata, thumbnails and links, escaping, safe CSV."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from helpers import datasette_get, save_post
from parsel import Selector

from archive_spider.datasette import METADATA
from archive_spider.datasette.plugin import CsvDefuser
from archive_spider.items import Post
from archive_spider.storage import Archive

FIRST_ID = "b2d5b95c63eb"
FIRST_TITLE = "Supercharging the ML and AI Development Experience at Netflix"
FIRST_URL = (
    "https://netflixtechblog.com/supercharging-the-ml-and-ai-development-experience-at-netflix-"
    "b2d5b95c63eb"
)
# The route that serves a stored copy of the thumbnail, or redirects to Medium's CDN.
FIRST_THUMBNAIL = "/-/images/1*0I8DAvXCQEN1RpTTC0ZyaQ.jpeg"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
FORMULA = '=HYPERLINK("http://evil.example","click")'
PUBLICATION = "c0ffee000001"


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """Posts whose titles are markup or a spreadsheet formula, and a logged title change."""
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    scripted = {
        "id": "aaaaaaaaaaaa",
        "url": "https://example.com/scripted-aaaaaaaaaaaa",
        "subtitle": IMG,
        "published": "2025-01-02",
        "image_id": 'x" onerror="alert(1)',
        "account": SCRIPT,
        "authors": [SCRIPT],
        "publication": PUBLICATION,
    }
    with Archive(db) as archive:
        archive.save_publication(
            id=PUBLICATION,
            url="https://medium.com/scripted",
            name=SCRIPT,
            slug="scripted",
            domain=None,
            seen="2025-01-02T00:00:00Z",
        )
        harmless = Post(**scripted, title="A harmless title", seen_at="2025-01-02T00:00:00Z")
        save_post(archive, harmless)
        crawl_id = archive.begin_crawl(source="test", started="2025-01-03T00:00:00Z", as_of=None)
        save_post(archive, Post(**scripted, title=SCRIPT, seen_at="2025-01-03T00:00:00Z"), crawl_id)
        save_post(
            archive,
            Post(
                id="bbbbbbbbbbbb",
                url="javascript:alert(1)",
                title=FORMULA,
                subtitle="-2+3",
                account=SCRIPT,
                authors=[SCRIPT],
                published="2025-01-01",
                read_minutes=-5,
                seen_at="2025-01-01T00:00:00Z",
            ),
        )
    return db


def fetch(db: Path, path: str, *more: Path):
    """GET `path` from a fresh Datasette serving `db` (and `more`) with the archive metadata."""
    response = datasette_get([db, *more], path)
    assert response.status_code == 200, (path, response.text[:500])
    return response


def sql(db: Path, query: str, *params):
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(query, params).fetchall()


def rows(html: str) -> list[Selector]:
    return Selector(text=html).css("table.rows-and-columns tbody tr")


def facets(db: Path, path: str) -> dict[str, dict[str, int]]:
    results = fetch(db, path).json()["facet_results"]
    return {
        name: {str(r["value"]): r["count"] for r in f["results"]} for name, f in results.items()
    }


def test_the_plugin_is_installed(real_db):
    [plugin] = [
        p for p in fetch(real_db, "/-/plugins.json").json() if p["name"] == "archive-spider"
    ]
    hooks = {"get_metadata", "render_cell", "extra_body_script", "asgi_wrapper", "register_routes"}
    assert hooks <= set(plugin["hooks"])


def test_the_instance_is_described(real_db):
    html = fetch(real_db, "/").text
    assert "Medium publication archive" in html
    assert "archive_spider" in html
    assert "Posts © their authors" in html


def test_posts_are_newest_first_with_thumbnails_and_title_links(real_db):
    html = fetch(real_db, "/x/posts").text
    assert "sorted by published descending" in html
    first = rows(html)[0]
    assert first.css("td.col-id a::text").get() == FIRST_ID
    title = first.css("td.col-title a")
    assert title.attrib["href"] == FIRST_URL
    assert title.css("::text").get() == FIRST_TITLE
    thumbnail = title.css("img")
    assert thumbnail.attrib["src"] == FIRST_THUMBNAIL
    assert thumbnail.attrib["loading"] == "lazy"
    assert first.css("td.col-url a").attrib["href"] == FIRST_URL
    assert len(Selector(text=html).css("td.col-title img")) == len(rows(html))


def test_posts_are_faceted_with_real_counts(real_db):
    counts = facets(real_db, "/x/posts.json")
    assert {"year", "account", "read_minutes", "member_only"} <= set(counts)
    [[posts_2025]] = sql(real_db, "SELECT count(*) FROM posts WHERE year = 2025")
    assert counts["year"]["2025"] == posts_2025 > 0
    assert sum(counts["year"].values()) == 269
    assert counts["account"] == {"Netflix Technology Blog": 269}
    [[nine_minutes]] = sql(real_db, "SELECT count(*) FROM posts WHERE read_minutes = 9")
    assert counts["read_minutes"]["9"] == nine_minutes
    html = fetch(real_db, "/x/posts").text
    for column in ("year", "account", "read_minutes"):
        assert f'data-column="{column}"' in html


def test_search_finds_the_posts_naming_metaflow(real_db):
    found = fetch(real_db, "/x/posts.json?_search=Metaflow&_shape=array&_size=max").json()
    expected = sql(
        real_db, "SELECT id FROM posts WHERE title LIKE '%metaflow%' OR subtitle LIKE '%metaflow%'"
    )
    assert len(expected) >= 5
    assert sorted(post["id"] for post in found) == sorted(row[0] for row in expected)


def test_fts_tables_are_hidden(real_db):
    tables = {t["name"]: t["hidden"] for t in fetch(real_db, "/x.json").json()["tables"]}
    assert tables["posts"] is False
    assert all(hidden for name, hidden in tables.items() if name.startswith("posts_fts"))


def test_every_column_of_every_table_is_described(tmp_path):
    """The metadata documents the schema as it is: no column left out, none invented."""
    with Archive(tmp_path / "fresh.db") as archive:
        tables = {
            name: [row[1] for row in archive.conn.execute(f"PRAGMA table_xinfo({name})")]
            for (name,) in archive.conn.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'posts_fts%' AND name NOT LIKE 'sqlite_%'"
            )
        }
    described = json.loads(METADATA.read_text())["plugins"]["archive-spider"]
    described = described["archive_database"]["tables"]
    assert set(described) == set(tables)
    for name, columns in tables.items():
        assert set(described[name]["columns"]) == set(columns), name


def test_canned_queries_return_their_first_rows(real_db):
    queries = {q["name"]: q for q in fetch(real_db, "/x.json").json()["queries"]}
    assert set(queries) == {
        "posts_per_year",
        "most_prolific_authors",
        "latest_posts",
        "changed_posts",
        "publication_freshness",
    }
    assert all(q["title"] and q["description"] for q in queries.values())

    def first(name: str) -> dict:
        return fetch(real_db, f"/x/{name}.json?_shape=array").json()[0]

    [[posts_2025]] = sql(real_db, "SELECT count(*) FROM posts WHERE year = 2025")
    per_year = first("posts_per_year")
    assert (per_year["year"], per_year["posts"]) == (2025, posts_2025)
    assert first("most_prolific_authors")["author"] == "Netflix Technology Blog"
    assert first("latest_posts")["id"] == FIRST_ID
    html = fetch(real_db, "/x/latest_posts").text
    title = rows(html)[0].css("td.col-title a")
    assert title.attrib["href"] == FIRST_URL
    assert title.css("img").attrib["src"] == FIRST_THUMBNAIL


def test_changed_posts_lists_old_and_new_values_with_the_crawl(hostile_db):
    [change] = fetch(hostile_db, "/hostile/changed_posts.json?_shape=array").json()
    assert (change["post_id"], change["field"]) == ("aaaaaaaaaaaa", "title")
    assert (change["old"], change["new"]) == ("A harmless title", SCRIPT)
    assert change["crawl_id"] == 1
    assert change["crawl_source"] == "test"


def test_posts_by_author_is_faceted_by_author(real_db):
    counts = facets(real_db, "/x/posts_by_author.json")
    assert counts["author"]["Netflix Technology Blog"] == 105
    [[jun_he]] = sql(
        real_db,
        "SELECT count(*) FROM post_authors JOIN authors ON authors.id = author_id "
        "WHERE name = 'Jun He'",
    )
    assert counts["author"]["Jun He"] == jun_he > 0
    assert "year" in counts
    html = fetch(real_db, "/x/posts_by_author?author=Jun+He").text
    links = Selector(text=html).css("td.col-title a::attr(href)").getall()
    assert len(links) == jun_he
    assert all(link.startswith("https://netflixtechblog.com/") for link in links)


@pytest.mark.parametrize(
    "path",
    [
        "/hostile/posts",
        "/hostile/posts/aaaaaaaaaaaa",
        "/hostile/posts/bbbbbbbbbbbb",
        "/hostile/posts_by_author",
        "/hostile/latest_posts",
        "/hostile/changed_posts",
        "/hostile/post_changes",
        "/hostile?sql=select+title,+subtitle,+url,+image_id+from+posts",
    ],
)
def test_hostile_content_is_escaped_and_never_linked(hostile_db, path):
    html = fetch(hostile_db, path).text
    assert "<script>alert(1)" not in html
    assert "<img src=x onerror" not in html
    assert 'onerror="alert(1)' not in html
    assert 'href="javascript:' not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_post_names_its_publication_linked_to_its_row(hostile_db):
    [row] = [r for r in rows(fetch(hostile_db, "/hostile/posts").text) if PUBLICATION in r.get()]
    link = row.css("td.col-publication a")
    assert link.attrib["href"] == f"/hostile/publications/{PUBLICATION}"
    assert link.css("::text").get() == SCRIPT  # the name, as text: never markup
    assert "<script>" not in row.css("td.col-publication").get()


def test_a_title_without_a_web_url_is_not_a_link(hostile_db):
    [row] = [r for r in rows(fetch(hostile_db, "/hostile/posts").text) if "bbbbbbbbbbbb" in r.get()]
    assert row.css("td.col-title a") == []
    assert row.css("td.col-title::text").get().strip() == FORMULA


@pytest.mark.parametrize(
    "path",
    ["/hostile/posts.csv", "/hostile/posts.csv?_stream=1&_dl=1", "/hostile/latest_posts.csv"],
)
def test_csv_cells_never_start_a_formula(hostile_db, path):
    table = list(csv.DictReader(io.StringIO(fetch(hostile_db, path).text)))
    [row] = [r for r in table if r["id"] == "bbbbbbbbbbbb"]
    assert row["title"] == "'" + FORMULA
    assert row["subtitle"] == "'-2+3"
    assert row["read_minutes"] == "-5"  # a number stays a number
    cells = [cell for r in table for cell in r.values()]
    assert not [c for c in cells if c.startswith(("=", "+", "@", "\t", "\r"))]


def test_json_keeps_the_stored_values(hostile_db):
    [post] = fetch(hostile_db, "/hostile/posts.json?id=bbbbbbbbbbbb&_shape=array").json()
    assert post["title"] == FORMULA


def test_csv_defusing_does_not_depend_on_chunking():
    text = 'a,b\r\n=1+1,"multi\r\n=line ""quoted"", é"\r\n-3,@x\r\n+4.5e2,\tcmd\r\n'
    expected = 'a,b\r\n\'=1+1,"multi\r\n=line ""quoted"", é"\r\n-3,\'@x\r\n+4.5e2,\'\tcmd\r\n'
    data = text.encode()
    whole = CsvDefuser()
    assert whole.feed(data, final=True).decode() == expected
    bytewise = CsvDefuser()
    out = b"".join(bytewise.feed(data[i : i + 1]) for i in range(len(data)))
    assert (out + bytewise.feed(b"", final=True)).decode() == expected


def test_other_databases_are_left_alone(real_db, tmp_path):
    plain = tmp_path / "plain.db"
    with closing(sqlite3.connect(plain)) as conn:
        conn.execute("CREATE TABLE posts (title TEXT, url TEXT, image_id TEXT)")
        conn.execute("INSERT INTO posts VALUES ('Plain', 'https://example.com/', 'a.png')")
        conn.commit()
    html = fetch(real_db, "/plain/posts", plain).text
    assert "<img" not in html.split("<tbody>")[1]
    assert '<a href="https://example.com/">Plain</a>' not in html
    assert fetch(real_db, "/x/posts", plain).text.count(FIRST_THUMBNAIL) == 1
