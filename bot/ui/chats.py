"""Saved chats in the sidebar (open, rename, delete, start anew), Regenerate, Export, and English beside the quotes.

Every answered question is saved as it is answered (ChatHandlers.respond); here a
saved chat is reopened with its answers and their sources, renamed, deleted (after
asking), the last answer asked for again, and the chat exported as Markdown (answer,
quotes, citations with file and offsets) and JSON.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from pathlib import Path

from bot.answer import Answer
from bot.bylines import citation_notes
from bot.ui.handlers import ChatHandlers, Conversation, conversation_of, user_of
from bot.ui.render import md_escape, md_with_markers

# isort: off
import gradio as gr
# isort: on


def chat_markdown(title: str, turns: list[tuple[str, Answer]], metas: dict | None = None) -> str:
    """A chat as Markdown: each question, its answer, the quotes and their citations (file, offsets, byline)."""
    lines = [f"# {title}", ""]
    for question, answer in turns:
        lines += [f"## {question}", "", answer.text.strip(), ""]
        if answer.notice:
            lines += [f"> {answer.notice}", ""]
        notes = citation_notes(answer.citations, metas or {})
        for c in answer.citations:
            byline, dated = notes.get(c.n, ("", ""))
            lines.append(f"- [{c.n}] `{c.source}`, characters {c.start}–{c.end}" + (f" ({byline})" if byline else ""))
            lines.append(f"  > {' '.join(c.quote.split())}")
            if dated:
                lines.append(f"  > _{dated}_")
        lines += ["", f"_Answered by: {answer.answerer}_", ""]
    return "\n".join(lines).rstrip() + "\n"


def chat_json(chat_id: str | None, title: str, turns: list[tuple[str, Answer]], metas: dict | None = None) -> dict:
    from dataclasses import asdict

    articles = {}
    for _, answer in turns:
        for c in answer.citations:
            meta = (metas or {}).get(c.source)
            if meta is not None and c.source not in articles:
                articles[c.source] = {k: v for k, v in asdict(meta).items() if v}
    return {"id": chat_id, "title": title, "exported": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "turns": [{"question": q, "answer": a.to_dict()} for q, a in turns], "articles": articles}


def _file_stem(title: str) -> str:
    stem = re.sub(r"[^\w-]+", "-", title, flags=re.UNICODE).strip("-")[:60]
    return stem or "chat"


class ChatsHandlers:
    def __init__(self, h: ChatHandlers) -> None:
        self.h = h
        self.chats = h.chats
        self._translator = None
        self._translator_tried = False

    def listing(self, conv: Conversation, request: gr.Request) -> gr.Radio:
        return self.h.chat_list(request, conv.chat_id if conv else None)

    def open(self, chat_id: str | None, request: gr.Request) -> tuple:
        """A saved chat back in the chat, with the sources of its last answer."""
        if not chat_id:
            return (gr.skip(),) * 7
        chat = self.chats.open(user_of(request), chat_id)
        if chat is None:
            return (gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), self.h.chat_list(request),
                    "That chat is no longer there.")
        turns = [(t.question, t.answer) for t in chat.turns]
        conv = conversation_of(turns, chat.id, self.h.metas())
        last = turns[-1][1] if turns else None
        return (conv.messages, conv, *self.h.sources_view(last), gr.skip(), "")

    def new(self) -> tuple:
        return (*self.h.clear(), [], "")

    def rename(self, chat_id: str | None, title: str, request: gr.Request) -> tuple:
        if not chat_id:
            return gr.skip(), "Open a saved chat to rename it."
        if not (title or "").strip():
            return gr.skip(), "Type the new name first."
        self.chats.rename(user_of(request), chat_id, title)
        return self.h.chat_list(request, chat_id), f"Renamed to “{' '.join(title.split())}”."

    def ask_delete(self, chat_id: str | None) -> tuple:
        if not chat_id:
            return gr.Row(visible=False), "Open a saved chat to delete it."
        return gr.Row(visible=True), ""

    def delete(self, chat_id: str | None, conv: Conversation, request: gr.Request) -> tuple:
        """Delete the chat; when it is the one shown, the chat starts anew."""
        if chat_id:
            self.chats.delete(user_of(request), chat_id)
        if conv and conv.chat_id == chat_id:
            conv_out, sources, pick, article, _ = self.h.clear()
            return (gr.Row(visible=False), self.h.chat_list(request), [], conv_out, sources, pick, article,
                    "Chat deleted.")
        return (gr.Row(visible=False), self.h.chat_list(request, conv.chat_id if conv else None), gr.skip(),
                gr.skip(), gr.skip(), gr.skip(), gr.skip(), "Chat deleted.")

    def regenerate(self, conv: Conversation, k, retriever, mode, request: gr.Request):
        """Ask the last question again (with the conversation before it) and put the new answer in its place."""
        if not conv or not conv.turns:
            yield (gr.skip(),) * 6 + ("Nothing to regenerate yet: ask a question first.",)
            return
        question = conv.turns[-1][0]
        before = conversation_of(conv.turns[:-1], conv.chat_id, self.h.metas())
        result = None
        for partial, result in self.h._progress(question, before.pairs, k, retriever, mode):
            if result is None:
                shown = [*before.messages, {"role": "user", "content": md_escape(question)},
                         {"role": "assistant", "content": md_with_markers(partial) + " ▌"}]
                yield shown, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""
        answer = result.answer
        new = conversation_of([*conv.turns[:-1], (question, answer)], conv.chat_id, self.h.metas())
        if conv.chat_id:
            self.chats.replace_last(user_of(request), conv.chat_id, question, answer)
        yield (new.messages, new, *self.h.sources_view(answer), gr.skip(), "Answered again.")

    def export(self, conv: Conversation, request: gr.Request) -> tuple:
        """The chat as a Markdown and a JSON file to download."""
        if not conv or not conv.turns:
            return gr.File(value=None, visible=False), "Nothing to export yet: ask a question first."
        title = conv.turns[0][0]
        if conv.chat_id:
            saved = next((c for c in self.chats.list(user_of(request)) if c.id == conv.chat_id), None)
            title = saved.title if saved else title
        metas = self.h.metas()
        folder = Path(tempfile.mkdtemp(prefix="newsbot-export-"))
        stem = _file_stem(title)
        md = folder / f"{stem}.md"
        md.write_text(chat_markdown(title, conv.turns, metas), encoding="utf-8")
        js = folder / f"{stem}.json"
        js.write_text(json.dumps(chat_json(conv.chat_id, title, conv.turns, metas), ensure_ascii=False, indent=2),
                      encoding="utf-8")
        return gr.File(value=[str(md), str(js)], visible=True), f"Exported {len(conv.turns)} answers."

    # -- English beside the quotes --------------------------------------------------

    @property
    def can_translate(self) -> bool:
        return self.h.has_llm

    def translate(self, conv: Conversation) -> tuple:
        """The sources panel again, each Vietnamese quote with its machine translation beside it."""
        from bot.translate import TranslationError, translator_for

        if not conv or not conv.turns:
            return gr.skip(), conv, "Ask a question first: its quotes are what gets translated."
        if not self._translator_tried:
            self._translator, self._translator_tried = translator_for(self.h.bot), True
        if self._translator is None:
            return gr.skip(), conv, "Translation needs a language model (OPENAI_BASE_URL, OPENAI_API_KEY or BOT_LOCAL_MODEL)."
        answer = conv.turns[-1][1]
        try:
            english = self._translator.quotes([c.quote for c in answer.citations])
        except TranslationError as exc:
            return gr.skip(), conv, f"No translation: {exc}."
        conv.english = english
        html_panel = self.h.sources_view(answer, english, self._translator.label)[0]
        said = f"{len(english)} quote{'s' if len(english) != 1 else ''} machine-translated." if english else \
            "No Vietnamese quote to translate."
        return html_panel, conv, said
