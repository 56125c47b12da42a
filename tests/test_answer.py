"""Asking the seed index: the answer, its citations and their exact spans."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.answer import ScoredSentence, answers, best_sentence, compose
from qa.core import QA, followup_context, followup_query
from qa.evidence import asks_negated
from qa.retrieve import Candidate
from qa.store import ChunkRow
from qa.types import Answer
from tests.conftest import SEED_FILE, SEED_QUESTION


def test_seed_question_answers_8892_with_exact_citation(seed_qa: QA) -> None:
    answer = seed_qa.ask(SEED_QUESTION)
    assert answer.found
    assert "8,892" in answer.text
    assert "[1]" in answer.text
    cited = next(c for c in answer.citations if "8,892" in c.sentence)
    article = seed_qa.article(cited.article_id)
    assert article is not None
    assert article.text[cited.start : cited.end] == cited.sentence
    assert cited.sentence == (
        "A Pentagon report released in November said there were 8,892 U.S. troops in Iraq as of late September."
    )
    assert cited.title == "Facing Trump's demands, NATO to consider larger Iraq training mission"
    assert cited.source.endswith(SEED_FILE.name)
    assert cited.sentence in cited.snippet
    assert article.text[cited.snippet_start : cited.snippet_start + len(cited.snippet)] == cited.snippet


def test_every_citation_span_slices_its_sentence(seed_qa: QA) -> None:
    for question in (
        "Who sent a letter to NATO headquarters?",
        "When did Iraq declare victory against Daesh?",
    ):
        answer = seed_qa.ask(question)
        assert answer.citations
        for c in answer.citations:
            article = seed_qa.article(c.article_id)
            assert article is not None and article.text[c.start : c.end] == c.sentence
            assert f"[{c.n}]" in answer.text or not answer.found


def test_followup_letter_question_names_mattis(seed_qa: QA) -> None:
    answer = seed_qa.ask("Who sent a letter to NATO headquarters in January?")
    assert answer.found and "Mattis" in answer.text


def test_unanswerable_question_is_refused_with_closest_passages(seed_qa: QA) -> None:
    answer = seed_qa.ask("What is the recipe for a classic French onion soup?")
    assert not answer.found
    assert "could not find" in answer.text
    assert answer.citations  # the closest passages are still shown
    assert "8,892" not in answer.text


def test_a_did_not_question_is_refused_when_the_passages_only_say_it_did(seed_qa: QA) -> None:
    # Mattis sent the letter; nothing says who did not.
    refused = seed_qa.ask("Who did not send a letter to NATO headquarters in January?")
    assert not refused.found and "Mattis" not in refused.text
    assert "says that something did not happen" in refused.text  # why a close passage is not used
    assert any("Mattis sent a letter" in c.sentence for c in refused.citations)  # shown as the closest
    answered = seed_qa.ask("What role is the United States not pushing for in Iraq?")
    assert answered.found and "not in a combat role" in answered.text


def test_a_did_not_question_passes_over_a_headline_for_the_negative_sentence_just_below() -> None:
    question = "Which country did not take part in the fishing talks?"
    headline = ScoredSentence(0, 0, 44, "Talks on fishing quotas collapse in Brussels", 0.53, 0.87)
    iceland = ScoredSentence(0, 90, 129, "Iceland did not take part in the talks.", 0.50, 0.82)
    assert asks_negated(question)
    assert best_sentence([headline, iceland], negated=True) is iceland
    collapsed = ScoredSentence(0, 45, 89, "The talks on fishing quotas collapsed on Friday.", 0.53, 0.87)
    far_below = ScoredSentence(0, 90, 129, "Iceland did not take part in the talks.", 0.50, 0.70)
    assert best_sentence([collapsed, far_below], negated=True) is collapsed  # and so the question is refused
    assert not answers(collapsed, negated=True)
    # A question without a negation keeps the best-scored sentence, even one below the threshold...
    assert best_sentence([collapsed, iceland], negated=False) is collapsed
    weak = ScoredSentence(0, 45, 89, "The talks on fishing quotas collapsed on Friday.", 0.38, 0.87)
    assert best_sentence([weak, iceland], negated=False) is weak
    # ...except a headline, for a sentence that says the same in full with the names and numbers.
    title = ScoredSentence(0, 0, 42, "Finance Minister Refuses to Raise Fuel Tax", 0.61, 1.01)
    full = ScoredSentence(
        0, 44, 130, "Finance Minister Henrik Aalto refused to raise the fuel tax on Monday.", 0.42, 0.82
    )
    assert best_sentence([title, full], negated=False) is full


def test_answers_hold_sentences_not_headlines_or_markdown_marks(seed_qa: QA) -> None:
    text = (
        "# Magnitude 6.1 earthquake strikes off coast of Pelora\n\n"
        "A magnitude 6.1 earthquake struck off the coast of Pelora early on Tuesday, the survey said. "
        "At least 14 people were injured in the coastal town of Marisco.\n\n"
        "## Pelora earthquake injures 14 in Marisco\n\n"
        "Rescue teams searched collapsed buildings in Marisco through the night."
    )
    row = ChunkRow(1, "quake", "Earthquake", "quake.md", None, 0, len(text), text, ())
    _, _, embedder, sentence_embedder = seed_qa._reader()
    question = "How many people were injured by the Pelora earthquake?"
    answer = compose(
        question, embedder.encode([question])[0], [Candidate(row, 1.0)], sentence_embedder.encode
    )
    assert answer.found and "14" in answer.text and "#" not in answer.text
    for c in answer.citations:
        assert text[c.start : c.end] == c.sentence and not c.sentence.startswith("#")
    # A headline may answer, but it is never added after the answer: it only repeats the topic.
    assert all(c.sentence.endswith((".", "!", "?")) for c in answer.citations[1:])


def test_a_follow_up_reads_its_negation_from_its_own_words(seed_qa: QA) -> None:
    # The previous question's "not" must not make the follow-up a "did not" question.
    assert not seed_qa.ask("and when?").found  # alone it says too little
    followup = seed_qa.ask("and when?", context="Who did not send a letter to NATO headquarters?")
    assert followup.found and "January" in followup.text


def test_a_follow_up_meets_its_word_in_another_form(seed_qa: QA) -> None:
    # "call" in the follow-up, "calling" in the sentence that answers it.
    followup = seed_qa.ask("what did it call for?", context="Who sent a letter to NATO headquarters?")
    assert followup.found and "calling for a formal NATO mission" in followup.text


def test_a_follow_up_that_cannot_be_checked_does_not_repeat_the_previous_answer(seed_qa: QA) -> None:
    # "and why?" has no word of its own and asks for no kind of thing that could be checked.
    assert not seed_qa.ask("and why?", context=SEED_QUESTION).found


def test_share_buttons_never_reach_answers(seed_qa: QA) -> None:
    for question in ("Share on Facebook", "Where can I share this on Twitter?"):
        answer = seed_qa.ask(question)
        assert all("Share on" not in c.sentence and "Share on" not in c.snippet for c in answer.citations)


def test_search_returns_ranked_passages_with_spans(seed_qa: QA) -> None:
    hits = seed_qa.search("NATO training mission in Iraq", k=3)
    assert 1 <= len(hits) <= 3
    article = seed_qa.article(hits[0].article_id)
    assert article is not None
    for hit in hits:
        assert article.text[hit.start : hit.end] == hit.text
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_followup_uses_the_previous_question_only_when_it_reads_like_one(seed_qa: QA) -> None:
    followup = seed_qa.ask("and how many trainers did NATO have?", context=SEED_QUESTION)
    assert followup.found and "less than 20" in followup.text
    unrelated = seed_qa.ask("What is the boiling point of mercury?", context=SEED_QUESTION)
    assert not unrelated.found and "8,892" not in unrelated.text


def test_keyword_search_thread_is_closed_with_the_index_and_reopened_on_demand(seed_index: Path) -> None:
    qa = QA(seed_index)
    first = qa.ask(SEED_QUESTION)
    assert qa._keyword_thread is not None
    threads = set(qa._keyword_thread._threads)
    assert threads and all(t.is_alive() for t in threads)
    qa.close()
    assert not any(t.is_alive() for t in threads)
    again = qa.ask(SEED_QUESTION)
    assert again.text == first.text and "8,892" in again.text
    qa.close()


@pytest.mark.parametrize(
    "question",
    [SEED_QUESTION, "Who is NATO's secretary general?", "training mission", "What is the capital of France?"],
)
def test_ask_draws_on_the_passages_search_finds(seed_qa: QA, question: str) -> None:
    # ask searches the vectors while its keyword search runs on another thread; search does both in
    # turn: the passages, their order and their scores must be the same.
    asked = seed_qa.ask(question, k=3).passages
    searched = seed_qa.search(question, k=3)
    assert [(h.chunk_id, round(h.score, 6)) for h in asked] == [
        (h.chunk_id, round(h.score, 6)) for h in searched
    ]


BRIDGE = """City Council Approves Harbor Bridge Repairs

