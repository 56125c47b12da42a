"""Plain data passed between the steps of the flow: ingest -> chunk -> embed -> store -> retrieve -> answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from qa.text import plural


@dataclass(frozen=True)
class Article:
    """One article as read from disk. `text` is stored verbatim; every span points into it."""

    id: str
    title: str
    source: str  # file path or URL the article came from
    text: str
    date: str | None = None  # ISO 8601 (YYYY-MM-DD) when the source gives a parseable date
    url: str | None = None
    # Character offset where each page starts (PDF only): page n (1-based) starts at page_starts[n-1].
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        if not self.page_starts:
            return None
        page = 1
        for n, start in enumerate(self.page_starts, start=1):
            if start <= offset:
                page = n
            else:
                break
        return page


@dataclass(frozen=True)
class Skipped:
    """An input that could not be read, or a part of one (a bad JSONL line), with the reason."""

    source: str
    reason: str


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences of one article: `text == article.text[start:end]`."""

    article_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    """A retrieved passage (one chunk) with its article's metadata and its retrieval score."""

    chunk_id: int
    article_id: str
    title: str
    source: str
    date: str | None
    start: int
    end: int
    text: str
    score: float
    page: int | None = None
    also_sources: tuple[str, ...] = ()  # where copies of the article or the passage came from


@dataclass(frozen=True)
class Citation:
    """A cited sentence: `article.text[start:end] == sentence`; `snippet` is the passage around it."""

    n: int
    article_id: str
    title: str
    source: str
    date: str | None
    start: int
    end: int
    sentence: str
    snippet: str
    snippet_start: int
    page: int | None = None
    also_sources: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "date": self.date,
            "start": self.start,
            "end": self.end,
            "sentence": self.sentence,
            "snippet": self.snippet,
            "snippet_start": self.snippet_start,
            "page": self.page,
            "also_sources": list(self.also_sources),
        }


@dataclass
class Answer:
    question: str
    text: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Hit] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    unmentioned: list[str] = field(default_factory=list)  # refused: the question's names its articles lack

    def to_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            **({"unmentioned": list(self.unmentioned)} if self.unmentioned else {}),
        }


@dataclass
class IndexReport:
    """What one `qa index` run did."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks_embedded: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the user should know, one line each

    def summary(self) -> str:
        parts = [
            f"{self.new} new",
            f"{self.changed} changed",
            f"{self.removed} removed",
            f"{self.unchanged} unchanged",
            f"{plural(self.chunks_embedded, 'chunk')} embedded",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return ", ".join(parts) + f" in {self.seconds:.1f}s"


@dataclass(frozen=True)
class IndexStats:
    articles: int
    chunks: int
    model: str
    dim: int
    index_type: str
    precision: str  # the model variant that embedded the passages (qa.store.index_precision)
