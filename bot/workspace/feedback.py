"""Thumbs up / down on answers, and the thumbs-down ones as regression cases for `bot eval`.

Each rating is stored with everything needed to replay it: the question and the
questions before it in the chat, the answer, its citations, who answered, and the
bot's commit. A thumbs-down may say what the answer should have been, the words it
must hold, and which articles hold it (or that none does); `export_dataset` writes
those as eval dataset lines (eval/dataset.py), so `bot eval --dataset FILE` asks
them again and scores the answers against what the reader expected.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer import Answer
from bot.lang import detect_language
from bot.revision import git_commit
from bot.workspace.db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    user TEXT NOT NULL DEFAULT '',
    chat_id TEXT NOT NULL DEFAULT '',
    rating INTEGER NOT NULL,          -- 1 thumbs up, -1 thumbs down
    note TEXT NOT NULL DEFAULT '',
    expected TEXT NOT NULL DEFAULT '',
    must_include TEXT NOT NULL DEFAULT '[]',
    sources TEXT NOT NULL DEFAULT '[]',
    answerable INTEGER NOT NULL DEFAULT 1,
    question TEXT NOT NULL,
    history TEXT NOT NULL DEFAULT '[]',
    lang TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    citations TEXT NOT NULL DEFAULT '[]',
    answerer TEXT NOT NULL DEFAULT '',
    git_commit TEXT NOT NULL DEFAULT ''
);
"""
# An expected answer this short is also what the answer must contain (eval's must_include),
# unless the reader named the words; a longer one is scored by token F1 only.
SHORT_EXPECTED_WORDS = 6


@dataclass
class Rating:
    question: str
    answer: Answer
    up: bool
    history: list[str] = field(default_factory=list)  # the chat's earlier questions, oldest first
    note: str = ""
    expected: str = ""
    must_include: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # the articles the reader says hold the answer
    answerable: bool = True  # False: the reader says the articles do not answer it
    user: str = ""
    chat_id: str = ""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _db(self):
        return connect(self.path, SCHEMA)

    def add(self, rating: Rating) -> int:
        a = rating.answer
        citations = [{"n": c.n, "source": c.source, "quote": c.quote, "start": c.start, "end": c.end} for c in a.citations]
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO feedback (created, user, chat_id, rating, note, expected, must_include, sources, answerable,"
                " question, history, lang, answer, citations, answerer, git_commit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    time.time(), rating.user, rating.chat_id or "", 1 if rating.up else -1, rating.note.strip(),
                    rating.expected.strip(), json.dumps([m.strip() for m in rating.must_include if m.strip()],
                                                        ensure_ascii=False),
                    json.dumps(list(dict.fromkeys(rating.sources)), ensure_ascii=False), int(rating.answerable),
                    rating.question, json.dumps(rating.history, ensure_ascii=False), a.lang or "", a.text,
                    json.dumps(citations, ensure_ascii=False), a.answerer, git_commit() or "",
                ),
            )
            return int(cursor.lastrowid)

    def all(self) -> list[dict]:
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT * FROM feedback ORDER BY id")]


def as_case(row: dict) -> dict:
    """One thumbs-down as an eval dataset line (eval/dataset.py's fields; the rest for people)."""
    expected = row["expected"]
    must = json.loads(row["must_include"] or "[]")
    if not must and expected and len(expected.split()) <= SHORT_EXPECTED_WORDS and row["answerable"]:
        must = [expected]
    return {
        "id": f"feedback-{row['id']}",
        "question": row["question"],
        "lang": row["lang"] or detect_language(row["question"]),
        "answer": expected,
        "must_include": must,
        "sources": json.loads(row["sources"] or "[]"),
        "evidence": "",
        "type": "feedback",
        "answerable": bool(row["answerable"]),
        "history": json.loads(row["history"] or "[]"),
        # Not read by the eval: what the bot said then, and why the reader disagreed.
        "note": row["note"],
        "got": row["answer"],
        "got_citations": json.loads(row["citations"] or "[]"),
        "answerer": row["answerer"],
        "git_commit": row["git_commit"],
    }


def export_dataset(store: FeedbackStore, out: Path) -> int:
    """Write every thumbs-down as an eval case to `out` (JSON Lines); returns how many."""
    cases = [as_case(r) for r in store.all() if r["rating"] < 0]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases), encoding="utf-8")
    tmp.replace(out)
    return len(cases)
