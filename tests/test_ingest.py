"""Tests for qa.ingest: every format read from small real files written into tmp_path."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pypdf
import pytest

from qa.ingest import (
    SUPPORTED_SUFFIXES,
    clean_text,
    discover_files,
    iter_articles,
    join_pages,
    normalize_date,
    plain_markdown,
    read_file,
)
from qa.types import Article, Skipped

SEED = Path(__file__).resolve().parent.parent / "seeds" / "nato-iraq-training-mission.txt"


def _articles(results: list[Article | Skipped]) -> list[Article]:
    return [r for r in results if isinstance(r, Article)]


def _skipped(results: list[Article | Skipped]) -> list[Skipped]:
    return [r for r in results if isinstance(r, Skipped)]


def _read_one(path: Path) -> Article | Skipped:
    results = list(read_file(path))
    assert len(results) == 1, results
    return results[0]


def _article_in(path: Path, text: str) -> Article:
    """Write `text` (UTF-8) to `path` and read it back as one article."""
    path.write_text(text, encoding="utf-8")
    article = _read_one(path)
    assert isinstance(article, Article), article
    return article


def _pdf_bytes(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text content stream per page, with a correct xref table."""
    n_pages = len(pages)
    font_id = 3 + 2 * n_pages
    info_id = font_id + 1
    page_ids = [3 + 2 * i for i in range(n_pages)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"%d 0 R" % pid for pid in page_ids), n_pages),
        font_id: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for pid, lines in zip(page_ids, pages, strict=True):
        ops = [b"BT", b"/F1 12 Tf", b"14 TL", b"72 720 Td"]
        ops += [b"(%s) Tj T*" % line.encode("latin-1") for line in lines]
        stream = b"\n".join([*ops, b"ET"])
        objects[pid] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>" % (font_id, pid + 1)
        )
        objects[pid + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream)
    if title is not None:
        objects[info_id] = b"<< /Title (%s) >>" % title.encode("latin-1")
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (oid, objects[oid])
    size = max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for oid in range(1, size):
        out += b"%010d 00000 n \n" % offsets[oid] if oid in offsets else b"0000000000 65535 f \n"
    info = b" /Info %d 0 R" % info_id if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, info, xref_at)
    return bytes(out)


# -- plain text and Markdown ------------------------------------------------------------------


