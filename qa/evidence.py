"""Sentence-level evidence that a text answers a question: its key terms, and the kind of thing asked for.

Shared by passage focus (retrieve) and answer sentences (answer): both look for a sentence that holds
the question's rarer words and something of the asked-for kind ("a number" for "how many").
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence

from qa.chunk import split_sentences
from qa.terms import STOPWORDS, WORD, keyword, keywords, prefix_stem, stem

# Matched against lowercased text: four times faster than re.IGNORECASE, and this runs on every sentence.
_BOILERPLATE = re.compile(
    r"(cookie|advertis|subscribe|sign up|newsletter|all rights reserved|click here|share on|"
    r"read more|terms of (use|service)|privacy policy|javascript|your browser|how relevant is this ad|"
    r"video player|log ?in|download the app|follow us|©|^\s*(more|related|see also|watch|listen)\s*:)"
)
MIN_SENTENCE_CHARS = 12
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|dozen|hundred|thousand|million|billion|once|twice|"
    r"thrice)\b",
    re.I,
)
_NUMBER_TOKEN = re.compile(
    r"\d[\d,.]*%?|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
    r"thousands?|millions?|billions?|once|twice|thrice)\b",
    re.I,
)
_YEAR_PATTERN = r"\b(1[5-9]\d\d|20\d\d)\b"
_MONTHS = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)"
_DATE = re.compile(
    rf"{_YEAR_PATTERN}|\b{_MONTHS}\b|\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday|today)\b",
    re.I,
)
_YEAR = re.compile(_YEAR_PATTERN)
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_CAPITALIZED = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:of |the |de |al-)?[A-Z][\w'’-]*)*")
_WHICH_OR_WHAT = re.compile(r"\b(which|what)\b", re.I)
# What makes a question ask what did not happen, and a sentence say so. "No." before a number is a number
# ("the No. 2 seed"); "whether or not", "not only", "no longer" and "no more than" ask nothing negative.
_NEGATION_WORDS = r"not|never|cannot|no(?!\.?\s*\d)|n[’']t"
_NOT_A_NEGATION = re.compile(
    r"\bor (may |might |does |do |did |is |was |were |are )?not\b|\bnot (only|just|merely|least)\b|"
    r"\bno (longer|sooner|doubt|(less|more|fewer) than)\b",
    re.I,
)
_NEGATION = re.compile(rf"\b({_NEGATION_WORDS})\b|n[’']t\b", re.I)
_NEGATIVE = re.compile(  # also refusals, denials, bans and absences ("voted to reject", "was absent")
    rf"\b({_NEGATION_WORDS}|none|nothing|neither|nor|without|unable|fail(s|ed|ure)?|refus(e|es|ed|al)|"
    r"den(y|ied|ies|ial)|reject\w*|lack\w*|ban(s|ned)?|absent|abstain\w*|boycott\w*|exclud\w*|except)\b|n[’']t\b",
    re.I,
)


_COST = re.compile(r"\bhow much\b.*\b(cost|pay|paid|spen[dt]|price|charge|worth|fund|raise)", re.I)
_MONEY = re.compile(
    r"[$€£¥]|\b(dollars?|euros?|pounds?|cents?|yen|yuan|rupees?|francs?|kronor|kroner|pesos?|usd|eur|gbp)\b",
    re.I,
)


# A capitalized word (or an acronym) inside a question is most often a name: "How many jobs is Microsoft
# cutting?" Months, weekdays and asking words are capitalized without naming what the question is about.
_QUESTION_NAME = re.compile(r"\b(?:[A-Z][\w'’.-]*[A-Za-z0-9]|[A-Z]{2,})\b")
_NOT_NAMES = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays saturdays sundays "
    "who what when where which why how whom whose according".split()
)


def is_boilerplate(sentence: str) -> bool:
    """An ad, a cookie notice, a subscription or share prompt: never evidence."""
    return _BOILERPLATE.search(sentence.lower()) is not None


def answer_type(question: str) -> str | None:
    """ "number", "date", "name" or "place" when the question's wording asks for one, else None."""
    q = question.lower()
    if re.search(
        r"\bhow (many|much)\b|\bwhat (number|percentage|percent|share|amount)\b|\bhow (old|long|far|big|large)\b",
        q,
    ):
        return "number"
    if re.search(r"\bwhen\b|\bwhat (year|date|day|month|time)\b|\bwhich (year|date|day|month)\b", q):
        return "date"
    if re.search(r"\bwho\b|\bwhom\b|\bwhose\b", q):
        return "name"
    if re.search(r"\bwhere\b|\bwhich (country|city|state|continent|nation)\b", q):
        return "place"
    return None


