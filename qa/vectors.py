"""Nearest-neighbour search over chunk vectors with FAISS (inner product on unit vectors = cosine).

Small collections use exact search. Past `IVF_THRESHOLD` vectors an inverted-file index with 8-bit
scalar quantization (IVF-SQ8) takes over: a quarter of the memory and a fraction of the scan, with
recall@10 against exact search measured in bench/scale.py. IVF (unlike HNSW) supports removing
vectors, which incremental updates need. It is retrained as the collection grows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qa.errors import IndexProblem
from qa.files import write_atomically

# Chosen by measurement (bench/results.md, "Scale"): a question's exact scan reads every vector from
# memory right after its embedding, ~1.6 ms at 20,000 vectors and 7.5 ms at 65,317, while IVF-SQ8 takes
# 0.3-0.5 ms with recall@10 0.95 against exact search, and `qa eval` on news-2022 (65,317 passages) gave
# the same recall@5 (0.853) and mrr@10 (0.744) with either (answer_hit 0.626 exact, 0.629 IVF).
IVF_THRESHOLD = 20_000
IVF_NPROBE = 32
RETRAIN_GROWTH = 4  # retrain once the collection is this many times the size it was trained on

VectorSource = Callable[[np.ndarray], np.ndarray]  # chunk ids -> their vectors


def _faiss():  # type: ignore[no-untyped-def]
    import faiss

    return faiss


def ivf_lists(n: int) -> int:
    """Inverted lists for n vectors: about 4 sqrt(n), a power of two."""
    return 2 ** max(6, round(math.log2(4 * math.sqrt(max(n, 1)))))


class VectorIndex:
    """Chunk ids -> vectors; `search` returns the ids and cosine scores of the nearest chunks."""

    def __init__(self, index: object, dim: int) -> None:
        self.index = index
        self.dim = dim
        self._ivf = _faiss().try_extract_index_ivf(index)
        if self._ivf is not None:
            self._ivf.nprobe = IVF_NPROBE

    @property
    def kind(self) -> str:
        return "flat" if self._ivf is None else "ivf-sq8"

    @property
    def full_precision(self) -> bool:
        """Exact search over float32 vectors, as indexes were written before half precision."""
        faiss = _faiss()
        inner = getattr(self.index, "index", None)
        return self._ivf is None and isinstance(faiss.downcast_index(inner), faiss.IndexFlat)

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        faiss = _faiss()
        # Exact search over half-precision copies: a single-question scan reads half the memory (3.1 ms
        # against 8.1 ms for 65,000 vectors), and finds the same 50 passages as float32 99.98% of the time.
        codes = faiss.IndexScalarQuantizer(
            max(dim, 1), faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
        return cls(faiss.IndexIDMap2(codes), dim)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int) -> VectorIndex:
        index = cls.empty(dim)
        index.add(ids, vectors)
        return index

    @classmethod
    def build_ivf(
        cls, ids: np.ndarray, source: VectorSource, dim: int, *, batch: int = 50_000
    ) -> VectorIndex:
        """Train IVF-SQ8 on a sample of the vectors, then add all of them in batches."""
        faiss = _faiss()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # training and adding use every core
        nlist = ivf_lists(len(ids))
        rng = np.random.default_rng(0)
        sample_ids = np.sort(rng.choice(ids, size=min(len(ids), nlist * 40), replace=False))
        quantizer = faiss.IndexFlatIP(dim)
        ivf = faiss.IndexIVFScalarQuantizer(
            quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        ivf.train(np.ascontiguousarray(source(sample_ids), dtype=np.float32))
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        ivf.own_fields = True
        quantizer.this.disown()
        index = cls(ivf, dim)
        for start in range(0, len(ids), batch):
            part = ids[start : start + batch]
            index.add(part, source(part))
        return index

    @classmethod
    def load(cls, path: Path, dim: int, *, hint: str, writable: bool = False) -> VectorIndex:
        """Readers memory-map the file (fast start, shared pages); writers load a private copy."""
        faiss = _faiss()
        if not path.exists():
            raise IndexProblem(f"{path} is missing: {hint}")
        # IO_FLAG_MMAP_IFC maps the file's vectors in place. IO_FLAG_MMAP reads IVF lists through
        # on-disk inverted lists that fault their pages in again on every search: 1.2-1.3 ms against
        # 0.25-0.3 ms per question on news-2022's 65,317 vectors (IVF-SQ8, nprobe 32).
        flags = 0 if writable else faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
        try:
            index = faiss.read_index(str(path), flags)
        except RuntimeError:
            raise IndexProblem(f"{path} is corrupt or not a FAISS index: {hint}") from None
        if index.d != dim:
            raise IndexProblem(f"{path} holds {index.d}-d vectors, the manifest says {dim}: {hint}")
        return cls(index, dim)

    def __len__(self) -> int:
        return int(self.index.ntotal)  # type: ignore[attr-defined]

    def ids(self) -> np.ndarray:
        faiss = _faiss()
        if self._ivf is None:
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)  # type: ignore[attr-defined]
        lists = self._ivf.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(lists.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids):
            self.index.add_with_ids(  # type: ignore[attr-defined]
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def remove(self, ids: np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[attr-defined]

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if len(self) == 0 or k <= 0:
            return []
        # One query is too little work to share: OpenMP's thread hand-off cost 8x the search itself
        # (32 ms vs 3.9 ms for 65,000 vectors, bench/results.md).
        _faiss().omp_set_num_threads(1)
        scores, ids = self.index.search(  # type: ignore[attr-defined]
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, len(self))
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        """Readers never see a half-written file (qa/files.py)."""
        faiss = _faiss()
        write_atomically(path, lambda tmp: faiss.write_index(self.index, str(tmp)))


def fitted(vectors: VectorIndex, source: VectorSource, trained_on: int) -> tuple[VectorIndex, int]:
    """The index type the collection's size calls for: (index, size it was trained on; 0 for exact)."""
    n = len(vectors)
    if vectors.kind == "flat" and n < IVF_THRESHOLD and not vectors.full_precision:
        return vectors, 0
    if vectors.kind != "flat" and IVF_THRESHOLD // 2 <= n <= trained_on * RETRAIN_GROWTH:
        return vectors, trained_on
    ids = np.sort(vectors.ids())
    if n < IVF_THRESHOLD:  # shrunk well below the threshold: back to exact search
        return VectorIndex.build(ids, source(ids), vectors.dim), 0
    return VectorIndex.build_ivf(ids, source, vectors.dim), n
