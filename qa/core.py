"""The one API the CLI and the terminal UI call: index articles, search passages, answer questions."""

from __future__ import annotations

import gc
import os
import re
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import BadOption, BadQuestion, IndexProblem, MissingPath
from qa.store import REBUILD_HINT, Store, index_precision, load_vectors, rebuild_hint, recorded_sources
from qa.terms import keywords, stems
from qa.text import safe
from qa.types import Answer, Article, Hit, IndexReport, IndexStats, Skipped

if TYPE_CHECKING:
    import numpy as np

    from qa.retrieve import Candidate

DEFAULT_INDEX_DIR = Path("index")
# Embedding a question and its answer sentences on two threads takes half the time of one on an idle
# 2-core machine (bench/speed.py). Capped at 4: nothing was measured on wider machines.
QUERY_THREADS = min(os.cpu_count() or 1, 4)
MAX_QUESTION_CHARS = 4000  # the model reads at most 256 tokens; more text only slows the keyword search


def default_seeds_dir() -> Path:
    """`seeds/` in the working folder, else the one shipped beside the package."""
    here = Path("seeds")
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "seeds"


def settle_heap() -> None:
    """Keep what is alive now (the loaded model and index, the UI) out of the garbage collector's passes.

    For long sessions (the TUI, `qa ask --file`), called once they have loaded: a full collection would
    otherwise walk all of it while a question is being answered, a pause of tens of milliseconds
    (bench/tui.py: p95 174 -> 129 ms). Once per process: a later load (the TUI's, after indexing) adds
    little that lives on, and what it froze could not be collected.
    """
    global _heap_settled
    if not _heap_settled:
        _heap_settled = True
        gc.collect()
        gc.freeze()


_heap_settled = False


def clean_question(question: str) -> str:
    # Bytes that are not UTF-8 (a shell passes them through) broke the tokenizer; escape codes are no question.
    text = " ".join(safe(question.encode("utf-8", "replace").decode("utf-8")).split())
    if not text:
        raise BadQuestion('the question is empty: type a question, e.g. qa ask "Who leads NATO?"')
    if not re.search(r"\w", text):  # "?" alone was answered with whatever passages came first
        raise BadQuestion('the question has no words: type a question, e.g. qa ask "Who leads NATO?"')
    return text[:MAX_QUESTION_CHARS]


_FOLLOWUP_START = re.compile(r"^(and|but|so|also|what about|how about|and what|what else|then)\b", re.I)
_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|he|him|his|she|her|this|that|these|those|there|then|the same|one|ones)\b",
    re.I,
)
_ASKING_WORD = re.compile(
    r"\b(?:how (?:many|much|long|far|old)|(?:what|which) (?:year|date|day|month|time)|what|which|who|whom|whose"
    r"|when|where|why|how)\b",
    re.I,
)
# "What did the minister refuse?" can be asked another way by swapping its asking word ("When did ...");
# "Which bridge did ..." or "Who sent ..." cannot.
_SWAPPABLE = re.compile(
    r"\s+(?:did|does|do|is|are|was|were|will|would|can|could|has|have|had|should|might|may)\b", re.I
)
# A follow-up's sentence from the articles the talk is about, holding the follow-up's own words, answers
# it from this likeness to the two questions searched together. Not calibrated on data (the question sets
# hold no conversations); a helper's trial refused "who opposes it?" with "residents have formed a group
# called Save Our Harbor to oppose the project" at 0.26.
FOLLOWUP_THRESHOLD = 0.25


def _nothing_to_answer_from(store: Store, since: str | None, until: str | None) -> str | None:
    """Why no passage came back, when it is not the question: an empty index, or dates that leave none."""
    if store.counts()[0] == 0:
        return "The index holds no articles yet: add some with qa index PATH (ctrl+r in the terminal UI)."
    if since or until:
        return "No indexed article is dated within --since / --until (undated articles are left out too)."
    return None


def looks_like_followup(question: str) -> bool:
    """Short, or leaning on an earlier question ("and how many did NATO have?", "when was it released?")."""
    words = question.split()
    return len(words) <= 12 and (
        len(words) <= 4 or bool(_FOLLOWUP_START.search(question)) or bool(_ANAPHORA.search(question))
    )


