"""Keyword search scored in numpy: FTS5's bm25 over the passages, without its per-row cost.

FTS5 ranks a question's keywords by calling bm25() on every passage that holds one of them (~12,600 on
a 65,000-passage index), which made the keyword search the slowest step of a warm answer. The words
each passage holds, as FTS5 tokenizes them, are kept here as postings per word (`keywords-<generation>.npz`
beside the vectors file, derived from the database the same way), and a question's bm25 is summed over
its words' postings with the same formula, weights and order of sums as FTS5's, so the ranking is
FTS5's. A keyword FTS5 reads as several words ("covid-19") is a phrase, scored by FTS5 on its own:
bm25 is a sum over the query's phrases, each counted alone.
"""

from __future__ import annotations

import math
import sqlite3
import struct
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import IndexProblem
from qa.files import write_atomically

TOKENIZER = "porter unicode61 remove_diacritics 2"  # the passages' FTS5 table's: one tokenizer for both
TITLE_WEIGHT, TEXT_WEIGHT = 2.0, 1.0  # a word in a passage's title counts twice
K1, B = 1.2, 0.75  # FTS5's bm25 constants
TOKENIZE_ROWS = 2000  # passages tokenized at a time when the postings are built from the database


def keyword_file(index_dir: Path, generation: int) -> Path:
    return index_dir / f"keywords-{generation}.npz"


@dataclass
class Postings:
    """Words of some passages, one entry per (word, passage): `word_of` indexes `words`, `weights` is
    the word's count in the passage (a title's counted TITLE_WEIGHT times); `lengths` are the passages'
    token counts, in the order of `chunk_ids`."""

    words: list[str]
    word_of: np.ndarray  # int32
    chunks: np.ndarray  # int64 chunk ids
    weights: np.ndarray  # float32
    chunk_ids: np.ndarray  # int64, each passage once
    lengths: np.ndarray  # int64


