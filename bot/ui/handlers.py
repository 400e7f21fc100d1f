"""The chat's event functions and each session's state, over one shared Bot.

The browser and the `/chat` API endpoint go through the same answering code:
the chat shows Markdown with [n] markers, the API returns the plain text the
CLI prints.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from bot.answer import Answer, Citation, Status
from bot.pipeline import Bot, History, Result
from bot.render import format_answer
from bot.settings import RETRIEVERS
from bot.ui.render import SOURCES_PLACEHOLDER, md_escape, md_with_markers, render_answer, render_article, render_sources

# isort: off
# After bot.settings (through the imports above), which sets the no-telemetry environment defaults gradio's
# dependencies read on import.
import gradio as gr
# isort: on

log = logging.getLogger(__name__)

LLM_MODE = "LLM"
EXTRACTIVE_MODE = "extractive"
MAX_K = 10


@dataclass
class Conversation:
    """One session's conversation: what the chat shows and what the bot is given."""

    messages: list[dict] = field(default_factory=list)  # Chatbot messages {"role", "content"}
    pairs: History = field(default_factory=list)  # (question, answer text) for follow-ups
    citations: list[Citation] = field(default_factory=list)  # the latest answer's
    chat_id: str | None = None  # where it is saved (bot.workspace.chats); None until its first answer
    turns: list[tuple[str, Answer]] = field(default_factory=list)  # each question and its answer (no hints)
    answer_at: dict[int, int] = field(default_factory=dict)  # chat message index -> its turn (for feedback)
    english: dict[str, str] = field(default_factory=dict)  # the latest answer's quotes, machine-translated


