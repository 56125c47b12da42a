"""Answer quality of BM25 alone, dense alone and the shipped hybrid, measured with `qa eval`.

Builds one index per question set in a cache folder (reused by later runs: nothing is re-embedded),
runs `qa eval --method M` on it for each method, prints a markdown table and writes it into the
"## Quality" section of bench/results.md (other sections are kept).

Tune on news-2022-w2 and squad2-dev-sample; report on news-2022.

    .venv/bin/python bench/quality.py                       # all three sets
    .venv/bin/python bench/quality.py --sets news-2022-w2   # a quick run
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.answer import FOUND_THRESHOLD  # noqa: E402
from qa.evaluate import INDEX_KEYS, KEYS, refusal_sweep  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SETS = ("news-2022-w2", "squad2-dev-sample", "news-2022")
TUNE_SETS = ("news-2022-w2", "squad2-dev-sample")
METHODS = ("bm25", "dense", "hybrid")  # the table's order
RUN_ORDER = ("hybrid", "bm25", "dense")  # the shipped method first: its figures come soonest
RESULTS = ROOT / "bench" / "results.md"
CACHE = Path(os.environ.get("QA_BENCH_CACHE", "/tmp/qa-bench"))
BUSY = 3  # qa's exit code for IndexBusy
BUSY_WAIT_SECONDS = 3 * 3600
# questions and method have columns of their own; precision and chunks are said above the table
COLUMNS = tuple(k for k in KEYS if k != "questions" and k not in INDEX_KEYS)


def machine() -> str:
    ram = "RAM unknown"
    with contextlib.suppress(OSError):
        found = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        if found:
            ram = f"{int(found.group(1)) / 2**20:.0f} GiB RAM"
    versions = []
    for package in ("torch", "onnxruntime", "faiss-cpu"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"{os.cpu_count()} cores, {ram}, Python {platform.python_version()}, {', '.join(versions)}; "
        f"load average at start {load}"
    )


def revision() -> str:
    """The commit measured, with "+ local changes" when the work tree differs from it."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + local changes" if dirty else "")


def run_eval(data_dir: Path, method: str, index_dir: Path, out: Path) -> dict[str, float]:
    cmd = [
        sys.executable,
        "-m",
        "qa",
        "eval",
        str(data_dir),
        "--json",
        "--method",
        method,
        "--index-dir",
        str(index_dir),
        "--out",
        str(out),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    print(f"$ {shlex.join(cmd)}", flush=True)
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    while done.returncode == BUSY and time.perf_counter() - started < BUSY_WAIT_SECONDS:
        print(f"  index busy, waiting: {done.stderr.strip()}", flush=True)  # another `qa index` writes it
        time.sleep(30)
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"qa eval failed ({done.returncode}): {done.stderr.strip()}")
    metrics = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {time.perf_counter() - started:.0f}s: {json.dumps(metrics)}", flush=True)
    return metrics


def fmt(value: object, column: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if column.endswith(("_ms", "_seconds")) else f"{value:.3f}"
    return str(value)


def quality_section(
    command: str, started: str, rev: str, results: dict[str, dict[str, dict]], sweeps: dict
) -> str:
    lines = [
        "## Quality",
        "",
        f"Command: `{command}`  ",
        f"Date: {started}  ",
        f"Code: {rev}  ",
        f"Machine: {machine()}",
        "",
        "`qa eval` per set and retrieval method, all methods on the same index. Recall and MRR count a",
        "question (one with non-empty `gold_articles`) at k when one of the first k passages (of a",
        "k=10 `qa.ask`) holds the gold answer as whole words, case-insensitive; `answer_hit`,",
        "`found` and latency come from the default `qa ask` (k=5). Latency is per question, warm.",
        "`index_seconds` is the indexing step of that `qa eval` (a build on the first run of a set,",
        "else the check that finds nothing new). Tuning sets: news-2022-w2 and squad2-dev-sample;",
        "news-2022 is the set reported on.",
        "",
        "Indexes: "
        + "; ".join(
            f"{name} {first.get('precision', '?')}, {first.get('chunks', '?')} chunks"
            for name, by_method in results.items()
            if (first := next(iter(by_method.values()), {}))
        )
        + ".",
        "",
        "| set | method | questions | " + " | ".join(COLUMNS) + " |",
        "| --- | --- | ---: | " + " | ".join("---:" for _ in COLUMNS) + " |",
    ]
    for name, by_method in results.items():
        label = name + (" (tuning)" if name in TUNE_SETS else "")
        for method in sorted(by_method, key=METHODS.index):
            metrics = by_method[method]
            cells = " | ".join(fmt(metrics.get(c), c) for c in COLUMNS)
            lines.append(f"| {label} | {method} | {metrics.get('questions')} | {cells} |")
    if sweeps:
        lines += [
            "",
            "### Refusal threshold (hybrid)",
            "",
            f"`found` is `confidence >= FOUND_THRESHOLD` (qa/answer.py, now {FOUND_THRESHOLD:.2f}), where `confidence` is the",
            "cosine between the question and its best sentence (the `--out` field), unless the question asks what did",
            "not happen and that sentence says nothing negative (`unmet_negation`), or the answer's articles mention",
            "none of the names the question uses (`unmentioned`). Had the threshold been t",
            "(exact at the shipped threshold; an estimate at the others, with the sentence chosen at it):",
            "",
            "| threshold | " + " | ".join(f"{n} absent / present" for n in sweeps) + " |",
            "| ---: | " + " | ".join("---:" for _ in sweeps) + " |",
        ]
        thresholds = [row["threshold"] for row in next(iter(sweeps.values()))]
        for i, t in enumerate(thresholds):
            cells = " | ".join(
                f"{fmt(s[i]['refused_when_absent'])} / {fmt(s[i]['refused_when_present'])}"
                for s in sweeps.values()
            )
            lines.append(f"| {t:.2f} | {cells} |")
        lines += [
            "",
            "absent = refused_when_absent (higher is better), present = refused_when_present (lower is better).",
        ]
    return "\n".join(lines) + "\n"


def write_section(section: str, path: Path = RESULTS) -> None:
    """Replace the "## Quality" section of `path` (or add it), keeping every other section."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(r"^## Quality\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = (text.rstrip("\n") + "\n\n" if text.strip() else "# Benchmarks\n\n") + section
    path.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--data", type=Path, default=DATA, help="folder holding the question sets")
    parser.add_argument("--cache", type=Path, default=CACHE, help="index and --out files per set")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    args = parser.parse_args()

    command = "python bench/quality.py" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
    started = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    rev = revision()
    results: dict[str, dict[str, dict]] = {}
    sweeps: dict[str, list[dict]] = {}
    for name in args.sets:
        data_dir = args.data / name
        index_dir = args.cache / name
        index_dir.parent.mkdir(parents=True, exist_ok=True)
        results[name] = {}
        for method in sorted(args.methods, key=RUN_ORDER.index):
            out = args.cache / f"{name}-{method}.jsonl"
            results[name][method] = run_eval(data_dir, method, index_dir, out)
            if method == "hybrid":
                rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
                sweeps[name] = refusal_sweep(rows)
        section = quality_section(command, started, rev, results, sweeps)
        if not args.no_write:
            write_section(section, args.results)  # after each set, so a long run keeps what it measured
    print()
    print(section)


if __name__ == "__main__":
    main()