def asks_negated(question: str) -> bool:
    """The question asks what did not happen or is not so ("Who did not vote for it?")."""
    return _NEGATION.search(_NOT_A_NEGATION.sub(" ", question)) is not None


def asks_cost(question: str) -> bool:
    """The question asks for a sum of money ("How much did it cost?", "how much will they pay?")."""
    return _COST.search(question) is not None


def names_money(sentence: str) -> bool:
    """The sentence names a sum of money: a currency sign or word."""
    return _MONEY.search(sentence) is not None


def question_names(question: str) -> list[str]:
    """The names a question uses: capitalized words and acronyms that do not open one of its sentences."""
    names = []
    for match in _QUESTION_NAME.finditer(question):
        word, before = match.group(), question[: match.start()].rstrip()
        if not before or before[-1] in '.?!:"“':
            continue  # opens a sentence: capitalized anyway
        acronym = word.isupper()  # "WHO" is the World Health Organization, not an asking word
        if "-" in word or (not acronym and (word.lower() in STOPWORDS or word.lower() in _NOT_NAMES)):
            continue
        names.append(word)
    return names


def names_any(names: Sequence[str], text: str) -> bool:
    """Whether `text` holds one of the names, met by their first five letters ("Brightwav" for
    "Brightwave", "Lloyds" for "Lloyd's"), or four for a people's name ("Chinese" for "China")."""
    lowered = text.lower().replace("’", "'")
    for name in names:
        name = re.sub(r"'s?$", "", name.lower().replace("’", "'"))
        start = name[:4] if len(name) >= 6 and name.endswith(("ese", "ian", "ish", "an")) else name[:5]
        if re.search(r"\b" + re.escape(start), lowered):
            return True
    return False


def says_negative(sentence: str) -> bool:
    """The sentence says something did not happen, is not so, or was refused, denied, banned..."""
    return _NEGATIVE.search(sentence) is not None


def unmet_negation(question: str, sentence: str) -> bool:
    """The question asks what did not happen or is not so, and the sentence says nothing negative.

    Such a sentence states the opposite, or only the topic: "When did the court find that the name did not
    infringe the trademark?" is not answered by "In July 2013 the court found that the name infringed it".
    """
    return asks_negated(question) and not says_negative(sentence)


def type_match(kind: str | None, sentence: str) -> float:
    """1.0 when the sentence holds something of the asked-for kind (anywhere), else 0.0."""
    pattern = {"number": _NUMBER, "date": _DATE, "name": _NAME, "place": _NAME}.get(kind or "")
    return 1.0 if pattern is not None and pattern.search(sentence) else 0.0


def idf(sentences: int, holding: int) -> float:
    """Weight of a term held by `holding` of `sentences` candidate sentences: rare terms say more."""
    return math.log(1 + sentences / (1 + holding))


def term_weights(terms: set[str], sentence_terms: Sequence[set[str]]) -> dict[str, float]:
    """IDF of each question term over the candidate sentences."""
    n = len(sentence_terms)
    return {t: idf(n, sum(t in words for words in sentence_terms)) for t in terms}


def _kind_of_answer(question: str) -> str | None:
    """answer_type, and "thing" for the other which/what questions (their answer is usually a name)."""
    return answer_type(question) or ("thing" if _WHICH_OR_WHAT.search(question) else None)