The Riverton City Council voted 6-3 on Tuesday to approve $48 million in repairs to the aging Harbor Bridge.
Mayor Linda Okafor said the work would begin in May and last about eighteen months.
The bridge carries roughly 31,000 vehicles a day.
"""
HOSPITAL = """St. Anne's Opens New Wing

St. Anne's Hospital opened its new children's wing on Friday after two years of construction.
The wing cost 120 million dollars and has 80 beds.
Doctors said the wing would shorten waiting times across the region.
"""


@pytest.fixture(scope="module")
def bridge_and_hospital(tmp_path_factory: pytest.TempPathFactory) -> QA:
    folder = tmp_path_factory.mktemp("articles")
    (folder / "bridge.txt").write_text(BRIDGE)
    (folder / "hospital.txt").write_text(HOSPITAL)
    qa = QA(tmp_path_factory.mktemp("index"))
    qa.index([folder])
    return qa


def test_a_follow_up_stays_with_the_articles_of_the_answer_before(bridge_and_hospital: QA) -> None:
    qa = bridge_and_hospital
    first = qa.ask("What did the Riverton council approve for the Harbor Bridge?")
    assert first.found and "$48 million" in first.text
    earlier = [c.article_id for c in first.citations]
    followup = qa.ask("how much did it cost?", context=first.question, context_articles=earlier)
    assert followup.found and "$48 million" in followup.text and "120 million" not in followup.text
    # A question of its own is answered from wherever its answer is, a short one too.
    short = qa.ask("How many beds?", context=first.question, context_articles=earlier)
    assert short.found and "80 beds" in short.text
    other = qa.ask("How many beds does the new wing have?", context=first.question, context_articles=earlier)
    assert other.found and "80 beds" in other.text


def test_a_bare_follow_up_asks_the_question_it_leans_on_its_own_way(bridge_and_hospital: QA) -> None:
    qa = bridge_and_hospital
    talk: list[tuple[str, Answer]] = []
    for question in ("What did the Riverton council approve for the Harbor Bridge?", "and why?"):
        context, articles = followup_context(talk)
        talk.append((question, qa.ask(question, context=context, context_articles=articles)))
    context, articles = followup_context(talk)
    assert context == talk[0][0]  # "and why?" has nothing to lean on
    assert set(articles) >= {c.article_id for c in talk[0][1].citations}
    assert followup_query("when?", context) == "When did the Riverton council approve for the Harbor Bridge?"
    answer = qa.ask("when?", context=context, context_articles=articles)
    assert answer.found and "on Tuesday" in answer.text


def test_a_follow_up_is_searched_as_the_question_it_leans_on_asked_its_way() -> None:
    before = "What did the finance minister refuse?"
    assert followup_query("when?", before) == "When did the finance minister refuse?"
    assert followup_query("and what about when?", before) == "When did the finance minister refuse?"
    assert followup_query("what year?", before) == "What year did the finance minister refuse?"
    # Only an asking word followed by "did", "is", "will"... can be swapped; else both questions go together.
    assert followup_query("when?", "Which bridge did they close?") == "Which bridge did they close? when?"
    assert followup_query("and when?", "Who sent a letter?") == "Who sent a letter? and when?"
    assert followup_query("how much did it cost?", before) == f"{before} how much did it cost?"


def test_a_refusal_does_not_say_what_the_talk_is_about(bridge_and_hospital: QA) -> None:
    refused = bridge_and_hospital.ask("What is the boiling point of mercury?")
    assert not refused.found and refused.citations  # its closest passages are cited
    assert followup_context([("What is the boiling point of mercury?", refused)]) == (
        "What is the boiling point of mercury?",
        [],
    )


BUDGET = """Riverton Council Delays Vote on 2025 Budget