def test_txt_title_is_first_line(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    article = _article_in(path, "\n\nA Quiet Harbour Reopens\n\nThe harbour reopened on Monday.\n")
    assert article.title == "A Quiet Harbour Reopens"
    assert article.text == "A Quiet Harbour Reopens\n\nThe harbour reopened on Monday."
    assert article.source == str(path)
    assert len(article.id) == 16


def test_txt_title_is_truncated_to_200_chars(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    article = _article_in(path, "x" * 500 + "\nbody\n")
    assert article.title == "x" * 200


def test_id_is_stable_when_content_changes(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text("First version\n", encoding="utf-8")
    first = _read_one(path)
    path.write_text("Second version\n", encoding="utf-8")
    second = _read_one(path)
    assert isinstance(first, Article) and isinstance(second, Article)
    assert first.id == second.id


def test_md_front_matter_and_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    article = _article_in(
        path,
        "---\ntitle: Front Matter Title\ndate: 2022-06-16\nurl: https://example.com/a\n---\n"
        "# Heading Title\n\nBody text here.\n",
    )
    assert article.title == "Front Matter Title"
    assert article.date == "2022-06-16"
    assert article.url == "https://example.com/a"
    assert article.text == "Heading Title\n\nBody text here."  # Markdown marks out: citations read as prose


def test_md_title_from_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.markdown"
    text = "Intro line\n\n```sh\n# not a heading\n```\n\n# Real Heading #\n\nBody.\n"
    article = _article_in(path, text)
    assert article.title == "Real Heading"
    assert article.text.startswith("Intro line")


def test_markdown_marks_are_taken_out_of_the_text_but_not_out_of_code_or_words(tmp_path: Path) -> None:
    path = tmp_path / "story.md"
    article = _article_in(
        path,
        "# Budget approved #\n\n**Updated: May 2, 2024**\n\n> The council *finally* agreed, said __one__ member.\n\n"
        "```\n# a comment, **kept**\n```\n\nSee snake_case_name and 2*3*4 and [the plan](https://x.org/plan).\n",
    )
    assert article.title == "Budget approved"
    assert article.text == (
        "Budget approved\n\nThe council finally agreed, said one member.\n\n"
        "```\n# a comment, **kept**\n```\n\nSee snake_case_name and 2*3*4 and [the plan](https://x.org/plan)."
    )
    assert article.date == "2024-05-02"
    for kept in ("2**10 is 1024", "Rated *****", "use `__init__` here", "[doc](https://x.org/a_b_/_c_)"):
        assert plain_markdown(kept) == kept, kept


def test_md_invalid_front_matter_is_kept_as_text(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    article = _article_in(path, "---\ntitle: [unclosed\n---\nBody.\n")
    assert article.text.startswith("---\ntitle: [unclosed")


def test_binary_file_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(b"abc\x00\x01\x02def" * 10)
    assert _read_one(path) == Skipped(str(path), "binary file")


@pytest.mark.parametrize("content", [b"", b"  \n\t\r\n  "])
def test_empty_file_skipped(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    assert _read_one(path) == Skipped(str(path), "empty file")


def test_invalid_utf8_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes(b"\xef\xbb\xbfCaf\xe9 society\n\nNa\xefve text.\n")
    article = _read_one(path)
    assert isinstance(article, Article)
    assert article.title == "Caf\ufffd society"
    assert article.text == "Caf\ufffd society\n\nNa\ufffdve text."


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("Müller wins Zürich race\n\n“Fast,” he said.\n".encode("cp1252"), "Müller wins Zürich race"),
        ("Müller wins Zürich race\n".encode("latin-1"), "Müller wins Zürich race"),
        ("Müller wins Zürich race\n".encode("utf-16"), "Müller wins Zürich race"),  # with its byte order mark
        ("Müller wins Zürich race\n".encode("utf-32"), "Müller wins Zürich race"),
        (
            "Müller wins Zürich race\n\n“Fast” \x81".encode("cp1252", errors="ignore") + b"\x81",
            "Müller wins Zürich race",
        ),
        ("Müller wins Zürich race\n".encode() + b"\xff", "Müller wins Zürich race"),  # UTF-8, a bad byte
        (
            "Müller wins Zürich race\n".encode("cp1252") + "€".encode(),
            "Müller wins Zürich race",
        ),  # mostly cp1252
    ],
    ids=["cp1252", "latin-1", "utf-16", "utf-32", "cp1252-undefined-byte", "utf-8-damaged", "mixed"],
)
def test_text_in_older_encodings_is_read_right(tmp_path: Path, content: bytes, text: str) -> None:
    path = tmp_path / "race.txt"
    path.write_bytes(content)
    article = _read_one(path)
    assert isinstance(article, Article)
    assert article.title == text and article.text.startswith(text)
    if b"\x93" in content:  # cp1252's curly quotes, also beside a byte cp1252 leaves undefined
        assert "“Fast" in article.text


@pytest.mark.parametrize(
    ("name", "content", "date"),
    [
        ("a.txt", "Bridge approved\nPublished: 2024-03-12\n\nThe council voted 7-2.\n", "2024-03-12"),
        ("b.txt", "Bridge approved\n\nDate: 12 March 2024\n\nThe council voted 7-2.\n", "2024-03-12"),
        ("c.md", "# Earthquake strikes\n\n*September 3, 2024*\n\nA quake struck.\n", "2024-09-03"),
        ("d.txt", "Bridge approved\n\nThe vote on March 12, 2024 ended a decade of debate.\n", None),
        ("e.txt", "Remembering June 6, 1944\n\nVeterans gathered on the beaches.\n", None),
        ("f.md", "# Vote\n\nElection of May 5, 2024\n\nTurnout was high.\n", None),
        ("g.txt", "Vote held\nMonday, May 6, 2024\n\nTurnout was high.\n", "2024-05-06"),
        ("h.txt", "Remembering June 6, 1944\nJune 6, 1944\n\nVeterans gathered.\n", "1944-06-06"),
    ],
)
def test_a_dateline_near_the_top_dates_a_text_article(
    tmp_path: Path, name: str, content: str, date: str
) -> None:
    path = tmp_path / name
    article = _article_in(path, content)
    assert article.date == date
    if date:  # the dateline is the article's date, not a line of its text; the title line stays whole
        title_line, body = content.split("\n")[0].lstrip("# "), content.rstrip("\n").split("\n")[-1]
        assert article.text == f"{title_line}\n\n{body}"


def test_crlf_and_control_chars_are_cleaned_in_articles(tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    path.write_bytes(b"Title\r\n\r\nLine one  \r\nLine\x07 two\r\n")
    article = _read_one(path)
    assert isinstance(article, Article)
    assert article.text == "Title\n\nLine one\nLine two"


def test_seed_article(tmp_path: Path) -> None:
    article = _read_one(SEED)
    assert isinstance(article, Article)
    assert article.title == "Facing Trump's demands, NATO to consider larger Iraq training mission"
    assert "8,892" in article.text


# -- HTML -------------------------------------------------------------------------------------

_HTML = """<!DOCTYPE html>
<html><head><title>Rivers Rise Across the Valley</title>
<script>var trackingSecret = "SCRIPT_TEXT_SHOULD_VANISH";</script></head>
<body>
<nav><ul><li><a href="/">MENU_HOME_LINK</a></li><li><a href="/sport">MENU_SPORT_LINK</a></li></ul></nav>
<article>
<p>Heavy rain pushed rivers across the valley to their highest level in forty years on Tuesday,
forcing hundreds of families to leave their homes as emergency crews worked through the night.</p>
<p>Officials said the water would begin to recede by the weekend, but warned that roads near the
river banks would stay closed while engineers inspected bridges for damage.</p>
</article>
<footer>Copyright footer</footer>
</body></html>
"""


def test_html_main_text_without_script_and_menu(tmp_path: Path) -> None:
    path = tmp_path / "flood.html"
    article = _article_in(path, _HTML)
    assert "highest level in forty years" in article.text
    assert "engineers inspected bridges" in article.text
    assert "SCRIPT_TEXT_SHOULD_VANISH" not in article.text
    assert "MENU_HOME_LINK" not in article.text
    assert "MENU_SPORT_LINK" not in article.text
    assert article.title == "Rivers Rise Across the Valley"
    # Each block its own paragraph (the page's lines were joined by single line breaks).
    assert article.text.split("\n\n")[1].startswith("Officials said the water")


def test_html_without_text_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blank.htm"
    path.write_text("<html><head><script>x = 1</script></head><body></body></html>", encoding="utf-8")
    assert _read_one(path) == Skipped(str(path), "no main text found")


# -- JSONL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "cp1252"])
def test_jsonl_in_utf16_with_its_mark_or_in_windows_1252_is_read(tmp_path: Path, encoding: str) -> None:
    # PowerShell writes UTF-16; older exports write Windows-1252, where é is one byte.
    record = {"id": "c1", "title": "Café opens", "text": "The new café on Main Street opened on Monday."}
    path = tmp_path / "feed.jsonl"
    path.write_bytes((json.dumps(record, ensure_ascii=False) + "\n").encode(encoding))
    article = _read_one(path)
    assert isinstance(article, Article), article
    assert article.title == "Café opens" and article.text == record["text"]


def test_jsonl_good_lines_and_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(
        '{"id": "a1", "title": "First", "url": "https://example.com/1", "date": "June 16, 2022",'
        ' "text": "First article text."}\n'
        "{not json\n"
        "\n"
        '{"text": "Second article\\nwith two lines."}\n',
        encoding="utf-8",
    )
    results = list(read_file(path))
    articles, skipped = _articles(results), _skipped(results)
    assert skipped == [Skipped(f"{path}:2", "invalid json")]
    assert [a.id for a in articles] == ["a1", "feed-4"]
    first, second = articles
    assert (first.title, first.source, first.url, first.date) == (
        "First",
        "https://example.com/1",
        "https://example.com/1",
        "2022-06-16",
    )
    assert (second.title, second.source, second.url) == ("Second article", f"{path}:4", None)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("[1, 2]", "not a json object"),
        ('{"title": "t"}', "missing text"),
        ('{"text": "   "}', "empty text"),
        ('{"text": 42}', "text is not a string"),
    ],
)
def test_jsonl_bad_records(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    assert list(read_file(path)) == [Skipped(f"{path}:1", reason)]


# -- PDF --------------------------------------------------------------------------------------


def test_handmade_pdf_is_valid_for_pypdf() -> None:
    data = _pdf_bytes([["Hello page one"], ["Hello page two"]], title="T")
    reader = pypdf.PdfReader(io.BytesIO(data), strict=True)
    assert [page.extract_text().strip() for page in reader.pages] == ["Hello page one", "Hello page two"]
    assert reader.metadata is not None and reader.metadata.title == "T"


def test_pdf_pages_and_offsets(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(
        _pdf_bytes(
            [["Page one heading", "First page body."], ["Second page starts here.", "More text."]],
            title="Annual Report",
        )
    )
    article = _read_one(path)
    assert isinstance(article, Article)
    assert article.title == "Annual Report"
    assert article.text == "Page one heading\nFirst page body.\n\nSecond page starts here.\nMore text."
    assert len(article.page_starts) == 2
    assert article.page_starts[0] == 0
    assert article.text[article.page_starts[1] :].startswith("Second page starts here.")
    assert article.page_at(article.page_starts[1]) == 2
    assert article.page_at(article.page_starts[1] - 1) == 1
    assert clean_text(article.text) == article.text


def test_pdf_title_falls_back_to_first_line(tmp_path: Path) -> None:
    path = tmp_path / "untitled.pdf"
    path.write_bytes(_pdf_bytes([["Budget Outlook", "Numbers follow."]]))
    article = _read_one(path)
    assert isinstance(article, Article)
    assert article.title == "Budget Outlook"


def test_pdf_without_text_skipped(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(_pdf_bytes([[]]))
    assert _read_one(path) == Skipped(str(path), "no extractable text (scanned pdf?)")


def test_broken_pdf_skipped(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    result = _read_one(path)
    assert isinstance(result, Skipped)
    assert result.source == str(path)


def test_join_pages_empty_page_offsets() -> None:
    text, starts = join_pages(["  one \r\n", "", "two\n\n\n\n\nthree", "\x00"])
    assert text == "one\n\ntwo\n\n\nthree"
    assert starts == (0, 5, 5, len(text))


# -- files and folders ------------------------------------------------------------------------


def test_unsupported_extension_reported(tmp_path: Path) -> None:
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"PK\x03\x04")
    assert list(iter_articles([path])) == [Skipped(str(path), "unsupported file type .xlsx")]


def test_missing_path_reported(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    assert list(iter_articles([path])) == [Skipped(str(path), "no such file or directory")]


def test_folder_recursion_skips_hidden_and_unsupported(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("B title\n", encoding="utf-8")
    (tmp_path / "a.md").write_text("A title\n", encoding="utf-8")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "nested" / "deeper" / "c.txt").write_text("C title\n", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("hidden\n", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_text("hidden too\n", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    files = list(discover_files([tmp_path]))
    assert files == [tmp_path / "a.md", tmp_path / "b.txt", tmp_path / "nested" / "deeper" / "c.txt"]
    titles = [a.title for a in _articles(list(iter_articles([tmp_path])))]
    assert titles == ["A title", "B title", "C title"]


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "story.txt").write_text("Story\n", encoding="utf-8")
    os.symlink(tmp_path, sub / "loop", target_is_directory=True)
    files = list(discover_files([tmp_path]))
    assert files == [sub / "story.txt"]


def test_same_file_given_twice_is_read_once(tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text("Story\n", encoding="utf-8")
    assert len(list(iter_articles([path, tmp_path]))) == 1


def test_read_error_skipped_without_aborting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "a.txt"
    broken.write_text("A\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("B\n", encoding="utf-8")
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "a.txt":
            raise PermissionError(13, "Permission denied")
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    results = list(iter_articles([tmp_path]))
    assert results[0] == Skipped(str(broken), "permission denied")
    assert [a.title for a in _articles(results)] == ["B"]


def test_file_symlink_cycle_reported(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b.txt", tmp_path / "a.txt")
    os.symlink(tmp_path / "a.txt", tmp_path / "b.txt")
    assert list(discover_files([tmp_path])) == []
    results = list(iter_articles([tmp_path]))
    assert [r.source for r in _skipped(results)] == [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]


def test_parser_crash_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise KeyError("/Root")

    monkeypatch.setattr(pypdf, "PdfReader", explode)
    path = tmp_path / "weird.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    assert _read_one(path) == Skipped(str(path), "cannot read pdf file (KeyError)")


def test_supported_suffixes() -> None:
    expected = {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"}
    assert expected == SUPPORTED_SUFFIXES


# -- dates and cleaning -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2022/06/16",
        "2022-06-16",
        "2022-06-16T10:00:00Z",
        "June 16, 2022",
        "16 June 2022",
        "2022.06.16",
        "Thu, 16 Jun 2022 10:00:00 GMT",
        "16/06/2022",
        "20220616",
    ],
)
def test_normalize_date(value: str) -> None:
    assert normalize_date(value) == "2022-06-16"


@pytest.mark.parametrize("value", [None, "", "   ", "yesterday", "2022-13-45", "05/06/2022", "Junk 16, 2022"])
def test_normalize_date_unparseable(value: str | None) -> None:
    assert normalize_date(value) is None


def test_clean_text_removes_ansi_escapes() -> None:
    raw = "\x1b[1;31mRed alert\x1b[0m and \x1b]0;window title\x07done \x1b]8;;https://x.y\x1b\\link\x1b]8;;\x1b\\"
    assert clean_text(raw) == "Red alert and done link"


def test_clean_text_removes_control_chars_and_tidies_whitespace() -> None:
    raw = "  a\x00b\x08c\x7f\x9dd\x9be \t\r\nline\r\rnext\x0cpage\n\n\n\n\n\nend\ttab  \n\n"
    assert clean_text(raw) == "abcde\nline\n\nnext\npage\n\n\nend\ttab"
