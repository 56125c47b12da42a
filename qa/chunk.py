"""Split article text into sentences and token-limited chunks, keeping exact character spans.

Every span is a (start, end) pair into the article text, so `text[start:end]` is the sentence or
chunk itself. Chunks are runs of whole sentences that overlap by one sentence and never exceed the
embedding model's token limit (text past it would silently go unembedded).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from qa.types import Chunk

TokenCounter = Callable[[list[str]], list[int]]

# Words after which a period does not end a sentence ("U.S. troops", "Mr. Mattis", "Jan. 6").
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof st sr jr gen col lt sgt capt cmdr adm gov sen rep rev hon pres supt
    inc corp co ltd llc dept univ assn bros est approx vs etc no nos vol fig al
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue wed thu fri sat sun
    ft mt ave blvd rd
    """.split()
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_NEXT_STARTS_SENTENCE = re.compile(r"\s+[\"'“‘(\[]*[A-Z0-9À-Ý]")
_WORD_BEFORE = re.compile(r"([\w.'’-]+)$")
_LONGEST_WORD = 64  # characters of the word before a dot that decide whether it ends a sentence

# A line made only of social-sharing buttons, e.g. "Share on Facebook Share on Twitter".
_SHARE_WORDS = re.compile(
    r"(share|shares|sharing|tweet|email|e-mail|print|pin|save|copy link|copy|link|comments?|"
    r"facebook|twitter|x|whatsapp|linkedin|pinterest|reddit|telegram|messenger|flipboard|"
    r"on|via|this|article|story|to|with|friends?|follow us|[|•·,:/-])",
    re.IGNORECASE,
)
_SHARE_ANCHOR = re.compile(r"\b(share|tweet|facebook|twitter|whatsapp|linkedin|pinterest)\b", re.I)


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def is_boilerplate_line(line: str) -> bool:
    """True for a line that holds only share buttons ("Share on Facebook Share on Twitter")."""
    stripped = line.strip()
    if not stripped or len(stripped) > 200 or not _SHARE_ANCHOR.search(stripped):
        return False
    return not _SHARE_WORDS.sub(" ", stripped).strip()


def _ends_sentence(text: str, dot_start: int, dot_end: int) -> bool:
    mark = text[dot_start:dot_end]
    if not _NEXT_STARTS_SENTENCE.match(text, dot_end):
        return False
    if not mark.startswith("."):
        return True
    # Only the word before the dot matters: searching from the start of the text made splitting quadratic.
    word = _WORD_BEFORE.search(text, max(0, dot_start - _LONGEST_WORD), dot_start)
    if not word:
        return True
    token = word.group(1).lower().strip("'’")
    if token in _ABBREVIATIONS:
        return False
    # "U.S." or "a.m." (dots inside the word) and single initials ("J. Smith") do not end sentences.
    if "." in token or (len(token) == 1 and token.isalpha()):
        return False
    return True


def _split_line(text: str, start: int, end: int) -> Iterator[Span]:
    sentence_start = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _ends_sentence(text, match.start(), match.end()):
            yield Span(sentence_start, match.end())
            sentence_start = match.end()
            while sentence_start < end and text[sentence_start].isspace():
                sentence_start += 1
    if sentence_start < end:
        yield Span(sentence_start, end)


def split_sentences(text: str, *, drop_boilerplate: bool = True) -> list[Span]:
    """Sentence spans of `text`; every line break ends a sentence. Spans hold no outer whitespace."""
    spans: list[Span] = []
    line_start = 0
    for line_end in [m.start() for m in re.finditer("\n", text)] + [len(text)]:
        start, end = line_start, line_end
        line_start = line_end + 1
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end or (drop_boilerplate and is_boilerplate_line(text[start:end])):
            continue
        spans.extend(_split_line(text, start, end))
    return spans


