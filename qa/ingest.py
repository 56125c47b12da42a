"""Read articles from disk: plain text, Markdown, HTML, JSONL and PDF files, or folders of them.

Nothing in here raises for bad input: every unreadable file (or JSONL line) becomes a `Skipped`
with a short reason, so one broken file never aborts an indexing run.
"""

from __future__ import annotations

import codecs
import datetime as dt
import errno
import hashlib
import io
import itertools
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from qa.types import Article, Skipped

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"}
)

_TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown"})
_HTML_SUFFIXES = frozenset({".html", ".htm"})

_MB = 1024 * 1024
MAX_FILE_BYTES = 200 * _MB  # JSONL is exempt: it is streamed line by line
_BINARY_SNIFF_BYTES = 8192
_FRONT_MATTER_MAX_CHARS = 64 * 1024  # front matter is a short header; don't YAML-parse whole books
MAX_TITLE_CHARS = 200

# -- discovery --------------------------------------------------------------------------------


def discover_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Yield the files to read, walking folders recursively in sorted order.

    Explicit paths are yielded even when missing or unsupported so `read_file` can report them;
    inside folders, hidden entries and unsupported suffixes are silently ignored.
    """
    for item in _walk(paths):
        if isinstance(item, Path):
            yield item


def _walk(paths: Iterable[str | Path]) -> Iterator[Path | Skipped]:
    """Like `discover_files`, but also yields a `Skipped` for each folder that can't be listed."""
    visited_dirs: set[str] = set()
    seen_files: set[str] = set()
    for raw in paths:
        path = Path(raw)
        if _is_dir(path):
            yield from _walk_dir(path, visited_dirs, seen_files)
        elif _first_visit(path, seen_files):
            yield path


def _walk_dir(root: Path, visited_dirs: set[str], seen_files: set[str]) -> Iterator[Path | Skipped]:
    # An explicit stack instead of recursion: a very deep tree must not hit the recursion limit.
    stack: list[Iterator[Path]] = []
    listing = _list_dir(root, visited_dirs)
    if isinstance(listing, Skipped):
        yield listing
        return
    stack.append(iter(listing))
    while stack:
        path = next(stack[-1], None)
        if path is None:
            stack.pop()
        elif _is_dir(path):
            listing = _list_dir(path, visited_dirs)
            if isinstance(listing, Skipped):
                yield listing
            else:
                stack.append(iter(listing))
        elif path.suffix.lower() in SUPPORTED_SUFFIXES and _first_visit(path, seen_files):
            yield _symlink_loop(path) or path


def _symlink_loop(path: Path) -> Skipped | None:
    # A file symlink cycle (a -> b -> a) makes Path.resolve() raise RuntimeError in callers: report it here.
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Skipped(str(path), _os_reason(exc))
    return None


def _list_dir(folder: Path, visited_dirs: set[str]) -> list[Path] | Skipped:
    """Sorted non-hidden entries of a folder; empty when already visited (symlink loops, aliases)."""
    real = os.path.realpath(folder)
    if real in visited_dirs:
        return []
    visited_dirs.add(real)
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except OSError as exc:
        return Skipped(str(folder), _os_reason(exc))
    return [folder / name for name in names if not name.startswith(".")]


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()  # follows symlinks
    except OSError:  # e.g. permission denied on a parent: read_file will report it
        return False


def _first_visit(path: Path, seen_files: set[str]) -> bool:
    # The same file reached twice (symlinks, repeated arguments) would produce two articles with one id.
    try:
        real = os.path.realpath(path)
    except ValueError:  # an embedded NUL: let read_file report the bad path
        return True
    if real in seen_files:
        return False
    seen_files.add(real)
    return True


# -- reading ----------------------------------------------------------------------------------


def iter_articles(paths: Iterable[str | Path]) -> Iterator[Article | Skipped]:
    """Read every discovered file; yields Articles, and a `Skipped` for anything unreadable."""
    seen_ids: set[str] = set()
    for item in _walk(paths):
        if isinstance(item, Skipped):
            yield item
            continue
        for result in read_file(item):
            if isinstance(result, Article):
                # The store keys articles by id: a repeat would silently overwrite the first one.
                if result.id in seen_ids:
                    yield Skipped(result.source, f"duplicate article id {result.id}")
                    continue
                seen_ids.add(result.id)
            yield result


