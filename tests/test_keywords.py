"""Keyword postings (qa/keywords.py) rank passages exactly as FTS5's bm25 does, through every change to the
index, and an index without them (or with a damaged file) is searched by FTS5 until `qa index` writes them;
half-precision vectors find the passages float32 finds."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from qa import retrieve as retrieve_module
from qa import vectors as vectors_module
from qa.core import QA
from qa.keywords import KeywordIndex, Postings, keyword_file
from qa.retrieve import fts_query, keyword_search, retrieve
from qa.store import Store, load_vectors, vector_file
from tests.conftest import SHARED_DATA

NEWS = SHARED_DATA / "news-2022-w2"
ARTICLES = 40
HYPHENS = (
    "# COVID-19 vaccine drive\n\nPublished: 2021-03-01\n\nThe U.S.-led COVID-19 vaccine drive reached 40 countries. Health workers in"
    " Lagos said the vaccine arrived late, and the drive's next stop is Nairobi.\n"
)
EXTRA_QUESTIONS = [
    "When did the COVID-19 vaccine drive reach Lagos?",
    "vaccine vaccine drive drive",  # a word twice counts twice, as FTS5 counts each phrase
    "U.S.-led drive",
    "Squid Game season",
    "zzzz-unknownword qqqq",
]


@pytest.fixture(scope="module")
def news_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A real index of 40 news articles and one with hyphenated words; (index folder, articles folder)."""
    assert NEWS.exists(), f"benchmark data missing: {NEWS} (../shared must sit beside the project)"
    folder = tmp_path_factory.mktemp("news")
    lines = (NEWS / "articles.jsonl").read_text().splitlines()[:ARTICLES]
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "covid.md").write_text(HYPHENS)
    index_dir = tmp_path_factory.mktemp("news-index")
    QA(index_dir).index([folder])
    return index_dir, folder


def questions() -> list[str]:
    lines = (NEWS / "questions.jsonl").read_text().splitlines()
    return [json.loads(line)["question"] for line in lines] + EXTRA_QUESTIONS


def assert_ranks_as_fts5(index_dir: Path, since: str | None = None, until: str | None = None) -> None:
    store = Store(index_dir, readonly=True)
    try:
        assert store.keyword_index() is not None
        for question in questions():
            match = fts_query(question)
            fts5 = store.lexical_search(match, 50, since, until) if match else []
            numpy = keyword_search(store, question, since=since, until=until)
            assert [i for i, _ in numpy] == [i for i, _ in fts5], question
            assert np.allclose([s for _, s in numpy], [s for _, s in fts5], rtol=1e-12, atol=0), question
    finally:
        store.close()


def fresh_postings(index_dir: Path) -> KeywordIndex:
    """The postings read anew from the whole database."""
    store = Store(index_dir, readonly=True)
    try:
        everything = store.tokenizer.postings(store.keyword_rows(store.chunk_ids().tolist()))
        return KeywordIndex.empty().updated(np.zeros(0, np.int64), [everything])
    finally:
        store.close()


def published(index_dir: Path) -> tuple[Path, KeywordIndex]:
    store = Store(index_dir, readonly=True)
    try:
        path = keyword_file(index_dir, int(store.manifest["generation"]))
    finally:
        store.close()
    return path, KeywordIndex.load(path)


def chunks_of(index_dir: Path, title: str) -> list[int]:
    store = Store(index_dir, readonly=True)
    try:
        rows = store.conn.execute(
            "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE a.title = ? ORDER BY c.ordinal",
            (title,),
        )
        return [int(r[0]) for r in rows]
    finally:
        store.close()


def copy_index(source: Path, target: Path, *, keywords: bool = True) -> Path:
    """The index's files copied (its model folder linked), with or without its keyword postings."""
    target.mkdir()
    for path in source.iterdir():
        if path.is_dir():
            (target / path.name).symlink_to(path)
        elif keywords or not path.name.startswith("keywords-"):
            (target / path.name).write_bytes(path.read_bytes())
    return target


