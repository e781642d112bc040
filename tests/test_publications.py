"""Publication lists: URL keys, CSV parsing, its error messages, parts and durations."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest

from archive_spider.publications import (
    Listed,
    PublicationListError,
    normalize_publication_url,
    parse_duration,
    parse_part,
    part_of,
    read_publications,
    select_part,
)

THIRTY = [Listed(f"https://medium.com/publication-{n:02d}") for n in range(30)]
PINNED_PARTS_OF_3 = [3, 1, 2, 2, 2, 3, 2, 1, 3, 3]


def write_list(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "publications.csv"
    path.write_text(text, encoding=encoding)
    return path


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://medium.com/netflix-techblog", "https://medium.com/netflix-techblog"),
        ("https://medium.com/netflix-techblog/", "https://medium.com/netflix-techblog"),
        ("https://medium.com/netflix-techblog?source=x", "https://medium.com/netflix-techblog"),
        ("https://medium.com/netflix-techblog/latest", "https://medium.com/netflix-techblog"),
        (
            "https://medium.com/netflix-techblog/a-post-0123abcd#top",
            "https://medium.com/netflix-techblog",
        ),
        ("https://medium.com//netflix-techblog", "https://medium.com/netflix-techblog"),
        ("https://medium.com/@someone", "https://medium.com/@someone"),
        ("HTTPS://Medium.COM/netflix-techblog", "https://medium.com/netflix-techblog"),
        ("https://netflixtechblog.com", "https://netflixtechblog.com/"),
        ("https://netflixtechblog.com/", "https://netflixtechblog.com/"),
        ("https://netflixtechblog.com/?source=home#x", "https://netflixtechblog.com/"),
        ("https://NetflixTechBlog.com:443/", "https://netflixtechblog.com/"),
        ("http://netflixtechblog.com:80", "http://netflixtechblog.com/"),
        (
            "https://blog.example.com/engineering/a-post-0123abcd",
            "https://blog.example.com/engineering",
        ),
        ("http://medium.test:8123/pub-03/", "http://medium.test:8123/pub-03"),
        ("http://medium.test:8123/pub-03/latest?source=x", "http://medium.test:8123/pub-03"),
        ("http://pub-07.test:8124", "http://pub-07.test:8124/"),
        ("http://PUB-07.test:8124/?page=2", "http://pub-07.test:8124/"),
        ("https://medium.com:8443/x", "https://medium.com:8443/x"),
        ("  https://medium.com/x  ", "https://medium.com/x"),
    ],
)
def test_normalize(url, key):
    assert normalize_publication_url(url) == key
    assert normalize_publication_url(key) == key


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://x", "'ftp://x' is not an http(s) URL"),
        ("medium.com/netflix-techblog", "is not an http(s) URL"),
        ("", "is not an http(s) URL"),
        ("https://", "'https://' has no host"),
        ("https:///netflix-techblog", "has no host"),
        ("https://user:secret@medium.com/x", "has a user name or password"),
        ("https://@medium.com/x", "has a user name or password"),
        ("https://medium.com:99999/x", "Port out of range"),
        ("http://[::1/x", "Invalid IPv6 URL"),
        ("https://medium.com/net flix", "has a space or control character"),
        ("https://medium.com\t/x", "has a space or control character"),
    ],
)
def test_normalize_rejects(url, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        normalize_publication_url(url)


def test_read_publications(tmp_path):
    path = write_list(
        tmp_path,
        "# publications of the nightly crawl\n"
        "\n"
        " URL , Name ,PART,owner\n"
        "https://medium.com/netflix-techblog/?source=x,Netflix TechBlog,2,ana\n"
        "# https://medium.com/paused\n"
        "   \n"
        "https://Airbnb.io/,,,bo\n"
        "http://pub-07.test:8124/ , Pub 7 \n"
        "\n",
        encoding="utf-8-sig",
    )
    assert read_publications(path) == [
        Listed("https://medium.com/netflix-techblog", "Netflix TechBlog", 2, line=4),
        Listed("https://airbnb.io/", None, None, line=7),
        Listed("http://pub-07.test:8124/", "Pub 7", None, line=8),
    ]


def test_read_publications_counts_lines_of_quoted_cells(tmp_path):
    path = write_list(
        tmp_path,
        'url,name\r\n"https://medium.com/a","A, Inc."\r\nhttps://b.io,"two\r\nlines"\r\n'
        "https://c.io\r\n",
    )
    assert read_publications(path) == [
        Listed("https://medium.com/a", "A, Inc.", line=2),
        Listed("https://b.io/", "two\r\nlines", line=3),
        Listed("https://c.io/", line=5),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name\nNetflix\n", "line 1: the header has no 'url' column"),
        ("# list\nurl,URL\nhttps://a.io\n", "line 2: column 'url' appears twice"),
        ("url,name\nhttps://a.io\n,Nameless\n", "line 3: empty url"),
        ("url\nhttps://a.io\n\n\nftp://x\n", "line 5: 'ftp://x' is not an http(s) URL"),
        ("url\nhttps://u:p@a.io/\n", "line 2: 'https://u:p@a.io/' has a user name or password"),
        ("url,part\nhttps://a.io,0\n", "line 2: part must be a positive integer, not '0'"),
        ("url,part\nhttps://a.io,-1\n", "line 2: part must be a positive integer, not '-1'"),
        ("url,part\nhttps://a.io,1.5\n", "line 2: part must be a positive integer, not '1.5'"),
        ("url,part\nhttps://a.io,two\n", "line 2: part must be a positive integer, not 'two'"),
        (
            "url\nhttps://medium.com/x/\nhttps://b.io\nhttps://medium.com/x?source=y\n",
            "line 4: https://medium.com/x is already listed on line 2",
        ),
        ("", ": lists no publications"),
        ("# only a comment\n\n", ": lists no publications"),
        ("url,name\n# https://a.io\n\n", ": lists no publications"),
        ("url\nhttps://a.io\nhttps://b.io\x00\n", "line 3: 'https://b.io\\x00' has a space or"),
        ('url\nhttps://a.io\n"https://b.io/x\ny"\n', "line 3: 'https://b.io/x\\ny' has a space or"),
    ],
)
def test_read_publications_errors(tmp_path, text, message):
    path = write_list(tmp_path, text)
    with pytest.raises(PublicationListError) as raised:
        read_publications(path)
    assert str(raised.value).startswith(f"{path}")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_read_publications_not_utf8(tmp_path):
    path = tmp_path / "publications.csv"
    path.write_bytes("url,name\nhttps://a.io,Café\n".encode("latin-1"))
    with pytest.raises(PublicationListError, match=r"publications\.csv line 2: not UTF-8 text$"):
        read_publications(path)


def test_read_publications_missing_file(tmp_path):
    path = tmp_path / "missing.csv"
    with pytest.raises(PublicationListError, match=r"missing\.csv: no such file$"):
        read_publications(path)


def test_read_publications_directory(tmp_path):
    with pytest.raises(PublicationListError, match=r": cannot read \(.+\)$"):
        read_publications(tmp_path)


@pytest.mark.parametrize(
    ("text", "part"),
    [("2/3", (2, 3)), ("1/1", (1, 1)), (" 3 / 3 ", (3, 3)), ("10/12", (10, 12))],
)
def test_parse_part(text, part):
    assert parse_part(text) == part


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0/3", "part 0 is not between 1 and 3"),
        ("4/3", "part 4 is not between 1 and 3"),
        ("1/0", "the number of parts must be at least 1, not 0"),
        ("2", "expected PART/PARTS such as 2/3, not '2'"),
        ("-1/3", "expected PART/PARTS"),
        ("a/b", "expected PART/PARTS"),
        ("", "expected PART/PARTS"),
    ],
)
def test_parse_part_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_part(text)


def test_part_is_pinned_values():
    """The hash is part of the contract: changing it reshuffles every deployed list."""
    assert [part_of(p, 3) for p in THIRTY[:10]] == PINNED_PARTS_OF_3


def test_part_is_the_same_in_a_fresh_process():
    """Parts come from SHA-256, not `hash()`: other PYTHONHASHSEEDs give the same parts."""
    script = (
        "import json, sys\n"
        "from archive_spider.publications import Listed, part_of\n"
        "urls = json.loads(sys.argv[1])\n"
        "print(json.dumps([part_of(Listed(url), 5) for url in urls]))\n"
    )
    urls = [p.url for p in THIRTY]
    expected = [part_of(p, 5) for p in THIRTY]
    for seed in ("1", "2", "random"):
        result = subprocess.run(
            [sys.executable, "-c", script, json.dumps(urls)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(result.stdout) == expected


def test_part_uses_the_normalized_url():
    assert part_of(Listed("https://Medium.com/netflix-techblog/?source=x"), 7) == part_of(
        Listed("https://medium.com/netflix-techblog"), 7
    )


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 5])
def test_every_publication_is_in_exactly_one_part(parts):
    selected = [select_part(THIRTY, part, parts) for part in range(1, parts + 1)]
    assert sorted(p.url for chosen in selected for p in chosen) == sorted(p.url for p in THIRTY)
    for chosen in selected:
        assert chosen == [p for p in THIRTY if p in chosen]


def test_parts_are_roughly_balanced():
    sizes = Counter(part_of(p, 3) for p in THIRTY)
    assert set(sizes) == {1, 2, 3}
    assert min(sizes.values()) >= 5


def test_a_new_part_takes_publications_only_from_the_others():
    """Rendezvous hashing: from N to N + 1 parts, a publication stays or moves to N + 1."""
    for parts in (1, 2, 3, 4):
        before = [part_of(p, parts) for p in THIRTY]
        after = [part_of(p, parts + 1) for p in THIRTY]
        moved = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
        assert all(a == parts + 1 for _, a in moved)
        assert 0 < len(moved) <= len(THIRTY) // 2


def test_explicit_part_wins():
    url = THIRTY[0].url
    hashed = part_of(Listed(url), 3)
    pinned = hashed % 3 + 1
    assert part_of(Listed(url, part=pinned), 3) == pinned
    assert part_of(Listed(url, part=pinned), 4) == pinned
    assert select_part([Listed(url, part=pinned)], hashed, 3) == []


def test_explicit_part_above_the_number_of_parts():
    with pytest.raises(ValueError, match=r"^https://a\.io/ \(line 7\) is pinned to part 4, but"):
        part_of(Listed("https://a.io/", part=4, line=7), 3)


def test_select_part_rejects_a_part_out_of_range():
    with pytest.raises(ValueError, match="part 4 is not between 1 and 3"):
        select_part(THIRTY, 4, 3)


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("26h", timedelta(hours=26)),
        ("90m", timedelta(minutes=90)),
        ("2d", timedelta(days=2)),
        ("45s", timedelta(seconds=45)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d2h3m4s", timedelta(days=1, hours=2, minutes=3, seconds=4)),
        (" 26H ", timedelta(hours=26)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_duration(text, duration):
    assert parse_duration(text) == duration


@pytest.mark.parametrize("text", ["", "26", "h", "1.5h", "30m1h", "1 h", "-2d", "2w", "1h 30m"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError, match="expected a duration such as 26h"):
        parse_duration(text)


def test_parse_duration_too_long():
    with pytest.raises(ValueError, match="duration too long"):
        parse_duration("99999999999d")
