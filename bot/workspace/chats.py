"""Conversations kept to come back to: each question with its whole answer (text, citations, who answered).

A chat belongs to the user who had it (the BOT_UI_AUTH name; "" without auth) and is
only ever listed, opened, renamed or deleted for that user. Its title is its first
question until renamed. Answers are stored as `Answer.to_dict()`, so a reopened chat
shows its sources exactly as they were cited.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from bot.answer import Answer, Citation
from bot.workspace.db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS chats_by_user ON chats (user, updated);
CREATE TABLE IF NOT EXISTS turns (
    chat_id TEXT NOT NULL REFERENCES chats (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (chat_id, seq)
);
"""
TITLE_CHARS = 80


@dataclass
class Turn:
    question: str
    answer: Answer
    seq: int = 0


@dataclass
class Chat:
    id: str
    title: str
    updated: float
    turns: list[Turn] = field(default_factory=list)


def answer_from(data: dict) -> Answer:
    """An Answer back from `Answer.to_dict()` (unknown keys of a later version ignored)."""
    known = set(Answer.__dataclass_fields__)
    values = {k: v for k, v in data.items() if k in known}
    values["citations"] = [Citation(**c) for c in data.get("citations") or []]
    return Answer(**values)


def title_of(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


class ChatStore:
    def __init__(self, path) -> None:
        self.path = path

    def _db(self):
        return connect(self.path, SCHEMA)

    def add_turn(self, user: str, chat_id: str | None, question: str, answer: Answer) -> str:
        """Append a question and its answer to a chat (a new one when chat_id is None or not the user's)."""
        now = time.time()
        with self._db() as db:
            owned = chat_id and db.execute("SELECT 1 FROM chats WHERE id = ? AND user = ?", (chat_id, user)).fetchone()
            if not owned:
                chat_id = uuid.uuid4().hex
                db.execute("INSERT INTO chats (id, user, title, created, updated) VALUES (?, ?, ?, ?, ?)",
                           (chat_id, user, title_of(question) or "(no question)", now, now))
            seq = db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM turns WHERE chat_id = ?", (chat_id,)).fetchone()[0]
            db.execute("INSERT INTO turns (chat_id, seq, question, answer, created) VALUES (?, ?, ?, ?, ?)",
                       (chat_id, seq, question, json.dumps(answer.to_dict(), ensure_ascii=False), now))
            db.execute("UPDATE chats SET updated = ? WHERE id = ?", (now, chat_id))
        return chat_id

    def replace_last(self, user: str, chat_id: str, question: str, answer: Answer) -> bool:
        """Regenerate: the chat's last answer replaced by a new one."""
        with self._db() as db:
            if not db.execute("SELECT 1 FROM chats WHERE id = ? AND user = ?", (chat_id, user)).fetchone():
                return False
            row = db.execute("SELECT MAX(seq) FROM turns WHERE chat_id = ?", (chat_id,)).fetchone()
            if row[0] is None:
                return False
            db.execute("UPDATE turns SET question = ?, answer = ?, created = ? WHERE chat_id = ? AND seq = ?",
                       (question, json.dumps(answer.to_dict(), ensure_ascii=False), time.time(), chat_id, row[0]))
            db.execute("UPDATE chats SET updated = ? WHERE id = ?", (time.time(), chat_id))
        return True

    def list(self, user: str) -> list[Chat]:
        """The user's chats, most recently used first (without their turns)."""
        with self._db() as db:
            rows = db.execute("SELECT id, title, updated FROM chats WHERE user = ? ORDER BY updated DESC", (user,))
            return [Chat(r["id"], r["title"], r["updated"]) for r in rows.fetchall()]

    def open(self, user: str, chat_id: str) -> Chat | None:
        with self._db() as db:
            row = db.execute("SELECT id, title, updated FROM chats WHERE id = ? AND user = ?", (chat_id, user)).fetchone()
            if row is None:
                return None
            turns = [
                Turn(t["question"], answer_from(json.loads(t["answer"])), t["seq"])
                for t in db.execute("SELECT seq, question, answer FROM turns WHERE chat_id = ? ORDER BY seq", (chat_id,))
            ]
        return Chat(row["id"], row["title"], row["updated"], turns)

    def rename(self, user: str, chat_id: str, title: str) -> bool:
        title = title_of(title)
        if not title:
            return False
        with self._db() as db:
            return db.execute("UPDATE chats SET title = ? WHERE id = ? AND user = ?", (title, chat_id, user)).rowcount == 1

    def delete(self, user: str, chat_id: str) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM chats WHERE id = ? AND user = ?", (chat_id, user)).rowcount == 1
