"""A conversation as Markdown: each question, its answer and its numbered sources."""

from __future__ import annotations

import re
from collections.abc import Sequence

from qa.conversations import Turn
from qa.text import oneline, safe


def sources_markdown(answer: dict[str, object]) -> str:
    """The numbered sources of one answer: title, date, source and the cited sentence as a quote."""
    citations = answer.get("citations") or []
    if not citations:
        return ""
    heading = "Sources" if answer.get("found") else "Closest passages"
    lines = [f"**{heading}**", ""]
    for c in citations:  # type: ignore[attr-defined]
        details = [x for x in (c.get("date"), oneline(str(c.get("source") or ""))) if x]
        if c.get("page"):
            details.append(f"p. {c['page']}")
        lines.append(f"{c['n']}. {oneline(str(c.get('title') or 'Untitled'))} ({', '.join(details)})")
        if also := c.get("also_sources"):
            lines.append(f"   also in {', '.join(oneline(str(s)) for s in also)}")
        lines.append(f"   > {oneline(str(c.get('sentence') or ''))}")
    return "\n".join(lines)


def turn_to_markdown(turn: Turn) -> str:
    """One question and its answer with sources (what "copy answer" puts on the clipboard)."""
    answer = turn.answer
    parts = [f"**Q:** {oneline(turn.question)}", "", safe(str(answer.get("answer") or "")).strip()]
    sources = sources_markdown(answer)
    if sources:
        parts += ["", sources]
    return "\n".join(parts) + "\n"


def conversation_to_markdown(turns: Sequence[Turn], title: str | None = None) -> str:
    """The whole conversation: a heading, then each question, its answer and its numbered sources."""
    heading = oneline(title or (turns[0].question if turns else "Conversation"))
    parts = [f"# {heading}", ""]
    for number, turn in enumerate(turns, start=1):
        answer = turn.answer
        parts += [
            f"## {number}. {oneline(turn.question)}",
            "",
            safe(str(answer.get("answer") or "")).strip(),
        ]
        sources = sources_markdown(answer)
        if sources:
            parts += ["", sources]
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def default_file_name(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:50].rstrip("-")
    return f"qa-{slug or 'conversation'}.md"
