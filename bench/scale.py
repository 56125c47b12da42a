"""A million chunks: exact vs IVF-SQ8 search on clustered synthetic vectors, and a cold `qa ask` on such an index.

usage: .venv/bin/python bench/scale.py [--n 1000000] [--queries 1000] [--work /tmp/qa-scale]

Prints a markdown table; every figure is measured in this run. The vectors are 384-d unit vectors
drawn around 2,000 cluster centres (real embeddings cluster; uniform noise would flatter no index),
and the queries are 1,000 held-out draws from the same distribution.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.core import QA  # noqa: E402
from qa.store import FORMAT_VERSION, vector_file  # noqa: E402
from qa.vectors import IVF_NPROBE, IVF_THRESHOLD, VectorIndex, ivf_lists  # noqa: E402

DIM = 384


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        which = rng.integers(0, len(centres), m)
        block = centres[which] + rng.normal(scale=0.35, size=(m, DIM)).astype(np.float32)
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def latencies(index: VectorIndex, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, list[list[int]]]:
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        hits = index.search(q, k)
        times.append((time.perf_counter() - started) * 1000)
        found.append([i for i, _ in hits])
    return np.array(times), found


def make_qa_index(work: Path, vectors: np.ndarray, index: VectorIndex, seed_index: Path) -> tuple[Path, str]:
    """A real index folder: SQLite rows (articles, chunks with their vectors, FTS) + the IVF file."""
    target = work / "index-1m"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copytree(next(seed_index.glob("model-*")), target / next(seed_index.glob("model-*")).name)
    # A Zipf-distributed vocabulary of 20,000 words, so keyword search sees realistic term frequencies.
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    word_rng = np.random.default_rng(3)
    words = np.array(["".join(word_rng.choice(letters, word_rng.integers(4, 10))) for _ in range(20_000)])
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    conn = sqlite3.connect(target / "qa.sqlite", isolation_level=None)
    from qa.store import _SCHEMA

    conn.executescript(_SCHEMA)
    conn.execute("BEGIN")
    per_article = 100
    rng = np.random.default_rng(7)
    for a in range(len(vectors) // per_article):
        sentences = [
            " ".join(rng.choice(words, 12, p=weights)).capitalize() + f" number {a}-{c}."
            for c in range(per_article)
        ]
        text = " ".join(sentences)
        conn.execute(
            "INSERT INTO articles(id, title, source, origin, text, content_hash, text_hash) VALUES (?,?,?,?,?,?,?)",
            (
                f"a{a}",
                f"Synthetic article {a}",
                f"synthetic/{a}.txt",
                f"synthetic/{a}.txt",
                text,
                str(a),
                str(a),
            ),
        )
        offset = 0
        for c, sentence in enumerate(sentences):
            chunk_id = a * per_article + c + 1
            conn.execute(
                "INSERT INTO chunks(id, article_id, ordinal, start, end, vector) VALUES (?,?,?,?,?,?)",
                (chunk_id, f"a{a}", c, offset, offset + len(sentence), vectors[chunk_id - 1].tobytes()),
            )
            conn.execute(
                "INSERT INTO chunks_fts(rowid, title, text) VALUES (?,?,?)", (chunk_id, "", sentence)
            )
            offset += len(sentence) + 1
    seed_manifest = dict(sqlite3.connect(seed_index / "qa.sqlite").execute("SELECT key, value FROM manifest"))
    manifest = {k: json.loads(v) for k, v in seed_manifest.items()}
    manifest.update(
        generation=1, index_type=index.kind, trained_on=len(vectors), format_version=FORMAT_VERSION
    )
    conn.executemany("INSERT INTO manifest VALUES (?, ?)", [(k, json.dumps(v)) for k, v in manifest.items()])
    conn.execute("COMMIT")
    conn.close()
    index.save(vector_file(target, 1))
    return target, " ".join(words[[40, 400, 4000]])


def cold_ask(index_dir: Path, question: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "qa", "ask", question, "--json", "--index-dir", str(index_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"qa ask failed: {result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-scale"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(42)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    started = time.perf_counter()
    data = clustered(args.n, rng, centres)
    queries = clustered(args.queries, rng, centres)
    print(f"generated {args.n:,} vectors in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    ids = np.arange(1, args.n + 1, dtype=np.int64)

    # Exact search at growing sizes: where does it stop being "a few milliseconds"?
    rows = []
    for size in (50_000, 100_000, 200_000, 500_000, args.n):
        if size > args.n:
            continue
        flat = VectorIndex.build(ids[:size], data[:size], DIM)
        times, _ = latencies(flat, queries[:200])
        rows.append((size, float(np.percentile(times, 50)), float(np.percentile(times, 95))))
        del flat
    print("\n| vectors | exact p50 ms | exact p95 ms |\n| --- | --- | --- |")
    for size, p50, p95 in rows:
        print(f"| {size:,} | {p50:.2f} | {p95:.2f} |")

    # Ground truth for recall: exact top 10 for every query, in one batch.
    import faiss

    exact = faiss.IndexFlatIP(DIM)
    exact.add(data)
    _, truth = exact.search(queries, 10)
    del exact

    before = rss_mb()
    started = time.perf_counter()
    ivf = VectorIndex.build_ivf(ids, lambda part: data[part - 1], DIM)
    build_s = time.perf_counter() - started
    memory_mb = rss_mb() - before
    times, found = latencies(ivf, queries)
    recall = np.mean([len(set(f) & set((truth[i] + 1).tolist())) / 10 for i, f in enumerate(found)])
    path = args.work / "ivf.faiss"
    ivf.save(path)
    disk_mb = path.stat().st_size / 2**20
    started = time.perf_counter()
    loaded = VectorIndex.load(path, DIM, hint="")
    load_s = time.perf_counter() - started
    mapped_times, _ = latencies(loaded, queries)  # what a reader searches: the file, memory-mapped

    seed_index = args.work / "seed-index"
    if not (seed_index / "qa.sqlite").exists():
        QA(seed_index).index([ROOT / "seeds"])
    index_dir, question = make_qa_index(args.work, data, ivf, seed_index)
    seed_ask = min(cold_ask(seed_index, "How many U.S. troops were in Iraq?") for _ in range(3))
    big_ask = min(cold_ask(index_dir, f"What about {question}?") for _ in range(3))

    print(
        f"\nIVF-SQ8, {ivf_lists(args.n)} lists, nprobe {IVF_NPROBE}; exact search below {IVF_THRESHOLD:,} vectors"
    )
    print("| figure | value |\n| --- | --- |")
    print(f"| vectors | {args.n:,} |")
    print(f"| recall@10 vs exact ({args.queries:,} held-out queries) | {recall:.3f} |")
    print(f"| search p50 / p95 | {np.percentile(times, 50):.2f} ms / {np.percentile(times, 95):.2f} ms |")
    print(f"| build (train + add) | {build_s:.1f} s |")
    print(f"| size on disk / in memory | {disk_mb:.0f} MB / {memory_mb:.0f} MB |")
    print(f"| load (memory-mapped) | {load_s * 1000:.0f} ms |")
    print(
        f"| search p50 / p95, memory-mapped | {np.percentile(mapped_times, 50):.2f} ms"
        f" / {np.percentile(mapped_times, 95):.2f} ms |"
    )
    print(f"| cold `qa ask` on the 1M-chunk index (best of 3) | {big_ask:.2f} s |")
    print(f"| cold `qa ask` on the seed index (best of 3) | {seed_ask:.2f} s |")
    print(
        f"| index folder on disk | {sum(p.stat().st_size for p in index_dir.rglob('*') if p.is_file()) / 2**30:.2f} GB |"
    )


if __name__ == "__main__":
    main()
