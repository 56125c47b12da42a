"""Build and update an index folder from articles on disk: only new or changed articles are embedded."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import interrupt
from qa.chunk import ChunkSettings, chunk_text
from qa.embed import (
    DEFAULT_MODEL,
    DEFAULT_PRECISION,
    MODEL_FILES,
    OnnxEmbedder,
    TokenCounter,
    ensure_int8,
    ensure_onnx_model,
)
from qa.errors import BadOption, IndexProblem, VectorsNotWritten
from qa.ingest import discover_files, read_file
from qa.keywords import TOKENIZE_ROWS, KeywordIndex, keyword_file
from qa.lock import writer_lock
from qa.store import (
    DB_NAME,
    FORMAT_VERSION,
    REBUILD_HINT,
    Store,
    index_precision,
    rebuild_hint,
    text_hash,
    vector_file,
)
from qa.types import Article, Chunk, IndexReport, Skipped
from qa.vectors import VectorIndex, fitted

Progress = Callable[[int, int], None]  # (bytes of input done, bytes in all)
BATCH_CHUNKS = 256
CHECKPOINT_SECONDS = 60.0


def content_hash(article: Article) -> str:
    payload = json.dumps(
        [article.title, article.text, article.date, article.url, article.source, list(article.page_starts)]
    )
    return hashlib.sha1(payload.encode("utf-8", "surrogatepass")).hexdigest()


def model_dir_name(model: str) -> str:
    return "model-" + hashlib.sha1(model.encode()).hexdigest()[:10]


def model_cache_dir() -> Path:
    """Where exported models are kept between index folders (QA_CACHE_DIR overrides)."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("QA_CACHE_DIR") or user_cache_dir("qa")) / "models"


