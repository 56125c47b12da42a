"""Nearest-neighbour search over chunk vectors with FAISS (inner product on unit vectors = cosine)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from qa.errors import IndexProblem


def _faiss():  # type: ignore[no-untyped-def]
    import faiss

    return faiss


class VectorIndex:
    """Chunk ids -> vectors; `search` returns the ids and cosine scores of the nearest chunks."""

    def __init__(self, index: object, dim: int) -> None:
        self.index = index
        self.dim = dim

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        faiss = _faiss()
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(max(dim, 1))), dim)

    @classmethod
    def build(cls, ids: np.ndarray, vectors: np.ndarray, dim: int) -> VectorIndex:
        index = cls.empty(dim)
        index.add(ids, vectors)
        return index

    @classmethod
    def load(cls, path: Path, dim: int, *, hint: str, writable: bool = False) -> VectorIndex:
        """Readers memory-map the file (fast start, shared pages); writers load a private copy."""
        faiss = _faiss()
        if not path.exists():
            raise IndexProblem(f"{path} is missing: {hint}")
        flags = 0 if writable else faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY
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
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)  # type: ignore[attr-defined]

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
        scores, ids = self.index.search(  # type: ignore[attr-defined]
            np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), min(k, len(self))
        )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def save(self, path: Path) -> None:
        """Write to a temporary name, fsync, then rename: readers never see a half-written file."""
        faiss = _faiss()
        tmp = path.with_name(path.name + f".tmp-{os.getpid()}")
        faiss.write_index(self.index, str(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
