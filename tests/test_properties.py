"""Property tests: spans are exact and complete for any text; no input bytes crash ingest or the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qa.chunk import ChunkSettings, chunk_text, is_boilerplate_line, split_sentences
from qa.cli import app
from qa.embed import TokenCounter
from qa.indexer import model_cache_dir, model_dir_name, prepare_model
from qa.ingest import SUPPORTED_SUFFIXES, iter_articles
from qa.types import Article, Skipped

WORDS = st.sampled_from(
    [
        "The",
        "U.S.",
        "troops",
        "8,892",
        "Mr.",
        "Jan.",
        "said",
        "Share on Facebook",
        "Twitter",
        "é",
        "日本",
        "🙂",
        "a.m.",
        "...",
        "?",
        "!",
        '"Quote."',
        "(aside)",
        "x" * 40,
    ]
)
SEPARATORS = st.sampled_from([" ", "  ", ". ", "\n", "\n\n", "\t", " \n ", "\r\n"])
PROSE = st.lists(st.tuples(WORDS, SEPARATORS), max_size=120).map(lambda p: "".join(w + s for w, s in p))
ANY_TEXT = st.one_of(PROSE, st.text(max_size=600))


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    model_dir = model_cache_dir() / model_dir_name("all-MiniLM-L6-v2")
    prepare_model("all-MiniLM-L6-v2", model_dir)
    return TokenCounter(model_dir)


def _covered_by_boilerplate(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    return is_boilerplate_line(text[line_start : len(text) if line_end < 0 else line_end])


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_sentences_slice_exactly_and_cover_everything_but_boilerplate(text: str) -> None:
    spans = split_sentences(text)
    covered = [False] * len(text)
    previous_end = 0
    for span in spans:
        assert previous_end <= span.start < span.end <= len(text)
        sentence = text[span.start : span.end]
        assert sentence == sentence.strip() and sentence
        for i in range(span.start, span.end):
            covered[i] = True
        previous_end = span.end
    for i, ch in enumerate(text):
        if not covered[i] and not ch.isspace():
            assert _covered_by_boilerplate(text, i), (i, ch)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANY_TEXT, st.integers(min_value=8, max_value=64))
def test_chunks_slice_exactly_respect_the_limit_and_cover_all_sentences(
    counter: TokenCounter, text: str, limit: int
) -> None:
    chunks = chunk_text("a", text, counter.count, ChunkSettings(max_tokens=limit, target_tokens=limit // 2))
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
    if chunks:
        assert max(counter.count([c.text for c in chunks])) <= limit
    for span in split_sentences(text):
        for i in range(span.start, span.end):
            if not text[i].isspace():
                assert any(c.start <= i < c.end for c in chunks), (i, text[i])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([*sorted(SUPPORTED_SUFFIXES), ".bin", ""]))
def test_ingest_of_arbitrary_bytes_never_raises(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, suffix: str
) -> None:
    path = tmp_path_factory.mktemp("bytes") / f"input{suffix}"
    path.write_bytes(data)
    for item in iter_articles([path]):
        assert isinstance(item, Article | Skipped)
        if isinstance(item, Article):
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", item.text)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(min_size=0, max_size=2000), st.sampled_from(sorted(SUPPORTED_SUFFIXES)))
def test_cli_index_of_arbitrary_bytes_exits_cleanly(tmp_path: Path, data: bytes, suffix: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / f"input{suffix}").write_bytes(data)
    result = CliRunner().invoke(app, ["index", str(folder), "--index-dir", str(tmp_path / "index")])
    assert result.exit_code == 0, result.output
    assert "unexpected error" not in result.output
