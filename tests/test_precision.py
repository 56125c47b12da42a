"""Passages of new indexes are embedded with the int8 model; an index never mixes int8 and fp32 vectors."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.core import QA
from qa.embed import DEFAULT_MODEL, OnnxEmbedder, SentenceTransformerEmbedder
from tests.conftest import SEED_QUESTION, SEEDS
from tests.test_reliability import FOREST, HARBOUR, damage

runner = CliRunner()


@pytest.fixture(scope="module")
def reference() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(DEFAULT_MODEL)


def stored(index_dir: Path) -> tuple[list[str], np.ndarray, dict[str, object]]:
    """Chunk texts, their stored vectors and the manifest."""
    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        rows = conn.execute(
            "SELECT substr(a.text, c.start + 1, c.end - c.start), c.vector FROM chunks c"
            " JOIN articles a ON a.id = c.article_id ORDER BY c.id"
        ).fetchall()
        manifest = {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM manifest")}
    return [r[0] for r in rows], np.stack([np.frombuffer(r[1], dtype=np.float32) for r in rows]), manifest


def model_dir_of(index_dir: Path) -> Path:
    (model_dir,) = index_dir.glob("model-*")
    return model_dir


def test_new_index_embeds_passages_with_int8_close_to_sentence_transformers(
    seed_index: Path, reference: SentenceTransformerEmbedder
) -> None:
    texts, vectors, manifest = stored(seed_index)
    assert manifest["precision"] == "int8" and QA(seed_index).stats().precision == "int8"
    int8 = OnnxEmbedder(model_dir_of(seed_index), variant="int8", per_text=True).encode(texts)
    np.testing.assert_allclose(vectors, int8, atol=1e-5)
    cosines = (vectors * reference.encode(texts)).sum(axis=1)
    assert cosines.mean() > 0.98 and cosines.min() > 0.95, cosines
    # Questions are embedded with fp32, which matches sentence-transformers.
    question = QA(seed_index)._reader()[2]
    assert question.variant == "fp32"
    assert float(question.encode([SEED_QUESTION])[0] @ reference.encode([SEED_QUESTION])[0]) >= 0.999


def test_fp32_index_matches_sentence_transformers(
    tmp_path: Path, reference: SentenceTransformerEmbedder
) -> None:
    result = runner.invoke(app, ["index", str(SEEDS), "--precision", "fp32", "--index-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    texts, vectors, manifest = stored(tmp_path)
    assert manifest["precision"] == "fp32"
    assert ((vectors * reference.encode(texts)).sum(axis=1)).min() >= 0.999
    assert "8,892" in QA(tmp_path).ask(SEED_QUESTION).text


def test_changing_precision_needs_a_rebuild_and_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "harbour.md").write_text(HARBOUR)
    index_dir = tmp_path / "index"
    QA(index_dir).index([folder], precision="fp32")
    (folder / "forest.md").write_text(FOREST)
    before = stored(index_dir)[1]

    result = runner.invoke(app, ["index", str(folder), "--precision", "int8", "--index-dir", str(index_dir)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "qa: index passages were embedded with fp32, not int8: run `qa index --rebuild --precision int8`"
    ]
    assert np.array_equal(stored(index_dir)[1], before)

    # Without --precision the index keeps its own: the new article is embedded with fp32 too.
    assert QA(index_dir).index([folder]).chunks_embedded == 1
    texts, vectors, manifest = stored(index_dir)
    assert manifest["precision"] == "fp32"
    np.testing.assert_allclose(vectors, OnnxEmbedder(model_dir_of(index_dir)).encode(texts), atol=1e-5)

    report = QA(index_dir).index([folder], rebuild=True, precision="int8")
    assert report.chunks_embedded == 2
    texts, vectors, manifest = stored(index_dir)
    assert manifest["precision"] == "int8"
    int8 = OnnxEmbedder(model_dir_of(index_dir), variant="int8", per_text=True).encode(texts)
    np.testing.assert_allclose(vectors, int8, atol=1e-5)

    # A rebuild keeps the precision the index was given.
    QA(index_dir).index([folder], rebuild=True, precision="fp32")
    QA(index_dir).index([folder], rebuild=True)
    assert stored(index_dir)[2]["precision"] == "fp32"


def test_unknown_precision_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["index", str(SEEDS), "--precision", "fp16", "--index-dir", str(tmp_path / "new")]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == ["qa: --precision must be one of fp32, int8, not 'fp16'"]
    assert not (tmp_path / "new").exists()


def test_precision_written_by_a_newer_qa_is_named(tmp_path: Path) -> None:
    QA(tmp_path).index([SEEDS])
    with sqlite3.connect(tmp_path / "qa.sqlite") as conn:
        conn.execute("UPDATE manifest SET value = ? WHERE key = 'precision'", (json.dumps("fp4"),))
    result = runner.invoke(app, ["index", str(SEEDS), "--index-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "qa: index passages were embedded with 'fp4', which this qa does not know: "
        "run `qa index --rebuild --precision int8`"
    ]


def test_damaged_int8_model_is_made_again_with_the_same_vectors(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "harbour.md").write_text(HARBOUR)
    index_dir = tmp_path / "index"
    QA(index_dir).index([folder])
    int8_file = model_dir_of(index_dir) / "model.int8.onnx"
    good = int8_file.read_bytes()
    damage(int8_file)
    (folder / "forest.md").write_text(FOREST)

    assert QA(index_dir).index([folder]).chunks_embedded == 1
    assert int8_file.read_bytes() == good
    texts, vectors, _ = stored(index_dir)
    int8 = OnnxEmbedder(model_dir_of(index_dir), variant="int8", per_text=True).encode(texts)
    np.testing.assert_allclose(vectors, int8, atol=1e-5)
    assert "4 days" in QA(index_dir).ask("How long did the forest fire near Lakeside burn?").text


def test_int8_model_damaged_in_place_is_made_again_in_the_cache_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))  # this test damages its cache
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "harbour.md").write_text(HARBOUR)
    first, second = tmp_path / "first", tmp_path / "second"
    QA(first).index([folder])
    int8_file = model_dir_of(first) / "model.int8.onnx"
    good = int8_file.read_bytes()
    with int8_file.open("r+b") as handle:  # in place: the cache copy is the same file
        handle.write(b"not a model")
    (folder / "forest.md").write_text(FOREST)

    assert QA(first).index([folder]).chunks_embedded == 1
    assert int8_file.read_bytes() == good
    (cached,) = (tmp_path / "cache" / "models").glob("model-*/model.int8.onnx")
    assert cached.read_bytes() == good
    QA(second).index([folder])  # a new index links the repaired cache copy
    assert (model_dir_of(second) / "model.int8.onnx").read_bytes() == good
