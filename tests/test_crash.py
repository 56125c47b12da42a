"""A `qa index` killed with SIGKILL at any moment leaves the previous index usable; a re-run completes it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from qa.chunk import ChunkSettings, chunk_text
from qa.core import QA
from qa.embed import OnnxEmbedder, TokenCounter
from qa.store import vector_file
from qa.vectors import VectorIndex
from tests.conftest import SEED_QUESTION, SHARED_DATA

NEWS = SHARED_DATA / "news-2022-w2" / "articles.jsonl"


def _articles_in(index_dir: Path) -> int:
    try:
        with sqlite3.connect(f"file:{index_dir / 'qa.sqlite'}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:
        return -1


def _index_process(index_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "qa", "index", str(NEWS), "--index-dir", str(index_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )


def _kill_when(proc: subprocess.Popen[bytes], index_dir: Path, articles: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while _articles_in(index_dir) < articles:
        assert proc.poll() is None, (
            f"qa index ended early: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
        assert time.monotonic() < deadline, "qa index made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _ask_seed(index_dir: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "qa", "ask", SEED_QUESTION, "--json", "--index-dir", str(index_dir)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_sigkill_at_several_points_then_rerun_completes(seed_index: Path, tmp_path: Path) -> None:
    assert NEWS.exists(), f"benchmark data missing: {NEWS} (../shared must sit beside the project)"
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index, index_dir)
    before = _ask_seed(index_dir)
    assert "8,892" in before["answer"]

    # Kill while starting up, then after a first batch, then deep into the run.
    proc = _index_process(index_dir)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for articles in (20, 120, 260):
        _kill_when(_index_process(index_dir), index_dir, articles)
        after = _ask_seed(index_dir)
        assert after["found"] and after["answer"] == before["answer"]
        assert after["citations"][0]["start"] == before["citations"][0]["start"]

    finished = subprocess.run(
        [sys.executable, "-m", "qa", "index", str(NEWS), "--index-dir", str(index_dir)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=900,
    )
    assert finished.returncode == 0, finished.stderr
    _assert_same_as_a_clean_build(index_dir)
    assert "8,892" in _ask_seed(index_dir)["answer"]


def _assert_same_as_a_clean_build(index_dir: Path) -> None:
    """What a clean build gives: every article, its chunks exactly as chunking them afresh, every vector."""
    lines = [json.loads(line) for line in NEWS.read_text().splitlines() if line.strip()]
    qa = QA(index_dir)
    stats = qa.stats()
    assert stats.articles == len(lines) + 1  # plus the seed article

    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        manifest = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM manifest")}
        model_dir = index_dir / manifest["model_dir"]
        counter = TokenCounter(model_dir)
        settings = ChunkSettings(**manifest["chunking"])
        stored: dict[str, list[tuple[int, int, int]]] = {}
        for article_id, ordinal, start, end in conn.execute(
            "SELECT article_id, ordinal, start, end FROM chunks ORDER BY article_id, ordinal"
        ):
            stored.setdefault(article_id, []).append((ordinal, start, end))
        originals = conn.execute("SELECT id, text FROM articles WHERE duplicate_of IS NULL").fetchall()
        for article_id, text in originals:
            fresh = [
                (c.ordinal, c.start, c.end) for c in chunk_text(article_id, text, counter.count, settings)
            ]
            assert stored.get(article_id, []) == fresh, article_id
        chunk_ids = np.array(sorted(r[0] for r in conn.execute("SELECT id FROM chunks")), dtype=np.int64)
        fts_rows = conn.execute("SELECT count(*) FROM chunks_fts").fetchone()[0]
        sample = conn.execute(
            "SELECT substr(a.text, c.start + 1, c.end - c.start), c.vector FROM chunks c"
            " JOIN articles a ON a.id = c.article_id ORDER BY c.id LIMIT 40"
        ).fetchall()
    assert stats.chunks == len(chunk_ids) == fts_rows
    vectors = VectorIndex.load(vector_file(index_dir, manifest["generation"]), manifest["dim"], hint="")
    assert np.array_equal(np.sort(vectors.ids()), chunk_ids)
    fresh_vectors = OnnxEmbedder(model_dir, variant=manifest["precision"], per_text=True).encode(
        [text for text, _ in sample]
    )
    stored_vectors = np.stack([np.frombuffer(blob, dtype=np.float32) for _, blob in sample])
    assert (fresh_vectors * stored_vectors).sum(axis=1).min() > 0.999


def test_ctrl_c_twice_during_indexing_exits_cleanly(tmp_path: Path) -> None:
    """An impatient second Ctrl-C while qa index shuts down used to abort it (exit 134, "terminate called")."""
    index_dir = tmp_path / "index"
    proc = _index_process(index_dir)
    deadline = time.monotonic() + 600
    while _articles_in(index_dir) < 1:  # under way: passages are being embedded on the worker threads
        assert proc.poll() is None and time.monotonic() < deadline, "qa index ended early or made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    message = stderr.decode()
    assert proc.returncode == 130, message
    assert "qa: interrupted" in message and "Traceback" not in message and "terminate" not in message
    assert _articles_in(index_dir) >= 1  # what was committed stays