def _says_something_new(kind: str | None, question_words: set[str], sentence: str) -> bool:
    """The sentence holds a thing of the asked-for kind that the question does not already say."""
    if kind == "number":
        return any(
            m.group(0).lower().strip(",.") not in question_words for m in _NUMBER_TOKEN.finditer(sentence)
        )
    if kind == "date":
        return any(m.group(0) not in question_words for m in _YEAR.finditer(sentence)) or bool(
            _DATE.search(sentence)
        )
    if kind in ("name", "place", "thing"):
        for match in _CAPITALIZED.finditer(sentence):
            words = WORD.findall(match.group(0).lower())
            if any(w not in question_words and w not in STOPWORDS for w in words):
                return True
    return False


def _term_finder(terms: set[str]) -> re.Pattern[str]:
    """Finds, in one regex pass, the words that start with one of `terms`: `found_terms` keeps those whose
    `stem` is one of them, which is what `keywords` + `stem` find (tests/test_evidence.py)."""
    # keyword() reads ’ as ': a term with ' matches either in the text ("o'neill" in "O’Neill").
    alternatives = "|".join(re.escape(t).replace("'", "['’]") for t in sorted(terms, key=len, reverse=True))
    return re.compile(r"(?<![\w'’-])['’-]*(?:" + alternatives + r")[\w'’-]*", re.IGNORECASE)


def found_terms(
    finder: re.Pattern[str], terms: set[str], text: str, stem: Callable[[str], str] = stem
) -> Iterator[tuple[int, str]]:
    """(offset, term) of each word of `text` whose stem is one of `terms` (`finder` is their _term_finder)."""
    for match in finder.finditer(text):
        word = keyword(match.group())
        if word is not None and (term := stem(word)) in terms:
            yield match.start(), term


def passage_focus(question: str, texts: Sequence[str]) -> list[float]:
    """For each passage, how squarely one of its sentences answers: key-term share, doubled when it also
    names a new thing of the asked-for kind. 0.0 to 2.0; a passage that only mentions the topic in
    passing scores low even when its words match the question as a whole.
    """
    # Words meet here by their first six letters, not by `stem`, as chosen on the tuning sets: with `stem`,
    # news-2022-w2 recall@5 0.788 -> 0.758 and SQuAD recall@1 0.881 -> 0.875 (bench/results.md).
    terms = {prefix_stem(w) for w in keywords(question)}
    if not terms:
        return [0.0] * len(texts)
    finder = _term_finder(terms)
    # Per passage: (sentence, the question's terms it holds), found in one regex pass per passage and
    # placed by sentence end: running `keywords` on every sentence cost most of the time (9 -> 4 ms).
    per_passage: list[list[tuple[str, set[str]]]] = []
    sentence_count = 0
    for text in texts:
        ends = [span.end for span in split_sentences(text, drop_boilerplate=False)] or [len(text)]
        sentence_count += len(ends)
        held: dict[int, set[str]] = {}
        for start, term in found_terms(finder, terms, text, prefix_stem):
            held.setdefault(bisect.bisect_right(ends, start), set()).add(term)
        per_passage.append(
            [(text[ends[i - 1] if i else 0 : ends[i]].strip(), found) for i, found in held.items()]
        )
    documents = Counter(t for sentences in per_passage for _, found in sentences for t in found)
    weights = {t: idf(sentence_count, documents[t]) for t in terms}
    total = math.fsum(weights.values()) or 1.0
    kind = _kind_of_answer(question)
    question_words = set(WORD.findall(question.lower()))
    focus = []
    for sentences in per_passage:
        best = 0.0
        shares = sorted(  # fsum: the same sum in any set order, so the same ranking in every run
            ((math.fsum(weights[t] for t in found) / total, i) for i, (_, found) in enumerate(sentences)),
            reverse=True,
        )
        for share, i in shares:
            if share * 2 <= best:
                break  # no later sentence can win, even doubled
            sentence = sentences[i][0]
            if len(sentence) < MIN_SENTENCE_CHARS:
                continue
            if _says_something_new(kind, question_words, sentence):
                share *= 2
            if share > best and not is_boilerplate(sentence):
                best = share
        focus.append(best)
    return focus
