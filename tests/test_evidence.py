"""Passage focus: the passage whose sentence answers the question comes first, the same in every run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

from qa.chunk import split_sentences
from qa.evidence import _term_finder, found_terms, names_any, passage_focus, question_names, unmet_negation
from qa.retrieve import Candidate, focus
from qa.store import ChunkRow
from qa.terms import keywords, prefix_stem, stem
from tests.conftest import ROOT, SEED_FILE, SEED_QUESTION

SEED_TEXT = SEED_FILE.read_text(encoding="utf-8")
QUESTIONS = [
    SEED_QUESTION,
    "Who sent a letter to NATO headquarters?",
    "What did Trump's defense secretary ask NATO's allies?",
    "When did Iraq declare victory against Daesh?",
]


def _paragraphs() -> list[str]:
    return [p for p in SEED_TEXT.split("\n") if len(p.split()) > 12]


@pytest.mark.parametrize("stemmer", [stem, prefix_stem])
def test_term_finder_finds_what_keywords_and_stem_find(stemmer: Callable[[str], str]) -> None:
    sentences = [SEED_TEXT[s.start : s.end] for s in split_sentences(SEED_TEXT)]
    sentences.append("Officials called for talks; the vote-counting calls and votes were 'calling' it.")
    sentences.append("O’Neill and O'Neill's aides said Côte d’Ivoire would vote.")
    for question in [*QUESTIONS, "Who called the vote on the talks?", "What did O’Neill say about d'Ivoire?"]:
        terms = {stemmer(w) for w in keywords(question)}
        finder = _term_finder(terms)
        for sentence in sentences:
            found = {term for _, term in found_terms(finder, terms, sentence, stemmer)}
            assert found == {stemmer(w) for w in keywords(sentence)} & terms, sentence


def test_stem_meets_inflections_but_keeps_short_and_protected_words() -> None:
    assert {stem(w) for w in ("call", "calls", "called", "calling")} == {"call"}
    assert {stem(w) for w in ("vote", "voted", "votes")} == {"vot"}
    assert stem("announced") == stem("announcement")
    assert [stem(w) for w in ("news", "spring", "speed", "press", "bus")] == [
        "news",
        "spring",
        "speed",
        "press",
        "bus",
    ]


def test_the_paragraph_that_states_the_troop_count_has_the_most_focus() -> None:
    paragraphs = _paragraphs()
    scores = passage_focus(SEED_QUESTION, paragraphs)
    best = paragraphs[scores.index(max(scores))]
    assert "8,892 U.S. troops in Iraq" in best
    # Naming the asked-for kind (a number the question does not hold) doubles the sentence's share.
    assert max(scores) > 1.0
    assert all(0.0 <= s <= 2.0 for s in scores)


def test_a_question_without_key_terms_gives_no_focus() -> None:
    assert passage_focus("What is it?", _paragraphs()[:3]) == [0.0, 0.0, 0.0]


def test_focus_reorders_only_the_head_and_never_lowers_a_score() -> None:
    paragraphs = _paragraphs()
    rows = [ChunkRow(i, "a", "t", "s", None, 0, len(p), p, ()) for i, p in enumerate(paragraphs)]
    # Fused order: the troop-count paragraph last of the head.
    target = next(i for i, p in enumerate(paragraphs) if "8,892" in p)
    others = [i for i in range(len(rows)) if i != target]
    order = [*others[:4], target, *others[4:]]
    candidates = [Candidate(rows[i], 1.0 - n / 100) for n, i in enumerate(order)]
    refocused = list(focus(SEED_QUESTION, candidates, depth=5))
    assert refocused[0].row.chunk_id == target
    assert refocused[5:] == candidates[5:]
    before = {c.row.chunk_id: c.fused for c in candidates}
    assert all(c.fused >= before[c.row.chunk_id] for c in refocused)


def test_focus_is_the_same_under_any_hash_seed() -> None:
    """Set order follows the hash seed; the scores (and so the ranking) must not."""
    script = (
        "import json, sys; from qa.evidence import passage_focus; "
        "q, texts = json.load(sys.stdin); print(json.dumps(passage_focus(q, texts)))"
    )
    payload = json.dumps([QUESTIONS[2], _paragraphs()])
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", script],
            input=payload,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_a_did_not_question_is_unmet_by_a_sentence_that_says_nothing_negative() -> None:
    skydrive = (
        "When did the English High Court of Justice find that Microsoft's use of the term SkyDrive did not "
        "infringe on Sky's right to the Sky trademark?"
    )
    infringed = (
        "In July 2013, the English High Court of Justice found that Microsoft's use of the term infringed."
    )
    assert unmet_negation(skydrive, infringed)
    assert not unmet_negation(
        skydrive, "In 2013 the court found that the term did not infringe the trademark."
    )
    assert not unmet_negation(skydrive, "The court refused the claim in July 2013.")  # negative without "not"
    assert unmet_negation("Which country hasn't signed the treaty?", "Forty countries signed the treaty.")
    # Not negations: a question either way, a ranking number, and questions without any.
    assert not unmet_negation("Is the process finished or not?", "The process finished in May.")
    assert not unmet_negation("Whether or not it can be solved is studied where?", "Computability theory.")
    assert not unmet_negation("Who beat the No. 2 seed?", "Serena Williams beat Anett Kontaveit.")
    assert not unmet_negation("Who won the final?", "Nadal won the final.")
    assert not unmet_negation(
        "Which country not only hosted the talks but chaired them?", "Norway hosted them."
    )
    assert not unmet_negation("Which firm no longer makes phones?", "Nokia stopped making phones in 2014.")
    assert unmet_negation("Which countries cannot vote?", "Twelve countries can vote.")
    # Falling shares, a match and an opposition are not negative statements.
    for sentence in ("Shares declined 3%.", "They played against Spain.", "The opposition leader spoke."):
        assert unmet_negation("Who did not attend?", sentence), sentence


def test_question_names_are_its_capitalized_words_that_do_not_open_a_sentence() -> None:
    assert question_names("How many jobs is Microsoft cutting?") == ["Microsoft"]
    assert question_names("Pfizer and BioNTech said what on Monday in July?") == ["BioNTech"]
    assert question_names("Who did the NATO chief meet? Which U-turn did the UK make?") == ["NATO", "UK"]
    assert question_names("what did they decide?") == []


def test_names_are_met_by_their_first_five_letters() -> None:
    assert names_any(["Brightwav"], "Brightwave Systems said on Monday")
    assert names_any(["Lloyds"], "Lloyd's bank")
    assert not names_any(["Microsoft"], "Brightwave Systems said on Monday")
    assert not names_any([], "anything")
    assert names_any(["O'Neill's"], "Kate O’Neill raised $4 million")  # straight and curly apostrophes
    assert names_any(["Chinese"], "tourists from China spent $5 billion")  # a people's name and its country
    assert question_names("What did the WHO say about the outbreak?") == ["WHO"]
