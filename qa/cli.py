"""The `qa` command line: a thin layer over qa.core.QA. Heavy libraries load only inside commands."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from qa import interrupt
from qa.errors import BadOption, BadQuestion, QAError
from qa.text import oneline, plural, safe

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="qa",
    help=(
        "Ask questions about your articles and get answers that cite the exact passage.\n\n"
        'Example: qa index ~/articles && qa ask "How many U.S. troops were in Iraq?"'
    ),
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

IndexDir = Annotated[
    Path,
    typer.Option("--index-dir", envvar="QA_INDEX_DIR", help="Index folder.", show_default=True),
]
Model = Annotated[
    str | None,
    typer.Option(
        "--model",
        envvar="QA_MODEL",
        help="sentence-transformers model name or folder (default: the index's model, else all-MiniLM-L6-v2).",
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Since = Annotated[str | None, typer.Option("--since", help="Only articles dated on or after (YYYY-MM-DD).")]
Until = Annotated[str | None, typer.Option("--until", help="Only articles dated on or before (YYYY-MM-DD).")]


def fail(message: str, code: int) -> None:
    typer.echo(f"qa: {oneline(message)}", err=True)
    raise typer.Exit(code)


def friendly_errors(func: F) -> F:
    """Known problems print one line and exit non-zero; nothing prints a traceback unless QA_DEBUG is set."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QAError as exc:
            fail(str(exc), exc.exit_code)
        except BrokenPipeError:  # `qa ... | head`: the reader left; stop quietly like other tools
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            interrupt.exiting()
            fail("interrupted; the index is unchanged since its last completed step", 130)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("QA_DEBUG"):
                raise
            fail(f"unexpected error: {type(exc).__name__}: {exc} (set QA_DEBUG=1 for details)", 1)

    return wrapper  # type: ignore[return-value]


def _typed(ctx: typer.Context | None, name: str) -> bool:
    source = ctx.get_parameter_source(name) if ctx is not None else None
    return source is not None and source.name == "COMMANDLINE"


def _given(ctx: typer.Context, name: str, value: Any) -> Any:
    """A command's --index-dir or --model, or the one given before the command (`qa --index-dir X ask ...`,
    which was ignored): the command's own, if typed, comes first; either typed, before QA_INDEX_DIR/QA_MODEL."""
    if not _typed(ctx, name) and _typed(ctx.parent, name):
        return ctx.parent.params[name]  # type: ignore[union-attr]
    return value


def _qa(ctx: typer.Context, index_dir: Path, model: str | None = None):  # type: ignore[no-untyped-def]
    from qa.core import QA

    return QA(_given(ctx, "index_dir", index_dir), _given(ctx, "model", model))


