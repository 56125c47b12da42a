"""Measure retrieval and answers against a folder of articles and questions with gold answers.

The folder holds `articles.jsonl` ({"id", "title", "url", "date", "text"} a line) and
`questions.jsonl` ({"id", "question", "answer", "gold_articles"} a line). Questions with a non-empty
`gold_articles` are answerable: a passage or an answer holds the gold answer when the answer string
stands in it as whole words, case-insensitive. The others measure refusing.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.core import QA
from qa.errors import BadOption
from qa.retrieve import METHODS
from qa.types import Answer, Hit

ANSWER_K = 5  # what `qa ask` draws on by default: the answer is judged as a user would get it
INDEX_KEYS = ("method", "precision", "chunks")  # what was measured: the retrieval, the vectors, the size
KEYS = (
    "questions",
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "answer_hit",
    "refused_when_absent",
    "refused_when_present",
    "p50_ms",
    "p95_ms",
    "index_seconds",
    *INDEX_KEYS,
)
# (stage, done, total): stage is "index" (bytes of input) or "ask" (questions).
Progress = Callable[[str, int, int], None]

_QUOTES = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "′": "'",
        "`": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "″": '"',
    }
)


def normalize(text: str) -> str:
    """Curly quotes and apostrophes made straight, runs of whitespace made one space."""
    return " ".join(text.translate(_QUOTES).split())


def answer_pattern(answer: str) -> re.Pattern[str]:
    """Matches `answer` as whole words, case-insensitive, in `normalize`d text."""
    return re.compile(r"(?<!\w)" + re.escape(normalize(answer)) + r"(?!\w)", re.IGNORECASE)


def holds(pattern: re.Pattern[str], text: str) -> bool:
    return pattern.search(normalize(text)) is not None


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str | None
    gold_articles: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return bool(self.gold_articles)


def read_questions(path: Path) -> list[Question]:
    """The questions of a questions.jsonl file; a malformed line is an error naming the line."""
    out: list[Question] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadOption(f"cannot read {path}: {exc.strerror or exc}") from exc
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            question = str(record["question"])
            answer = record.get("answer")
            gold = tuple(str(a) for a in record.get("gold_articles") or ())
        except (ValueError, KeyError, TypeError) as exc:
            raise BadOption(f"{path}:{lineno}: not a question record ({type(exc).__name__}: {exc})") from exc
        if gold and not (isinstance(answer, str) and answer.strip()):
            raise BadOption(f"{path}:{lineno}: gold_articles without an answer string")
        out.append(Question(str(record.get("id", lineno)), question, answer, gold))
    return out


def evaluate(
    qa: QA,
    data_dir: Path,
    *,
    method: str = "hybrid",
    k: int = 10,
    out: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Index `data_dir/articles.jsonl` into `qa`'s index, ask every question, return the metrics (KEYS).

    Each question is asked through `QA.ask` with ANSWER_K passages, as `qa ask` does by default: that
    gives the answer text, `found` and the latency. Recall and MRR are computed from the `k` passages
    that `QA.ask(question, k)` would compose from (`ranked_passages`: the same retrieval, without
    composing). `out` gets one JSON line per question for error analysis.
    """
    if method not in METHODS:
        raise BadOption(f"unknown method {method!r}: use one of {', '.join(METHODS)}")
    data_dir = Path(data_dir)
    articles, questions_file = data_dir / "articles.jsonl", data_dir / "questions.jsonl"
    for path in (articles, questions_file):
        if not path.is_file():
            raise BadOption(f"{path} is missing: DATA_DIR needs articles.jsonl and questions.jsonl")
    questions = read_questions(questions_file)
    if not questions:
        raise BadOption(f"{questions_file} holds no questions")
    try:  # before indexing, which can take minutes: a mistyped --out is known at once
        sink = out.open("w", encoding="utf-8") if out else None
    except OSError as exc:
        raise BadOption(f"cannot write {out}: {exc.strerror or exc}") from None

    try:
        index_progress = (lambda done, total: progress("index", done, total)) if progress else None
        report = qa.index([articles], progress=index_progress)
        if not (report.new or report.changed or report.unchanged):
            raise BadOption(f"{articles} holds no article that could be read: nothing to measure")
        qa.load()
        qa.ask(questions[0].question, ANSWER_K, method=method)  # warm-up: first inference is slow
        rows: list[dict[str, Any]] = []
        latencies: list[float] = []
        for n, q in enumerate(questions, start=1):
            started = time.perf_counter()
            answer = qa.ask(q.question, ANSWER_K, method=method)
            elapsed = (time.perf_counter() - started) * 1000
            latencies.append(elapsed)
            row = _judge(q, answer, probe(qa, q.question, k, method))
            row["ms"] = round(elapsed, 1)
            rows.append(row)
            if sink:
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            if progress:
                progress("ask", n, len(questions))
    finally:
        if sink:
            sink.close()
    metrics = summarize(rows, latencies)
    metrics["index_seconds"] = round(report.seconds, 2)
    stats = qa.stats()
    metrics.update(method=method, precision=stats.precision, chunks=stats.chunks)
    return metrics


@dataclass(frozen=True)
class Probe:
    """What `qa.ask` works from, without composing."""

    passages: list[Hit]  # the k ranked passages
    confidence: float | None  # cosine between the question and its best sentence (None: no sentence)
    unmet_negation: bool  # a "did not" question whose best sentence says nothing negative


