"""Text for the terminal: article text made safe to show (no escape sequences or control characters), counts."""

from __future__ import annotations

import re

# CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \), and other two-character ESC sequences.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: str) -> str:
    """Text with escape sequences and control characters removed (newlines and tabs kept)."""
    return _CONTROL.sub("", _ANSI.sub("", text))


def oneline(text: str) -> str:
    """`safe` text on one line: runs of whitespace, line breaks included, become one space."""
    return " ".join(safe(text).split())


def plural(n: int, word: str) -> str:
    """ "1 article", "2 articles"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