def _answers_followup(question: str, answer: Answer, earlier: set[str]) -> bool:
    """The follow-up's answer holds one of its own key words, or the kind of thing it asks for when it has
    no key words ("and when?"), or a number or date it asks for from the articles the talk is about ("how
    much did it cost?": "$48 million in repairs"). "and why?" cannot be checked, and would repeat the
    previous answer. A cost is a sum of money, first: not the date or the score the article also gives."""
    from qa.evidence import answer_type, asks_cost, names_money, type_match

    if _holds_own_words(question, answer):
        return True
    kind = answer_type(question)
    if keywords(question):
        if not (leans_on_earlier(question) and _cites(answer, earlier)):
            return False  # "Who sent the letter?" is not answered by any name in the earlier article
        if kind not in ("number", "date"):
            return False  # a capitalized word is in nearly every sentence: "Who opened it?" needs "opened"
    if kind == "number" and asks_cost(question):
        return bool(answer.citations) and names_money(answer.citations[0].sentence)
    return kind is not None and any(type_match(kind, c.sentence) for c in answer.citations)


def check_paths_to_index(paths: Sequence[str | Path]) -> None:
    """MissingPath or BadOption unless every path names a file or folder that is there. Give the paths as
    typed (str): Path("") is the current folder, and "" is a script's empty variable."""
    if any(not str(p).strip() for p in paths):
        raise BadOption("an empty path was given: name the files or folders (qa index . for this folder)")
    # A mistyped path is an error, not an empty folder: indexing the rest would hide the typo.
    missing = [str(p) for p in paths if not os.path.lexists(p)]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise MissingPath(f"no such file or folder: {missing[0]}{more}; nothing was indexed")
    broken = [str(p) for p in paths if not os.path.exists(p)]  # a link to nothing, or a link loop
    if broken:
        raise MissingPath(f"{broken[0]} is a link to nothing or a link loop; nothing was indexed")


def words_found(query: str, hits: Sequence[Hit]) -> bool:
    """Whether any of the passages holds one of the query's key words (in any form `stem` meets)."""
    wanted = stems(query)
    return not wanted or any(not wanted.isdisjoint(stems(h.title + " " + h.text)) for h in hits)


def _holds_own_words(question: str, answer: Answer) -> bool:
    own = stems(question)
    return any(not own.isdisjoint(stems(c.sentence)) for c in answer.citations)


def leans_on_earlier(question: str) -> bool:
    """A follow-up that names at most one thing itself and points back ("how much did it cost?", "and
    when?"): it is about what the talk was about. One that names more ("How much did it cost to build the
    stadium?") stands on its own, whatever its "it" or "there", and so does a short new one ("How many
    beds?")."""
    points_back = bool(_FOLLOWUP_START.search(question) or _ANAPHORA.search(question))
    return _names_little(question) and (points_back or not keywords(question))


def _names_little(question: str) -> bool:
    """Reads like a follow-up and names at most one thing: "how many jobs?" is not what a later "and
    when?" leans on, even when it is a new question itself."""
    return looks_like_followup(question) and len(keywords(question)) <= 1


def followup_context(earlier: Sequence[tuple[str, Answer]]) -> tuple[str | None, list[str]]:
    """What a follow-up is read with, from the questions and answers before it (oldest first): the
    question it leans on, the latest that names more than one thing ("who paid for it?" after "how much
    did it cost?" leans on the one before), and the articles cited since that question by answers found (a
    refusal's closest passages say nothing about what the talk is about)."""
    if not earlier:
        return None, []
    start = next(
        (i for i in range(len(earlier) - 1, -1, -1) if not _names_little(earlier[i][0])), len(earlier) - 1
    )
    articles = [c.article_id for _, answer in earlier[start:] if answer.found for c in answer.citations]
    return earlier[start][0], list(dict.fromkeys(articles))


