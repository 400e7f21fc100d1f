"""Read a Q&A dataset (JSON Lines), tolerant of missing optional fields, strict about broken lines."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.lang import detect_language
from bot.text import normalize


class DatasetError(ValueError):
    """A dataset line that cannot be used; the message names the file and line."""


@dataclass
class Item:
    id: str
    question: str
    lang: str
    answer: str = ""  # the reference answer
    must_include: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)  # gold source file names
    evidence: str = ""  # a verbatim quote from one of the sources
    type: str = "unspecified"
    difficulty: str = "unspecified"
    answerable: bool = True
    line: int = 0
    # "dev" items may be looked at when setting thresholds and word lists, "test" items never:
    # a fixed split by id (see `split_of`), written into the dataset.
    split: str = "dev"
    # Questions asked before this one in the same conversation, in order (a follow-up item).
    history: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _strings(value: object, name: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v for v in value if v.strip()]
    raise DatasetError(f"{where}: '{name}' must be a list of strings, got {type(value).__name__}")


def _text(value: object, name: str, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DatasetError(f"{where}: '{name}' must be a string, got {type(value).__name__}")
    return value


SPLITS = ("dev", "test")


def split_of(item_id: str) -> str:
    """The fixed dev/test split of an id: parity of its SHA-1 (about half each, stable when items are added)."""
    return SPLITS[int(hashlib.sha1(item_id.encode("utf-8")).hexdigest(), 16) % 2]


def parse_item(record: object, where: str, line: int) -> Item:
    if not isinstance(record, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {type(record).__name__}")
    question = _text(record.get("question"), "question", where).strip()
    if not question:
        raise DatasetError(f"{where}: 'question' is missing or empty")
    raw_id = record.get("id")
    item_id = str(raw_id).strip() if raw_id not in (None, "") else f"line{line}"
    kind = _text(record.get("type"), "type", where).strip().lower() or "unspecified"
    # Gold sources may be written as paths; citations and chunks name files only.
    sources = [Path(s.strip()).name for s in _strings(record.get("sources"), "sources", where)]
    answerable = bool(sources) if "sources" in record else kind != "unanswerable"
    if "answerable" in record:
        # Said outright, it wins ("answerable": false with the article the question sits close to).
        if not isinstance(record["answerable"], bool):
            raise DatasetError(f"{where}: 'answerable' must be true or false, got {record['answerable']!r}")
        answerable = record["answerable"]
    lang = _text(record.get("lang"), "lang", where).strip().lower() or detect_language(normalize(question))
    return Item(
        id=item_id,
        question=question,
        lang=lang,
        answer=_text(record.get("answer"), "answer", where),
        must_include=_strings(record.get("must_include"), "must_include", where),
        sources=list(dict.fromkeys(sources)),
        evidence=_text(record.get("evidence"), "evidence", where).strip(),
        type=kind,
        difficulty=_text(record.get("difficulty"), "difficulty", where).strip().lower() or "unspecified",
        answerable=answerable,
        line=line,
        split=_split(record.get("split"), item_id, where),
        history=_strings(record.get("history"), "history", where),
    )


def _split(value: object, item_id: str, where: str) -> str:
    if value in (None, ""):
        return split_of(item_id)
    if value not in SPLITS:
        raise DatasetError(f"{where}: 'split' must be one of {', '.join(SPLITS)}, got {value!r}")
    return str(value)


def load_dataset(path: Path) -> list[Item]:
    """Every item of a .jsonl file; blank lines are skipped, extra fields ignored."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from None
    items: list[Item] = []
    seen: dict[str, int] = {}
    for number, data in enumerate(raw.splitlines(), start=1):
        where = f"{path}, line {number}"
        try:
            text = data.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise DatasetError(f"{where}: not UTF-8 (byte {exc.start})") from None
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise DatasetError(f"{where}: JSON nested too deeply to be a question") from None
        item = parse_item(record, where, number)
        if item.id in seen:
            raise DatasetError(f"{where}: id '{item.id}' already used on line {seen[item.id]}")
        seen[item.id] = number
        items.append(item)
    if not items:
        raise DatasetError(f"{path}: no questions in the file")
    return items