def prepare_model(model: str, model_dir: Path) -> None:
    """Put the ONNX export of `model` in the index folder; export once per machine, then copy."""
    if (model_dir / "embedder.json").exists():
        ensure_onnx_model(model, model_dir)  # cheap when it is the same model
        return
    try:
        cached = ensure_onnx_model(model, model_cache_dir() / model_dir.name)
    except OSError:  # no writable cache: export straight into the index
        ensure_onnx_model(model, model_dir)
        return
    tmp = model_dir.with_name(model_dir.name + f".tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:  # model files are never modified in place, so hard links are safe and cost no space
        shutil.copytree(cached, tmp, copy_function=os.link)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            shutil.copytree(cached, tmp)
        except OSError as exc:  # a full disk: shutil.Error lists every file; the half copy is not kept
            shutil.rmtree(tmp, ignore_errors=True)
            reason = _first_reason(exc)
            raise IndexProblem(f"cannot copy the query model into {model_dir.parent}: {reason}") from None
    shutil.rmtree(model_dir, ignore_errors=True)
    os.replace(tmp, model_dir)


def _first_reason(exc: OSError) -> str:
    """What went wrong, in words: shutil.Error carries a list of (source, target, why) per file."""
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        why = str(exc.args[0][0][-1])  # "[Errno 28] No space left on device: 'from' -> 'to'"
        return why.partition("] ")[2].partition(":")[0] or why
    return exc.strerror or str(exc)


@dataclass
class _Pending:
    article: Article
    origin: str
    digest: str
    chunks: list[Chunk]
    is_new: bool
    duplicate_of: str | None = None
    position: int = 0  # bytes of input read up to this article, for progress


def run_index(
    index_dir: Path,
    paths: Sequence[str | Path],
    *,
    model: str | None = None,
    precision: str | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
) -> IndexReport:
    """Add, update and remove articles so the index matches `paths`. One writer at a time.

    `precision` (int8 or fp32) is the model variant that embeds passages: a new index takes
    DEFAULT_PRECISION, an existing one keeps its own (changing it needs `rebuild`).
    """
    check_precision(precision)  # before anything is created on disk
    with writer_lock(index_dir):
        try:
            store = Store(index_dir, readonly=False)
        except IndexProblem:
            if not rebuild:
                raise
            _set_aside_broken_database(index_dir)
            store = Store(index_dir, readonly=False)
        try:
            return _Indexer(store, model, rebuild, progress, precision).run(paths)
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            raise IndexProblem(
                f"the disk holding {index_dir} is full: the index is as it was after its last completed step;"
                " free some space and run qa index again"
            ) from None
        finally:
            store.close()


def run_remove(index_dir: Path, targets: Sequence[str]) -> IndexReport:
    """Remove articles given by id, or by the file or folder they were read from."""
    started = time.perf_counter()
    with writer_lock(index_dir):
        if not (index_dir / DB_NAME).exists():
            raise IndexProblem(f"no index in {index_dir}: nothing to remove")
        store = Store(index_dir, readonly=False)
        try:
            indexer = _Indexer(store, None, False, None)
            ids: list[str] = []
            for target in targets:
                found = [target] if store.article(target) else []
                found += list(store.article_ids_from_origins([recorded_path(target)]))
                if not found:
                    raise BadOption(
                        f"no article with id or path '{target}' in the index (see `qa articles`); nothing was removed"
                    )
                ids.extend(found)
            indexer.open_published()
            indexer.report.removed = indexer.remove(dict.fromkeys(ids))
            indexer._promote_orphans()
            with store.transaction():
                indexer._forget_sources(targets)
                indexer._finish()
            indexer._remove_stale_files()
            indexer.report.seconds = time.perf_counter() - started
            return indexer.report
        finally:
            store.close()


def recorded_path(path: str | Path) -> str:
    """How a file or folder is recorded, as an article's origin or a source: absolute, links followed."""
    return str(Path(path).resolve())


def path_within(path: str, folder: str) -> bool:
    """`path` lies inside `folder` (both absolute; not `folder` itself)."""
    return path.startswith(folder.rstrip(os.sep) + os.sep)


def check_precision(precision: str | None) -> None:
    if precision is not None and precision not in MODEL_FILES:
        raise BadOption(f"--precision must be one of {', '.join(sorted(MODEL_FILES))}, not '{precision}'")


def _set_aside_broken_database(index_dir: Path) -> None:
    """Keep an unreadable database under another name (never delete user data), so a rebuild can start."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for suffix in ("", "-wal", "-shm"):
        path = index_dir / (DB_NAME + suffix)
        if path.exists():
            os.replace(path, index_dir / f"{DB_NAME}.broken-{stamp}{suffix}")


class _Indexer:
    def __init__(
        self,
        store: Store,
        model: str | None,
        rebuild: bool,
        progress: Progress | None,
        precision: str | None = None,
    ) -> None:
        self.store = store
        self.rebuild = rebuild
        self.progress = progress
        self.report = IndexReport()
        old = store.manifest
        # A rebuild keeps counting generations, so it never overwrites the file readers have open.
        self.previous_generation = int(old.get("generation", 0))
        if old and not rebuild:
            if old.get("format_version") != FORMAT_VERSION:
                raise IndexProblem(
                    f"{store.db_path} has index format {old.get('format_version')}, "
                    f"this qa reads format {FORMAT_VERSION}: {REBUILD_HINT}"
                )
            if model and model != old.get("model"):
                raise IndexProblem(
                    f"index was built with model '{old.get('model')}', not '{model}': "
                    f"{rebuild_hint('--model', model)}"
                )
            if precision and precision != index_precision(old):
                # One index never mixes vectors from two variants of the model.
                raise IndexProblem(
                    f"index passages were embedded with {index_precision(old)}, not {precision}: "
                    f"{rebuild_hint('--precision', precision)}"
                )
        # A rebuild keeps the index's model and a precision chosen for it, unless told otherwise; an
        # index from before int8 (no precision recorded) keeps fp32 until it is rebuilt.
        self.model = model or old.get("model") or DEFAULT_MODEL
        self.model_dir = store.index_dir / model_dir_name(self.model)
        prepare_model(self.model, self.model_dir)
        if precision:
            self.precision = precision
        elif old and not rebuild:
            self.precision = index_precision(old)
        else:
            self.precision = old.get("precision") or DEFAULT_PRECISION
        if self.precision not in MODEL_FILES:  # written by a newer qa
            raise IndexProblem(
                f"index passages were embedded with '{self.precision}', which this qa does not know: "
                f"{rebuild_hint('--precision', DEFAULT_PRECISION)}"
            )
        if not (self.model_dir / MODEL_FILES[self.precision]).is_file():
            if precision or (old and not rebuild):
                raise IndexProblem(
                    f"{self.model_dir / MODEL_FILES[self.precision]} is missing and could not be made: "
                    f"{rebuild_hint('--precision', 'fp32')}"
                )
            self.precision = "fp32"  # a model that does not quantize: a new index uses fp32
        self.counter = TokenCounter(self.model_dir)
        self.settings = ChunkSettings(max_tokens=self.counter.content_limit)
        if old and not rebuild and old.get("chunking") != self.settings.as_dict():
            raise IndexProblem(f"index was built with other chunking settings: {REBUILD_HINT}")
        self._embedder: OnnxEmbedder | None = None
        self.pending: list[_Pending] = []
        self.originals_by_text: dict[str, str] = {}  # text hash -> id, for originals queued this run
        self.promote: list[str] = []  # duplicates whose original changed or left
        self.dirty = False
        self.retitled: list[int] = []  # chunks whose title the keyword postings must read again
        self.last_checkpoint = time.monotonic()

    @property
    def embedder(self) -> OnnxEmbedder:
        if self._embedder is None:  # loading the model costs time: only when there is text to embed
            try:
                self._embedder = OnnxEmbedder(self.model_dir, variant=self.precision, per_text=True)
            except Exception:
                if self.precision != "int8":
                    raise
                # A damaged int8 file: quantizing again gives the same bytes, so the same vectors.
                # Written in place, it damaged the cache copy it is a hard link of: remake that too.
                damaged = self.model_dir / MODEL_FILES["int8"]
                cached = model_cache_dir() / self.model_dir.name / MODEL_FILES["int8"]
                with contextlib.suppress(OSError):
                    if cached.is_file() and os.path.samefile(damaged, cached):
                        ensure_int8(cached.parent, remake=True)
                ensure_int8(self.model_dir, remake=True)
                self._embedder = OnnxEmbedder(self.model_dir, variant=self.precision, per_text=True)
        return self._embedder

    # -- the run ----------------------------------------------------------------------------------

    def run(self, paths: Sequence[str | Path]) -> IndexReport:
        started = time.perf_counter()
        store = self.store
        if self.rebuild:
            # One transaction for the whole rebuild: readers keep the old index until it commits,
            # and a crash rolls back to it.
            store.conn.execute("BEGIN IMMEDIATE")
            try:
                store.clear()
                self._write_manifest()
                self._remember_sources(paths)
                self.vectors = VectorIndex.empty(self.embedder.dim)
                self.keywords = KeywordIndex.empty()
                self._ingest(paths)
                self._finish()
            except BaseException as exc:
                store.conn.execute("ROLLBACK")
                if isinstance(exc, VectorsNotWritten):  # the passages were rolled back with the rest
                    raise IndexProblem(
                        f"cannot write {exc.path} ({exc.reason}): the rebuild was undone and the index is as it"
                        " was; free some space and run the rebuild again"
                    ) from None
                raise
        else:
            with store.transaction():  # sources first: an interrupted run is resumed by `qa index` alone
                self._write_manifest()
                self._remember_sources(paths)
            self.open_published()
            self._ingest(paths)
            with store.transaction():
                self._finish()
        self._remove_stale_files()
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _remember_sources(self, paths: Sequence[str | Path]) -> None:
        """Keep the files and folders indexed, so `qa index` with no paths refreshes them (caller's transaction)."""
        known = [] if self.rebuild else list(self.store.manifest.get("sources", []))
        given = [recorded_path(p) for p in paths]
        sources = sorted(set(known) | set(given))
        if sources != self.store.manifest.get("sources"):
            self.store.set_manifest(sources=sources)

    def _forget_sources(self, targets: Sequence[str]) -> None:
        """A file or folder removed by path is no longer refreshed by `qa index` (caller's transaction)."""
        removed = [recorded_path(t) for t in targets]
        known = list(self.store.manifest.get("sources", []))
        kept = [s for s in known if not any(s == r or path_within(s, r) for r in removed)]
        if kept != known:
            self.store.set_manifest(sources=kept)

    def _write_manifest(self) -> None:
        if self.store.manifest.get("model") == self.model and not self.rebuild:
            return
        dim = self.embedder.dim
        self.store.set_manifest(
            format_version=FORMAT_VERSION,
            model=self.model,
            model_dir=self.model_dir.name,
            precision=self.precision,
            dim=dim,
            max_seq_length=self.counter.max_seq_length,
            chunking=self.settings.as_dict(),
            generation=self.previous_generation,
        )

    def _reconciled_vectors(self) -> VectorIndex:
        """The last saved vectors, brought in line with SQLite (which a crash may have left ahead)."""
        store = self.store
        dim = int(store.manifest["dim"])
        generation = int(store.manifest.get("generation", 0))
        wanted = store.chunk_ids()
        try:
            vectors = (
                VectorIndex.load(
                    vector_file(store.index_dir, generation), dim, hint=REBUILD_HINT, writable=True
                )
                if generation
                else VectorIndex.empty(dim)
            )
        except IndexProblem:
            # The snapshot is missing or corrupt: SQLite has every vector, so rebuild it from there.
            vectors = VectorIndex.empty(dim)
        have = vectors.ids()
        extra = np.setdiff1d(have, wanted, assume_unique=True)
        missing = np.setdiff1d(wanted, have, assume_unique=True)
        if len(extra) or len(missing):
            vectors.remove(extra)
            vectors.add(missing, store.vectors_for(missing.tolist()))
            self.dirty = True
        return vectors

    def open_published(self) -> None:
        """The last published vectors and keyword postings, brought in line with the database."""
        self.vectors = self._reconciled_vectors()
        self.keywords = self._last_keywords()

    def _last_keywords(self) -> KeywordIndex:
        """The last published keyword postings; none when missing or damaged (an index from before them):
        then they are written from the database at the end of this run, even if nothing else changed."""
        path = keyword_file(self.store.index_dir, int(self.store.manifest.get("generation", 0)))
        try:
            return KeywordIndex.load(path)
        except (IndexProblem, OSError):
            if self.store.counts()[1]:
                self.dirty = True
            return KeywordIndex.empty()

    def _publish_keywords(self, generation: int) -> None:
        """Bring the keyword postings in line with the database and save them as this generation's."""
        store = self.store
        wanted = store.chunk_ids()
        have = self.keywords.ids()
        retitled = np.asarray(self.retitled, dtype=np.int64)
        gone = np.union1d(np.setdiff1d(have, wanted, assume_unique=True), retitled)
        new = np.union1d(np.setdiff1d(wanted, have, assume_unique=True), np.intersect1d(retitled, wanted))
        added = [
            store.tokenizer.postings(store.keyword_rows(new[start : start + TOKENIZE_ROWS].tolist()))
            for start in range(0, len(new), TOKENIZE_ROWS)
        ]
        self.keywords = self.keywords.updated(gone, added)
        self.retitled = []
        self.keywords.save(keyword_file(store.index_dir, generation))

    def _ingest(self, paths: Sequence[str | Path]) -> None:
        files = list(discover_files(paths))
        total = sum(_size(f) for f in files) or 1
        done = 0
        known = self.store.article_hashes() if not self.rebuild else {}
        owners = self.store.article_origins() if not self.rebuild else {}
        seen: set[str] = set()
        failed_origins: set[str] = set()
        read_from: dict[str, set[str]] = {}  # origin -> the ids read from it in this run
        claimed: list[tuple[Article, str, int]] = []  # ids another file held: decided once all are read
        for path in files:
            interrupt.check()
            try:
                origin = recorded_path(path)
            except (OSError, RuntimeError):  # a symlink cycle given by name
                self.report.skipped.append(Skipped(str(path), "symlink loop"))
                continue
            file_size = _size(path)
            consumed = 0
            ids = read_from.setdefault(origin, set())
            for item in read_file(path):
                if isinstance(item, Skipped):
                    self.report.skipped.append(item)
                    if item.source == str(Path(path).absolute()):  # the file itself, not one line of it
                        failed_origins.add(origin)
                    continue
                if item.id in seen:
                    self.report.skipped.append(Skipped(item.source, f"duplicate article id {item.id}"))
                    continue
                ids.add(item.id)
                consumed += len(item.text)
                position = done + min(consumed, file_size)
                owner = owners.get(item.id)
                if owner is not None and owner != origin and os.path.exists(owner):
                    # Ids of JSONL records are their file's: another file's "1" must not replace this one.
                    claimed.append((item, origin, position))
                    continue
                seen.add(item.id)
                self._take(item, origin, known, position)
                self._report_progress(position, total)
            done += file_size
            self._report_progress(done, total)
        for item, origin, position in claimed:
            owner = owners[item.id]
            if owner in read_from and item.id not in read_from[owner] and item.id not in seen:
                seen.add(item.id)  # the record moved here from a file read in this run
                self._take(item, origin, known, position)
            elif self.store.article_text_hash(item.id) == text_hash(item.text):
                seen.add(item.id)  # the same article in both files (a question set inside a larger one)
                self.report.unchanged += 1
            else:
                self.report.skipped.append(
                    Skipped(item.source, f"article id {item.id} is taken by {owner} (index both to move it)")
                )
        self._flush()
        if self.progress:
            self.progress(total, total)
        if not self.rebuild:
            self._remove_missing(paths, seen, failed_origins)
        self._promote_orphans()

    def _take(self, item: Article, origin: str, known: dict[str, str], position: int) -> None:
        """An article read from `origin`: unchanged, relabelled, or queued to be chunked and embedded."""
        digest = content_hash(item)
        if known.get(item.id) == digest:
            self.report.unchanged += 1
        elif item.id in known and self._relabel(item, origin, digest):
            self.report.changed += 1  # its text is as before: nothing to embed
            known[item.id] = digest
        else:
            self._queue(item, origin, digest, is_new=item.id not in known, position=position)
            known[item.id] = digest

    def _relabel(self, article: Article, origin: str, digest: str) -> bool:
        """Only what surrounds the text changed (a title, a date, the path it was named by): no re-embedding."""
        if self.rebuild:
            return False
        with self.store.transaction():
            relabelled = self.store.relabel_article(article, origin, digest)
        if relabelled:  # the title is searched with the first chunk: its keyword postings are read again
            first = self.store.conn.execute(
                "SELECT id FROM chunks WHERE article_id = ? AND ordinal = 0", (article.id,)
            ).fetchone()
            self.retitled.extend([int(first[0])] if first else [])
        return relabelled

    def _report_progress(self, read: int, total: int) -> None:
        """Progress counts input whose chunks are stored, not just read: embedding is the slow part."""
        if self.progress:
            self.progress(self.pending[0].position if self.pending else read, total)

    def _queue(self, article: Article, origin: str, digest: str, *, is_new: bool, position: int = 0) -> None:
        key = text_hash(article.text)
        original = self.originals_by_text.get(key)
        if original is None or original == article.id:
            original = self.store.original_with_text(article.text, exclude=article.id)
        if original is not None and original != article.id:
            # The same text from another source: stored once, cited with both sources.
            self.pending.append(_Pending(article, origin, digest, [], is_new, original, position))
            return
        self.originals_by_text[key] = article.id
        chunks = chunk_text(article.id, article.text, self.counter.count, self.settings)
        self.pending.append(_Pending(article, origin, digest, chunks, is_new, None, position))
        if sum(len(p.chunks) for p in self.pending) >= BATCH_CHUNKS:
            self._flush()

    def _promote_orphans(self) -> None:
        """Duplicates whose original changed or was removed get indexed in their own right."""
        while self.promote:
            article_ids, self.promote = self.promote, []
            for article_id in article_ids:
                row = self.store.conn.execute(
                    "SELECT origin, content_hash FROM articles WHERE id = ?", (article_id,)
                ).fetchone()
                article = self.store.article(article_id)
                if row is None or article is None:
                    continue
                self._queue(article, row[0], row[1], is_new=False)
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        texts = [c.text for p in self.pending for c in p.chunks]
        vectors = self.embedder.encode(texts) if texts else np.zeros((0, self.embedder.dim), np.float32)
        interrupt.check()  # before the batch is stored
        if self.rebuild:
            self._store_pending(vectors)
        else:
            with self.store.transaction():
                self._store_pending(vectors)
        self.pending = []
        if not self.rebuild and time.monotonic() - self.last_checkpoint > CHECKPOINT_SECONDS:
            # Long runs publish what they have so far, so readers see new articles before the end.
            with self.store.transaction():
                self._finish()
            # A reader may have just read the previous generation's number: that file stays until the end.
            self._remove_stale_files(keep_previous=True)
            self.last_checkpoint = time.monotonic()

    def _store_pending(self, vectors: np.ndarray) -> None:
        offset = 0
        for item in self.pending:
            old_ids = self._chunk_ids_of(item.article.id) if not item.is_new else []
            if not item.is_new:
                self.promote.extend(self.store.duplicates_of(item.article.id))
            rows = vectors[offset : offset + len(item.chunks)]
            offset += len(item.chunks)
            ids = self.store.put_article(
                item.article, item.origin, item.digest, item.chunks, rows, duplicate_of=item.duplicate_of
            )
            self.vectors.remove(np.asarray(old_ids, dtype=np.int64))
            self.vectors.add(np.asarray(ids, dtype=np.int64), rows)
            self.report.chunks_embedded += len(ids)
            if item.is_new:
                self.report.new += 1
            else:
                self.report.changed += 1
        self.dirty = True

    def _chunk_ids_of(self, article_id: str) -> list[int]:
        rows = self.store.conn.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))
        return [int(r[0]) for r in rows]

    def _remove_missing(self, paths: Iterable[str | Path], seen: set[str], failed: set[str]) -> None:
        """Articles read earlier from these files or folders that are gone now leave the index."""
        prefixes = [recorded_path(p) for p in paths if Path(p).exists()]
        stale = {
            article_id: origin
            for article_id, origin in self.store.article_ids_from_origins(prefixes).items()
            if article_id not in seen and origin not in failed
        }
        self.report.removed += self.remove(stale)

    def remove(self, article_ids: Iterable[str]) -> int:
        """Delete articles; identical copies that relied on them are indexed in their own right."""
        article_ids = list(article_ids)
        if not article_ids:
            return 0
        with self.store.transaction():
            for article_id in article_ids:
                self.vectors.remove(np.asarray(self._chunk_ids_of(article_id), dtype=np.int64))
                self.promote.extend(d for d in self.store.duplicates_of(article_id) if d not in article_ids)
            removed = self.store.delete_articles(article_ids)
        self.dirty = True
        return removed

    def _finish(self) -> None:
        """Publish the vectors: save a new generation file, then commit its number (caller's transaction;
        a rebuild's own, which this commits)."""
        if not self.rebuild and not self.dirty and not self.retitled:
            return
        self._fit_index_type()
        generation = int(self.store.manifest.get("generation", 0)) + 1
        self._publish_keywords(generation)
        self.vectors.save(vector_file(self.store.index_dir, generation))
        self.store.set_manifest(generation=generation)
        if self.rebuild:
            self.store.conn.execute("COMMIT")
        self.dirty = False

    def _fit_index_type(self) -> None:
        """Exact search while small; IVF-SQ8 past the threshold, retrained as the collection grows."""
        trained_on = int(self.store.manifest.get("trained_on", 0))
        self.vectors, trained_on = fitted(
            self.vectors, lambda ids: self.store.vectors_for(ids.tolist()), trained_on
        )
        self.store.set_manifest(index_type=self.vectors.kind, trained_on=trained_on)

    def _remove_stale_files(self, *, keep_previous: bool = False) -> None:
        """Older vector generations and models no longer named by the manifest (after each publish, once
        its transaction has ended); and the memory the publish freed goes back to the system."""
        _return_freed_memory()
        self.store.refresh_manifest()
        generation = int(self.store.manifest.get("generation", 0))
        kept = [generation - 1, generation] if keep_previous else [generation]
        keep = {f(self.store.index_dir, g) for g in kept for f in (vector_file, keyword_file)}
        for pattern in ("vectors-*.faiss*", "keywords-*.npz*"):
            for path in self.store.index_dir.glob(pattern):
                if path not in keep:
                    path.unlink(missing_ok=True)
        if keep_previous:
            return  # a checkpoint mid-run: the model folder is in use
        for path in self.store.index_dir.glob("model-*"):
            if path.is_dir() and path.name != self.store.manifest.get("model_dir"):
                shutil.rmtree(path, ignore_errors=True)


def _return_freed_memory() -> None:
    """Hand the pages of freed arrays back to the system. glibc keeps them for reuse, so a long `qa index`
    grew by what each publish left behind: with this, 2,000 news articles (29,321 chunks) ended at 263 MB
    instead of 318, and peaked at 335 instead of 357 (bench/results.md)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc: its allocator returns memory its own way
        return
    trim.argtypes = [ctypes.c_size_t]
    trim(0)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