def read_file(path: Path) -> Iterator[Article | Skipped]:
    """Read one file: one Article (a .jsonl file: one per line) or a `Skipped` with the reason.

    Sources are absolute paths: a citation must lead to its file from any working folder, and naming a folder
    another way ("news", "./news", "/home/me/news") must not make its articles look changed.
    """
    path = Path(path).absolute()  # not abspath: "link/.." must stay a path through the symlink
    suffix = path.suffix.lower()
    try:
        problem = _precheck(path, suffix)
        if problem is not None:
            yield Skipped(str(path), problem)
        elif suffix in _TEXT_SUFFIXES:
            yield _read_text(path)
        elif suffix in _HTML_SUFFIXES:
            yield _read_html(path)
        elif suffix == ".pdf":
            yield _read_pdf(path)
        else:
            yield from _read_jsonl(path)
    except OSError as exc:
        yield Skipped(str(path), _os_reason(exc))
    except Exception as exc:  # parser bugs on hostile input must not abort the whole run
        yield Skipped(str(path), f"cannot read {suffix.lstrip('.')} file ({type(exc).__name__})")


def _precheck(path: Path, suffix: str) -> str | None:
    """Reason to skip the file before opening it, or None. Raises OSError for missing files."""
    info = os.stat(path)
    if stat.S_ISDIR(info.st_mode):
        return "is a directory"
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file"  # opening a FIFO or device could block forever
    if suffix not in SUPPORTED_SUFFIXES:
        return f"unsupported file type {suffix or '(no extension)'}"
    if suffix != ".jsonl" and info.st_size > MAX_FILE_BYTES:
        return f"file too large ({info.st_size // _MB} MB)"
    return None


def _os_reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else type(exc).__name__


def _path_id(path: Path) -> str:
    # Based on the path, not the content, so an edited file keeps its id and replaces its old version.
    return hashlib.sha1(os.path.realpath(path).encode("utf-8", "surrogateescape")).hexdigest()[:16]


# -- plain text and Markdown ------------------------------------------------------------------