def _split_long(text: str, span: Span, counts: TokenCounter, limit: int) -> list[Span]:
    """Cut a sentence longer than the token limit into word-aligned pieces that fit."""
    words = [Span(m.start(), m.end()) for m in re.finditer(r"\S+", text[span.start : span.end])]
    words = [Span(span.start + w.start, span.start + w.end) for w in words]
    word_tokens = counts([text[w.start : w.end] for w in words])
    pieces: list[Span] = []
    piece_start: int | None = None
    used, prev_end = 0, span.start
    for word, n in zip(words, word_tokens, strict=True):
        if piece_start is not None and used + n > limit:
            pieces.append(Span(piece_start, prev_end))
            piece_start, used = None, 0
        if piece_start is None:
            piece_start = word.start
        if n > limit:  # a single "word" longer than the limit (a URL, a base64 blob): cut by characters
            pieces.extend(_split_by_chars(text, Span(word.start, word.end), counts, limit))
            piece_start, used = None, 0
            continue
        used += n
        prev_end = word.end
    if piece_start is not None:
        pieces.append(Span(piece_start, prev_end))
    return pieces


def _split_by_chars(text: str, span: Span, counts: TokenCounter, limit: int) -> list[Span]:
    pieces, start = [], span.start
    while start < span.end:
        size = min(span.end - start, limit)
        while size > 1 and counts([text[start : start + size]])[0] > limit:
            size //= 2
        pieces.append(Span(start, start + size))
        start += size
    return pieces


@dataclass(frozen=True)
class ChunkSettings:
    max_tokens: int  # hard limit in the model's tokens, special tokens excluded
    target_tokens: int = 160  # a chunk stops growing once it reaches this
    overlap_sentences: int = 1

    def as_dict(self) -> dict[str, int]:
        return {
            "max_tokens": self.max_tokens,
            "target_tokens": self.target_tokens,
            "overlap_sentences": self.overlap_sentences,
        }


def chunk_text(article_id: str, text: str, counts: TokenCounter, settings: ChunkSettings) -> list[Chunk]:
    """Group sentences into chunks of at most `settings.max_tokens` tokens, overlapping by a sentence."""
    limit = settings.max_tokens
    target = min(settings.target_tokens, limit)
    sentences = split_sentences(text)
    if not sentences:
        return []
    sentence_tokens = counts([text[s.start : s.end] for s in sentences])
    units: list[tuple[Span, int]] = []
    for span, n in zip(sentences, sentence_tokens, strict=True):
        if n <= limit:
            units.append((span, n))
        else:
            pieces = _split_long(text, span, counts, limit)
            units.extend(zip(pieces, counts([text[p.start : p.end] for p in pieces]), strict=True))

    groups: list[list[tuple[Span, int]]] = []
    current: list[tuple[Span, int]] = []
    for unit in units:
        used = sum(n for _, n in current)
        if current and (used + unit[1] > limit or used >= target):
            groups.append(current)
            overlap = current[-settings.overlap_sentences :] if settings.overlap_sentences else []
            # Keep the overlap only while it leaves room for new text.
            current = [u for u in overlap if sum(n for _, n in overlap) + unit[1] <= limit]
            if len(current) == len(groups[-1]):
                current = []
        current.append(unit)
    if current:
        groups.append(current)

    chunks: list[Chunk] = []
    for ordinal, group in enumerate(groups):
        start, end = group[0][0].start, group[-1][0].end
        chunks.append(Chunk(article_id, ordinal, start, end, text[start:end]))
    return _enforce_limit(chunks, text, counts, limit)


def _enforce_limit(chunks: Sequence[Chunk], text: str, counts: TokenCounter, limit: int) -> list[Chunk]:
    """Tokenizing a joined chunk can differ from the sum of its sentences; re-check and split."""
    real = counts([c.text for c in chunks])
    if all(n <= limit for n in real):
        return list(chunks)
    fixed: list[Chunk] = []
    for chunk, n in zip(chunks, real, strict=True):
        if n <= limit:
            fixed.append(chunk)
            continue
        for piece in _split_long(text, Span(chunk.start, chunk.end), counts, limit):
            fixed.append(Chunk(chunk.article_id, 0, piece.start, piece.end, text[piece.start : piece.end]))
    return [Chunk(c.article_id, i, c.start, c.end, c.text) for i, c in enumerate(fixed)]