def probe(qa: QA, question: str, k: int, method: str = "hybrid") -> Probe:
    """What `qa.ask` works from, without composing: its `k` ranked passages, and what decides `found`.

    The passages are those `qa.ask(question, k, method=method).passages` holds (the steps of
    `QA._ask` up to the answer: clean, embed, retrieve; tests/test_eval.py checks they agree).
    The confidence is the cosine between the question and the best sentence of the ANSWER_K
    passages, the number `compose` compares with FOUND_THRESHOLD to set `found`.
    """
    from qa.answer import best_sentence, score_sentences
    from qa.core import clean_question
    from qa.evidence import asks_negated, unmet_negation
    from qa.retrieve import retrieve, to_hit

    query = clean_question(question)
    with qa._lock:
        store, vectors, embedder, sentence_embedder = qa._reader()
        vector = embedder.encode([query])[0]
        hits = [to_hit(c) for c in retrieve(store, vectors, vector, query, k, method=method)]
        answer_from = retrieve(store, vectors, vector, query, ANSWER_K, method=method)
        scored = score_sentences(query, vector, answer_from, sentence_embedder.encode)
    if not scored:
        return Probe(hits, None, False)
    best = best_sentence(scored, asks_negated(query))
    return Probe(hits, round(best.semantic, 4), unmet_negation(query, best.text))


def ranked_passages(qa: QA, question: str, k: int, method: str = "hybrid") -> list[Hit]:
    """The passages `qa.ask(question, k, method=method).passages` holds, without composing an answer."""
    return probe(qa, question, k, method).passages


def _judge(q: Question, answer: Answer, probed: Probe) -> dict[str, Any]:
    pattern = answer_pattern(q.answer) if q.answer else None
    gold = set(q.gold_articles)
    rank = rank_gold = None
    passages = []
    for r, hit in enumerate(probed.passages, start=1):
        has = pattern is not None and holds(pattern, hit.text)
        if has and rank is None:
            rank = r
        if has and rank_gold is None and hit.article_id in gold:
            rank_gold = r
        passages.append(
            {
                "article_id": hit.article_id,
                "start": hit.start,
                "end": hit.end,
                "score": round(hit.score, 6),
                "holds": has,
            }
        )
    return {
        "id": q.id,
        "question": q.question,
        "gold": q.answer,
        "gold_articles": list(q.gold_articles),
        "answerable": q.answerable,
        "answer": answer.text,
        "found": answer.found,
        "hit": holds(pattern, answer.text) if pattern is not None else None,
        "rank": rank,
        "rank_gold": rank_gold,
        "confidence": probed.confidence,
        "unmet_negation": probed.unmet_negation,
        "unmentioned": bool(answer.unmentioned),  # refused: its articles name nothing the question names
        "passages": passages,
    }


def _share(flags: Iterable[bool]) -> float | None:
    values = list(flags)
    return round(sum(values) / len(values), 4) if values else None


def summarize(rows: Sequence[dict[str, Any]], latencies: Sequence[float]) -> dict[str, Any]:
    """The metrics (KEYS, less index_seconds and INDEX_KEYS) from per-question rows as `evaluate` writes them."""
    answerable = [r for r in rows if r["answerable"]]
    absent = [r for r in rows if not r["answerable"]]
    ms = np.asarray(latencies, dtype=float)
    return {
        "questions": len(rows),
        "recall@1": _share(r["rank"] is not None and r["rank"] <= 1 for r in answerable),
        "recall@5": _share(r["rank"] is not None and r["rank"] <= 5 for r in answerable),
        "recall@10": _share(r["rank"] is not None and r["rank"] <= 10 for r in answerable),
        "mrr@10": (
            round(
                float(
                    np.mean([1.0 / r["rank"] if r["rank"] and r["rank"] <= 10 else 0.0 for r in answerable])
                ),
                4,
            )
            if answerable
            else None
        ),
        "answer_hit": _share(bool(r["hit"]) for r in answerable),
        "refused_when_absent": _share(not r["found"] for r in absent),
        "refused_when_present": _share(not r["found"] for r in answerable),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
    }


def refusal_sweep(
    rows: Sequence[dict[str, Any]], thresholds: Sequence[float] | None = None
) -> list[dict[str, float | None]]:
    """refused_when_absent / refused_when_present had the threshold been each of `thresholds`.

    A question is refused below the threshold, or when its negation is unmet or its names are not in the
    answer's articles, as `compose` decides. Exact at FOUND_THRESHOLD; elsewhere an estimate, as the best
    sentence is the one chosen at FOUND_THRESHOLD (for a "did not" question, another threshold could let a
    different sentence answer).
    """
    if thresholds is None:
        thresholds = [round(0.20 + 0.05 * i, 2) for i in range(9)]
    scored = [r for r in rows if r.get("confidence") is not None]
    out = []
    for t in thresholds:
        out.append(
            {
                "threshold": t,
                "refused_when_absent": _share(_refused(r, t) for r in scored if not r["answerable"]),
                "refused_when_present": _share(_refused(r, t) for r in scored if r["answerable"]),
            }
        )
    return out


def _refused(row: dict[str, Any], threshold: float) -> bool:
    return bool(row["confidence"] < threshold or row.get("unmet_negation") or row.get("unmentioned"))
