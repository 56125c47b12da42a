"""An index that never breaks: incremental updates, duplicates, removal, locking, corrupt files, bad input."""

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
import pytest
from typer.testing import CliRunner

from qa import interrupt
from qa.cli import app
from qa.core import QA
from qa.errors import BadQuestion, IndexProblem
from qa.lock import writer_lock
from tests.conftest import SEED_FILE, SEED_QUESTION

runner = CliRunner()

HARBOUR = "# Harbour plan\n\nThe city council approved 3 new cranes for the harbour on Monday.\n"
FOREST = "# Forest fire\n\nFirefighters contained the forest fire near Lakeside after 4 days.\n"


def cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def library(tmp_path: Path) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "harbour.md").write_text(HARBOUR)
    (folder / "forest.md").write_text(FOREST)
    return folder


def chunk_ids(index_dir: Path, article_title: str) -> list[int]:
    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        rows = conn.execute(
            "SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE a.title = ?",
            (article_title,),
        )
        return [r[0] for r in rows]


def test_changed_file_reembeds_only_its_own_chunks(library: Path, tmp_path: Path) -> None:
    qa = QA(tmp_path / "index")
    qa.index([library])
    forest_before = chunk_ids(qa.index_dir, "Forest fire")
    (library / "harbour.md").write_text(HARBOUR + "\nThe cranes arrive in June.\n")
    report = qa.index([library])
    assert (report.new, report.changed, report.unchanged, report.removed) == (0, 1, 1, 0)
    assert report.chunks_embedded == len(chunk_ids(qa.index_dir, "Harbour plan"))
    assert chunk_ids(qa.index_dir, "Forest fire") == forest_before
    assert "June" in qa.ask("When do the cranes arrive?").text


def test_deleted_file_leaves_the_index_on_next_run(library: Path, tmp_path: Path) -> None:
    qa = QA(tmp_path / "index")
    qa.index([library])
    (library / "forest.md").unlink()
    report = qa.index([library])
    assert report.removed == 1
    assert [a["title"] for a in qa.articles()] == ["Harbour plan"]
    assert not qa.ask("How long did the forest fire near Lakeside burn?").found


def test_long_runs_keep_at_most_two_vector_generations_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every batch is published (a checkpoint), as a long run does once a minute.
    import qa.indexer

    monkeypatch.setattr(qa.indexer, "BATCH_CHUNKS", 1)
    monkeypatch.setattr(qa.indexer, "CHECKPOINT_SECONDS", -1.0)
    folder = tmp_path / "articles"
    folder.mkdir()
    for n in range(6):
        (folder / f"story{n}.md").write_text(f"# Story {n}\n\nThe council approved {n + 2} new cranes.\n")
    index_dir = tmp_path / "index"
    on_disk: list[int] = []
    publish = qa.indexer._Indexer._finish

    def counting_finish(self: qa.indexer._Indexer) -> None:
        on_disk.append(len(list(index_dir.glob("vectors-*.faiss"))))
        publish(self)

    monkeypatch.setattr(qa.indexer._Indexer, "_finish", counting_finish)
    QA(index_dir).index([folder])
    assert len(on_disk) >= 6
    assert max(on_disk) <= 2
    assert len(list(index_dir.glob("vectors-*.faiss"))) == 1
    assert len(QA(index_dir).articles()) == 6


