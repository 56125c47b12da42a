"""Peak memory of `qa index` into a fresh folder: news-2022-w2 (the reference) and news-2022, in one run.

usage: .venv/bin/python bench/memory.py [--work /tmp/qa-memory] [--big PATH/articles.jsonl]

Each build is a `qa index` process of its own. Its memory is read from /proc every 0.2 s (resident and
anonymous) alongside the chunks stored so far, so the figures show where memory grows: with the
collection (what the writer keeps: keyword postings and vectors) or at the publish steps. The peak is the
process's own ru_maxrss, read when it ends.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
QA = [sys.executable, "-m", "qa"]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon and VmHWM of a process, in kB (empty once it has ended)."""
    found: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "VmHWM"):
                    found[key] = int(value.split()[0])
    except OSError:
        pass
    return found


def stored_chunks(index_dir: Path) -> int:
    """Chunks committed so far (the writer commits each batch)."""
    try:
        with sqlite3.connect(f"file:{index_dir / 'qa.sqlite'}?mode=ro", uri=True, timeout=0.1) as conn:
            return int(conn.execute("SELECT count(*) FROM chunks").fetchone()[0])
    except sqlite3.Error:
        return 0


def build(articles: Path, index_dir: Path) -> dict[str, object]:
    shutil.rmtree(index_dir, ignore_errors=True)
    started = time.perf_counter()
    process = subprocess.Popen(
        [*QA, "index", str(articles), "--index-dir", str(index_dir)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    samples: list[tuple[int, int, int]] = []  # (chunks stored, rss kB, anon kB)
    next_count = 0.0
    while True:
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would give the largest of all children).
        pid, wait_status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        now = time.perf_counter() - started
        found = status(process.pid)
        if found and now >= next_count:  # counting chunks costs a query: every 5 s is enough
            samples.append((stored_chunks(index_dir), found["VmRSS"], found["RssAnon"]))
            next_count = now + 5.0
        time.sleep(0.2)
    process.returncode = os.waitstatus_to_exitcode(wait_status)
    if process.returncode:
        raise SystemExit(f"qa index {articles} failed with exit code {process.returncode}")
    seconds = time.perf_counter() - started
    chunks = stored_chunks(index_dir)
    step = max(1, len(samples) // 12)
    return {
        "articles": str(articles),
        "chunks": chunks,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        # (chunks stored, resident MB, anonymous MB) through the build
        "rss_mb_by_chunks": [(n, round(rss / 1024), round(anon / 1024)) for n, rss, anon in samples[::step]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, default=Path("/tmp/qa-memory"))
    parser.add_argument("--small", type=Path, default=DATA / "news-2022-w2" / "articles.jsonl")
    parser.add_argument("--big", type=Path, default=DATA / "news-2022" / "articles.jsonl")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    small = build(args.small, args.work / "small")
    print(json.dumps(small), flush=True)
    big = build(args.big, args.work / "big")
    print(json.dumps(big), flush=True)
    print(
        json.dumps(
            {
                "chunks_ratio": round(big["chunks"] / max(small["chunks"], 1), 2),  # type: ignore[operator]
                "peak_ratio": round(big["peak_rss_mb"] / small["peak_rss_mb"], 2),  # type: ignore[operator]
                "extra_kb_per_chunk": round(
                    1024
                    * (big["peak_rss_mb"] - small["peak_rss_mb"])
                    / max(big["chunks"] - small["chunks"], 1),
                    2,  # type: ignore[operator]
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
