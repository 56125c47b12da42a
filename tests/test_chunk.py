"""Sentences and chunks keep exact spans and respect the model's token limit."""

from __future__ import annotations

import itertools

import pytest

from qa.chunk import ChunkSettings, chunk_text, is_boilerplate_line, split_sentences
from qa.embed import TokenCounter
from qa.indexer import model_cache_dir, model_dir_name, prepare_model
from tests.conftest import SEED_FILE


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    model_dir = model_cache_dir() / model_dir_name("all-MiniLM-L6-v2")
    prepare_model("all-MiniLM-L6-v2", model_dir)
    return TokenCounter(model_dir)


def test_sentences_of_the_seed_slice_exactly() -> None:
    text = SEED_FILE.read_text()
    spans = split_sentences(text)
    sentences = [text[s.start : s.end] for s in spans]
    assert (
        "A Pentagon report released in November said there were 8,892 U.S. troops in Iraq as of late September."
        in sentences
    )
    assert all(s == s.strip() and s for s in sentences)


def test_abbreviations_do_not_split() -> None:
    text = "U.S. Secretary of Defense Jim Mattis met Mr. Smith on Jan. 6 at 3 p.m. in Washington. He left."
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    assert sentences == [
        "U.S. Secretary of Defense Jim Mattis met Mr. Smith on Jan. 6 at 3 p.m. in Washington.",
        "He left.",
    ]


def test_share_buttons_are_boilerplate() -> None:
    assert is_boilerplate_line("Share on Facebook Share on Twitter")
    assert is_boilerplate_line("Share this article | Email | Print")
    assert not is_boilerplate_line("Facebook shares fell 5% on Twitter's news.")
    text = "Real sentence here.\n\nShare on Facebook Share on Twitter\n"
    assert [text[s.start : s.end] for s in split_sentences(text)] == ["Real sentence here."]


def test_seed_chunks_slice_exactly_fit_the_limit_and_overlap(counter: TokenCounter) -> None:
    text = SEED_FILE.read_text()
    settings = ChunkSettings(max_tokens=counter.content_limit)
    chunks = chunk_text("seed", text, counter.count, settings)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
    assert max(counter.count([c.text for c in chunks])) <= counter.content_limit
    # consecutive chunks share one sentence
    assert all(b.start < a.end for a, b in itertools.pairwise(chunks))
    assert "Share on Facebook" not in " ".join(c.text for c in chunks)


def test_one_huge_sentence_is_cut_to_the_limit(counter: TokenCounter) -> None:
    text = "The committee " + " ".join(f"reviewed item{i} and" for i in range(600)) + " adjourned."
    settings = ChunkSettings(max_tokens=counter.content_limit)
    chunks = chunk_text("long", text, counter.count, settings)
    assert len(chunks) > 1
    assert max(counter.count([c.text for c in chunks])) <= counter.content_limit
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text


def test_unbroken_blob_is_cut_by_characters(counter: TokenCounter) -> None:
    text = "Data: " + "x9Q" * 3000
    chunks = chunk_text("blob", text, counter.count, ChunkSettings(max_tokens=counter.content_limit))
    assert max(counter.count([c.text for c in chunks])) <= counter.content_limit
    assert "".join(text[c.start : c.end] for c in chunks).replace(" ", "") == text.replace(" ", "")