def test_ctrl_c_stops_indexing_even_when_its_keyboardinterrupt_was_swallowed(
    library: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    QA(index_dir).index([library / "harbour.md"])
    previous = signal.getsignal(signal.SIGINT)
    interrupt.install()
    try:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass  # as a finalizer or a library's cleanup swallows it
        with pytest.raises(KeyboardInterrupt):
            QA(index_dir).index([library])
    finally:
        signal.signal(signal.SIGINT, previous)
        interrupt._requested.clear()
    assert [a["title"] for a in QA(index_dir).articles()] == ["Harbour plan"]  # as it was


def test_remove_by_id_and_by_path(library: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    QA(index_dir).index([library])
    forest_id = next(a["id"] for a in QA(index_dir).articles() if a["title"] == "Forest fire")
    # One unknown target: nothing is removed (a typo must not half-apply a removal).
    code, _, err = cli("remove", forest_id, "no-such-article", "--index-dir", str(index_dir))
    assert code == 2 and "nothing was removed" in err and len(QA(index_dir).articles()) == 2
    code, out, _ = cli("remove", forest_id, "--index-dir", str(index_dir))
    assert code == 0 and "1 removed" in out
    code, out, _ = cli("remove", str(library / "harbour.md"), "--index-dir", str(index_dir))
    assert code == 0 and "1 removed" in out
    assert QA(index_dir).articles() == []
    code, _, err = cli("remove", "no-such-article", "--index-dir", str(index_dir))
    assert code != 0 and "no article" in err


def test_a_search_prepared_while_typing_serves_that_question_until_the_index_changes(
    library: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    QA(index_dir).index([library])
    question = "How many cranes did the city council approve for the harbour?"
    unprepared = QA(index_dir).ask(question)
    qa = QA(index_dir)
    qa.prepare(question)
    embedder = qa._reader()[2]
    embedded: list[str] = []  # the questions the real embedder is given from now on
    encode = embedder.encode
    embedder.encode = lambda texts, *args: embedded.extend(texts) or encode(texts, *args)

    answer = qa.ask(f"  {question.replace(' ', '  ')} ")  # the same question once its spaces are tidied
    assert embedded == []
    assert (answer.text, answer.citations, answer.passages) == (
        unprepared.text,
        unprepared.citations,
        unprepared.passages,
    )
    assert "3 new cranes" in answer.text
    qa.ask(question, k=1)  # not what was searched for: searched again
    assert embedded == [question]

    qa.prepare(question)
    embedded.clear()
    (library / "port.md").write_text(
        "# Port cranes\n\nThe port authority approved 7 new cranes for the harbour.\n"
    )
    QA(index_dir).index([library])  # another process publishes a new generation
    answer = qa.ask(question)
    assert embedded == [question]  # the prepared search is of the old index
    assert "Port cranes" in {p.title for p in answer.passages}

    qa.prepare("?!")  # nothing to search for; asking it says why
    with pytest.raises(BadQuestion):
        qa.ask("?!")


def test_identical_articles_are_stored_once_and_cite_both_sources(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "wire-copy-a.txt").write_text(SEED_FILE.read_text())
    (folder / "wire-copy-b.txt").write_text(SEED_FILE.read_text())
    qa = QA(tmp_path / "index")
    qa.index([folder])
    articles = qa.articles()
    assert len(articles) == 2
    assert sorted(a["chunks"] for a in articles)[0] == 0  # the copy has no chunks of its own
    cited = qa.ask(SEED_QUESTION).citations[0]
    sources = {cited.source, *cited.also_sources}
    assert sources == {str(folder / "wire-copy-a.txt"), str(folder / "wire-copy-b.txt")}

    # The original goes: the copy is indexed in its own right and still answers.
    original = next(a for a in articles if a["chunks"])
    qa.remove([original["id"]])
    remaining = qa.articles()
    assert len(remaining) == 1 and remaining[0]["chunks"] > 0
    assert "8,892" in qa.ask(SEED_QUESTION).text


def test_a_syndicated_copy_with_its_own_last_line_is_named_on_the_passage_it_repeats(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    story = SEED_FILE.read_text()
    (folder / "wire-site-a.txt").write_text(story)
    (folder / "wire-site-b.txt").write_text(
        story + "\nThis story was first published by the Associated Press.\n"
    )
    index_dir = tmp_path / "index"
    QA(index_dir).index([folder])
    qa = QA(index_dir)
    assert all(a["chunks"] for a in qa.articles())  # not identical: both are embedded
    cited = qa.ask(SEED_QUESTION).citations[0]
    assert {cited.source, *cited.also_sources} == {
        str(folder / "wire-site-a.txt"),
        str(folder / "wire-site-b.txt"),
    }
    code, out, _ = cli("ask", SEED_QUESTION, "--index-dir", str(index_dir))
    other = next(s for s in ("wire-site-a.txt", "wire-site-b.txt") if s != Path(cited.source).name)
    assert code == 0 and f"    also in {folder / other}" in out
    code, out, _ = cli("search", SEED_QUESTION, "-k", "3", "--json", "--index-dir", str(index_dir))
    hits = json.loads(out)
    assert code == 0 and {hits[0]["source"], *hits[0]["also_sources"]} == {cited.source, *cited.also_sources}
    assert not any(h["text"] == hits[0]["text"] for h in hits[1:])  # one passage for both copies


def test_a_jsonl_id_taken_by_another_file_does_not_replace_its_article(tmp_path: Path) -> None:
    def write(name: str, *records: tuple[str, str, str]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in records))
        return path

    a = write("a.jsonl", ("1", "Harbour", HARBOUR), ("2", "Fire", FOREST))
    b = write("b.jsonl", ("1", "Other harbour", HARBOUR.replace("3 new cranes", "5 new tugboats")))
    qa = QA(tmp_path / "index")
    qa.index([a])
    report = qa.index([b])  # exports number their records 1, 2, 3... in each file
    assert [s.reason for s in report.skipped] == [f"article id 1 is taken by {a} (index both to move it)"]
    assert sorted(x["title"] for x in qa.articles()) == ["Fire", "Harbour"]
    again = qa.index()  # both files are sources now: the same, every time
    assert again.changed == 0 and sorted(x["title"] for x in qa.articles()) == ["Fire", "Harbour"]
    assert [s.reason for s in again.skipped] == ["duplicate article id 1"]  # said each time
    both = qa.index([b, a])  # b first: its "1" waits for a, which holds it still
    assert [s.reason for s in both.skipped] == [s.reason for s in report.skipped]

    # A record moved from one file to another, both indexed in one run (in either order), moves with it.
    write("a.jsonl", ("1", "Harbour", HARBOUR))
    write("b.jsonl", ("2", "Fire", FOREST))
    moved = qa.index([b, a])
    assert moved.removed == 0 and not moved.skipped
    assert {x["title"]: x["source"] for x in qa.articles()} == {
        "Harbour": str(a) + ":1",
        "Fire": str(b) + ":1",
    }
    # The same article in a second file (a question set inside a larger one) is already indexed.
    inner = write("inner.jsonl", ("2", "Fire", FOREST))
    same = qa.index([inner])
    assert same.unchanged == 1 and not same.skipped and len(qa.articles()) == 2


@pytest.mark.parametrize("left_out", ["qa.sqlite-*", "qa.sqlite-shm"])
def test_an_index_in_a_folder_the_user_cannot_write_to_is_read(
    seed_index: Path, tmp_path: Path, left_out: str
) -> None:
    # A copied index without its -shm (and -wal) file, in a read-only folder (a mount, another user's folder).
    copy = tmp_path / "read-only-index"
    shutil.copytree(seed_index, copy, ignore=shutil.ignore_patterns(left_out, ".writer.lock"))
    if not (copy / "qa.sqlite-wal").exists() and left_out == "qa.sqlite-shm":
        (copy / "qa.sqlite-wal").write_bytes(b"")  # as a copy of a closed index has it
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    # Root may write anywhere: the command runs without that capability, as a user would.
    drop = (
        ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner"] if os.geteuid() == 0 else []
    )
    qa_command = [*drop, sys.executable, "-m", "qa"]
    try:
        done = subprocess.run(
            [*qa_command, "ask", SEED_QUESTION, "--index-dir", str(copy)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "8,892" in done.stdout
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)


def test_a_damaged_manifest_is_a_one_line_error(seed_index: Path, tmp_path: Path) -> None:
    copy = tmp_path / "index"
    shutil.copytree(seed_index, copy)
    with sqlite3.connect(copy / "qa.sqlite") as conn:
        conn.execute("UPDATE manifest SET value = '{not json' WHERE key = 'dim'")
    code, _, err = cli("articles", "--index-dir", str(copy))
    assert code == 2 and err.count("\n") == 1 and "has a damaged manifest" in err


def test_second_writer_is_refused_while_readers_keep_working(seed_index: Path, library: Path) -> None:
    with writer_lock(seed_index):
        code, _, err = cli("index", str(library), "--index-dir", str(seed_index))
        assert code != 0
        assert f"index is being updated by process {os.getpid()}" in err
        assert err.strip().count("\n") == 0
        code, out, _ = cli("ask", SEED_QUESTION, "--index-dir", str(seed_index))
        assert code == 0 and "8,892" in out


@pytest.fixture
def small_index(library: Path, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    QA(index_dir).index([library])
    return index_dir


def _one_line_error(index_dir: Path, needle: str) -> str:
    code, _, err = cli("ask", "What did the council approve?", "--index-dir", str(index_dir))
    assert code == 2, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert needle in err
    return err


def test_corrupt_database_is_named_and_rebuild_keeps_it(small_index: Path, library: Path) -> None:
    db = small_index / "qa.sqlite"
    for extra in ("qa.sqlite-wal", "qa.sqlite-shm"):
        (small_index / extra).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 100)
    err = _one_line_error(small_index, str(db))
    assert "qa index --rebuild PATH" in err
    # Without paths the rebuild cannot know the user's folders: it must not index the sample article instead.
    code, _, err = cli("index", "--rebuild", "--index-dir", str(small_index))
    assert code == 2 and "PATH" in err and err.strip().count("\n") == 0, err
    assert db.read_bytes().startswith(b"this is not a database") and not list(small_index.glob("*.broken-*"))
    code, out, err = cli("index", str(library), "--rebuild", "--index-dir", str(small_index))
    assert code == 0, err
    assert list(small_index.glob("qa.sqlite.broken-*"))  # the unreadable file is kept, not deleted
    code, out, _ = cli("ask", "What did the council approve?", "--index-dir", str(small_index))
    assert code == 0 and "cranes" in out


def test_truncated_vectors_file_is_named_and_next_index_repairs_it(small_index: Path, library: Path) -> None:
    (vectors,) = small_index.glob("vectors-*.faiss")
    vectors.write_bytes(vectors.read_bytes()[:100])
    _one_line_error(small_index, str(vectors))
    code, _, err = cli("index", str(library), "--index-dir", str(small_index))
    assert code == 0, err
    code, out, _ = cli("ask", "What did the council approve?", "--index-dir", str(small_index))
    assert code == 0 and "cranes" in out


def test_missing_vectors_file_is_named(small_index: Path) -> None:
    (vectors,) = small_index.glob("vectors-*.faiss")
    vectors.unlink()
    _one_line_error(small_index, "missing")


def test_foreign_index_format_names_the_fix(small_index: Path) -> None:
    with sqlite3.connect(small_index / "qa.sqlite") as conn:
        conn.execute("UPDATE manifest SET value = '999' WHERE key = 'format_version'")
    _one_line_error(small_index, "qa index --rebuild")


def test_foreign_sqlite_file_is_refused(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    _one_line_error(index_dir, "qa.sqlite")
    # Nor does indexing write qa's tables into it.
    code, _, err = cli("index", str(SEED_FILE), "--index-dir", str(index_dir))
    assert code == 2 and "is not a qa index (it holds other tables)" in err
    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["recipes"]


def test_missing_query_model_is_named(small_index: Path) -> None:
    import shutil

    (model_dir,) = small_index.glob("model-*")
    shutil.rmtree(model_dir)
    _one_line_error(small_index, model_dir.name)


@pytest.mark.parametrize(
    "question",
    [
        "x" * 100_000,
        "¿Cuántos soldados estadounidenses había en Irak?",
        "🤔🔥💥 troops?",
        'AND OR NOT "*',
    ],
)
def test_odd_questions_get_an_answer_or_a_clear_refusal(seed_index: Path, question: str) -> None:
    code, out, err = cli("ask", question, "--json", "--index-dir", str(seed_index))
    assert code == 0, err
    data = json.loads(out)
    assert isinstance(data["found"], bool) and data["answer"]


def test_hostile_article_text_never_reaches_the_terminal_as_codes(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    hostile = (
        "Hostile \x1b[31mred\x1b[0m title\n\nThe [bold red]mayor[/bold red] said the \x1b]0;pwned\x07bridge "
        "will cost 12 million dollars.\x07\x08 Bell and backspace.\n"
    )
    (folder / "hostile.txt").write_text(hostile)
    index_dir = tmp_path / "index"
    QA(index_dir).index([folder])
    code, out, err = cli("ask", "How much will the bridge cost?", "--index-dir", str(index_dir))
    assert code == 0, err
    assert "12 million" in out
    assert not any(ch in out for ch in "\x1b\x07\x08")
    assert "[bold red]mayor[/bold red]" in out  # markup is shown literally, not interpreted
    code, out, _ = cli("search", "bridge", "--index-dir", str(index_dir))
    assert not any(ch in out for ch in "\x1b\x07\x08")


def test_bad_files_are_skipped_with_reasons_and_the_rest_indexed(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "good.txt").write_text("Good news\n\nThe library reopens on Friday.\n")
    (folder / "empty.txt").write_text("")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    (folder / "latin1.txt").write_bytes("Caf\xe9 news\n\nThe caf\xe9 opens.\n".encode("latin-1"))
    (folder / "lines.jsonl").write_text('{"id": "a", "text": "Alpha story text."}\nnot json\n{"id": "b"}\n')
    code, _, err = cli("index", str(folder), "--index-dir", str(tmp_path / "index"))
    assert code == 0, err
    assert "empty file" in err and "binary file" in err
    assert "lines.jsonl:2" in err and "lines.jsonl:3" in err
    titles = {a["title"] for a in QA(tmp_path / "index").articles()}
    assert {"Good news", "Alpha story text."} <= titles and any("Caf" in t for t in titles)


def test_database_from_before_duplicates_is_upgraded_by_the_next_index(
    small_index: Path, library: Path
) -> None:
    with sqlite3.connect(small_index / "qa.sqlite") as conn:  # the first released schema had neither column
        conn.execute("DROP INDEX IF EXISTS articles_text_hash")
        conn.execute("DROP INDEX IF EXISTS articles_duplicate_of")
        conn.execute("ALTER TABLE articles DROP COLUMN text_hash")
        conn.execute("ALTER TABLE articles DROP COLUMN duplicate_of")
    _one_line_error(small_index, "run `qa index` to upgrade it")
    code, out, err = cli("index", str(library), "--index-dir", str(small_index))
    assert code == 0 and "0 chunks embedded" in out, err
    code, out, _ = cli("ask", "What did the council approve?", "--index-dir", str(small_index))
    assert code == 0 and "cranes" in out


def test_index_exported_before_int8_answers_and_the_next_index_adds_it(library: Path, tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    QA(index_dir).index([library], precision="fp32")
    (model_dir,) = index_dir.glob("model-*")
    assert QA(index_dir)._reader()[3].variant == "int8"  # answer sentences are scored with int8
    # As made before int8 existed: no int8 model, no precision in the manifest.
    (model_dir / "model.int8.onnx").unlink()
    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        conn.execute("DELETE FROM manifest WHERE key = 'precision'")
    older = QA(index_dir)
    assert older._reader()[3].variant == "fp32"
    assert older.stats().precision == "fp32"
    assert "3 new cranes" in older.ask("How many cranes did the city council approve for the harbour?").text
    code, out, err = cli("index", str(library), "--index-dir", str(index_dir))
    assert code == 0 and "0 chunks embedded" in out, err
    assert (model_dir / "model.int8.onnx").is_file()
    assert QA(index_dir)._reader()[3].variant == "int8"
    assert QA(index_dir).stats().precision == "fp32"  # its passages were embedded with fp32


def damage(path: Path) -> None:
    """Replace a file with junk. Never write in place: model files are hard-linked to the model cache."""
    path.unlink()
    path.write_bytes(b"not a model")


def test_damaged_int8_model_falls_back_to_fp32_sentence_scoring(small_index: Path) -> None:
    (model_dir,) = small_index.glob("model-*")
    damage(model_dir / "model.int8.onnx")
    qa = QA(small_index)
    assert qa._reader()[3].variant == "fp32"
    assert "3 new cranes" in qa.ask("How many cranes did the city council approve for the harbour?").text


def test_reader_that_read_an_old_generation_opens_the_one_published_since(small_index: Path) -> None:
    from qa.store import Store, load_vectors, vector_file

    store = Store(small_index)
    generation = int(store.manifest["generation"])
    # A writer publishes generation + 1 and removes the file this reader's manifest still names.
    os.replace(vector_file(small_index, generation), vector_file(small_index, generation + 1))
    with sqlite3.connect(small_index / "qa.sqlite") as conn:
        conn.execute("UPDATE manifest SET value = ? WHERE key = 'generation'", (json.dumps(generation + 1),))
    assert len(load_vectors(store)) == sum(
        len(chunk_ids(small_index, t)) for t in ("Harbour plan", "Forest fire")
    )
    assert int(store.manifest["generation"]) == generation + 1


def test_an_empty_database_left_by_a_stopped_first_run_is_not_called_damaged(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    (index_dir / "qa.sqlite").write_bytes(b"")
    code, _, err = cli("ask", "How many troops?", "--index-dir", str(index_dir))
    assert (
        code == 2 and err == f"qa: no index in {index_dir}: run `qa index` to build one\n"
    )  # not "older qa"
    code, _, err = cli("index", "--index-dir", str(index_dir))  # a new index gets the sample articles
    assert code == 0, err
    assert not list(index_dir.glob("*.broken-*"))


def test_vectors_that_cannot_be_written_are_a_one_line_error_and_leave_no_partial_file(
    tmp_path: Path,
) -> None:
    # The path a full disk takes too (checked by hand on a 140 MB tmpfs: "cannot write .../vectors-1.faiss
    # (the disk is full): the passages are saved; ...", and `qa index` afterwards writes the vectors).
    from qa.vectors import VectorIndex

    vectors = VectorIndex.build(np.arange(3), np.eye(3, 8, dtype=np.float32), 8)
    target = tmp_path / "gone" / "vectors-1.faiss"
    with pytest.raises(
        IndexProblem, match=r"^cannot write .*vectors-1\.faiss \(.*\): the passages are saved"
    ):
        vectors.save(target)
    assert not list(tmp_path.rglob("*.tmp-*"))


def test_a_rebuild_whose_vectors_cannot_be_written_is_undone_and_says_so(small_index: Path) -> None:
    # The vectors' temporary file cannot be made (a folder is in its place): the write fails as it does on
    # a full disk, after every passage of the rebuild was stored in its transaction.
    from qa.store import Store, vector_file

    store = Store(small_index)
    generation = int(store.manifest["generation"])
    store.close()
    target = vector_file(small_index, generation + 1)
    target.with_name(f"{target.name}.tmp-{os.getpid()}").mkdir()
    before = QA(small_index).articles()
    with pytest.raises(IndexProblem, match=r"the rebuild was undone and the index is as it was"):
        QA(small_index).index(rebuild=True)
    assert QA(small_index).articles() == before
    assert QA(small_index).ask("How many cranes did the city council approve?").found