def assert_same_postings(a: KeywordIndex, b: KeywordIndex) -> None:
    assert a.words == b.words
    for name in ("offsets", "docs", "weights", "chunk_ids", "lengths"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


def test_keyword_postings_rank_passages_as_fts5_does(news_index: tuple[Path, Path]) -> None:
    index_dir, _ = news_index
    assert_ranks_as_fts5(index_dir)
    assert_ranks_as_fts5(index_dir, since="2021-01-01", until="2021-12-31")  # between dates too
    assert_ranks_as_fts5(index_dir, since="2022-06-16")
    _, postings = published(index_dir)
    assert_same_postings(postings, fresh_postings(index_dir))
    store = Store(index_dir, readonly=True)
    try:
        tokenizer = store.tokenizer
        # "COVID-19" is a phrase, which FTS5 scores alone; "elections" FTS5's porter stem.
        assert tokenizer.tokens(["COVID-19", "elections"]) == [("covid", "19"), ("elect",)]
        # Read together, the keywords of a question each get their own words, in their order, as when
        # each is read alone (a fresh tokenizer: none remembered).
        keywords = ["Zelensky's", "—", "São Paulo", "elections", "U.S.", "covid-19", "Zelensky's"]
        together = Store(index_dir, readonly=True)
        try:
            assert together.tokenizer.tokens(keywords) == [tokenizer.tokens([k])[0] for k in keywords]
        finally:
            together.close()
        assert tokenizer.tokens(["São Paulo", "—"]) == [("sao", "paulo"), ()]
    finally:
        store.close()


def test_postings_added_in_any_order_or_removed_are_those_read_at_once(news_index: tuple[Path, Path]) -> None:
    # New passages (ids above every kept one) go in after each word's entries; passages added among the
    # kept ones are sorted in with all the rest. Both ways must give the postings read in one go.
    store = Store(news_index[0], readonly=True)
    try:

        def read(chunk_ids: np.ndarray) -> Postings:
            return store.tokenizer.postings(store.keyword_rows(chunk_ids.tolist()))

        ids = store.chunk_ids()
        first, second, third = (read(part) for part in np.array_split(ids, 3))
        none = np.zeros(0, np.int64)
        at_once = KeywordIndex.empty().updated(none, [read(ids)])
        in_order = KeywordIndex.empty().updated(none, [first]).updated(none, [second]).updated(none, [third])
        assert_same_postings(in_order, at_once)
        assert_same_postings(
            KeywordIndex.empty().updated(none, [third]).updated(none, [second, first]), at_once
        )
        assert_same_postings(in_order.updated(none, [read(ids[:1]), read(ids[-1:])]), at_once)  # read again

        gone = second.chunk_ids[::2]  # removed as new ones come: some words leave with them
        left = KeywordIndex.empty().updated(none, [first, second]).updated(gone, [third])
        assert_same_postings(left, KeywordIndex.empty().updated(none, [read(np.setdiff1d(ids, gone))]))
        assert len(left.words) < len(at_once.words)
        assert_same_postings(left.updated(ids[1::2], []), at_once.updated(np.union1d(gone, ids[1::2]), []))
    finally:
        store.close()


def copy_of_articles(news_index: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(an index folder to build, a copy of the news articles to change)."""
    index_dir, folder = tmp_path / "index", tmp_path / "articles"
    folder.mkdir()
    for path in news_index[1].iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return index_dir, folder


def test_keyword_postings_follow_every_change_to_the_index(
    news_index: tuple[Path, Path], tmp_path: Path
) -> None:
    index_dir, folder = copy_of_articles(news_index, tmp_path)
    qa = QA(index_dir)
    qa.index([folder])
    records = [json.loads(line) for line in (folder / "news.jsonl").read_text().splitlines()]
    records[0]["title"] = (
        "A retitled story about zebra migrations"  # same text: relabelled, title searched anew
    )
    records[1]["text"] += (
        "\n\nAn added paragraph mentions lighthouse keepers and the mayor of Lakeside."  # changed
    )
    del records[2]  # removed
    (folder / "news.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (folder / "covid.md").unlink()
    report = qa.index([folder])
    assert (report.changed, report.removed) == (2, 2)
    _, postings = published(index_dir)
    assert_same_postings(postings, fresh_postings(index_dir))
    assert_ranks_as_fts5(index_dir)
    store = Store(index_dir, readonly=True)
    try:
        assert keyword_search(store, "zebra migrations")[0][0] == chunks_of(index_dir, records[0]["title"])[0]
        assert keyword_search(store, "lighthouse keepers")[0][0] in chunks_of(index_dir, records[1]["title"])
    finally:
        store.close()
    assert len(list(index_dir.glob("keywords-*.npz"))) == 1  # older generations' files are gone
    qa.remove([records[3]["id"]])
    _, postings = published(index_dir)
    assert_same_postings(postings, fresh_postings(index_dir))
    assert len(postings) == len(fresh_postings(index_dir)) > 0


def test_index_without_postings_is_searched_by_fts5_and_the_next_index_writes_them(
    news_index: tuple[Path, Path], tmp_path: Path
) -> None:
    # A copy as an index written before the postings (and half-precision vectors) was.
    index_dir = copy_index(news_index[0], tmp_path / "index", keywords=False)
    store = Store(index_dir, readonly=True)
    generation = int(store.manifest["generation"])
    dim = int(store.manifest["dim"])
    old = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    ids = store.chunk_ids()
    old.add_with_ids(store.vectors_for(ids.tolist()), ids)
    faiss.write_index(old, str(vector_file(index_dir, generation)))
    assert store.keyword_index() is None and load_vectors(store).full_precision
    store.close()

    qa = QA(index_dir)
    question = "Which wildly popular show was recently green lit for a new season?"
    before = qa.ask(question)
    assert before.found and before.passages

    report = qa.index([])  # nothing changed but the files: they are written as a new generation
    assert report.new == report.changed == 0
    store = Store(index_dir, readonly=True)
    assert int(store.manifest["generation"]) == generation + 1
    assert not load_vectors(store).full_precision
    store.close()
    assert keyword_file(index_dir, generation + 1).is_file()
    after = QA(index_dir).ask(question)
    assert [p.chunk_id for p in after.passages] == [p.chunk_id for p in before.passages]
    assert after.text == before.text


def test_a_damaged_postings_file_is_searched_by_fts5_and_rewritten_by_the_next_index(
    news_index: tuple[Path, Path], tmp_path: Path
) -> None:
    index_dir = copy_index(news_index[0], tmp_path / "index")
    path, _ = published(index_dir)
    path.write_bytes(path.read_bytes()[:1000])
    store = Store(index_dir, readonly=True)
    question = "Squid Game season"
    assert store.keyword_index() is None
    assert keyword_search(store, question) == store.lexical_search(fts_query(question), 50)
    store.close()
    QA(index_dir).index([])
    assert_ranks_as_fts5(index_dir)


def test_past_the_threshold_vectors_go_to_ivf_and_back_to_exact_search_well_below_it(
    news_index: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir, folder = copy_of_articles(news_index, tmp_path)
    store = Store(news_index[0], readonly=True)
    size = len(store.chunk_ids())
    store.close()
    monkeypatch.setattr(vectors_module, "IVF_THRESHOLD", size // 2)
    qa = QA(index_dir)
    qa.index([folder])
    store, vectors, embedder, _ = qa._reader()
    assert vectors.kind == "ivf-sq8" and store.manifest["index_type"] == "ivf-sq8"
    assert store.manifest["trained_on"] == len(vectors) == size
    ids = store.chunk_ids()
    exact = store.vectors_for(ids.tolist())
    same, asked = 0, questions()[:30]
    for question in asked:
        query = embedder.encode([question])[0]
        best = set(ids[np.argsort(-(exact @ query), kind="stable")[:10]].tolist())
        same += len(best & {i for i, _ in vectors.search(query, 10)})
    # Approximate: 0.92 here, lists trained on a few hundred vectors; 0.953 on news-2022's 65,317.
    assert same / (10 * len(asked)) >= 0.9
    answer = qa.ask(asked[0])
    assert answer.citations and answer.timings_ms["total"] > 0
    # Shrunk below half the threshold: exact search again.
    records = (folder / "news.jsonl").read_text().splitlines()
    (folder / "news.jsonl").write_text("\n".join(records[:3]) + "\n")
    qa.index([folder])
    store, vectors, _, _ = qa._reader()
    assert vectors.kind == "flat" and store.manifest["index_type"] == "flat"
    assert len(vectors) < size // 4 and store.manifest["trained_on"] == 0
    qa.close()


def test_half_precision_vectors_find_what_exact_float32_search_finds(news_index: tuple[Path, Path]) -> None:
    index_dir, _ = news_index
    qa = QA(index_dir)
    store, vectors, embedder, _ = qa._reader()
    assert vectors.kind == "flat" and not vectors.full_precision
    ids = store.chunk_ids()
    exact = store.vectors_for(ids.tolist())
    same = 0
    asked = questions()[:30]
    for question in asked:
        query = embedder.encode([question])[0]
        cosine = exact @ query
        best = ids[np.argsort(-cosine, kind="stable")[:10]]
        found = vectors.search(query, 10)
        same += len(set(best.tolist()) & {i for i, _ in found})
        for chunk_id, score in found:  # scores within half precision's rounding
            assert abs(score - float(cosine[np.searchsorted(ids, chunk_id)])) < 2e-3
    assert same / (10 * len(asked)) >= 0.98
    qa.close()


def test_passages_read_a_batch_at_a_time_rank_as_when_read_at_once(
    news_index: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`retrieve` reads the passages' rows a batch at a time, as far as re-ranking and diversifying go."""
    qa = QA(news_index[0])
    store, vectors, embedder, _ = qa._reader()
    asked = questions()[:40]
    vectors_of_questions = embedder.encode(asked)

    def ranked(batch: int, within: bool = False) -> list[list[tuple[int, float, tuple[str, ...]]]]:
        monkeypatch.setattr(retrieve_module, "ROW_BATCH", batch)
        out = []
        for question, vector in zip(asked, vectors_of_questions, strict=True):
            articles = {store.chunks([1])[1].article_id} if within else set()
            found = retrieve(store, vectors, vector, question, 5, within=articles)
            out.append([(c.row.chunk_id, c.fused, c.copies) for c in found])
        return out

    at_once = ranked(10_000)
    assert all(len(passages) == 5 for passages in at_once)
    assert ranked(3) == at_once  # the 30 re-ranked by focus span ten batches
    assert ranked(1) == at_once
    assert ranked(3, within=True) == ranked(10_000, within=True)
    qa.close()
