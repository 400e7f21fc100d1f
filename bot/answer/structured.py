"""The reply format asked of a model: a JSON object where the server can enforce one.

`{"answerable": bool, "answer": str, "passages": [int]}` makes a refusal a
field rather than a sentence to recognise, and the cited passages a list
rather than markers a small model forgets to write. llama.cpp, vLLM and
OpenAI all take the schema as `response_format` (llama.cpp turns it into a
grammar); a server that ignores it answers in plain text, and `parse_reply`
reads that too.

While the reply streams, `AnswerStream` pulls the growing "answer" string out
of the partial JSON, so people see the answer as it is written, not braces.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field

# Longer answers are the ones that wander off the passages; the cap also
# bounds the time a runaway generation can cost.
MAX_ANSWER_CHARS = 400


def schema(n_passages: int) -> dict:
    """The JSON schema of a reply citing passages 1..n_passages."""
    return {
        "type": "object",
        "properties": {
            "answerable": {"type": "boolean"},
            "answer": {"type": "string", "maxLength": MAX_ANSWER_CHARS},
            "passages": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": max(1, n_passages)},
                "maxItems": max(1, n_passages),
            },
        },
        "required": ["answerable", "answer", "passages"],
        "additionalProperties": False,
    }


def response_format(n_passages: int) -> dict:
    return {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": schema(n_passages)}}


@dataclass
class Reply:
    """What a model replied, however it was formatted."""

    answer: str
    answerable: bool | None = None  # None: plain text, decide from the text
    passages: list[int] = field(default_factory=list)
    structured: bool = False  # the reply was the JSON object


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def parse_reply(raw: str) -> Reply:
    """The reply as a `Reply`: the JSON object when it is one, else the text itself."""
    text = _FENCE.sub("", (raw or "").strip()).strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            data = _salvage(text)
        if isinstance(data, dict) and isinstance(data.get("answer"), str):
            passages = [int(n) for n in data.get("passages") or [] if isinstance(n, int | float) or str(n).isdigit()]
            answerable = data.get("answerable")
            return Reply(
                answer=data["answer"].strip(),
                answerable=answerable if isinstance(answerable, bool) else None,
                passages=list(dict.fromkeys(passages)),
                structured=True,
            )
    return Reply(answer=text)


def _salvage(text: str) -> dict | None:
    """A JSON object cut off by the token limit: keep the fields that did arrive."""
    out: dict = {}
    m = re.search(r'"answerable"\s*:\s*(true|false)', text)
    if m:
        out["answerable"] = m.group(1) == "true"
    stream = AnswerStream()
    stream.feed(text)
    if stream.started:
        out["answer"] = stream.text
    m = re.search(r'"passages"\s*:\s*\[([\d,\s]*)', text)
    if m:
        out["passages"] = [int(n) for n in re.findall(r"\d+", m.group(1))]
    return out or None


class AnswerStream:
    """Feed it the raw reply piece by piece; `feed` returns the new characters of the answer to show.

    JSON replies show only the "answer" string (escapes decoded); a reply that
    does not start with "{" is plain text and shown as it comes.
    """

    _KEY = re.compile(r'"answer"\s*:\s*"')

    def __init__(self) -> None:
        self.raw = ""
        self.text = ""
        self.started = False
        self.done = False
        self._mode: str | None = None  # "json" or "text"
        self._pos = 0  # where the answer string's next character is in raw

    def feed(self, piece: str) -> str:
        self.raw += piece
        if self._mode is None:
            head = self.raw.lstrip().lstrip("`").removeprefix("json").lstrip()
            if not head:
                return ""
            self._mode = "json" if head.startswith("{") else "text"
        if self._mode == "text":
            self.text += piece
            self.started = True
            return piece
        if self.done:
            return ""
        if not self.started:
            m = self._KEY.search(self.raw)
            if not m:
                return ""
            self.started, self._pos = True, m.end()
        return self._advance()

    def _advance(self) -> str:
        out: list[str] = []
        raw, i = self.raw, self._pos
        while i < len(raw):
            ch = raw[i]
            if ch == '"':
                self.done = True
                i += 1
                break
            if ch == "\\":
                if i + 1 >= len(raw):
                    break  # the escape is not complete yet
                nxt = raw[i + 1]
                if nxt == "u":
                    if i + 6 > len(raw):
                        break
                    with contextlib.suppress(ValueError):
                        out.append(chr(int(raw[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                out.append({"n": "\n", "t": "\t", "r": "", "b": "", "f": ""}.get(nxt, nxt))
                i += 2
                continue
            out.append(ch)
            i += 1
        self._pos = i
        new = "".join(out)
        self.text += new
        return new