def decode_text(data: bytes) -> str | None:
    """The text of a plain-text file: UTF-8 (a few bad bytes replaced), UTF-16 with its byte order mark, or
    Windows-1252 / Latin-1 (older files, where é is one byte); None for binary data.
    """
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: FF FE starts both
        return data.decode("utf-32", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        return None
    if data.startswith(codecs.BOM_UTF8):  # declared UTF-8: bad bytes are damage, not another encoding
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    damaged = text.count("\ufffd") - data.count("\ufffd".encode())  # replacements, not U+FFFD written in it
    if sum(ch > "\x7f" for ch in text) - damaged >= damaged:
        return text  # UTF-8 (as many valid multi-byte characters as bad bytes, or more) with some damage
    return data.decode("cp1252", errors="replace")  # (five bytes cp1252 leaves undefined become U+FFFD)


def _read_text(path: Path) -> Article | Skipped:
    raw = decode_text(path.read_bytes())
    if raw is None:
        return Skipped(str(path), "binary file")
    meta, body = split_front_matter(raw)
    text = clean_text(body)
    if not text:
        return Skipped(str(path), "empty file")
    title = _short_title(_meta_str(meta.get("title"))) or _markdown_heading(text) or _first_line(text)
    if path.suffix.lower() != ".txt":
        text, title = plain_markdown(text), plain_markdown(title)
    date = normalize_date(_meta_str(meta.get("date")))
    if date is None and (dateline := _dateline(text)):
        # The date goes with the article's metadata; as text, "Published: 2024-03-12" was cited as the
        # closest passage to "when?" questions and ran into the snippet of the first sentence.
        date, start, end = dateline
        head, tail = text[:start].rstrip("\n"), text[end:].lstrip("\n")
        text = f"{head}\n\n{tail}" if head else tail
    return Article(
        id=_path_id(path),
        title=title or path.stem,
        source=str(path),
        text=text,
        date=date,
        url=_meta_str(meta.get("url")) or None,
    )


_DATE_LABEL = re.compile(r"^(?:first\s+)?(?:published|posted|updated|dated?)(?:\s+on)?\s*:?\s*", re.I)
_DATELINE_LINES = 6
_LINE = re.compile(r"^.*$", re.MULTILINE)
# A dateline starts with its date (or weekday); "Election of May 5, 2024" is a heading, not a date.
_DATE_START = re.compile(
    r"(\d|(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b)", re.I
)


def _dateline(text: str) -> tuple[str, int, int] | None:
    """(the date, where its line starts and ends) of a plain-text or Markdown article from a line of its own
    near the top: "Published: 2024-03-12", "Date: 12 March 2024", "*September 3, 2024*". A date inside a
    sentence is not one."""
    top = itertools.islice(_LINE.finditer(text), _DATELINE_LINES * 3)
    lines = [line for line in top if line.group().strip()][:_DATELINE_LINES]
    for line in lines[1:]:  # the first line is the title ("Remembering June 6, 1944")
        value = _DATE_LABEL.sub("", line.group().strip().strip("*_ \t"))
        if (
            len(value) <= 32
            and len(value.split()) <= 5
            and _DATE_START.match(value)
            and (date := normalize_date(value))
        ):
            return date, line.start(), line.end()
    return None


_FRONT_MATTER = re.compile(
    r"\A---[ \t]*\r?\n(?P<yaml>.*?)^(?:---|\.\.\.)[ \t]*\r?$\n?", re.DOTALL | re.MULTILINE
)


def split_front_matter(raw: str) -> tuple[dict[str, Any], str]:
    """Split YAML front matter off the text; invalid or non-mapping YAML counts as no front matter."""
    match = _FRONT_MATTER.match(raw[:_FRONT_MATTER_MAX_CHARS])
    if match is None:
        return {}, raw
    try:
        meta = yaml.safe_load(match["yaml"])
    except (yaml.YAMLError, ValueError, RecursionError):  # ValueError: impossible dates like 2022-13-45
        return {}, raw
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        # A leading `---` horizontal rule followed by prose parses as a YAML string: it is text.
        return {}, raw
    return meta, raw[match.end() :]


def _meta_str(value: object) -> str:
    """A front matter value as a string; YAML turns bare dates into date objects."""
    if isinstance(value, dt.date):  # also datetime
        return value.isoformat()
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    return ""


_HEADING = re.compile(r"#[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*")
_FENCE = re.compile(r"[ ]{0,3}(```|~~~)")


_MD_HEADING = re.compile(r"^[ ]{0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_MD_QUOTE = re.compile(r"^[ ]{0,3}(?:>[ \t]?)+")
# Marks around words only: "2**10", "__init__", "Rated *****" and "a*b*c" keep theirs.
_MD_STRONG = re.compile(
    r"(?<![\w*])\*\*(?=[^\s*])(.+?)(?<=[^\s*])\*\*(?![\w*])|(?<![\w_])__(?=[^\s_])(.+?)(?<=[^\s_])__(?![\w_])"
)
_MD_EMPHASIS = re.compile(
    r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=[^\s_])([^_\n]+?)(?<=[^\s_])_(?![\w_])"
)
# Left as written: inline code, link targets and bare addresses.
_MD_LITERAL = re.compile(r"`[^`\n]*`|\]\([^)\n]*\)|<?https?://[^\s>]+>?")


def _plain_span(text: str) -> str:
    text = _MD_STRONG.sub(lambda m: m.group(1) or m.group(2), text)
    return _MD_EMPHASIS.sub(lambda m: m.group(1) or m.group(2), text)


def _prose_lines(text: str) -> Iterator[tuple[str, bool]]:
    """Each line of Markdown, and whether it is prose: fence lines and fenced code are not (there `#`
    starts a comment and `**` is an operator)."""
    in_fence = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            yield line, False
        else:
            yield line, not in_fence


def plain_markdown(text: str) -> str:
    """Markdown's heading, quote and emphasis marks taken out, so citations and snippets read as prose
    ("# Budget approved" -> "Budget approved", "**Updated: May 2**" -> "Updated: May 2"). Code (blocks and
    inline), link targets and addresses are kept as they are."""
    out = []
    for line, prose in _prose_lines(text):
        if prose:
            line = _MD_QUOTE.sub("", _MD_HEADING.sub(r"\1", line))
            parts, last = [], 0
            for literal in _MD_LITERAL.finditer(line):
                parts += [_plain_span(line[last : literal.start()]), literal.group(0)]
                last = literal.end()
            line = "".join([*parts, _plain_span(line[last:])])
        out.append(line)
    return "\n".join(out)


def _markdown_heading(text: str) -> str:
    """Text of the first `# ` heading outside fenced code blocks (where `#` starts a comment)."""
    for line, prose in _prose_lines(text):
        match = _HEADING.fullmatch(line) if prose else None
        if match and match["text"].strip():
            return _short_title(match["text"])
    return ""


def _first_line(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return _short_title(line)
    return ""


def _short_title(value: str | None) -> str:
    return " ".join((value or "").split())[:MAX_TITLE_CHARS]


# -- HTML -------------------------------------------------------------------------------------


def _read_html(path: Path) -> Article | Skipped:
    import trafilatura  # slow to import: only pay for it when there is HTML to read

    data = path.read_bytes()
    if not data.strip():
        return Skipped(str(path), "empty file")
    tree = trafilatura.load_html(data)  # detects the encoding; bare_extraction copies this tree
    if tree is None:
        return Skipped(str(path), "no main text found")
    doc = trafilatura.bare_extraction(
        tree,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
    )
    # trafilatura gives one line per block (heading, paragraph, list item). Read as paragraphs, a heading no
    # longer runs into the paragraph under it in a snippet, and chunks break between paragraphs.
    blocks = (getattr(doc, "text", None) or "").splitlines()
    text = clean_text("\n\n".join(block for block in blocks if block.strip()))
    if not text:
        return Skipped(str(path), "no main text found")
    title = _short_title(doc.title) or _short_title(tree.findtext(".//title")) or path.stem
    return Article(
        id=_path_id(path),
        title=title,
        source=str(path),
        text=text,
        date=normalize_date(doc.date),
        url=doc.url or None,
    )


# -- JSONL ------------------------------------------------------------------------------------


def _read_jsonl(path: Path) -> Iterator[Article | Skipped]:
    found_any = False
    with path.open("rb") as fh:  # streamed: these files can be tens of MB
        for lineno, line in enumerate(_jsonl_lines(fh), start=1):
            raw = line.lstrip("\ufeff").strip()
            if raw:
                found_any = True
                yield _jsonl_record(path, lineno, raw)
    if not found_any:
        yield Skipped(str(path), "empty file")


def _jsonl_lines(fh: io.BufferedReader) -> Iterator[str]:
    """The file's lines as text: UTF-16 or UTF-32 with a byte order mark (PowerShell writes UTF-16), else
    each line as `decode_text` reads a file (UTF-8, or Windows-1252 where it is not: 'Café' stays)."""
    start = fh.peek(4)[:4]
    for bom, encoding in (
        ((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE), "utf-32"),  # before UTF-16: FF FE starts both
        ((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE), "utf-16"),
    ):
        if start.startswith(bom):
            yield from io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline=None)
            return
    for line in fh:
        yield decode_text(line) or line.decode("utf-8", errors="replace")


def _jsonl_record(path: Path, lineno: int, raw: str) -> Article | Skipped:
    where = f"{path}:{lineno}"
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):  # JSONDecodeError; RecursionError for absurdly deep nesting
        return Skipped(where, "invalid json")
    if not isinstance(record, dict):
        return Skipped(where, "not a json object")
    body = record.get("text")
    if body is None:
        return Skipped(where, "missing text")
    if not isinstance(body, str):
        return Skipped(where, "text is not a string")
    text = clean_text(body)
    if not text:
        return Skipped(where, "empty text")
    url = _field(record, "url")
    return Article(
        id=_field(record, "id", allow_int=True) or f"{path.stem}-{lineno}",
        title=_short_title(_field(record, "title")) or _first_line(text),
        source=url or where,
        text=text,
        date=normalize_date(_field(record, "date")),
        url=url or None,
    )