class ChatHandlers:
    """The event functions, bound to one shared Bot."""

    def __init__(self, bot: Bot, serial_llm: bool | None = None) -> None:
        from bot.workspace.chats import ChatStore
        from bot.workspace.db import db_path

        self.bot = bot
        self.settings = bot.settings
        self.chats = ChatStore(db_path(self.settings))
        self._metas: tuple[object, dict] = (None, {})
        self.has_llm = bot.answerer_label != "extractive"
        # A local model serves one generation at a time (two at once would each
        # get half the 2 cores and both risk the timeout); extractive answers never wait for it.
        serial = bool(self.settings.local_model) if serial_llm is None else serial_llm
        self._llm_lock = threading.Lock() if serial else None
        # Other models a person may switch to in Settings (local servers' models, pulled GGUFs),
        # each opened on first use; see `_alternatives`.
        self.alternatives = _alternatives(bot)
        self._alt_bots: dict[str, Bot] = {}
        self._alt_open = threading.Lock()
        self._alt_local = threading.Lock()

    # -- the articles behind the answers ------------------------------------------------

    @property
    def lexical(self):
        """The BM25 index the answers come from (every chunk with its article's metadata), if open."""
        return getattr(getattr(self.bot, "retriever", None), "lexical", None)

    def metas(self) -> dict:
        """{source: title, date, outlet…} of every indexed article, read once per opened index."""
        lexical = self.lexical
        if lexical is None:
            return {}
        if self._metas[0] is not lexical:
            from bot.workspace.catalog import metas

            self._metas = (lexical, metas(lexical))
        return self._metas[1]

    def reopen(self) -> None:
        """After articles were added or removed here: answer from the index as it is now.

        Questions already under way finish on the retriever they started with.
        """
        from bot.retrieve import open_retriever

        fresh = open_retriever(self.settings, embeddings=self.bot.embeddings)
        with self._alt_open:
            for bot in (self.bot, *self._alt_bots.values()):
                bot.retriever = fresh

    @property
    def modes(self) -> list[str]:
        return [*([LLM_MODE] if self.has_llm else []), *self.alternatives, EXTRACTIVE_MODE]

    @property
    def mode_choices(self) -> list[tuple[str, str]]:
        """(what the Settings radio shows, the value the handlers get)."""
        return [(f"{self.bot.answerer_label}" if m == LLM_MODE else m, m) for m in self.modes]

    def badge(self, mode: str | None) -> str:
        if mode in self.alternatives:
            label = mode
        elif mode == EXTRACTIVE_MODE or not self.has_llm:
            label = EXTRACTIVE_MODE
        else:
            label = self.bot.answerer_label
        return f'<span class="answerer">Answering with: {html.escape(label)}</span>'

    def _alt_bot(self, mode: str) -> Bot:
        with self._alt_open:
            if mode not in self._alt_bots:
                self._alt_bots[mode] = self.alternatives[mode]()
            return self._alt_bots[mode]

    def _events(self, question: str, pairs: History, k, retriever, mode) -> Iterator[str | Result]:
        target, lock = self.bot, self._llm_lock
        use_llm = self.has_llm and mode != EXTRACTIVE_MODE
        if mode in self.alternatives:
            use_llm = True
            lock = self._alt_local if mode.startswith("local model") else None
        kwargs = dict(
            k=max(1, min(MAX_K, int(k or self.settings.top_k))),
            retriever=retriever if retriever in RETRIEVERS else None,
            use_llm=use_llm,
        )
        try:
            self.bot.refresh()  # articles ingested while the UI runs are answered from (issue 26.8)
            if mode in self.alternatives:
                target = self._alt_bot(mode)
            if use_llm and lock is not None:
                with lock:
                    yield from target.stream(question, list(pairs), **kwargs)
            else:
                yield from target.stream(question, list(pairs), **kwargs)
        except Exception as exc:  # shown as a plain chat message, never Gradio's red error box
            log.exception("answering %r failed", question)
            from bot.store import is_unreachable, unreachable_message

            if is_unreachable(self.settings, exc):
                # "Please try again" would not help: say which server and what to check.
                text = unreachable_message(self.settings, exc)
            else:
                text = f"Sorry, this question could not be answered ({type(exc).__name__}). Please try again."
            yield Result(Answer(text, mode="hint", answerer="none", notice=""))

    def _progress(
        self, question: str, pairs: History, k, retriever, mode, *, show_status: bool = True
    ) -> Iterator[tuple[str, Result | None]]:
        """(the answer so far, None) per streamed piece, then (the whole text, the final Result).

        Read to the end (the Result comes last), so a generation lock is released here and now.
        """
        partial = ""
        for event in self._events(question, pairs, k, retriever, mode):
            if isinstance(event, Result):
                yield partial, event
                return
            if isinstance(event, Status):
                # Shown in the bubble until the first word arrives ("Waiting for local model …").
                if show_status:
                    yield f"_{event.text}_", None
                continue
            partial += event
            yield partial, None

    def take_question(self, question: str, conv: Conversation) -> tuple[gr.Textbox, list[dict], str]:
        """Show the question at once and lock the box while it is answered."""
        question = (question or "").strip()
        messages = list(conv.messages)
        if question:
            messages.append({"role": "user", "content": md_escape(question)})
        return gr.Textbox(value="", interactive=False), messages, question

    def respond(self, question: str, conv: Conversation, k, retriever, mode, request: gr.Request = None) -> Iterator[tuple]:
        """Stream the answer into the chat, then show its sources (a generator: one event per update);
        the answered turn is saved to the user's chat, whose entry the chat list then shows."""
        messages = list(conv.messages)
        if question:
            messages.append({"role": "user", "content": md_escape(question)})
        for partial, result in self._progress(question, conv.pairs, k, retriever, mode):
            if result is None:
                shown = [*messages, {"role": "assistant", "content": md_with_markers(partial) + " ▌"}]
                yield shown, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        answer = result.answer
        new = _next_turn(conv, question, answer, self.metas())
        chats = gr.skip()
        if answer.mode != "hint":
            try:
                new.chat_id = self.chats.add_turn(user_of(request), conv.chat_id, question, answer)
                chats = self.chat_list(request, new.chat_id)
            except Exception:  # the answer is shown all the same; saving is what failed
                log.exception("the chat could not be saved")
        yield (new.messages, new, *self.sources_view(answer), chats)

    def sources_view(self, answer: Answer | None, english: dict | None = None, translator: str = "") -> tuple:
        """The sources panel, the cited-article picker and the first cited article, for an answer."""
        metas = self.metas()
        files = list(dict.fromkeys(c.source for c in answer.citations)) if answer else []
        first = files[0] if files else None
        return (
            render_sources(self.settings, answer, metas, english, translator),
            gr.Dropdown(choices=files, value=first, interactive=bool(files)),
            render_article(self.settings, first, answer.citations if answer else []),
        )

    def chat_list(self, request: gr.Request | None, current: str | None = None) -> gr.Radio:
        """The sidebar's saved chats for this user, newest first, the open one selected."""
        chats = self.chats.list(user_of(request))
        return gr.Radio(choices=[(c.title, c.id) for c in chats], value=current if current else None)

    def api_chat(self, question: str, conv: Conversation, k, retriever, mode) -> Iterator[tuple]:
        """The /chat endpoint: the answer as the CLI prints it; the session keeps the history."""
        conv = conv or Conversation()
        question = (question or "").strip()
        # The API streams the answer's own text only: no progress lines a client would take for it.
        for partial, result in self._progress(question, conv.pairs, k, retriever, mode, show_status=False):
            if result is None:
                yield partial, gr.skip()
        answer = result.answer
        text = answer.text if answer.mode == "hint" else format_answer(answer, self.metas())
        yield text, _next_turn(conv, question, answer, self.metas())

    def clear(self) -> tuple[Conversation, str, gr.Dropdown, str, gr.Radio]:
        """The chat's Clear button (and New chat): a new conversation, with nothing cited."""
        return (Conversation(), SOURCES_PLACEHOLDER, gr.Dropdown(choices=[], value=None, interactive=False), "",
                gr.Radio(value=None))

    def open_article(self, source: str | None, conv: Conversation) -> str:
        return render_article(self.settings, source, conv.citations if conv else [])


