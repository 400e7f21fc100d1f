"""Thumbs up / down under each answer; a thumbs-down opens a short form (what was wrong, what the
answer should have been, which articles hold it) and becomes an eval case (`bot feedback export`)."""

from __future__ import annotations

from bot.ui.handlers import ChatHandlers, Conversation, user_of
from bot.ui.render import md_escape
from bot.workspace.db import db_path
from bot.workspace.feedback import FeedbackStore, Rating

# isort: off
import gradio as gr
# isort: on


class FeedbackHandlers:
    def __init__(self, h: ChatHandlers) -> None:
        self.h = h
        self.store = FeedbackStore(db_path(h.settings))

    def _turn(self, conv: Conversation, index) -> int | None:
        index = index[0] if isinstance(index, list | tuple) else index
        return conv.answer_at.get(int(index)) if conv and index is not None else None

    def rated(self, conv: Conversation, data: gr.LikeData, request: gr.Request) -> tuple:
        """A thumb clicked: thumbs up is recorded at once; thumbs down opens the form for that answer."""
        turn = self._turn(conv, data.index)
        if turn is None:
            return gr.Group(visible=False), None, "Only answers to a question can be rated.", gr.skip(), gr.skip()
        if data.liked is True:
            self.store.add(self._rating(conv, turn, True, request))
            return gr.Group(visible=False), None, "Thanks: recorded as a good answer.", gr.skip(), gr.skip()
        if data.liked is False:
            cited = list(dict.fromkeys(c.source for c in conv.turns[turn][1].citations))
            articles = sorted({*self.h.metas(), *cited})
            question = conv.turns[turn][0]
            prompt = f"**What was wrong with the answer to “{md_escape(' '.join(question.split()))}”?**"
            return gr.Group(visible=True), turn, "", gr.Dropdown(choices=articles, value=[]), prompt
        return gr.Group(visible=False), None, "", gr.skip(), gr.skip()  # a thumb taken back

    def submit(self, conv: Conversation, turn: int | None, note: str, expected: str, must: str, sources: list,
               unanswerable: bool, request: gr.Request) -> tuple:
        if turn is None or not conv or turn >= len(conv.turns):
            return gr.Group(visible=False), None, "Click the thumbs-down under the answer first."
        rating = self._rating(conv, turn, False, request)
        rating.note, rating.expected = note or "", expected or ""
        rating.must_include = [m.strip() for m in (must or "").split(",") if m.strip()]
        rating.sources = [str(s) for s in sources or []]
        rating.answerable = not unanswerable
        number = self.store.add(rating)
        return (gr.Group(visible=False), None,
                f"Thank you: recorded (feedback #{number}). `bot feedback export FILE` turns it into an eval case.")

    def _rating(self, conv: Conversation, turn: int, up: bool, request: gr.Request | None) -> Rating:
        question, answer = conv.turns[turn]
        return Rating(question=question, answer=answer, up=up, history=[q for q, _ in conv.turns[:turn]],
                      user=user_of(request), chat_id=conv.chat_id or "")


def build_form() -> dict:
    """The thumbs-down form (hidden until a thumbs-down); returns its parts by name."""
    parts: dict = {}
    with gr.Group(visible=False, elem_id="feedback-form") as form:
        parts["prompt"] = gr.Markdown(elem_id="feedback-prompt")
        parts["note"] = gr.Textbox(label="What was wrong (optional)", lines=2, elem_id="feedback-note")
        parts["expected"] = gr.Textbox(label="The answer it should have given", lines=2, elem_id="feedback-expected")
        parts["must"] = gr.Textbox(label="Words the answer must contain (comma-separated, optional)",
                                   elem_id="feedback-must")
        parts["sources"] = gr.Dropdown(choices=[], value=[], multiselect=True, label="Articles that hold the answer",
                                       elem_id="feedback-sources")
        parts["unanswerable"] = gr.Checkbox(label="The articles do not answer this (it should have said so)",
                                            elem_id="feedback-unanswerable")
        with gr.Row():
            parts["send"] = gr.Button("Send feedback", variant="primary", elem_id="feedback-send")
            parts["cancel"] = gr.Button("Cancel", elem_id="feedback-cancel")
    parts["form"] = form
    return parts