def _field(record: dict[str, Any], key: str, *, allow_int: bool = False) -> str:
    """A string field of a JSONL record; anything else (null, lists, ...) counts as absent."""
    value = record.get(key)
    if isinstance(value, str):
        return value.strip()
    if allow_int and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


# -- PDF --------------------------------------------------------------------------------------


def _read_pdf(path: Path) -> Article | Skipped:
    from pypdf import PdfReader  # lazy: only needed when there are PDFs
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(path)
    except PdfReadError:
        return Skipped(str(path), "invalid pdf")
    if reader.is_encrypted and not _decrypt(reader):
        return Skipped(str(path), "encrypted pdf")
    text, page_starts = join_pages([_page_text(page) for page in reader.pages])
    if not text:
        return Skipped(str(path), "no extractable text (scanned pdf?)")
    return Article(
        id=_path_id(path),
        title=_pdf_title(reader) or _first_line(text) or path.stem,
        source=str(path),
        text=text,
        page_starts=page_starts,
    )


def join_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """Clean each page, join them with a blank line, and return the text with each page's start offset.

    Pages are cleaned one by one (not the joined text), so cleaning can't shift the recorded offsets.
    An empty page starts where the next page with text starts (or at the end of the text).
    """
    cleaned = [clean_text(page) for page in pages]
    starts: list[int | None] = []
    offset = 0
    for page in cleaned:
        if not page:
            starts.append(None)
            continue
        if offset:  # not the first page with text: a "\n\n" separator comes first
            offset += 2
        starts.append(offset)
        offset += len(page)
    text = "\n\n".join(page for page in cleaned if page)
    next_start = len(text)
    for i in range(len(starts) - 1, -1, -1):
        start = starts[i]
        if start is None:
            starts[i] = next_start
        else:
            next_start = start
    return text, tuple(start for start in starts if start is not None)