def followup_query(question: str, context: str) -> str:
    """What a follow-up is searched with: the previous question asked the follow-up's way when the
    follow-up is only an asking word ("when?" after "What did the minister refuse?" is "When did the
    minister refuse?"), else both questions together."""
    asked, earlier = list(_ASKING_WORD.finditer(question)), _ASKING_WORD.match(context)
    if asked and earlier and not keywords(question) and _SWAPPABLE.match(context, earlier.end()):
        word = asked[-1].group(0)  # "what about when?" asks when
        return word[:1].upper() + word[1:].lower() + context[earlier.end() :]
    return f"{context} {question}"


def _cites(answer: Answer, articles: set[str]) -> bool:
    return any(c.article_id in articles for c in answer.citations)


def _leads_with(answer: Answer, articles: set[str]) -> bool:
    """Its first (best) sentence comes from one of the articles."""
    return bool(answer.citations) and answer.citations[0].article_id in articles


class QA:
    """An index folder opened for reading (lazily) and writing (`index`)."""

    def __init__(self, index_dir: str | Path = DEFAULT_INDEX_DIR, model: str | None = None) -> None:
        self.index_dir = Path(index_dir)
        self.model = model
        self._store: Store | None = None
        self._vectors = None
        self._embedder = None
        self._sentence_embedder = None
        self._generation = -1
        self._lock = threading.RLock()
        # The keyword search runs on its own thread (and SQLite connection), from the start: while the
        # question is embedded and the vectors are searched. It slows the embedding by about 1 ms (the
        # two share the cores) and no longer waits for it: QA.ask p50 1.5-4 ms faster on news-2022's
        # 65,317 chunks (2026-12-07; when the keyword search took 6 ms, the embedding lost more).
        self._keyword_thread: ThreadPoolExecutor | None = None
        self._keyword_store = threading.local()
        # The last search `prepare` ran: its key (what `_ask` would search with) and (vector, passages).
        self._prepared: tuple[tuple[object, ...], tuple[np.ndarray, list[Candidate]]] | None = None

    # -- reading ----------------------------------------------------------------------------------

    def exists(self) -> bool:
        return (self.index_dir / "qa.sqlite").exists()

    def load(self) -> None:
        """Open the index and the query model now (the TUI calls this in a worker at start-up)."""
        with self._lock:
            store = self._open_store()
            self._refresh_vectors(store)
            if self._embedder is None:
                from qa.embed import MODEL_FILES, OnnxEmbedder

                model_dir = self.index_dir / str(store.manifest.get("model_dir", ""))
                if not (model_dir / "embedder.json").exists():
                    raise IndexProblem(f"{model_dir} (the query model) is missing: {REBUILD_HINT}")
                embedder = OnnxEmbedder(model_dir, threads=QUERY_THREADS, spin=False)
                sentence_embedder = embedder
                if (model_dir / MODEL_FILES["int8"]).is_file():
                    # Answer sentences are only compared with each other and the threshold: int8 scores
                    # them 2.2x faster, answer_hit within 0.004 on the tuning sets (bench/results.md).
                    try:
                        sentence_embedder = OnnxEmbedder(
                            model_dir, threads=QUERY_THREADS, variant="int8", spin=False, per_text=True
                        )
                    except Exception:  # a damaged int8 file: fp32 scores the sentences, only slower
                        sentence_embedder = embedder
                self._embedder, self._sentence_embedder = embedder, sentence_embedder

    def _open_store(self) -> Store:
        if self._store is None:
            store = Store(self.index_dir, readonly=True)
            manifest = store.manifest
            if not manifest.get("model"):
                store.close()
                raise IndexProblem(f"no index in {self.index_dir}: run `qa index` to build one")
            from qa.store import FORMAT_VERSION

            if manifest.get("format_version") != FORMAT_VERSION:
                store.close()
                raise IndexProblem(
                    f"{store.db_path} has index format {manifest.get('format_version')}, "
                    f"this qa reads format {FORMAT_VERSION}: {REBUILD_HINT}"
                )
            if self.model and self.model != manifest["model"]:
                store.close()
                raise IndexProblem(
                    f"index was built with model '{manifest['model']}', not '{self.model}': "
                    f"{rebuild_hint('--model', self.model)}"
                )
            self._store = store
        return self._store

    def _refresh_vectors(self, store: Store) -> None:
        """Pick up the vectors a writer published since the last question."""
        store.refresh_manifest()
        generation = int(store.manifest.get("generation", 0))
        if generation != self._generation:
            self._vectors = load_vectors(store)
            self._generation = generation

    def _reader(self):  # type: ignore[no-untyped-def]
        """The store, the vectors, the question embedder and the answer-sentence embedder."""
        self.load()
        assert self._store is not None and self._embedder is not None and self._vectors is not None
        return self._store, self._vectors, self._embedder, self._sentence_embedder

    def stats(self) -> IndexStats:
        with self._lock:
            store = self._open_store()
            articles, chunks = store.counts()
            return IndexStats(
                articles=articles,
                chunks=chunks,
                model=str(store.manifest.get("model")),
                dim=int(store.manifest.get("dim", 0)),
                index_type=str(store.manifest.get("index_type", "flat")),
                precision=index_precision(store.manifest),
            )

    def article(self, article_id: str) -> Article | None:
        with self._lock:
            return self._open_store().article(article_id)

    def articles(self) -> list[dict[str, object]]:
        with self._lock:
            return self._open_store().list_articles()

    def search(
        self, query: str, k: int = 5, *, since: str | None = None, until: str | None = None
    ) -> list[Hit]:
        from qa.retrieve import retrieve, to_hit

        if not re.search(r"\w", query):
            empty = "is empty" if not query.strip() else "has no words"
            raise BadQuestion(f'the search {empty}: type some words, e.g. qa search "NATO training mission"')
        query = clean_question(query)
        with self._lock:
            store, vectors, embedder, _ = self._reader()
            vector = embedder.encode([query])[0]
            return [to_hit(c) for c in retrieve(store, vectors, vector, query, k, since=since, until=until)]

    def ask(
        self,
        question: str,
        k: int = 5,
        *,
        since: str | None = None,
        until: str | None = None,
        context: str | None = None,
        context_articles: Sequence[str] = (),
        method: str = "hybrid",
    ) -> Answer:
        """Answer from the k best passages. For a follow-up, `context` is the question it leans on and
        `context_articles` the articles cited since (`followup_context` gives both)."""
        question = clean_question(question)
        (answer,) = self._ask(question, question, k, since, until, method)
        if not context or not looks_like_followup(question):
            return answer
        earlier = set(context_articles)
        leaning = leans_on_earlier(question)
        if answer.found and (not earlier or _cites(answer, earlier) or not leaning):
            return answer
        query = followup_query(question, clean_question(context))
        # Searched with the question before it, but its sentence should hold its own words and kind of
        # answer ("how much did it cost?": a cost): with both questions' words, the previous answer's
        # sentence came first again. A bare one ("and when?") has only the query's ("When did ...").
        answering = question if keywords(question) else query
        from qa.answer import FOUND_THRESHOLD

        # One that points back is about the talk's articles: its answer comes from them when they hold
        # passages for it ("how much will it cost?" after a question on a bridge: the bridge's $310
        # million, not the fire station that says "cost"). At both thresholds at once: one search and
        # one run of the model serve both answers.
        within = earlier if leaning else set()
        followup, lenient = self._ask(
            question, query, k, since, until, method, answering, (FOUND_THRESHOLD, FOLLOWUP_THRESHOLD), within
        )
        # The previous question only narrows the search: the answer must still speak to this one. One
        # found alone, from other articles, gives way to one from the articles the talk is about ("how
        # much did it cost?" after a question on a bridge is not about a hospital's new wing).
        if (
            followup.found
            and _answers_followup(question, followup, earlier)
            and (not answer.found or _leads_with(followup, earlier))
        ):
            followup.timings_ms["total"] += answer.timings_ms["total"]  # it took both
            return followup
        # Likeness to both questions at once is lower than to one: "what did they decide?" after a question
        # on a budget vote, and "The council decided to hold a second hearing" (0.395). A sentence of the
        # talk's articles that holds the follow-up's own words is taken from a lower one.
        if (
            not followup.found
            and earlier
            and lenient.found
            and _leads_with(lenient, earlier)
            and _holds_own_words(question, lenient)
        ):
            lenient.timings_ms["total"] += answer.timings_ms["total"]
            return lenient
        return answer

    def _ask(
        self,
        shown: str,
        query: str,
        k: int,
        since: str | None,
        until: str | None,
        method: str = "hybrid",
        answering: str | None = None,
        thresholds: Sequence[float] | None = None,
        within: Collection[str] = (),
    ) -> list[Answer]:
        """The answer at each of `thresholds` (by default, FOUND_THRESHOLD alone). `query` finds the passages
        and is what their sentences must be close to in meaning; the words of `answering` (by default the
        query) are what the chosen sentence should hold. `within`: the articles a follow-up's talk cited."""
        from qa.answer import FOUND_THRESHOLD, compose_each
        from qa.evidence import asks_negated

        with self._lock:
            started = time.perf_counter()
            store, _, _, sentence_embedder = self._reader()
            loaded = time.perf_counter()
            key = self._search_key(query, k, since, until, method, within)
            if self._prepared is not None and self._prepared[0] == key:
                vector, candidates = self._prepared[1]
                embedded = loaded
            else:
                vector, candidates, embedded = self._search(query, k, since, until, method, within)
            retrieved = time.perf_counter()
            # A follow-up is searched with the previous question too, but only its own words say "not".
            answers = compose_each(
                answering or query,
                vector,
                candidates,
                sentence_embedder.encode,
                thresholds or (FOUND_THRESHOLD,),
                negated=asks_negated(shown),
                extras_hold_words=bool(within),
                article_text=store.article_text,
            )
            nothing = _nothing_to_answer_from(store, since, until) if not candidates else None
            done = time.perf_counter()
        for answer in answers:
            answer.question = shown
            answer.text = nothing or answer.text
            answer.timings_ms = {
                "load": (loaded - started) * 1000,
                "embed": (embedded - loaded) * 1000,
                "retrieve": (retrieved - embedded) * 1000,
                "answer": (done - retrieved) * 1000,
                "total": (done - started) * 1000,
            }
        return answers

    def prepare(self, question: str, k: int = 5, *, method: str = "hybrid") -> None:
        """Search for `question` ahead of `ask`: the TUI calls it while the question is being typed. An `ask`
        of the same question (and k, and method, with no dates) then answers from that search, if the index
        has not changed since. The answer's own step (embedding its sentences) still runs in `ask`.

        A question that `ask` would refuse is skipped here: `ask` says why.
        """
        try:
            query = clean_question(question)
        except BadQuestion:
            return
        with self._lock:
            self._reader()
            key = self._search_key(query, k, None, None, method, ())
            if self._prepared is None or self._prepared[0] != key:
                vector, candidates, _ = self._search(query, k, None, None, method, ())
                self._prepared = (key, (vector, candidates))

    def _search_key(
        self, query: str, k: int, since: str | None, until: str | None, method: str, within: Collection[str]
    ) -> tuple[object, ...]:
        """What makes two searches the same, on the index as last read (`_reader` first)."""
        return (query, k, since, until, method, frozenset(within), self._generation)

    def _search(
        self,
        query: str,
        k: int,
        since: str | None,
        until: str | None,
        method: str,
        within: Collection[str],
    ) -> tuple[np.ndarray, list[Candidate], float]:
        """The query's vector, its k best passages, and when the vector was ready (perf_counter)."""
        from qa.retrieve import dense_search, retrieve

        store, vectors, embedder, _ = self._reader()
        lexical_future = None
        if method != "dense":
            if self._keyword_thread is None:
                self._keyword_thread = ThreadPoolExecutor(1, thread_name_prefix="qa-keywords")
            lexical_future = self._keyword_thread.submit(self._keyword_search, query, since, until)
        vector = embedder.encode([query])[0]
        embedded = time.perf_counter()
        dense = dense_search(store, vectors, vector, since=since, until=until) if method != "bm25" else []
        lexical = lexical_future.result() if lexical_future is not None else None
        candidates = retrieve(
            store,
            vectors,
            vector,
            query,
            k,
            since=since,
            until=until,
            method=method,
            lexical=lexical,
            dense=dense,
            within=within,
        )
        return vector, candidates, embedded

    def _keyword_search(self, query: str, since: str | None, until: str | None) -> list[tuple[int, float]]:
        """On the keyword thread, with that thread's own connection (SQLite's are per thread)."""
        from qa.retrieve import keyword_search

        store: Store | None = getattr(self._keyword_store, "store", None)
        if store is None:
            store = self._keyword_store.store = Store(self.index_dir, readonly=True)
        else:
            store.refresh_manifest()  # counts of common keywords are kept per published generation
        return keyword_search(store, query, since=since, until=until)

    def _close_keyword_store(self) -> None:
        store: Store | None = getattr(self._keyword_store, "store", None)
        if store is not None:
            store.close()
            self._keyword_store.store = None

    # -- writing ----------------------------------------------------------------------------------

    def index(
        self,
        paths: Sequence[str | Path] | None = None,
        *,
        rebuild: bool = False,
        precision: str | None = None,
        progress=None,  # type: ignore[no-untyped-def]
    ) -> IndexReport:
        from qa.indexer import run_index

        check_paths_to_index(paths or ())
        gone: list[str] = []
        if not paths:  # refresh what the index was built from; a new index gets the sample articles
            sources, articles = recorded_sources(self.index_dir)
            if sources is None and articles:
                raise BadOption(
                    "this index does not record which files and folders it was built from"
                    " (it is older than that): name them once, as in qa index PATH..."
                )
            if sources is None:
                paths = [default_seeds_dir()]
            else:
                paths = [s for s in sources if os.path.lexists(s)]
                gone = [s for s in sources if not os.path.lexists(s)]
            if gone and rebuild:  # a rebuild keeps only what it reads: their articles would be lost
                raise MissingPath(
                    f"cannot rebuild: {gone[0]} is gone and its articles would be lost;"
                    " reconnect it, or qa remove it first"
                )
        if not paths and not rebuild:  # all its folders are gone or were removed: nothing to refresh
            report = IndexReport()
        else:
            report = run_index(
                self.index_dir,
                list(paths),
                model=self.model,
                precision=precision,
                rebuild=rebuild,
                progress=progress,
            )
        self.close()  # the next question opens the new index
        # A folder that is gone (an unplugged disk) keeps its articles until it is removed by path.
        report.skipped.extend(
            Skipped(s, "no longer there; its articles are kept (qa remove it)") for s in gone
        )
        return report

    def sources(self) -> list[str] | None:
        """The files and folders indexed so far (`qa index` with no paths refreshes them); None when the
        index has none on record (a new one, or one built before qa kept them). Does not wait for a
        question being answered: the terminal UI asks on its main thread."""
        try:
            return recorded_sources(self.index_dir)[0]
        except IndexProblem:  # the index says why when it is opened
            return None

    def remove(self, targets: Sequence[str]) -> IndexReport:
        """Remove articles by id or by the file or folder they came from."""
        from qa.indexer import path_within, recorded_path, run_remove

        if any(not target.strip() for target in targets):  # "" resolved to the current folder: all of it went
            raise BadOption("an empty id or path was given: nothing was removed")
        folders = self.sources() or []
        report = run_remove(self.index_dir, list(targets))
        self.close()
        for target in targets:
            if not os.path.exists(target):  # an article id, or a file already gone: it cannot come back
                continue
            path = recorded_path(target)
            inside = next((f for f in folders if path_within(path, f)), None)
            if inside is not None:
                report.notes.append(
                    f"{target} is in the indexed folder {inside}: the next qa index of it adds the file again;"
                    " move or delete the file to keep it out"
                )
        return report

    def close(self) -> None:
        with self._lock:
            if self._keyword_thread is not None:
                self._keyword_thread.submit(self._close_keyword_store).result()
                self._keyword_thread.shutdown()
                self._keyword_thread = None
            if self._store is not None:
                self._store.close()
            self._store = None
            self._vectors = None
            self._embedder = None
            self._sentence_embedder = None
            self._generation = -1
