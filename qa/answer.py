"""Compose a short extractive answer from the sentences of the retrieved passages, each one cited."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from qa.chunk import split_sentences
from qa.evidence import (
    MIN_SENTENCE_CHARS,
    answer_type,
    asks_cost,
    asks_negated,
    is_boilerplate,
    names_any,
    names_money,
    question_names,
    says_negative,
    term_weights,
    type_match,
)
from qa.retrieve import Candidate, to_hit
from qa.terms import keywords, stems
from qa.types import Answer, Citation, Hit

Encode = Callable[[list[str]], np.ndarray]
ArticleText = Callable[[str], str]  # article id -> its title and text

# Below this cosine between the question and its best sentence, no passage answers the question.
# Chosen on questions.jsonl sets (see bench/quality.py and bench/results.md).
FOUND_THRESHOLD = 0.40
MAX_SENTENCES = 3
SHORTLIST = 6  # sentences embedded per question
OVERLAP_WEIGHT = 0.35  # share of the question's key terms (IDF-weighted) the sentence holds
TYPE_WEIGHT = 0.12  # the sentence holds the kind of thing asked for (a number for "how many")
RANK_WEIGHT = 0.1  # sentences from better-ranked passages
EXTRA_MARGIN = 0.4  # a 2nd or 3rd sentence scores within this of the best
NEGATION_MARGIN = 0.1  # a "did not" question's answer may score this far below a best that is not negative
SEMANTIC_CHARS = 400
_MARKDOWN_MARK = re.compile(r"#{1,6}[ \t]+|(?:>[ \t]?)+")
_SENTENCE_END = re.compile(r"[.!?…:;][\"'”’)\]]*\s*$")
NOT_FOUND = "I could not find an answer to that in the indexed articles."
SNIPPET_CHARS = 420


@dataclass(frozen=True)
class ScoredSentence:
    passage: int  # index into the candidates
    start: int
    end: int
    text: str
    semantic: float
    score: float


def _sentences(candidates: Sequence[Candidate]) -> list[tuple[int, int, int, str]]:
    seen: set[tuple[str, int]] = set()
    out = []
    for p, cand in enumerate(candidates):
        for span in split_sentences(cand.row.text):
            text = cand.row.text[span.start : span.end]
            marker = _MARKDOWN_MARK.match(text)  # a heading's or a quote's marks are not the sentence
            cut = marker.end() if marker else 0
            text = text[cut:]
            start, end = cand.row.start + span.start + cut, cand.row.start + span.end
            key = (cand.row.article_id, start)
            if key in seen or len(text) < MIN_SENTENCE_CHARS or is_boilerplate(text):
                continue
            seen.add(key)
            out.append((p, start, end, text))
    return out


def score_sentences(
    question: str,
    question_vector: np.ndarray,
    candidates: Sequence[Candidate],
    encode: Encode,
    *,
    negated: bool | None = None,
) -> list[ScoredSentence]:
    """Rank candidate sentences cheaply (keywords, answer type, passage rank), then embed the best few.

    For a "did not" question (`negated`; by default read from `question`), a sentence that says something
    negative counts as the kind asked for.

    Embedding every sentence of every passage would cost most of the answer time; the keyword pass
    keeps the sentences worth a semantic look.
    """
    sentences = _sentences(candidates)
    if not sentences:
        return []
    terms = stems(question)
    words = [stems(s[3]) for s in sentences]
    weights = term_weights(terms, words)
    total = math.fsum(weights.values()) or 1.0  # fsum: the same in any set order, so in every run
    kind = answer_type(question)
    cost = kind == "number" and asks_cost(question)
    if negated is None:
        negated = asks_negated(question)
    question_words = " ".join(question.lower().split())
    cheap = []
    for (p, start, end, text), sentence_words in zip(sentences, words, strict=True):
        overlap = math.fsum(w for t, w in weights.items() if t in sentence_words) / total
        if text.rstrip(" \"'”’)").endswith("?") or question_words in " ".join(text.lower().split()):
            continue  # a question (quiz pages repeat the question) is not an answer
        kind_held = float(names_money(text)) if cost else type_match(kind, text)  # a cost is a sum of money
        kinds = kind_held + (1.0 if negated and says_negative(text) else 0.0)
        bonus = TYPE_WEIGHT * kinds + RANK_WEIGHT / (p + 2)
        cheap.append((OVERLAP_WEIGHT * overlap + bonus, overlap, p, start, end, text))
    if not cheap:
        return []
    cheap.sort(key=lambda c: c[0], reverse=True)
    shortlist = cheap[:SHORTLIST]
    # The start of a sentence says enough about its topic; unpunctuated walls of text would otherwise
    # pad the whole batch to the model's full length.
    semantic = encode([c[5][:SEMANTIC_CHARS] for c in shortlist]) @ question_vector.reshape(-1)
    scored = [
        ScoredSentence(p, start, end, text, float(sim), float(sim) + partial)
        for (partial, _, p, start, end, text), sim in zip(shortlist, semantic, strict=True)
    ]
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def best_sentence(
    scored: Sequence[ScoredSentence], negated: bool, threshold: float = FOUND_THRESHOLD
) -> ScoredSentence:
    """The best-scored sentence, unless a sentence just below it answers better.

    A "did not" question passes over a best sentence that says nothing negative for one within
    NEGATION_MARGIN that does ("Iceland did not take part in the talks." below the headline "Talks on
    fishing quotas collapse"). A headline gives way to the best sentence within EXTRA_MARGIN that answers:
    most often the one that says it in full ("Finance Minister Henrik Aalto refused to raise the fuel tax on
    Monday" for "Finance Minister Refuses to Raise Fuel Tax"), which as an extra would repeat the headline.
    """
    best = scored[0]
    if negated and not answers(best, negated, threshold):
        near = best.score - NEGATION_MARGIN
        best = next((s for s in scored if s.score >= near and answers(s, negated, threshold)), best)
    if _SENTENCE_END.search(best.text) is None:
        near = best.score - EXTRA_MARGIN
        best = next(
            (
                s
                for s in scored
                if s.score >= near
                and _SENTENCE_END.search(s.text) is not None
                and answers(s, negated, threshold)
            ),
            best,
        )
    return best


def answers(sentence: ScoredSentence, negated: bool, threshold: float = FOUND_THRESHOLD) -> bool:
    """Whether a sentence answers the question: close enough in meaning (`threshold`, chosen on
    questions.jsonl sets), and for a "did not" question (`negated`), saying something negative.
    """
    return sentence.semantic >= threshold and (not negated or says_negative(sentence.text))


def _snippet(cand: Candidate, start: int, end: int) -> tuple[str, int]:
    """The passage around a sentence, cut at word boundaries to about SNIPPET_CHARS characters."""
    row = cand.row
    room = max(SNIPPET_CHARS - (end - start), 0) // 2
    lo, hi = max(row.start, start - room), min(row.end, end + room)
    text = row.text[lo - row.start : hi - row.start]
    if (paragraph := text.rfind("\n\n", 0, start - lo)) >= 0:  # not the title or paragraph before it
        lo, text = lo + paragraph + 2, text[paragraph + 2 :]
    elif lo > row.start and " " in text[: start - lo]:
        cut = text.index(" ") + 1
        lo, text = lo + cut, text[cut:]
    if hi < row.end and " " in text[end - lo :]:
        text = text[: text.rindex(" ")]
    return text, lo


def _page(cand: Candidate, offset: int) -> int | None:
    starts = cand.row.page_starts
    return (sum(1 for s in starts if s <= offset) or 1) if starts else None


def compose(
    question: str,
    question_vector: np.ndarray,
    candidates: Sequence[Candidate],
    encode: Encode,
    *,
    threshold: float = FOUND_THRESHOLD,
    negated: bool | None = None,
    article_text: ArticleText | None = None,
) -> Answer:
    """Pick the 1-3 sentences that best answer the question and cite each; refuse below `threshold`.

    `negated`: whether the question asks what did not happen; by default read from `question` (a follow-up
    reads it from its own words, not from the previous question it is searched with). `article_text`
    (article id -> its title and text): with it, an answer whose articles name none of the names the
    question uses is refused ("How many jobs is Microsoft cutting?" is not answered about Brightwave).
    """
    return compose_each(
        question,
        question_vector,
        candidates,
        encode,
        (threshold,),
        negated=negated,
        article_text=article_text,
    )[0]


def compose_each(
    question: str,
    question_vector: np.ndarray,
    candidates: Sequence[Candidate],
    encode: Encode,
    thresholds: Sequence[float],
    *,
    negated: bool | None = None,
    extras_hold_words: bool = False,
    article_text: ArticleText | None = None,
) -> list[Answer]:
    """`compose` at each of `thresholds`, from one scoring of the sentences (the model runs once).

    `extras_hold_words`: a 2nd or 3rd sentence must hold one of the question's key words (a follow-up
    answered from the article the talk is about, whose sentences are all close to the earlier question).
    """
    if negated is None:
        negated = asks_negated(question)
    scored = score_sentences(question, question_vector, candidates, encode, negated=negated)
    passages = [to_hit(c) for c in candidates]
    words = stems(question) if extras_hold_words else None
    names = question_names(question) if article_text is not None else []
    named = _names_met(names, article_text)
    return [_answer(question, scored, candidates, passages, t, negated, words, named) for t in thresholds]


def _names_met(names: list[str], article_text: ArticleText | None) -> Callable[[set[str]], list[str]]:
    """A check of the articles an answer cites: the question's names when none of them is in those articles
    (the answer is about something else), else none. Each article is read once for all thresholds."""
    if not names or article_text is None:
        return lambda article_ids: []
    text_of = functools.cache(article_text)
    return lambda article_ids: [] if any(names_any(names, text_of(a)) for a in article_ids) else names


def _answer(
    question: str,
    scored: Sequence[ScoredSentence],
    candidates: Sequence[Candidate],
    passages: list[Hit],
    threshold: float,
    negated: bool,
    extras_hold: set[str] | None,
    missing_names: Callable[[set[str]], list[str]],
) -> Answer:
    if not scored:
        return Answer(
            question, "The indexed articles hold nothing related to this question.", False, [], list(passages)
        )

    best = best_sentence(scored, negated, threshold)
    found = answers(best, negated, threshold)
    if found:
        chosen = [best]
        for s in scored:
            if len(chosen) == MAX_SENTENCES or s.score < best.score - EXTRA_MARGIN:
                break
            # Extra sentences must carry content of their own ("Green light!" does not), end as a sentence
            # does (a headline only repeats the story's topic), and answer too.
            if (
                s is not best
                and len(keywords(s.text)) >= 4
                and _SENTENCE_END.search(s.text) is not None
                and answers(s, negated, threshold)
                and not any(_overlaps(s, c) for c in chosen)
                and (not extras_hold or not extras_hold.isdisjoint(stems(s.text)))
            ):
                chosen.append(s)
    unnamed = missing_names({candidates[s.passage].row.article_id for s in chosen}) if found else []
    if unnamed:
        found = False
    if not found:
        chosen = _closest_per_passage(scored, 3)

    citations: list[Citation] = []
    parts: list[str] = []
    for s in chosen:
        cand = candidates[s.passage]
        snippet, snippet_start = _snippet(cand, s.start, s.end)
        n = len(citations) + 1
        citations.append(
            Citation(
                n=n,
                article_id=cand.row.article_id,
                title=cand.row.title,
                source=cand.row.source,
                date=cand.row.date,
                start=s.start,
                end=s.end,
                sentence=s.text,
                snippet=snippet,
                snippet_start=snippet_start,
                page=_page(cand, s.start),
                also_sources=cand.also_sources,
            )
        )
        parts.append(f"{_one_line(s.text)} [{n}]")
    if found:
        text = " ".join(parts)
    elif unnamed:
        text = f"{NOT_FOUND} The closest passages are in the sources, but their articles do not mention {_either(unnamed)}."
    elif best.semantic >= threshold:  # close in meaning, refused as it says nothing negative: say why
        text = f"{NOT_FOUND} The closest passages are in the sources, but none of the sentences nearest the question says that something did not happen."
    else:
        text = f"{NOT_FOUND} The closest passages are in the sources."
    return Answer(question, text, found, citations, list(passages), unmentioned=list(unnamed))


def _either(names: Sequence[str]) -> str:
    names = list(dict.fromkeys(names))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _overlaps(a: ScoredSentence, b: ScoredSentence) -> bool:
    if a.passage == b.passage and a.start < b.end and b.start < a.end:
        return True
    wa, wb = set(keywords(a.text)), set(keywords(b.text))
    return bool(wa and wb) and len(wa & wb) / min(len(wa), len(wb)) > 0.7


def _closest_per_passage(scored: Sequence[ScoredSentence], limit: int) -> list[ScoredSentence]:
    chosen: list[ScoredSentence] = []
    passages: set[int] = set()
    for s in scored:
        if s.passage not in passages:
            chosen.append(s)
            passages.add(s.passage)
        if len(chosen) == limit:
            break
    return chosen


def _one_line(text: str) -> str:
    return " ".join(text.split())
