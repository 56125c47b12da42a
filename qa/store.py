"""The index folder: one SQLite database (the source of truth) and a FAISS snapshot of its vectors.

SQLite holds articles, chunk spans, chunk vectors, an FTS5 table for lexical search and the
manifest. The FAISS file `vectors-<generation>.faiss` is derived from the vectors in SQLite: a
writer saves a new generation under a new name and then commits its number, so a reader always
opens a complete file, and a crash at any moment leaves the previous generation in place. Vector
ids missing from SQLite (a crash after saving, before committing) are ignored by readers and
reconciled by the next writer.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.errors import IndexProblem
from qa.types import Article, Chunk

if TYPE_CHECKING:
    from qa.keywords import KeywordIndex, Tokenizer
    from qa.vectors import VectorIndex

FORMAT_VERSION = 1
DB_NAME = "qa.sqlite"
REBUILD_HINT = "run `qa index --rebuild`"
# An unreadable database cannot say which files and folders it was built from: they must be named.
UNREADABLE_HINT = (
    "run `qa index --rebuild PATH...` with the files and folders it held (the damaged file is kept)"
)


def rebuild_hint(*options: str) -> str:
    """REBUILD_HINT with options, e.g. run `qa index --rebuild --model NAME`."""
    return f"run `qa index --rebuild {shlex.join(options)}`"


def index_precision(manifest: dict[str, Any]) -> str:
    """The model variant that embedded an index's passages (indexes made before int8 have fp32)."""
    return str(manifest.get("precision", "fp32"))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS manifest (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    source TEXT NOT NULL,
    origin TEXT NOT NULL,          -- the file the article was read from
    url TEXT,
    date TEXT,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,    -- of everything read: a change means re-chunk
    text_hash TEXT NOT NULL,       -- of the text alone: equal texts are embedded once
    duplicate_of TEXT,             -- the article whose chunks stand for this one's identical text
    page_starts TEXT               -- JSON list, PDF only
);
CREATE INDEX IF NOT EXISTS articles_origin ON articles(origin);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused, so a stale vector id can't point elsewhere
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    title, text, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""
# Columns added after the first release, with how to fill them in older databases.
_MIGRATIONS = (
    (
        "articles",
        "text_hash",
        "ALTER TABLE articles ADD COLUMN text_hash TEXT NOT NULL DEFAULT ''",
        "UPDATE articles SET text_hash = qa_text_hash(text)",
    ),
    ("articles", "duplicate_of", "ALTER TABLE articles ADD COLUMN duplicate_of TEXT", None),
)
_INDEXES = """
CREATE INDEX IF NOT EXISTS articles_text_hash ON articles(text_hash);
CREATE INDEX IF NOT EXISTS articles_duplicate_of ON articles(duplicate_of);
"""


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring an older database up to this schema, in one transaction."""
    conn.create_function("qa_text_hash", 1, text_hash, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table, column, add, fill in _MIGRATIONS:
            if column not in _columns(conn, table):
                conn.execute(add)
                if fill:
                    conn.execute(fill)
        for statement in filter(str.strip, _INDEXES.split(";")):
            conn.execute(statement)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


@dataclass(frozen=True)
class ChunkRow:
    chunk_id: int
    article_id: str
    title: str
    source: str
    date: str | None
    start: int
    end: int
    text: str
    page_starts: tuple[int, ...]
    also_sources: tuple[str, ...] = ()  # sources of identical copies of the article


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        except sqlite3.OperationalError as exc:
            # In a folder this user cannot write to (a read-only mount, an index copied without its -shm
            # file), SQLite cannot make the shared-memory file a WAL reader needs; nothing this user runs
            # can change the database there, so it is read as immutable.
            cannot = "readonly" in str(exc) or "unable to open" in str(exc)  # without, or with, a -wal file
            if not cannot or os.access(path.parent, os.W_OK):
                raise
            conn.close()
            conn = sqlite3.connect(
                f"file:{path}?mode=ro&immutable=1", uri=True, timeout=30, check_same_thread=False
            )
    else:
        conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def recorded_sources(index_dir: Path) -> tuple[list[str] | None, int]:
    """(the files and folders the index records as indexed, or None if it records none; its article count),
    read straight from the database: also from an index that needs a rebuild (another format or model),
    whose sources the rebuild must keep. (None, 0) when there is no database; IndexProblem when there is
    one that cannot be read."""
    path = index_dir / DB_NAME
    if not path.exists():
        return None, 0
    try:
        conn = _connect(path, readonly=True)
        try:
            row = conn.execute("SELECT value FROM manifest WHERE key = 'sources'").fetchone()
            articles = int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        finally:
            conn.close()
        return (None if row is None else [str(s) for s in json.loads(row[0])]), articles
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):  # empty: a first run stopped before it wrote anything
            return None, 0
        raise IndexProblem(f"cannot read {path}: {exc}") from None  # locked, or not ours to open: not damage
    except (sqlite3.Error, ValueError, TypeError) as exc:
        raise IndexProblem(f"{path} is unreadable ({exc}): {UNREADABLE_HINT}") from None


class Store:
    """Metadata, spans and vectors of one index folder."""

    def __init__(self, index_dir: Path, *, readonly: bool = True) -> None:
        self.index_dir = index_dir
        self.db_path = index_dir / DB_NAME
        self.readonly = readonly
        self._keywords_generation: object = None
        self._keywords: KeywordIndex | None = None
        self._keywords_read = False
        self._tokenizer: Tokenizer | None = None
        if readonly and not self.db_path.exists():
            raise IndexProblem(f"no index in {index_dir}: run `qa index` to build one")
        if not readonly:
            index_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = _connect(self.db_path, readonly=readonly)
            if not readonly:
                tables = {
                    row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                }
                if tables and "manifest" not in tables:  # someone else's database: qa's tables stay out of it
                    self.conn.close()
                    raise IndexProblem(
                        f"{self.db_path} is not a qa index (it holds other tables): choose another --index-dir"
                    )
                self.conn.executescript(_SCHEMA)
                _migrate(self.conn)
            elif not self.conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
                # An empty file: a first run stopped before it wrote anything.
                raise IndexProblem(f"no index in {index_dir}: run `qa index` to build one")
            elif not {m[1] for m in _MIGRATIONS} <= _columns(self.conn, "articles"):
                raise IndexProblem(f"{self.db_path} was written by an older qa: run `qa index` to upgrade it")
            self.manifest = self._read_manifest()
        except sqlite3.DatabaseError as exc:
            raise IndexProblem(f"{self.db_path} is unreadable ({exc}): {UNREADABLE_HINT}") from None

    def close(self) -> None:
        self.conn.close()

    # -- manifest ---------------------------------------------------------------------------------

    def _read_manifest(self) -> dict[str, Any]:
        rows = self.conn.execute("SELECT key, value FROM manifest").fetchall()
        try:
            return {key: json.loads(value) for key, value in rows}
        except ValueError:
            raise IndexProblem(f"{self.db_path} has a damaged manifest: {UNREADABLE_HINT}") from None

    def set_manifest(self, **values: Any) -> None:
        self.conn.executemany(
            "INSERT INTO manifest(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [(k, json.dumps(v)) for k, v in values.items()],
        )
        self.manifest.update(values)

    def refresh_manifest(self) -> None:
        self.manifest = self._read_manifest()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- writes -----------------------------------------------------------------------------------

    def put_article(
        self,
        article: Article,
        origin: str,
        content_hash: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        duplicate_of: str | None = None,
    ) -> list[int]:
        """Insert or replace an article with its chunks; returns the new chunk ids. Call in a transaction.

        A duplicate (`duplicate_of` set) is stored without chunks: the original's chunks cite it too.
        """
        self.delete_articles([article.id])
        self.conn.execute(
            "INSERT INTO articles(id, title, source, origin, url, date, text, content_hash, text_hash,"
            " duplicate_of, page_starts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                article.id,
                article.title,
                article.source,
                origin,
                article.url,
                article.date,
                article.text,
                content_hash,
                text_hash(article.text),
                duplicate_of,
                json.dumps(list(article.page_starts)) if article.page_starts else None,
            ),
        )
        ids: list[int] = []
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        for chunk, vector in zip(chunks, vectors, strict=True):
            cur = self.conn.execute(
                "INSERT INTO chunks(article_id, ordinal, start, end, vector) VALUES (?, ?, ?, ?, ?)",
                (article.id, chunk.ordinal, chunk.start, chunk.end, vector.tobytes()),
            )
            chunk_id = int(cur.lastrowid or 0)
            ids.append(chunk_id)
            self.conn.execute(
                "INSERT INTO chunks_fts(rowid, title, text) VALUES (?, ?, ?)",
                (chunk_id, article.title if chunk.ordinal == 0 else "", chunk.text),
            )
        return ids

    def relabel_article(self, article: Article, origin: str, content_hash: str) -> bool:
        """Store what was read around an unchanged text (title, source, date, url, pages), keeping its
        chunks and vectors; False when the stored text differs. Call in a transaction."""
        row = self.conn.execute("SELECT text_hash FROM articles WHERE id = ?", (article.id,)).fetchone()
        if row is None or row[0] != text_hash(article.text):
            return False
        self.conn.execute(
            "UPDATE articles SET title = ?, source = ?, origin = ?, url = ?, date = ?, content_hash = ?,"
            " page_starts = ? WHERE id = ?",
            (
                article.title,
                article.source,
                origin,
                article.url,
                article.date,
                content_hash,
                json.dumps(list(article.page_starts)) if article.page_starts else None,
                article.id,
            ),
        )
        self.conn.execute(  # the title is searched with the first chunk
            "UPDATE chunks_fts SET title = ? WHERE rowid IN (SELECT id FROM chunks WHERE article_id = ? AND ordinal = 0)",
            (article.title, article.id),
        )
        return True

    def original_with_text(self, text: str, exclude: str) -> str | None:
        """The id of a stored article (not itself a duplicate) with exactly this text."""
        row = self.conn.execute(
            "SELECT id FROM articles WHERE text_hash = ? AND duplicate_of IS NULL AND id != ? LIMIT 1",
            (text_hash(text), exclude),
        ).fetchone()
        return row[0] if row else None

    def duplicates_of(self, article_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM articles WHERE duplicate_of = ? ORDER BY id", (article_id,)
        ).fetchall()
        return [r[0] for r in rows]

    def delete_articles(self, article_ids: Iterable[str]) -> int:
        removed = 0
        for article_id in article_ids:
            self.conn.execute(
                "DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE article_id = ?)",
                (article_id,),
            )
            removed += self.conn.execute("DELETE FROM articles WHERE id = ?", (article_id,)).rowcount
        return removed

    def clear(self) -> None:
        self.conn.execute("DELETE FROM chunks_fts")
        self.conn.execute("DELETE FROM chunks")
        self.conn.execute("DELETE FROM articles")
        self.conn.execute("DELETE FROM manifest")
        self.manifest = {}

    # -- reads ------------------------------------------------------------------------------------

    def article_hashes(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT id, content_hash FROM articles"))

    def article_text_hash(self, article_id: str) -> str | None:
        row = self.conn.execute("SELECT text_hash FROM articles WHERE id = ?", (article_id,)).fetchone()
        return row[0] if row else None

    def article_origins(self) -> dict[str, str]:
        """Article id -> the file it was read from."""
        return dict(self.conn.execute("SELECT id, origin FROM articles"))

    def article_ids_from_origins(self, origins_prefixes: Sequence[str]) -> dict[str, str]:
        """Article id -> origin for articles read from any of these files or folders."""
        found: dict[str, str] = {}
        for prefix in origins_prefixes:
            rows = self.conn.execute(
                "SELECT id, origin FROM articles WHERE origin = ? OR substr(origin, 1, ?) = ?",
                (prefix, len(prefix) + 1, prefix.rstrip(os.sep) + os.sep),
            )
            found.update(dict(rows))
        return found

    def counts(self) -> tuple[int, int]:
        articles = self.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        chunks = self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(articles), int(chunks)

    def keyword_rows(self, chunk_ids: Sequence[int]) -> list[tuple[int, str, str]]:
        """(chunk id, title, text) as the keyword search holds them, for these chunk ids."""
        out: list[tuple[int, str, str]] = []
        for _, batch, marks in _id_batches(chunk_ids):
            out.extend(
                self.conn.execute(
                    f"SELECT rowid, title, text FROM chunks_fts WHERE rowid IN ({marks})", batch
                )
            )
        return out

    def chunk_ids(self) -> np.ndarray:
        rows = self.conn.execute("SELECT id FROM chunks ORDER BY id").fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vectors_for(self, chunk_ids: Sequence[int]) -> np.ndarray:
        dim = int(self.manifest["dim"])
        out = np.empty((len(chunk_ids), dim), dtype=np.float32)
        for start, batch, marks in _id_batches(chunk_ids):
            rows = dict(self.conn.execute(f"SELECT id, vector FROM chunks WHERE id IN ({marks})", batch))
            for offset, chunk_id in enumerate(batch):
                out[start + offset] = np.frombuffer(rows[chunk_id], dtype=np.float32)
        return out

    def existing_chunk_ids(self, chunk_ids: Sequence[int]) -> set[int]:
        """Those of these chunk ids that exist (a search may return the ids of chunks deleted since)."""
        found: set[int] = set()
        for _, batch, marks in _id_batches(chunk_ids):
            found.update(
                r[0] for r in self.conn.execute(f"SELECT id FROM chunks WHERE id IN ({marks})", batch)
            )
        return found

    def chunks(self, chunk_ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Rows for these chunk ids; ids that no longer exist are left out."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self.conn.execute(
            "SELECT c.id, c.article_id, a.title, a.source, a.date, c.start, c.end,"
            " substr(a.text, c.start + 1, c.end - c.start), a.page_starts,"
            " (SELECT group_concat(d.source, char(31)) FROM articles d WHERE d.duplicate_of = a.id)"
            f" FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
            [int(i) for i in chunk_ids],
        ).fetchall()
        return {
            r[0]: ChunkRow(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                tuple(json.loads(r[8] or "[]")),
                tuple(sorted(set(r[9].split("\x1f")) - {r[3]})) if r[9] else (),
            )
            for r in rows
        }

    def _forget_keywords_if_stale(self) -> None:
        generation = self.manifest.get("generation", 0)
        if self._keywords_generation != generation:
            self._keywords, self._keywords_read, self._keywords_generation = None, False, generation

    @property
    def tokenizer(self) -> Tokenizer:
        """Words as the keyword search reads them (on this connection's scratch tables)."""
        if self._tokenizer is None:
            from qa.keywords import Tokenizer

            self._tokenizer = Tokenizer(self.conn)
        return self._tokenizer

    def keyword_index(self) -> KeywordIndex | None:
        """The keyword postings of the published generation, or None when it has none (an index from
        before them, or their file is gone or damaged): the keyword search then asks FTS5 alone, with the
        same ranking, only slower. `qa index` writes them again."""
        self._forget_keywords_if_stale()
        if not self._keywords_read:
            from qa.keywords import KeywordIndex, keyword_file

            self._keywords_read = True
            path = keyword_file(self.index_dir, int(self.manifest.get("generation", 0)))
            with suppress(IndexProblem):
                self._keywords = KeywordIndex.load(path) if path.is_file() else None
        return self._keywords

    def phrase_scores(self, phrase: str) -> list[tuple[int, float]]:
        """(chunk id, bm25; higher is better) of every passage holding one keyword (an FTS5 phrase)."""
        sql = "SELECT rowid, -bm25(chunks_fts, 2.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ?"
        try:
            return [
                (int(r[0]), float(r[1]))
                for r in self.conn.execute(sql, ('"' + phrase.replace('"', "") + '"',))
            ]
        except sqlite3.OperationalError:
            return []

    def lexical_search(
        self, match: str, limit: int, since: str | None = None, until: str | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, bm25 score; higher is better) for an FTS5 MATCH expression."""
        where, params = _date_filter(since, until)
        sql = (
            "SELECT chunks_fts.rowid, -bm25(chunks_fts, 2.0, 1.0) AS score FROM chunks_fts"
            + (
                " JOIN chunks c ON c.id = chunks_fts.rowid JOIN articles a ON a.id = c.article_id"
                if where
                else ""
            )
            + " WHERE chunks_fts MATCH ?"
            + where
            + " ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?"
        )
        try:
            return [(int(r[0]), float(r[1])) for r in self.conn.execute(sql, [match, *params, limit])]
        except sqlite3.OperationalError:
            return []

    def chunk_ids_in_dates(self, since: str | None, until: str | None) -> set[int]:
        where, params = _date_filter(since, until)
        rows = self.conn.execute(
            "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE 1" + where, params
        )
        return {int(r[0]) for r in rows}

    def article(self, article_id: str) -> Article | None:
        row = self.conn.execute(
            "SELECT id, title, source, text, date, url, page_starts FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        if row is None:
            return None
        return Article(
            id=row[0],
            title=row[1],
            source=row[2],
            text=row[3],
            date=row[4],
            url=row[5],
            page_starts=tuple(json.loads(row[6] or "[]")),
        )

    def article_text(self, article_id: str) -> str:
        """An article's title and text ("" for none)."""
        row = self.conn.execute("SELECT title, text FROM articles WHERE id = ?", (article_id,)).fetchone()
        return f"{row[0]}\n\n{row[1]}" if row else ""

    def list_articles(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT a.id, a.title, a.source, a.date, length(a.text), count(c.id), a.duplicate_of"
            " FROM articles a LEFT JOIN chunks c ON c.article_id = a.id"
            " GROUP BY a.id ORDER BY a.date IS NULL, a.date DESC, a.title"
        )
        keys = ("id", "title", "source", "date", "characters", "chunks", "duplicate_of")
        return [dict(zip(keys, r, strict=True)) for r in rows]


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _date_filter(since: str | None, until: str | None) -> tuple[str, list[str]]:
    where, params = "", []
    if since:
        where += " AND a.date >= ?"
        params.append(since)
    if until:
        where += " AND a.date <= ?"
        params.append(until)
    return where, params


def _id_batches(chunk_ids: Sequence[int], size: int = 900) -> Iterator[tuple[int, list[int], str]]:
    """(offset, ids, "?,?,...") for `chunk_ids` in batches small enough for one query's SQL variables."""
    for start in range(0, len(chunk_ids), size):
        batch = [int(i) for i in chunk_ids[start : start + size]]
        yield start, batch, ",".join("?" * len(batch))


def vector_file(index_dir: Path, generation: int) -> Path:
    return index_dir / f"vectors-{generation}.faiss"


def load_vectors(store: Store) -> VectorIndex:
    """The FAISS snapshot named by the manifest, or an empty one for an index without vectors yet."""
    from qa.vectors import VectorIndex

    generation = int(store.manifest.get("generation", 0))
    dim = int(store.manifest.get("dim", 0))
    if generation == 0:
        return VectorIndex.empty(dim)
    path = vector_file(store.index_dir, generation)
    if not path.exists():
        # A writer may have published a newer generation and removed this one since the manifest was read.
        store.refresh_manifest()
        if int(store.manifest.get("generation", 0)) != generation:
            return load_vectors(store)
    return VectorIndex.load(path, dim, hint=REBUILD_HINT)