class Tokenizer:
    """Words as FTS5 indexes them, read back from a scratch FTS5 table in the connection's temp schema."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._tokens: dict[str, tuple[str, ...]] = {}
        self._made = False

    def _fresh_table(self) -> None:
        # Dropped and made again each time: deleted rows would leave markers for every later read to skip.
        if self._made:
            self.conn.execute("DROP TABLE temp.qa_words_vocab")
            self.conn.execute("DROP TABLE temp.qa_words")
        self.conn.execute(
            f"CREATE VIRTUAL TABLE temp.qa_words USING fts5(title, text, tokenize = '{TOKENIZER}')"
        )
        self.conn.execute(
            "CREATE VIRTUAL TABLE temp.qa_words_vocab USING fts5vocab(temp, qa_words, instance)"
        )
        self._made = True

    def postings(self, rows: Iterable[tuple[int, str, str]]) -> Postings:
        """The postings of passages given as (chunk id, title, text)."""
        self._fresh_table()
        self.conn.executemany("INSERT INTO temp.qa_words(rowid, title, text) VALUES (?, ?, ?)", rows)
        # One pass over the words: per (word, passage) its weighted count and its count, which summed per
        # passage give the passage's length (a second pass for the lengths cost a third of the time).
        found = self.conn.execute(
            "SELECT term, doc, sum(CASE col WHEN 'title' THEN ? ELSE ? END), count(*) FROM temp.qa_words_vocab"
            " GROUP BY term, doc",
            (TITLE_WEIGHT, TEXT_WEIGHT),
        ).fetchall()
        chunk_ids = np.array(
            [r[0] for r in self.conn.execute("SELECT rowid FROM temp.qa_words ORDER BY rowid")],
            dtype=np.int64,
        )
        self._fresh_table()  # not left holding the texts
        words: dict[str, int] = {}
        word_of = np.fromiter((words.setdefault(r[0], len(words)) for r in found), np.int32, len(found))
        chunks = np.fromiter((r[1] for r in found), np.int64, len(found))
        counts = np.fromiter((r[3] for r in found), np.int64, len(found))
        lengths = np.bincount(np.searchsorted(chunk_ids, chunks), weights=counts, minlength=len(chunk_ids))
        return Postings(
            list(words),
            word_of,
            chunks,
            np.fromiter((r[2] for r in found), np.float32, len(found)),
            chunk_ids,
            lengths.astype(np.int64),
        )

    def tokens(self, keywords: Sequence[str]) -> list[tuple[str, ...]]:
        """The words FTS5 reads in each keyword of a question (remembered: questions repeat their words).

        The keywords not met before go through one scratch table together: a table per keyword cost
        ~0.5 ms each, most of the keyword search (5 of its 6.5 ms for 10 keywords, news-2022).
        """
        if len(self._tokens) > 100_000:
            self._tokens.clear()
        new = list(dict.fromkeys(k for k in keywords if k not in self._tokens))
        if new:
            self._fresh_table()
            self.conn.executemany(
                "INSERT INTO temp.qa_words(rowid, title, text) VALUES (?, '', ?)",
                enumerate(new, start=1),
            )
            found: dict[int, list[str]] = {}
            for doc, term in self.conn.execute(
                "SELECT doc, term FROM temp.qa_words_vocab ORDER BY doc, offset"
            ):
                found.setdefault(doc, []).append(term)
            for row, keyword in enumerate(new, start=1):
                self._tokens[keyword] = tuple(found.get(row, ()))
        return [self._tokens[k] for k in keywords]


class KeywordIndex:
    """Postings by word: for word i (of `words`, sorted), entries offsets[i]:offsets[i+1] of `docs`
    (positions in `chunk_ids`, ascending) and `weights`; `lengths` are the passages' token counts."""

    def __init__(
        self,
        words: list[str],
        offsets: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
        chunk_ids: np.ndarray,
        lengths: np.ndarray,
    ) -> None:
        self.words, self.offsets, self.docs, self.weights = words, offsets, docs, weights
        self.chunk_ids, self.lengths = chunk_ids, lengths
        self._where: dict[str, int] | None = None
        self._norm: np.ndarray | None = None
        self.avgdl = int(lengths.sum()) / len(chunk_ids) if len(chunk_ids) else 0.0

    @classmethod
    def empty(cls) -> KeywordIndex:
        return cls(
            [],
            np.zeros(1, np.int64),
            np.zeros(0, np.int32),
            np.zeros(0, np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )

    def __len__(self) -> int:
        return len(self.chunk_ids)

    def ids(self) -> np.ndarray:
        return self.chunk_ids

    def updated(self, removed: np.ndarray, added: Sequence[Postings]) -> KeywordIndex:
        """Without the passages `removed`, with those of `added` (which replace any they name).

        Entries stay as word and passage positions (int32) throughout. Passages newer than every one kept
        (new rows: SQLite gives them higher ids) are inserted after each word's entries, with no sort of
        the whole index: a checkpoint of a long `qa index` then peaks well below a full rewrite.
        """
        if not len(removed) and not added:
            return self
        new_ids = np.concatenate([np.zeros(0, np.int64), *(a.chunk_ids for a in added)])
        keep_docs = ~np.isin(self.chunk_ids, np.concatenate([np.asarray(removed, dtype=np.int64), new_ids]))
        kept_ids = self.chunk_ids[keep_docs]
        chunk_ids = np.concatenate([kept_ids, new_ids])
        lengths = np.concatenate([self.lengths[keep_docs], *(a.lengths for a in added)])
        order = np.argsort(chunk_ids, kind="stable")
        chunk_ids, lengths = chunk_ids[order], lengths[order]
        vocabulary = sorted(set(self.words).union(*(a.words for a in added)))
        where = {w: i for i, w in enumerate(vocabulary)}
        docs, weights, kept_counts = self._kept_entries(keep_docs, chunk_ids)
        used = np.zeros(len(vocabulary), dtype=np.int64)  # entries per word: the kept ones, then all
        used[[where[w] for w in self.words]] = kept_counts
        new_words, new_docs, new_weights = _entries_of(added, where, chunk_ids)
        if not len(kept_ids) or not len(new_ids) or new_ids.min() > kept_ids[-1]:
            docs, weights = _inserted_after_each_word(used, docs, weights, new_words, new_docs, new_weights)
        else:  # an added passage among the kept ones (a retitled article read again)
            docs, weights = _sorted_together(used, docs, weights, new_words, new_docs, new_weights)
        used += np.bincount(new_words, minlength=len(vocabulary))
        held = used > 0  # words whose passages all left are dropped
        if not held.all():
            vocabulary, used = [w for w, h in zip(vocabulary, held, strict=True) if h], used[held]
        offsets = np.zeros(len(vocabulary) + 1, dtype=np.int64)
        np.cumsum(used, out=offsets[1:])
        return KeywordIndex(vocabulary, offsets, docs, weights, chunk_ids, lengths)

    def _kept_entries(
        self, keep_docs: np.ndarray, chunk_ids: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The entries of the passages kept, in their order, with each passage's place in `chunk_ids`; and
        how many entries each of this index's words keeps."""
        position = np.searchsorted(chunk_ids, self.chunk_ids).astype(np.int32)  # of the kept passages
        if keep_docs.all() and (not len(position) or position[-1] == len(position) - 1):
            return self.docs, self.weights, np.diff(self.offsets)  # every passage kept, in its place
        keep = keep_docs[self.docs]
        kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
        np.cumsum(keep, out=kept_before[1:])
        counts = kept_before[self.offsets[1:]] - kept_before[self.offsets[:-1]]
        return position[self.docs[keep]], np.asarray(self.weights[keep], dtype=np.float32), counts

    # -- search -----------------------------------------------------------------------------------

    def _entries(self, word: str) -> slice | None:
        if self._where is None:
            self._where = {w: i for i, w in enumerate(self.words)}
        i = self._where.get(word)
        return None if i is None else slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def search(
        self,
        phrases: Sequence[tuple[str, ...]],
        depth: int,
        phrase_scores: dict[int, list[tuple[int, float]]] | None = None,
        allowed: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, bm25; higher is better) of the `depth` best passages for `phrases` (each the words of a
        keyword, as FTS5 reads them). A phrase of several words is scored by the caller:
        `phrase_scores[i]` holds (chunk id, its bm25 alone) for phrase i. `allowed`: the chunk ids that may
        be returned (between dates); the scores are still those of the whole index, as FTS5's are."""
        n = len(self.chunk_ids)
        if not n or not phrases:
            return []
        scores = np.zeros(n, dtype=np.float64)
        matched = np.zeros(n, dtype=bool)
        if self._norm is None:  # bm25's length normalization, per passage: the same for every question
            self._norm = K1 * (1 - B + B * self.lengths / self.avgdl) if self.avgdl else np.full(n, K1)
        norm = self._norm
        for i, words in enumerate(phrases):
            if len(words) == 1:
                entries = self._entries(words[0])
                if entries is None:
                    continue
                docs = self.docs[entries]
                weights = self.weights[entries].astype(np.float64)
                # FTS5: idf = log((N - hits + 0.5) / (hits + 0.5)), at least 1e-6; summed phrase by phrase.
                idf = max(math.log((n - len(docs) + 0.5) / (len(docs) + 0.5)), 1e-6)
                scores[docs] += idf * ((weights * (K1 + 1.0)) / (weights + norm[docs]))
                matched[docs] = True
            elif phrase_scores and phrase_scores.get(i):
                ids, values = zip(*phrase_scores[i], strict=True)
                where = np.searchsorted(self.chunk_ids, np.array(ids, dtype=np.int64))
                where = np.clip(where, 0, n - 1)
                known = self.chunk_ids[where] == np.array(ids, dtype=np.int64)
                scores[where[known]] += np.array(values, dtype=np.float64)[known]
                matched[where[known]] = True
        if allowed is not None:
            matched &= np.isin(self.chunk_ids, allowed)
        candidates = np.flatnonzero(matched)
        if len(candidates) > depth:
            cut = np.argpartition(-scores[candidates], depth - 1)[:depth]
            # Ties at the cut: every passage scoring as the last one kept, so the order below is whole.
            floor = scores[candidates[cut]].min()
            candidates = candidates[scores[candidates] >= floor]
        best = candidates[np.lexsort((self.chunk_ids[candidates], -scores[candidates]))][:depth]
        return [(int(self.chunk_ids[d]), float(scores[d])) for d in best]

    # -- files ------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Readers never see a half-written file (qa/files.py)."""

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.savez(
                    handle,
                    words=np.frombuffer("\n".join(self.words).encode(), dtype=np.uint8),
                    offsets=self.offsets,
                    docs=self.docs,
                    weights=self.weights,
                    chunk_ids=self.chunk_ids,
                    lengths=self.lengths,
                )

        write_atomically(path, write)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        try:
            members = _mapped_members(path)
            arrays = [members[k] for k in ("words", "offsets", "docs", "weights", "chunk_ids", "lengths")]
            text = np.asarray(arrays[0]).tobytes().decode()
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexProblem(f"{path} is unreadable ({type(exc).__name__})") from None
        index = cls(text.split("\n") if text else [], *arrays[1:])
        if len(index.offsets) != len(index.words) + 1 or len(index.lengths) != len(index.chunk_ids):
            raise IndexProblem(f"{path} is damaged")
        return index


def _inserted_after_each_word(
    kept: np.ndarray,
    docs: np.ndarray,
    weights: np.ndarray,
    words: np.ndarray,
    new_docs: np.ndarray,
    new_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Entries of passages that come after every kept one, put after each word's `kept` entries: the kept
    entries stay in order, with no sort of the whole index (a checkpoint's peak then stays low)."""
    order = np.lexsort((new_docs, words))
    ends = np.cumsum(kept)[words[order]]  # where each word's kept entries end
    # Entries given the same place keep their order, which is by passage.
    docs = np.insert(docs, ends, new_docs[order])
    return docs, np.insert(np.asarray(weights, np.float32), ends, new_weights[order])


def _sorted_together(
    kept: np.ndarray,
    docs: np.ndarray,
    weights: np.ndarray,
    words: np.ndarray,
    new_docs: np.ndarray,
    new_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Kept and new entries sorted together, by word, then passage: the same file however it was built."""
    word_of = np.concatenate([np.repeat(np.arange(len(kept), dtype=np.int32), kept), words])
    docs, weights = (
        np.concatenate([docs, new_docs]),
        np.concatenate([np.asarray(weights, np.float32), new_weights]),
    )
    order = np.lexsort((docs, word_of))
    return docs[order], weights[order]


def _entries_of(
    added: Sequence[Postings], where: dict[str, int], chunk_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries of `added` as (word's place in the vocabulary, passage's place in `chunk_ids`, weight)."""
    words, docs, weights = [np.zeros(0, np.int32)], [np.zeros(0, np.int32)], [np.zeros(0, np.float32)]
    for part in added:
        part_words = np.array([where[w] for w in part.words], dtype=np.int32)
        words.append(part_words[part.word_of] if len(part_words) else np.zeros(0, np.int32))
        docs.append(np.searchsorted(chunk_ids, part.chunks).astype(np.int32))
        weights.append(part.weights.astype(np.float32))
    return np.concatenate(words), np.concatenate(docs), np.concatenate(weights)


def _mapped_members(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an uncompressed .npz, memory-mapped in place: a cold `qa ask` reads the postings of its
    question's words, not the whole file (about 50 MB for 65,000 passages, ten times that for a million)."""
    members: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as handle:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"unexpected member {info.filename}")
            handle.seek(info.header_offset)
            local = handle.read(30)  # the member's local header: its name and extra field come next
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise ValueError("damaged member header")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            handle.seek(info.header_offset + 30 + name_length + extra_length)
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(handle)
            offset = handle.tell()
            size = int(np.prod(shape)) * dtype.itemsize
            if offset + size > info.header_offset + 30 + name_length + extra_length + info.file_size:
                raise ValueError(f"member {info.filename} is cut short")
            name = info.filename.removesuffix(".npy")
            members[name] = (
                np.memmap(
                    path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C"
                )
                if size
                else np.zeros(shape, dtype=dtype)
            )
    return members
