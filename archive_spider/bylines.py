"""The people who wrote a post, read from the byline in its subtitle.

Many publications start a subtitle with its authors: "By A, B and C", "Authors: A, B",
"A with B and C" or just "A, B". The rules, in order:

* Parentheses are dropped: affiliations ("Peter Cioni (Netflix)"), nicknames and former
  names ("Yun-Ning (Amy) Hung" -> "Yun-Ning Hung"). So are affiliation marks ("Berg*").
* The byline ends at ";", a dash, or the end of a sentence ("... and D. Credit to ...").
* Names are separated by ",", "and", "&" and "with". A name is 2-5 capitalised words
  ("Ko-Jen", "O'Neil", "McFarland", "Aurélien", initials such as "J" or "G.") with
  particles ("van", "de") inside it. Words common in titles ("The", "On", "Netflix",
  "Engineering"...) and words with noun suffixes ("-tion", "-ity"...) are never names.
* After a marker ("By", "by:", "Written by", "Author(s):") the names run until the first
  element that is not a name; what follows is a description ("By A, Director of X",
  "By A on behalf of B", "Images by C") and is ignored. Inside such a list a single name
  followed by more names is kept ("By A B, Kyle, C D"). When the first element is not a
  name, a leading role is skipped ("by Hawkins team member Joshua Godi", "by our colleague A").
* Without a marker every element must be a name and nothing may follow the list, except
  "in collaboration with ..." or "on behalf of ...": a title such as "Better Offline
  Metrics at Netflix" or "Baking Windows with Packer" names nobody.
* Medium cuts long subtitles with "…". The last name of a cut list may be incomplete
  ("Dario Garcia…" for "Dario Garcia Garcia"), so it is dropped, unless an affiliation
  mark right before the "…" shows that it ended ("Chaoying Wang*…").
"""

from __future__ import annotations

import re

_MARKER = re.compile(r"(?:(?:written\s+)?by\b\s*:?|authors?\s*:)\s*", re.IGNORECASE)
_PARENTHESES = re.compile(r"(?<!\s)\s*\([^()]*\)")
_MARKS = re.compile(r"\\?[*^†‡]")
_ELLIPSIS = re.compile(r"(?<!\s)\s*(?:…|\.\.\.)$")
_MARKED_END = re.compile(r"[*^†‡]\s*(?:…|\.\.\.)$")
# ";", an em or en dash ("-" only between spaces), or a period ending a word of 2+ letters.
_END = re.compile(r";|[\u2014\u2013]|\s-\s|(?<=[^\s.]{2})\.(?:\s|$)")
_TOKENS = re.compile(r",|[^\s,]+")
_SEPARATORS = {",", "and", "&", "with"}
_PARTICLES = {"van", "von", "de", "der", "den", "del", "della", "di", "da", "das", "dos", "du"}
_PARTICLES |= {"la", "le", "ter", "ten", "bin", "al"}
_INITIAL = re.compile(r"[A-Z]\.?")
_PREFIXED = re.compile(r"(?:Mc|Mac|De|Di|Da|La|Le)[A-Z]")
_ROLE = re.compile(r"(?:[A-Z]\w*\s+)?(?:[a-z]\w*\s+)+(?=[A-Z])")
_CREDIT_TAIL = re.compile(r"(?:in collaboration with|on behalf of)\b", re.IGNORECASE)
_NOUN_SUFFIXES = ("tion", "sion", "ment", "ness", "ship", "ity", "ics", "ogy", "ism")
_NOT_NAMES = {
    # Capitalised in titles and sentences.
    "A", "An", "The", "I", "We", "Our", "Your", "It", "Its", "This", "That", "These", "As",
    "At", "In", "On", "Of", "For", "To", "From", "Into", "Through", "About", "Over", "Via",
    "With", "By", "And", "Or", "But", "How", "Why", "What", "When", "Where", "Who", "Part",
    # Organisations and roles.
    "Netflix", "Team", "Engineering", "Engineer", "Engineers", "Senior", "Staff", "Principal",
    "Director", "Manager", "Lead", "Partner", "Product", "Platform", "Data", "Site", "CEO",
}  # fmt: skip


def authors_from_subtitle(subtitle: str | None) -> list[str]:
    """The people a subtitle's byline names, in order; [] when it names nobody."""
    raw = (subtitle or "").strip()
    text = _MARKS.sub("", _PARENTHESES.sub("", raw))
    cut = _ELLIPSIS.search(text) is not None and not _MARKED_END.search(raw)
    text = _ELLIPSIS.sub("", text)
    body, *rest = _END.split(text, maxsplit=1)
    cut = cut and not rest
    marker = _MARKER.match(body)
    if marker is None:
        return _bare(body, cut)
    body = body[marker.end() :]
    names = _marked(body, cut)
    if not names and (role := _ROLE.match(body)):
        names = _marked(body[role.end() :], cut)
    return names


def post_authors(subtitle: str | None, account: str | None) -> list[str]:
    """The byline's people, else the account that posted it (if known), else []."""
    return authors_from_subtitle(subtitle) or ([account] if account else [])


def _marked(body: str, cut: bool) -> list[str]:
    """Names after a "By" marker, up to the first element that is not a name."""
    elements, tail = _elements(body)
    if cut and not tail:
        elements = elements[:-1]
    names = []
    for index, words in enumerate(elements):
        followed = index + 1 < len(elements)
        if not (_is_name(words) or (followed and _is_mononym(words))):
            break
        names.append(" ".join(words))
    return names


def _bare(body: str, cut: bool) -> list[str]:
    """Names of a list without marker: all of it must be names."""
    elements, tail = _elements(body)
    if tail and not _CREDIT_TAIL.match(tail):
        return []
    if cut and not tail:
        elements = elements[:-1]
    if not all(_is_name(words) for words in elements):
        return []
    return [" ".join(words) for words in elements]


def _elements(body: str) -> tuple[list[list[str]], str]:
    """The list's elements (as words) and the text after it, from its first non-name word."""
    elements: list[list[str]] = [[]]
    tokens = _TOKENS.findall(body)
    for index, token in enumerate(tokens):
        if token in _SEPARATORS:
            elements.append([])
        elif _is_word(token) or (token in _PARTICLES and elements[-1]):
            elements[-1].append(token)
        else:
            return [words for words in elements if words], " ".join(tokens[index:])
    return [words for words in elements if words], ""


def _is_name(words: list[str]) -> bool:
    """2-5 words, starting and ending with a name word (a particle only inside)."""
    return (
        2 <= len(words) <= 5
        and _is_word(words[0])
        and _is_word(words[-1])
        and not _INITIAL.fullmatch(words[-1])
    )


def _is_mononym(words: list[str]) -> bool:
    """A single name word that is not an initial ("Kyle")."""
    return len(words) == 1 and _is_word(words[0]) and not _INITIAL.fullmatch(words[0])


def _is_word(token: str) -> bool:
    """A capitalised word of a name ("Ko-Jen", "O'Neil", "McFarland") or an initial."""
    if _INITIAL.fullmatch(token):
        return token not in _NOT_NAMES
    if token in _NOT_NAMES or token.lower().endswith(_NOUN_SUFFIXES):
        return False
    return all(_is_part(part) for part in re.split(r"[-'\u2019]", token))


def _is_part(part: str) -> bool:
    """One hyphen/apostrophe part: "Jen", "O", "Neil", "McFarland" (not "GraphQL")."""
    if not part.isalpha() or not part[0].isupper():
        return False
    if len(part) == 1 or part[1:].islower():
        return True
    prefix = _PREFIXED.match(part)
    return prefix is not None and part[prefix.end() :].islower()
