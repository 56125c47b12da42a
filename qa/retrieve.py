"""Find the passages for a question: dense (FAISS) and lexical (FTS5 BM25) rankings, fused and diversified."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.evidence import passage_focus
from qa.store import ChunkRow, Store
from qa.terms import WORD, keywords
from qa.types import Hit
from qa.vectors import VectorIndex

DENSE_WEIGHT = 0.5
DEPTH = 50  # passages taken from each ranking before fusing
# The best fused passages are re-ranked by how squarely one of their sentences answers (passage_focus):
# news pages mention a story in many passages, and the answer sits in one of them. Weight and depth were
# chosen on the tuning sets (news-2022-w2, the SQuAD sample); see bench/results.md.
FOCUS_WEIGHT = 0.2
FOCUS_DEPTH = 30
ROW_BATCH = FOCUS_DEPTH + 10  # passages whose rows (text, title, source) are read at a time, best first
METHODS = ("hybrid", "dense", "bm25")


def query_terms(text: str) -> list[str]:
    """The question's keywords the keyword search matches, without quotes (no operator injection)."""
    return [t for t in (w.replace('"', "") for w in keywords(text)) if t]


def fts_query(text: str) -> str:
    """An FTS5 MATCH expression: any of `query_terms`, each quoted."""
    return " OR ".join(f'"{t}"' for t in query_terms(text))


def keyword_search(
    store: Store, question: str, depth: int = DEPTH, since: str | None = None, until: str | None = None
) -> list[tuple[int, float]]:
    """(chunk id, bm25) of the passages best matching the question's keywords.

    From the keyword postings when the index has them (qa/keywords.py: FTS5's ranking, scored in numpy),
    else from FTS5. Every keyword counts: on a big index, leaving out those in over 10% of the passages
    made FTS5 twice as fast, but cost recall (news-2022 recall@5 0.853 -> 0.848, bench/results.md).
    """
    terms = query_terms(question)
    if not terms:
        return []
    postings = store.keyword_index()
    if postings is None:
        return store.lexical_search(fts_query(question), depth, since, until)
    phrases = store.tokenizer.tokens(terms)
    # A keyword FTS5 reads as several words ("covid-19") must be met as a phrase: FTS5 scores it alone.
    alone = {i: store.phrase_scores(terms[i]) for i, words in enumerate(phrases) if len(words) > 1}
    allowed = np.fromiter(store.chunk_ids_in_dates(since, until), np.int64) if since or until else None
    return postings.search(phrases, depth, alone, allowed)


def dense_search(
    store: Store,
    vectors: VectorIndex,
    query_vector: np.ndarray,
    depth: int = DEPTH,
    since: str | None = None,
    until: str | None = None,
) -> list[tuple[int, float]]:
    """(chunk id, cosine) of the passages nearest the question's vector, within the dates if given."""
    if not (since or until):
        return vectors.search(query_vector, depth)
    allowed = store.chunk_ids_in_dates(since, until)
    return [(i, s) for i, s in vectors.search(query_vector, depth * 10) if i in allowed][:depth]


@dataclass(frozen=True)
class Candidate:
    row: ChunkRow
    fused: float
    copies: tuple[str, ...] = ()  # sources of near-identical passages collapsed into this one

    @property
    def also_sources(self) -> tuple[str, ...]:
        """Where the same text is found too: identical copies of the article, then near-identical passages."""
        return tuple(s for s in dict.fromkeys(self.row.also_sources + self.copies) if s != self.row.source)


def _fingerprint(text: str) -> frozenset[str]:
    words = WORD.findall(text.lower())
    return frozenset(" ".join(words[i : i + 3]) for i in range(max(len(words) - 2, 1)))


