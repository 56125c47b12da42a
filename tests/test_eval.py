"""`qa eval` and qa.evaluate on a small question set written here, with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.answer import FOUND_THRESHOLD
from qa.cli import app
from qa.core import QA
from qa.evaluate import KEYS, answer_pattern, evaluate, holds, ranked_passages, refusal_sweep

runner = CliRunner()

ARTICLES = [
    {
        "id": "bridge",
        "title": "Harbor bridge reopens",
        "url": "",
        "date": "2022-03-01",
        "text": (
            "The Lindqvist Bridge over Harbor Bay reopened on Monday after two years of repairs. "
            "The repairs cost 48 million dollars, the city said. "
            "Mayor Ellen Okafor cut the ribbon at the opening ceremony."
        ),
    },
    {
        "id": "orchard",
        "title": "Orchard harvest",
        "url": "",
        "date": "2022-09-12",
        "text": (
            "Farmers in the Tamsin Valley picked a record apple harvest this autumn. "
            "The most planted variety in the valley is the Honeycrisp apple. "
            "Warm days and cool nights gave the fruit its colour."
        ),
    },
    {
        "id": "telescope",
        "title": "Observatory telescope",
        "url": "",
        "date": "2022-05-20",
        "text": (
            "A new telescope at the Carrow Ridge Observatory saw its first light in May. "
            "Its main mirror measures 6.5 meters across. "
            "Astronomers plan to use it to study distant galaxies."
        ),
    },
]
QUESTIONS = [
    {
        "id": "q1",
        "question": "Who cut the ribbon at the Lindqvist Bridge opening?",
        "answer": "Ellen Okafor",
        "gold_articles": ["bridge"],
    },
    {
        "id": "q2",
        "question": "What is the most planted apple variety in the Tamsin Valley?",
        "answer": "honeycrisp",
        "gold_articles": ["orchard"],
    },
    {
        "id": "q3",
        "question": "How wide is the main mirror of the Carrow Ridge Observatory telescope?",
        "answer": "6.5 meters",
        "gold_articles": ["telescope"],
    },
    {
        "id": "q4",
        "question": "Which team won the 1998 football World Cup final?",
        "answer": None,
        "gold_articles": [],
    },
]
OUT_FIELDS = {"id", "question", "gold", "answer", "found", "hit", "passages"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("eval-data")
    for name, records in (("articles.jsonl", ARTICLES), ("questions.jsonl", QUESTIONS)):
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return folder


def test_whole_word_match_ignores_case_quotes_and_spacing() -> None:
    assert holds(answer_pattern("Squid Game"), "the  new season of\nsquid game was")
    assert holds(answer_pattern("Biden’s plan"), "President Biden's plan")
    assert not holds(answer_pattern("Four"), "fourteen people")
    assert not holds(answer_pattern("$5"), "a $50 note")
    assert holds(answer_pattern("U.S."), "troops of the U.S. army")


def test_evaluate_scores_and_writes_rows(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    qa = QA(tmp_path / "index")
    metrics = evaluate(qa, data_dir, out=out)
    assert set(metrics) == set(KEYS)
    assert metrics["questions"] == 4
    for key in ("recall@1", "recall@5", "recall@10", "mrr@10", "answer_hit"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["recall@10"] == 1.0 and metrics["recall@1"] == 1.0
    assert metrics["answer_hit"] == 1.0
    assert metrics["refused_when_absent"] == 1.0 and metrics["refused_when_present"] == 0.0
    assert 0 < metrics["p50_ms"] <= metrics["p95_ms"] and metrics["index_seconds"] > 0
    assert metrics["method"] == "hybrid" and metrics["precision"] == "int8" and metrics["chunks"] > 0

    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["q1", "q2", "q3", "q4"]
    for row in rows:
        assert set(row) >= OUT_FIELDS
        assert row["passages"] and {"article_id", "start", "end", "score"} <= set(row["passages"][0])
        assert 0.0 < row["confidence"] <= 1.0
    assert rows[0]["gold"] == "Ellen Okafor" and "Ellen Okafor" in rows[0]["answer"] and rows[0]["hit"]
    assert rows[0]["passages"][0]["article_id"] == "bridge"
    assert rows[3]["found"] is False and rows[3]["hit"] is None
    # `found` is `confidence >= FOUND_THRESHOLD` with no unmet negation and no names the articles lack: the
    # sweep at it reproduces the measured refusals.
    assert all(
        (row["confidence"] >= FOUND_THRESHOLD and not row["unmet_negation"] and not row["unmentioned"])
        == row["found"]
        for row in rows
    )
    at_threshold = next(s for s in refusal_sweep(rows, [FOUND_THRESHOLD]))
    assert at_threshold["refused_when_absent"] == metrics["refused_when_absent"]
    assert at_threshold["refused_when_present"] == metrics["refused_when_present"]

    # An index that already holds the articles is reused: nothing is embedded again.
    from qa.indexer import run_index

    assert run_index(qa.index_dir, [data_dir / "articles.jsonl"]).chunks_embedded == 0


@pytest.mark.parametrize("method", ["hybrid", "dense", "bm25"])
def test_ranked_passages_are_what_ask_composes_from(data_dir: Path, tmp_path: Path, method: str) -> None:
    qa = QA(tmp_path / "index")
    qa.index([data_dir / "articles.jsonl"])
    for q in QUESTIONS:
        expected = qa.ask(q["question"], 10, method=method).passages
        assert ranked_passages(qa, q["question"], 10, method) == expected


def test_cli_eval_json_and_out(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-rows.jsonl"
    result = runner.invoke(
        app,
        ["eval", str(data_dir), "--json", "--out", str(out), "--method", "bm25"],
        env={"QA_INDEX_DIR": str(tmp_path / "cli-index")},
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert set(metrics) == set(KEYS) and metrics["questions"] == 4
    assert metrics["recall@10"] == 1.0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and all(set(json.loads(line)) >= OUT_FIELDS for line in lines)


def test_cli_eval_missing_questions_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "articles.jsonl").write_text(json.dumps(ARTICLES[0]) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", str(tmp_path), "--index-dir", str(tmp_path / "index")])
    assert result.exit_code == 2
    assert "questions.jsonl is missing" in result.output


def test_cli_eval_bad_out_or_unreadable_articles_are_one_line_errors(data_dir: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    bad_out = tmp_path / "no-such-folder" / "rows.jsonl"
    result = runner.invoke(app, ["eval", str(data_dir), "--out", str(bad_out), "--index-dir", str(index_dir)])
    assert result.exit_code == 2 and f"cannot write {bad_out}" in result.stderr
    assert not index_dir.exists()  # known before anything was indexed
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "articles.jsonl").write_text("{not json\n", encoding="utf-8")
    (broken / "questions.jsonl").write_text((data_dir / "questions.jsonl").read_text(), encoding="utf-8")
    result = runner.invoke(app, ["eval", str(broken), "--index-dir", str(tmp_path / "index2")])
    assert result.exit_code == 2 and "holds no article that could be read" in result.stderr