def _decrypt(reader: Any) -> bool:
    # Many "encrypted" PDFs only restrict printing/editing and open with an empty user password.
    try:
        return bool(reader.decrypt(""))
    except Exception:  # e.g. AES without the optional cryptography dependency
        return False


def _page_text(page: Any) -> str:
    try:
        return page.extract_text() or ""
    except Exception:  # one unreadable page shouldn't lose the rest of the document
        return ""


def _pdf_title(reader: Any) -> str:
    try:
        metadata = reader.metadata
        return _short_title(str(metadata.title)) if metadata and metadata.title else ""
    except Exception:  # malformed info dictionaries are common
        return ""


# -- dates ------------------------------------------------------------------------------------

_MONTH_NAMES = "january february march april may june july august september october november december"
_MONTHS = {
    name: number
    for number, full in enumerate(_MONTH_NAMES.split(), start=1)
    for name in (full, full[:3])  # "June" and "Jun"
} | {"sept": 9}

_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_MONTH_DAY_YEAR = re.compile(r"\b([A-Za-z]{3,9})\.?[ \t-]+(\d{1,2})(?:st|nd|rd|th)?,?[ \t-]+(\d{4})\b")
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?[ \t-]+([A-Za-z]{3,9})\.?,?[ \t-]+(\d{4})\b")
_NUMERIC_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")


def normalize_date(value: str | None) -> str | None:
    """Return YYYY-MM-DD for common date spellings (ISO, "June 16, 2022", "16 June 2022"), else None."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    if match := _ISO_DATE.search(value):
        return _ymd(match[1], match[2], match[3])
    # A word that isn't a month ("Page 12, 2022") falls through to the next spelling.
    if (match := _MONTH_DAY_YEAR.search(value)) and (
        found := _ymd(match[3], _MONTHS.get(match[1].lower()), match[2])
    ):
        return found
    if (match := _DAY_MONTH_YEAR.search(value)) and (
        found := _ymd(match[3], _MONTHS.get(match[2].lower()), match[1])
    ):
        return found
    if match := _NUMERIC_DATE.fullmatch(value):
        return _day_month_or_month_day(int(match[1]), int(match[2]), match[3])
    if match := _COMPACT_DATE.fullmatch(value):
        return _ymd(match[1], match[2], match[3])
    return None


def _day_month_or_month_day(first: int, second: int, year: str) -> str | None:
    # 06/16/2022 vs 16/06/2022: only decide when one part can't be a month; 05/06/2022 stays unknown.
    if first > 12 >= second:
        return _ymd(year, second, first)
    if second > 12 >= first:
        return _ymd(year, first, second)
    return None


def _ymd(year: str | int, month: str | int | None, day: str | int) -> str | None:
    if month is None:
        return None
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


# -- text cleaning ----------------------------------------------------------------------------

# Only ESC-introduced sequences: in decoded text a lone C1 byte (0x9b, 0x9d) is mojibake, not an escape,
# and treating it as one would eat real words; those are dropped one by one as control characters.
_ANSI = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                  # CSI: colours, cursor moves (ESC [ ... letter)
    | \x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?     # OSC: window titles, hyperlinks (ended by BEL or ESC \\)
    | \x1b[ -/]*[0-~]                         # other escapes: ESC 7, ESC ( B, ...
    """,
    re.VERBOSE,
)
# Vertical tab, form feed (a page break in text dumps) and Unicode line separators: keep a line break.
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\u2028\u2029]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_MANY_BLANK_LINES = re.compile(r"\n{4,}")  # 4 newlines in a row = 3 blank lines


def clean_text(text: str) -> str:
    """Normalise line ends, drop control characters and ANSI escapes, tidy whitespace."""
    text = _ANSI.sub("", text)  # before dropping controls, or the ESC goes but "[31m" stays
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("", text)
    text = _MANY_BLANK_LINES.sub("\n\n\n", text)
    return text.strip()