The Riverton City Council postponed its vote on the $86 million annual budget on Tuesday after a four-hour public hearing.
More than 120 residents attended the meeting at City Hall to oppose a proposed 3 percent property tax increase.
Councilwoman Susan Ito proposed cutting $1.5 million from the parks department instead.
The council decided to hold a second hearing on March 4.
"""


def test_a_follow_up_takes_its_own_words_from_the_article_of_the_talk(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "budget.txt").write_text(BUDGET)
    (folder / "hospital.txt").write_text(HOSPITAL)
    qa = QA(tmp_path / "index")
    qa.index([folder])
    first = qa.ask("Why did the council delay the budget vote?")
    assert first.found
    context, articles = followup_context([(first.question, first)])
    followup = qa.ask("what did they decide?", context=context, context_articles=articles)
    # Less like both questions together than the 0.40 a question needs, but the talk's article, in its words.
    assert followup.found and "second hearing on March 4" in followup.text
    assert not qa.ask("what did they decide?").found  # alone, nothing says so


def test_a_follow_up_asking_who_needs_its_own_words_not_just_a_name(bridge_and_hospital: QA) -> None:
    qa = bridge_and_hospital
    first = qa.ask("What did the Riverton council approve for the Harbor Bridge?")
    context, articles = followup_context([(first.question, first)])
    # The bridge article names a council and a mayor, but says nothing of who opened it.
    assert not qa.ask("Who opened it?", context=context, context_articles=articles).found


WIRE_BRIDGE = """State to Replace Harlow River Bridge

