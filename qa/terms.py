"""The content words of a text: what keyword search, passage focus and answer sentences match on."""

from __future__ import annotations

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


def keywords(text: str) -> list[str]:
    """Content words of a text (a question, a sentence), lowercased, in order, without duplicates."""
    seen: dict[str, None] = {}
    for raw in WORD.findall(text.lower()):
        word = raw.strip("'’-").replace("’", "'")
        if word.endswith("'s"):
            word = word[:-2]
        if len(word) > 1 and word not in STOPWORDS:
            seen.setdefault(word, None)
    return list(seen)


def stem(word: str) -> str:
    """A crude stem: the first six letters ("announced" and "announcement" meet)."""
    return word[:6]