def _near_duplicate(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= 0.8


def retrieve(
    store: Store,
    vectors: VectorIndex,
    query_vector: np.ndarray,
    question: str,
    k: int,
    *,
    since: str | None = None,
    until: str | None = None,
    depth: int = DEPTH,
    method: str = "hybrid",
    lexical: Sequence[tuple[int, float]] | None = None,
    dense: Sequence[tuple[int, float]] | None = None,
    within: Collection[str] = (),
) -> list[Candidate]:
    """The k best passages: both scores fused, re-ranked by focus, near-duplicates collapsed, articles interleaved.

    `method` is "hybrid" (what qa ships), or "dense" / "bm25" alone (for measuring). `lexical` and
    `dense` are `keyword_search`'s and `dense_search`'s results when the caller ran them already (the
    keyword search on its own thread while the vectors are searched).
    `within`: article ids the passages come from when any of theirs were found (a follow-up's talk).
    """
    if method not in METHODS:
        raise ValueError(f"unknown retrieval method {method!r}")
    if method == "bm25":
        dense = []
    elif dense is None:
        dense = dense_search(store, vectors, query_vector, depth, since, until)
    if method == "dense":
        lexical = []
    elif lexical is None:
        lexical = keyword_search(store, question, depth, since, until)

    ranked = list(dict.fromkeys([i for i, _ in dense] + [i for i, _ in lexical]))
    found = store.existing_chunk_ids(ranked)
    pool = [i for i in ranked if i in found]
    cosine = dict(dense)
    missing = [i for i in pool if i not in cosine]
    if missing and method != "bm25":  # lexical-only passages get their cosine too, so both scores exist
        for chunk_id, vector in zip(missing, store.vectors_for(missing), strict=True):
            cosine[chunk_id] = float(vector @ query_vector.reshape(-1))
    fused = fuse(cosine if method != "bm25" else {}, dict(lexical), pool)
    order = sorted(fused, key=fused.__getitem__, reverse=True)
    candidates: Iterable[Candidate] = _candidates(store, order, fused)
    if method == "hybrid":
        candidates = focus(question, candidates)
    if within:
        candidates = list(candidates)
        candidates = [c for c in candidates if c.row.article_id in within] or candidates
    return diversify(candidates, k)


def _candidates(store: Store, order: Sequence[int], fused: dict[int, float]) -> Iterator[Candidate]:
    """The passages in `order`, their rows read a batch at a time as they are reached.

    Focus and diversify read the first batch, and rarely more (near-duplicates send diversify deeper).
    A passage's text is cut from its article's: reading all ~85 rows of a question's pool took 1.8-2.6 ms
    on news-2022, the first 40 0.9 ms.
    """
    for start in range(0, len(order), ROW_BATCH):
        ids = order[start : start + ROW_BATCH]
        rows = store.chunks(ids)
        yield from (Candidate(rows[i], fused[i]) for i in ids if i in rows)


def focus(question: str, candidates: Iterable[Candidate], depth: int = FOCUS_DEPTH) -> Iterator[Candidate]:
    """The first `depth` candidates re-ranked with FOCUS_WEIGHT x passage_focus added to their score, then
    the rest as they come."""
    rest = iter(candidates)
    head = list(itertools.islice(rest, depth))
    boost = passage_focus(question, [c.row.text for c in head])
    refocused = [Candidate(c.row, c.fused + FOCUS_WEIGHT * b) for c, b in zip(head, boost, strict=True)]
    refocused.sort(key=lambda c: c.fused, reverse=True)
    return itertools.chain(refocused, rest)


def fuse(cosine: dict[int, float], bm25: dict[int, float], pool: Sequence[int]) -> dict[int, float]:
    """Convex fusion: DENSE_WEIGHT x cosine (min-max scaled over the pool) + the rest x bm25 / its max.

    Measured against reciprocal rank fusion on news-2022-w2 and the SQuAD sample (bench/results.md):
    better recall@1 and MRR on both, because it keeps how far apart the scores are, not only their order.
    """
    if not cosine or not bm25:
        only = cosine or bm25
        return {i: only.get(i, 0.0) for i in pool}
    values = [cosine.get(i, 0.0) for i in pool]
    low, span = min(values), max(max(values) - min(values), 1e-9)
    top = max(bm25.values()) or 1.0
    return {
        i: DENSE_WEIGHT * (cosine.get(i, 0.0) - low) / span + (1 - DENSE_WEIGHT) * bm25.get(i, 0.0) / top
        for i in pool
    }


def diversify(candidates: Iterable[Candidate], k: int, per_article: int = 3) -> list[Candidate]:
    """Drop near-duplicate passages (syndicated copies) and let several articles lead before any repeats.

    A dropped copy from another source is named on the passage it duplicates (`copies`): the reader sees
    that other outlets ran the same text.
    """
    kept: list[Candidate] = []
    leads: list[bool] = []  # whether each kept passage comes before the repeats of articles
    prints: list[frozenset[str]] = []
    copies: list[list[str]] = []
    per: dict[str, int] = {}
    leading = 0
    for cand in candidates:
        if leading >= k:  # the answer is the first k: later passages cannot change it
            break
        fp = _fingerprint(cand.row.text)
        twin = next((i for i, other in enumerate(prints) if _near_duplicate(fp, other)), None)
        if twin is not None:
            copies[twin].append(cand.row.source)
            continue
        prints.append(fp)
        copies.append([])
        kept.append(cand)
        seen = per.get(cand.row.article_id, 0)
        leads.append(seen < per_article)
        leading += seen < per_article
        per[cand.row.article_id] = seen + 1
    kept = [replace(c, copies=tuple(more)) if more else c for c, more in zip(kept, copies, strict=True)]
    first = [c for c, lead in zip(kept, leads, strict=True) if lead]
    rest = [c for c, lead in zip(kept, leads, strict=True) if not lead]
    return (first + rest)[:k]


def to_hit(cand: Candidate) -> Hit:
    row = cand.row
    page = None
    if row.page_starts:
        page = sum(1 for s in row.page_starts if s <= row.start) or 1
    return Hit(
        chunk_id=row.chunk_id,
        article_id=row.article_id,
        title=row.title,
        source=row.source,
        date=row.date,
        start=row.start,
        end=row.end,
        text=row.text,
        score=cand.fused,
        page=page,
        also_sources=cand.also_sources,
    )