def _date(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    from qa.ingest import normalize_date

    iso = normalize_date(value)
    if iso is None:
        raise BadOption(f"{flag} {value!r} is not a date: use YYYY-MM-DD")
    return iso


def _dates(since: str | None, until: str | None) -> dict[str, str | None]:
    dates = {"since": _date(since, "--since"), "until": _date(until, "--until")}
    if dates["since"] and dates["until"] and dates["since"] > dates["until"]:
        raise BadOption(f"--since {dates['since']} is after --until {dates['until']}: no date is in between")
    return dates


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context, index_dir: IndexDir = Path("index"), model: Model = None) -> None:
    """Ask questions about your articles and get answers that cite the exact passage.

    Run `qa` alone to open the terminal UI.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(chat, ctx, index_dir=index_dir, model=model)


@app.command()
@friendly_errors
def index(
    ctx: typer.Context,
    paths: Annotated[
        list[str] | None,  # not Path: Path("") is the current folder, and "" is a script's empty variable
        typer.Argument(
            help="Files or folders to index (default: those indexed before; seeds/ for a new index).",
            show_default=False,
        ),
    ] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Drop the index and build it again.")] = False,
    precision: Annotated[
        str | None,
        typer.Option(
            "--precision",
            help="Model variant that embeds passages: int8 (2x faster) or fp32 (exact). "
            "Default: the index's own, int8 for a new index; changing it needs --rebuild.",
            show_default=False,
        ),
    ] = None,
    index_dir: IndexDir = Path("index"),
    model: Model = None,
) -> None:
    """Add or update articles (.txt .md .html .jsonl .pdf) in the index.

    Only new or changed articles are embedded; articles whose files are gone from an indexed
    folder are removed.

    Example: qa index ~/news articles.jsonl
    """
    interrupt.install()
    qa = _qa(ctx, index_dir, model)
    show_bar = sys.stderr.isatty()
    with (
        typer.progressbar(length=1000, label="indexing", file=sys.stderr, show_eta=True)
        if show_bar
        else _NoBar() as bar
    ):
        state = {"done": 0}

        def progress(done: int, total: int) -> None:
            step = int(1000 * done / max(total, 1))
            if step > state["done"]:
                bar.update(step - state["done"])
                state["done"] = step

        report = qa.index(paths or None, rebuild=rebuild, precision=precision, progress=progress)
    for skipped in report.skipped[:20]:
        typer.echo(f"skipped {oneline(skipped.source)}: {oneline(skipped.reason)}", err=True)
    if len(report.skipped) > 20:
        typer.echo(f"... and {len(report.skipped) - 20} more skipped", err=True)
    stats = qa.stats()
    typer.echo(
        f"{report.summary()}; the index holds {plural(stats.articles, 'article')}, {plural(stats.chunks, 'chunk')}"
    )


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


@app.command()
@friendly_errors
def ask(
    ctx: typer.Context,
    question: Annotated[
        str | None, typer.Argument(help='Your question, in quotes; "-" reads one question a line from stdin.')
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Answer every line of this file; prints JSON lines.")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=50, help="Passages to draw on.")] = 5,
    as_json: Json = False,
    since: Since = None,
    until: Until = None,
    index_dir: IndexDir = Path("index"),
    model: Model = None,
) -> None:
    """Answer a question from the indexed articles, with numbered sources.

    Example: qa ask "How many U.S. troops were in Iraq as of late September?"

    Batch example (one JSON answer a line): qa ask --file questions.txt, or: cat questions.txt | qa ask -
    """
    qa = _qa(ctx, index_dir, model)
    dates = _dates(since, until)
    if file is not None and question is not None:
        raise BadQuestion("give a question or --file, not both")
    if file is not None or question == "-":
        _ask_many(qa, file, k, dates)
        return
    if question is None:
        raise BadQuestion('no question: qa ask "your question", or --file FILE, or - for stdin')
    answer = qa.ask(question, k, **dates)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False))
        return
    _print_answer(answer)


def _ask_many(qa, file: Path | None, k: int, dates: dict[str, str | None]) -> None:  # type: ignore[no-untyped-def]
    """Batch mode: the model stays loaded; each answer (or a line's error) is one JSON line."""
    if file is not None:
        try:
            lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            raise BadOption(f"cannot read {file}: {exc.strerror or exc}") from None
    else:  # bytes that are not UTF-8 stopped the batch at their line
        stdin = getattr(sys.stdin, "buffer", None)
        lines = io.TextIOWrapper(stdin, encoding="utf-8", errors="replace") if stdin else sys.stdin
    from qa.core import settle_heap

    qa.load()
    settle_heap()
    for line in lines:
        if not line.strip():
            continue
        try:
            typer.echo(json.dumps(qa.ask(line, k, **dates).to_dict(), ensure_ascii=False))
        except BadQuestion as exc:
            typer.echo(json.dumps({"question": line.strip(), "error": str(exc)}, ensure_ascii=False))


def _print_answer(answer) -> None:  # type: ignore[no-untyped-def]
    typer.echo(safe(answer.text))
    if answer.citations:
        typer.echo("\nSources:" if answer.found else "\nClosest passages:")
    for c in answer.citations:
        where = ", ".join(x for x in (c.date, f"p. {c.page}" if c.page else None) if x)
        typer.echo(f"[{c.n}] {oneline(c.title)}" + (f" ({where})" if where else ""))
        typer.echo(f"    {oneline(c.source)}  chars {c.start}-{c.end}")  # a file name may hold a line break
        if c.also_sources:
            typer.echo(f"    also in {oneline(', '.join(c.also_sources))}")
        typer.echo(f'    "{oneline(c.snippet)}"')


@app.command()
@friendly_errors
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=100, help="Passages to show.")] = 5,
    as_json: Json = False,
    since: Since = None,
    until: Until = None,
    index_dir: IndexDir = Path("index"),
    model: Model = None,
) -> None:
    """Show the best-matching passages with scores and character spans.

    Example: qa search "NATO training mission" -k 3
    """
    from qa.core import words_found

    hits = _qa(ctx, index_dir, model).search(query, k, **_dates(since, until))
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "rank": rank,
                        "score": round(h.score, 5),
                        "article_id": h.article_id,
                        "title": h.title,
                        "source": h.source,
                        "date": h.date,
                        "start": h.start,
                        "end": h.end,
                        "page": h.page,
                        "also_sources": list(h.also_sources),
                        "text": h.text,
                    }
                    for rank, h in enumerate(hits, start=1)
                ],
                ensure_ascii=False,
            )
        )
        return
    if not hits:
        typer.echo("no passages match")
    elif not words_found(query, hits):  # the dense half still ranks passages by meaning alone
        typer.echo(
            f"note: no passage holds the words of {oneline(query)!r}; the closest in meaning:", err=True
        )
    for rank, h in enumerate(hits, start=1):
        typer.echo(
            f"{rank}. [{h.score:.4f}] {oneline(h.title)}  ({oneline(h.source)}, chars {h.start}-{h.end})"
        )
        if h.also_sources:
            typer.echo(f"   also in {oneline(', '.join(h.also_sources))}")
        text = " ".join(h.text.split())
        typer.echo(f"   {safe(text[:300])}{'…' if len(text) > 300 else ''}")


