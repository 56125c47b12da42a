"""The typer CLI, driven with CliRunner against a real index."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qa.cli import app
from qa.core import QA
from tests.conftest import SEED_FILE, SEED_QUESTION

runner = CliRunner()


def test_ask_json_shape(seed_index: Path) -> None:
    result = runner.invoke(app, ["ask", SEED_QUESTION, "--json", "--index-dir", str(seed_index)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"question", "answer", "found", "citations", "timings_ms"}
    assert data["question"] == SEED_QUESTION and data["found"] is True and "8,892" in data["answer"]
    citation = data["citations"][0]
    for key in ("n", "title", "source", "date", "start", "end", "snippet", "page"):
        assert key in citation
    assert citation["n"] == 1 and citation["end"] > citation["start"]
    assert data["timings_ms"]["total"] > 0


def test_ask_text_lists_numbered_sources(seed_index: Path) -> None:
    result = runner.invoke(app, ["ask", SEED_QUESTION, "--index-dir", str(seed_index)])
    assert result.exit_code == 0, result.output
    assert "8,892" in result.stdout and "[1]" in result.stdout and "Sources:" in result.stdout
    assert "Facing Trump's demands" in result.stdout


def test_ask_unanswerable_json_found_false(seed_index: Path) -> None:
    result = runner.invoke(
        app,
        [
            "ask",
            "Which team won the 1998 football World Cup final?",
            "--json",
            "--index-dir",
            str(seed_index),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["found"] is False


def test_index_dir_from_environment(seed_index: Path) -> None:
    result = runner.invoke(app, ["articles", "--json"], env={"QA_INDEX_DIR": str(seed_index)})
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["title"] for r in rows] == [
        "Facing Trump's demands, NATO to consider larger Iraq training mission"
    ]


def test_articles_lists_each_with_its_title_and_source(seed_index: Path) -> None:
    result = runner.invoke(app, ["articles", "--index-dir", str(seed_index)])
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.endswith(
        f"Facing Trump's demands, NATO to consider larger Iraq training mission  ({SEED_FILE.resolve()})"
    )


def test_search_json_has_scores_and_spans(seed_index: Path) -> None:
    result = runner.invoke(
        app, ["search", "Mattis letter", "-k", "2", "--json", "--index-dir", str(seed_index)]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert 1 <= len(hits) <= 2
    assert {"rank", "score", "start", "end", "text", "title"} <= set(hits[0])


def test_index_summary_and_unchanged_rerun(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "one.md").write_text("# Harbour plan\n\nThe harbour will get 3 new cranes in May.\n")
    index_dir = tmp_path / "index"
    first = runner.invoke(app, ["index", str(articles), "--index-dir", str(index_dir)])
    assert first.exit_code == 0, first.output
    assert "1 new" in first.stdout and "holds 1 article," in first.stdout
    again = runner.invoke(app, ["index", str(articles), "--index-dir", str(index_dir)])
    assert "0 new, 0 changed, 0 removed, 1 unchanged, 0 chunks embedded" in again.stdout


def test_missing_index_is_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ask", "anything?", "--index-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "qa index" in result.stderr and "Traceback" not in result.output


def test_a_mistyped_path_to_index_is_an_error_and_nothing_is_indexed(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text("Bridge opens\n\nThe harbor bridge opened in May.\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    typo = tmp_path / "articels"
    result = runner.invoke(app, ["index", str(articles), str(typo), "--index-dir", str(index_dir)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"qa: no such file or folder: {typo}; nothing was indexed"
    assert not (index_dir / "qa.sqlite").exists()


def test_index_without_paths_refreshes_what_was_indexed_not_the_samples(tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text("Bridge opens\n\nThe harbor bridge opened in May.\n", encoding="utf-8")
    index_dir = str(tmp_path / "index")
    assert runner.invoke(app, ["index", str(articles), "--index-dir", index_dir]).exit_code == 0
    (articles / "b.txt").write_text("Ferry stops\n\nThe ferry stopped in June.\n", encoding="utf-8")
    refreshed = runner.invoke(app, ["index", "--index-dir", index_dir])
    assert refreshed.exit_code == 0 and "1 new" in refreshed.stdout and "1 unchanged" in refreshed.stdout
    titles = json.loads(runner.invoke(app, ["articles", "--json", "--index-dir", index_dir]).stdout)
    assert sorted(a["title"] for a in titles) == ["Bridge opens", "Ferry stops"]  # no sample article
    # A folder that is gone keeps its articles (an unplugged disk), and says so.
    articles.rename(tmp_path / "moved")
    gone = runner.invoke(app, ["index", "--index-dir", index_dir])
    assert (
        gone.exit_code == 0 and "its articles are kept" in gone.stderr and "holds 2 articles" in gone.stdout
    )
    # Removed by path, it is forgotten: the index is then refreshed from nothing, and stays empty.
    assert runner.invoke(app, ["remove", str(articles), "--index-dir", index_dir]).exit_code == 0
    assert "holds 0 articles" in runner.invoke(app, ["index", "--index-dir", index_dir]).stdout
    empty = runner.invoke(app, ["ask", "When did the bridge open?", "--index-dir", index_dir])
    assert "The index holds no articles yet: add some with qa index PATH" in empty.stdout


def test_index_without_paths_is_safe_on_older_broken_and_partly_gone_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    news, other = tmp_path / "news", tmp_path / "other"
    for folder in (news, other):
        folder.mkdir()
        (folder / "a.txt").write_text(f"{folder.name} story\n\nThe {folder.name} story happened in May.\n")
    index_dir = tmp_path / "index"
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["index", "news", str(other), "--index-dir", str(index_dir)]).exit_code == 0
    # A file that cannot be read keeps its article, also when its folder was named relatively.
    (news / "a.txt").write_bytes(b"news story\x00 damaged")
    kept = runner.invoke(app, ["index", "news", "--index-dir", str(index_dir)])
    assert "0 removed" in kept.stdout and "binary file" in kept.stderr
    # A rebuild would lose a gone folder's articles: refused.
    other.rename(tmp_path / "elsewhere")
    rebuild = runner.invoke(app, ["index", "--rebuild", "--index-dir", str(index_dir)])
    assert rebuild.exit_code == 2 and "cannot rebuild" in rebuild.stderr
    # An index that needs a rebuild (here: from another format) is rebuilt from its own folders.
    (tmp_path / "elsewhere").rename(other)
    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        conn.execute("UPDATE manifest SET value = '0' WHERE key = 'format_version'")
    assert runner.invoke(app, ["index", "--rebuild", "--index-dir", str(index_dir)]).exit_code == 0
    titles = json.loads(runner.invoke(app, ["articles", "--json", "--index-dir", str(index_dir)]).stdout)
    assert sorted(a["title"] for a in titles) == ["other story"]  # (news/a.txt is damaged) and no sample
    # An index from before sources were kept asks for its folders instead of adding the samples.
    with sqlite3.connect(index_dir / "qa.sqlite") as conn:
        conn.execute("DELETE FROM manifest WHERE key = 'sources'")
    older = runner.invoke(app, ["index", "--index-dir", str(index_dir)])
    assert older.exit_code == 2 and "name them once" in older.stderr


def test_removing_a_file_of_an_indexed_folder_says_it_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for name in ("a", "b"):
        (articles / f"{name}.txt").write_text(f"Story {name}\n\nThe story {name} happened in May.\n")
    index_dir = str(tmp_path / "index")
    assert runner.invoke(app, ["index", str(articles), "--index-dir", index_dir]).exit_code == 0
    removed = runner.invoke(app, ["remove", str(articles / "a.txt"), "--index-dir", index_dir])
    assert "1 removed" in removed.stdout
    assert removed.stderr.startswith(f"note: {articles / 'a.txt'} is in the indexed folder {articles}")
    # An id is not a path, even when run from inside the folder: no note.
    b_id = json.loads(runner.invoke(app, ["articles", "--json", "--index-dir", index_dir]).stdout)[0]["id"]
    monkeypatch.chdir(articles)
    by_id = runner.invoke(app, ["remove", b_id, "--index-dir", index_dir])
    assert "1 removed" in by_id.stdout and not by_id.stderr


def test_naming_a_folder_another_way_embeds_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = tmp_path / "news"
    articles.mkdir()
    (articles / "a.txt").write_text("Bridge opens\n\nThe harbor bridge opened in May.\n", encoding="utf-8")
    index_dir = str(tmp_path / "index")
    monkeypatch.chdir(tmp_path)
    assert "1 chunk embedded" in runner.invoke(app, ["index", "news", "--index-dir", index_dir]).stdout
    again = runner.invoke(app, ["index", str(articles), "--index-dir", index_dir]).stdout
    assert "0 changed" in again and "0 chunks embedded" in again, again
    # A new title around the same text is stored and searched without embedding anything.
    (articles / "a.txt").write_text(
        "---\ntitle: Harbor bridge opens\n---\nBridge opens\n\nThe harbor bridge opened in May.\n"
    )
    retitled = runner.invoke(app, ["index", "--index-dir", index_dir]).stdout
    assert "1 changed" in retitled and "0 chunks embedded" in retitled, retitled
    monkeypatch.chdir("/")
    hits = json.loads(
        runner.invoke(app, ["search", "harbor bridge", "--json", "--index-dir", index_dir]).stdout
    )
    assert hits[0]["title"] == "Harbor bridge opens"
    assert Path(hits[0]["source"]).is_file()  # absolute: found from any working folder


def test_an_index_folder_that_cannot_be_written_is_a_one_line_error(tmp_path: Path) -> None:
    # (A read-only disk gives "read-only file system"; tests run as root, where permissions do not stop
    # a write, so the folder's parent is a file here.)
    articles = tmp_path / "a.txt"
    articles.write_text("Bridge opens\n\nThe harbor bridge opened in May.\n", encoding="utf-8")
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("notes", encoding="utf-8")
    result = runner.invoke(app, ["index", str(articles), "--index-dir", str(not_a_folder / "index")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"qa: cannot write to the index folder {not_a_folder / 'index'}: not a directory"
    )


def test_odd_options_are_one_line_errors(seed_index: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text(SEED_QUESTION + "\n", encoding="utf-8")
    for args, message in (
        (["ask", SEED_QUESTION, "--since", "2024-12-01", "--until", "2024-01-01"], "is after --until"),
        (["search", "NATO", "--since", "2024-12-01", "--until", "2024-01-01"], "is after --until"),
        (["ask", SEED_QUESTION, "--file", str(questions)], "not both"),
        (["search", "  "], "the search is empty"),
        (["ask", "?"], "the question has no words"),
        (["ask", "!!! …"], "the question has no words"),
        (["search", "?"], "the search has no words"),
        (["ask", SEED_QUESTION, "--since", "2024-13-45"], "is not a date"),
        (["ask", "--file", str(tmp_path / "missing.txt")], "cannot read"),
    ):
        result = runner.invoke(app, [*args, "--index-dir", str(seed_index)])
        assert result.exit_code == 2, args
        assert result.stderr.strip().count("\n") == 0 and message in result.stderr, args


def test_empty_question_is_one_line_error(seed_index: Path) -> None:
    result = runner.invoke(app, ["ask", "   ", "--index-dir", str(seed_index)])
    assert result.exit_code == 2
    assert "empty" in result.stderr


def test_other_model_is_refused_with_the_fix(seed_index: Path) -> None:
    result = runner.invoke(
        app, ["ask", "troops?", "--model", "paraphrase-MiniLM-L3-v2", "--index-dir", str(seed_index)]
    )
    assert result.exit_code == 2
    assert "qa index --rebuild" in result.stderr


def test_every_command_help_has_an_example() -> None:
    for command in ([], ["index"], ["ask"], ["search"], ["articles"], ["chat"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0
        assert "qa " in result.stdout and ("Example" in result.stdout or command == [])


def test_batch_mode_from_file_and_stdin_prints_json_lines(seed_index: Path, tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text(f"{SEED_QUESTION}\n\n   \nWho sent a letter to NATO headquarters in January?\n")
    from_file = runner.invoke(app, ["ask", "--file", str(questions), "--index-dir", str(seed_index)])
    from_stdin = runner.invoke(app, ["ask", "-", "--index-dir", str(seed_index)], input=questions.read_text())
    for result in (from_file, from_stdin):
        assert result.exit_code == 0, result.output
        answers = [json.loads(line) for line in result.stdout.splitlines()]
        assert [a["question"] for a in answers] == [
            SEED_QUESTION,
            "Who sent a letter to NATO headquarters in January?",
        ]
        assert "8,892" in answers[0]["answer"] and "Mattis" in answers[1]["answer"]


def test_ask_without_a_question_says_how(seed_index: Path) -> None:
    result = runner.invoke(app, ["ask", "--index-dir", str(seed_index)])
    assert result.exit_code == 2 and "--file" in result.stderr


def test_since_and_until_keep_to_dated_articles(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "old.md").write_text(
        "---\ntitle: Old budget\ndate: 2021-03-01\n---\nThe harbour budget was 5 million.\n"
    )
    (folder / "new.md").write_text(
        "---\ntitle: New budget\ndate: 2023-03-01\n---\nThe harbour budget rose to 9 million.\n"
    )
    index_dir = str(tmp_path / "index")
    assert runner.invoke(app, ["index", str(folder), "--index-dir", index_dir]).exit_code == 0
    newer = runner.invoke(
        app, ["search", "harbour budget", "--since", "2022-01-01", "--json", "--index-dir", index_dir]
    )
    assert [h["title"] for h in json.loads(newer.stdout)] == ["New budget"]
    older = runner.invoke(
        app,
        ["ask", "What was the harbour budget?", "--until", "2022-01-01", "--json", "--index-dir", index_dir],
    )
    data = json.loads(older.stdout)
    assert data["citations"] and all(c["date"] == "2021-03-01" for c in data["citations"])
    bad = runner.invoke(app, ["search", "budget", "--since", "someday", "--index-dir", index_dir])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.stderr


def test_articles_are_listed_in_aligned_columns(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: Budget\ndate: 2021-03-01\n---\nThe budget was 5 million.\n")
    (folder / "feed.jsonl").write_text(
        json.dumps({"id": "w1", "title": "Wire", "text": "A wire story."}) + "\n"
    )
    index_dir = str(tmp_path / "index")
    assert runner.invoke(app, ["index", str(folder), "--index-dir", index_dir]).exit_code == 0
    lines = runner.invoke(app, ["articles", "--index-dir", index_dir]).stdout.splitlines()[:-1]
    assert len(lines) == 2 and len({re.search(r" chunks?  ", line).end() for line in lines}) == 1  # type: ignore[union-attr]


def test_index_dir_before_the_command_is_the_one_used(seed_index: Path, tmp_path: Path) -> None:
    env = {"QA_INDEX_DIR": str(tmp_path / "elsewhere")}
    result = runner.invoke(app, ["--index-dir", str(seed_index), "articles", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 1
    # The command's own option, when typed, comes first.
    result = runner.invoke(
        app, ["--index-dir", str(tmp_path / "nope"), "articles", "--index-dir", str(seed_index)]
    )
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "nope").exists()


def test_empty_paths_and_link_loops_are_one_line_errors_that_change_nothing(
    seed_index: Path, tmp_path: Path
) -> None:
    loop = tmp_path / "loop.txt"
    loop.symlink_to(loop)
    for args, message in (
        (["remove", ""], "an empty id or path was given: nothing was removed"),
        (["index", ""], "an empty path was given"),
        (["index", str(loop)], "is a link to nothing or a link loop; nothing was indexed"),
    ):
        result = runner.invoke(app, [*args, "--index-dir", str(seed_index)])
        assert result.exit_code == 2, args
        assert result.stderr.strip().count("\n") == 0 and message in result.stderr, args
    assert len(QA(seed_index).articles()) == 1


def test_questions_with_bytes_that_are_not_utf8_or_only_escape_codes(seed_index: Path) -> None:
    result = runner.invoke(app, ["ask", "How many troops\udce9?", "--json", "--index-dir", str(seed_index)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["found"] is True
    result = runner.invoke(app, ["ask", "\x1b[2J\x1b[H", "--index-dir", str(seed_index)])
    assert result.exit_code == 2 and "the question is empty" in result.stderr
    batch = runner.invoke(
        app, ["ask", "-", "--index-dir", str(seed_index)], input=b"\xff\n" + SEED_QUESTION.encode()
    )
    assert batch.exit_code == 0, batch.output
    first, second = (json.loads(line) for line in batch.stdout.splitlines())
    assert "has no words" in first["error"] and second["found"] is True


def test_a_file_name_with_a_line_break_is_shown_on_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "bridge\nopens.txt").write_text(
        "Bridge opens\n\nThe harbor bridge opened in May after two years of work.\n"
    )
    index_dir = str(tmp_path / "index")
    assert runner.invoke(app, ["index", str(folder), "--index-dir", index_dir]).exit_code == 0
    result = runner.invoke(app, ["ask", "When did the harbor bridge open?", "--index-dir", index_dir])
    assert result.exit_code == 0, result.output
    assert f"    {folder}/bridge opens.txt  chars " in result.stdout
    listed = runner.invoke(app, ["articles", "--index-dir", index_dir]).stdout
    assert listed.splitlines()[0].endswith(f"({folder}/bridge opens.txt)")


def test_search_says_when_no_passage_holds_its_words(seed_index: Path) -> None:
    result = runner.invoke(app, ["search", "okapi zookeepers", "-k", "2", "--index-dir", str(seed_index)])
    assert result.exit_code == 0 and result.stdout.startswith("1. [")
    assert (
        result.stderr == "note: no passage holds the words of 'okapi zookeepers'; the closest in meaning:\n"
    )
    result = runner.invoke(app, ["search", "NATO training mission", "--index-dir", str(seed_index)])
    assert result.exit_code == 0 and result.stderr == ""
