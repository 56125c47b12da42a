"""Saved conversations: a small SQLite store of questions and their answers (no UI code here).

One file, `conversations.sqlite`, in the user's data folder (platformdirs; `QA_DATA_DIR` overrides).
Each turn keeps the answer as `Answer.to_dict()` JSON plus how many passages it drew on, so a
reopened conversation shows the same answer, sources and figures as when it was asked.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from qa.types import Answer, Citation

DB_NAME = "conversations.sqlite"
TITLE_CHARS = 80

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,          -- JSON: Answer.to_dict()
    passages INTEGER NOT NULL,     -- how many passages the answer drew on
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_conversation ON turns(conversation_id, id);
"""


def default_data_dir() -> Path:
    """Where conversations are kept: `QA_DATA_DIR`, else the platform's user data folder."""
    from platformdirs import user_data_dir

    return Path(os.environ.get("QA_DATA_DIR") or user_data_dir("qa"))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class ConversationInfo:
    id: int
    title: str
    created: str  # ISO 8601, UTC
    updated: str
    turns: int


@dataclass(frozen=True)
class Turn:
    """One question and its answer, as saved: `answer` is `Answer.to_dict()`."""

    question: str
    answer: dict[str, Any]
    passages: int
    created: str = field(default_factory=_now)

    @classmethod
    def from_answer(cls, answer: Answer) -> Turn:
        return cls(question=answer.question, answer=answer.to_dict(), passages=len(answer.passages))

    def to_answer(self) -> Answer:
        return answer_from_dict(self.answer)


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """The `Answer` that `Answer.to_dict()` described (without the passages themselves)."""
    citations = [
        Citation(
            n=int(c["n"]),
            article_id=str(c["article_id"]),
            title=str(c.get("title") or ""),
            source=str(c.get("source") or ""),
            date=c.get("date"),
            start=int(c["start"]),
            end=int(c["end"]),
            sentence=str(c.get("sentence") or ""),
            snippet=str(c.get("snippet") or ""),
            snippet_start=int(c.get("snippet_start") or 0),
            page=c.get("page"),
            also_sources=tuple(str(s) for s in c.get("also_sources") or ()),
        )
        for c in data.get("citations", [])
    ]
    return Answer(
        question=str(data.get("question") or ""),
        text=str(data.get("answer") or ""),
        found=bool(data.get("found")),
        citations=citations,
        timings_ms={str(k): float(v) for k, v in (data.get("timings_ms") or {}).items()},
    )


def _info(row: tuple[Any, ...]) -> ConversationInfo:
    """A conversation's row (id, title, created, updated, turn count) as a ConversationInfo."""
    return ConversationInfo(int(row[0]), str(row[1]), str(row[2]), str(row[3]), int(row[4]))


class ConversationStore:
    """Conversations and their turns in one SQLite file. Every write is one transaction."""

    def __init__(self, data_dir: Path | None) -> None:
        """Open (or create) `data_dir/conversations.sqlite`; None keeps conversations in memory only."""
        if data_dir is None:
            self.path: Path | None = None
            self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self.path = data_dir / DB_NAME
            self.conn = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            # Commits reach the disk at checkpoints, not each on its own: a save is on the chat's thread
            # as every answer goes on the screen. A crash of the app loses nothing committed; a power cut
            # can lose the last answers saved, never the file (SQLite's WAL mode).
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def _write(self, sql: str, params: tuple[Any, ...]) -> sqlite3.Cursor:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn.execute(sql, params)

    def create(self, title: str) -> int:
        """A new, empty conversation; its title is the first question, shortened."""
        title = " ".join(title.split())
        if len(title) > TITLE_CHARS:
            title = title[: TITLE_CHARS - 1].rstrip() + "…"
        now = _now()
        cursor = self._write(
            "INSERT INTO conversations(title, created, updated) VALUES (?, ?, ?)",
            (title or "Untitled", now, now),
        )
        return int(cursor.lastrowid or 0)

    def add_turn(self, conversation_id: int, turn: Turn) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT INTO turns(conversation_id, question, answer, passages, created) VALUES (?, ?, ?, ?, ?)",
                (conversation_id, turn.question, json.dumps(turn.answer), turn.passages, turn.created),
            )
            self.conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (_now(), conversation_id))

    def list(self) -> list[ConversationInfo]:
        """Every conversation, the most recently updated first."""
        rows = self.conn.execute(
            "SELECT c.id, c.title, c.created, c.updated, COUNT(t.id) FROM conversations c "
            "LEFT JOIN turns t ON t.conversation_id = c.id GROUP BY c.id ORDER BY c.updated DESC, c.id DESC"
        ).fetchall()
        return [_info(row) for row in rows]

    def get(self, conversation_id: int) -> ConversationInfo | None:
        # One conversation, not a filter of `list`: the chat reads it on every answer it saves, and a long
        # history made that a scan of every saved turn.
        row = self.conn.execute(
            "SELECT c.id, c.title, c.created, c.updated, "
            "(SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) FROM conversations c WHERE c.id = ?",
            (conversation_id,),
        ).fetchone()
        return _info(row) if row else None

    def turns(self, conversation_id: int) -> list[Turn]:
        rows = self.conn.execute(
            "SELECT question, answer, passages, created FROM turns WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        ).fetchall()
        return [Turn(str(q), json.loads(a), int(p), str(c)) for q, a, p, c in rows]

    def delete(self, conversation_id: int) -> None:
        self._write("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    def recent_questions(self, limit: int = 200) -> list[str]:
        """Questions asked before, oldest first (the input history of a new session)."""
        rows = self.conn.execute("SELECT question FROM turns ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [str(r[0]) for r in reversed(rows)]