@app.command()
@friendly_errors
def articles(ctx: typer.Context, as_json: Json = False, index_dir: IndexDir = Path("index")) -> None:
    """List the articles in the index.

    Example: qa articles --json
    """
    qa = _qa(ctx, index_dir)
    rows = qa.articles()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    id_width = max((len(safe(str(row["id"]))) for row in rows), default=0)
    for row in rows:
        typer.echo(
            f"{safe(str(row['id'])):<{id_width}}  {row['date'] or '':<10}  {plural(row['chunks'], 'chunk'):>10}  "
            f"{oneline(str(row['title']))}  ({oneline(str(row['source']))})"  # the source tells equal titles apart
        )
    stats = qa.stats()
    typer.echo(
        f"{plural(stats.articles, 'article')}, {plural(stats.chunks, 'chunk')}, model {stats.model}"
        f" ({stats.precision} passages)"
    )


@app.command()
@friendly_errors
def remove(
    ctx: typer.Context,
    targets: Annotated[
        list[str], typer.Argument(help="Article ids (see `qa articles`) or file/folder paths.")
    ],
    index_dir: IndexDir = Path("index"),
) -> None:
    """Remove articles from the index by id, or by the file or folder they were read from.

    Example: qa remove 3f2a9c1d0b7e4a55 ~/articles/old-story.md
    """
    report = _qa(ctx, index_dir).remove(targets)
    typer.echo(report.summary())
    for note in report.notes:
        typer.echo(f"note: {safe(note)}", err=True)


@app.command("eval")
@friendly_errors
def eval_(
    ctx: typer.Context,
    data_dir: Annotated[
        Path, typer.Argument(help="Folder with articles.jsonl and questions.jsonl.", show_default=False)
    ],
    as_json: Json = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write one JSON line per question (for error analysis).")
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="Retrieval: hybrid (what qa ships), dense or bm25.")
    ] = "hybrid",
    index_dir: IndexDir = Path("index"),
    model: Model = None,
) -> None:
    """Index a question set's articles, ask every question as `qa ask` does, and score the answers.

    Prints recall@1/5/10 and mrr@10 of the passages, answer_hit, refused_when_absent,
    refused_when_present, latency (p50_ms, p95_ms), index_seconds, and what was measured: method,
    precision (of the index's vectors) and chunks. An index that already holds the articles is reused.

    Example: qa eval ../shared/data/news-2022-w2 --json --out w2.jsonl --index-dir /tmp/w2-index
    """
    from qa.evaluate import KEYS, evaluate

    show_bar = sys.stderr.isatty()
    state = {"stage": "", "done": 0}

    def progress(stage: str, done: int, total: int) -> None:
        if not show_bar:
            return
        if stage != state["stage"]:
            state["stage"], state["done"] = stage, 0
            typer.echo("", err=True)
        step = int(100 * done / max(total, 1))
        if step > state["done"]:
            state["done"] = step
            label = "indexing" if stage == "index" else "asking"
            typer.echo(f"\r{label} {step:3d}%", err=True, nl=False)

    metrics = evaluate(_qa(ctx, index_dir, model), data_dir, method=method, out=out, progress=progress)
    if show_bar:
        typer.echo("", err=True)
    if as_json:
        typer.echo(json.dumps(metrics))
        return
    for key in KEYS:
        value = metrics.get(key)
        typer.echo(f"{key:<22}{'-' if value is None else value}")


@app.command()
@friendly_errors
def chat(ctx: typer.Context, index_dir: IndexDir = Path("index"), model: Model = None) -> None:
    """Open the terminal UI (the same as running `qa` alone).

    Example: qa chat --index-dir ~/news-index
    """
    try:
        from qa.tui.app import QAApp
    except ImportError:
        typer.echo(app.info.help or "")
        typer.echo("\nRun `qa --help` for the commands.")
        return
    QAApp(index_dir=_given(ctx, "index_dir", index_dir), model=_given(ctx, "model", model)).run()


def run() -> None:
    app()