def user_of(request: gr.Request | None) -> str:
    """Whose chats and feedback these are: the BOT_UI_AUTH login, "" without auth."""
    return str(getattr(request, "username", None) or "")


def _next_turn(conv: Conversation, question: str, answer: Answer, metas: dict | None = None) -> Conversation:
    """The conversation after this answer, the same for the chat and the /chat endpoint: the
    question and answer shown; the pair kept for follow-ups unless the answer was only a hint
    (an empty question, an error), which a follow-up has nothing to lean on."""
    messages = list(conv.messages)
    if question:
        messages.append({"role": "user", "content": md_escape(question)})
    messages.append({"role": "assistant", "content": render_answer(answer, metas)})
    hint = answer.mode == "hint"
    pairs = list(conv.pairs) if hint else [*conv.pairs, (question, answer.text)]
    turns = list(conv.turns) if hint else [*conv.turns, (question, answer)]
    answer_at = dict(conv.answer_at) if hint else {**conv.answer_at, len(messages) - 1: len(turns) - 1}
    return Conversation(messages=messages, pairs=pairs, citations=list(answer.citations), chat_id=conv.chat_id,
                        turns=turns, answer_at=answer_at)


def conversation_of(turns: list[tuple[str, Answer]], chat_id: str | None, metas: dict | None = None) -> Conversation:
    """A saved chat's turns as the conversation the chat shows and follows up on."""
    conv = Conversation(chat_id=chat_id)
    for question, answer in turns:
        conv = _next_turn(conv, question, answer, metas)
    conv.chat_id = chat_id
    return conv


def _alternatives(bot: Bot) -> dict[str, Callable[[], Bot]]:
    """{choice label: a function opening a Bot for it} for every other model at hand.

    Only with BOT_AUTODETECT on (the default) and an LLM-capable Bot: the models
    of the local OpenAI-compatible servers found (bot.autodetect) and the
    catalogue models pulled into the Hugging Face cache. They share the index
    (the Bot's retriever) and open their model only when first chosen.
    """
    settings = bot.settings
    retriever = getattr(bot, "retriever", None)
    if retriever is None or not settings.autodetect or settings.answer_mode == "extractive":
        return {}
    from bot.autodetect import probe
    from bot.models import catalogue, pulled_path

    current = getattr(bot, "detected", None)
    choices: dict[str, Callable[[], Bot]] = {}
    probed = getattr(bot, "probed", None)
    for server in probed if probed is not None else probe(settings.probe_ports):
        for model in server.models[:8]:
            if current is not None and (current.port, current.model) == (server.port, model):
                continue
            found = server.with_model(model)
            # The main Bot's retriever when opened: articles may have been added since start-up.
            choices[found.label()] = lambda found=found: Bot(settings, retriever=bot.retriever, server=found)
    for name in catalogue():
        path = pulled_path(name)
        if path is None or settings.local_model == path:
            continue
        local = settings.model_copy(
            update={"local_model": path, "openai_base_url": None, "openai_api_key": None, "autodetect": False}
        )
        choices[f"local model {name} (pulled)"] = lambda local=local: Bot(local, retriever=bot.retriever)
    return choices