CAPITAL CITY (AP) - The state will spend $310 million to replace the 68-year-old Harlow River bridge, officials said.
Construction is scheduled to begin in March 2026 and take about four years.
Inspectors rated the bridge's deck in poor condition in 2023.
"""
FIRE_STATION = """Riverton Picks Site for New Fire Station

The new fire station, on Miller Road, is expected to cost $6.7 million and open in the spring of 2027.
Fire Chief Marcus Lee said the station would cut response times on the east side.
"""
HOCKEY = """Riverton Wins Hockey Final

The Riverton Hawks beat the Dover Mariners 4-2 on Saturday to win the state hockey final.
It was the Hawks' first state title since 1998, and 11,402 fans watched the game.
"""


def test_a_follow_up_that_points_back_is_answered_from_the_article_of_the_talk(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for name, text in (("bridge.txt", WIRE_BRIDGE), ("station.txt", FIRE_STATION), ("hockey.txt", HOCKEY)):
        (folder / name).write_text(text)
    qa = QA(tmp_path / "index")
    qa.index([folder])

    def followup(first_question: str, question: str) -> Answer:
        first = qa.ask(first_question)
        assert first.found
        context, articles = followup_context([(first.question, first)])
        return qa.ask(question, context=context, context_articles=articles)

    # The bridge article gives its sum without the word "cost"; the fire station's does not lure it away.
    answer = followup("When will construction on the Harlow River bridge begin?", "how much will it cost?")
    assert answer.found and "$310 million" in answer.text and "6.7 million" not in answer.text
    # Its other sentences hold none of the follow-up's words: the answer is the one sentence that does.
    assert len(answer.citations) == 1
    # A cost is a sum of money: not the score, the year or the crowd of the game the talk is about.
    assert not followup("Who won the state hockey final?", "how much did it cost?").found


def test_an_answer_about_something_the_question_does_not_name_is_refused(bridge_and_hospital: QA) -> None:
    qa = bridge_and_hospital
    named = qa.ask("How much did the Riverton council approve for bridge repairs?")
    assert named.found and "$48 million" in named.text
    # Another city's council: the bridge article is close in meaning, but it is not about Oakland.
    other = qa.ask("How much did the Oakland council approve for bridge repairs?")
    assert not other.found
    assert other.text.endswith("but their articles do not mention Oakland.") and other.unmentioned == [
        "Oakland"
    ]
    assert other.citations and other.citations[0].sentence  # the closest passages are still shown
