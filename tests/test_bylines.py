import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive_spider.bylines import authors_from_subtitle, post_authors

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURE_BYLINES = json.loads((FIXTURES / "bylines.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("subtitle", "expected"), sorted(CAPTURE_BYLINES.items()))
def test_capture_subtitles(subtitle, expected):
    assert authors_from_subtitle(subtitle) == expected


@pytest.mark.parametrize(
    ("subtitle", "expected"),
    [
        (
            "By Ada Lovelace, Alan Turing and Grace Hopper",
            ["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        ),
        ("by Ada Lovelace", ["Ada Lovelace"]),
        ("By: Ada Lovelace", ["Ada Lovelace"]),
        ("BY Ada Lovelace", ["Ada Lovelace"]),
        ("Written by Ada Lovelace", ["Ada Lovelace"]),
        ("Author: Ada Lovelace", ["Ada Lovelace"]),
        ("Authors: Ada Lovelace, Alan Turing", ["Ada Lovelace", "Alan Turing"]),
        ("Authors:Ada Lovelace & Alan Turing", ["Ada Lovelace", "Alan Turing"]),
        (
            "Ada Lovelace with Alan Turing and Grace Hopper",
            ["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        ),
        (
            "Ada Lovelace, Alan Turing, and Grace Hopper",
            ["Ada Lovelace", "Alan Turing", "Grace Hopper"],
        ),
        (
            "Ravi Srinivas Ranganathan, Gopal Krishnan",
            ["Ravi Srinivas Ranganathan", "Gopal Krishnan"],
        ),
        ("Ada Lovelace", ["Ada Lovelace"]),
    ],
)
def test_forms(subtitle, expected):
    assert authors_from_subtitle(subtitle) == expected


@pytest.mark.parametrize(
    ("subtitle", "expected"),
    [
        (
            "By Ada Lovelace and Alan Turing — how we built the Engine",
            ["Ada Lovelace", "Alan Turing"],
        ),
        ("By Ada Lovelace and Alan Turing—how we built it", ["Ada Lovelace", "Alan Turing"]),
        ("By Ada Lovelace - how we built it", ["Ada Lovelace"]),
        ("By Ada Lovelace; with art from Alan Turing", ["Ada Lovelace"]),
        (
            "Ada Lovelace and Alan Turing in collaboration with the Babbage team",
            ["Ada Lovelace", "Alan Turing"],
        ),
        ("Ada Lovelace on behalf of the Engine team", ["Ada Lovelace"]),
        ("By Ada Lovelace, Senior Engineer, Analytical Engines", ["Ada Lovelace"]),
        ("By Ada Lovelace on behalf of Data Platform Engineering.", ["Ada Lovelace"]),
        ("By Ada Lovelace, Alan Turing. Thanks to Grace Hopper", ["Ada Lovelace", "Alan Turing"]),
        (
            "By Ada Lovelace and Alan Turing, Images by Grace Hopper",
            ["Ada Lovelace", "Alan Turing"],
        ),
        ("by our colleague Ada Lovelace", ["Ada Lovelace"]),
    ],
)
def test_descriptions_are_not_names(subtitle, expected):
    assert authors_from_subtitle(subtitle) == expected


@pytest.mark.parametrize(
    ("subtitle", "expected"),
    [
        ("By Ada King-Noel, Seán O'Brien", ["Ada King-Noel", "Seán O'Brien"]),
        ("By Ada K. Lovelace, J Turing", ["Ada K. Lovelace", "J Turing"]),
        ("By Jan van der Berg, Ada de la Cruz", ["Jan van der Berg", "Ada de la Cruz"]),
        ("By Ada Lovelace, D\u2019Arcy McFarland", ["Ada Lovelace", "D\u2019Arcy McFarland"]),
        ("By Aurélien Bibaut, Lukáš Krasula", ["Aurélien Bibaut", "Lukáš Krasula"]),
        ("By Ada Lovelace (Netflix), Alan Turing (AWS)", ["Ada Lovelace", "Alan Turing"]),
        ("By Ada (Countess) Lovelace", ["Ada Lovelace"]),
        ("Ada Lovelace*, Alan Turing^", ["Ada Lovelace", "Alan Turing"]),
        ("By Ada Lovelace, Kyle, Alan Turing", ["Ada Lovelace", "Kyle", "Alan Turing"]),
        ("By Ada Lovelace, Kyle", ["Ada Lovelace"]),
        ("By Ada Lovelace, J, Alan Turing", ["Ada Lovelace"]),
    ],
)
def test_name_shapes(subtitle, expected):
    assert authors_from_subtitle(subtitle) == expected


@pytest.mark.parametrize(
    ("subtitle", "expected"),
    [
        # The last name of a cut list may be cut itself: it is dropped.
        ("By Ada Lovelace, Alan Turing, Grace…", ["Ada Lovelace", "Alan Turing"]),
        ("By Ada Lovelace, Alan Turing, Grace Hop…", ["Ada Lovelace", "Alan Turing"]),
        ("Ada Lovelace, Alan Turing, Grace Hopper…", ["Ada Lovelace", "Alan Turing"]),
        ("Ada Lovelace, Alan Turing, Grace Hopper...", ["Ada Lovelace", "Alan Turing"]),
        ("By Ada Lovelace…", []),
        # ...unless an affiliation mark shows that it ended.
        ("Ada Lovelace*, Alan Turing*…", ["Ada Lovelace", "Alan Turing"]),
        # A cut after the list does not touch it.
        (
            "By Ada Lovelace and Alan Turing. Thanks to everyone at…",
            ["Ada Lovelace", "Alan Turing"],
        ),
    ],
)
def test_truncated(subtitle, expected):
    assert authors_from_subtitle(subtitle) == expected


@pytest.mark.parametrize(
    "subtitle",
    [
        None,
        "",
        "   ",
        "Netflix accelerates ML/AI development with Metaflow\u2019s new spin command",
        "Getting real with virtual threads",
        "Baking Windows with Packer",
        "Rapid Development with GraphQL Microservices",
        "Better Offline Metrics at Netflix",
        "Prodicle Distribution On Cosmos",
        "A Marketing Tech Campaign",
        "Enhancing Member Experience Through Strategic Collaboration",
        "Machine Learning and Signal Processing in Production",
        "Written by hand, tested by machines",
        "By the way, this is not a byline",
        "By Netflix Engineering",
        "Q&A with Chris and Julie",
        "Part 1: Overview",
        "Kevin…",
    ],
)
def test_no_people(subtitle):
    assert authors_from_subtitle(subtitle) == []


def test_post_authors_falls_back_to_the_account():
    assert post_authors("By Ada Lovelace", "Netflix Technology Blog") == ["Ada Lovelace"]
    assert post_authors("A story about engines", "Netflix Technology Blog") == [
        "Netflix Technology Blog"
    ]
    assert post_authors(None, "Ada Lovelace") == ["Ada Lovelace"]
    assert post_authors("A story about engines", None) == []
    assert post_authors(None, "") == []


@given(st.text())
def test_never_raises_and_names_come_from_the_text(subtitle):
    names = authors_from_subtitle(subtitle)
    assert all(word in subtitle for name in names for word in name.split())
