"""Article and answer text as Textual `Content`: plain strings plus styles, never markup.

Everything shown from an article goes through `qa.text.safe` (no escape sequences, no control
characters) and into `Content(...)`, which Textual displays literally: `[bold]` in an article stays
`[bold]` on screen.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from textual.content import Content
from textual.style import Style

from qa.text import oneline, safe
from qa.types import Answer, Article, Citation

MARKER = re.compile(r"\[(\d+)\]")

# Styles name theme variables, so they follow the dark and light themes.
MARKER_STYLE = "bold $text-accent on $accent-muted"
CITED_STYLE = "bold $text-warning on $warning-muted"
DIM_STYLE = "$text-muted"
TITLE_STYLE = "bold $text-primary"
NOT_FOUND_STYLE = "italic $text-warning"


def display_source(source: str, cwd: Path | None = None) -> str:
    """A source path as the user would type it: relative to the working folder, or with ~."""
    source = oneline(source)
    if not source.startswith("/"):
        return source
    path = Path(source)
    for base, prefix in ((cwd or Path.cwd(), ""), (Path.home(), "~/")):
        try:
            return prefix + str(path.relative_to(base))
        except ValueError:
            continue
    return source


def short_source(source: str, limit: int = 60, cwd: Path | None = None) -> str:
    """A source fit for one line: a URL as host and path, a long path with its start elided."""
    text = display_source(source, cwd)
    match = re.match(r"^[a-z][a-z0-9+.-]*://(?:www\.)?([^/?#]+)([^?#]*)", text, re.IGNORECASE)
    if match:
        text = match.group(1) + match.group(2).rstrip("/")
        return text if len(text) <= limit else text[: limit - 1] + "…"
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def answer_content(answer: Answer, cited: Sequence[int] | None = None) -> Content:
    """The answer text with each citation marker `[n]` styled and clickable (`open_citation(n)`)."""
    text = safe(answer.text).strip()
    numbers = set(cited if cited is not None else (c.n for c in answer.citations))
    content = Content(text)
    for match in MARKER.finditer(text):
        n = int(match.group(1))
        if n in numbers:
            start, end = match.span()
            content = content.stylize(MARKER_STYLE, start, end)
            content = content.stylize(Style.from_meta({"@click": f"open_citation({n})"}), start, end)
    if not answer.found:
        content = content.stylize(NOT_FOUND_STYLE)
    return content


def split_span(text: str, start: int, end: int) -> tuple[str, str, str]:
    """`text` before, inside and after [start, end), each made safe on its own (so offsets hold)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    return safe(text[:start]), safe(text[start:end]), safe(text[end:])


SNIPPET_LEAD_CHARS = 70  # context shown before the cited sentence: about a line


def highlighted(before: str, cited: str, after: str, style: str = CITED_STYLE) -> Content:
    return Content(before + cited + after).stylize(style, len(before), len(before) + len(cited))


def snippet_content(citation: Citation) -> Content:
    """The passage around the cited sentence, on one line, with the sentence highlighted."""
    snippet = citation.snippet
    start = citation.start - citation.snippet_start
    end = citation.end - citation.snippet_start
    if not (0 <= start <= end <= len(snippet)) or snippet[start:end] != citation.sentence:
        found = snippet.find(citation.sentence)
        start, end = (found, found + len(citation.sentence)) if found >= 0 else (0, 0)
    before, cited, after = (" ".join(part.split()) for part in split_span(snippet, start, end))
    cut = citation.snippet_start > 0  # the snippet starts inside the article
    if len(before) > SNIPPET_LEAD_CHARS:  # the cited sentence near the top, also in a short pane
        lead = before[-SNIPPET_LEAD_CHARS:]
        before, cut = (lead.partition(" ")[2] or lead), True
    before = f"{'… ' if cut else ''}{before.strip()} " if before.strip() else ""
    after = f" {after.strip()} …" if after.strip() else ""
    return highlighted(before, cited, after)


def citation_heading(citation: Citation, cwd: Path | None = None, width: int = 74) -> Content:
    """`[n] Title` then `date · source · p. N` on the next line."""
    date = citation.date or "no date"
    details = [date, short_source(citation.source, limit=max(20, width - len(date) - 3), cwd=cwd)]
    if citation.page:
        details.append(f"p. {citation.page}")
    number = f"[{citation.n}]"
    title = oneline(citation.title) or "Untitled"
    heading = Content.assemble(
        (number, MARKER_STYLE), " ", (title, TITLE_STYLE), "\n", (" · ".join(details), DIM_STYLE)
    )
    if citation.also_sources:  # other outlets ran the same text
        room = max(20, (width - len("also in ")) // len(citation.also_sources) - 2)
        also = ", ".join(short_source(s, limit=room, cwd=cwd) for s in citation.also_sources)
        heading = Content.assemble(heading, "\n", (f"also in {also}", DIM_STYLE))
    return heading


def source_option(citation: Citation, cwd: Path | None = None, width: int = 74) -> Content:
    """One entry of the sources pane: heading and highlighted snippet."""
    return Content.assemble(citation_heading(citation, cwd, width), "\n", snippet_content(citation))


@dataclass(frozen=True)
class ArticleView:
    """An article ready to show: its text with the cited span highlighted, and whether it still matches."""

    body: Content
    matched: (
        bool  # False when the article changed since the answer: the span was found by search, or not at all
    )


def article_view(article: Article, citation: Citation) -> ArticleView:
    text = article.text
    start, end = citation.start, citation.end
    matched = text[start:end] == citation.sentence
    if not matched:
        found = text.find(citation.sentence) if citation.sentence else -1
        start, end = (found, found + len(citation.sentence)) if found >= 0 else (0, 0)
    before, cited, after = split_span(text, start, end)
    return ArticleView(highlighted(before, cited, after, CITED_STYLE), matched or end > start)


def article_meta(article: Article, cwd: Path | None = None) -> Content:
    details = [article.date or "no date", display_source(article.source, cwd)]
    if article.url and oneline(article.url) != oneline(article.source):
        details.append(oneline(article.url))
    return Content(" · ".join(details)).stylize(DIM_STYLE)


def highlighted_line(body: Content, width: int) -> int | None:
    """The first line (0-based) holding the highlight when `body` is wrapped to `width` cells."""
    for y, line in enumerate(body.wrap(max(1, width))):
        if any(span.style == CITED_STYLE for span in line.spans):
            return y
    return None


def seconds(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms < 10_000 else f"{ms / 1000:.0f} s"
