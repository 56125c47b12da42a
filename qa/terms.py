"""The content words of a text: what keyword search, passage focus and answer sentences match on."""

from __future__ import annotations

import functools
import re

STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just let me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same
    she should so some such than that the their theirs them themselves then there these they this
    those through to too under until up very was we were what when where which while who whom why
    will with would you your yours yourself yourselves also many much according recently week year
    new said says say one two following among
    """.split()
)
WORD = re.compile(r"[\w'’-]+", re.UNICODE)


# Cached: every sentence of a question's passages is read word by word (focus, answer), and words repeat.
# Reading the sentences of a question's five passages took 0.8 ms, 0.4-0.5 ms cached (news-2022).
@functools.lru_cache(maxsize=65536)
def keyword(raw: str) -> str | None:
    """One WORD match as a content word (lowercased, without quotes or "'s"), or None for a stopword."""
    word = raw.lower().strip("'’-").replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return word if len(word) > 1 and word not in STOPWORDS else None


def keywords(text: str) -> list[str]:
    """Content words of a text (a question, a sentence), lowercased, in order, without duplicates."""
    seen: dict[str, None] = {}
    for raw in WORD.findall(text):
        if word := keyword(raw):
            seen.setdefault(word, None)
    return list(seen)


def stems(text: str) -> set[str]:
    """The stems of a text's content words: what two texts share when their words meet in any form."""
    return {stem(w) for w in keywords(text)}


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude stem: an inflection off, then the first six letters. "call", "calls", "called" and
    "calling" meet, as do "vote", "voted" and "votes", and "announced" and "announcement"."""
    for suffix, keep in _INFLECTIONS:
        if word.endswith(suffix):
            if len(word) - len(suffix) >= keep:
                word = word[: -len(suffix)]
            break
    else:
        if word.endswith("e") and len(word) >= 4:  # "vote" meets "voted"
            word = word[:-1]
    return word[:6]


def prefix_stem(word: str) -> str:
    """The first six letters: "announced" and "announcement" meet, "call" and "calling" do not."""
    return word[:6]


# (suffix, letters that must remain), the first that ends a word applies: "spring", "speed", "press" and
# "news" keep theirs.
_INFLECTIONS = (("ing", 4), ("eed", 99), ("ed", 3), ("es", 3), ("ss", 99), ("s", 4))
