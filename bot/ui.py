"""The Gradio chat: ask, read the cited passages in their articles, follow up.

One `Bot` (index, embedder, LLM) is opened per process and shared by every
session; each browser tab keeps its own conversation in a `gr.State`. The
browser and the `/chat` API endpoint go through the same answering code: the
chat shows Markdown with [n] markers and a sources panel, the API returns the
plain text the CLI prints.

Nothing here reaches the network: analytics are off, there is no share link,
no server-side rendering and no MCP server, and the theme uses the fonts
installed on the reader's machine (no web fonts).
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer import Answer, Citation, Status
from bot.cli import format_answer
from bot.index_dir import articles_dir
from bot.load import read_source
from bot.pipeline import Bot, History, Result
from bot.settings import REPO_ROOT, Settings, get_settings

# isort: off
# After bot.settings, which sets the no-telemetry environment defaults gradio's dependencies read on import.
import gradio as gr
# isort: on

log = logging.getLogger(__name__)

TITLE = "Hỏi đáp tin tức · News Q&A"
EXAMPLES = [
    "Who met in Geneva on 21/1?",
    "Ai gặp nhau ở Geneva ngày 21/1?",
    "Where will the S-400 units be sent by rail?",
    "Tàu sân bay nào của Mỹ tham gia tập trận Neptune Strike?",
]
RETRIEVERS = ("hybrid", "dense", "bm25")
LLM_MODE = "LLM"
EXTRACTIVE_MODE = "extractive"
MAX_K = 10
CONTEXT_CHARS = 150  # shown on each side of a cited passage (~300 in all)
LOOPBACK_NAMES = {"localhost"}

# Fonts the reader already has, all with Vietnamese diacritics; web fonts would
# be fetched from the internet, which this app never does. DejaVu Sans comes
# before Arial because Linux aliases Arial to Liberation Sans, which lacks some
# Vietnamese letters (the browser would then mix two fonts in one word).
FONTS = ["Noto Sans", "Segoe UI", "Roboto", "Helvetica Neue", "DejaVu Sans", "Arial", "sans-serif"]
MONO_FONTS = ["Noto Sans Mono", "DejaVu Sans Mono", "Consolas", "monospace"]

CSS = """
.gradio-container { max-width: 1280px !important; margin: 0 auto !important; }
#header h1 { font-size: 1.6rem; margin: 0.2rem 0 0.3rem; }
#header p { margin: 0.15rem 0; color: var(--body-text-color-subdued); }
#header .answerer { display: inline-block; margin-top: 0.3rem; padding: 0.1rem 0.6rem; border-radius: 999px;
  background: var(--color-accent-soft); color: var(--body-text-color); font-size: 0.85rem; }
#sources .placeholder { color: var(--body-text-color-subdued); font-size: 0.95rem; }
#sources h3 { font-size: 1.05rem; margin: 0 0 0.5rem; }
#sources .source { margin: 0 0 0.9rem; }
#sources .source-head { font-size: 0.9rem; display: flex; flex-wrap: wrap; gap: 0.4rem; align-items: baseline; }
#sources .marker { font-weight: 700; color: var(--color-accent); }
#sources .file { font-family: var(--font-mono); font-size: 0.85rem; word-break: break-all; }
#sources .title { color: var(--body-text-color-subdued); }
#sources .passage { margin: 0.3rem 0 0; padding: 0.4rem 0.7rem; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 0 6px 6px 0; line-height: 1.55; font-size: 0.95rem; }
mark { background: #fde68a; color: #1f2937; padding: 0 0.15rem; border-radius: 3px; }
#article .article { max-height: 420px; overflow-y: auto; line-height: 1.6; padding-right: 0.4rem; }
#article .article h4 { margin: 0 0 0.5rem; }
#article .article p { margin: 0 0 0.6rem; }
#chat .bot .md p:last-child:not(:first-child) { font-size: 0.82em; color: var(--body-text-color-subdued);
  margin-top: 0.6rem; }
@media (max-width: 640px) {
  #header h1 { font-size: 1.25rem; }
  #chat { height: 460px !important; }
}
"""


@dataclass
class Conversation:
    """One session's conversation: what the chat shows and what the bot is given."""

    messages: list[dict] = field(default_factory=list)  # Chatbot messages {"role", "content"}
    pairs: History = field(default_factory=list)  # (question, answer text) for follow-ups
    citations: list[Citation] = field(default_factory=list)  # the latest answer's


# -- binding -----------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: str | None) -> tuple[str, str] | None:
    """The (user, password) to require, or None; ValueError when the host may not be served."""
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not (sep and user and password):
            raise ValueError("BOT_UI_AUTH must look like user:password (both parts non-empty).")
        credentials = (user, password)
    if credentials is None and not is_loopback(host):
        raise ValueError(
            f"Refusing to serve the UI on {host} without a password: anyone who can reach this machine could use it. "
            "Set BOT_UI_AUTH=user:password, or serve on 127.0.0.1 (the default)."
        )
    return credentials


# -- rendering (everything from articles, users or models is escaped) ----------------

_MARKER = re.compile(r"\[(\d+)\]")
# Only what Markdown would act on is escaped: the chat also reads each message
# out (its aria-label is the raw text), so needless backslashes would be heard.
_MD_ALWAYS = re.compile(r"([\\`*\[\]~])")
_MD_CONTEXTUAL = re.compile(
    r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])"  # emphasis underscores, not snake_case file names
    r"|<(?=[A-Za-z/!?])"  # the start of an HTML tag
    r"|&(?=#?\w+;)"  # an HTML entity
)
_MD_LINE_START = re.compile(r"^([ \t]*)(?:([#>+\-=])|(\d+)([.)]))", re.M)  # headings, quotes, lists


def _md_escape(text: str) -> str:
    """Text shown literally by the chat's Markdown renderer."""
    text = _MD_ALWAYS.sub(r"\\\1", text)
    text = _MD_CONTEXTUAL.sub(lambda m: "\\" + m.group(0), text)
    return _MD_LINE_START.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), text
    )


def _md_with_markers(text: str) -> str:
    """Escaped text that keeps its [n] citation markers."""
    parts = _MARKER.split(text)
    return "".join(f"[{part}]" if i % 2 else _md_escape(part) for i, part in enumerate(parts))


def render_answer(answer: Answer) -> str:
    """The chat bubble: the answer with markers, any notice, then its files and who answered.

    The last paragraph (sources, answerer) is set in small type by CSS.
    """
    text = answer.text.strip()
    short = getattr(answer, "short", "")
    first, _, rest = text.partition("\n")
    if short and rest and first.startswith(short):
        # The short answer (bot.short) in bold on its own line, the quotes that prove it below.
        paragraphs = [f"**{_md_with_markers(first)}**", _md_with_markers(rest.strip())]
    elif short:
        paragraphs = [f"**{_md_escape(short)}**", _md_with_markers(text)]
    else:
        paragraphs = [_md_with_markers(text)]
    if answer.notice and answer.notice != answer.text:
        paragraphs.append(f"⚠️ {_md_escape(answer.notice)}")
    if answer.mode != "hint":
        meta = []
        if answer.citations:
            meta.append("Sources: " + " · ".join(f"[{c.n}] {_md_escape(c.source)}" for c in answer.citations))
        meta.append(f"Answered by: {_md_escape(answer.answerer)}")
        paragraphs.append("  \n".join(meta))
    return "\n\n".join(paragraphs)


def _sources_dirs(settings: Settings) -> list[Path]:
    return [articles_dir(settings), settings.data_dir]


def _article_text(settings: Settings, source: str) -> str | None:
    # read_source only opens files of the index (a bare file name in these folders).
    return read_source(_sources_dirs(settings), source)


def _locate(text: str, citation: Citation) -> tuple[int, int] | None:
    """Where the quote is in the article; the offsets, or a search if the file changed since."""
    if text[citation.start : citation.end] == citation.quote:
        return citation.start, citation.end
    at = text.find(citation.quote)
    return (at, at + len(citation.quote)) if at >= 0 and citation.quote else None


def _context(text: str, start: int, end: int, chars: int = CONTEXT_CHARS) -> str:
    """The cited span highlighted inside about `chars` characters either side, cut at word boundaries."""
    left = max(0, start - chars)
    if left > 0:
        space = text.find(" ", left, start)
        left = space + 1 if space >= 0 else left
    right = min(len(text), end + chars)
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space >= 0 else right
    before = html.escape(text[left:start]).replace("\n", "<br>")
    after = html.escape(text[end:right]).replace("\n", "<br>")
    cited = html.escape(text[start:end])
    return f"{'…' if left > 0 else ''}{before}<mark>{cited}</mark>{after}{'…' if right < len(text) else ''}"


def _title(text: str, limit: int = 90) -> str:
    """The article's first line, shortened: some articles start with a paragraph, not a headline."""
    first = text.strip().splitlines()[0].strip() if text.strip() else ""
    return first if len(first) <= limit else first[: first.rfind(" ", 0, limit)].rstrip(",;:") + "…"


SOURCES_PLACEHOLDER = (
    '<div class="placeholder">The passages each answer quotes appear here, highlighted in their article.</div>'
)


def render_sources(settings: Settings, answer: Answer | None) -> str:
    """The sources panel for the latest answer: each cited file with its passage in context."""
    if answer is None or not answer.citations:
        if answer is not None and answer.refused:
            return '<div class="placeholder">No sources: nothing in the articles answers this.</div>'
        return SOURCES_PLACEHOLDER
    blocks = ["<h3>Sources</h3>"]
    for c in answer.citations:
        text = _article_text(settings, c.source)
        span = _locate(text, c) if text else None
        passage = _context(text, *span) if span else f"<mark>{html.escape(c.quote)}</mark>"
        title = f'<span class="title">{html.escape(_title(text))}</span>' if text else ""
        blocks.append(
            '<div class="source">'
            f'<div class="source-head"><span class="marker">[{c.n}]</span>'
            f'<span class="file">{html.escape(c.source)}</span>{title}</div>'
            f'<div class="passage">{passage}</div>'
            "</div>"
        )
    return "".join(blocks)


def render_article(settings: Settings, source: str | None, citations: Sequence[Citation]) -> str:
    """A whole indexed article, its cited spans highlighted."""
    if not source:
        return ""
    text = _article_text(settings, source)
    if text is None:
        return f'<div class="placeholder">{html.escape(source)} is not among the indexed articles.</div>'
    spans = sorted(s for c in citations if c.source == source and (s := _locate(text, c)))
    pieces, at = [], 0
    for start, end in spans:
        if start < at:  # overlapping quotes: highlight the first
            continue
        pieces += [html.escape(text[at:start]), f"<mark>{html.escape(text[start:end])}</mark>"]
        at = end
    pieces.append(html.escape(text[at:]))
    paragraphs = [p for p in "".join(pieces).split("\n") if p.strip()]
    head, body = paragraphs[0], paragraphs[1:]
    return (
        f'<div class="article"><h4>{head}</h4>'
        + "".join(f"<p>{p}</p>" for p in body)
        + f'<p class="placeholder">{html.escape(source)}</p></div>'
    )


def corpus_line(settings: Settings) -> str:
    """One line saying what can be asked about."""
    folder = articles_dir(settings)
    names = {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    seeds = REPO_ROOT / "seeds"
    shipped = {p.name for p in seeds.iterdir() if p.is_file()} if seeds.is_dir() else set()
    if names and names == shipped:
        what = f"{len(names)} Vietnamese news articles (January 2022: Russia, NATO, Ukraine)"
    else:
        what = f"{len(names)} indexed news articles" if names else "the indexed news articles"
    return f"Ask in English or Vietnamese about {what}. Every answer quotes the articles and cites them."


# -- answering ------------------------------------------------------------------------


class ChatHandlers:
    """The event functions, bound to one shared Bot."""

    def __init__(self, bot: Bot, serial_llm: bool | None = None) -> None:
        self.bot = bot
        self.settings = bot.settings
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
            mode=retriever if retriever in RETRIEVERS else None,
            use_llm=use_llm,
        )
        try:
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

    def take_question(self, question: str, conv: Conversation):
        """Show the question at once and lock the box while it is answered."""
        question = (question or "").strip()
        messages = list(conv.messages)
        if question:
            messages.append({"role": "user", "content": _md_escape(question)})
        return gr.Textbox(value="", interactive=False), messages, question

    def respond(self, question: str, conv: Conversation, k, retriever, mode):
        """Stream the answer into the chat, then show its sources (a generator: one event per update)."""
        messages = list(conv.messages)
        if question:
            messages.append({"role": "user", "content": _md_escape(question)})
        for partial, result in self._progress(question, conv.pairs, k, retriever, mode):
            if result is None:
                shown = [*messages, {"role": "assistant", "content": _md_with_markers(partial) + " ▌"}]
                yield shown, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        answer = result.answer
        messages.append({"role": "assistant", "content": render_answer(answer)})
        pairs = list(conv.pairs)
        if answer.mode != "hint":
            pairs.append((question, answer.text))
        new = Conversation(messages=messages, pairs=pairs, citations=list(answer.citations))
        files = list(dict.fromkeys(c.source for c in answer.citations))
        first = files[0] if files else None
        yield (
            messages,
            new,
            render_sources(self.settings, answer),
            gr.Dropdown(choices=files, value=first, interactive=bool(files)),
            render_article(self.settings, first, answer.citations),
        )

    def api_chat(self, question: str, conv: Conversation, k, retriever, mode):
        """The /chat endpoint: the answer as the CLI prints it; the session keeps the history."""
        conv = conv or Conversation()
        question = (question or "").strip()
        # The API streams the answer's own text only: no progress lines a client would take for it.
        for partial, result in self._progress(question, conv.pairs, k, retriever, mode, show_status=False):
            if result is None:
                yield partial, gr.skip()
        answer = result.answer
        pairs = list(conv.pairs)
        messages = list(conv.messages)
        if answer.mode != "hint":
            pairs.append((question, answer.text))
            messages.append({"role": "user", "content": _md_escape(question)})
        messages.append({"role": "assistant", "content": render_answer(answer)})
        text = answer.text if answer.mode == "hint" else format_answer(answer)
        yield text, Conversation(messages, pairs, list(answer.citations))

    def clear(self):
        """The chat's Clear button: a new conversation, with nothing cited."""
        return Conversation(), SOURCES_PLACEHOLDER, gr.Dropdown(choices=[], value=None, interactive=False), ""

    def open_article(self, source: str | None, conv: Conversation) -> str:
        return render_article(self.settings, source, conv.citations if conv else [])


def _alternatives(bot) -> dict[str, object]:
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
    choices: dict[str, object] = {}
    for server in probe(settings.probe_ports):
        for model in server.models[:8]:
            if current is not None and (current.port, current.model) == (server.port, model):
                continue
            found = server.with_model(model)
            choices[found.label()] = lambda found=found: Bot(settings, retriever=retriever, server=found)
    for name in catalogue():
        path = pulled_path(name)
        if path is None or settings.local_model == path:
            continue
        local = settings.model_copy(
            update={"local_model": path, "openai_base_url": None, "openai_api_key": None, "autodetect": False}
        )
        choices[f"local model {name} (pulled)"] = lambda local=local: Bot(local, retriever=retriever)
    return choices


def _example_text(evt: gr.SelectData) -> str:
    return evt.value["text"]


# -- the app ----------------------------------------------------------------------------


def theme() -> gr.themes.Base:
    return gr.themes.Default(primary_hue="amber", secondary_hue="slate", font=FONTS, font_mono=MONO_FONTS)


def build_app(bot: Bot, *, serial_llm: bool | None = None) -> gr.Blocks:
    """The chat UI over one opened Bot; launch it with `launch()` (or `serve()`).

    serial_llm: let one LLM answer run at a time (default: when the model is local).
    """
    settings = bot.settings
    h = ChatHandlers(bot, serial_llm)
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        conv = gr.State(Conversation())
        pending = gr.State("")
        heading = f"<h1>{html.escape(TITLE)}</h1><p>{html.escape(corpus_line(settings))}</p>"
        header = gr.HTML(heading + h.badge(h.modes[0]), elem_id="header")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(
                    elem_id="chat",
                    label="Chat",
                    height=560,
                    examples=[{"text": q} for q in EXAMPLES],
                    placeholder="**Ask about the articles**, or try an example:",
                    latex_delimiters=[],
                    buttons=["copy"],
                    feedback_options=None,
                    group_consecutive_messages=False,
                )
                question = gr.Textbox(
                    elem_id="question",
                    show_label=False,
                    placeholder="Ask a question · Đặt câu hỏi…",
                    submit_btn="Ask",
                    max_lines=4,
                    autofocus=True,
                )
                with gr.Accordion("Settings", open=False, elem_id="settings"):
                    k = gr.Slider(
                        1, MAX_K, value=min(settings.top_k, MAX_K), step=1, label="Passages to retrieve (top-k)"
                    )
                    retriever = gr.Radio(list(RETRIEVERS), value=settings.retriever, label="Retriever")
                    mode = gr.Radio(
                        h.mode_choices,
                        value=h.modes[0],
                        label="Answer with",
                        visible=len(h.modes) > 1,
                    )
                    # The header's badge names the answerer chosen here.
                    mode.change(lambda m: heading + h.badge(m), [mode], [header], api_visibility="private", queue=False)
            with gr.Column(scale=2, min_width=300):
                sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="sources", container=True, padding=True)
                with gr.Accordion("Read a whole article", open=False, elem_id="article"):
                    article_pick = gr.Dropdown(
                        choices=[], value=None, label="Cited article", interactive=False, elem_id="article-pick"
                    )
                    article_view = gr.HTML("", elem_id="article-view")

        answer_io = dict(
            fn=h.respond,
            inputs=[pending, conv, k, retriever, mode],
            outputs=[chatbot, conv, sources, article_pick, article_view],
            api_visibility="private",
            show_progress="minimal",
            concurrency_id="answers",
        )
        unlock = dict(
            fn=lambda: gr.Textbox(interactive=True), outputs=[question], api_visibility="private", queue=False
        )
        take = dict(
            fn=h.take_question,
            inputs=[question, conv],
            outputs=[question, chatbot, pending],
            api_visibility="private",
            queue=False,
        )
        question.submit(**take).then(**answer_io).then(**unlock)
        chatbot.example_select(_example_text, None, [question], api_visibility="private", queue=False).then(
            **take
        ).then(**answer_io).then(**unlock)
        chatbot.clear(h.clear, None, [conv, sources, article_pick, article_view], api_visibility="private", queue=False)
        article_pick.input(h.open_article, [article_pick, conv], [article_view], api_visibility="private")

        # The stable API: Client(url).predict(question, api_name="/chat").
        api_answer = gr.Textbox(visible=False, label="Answer")
        api_button = gr.Button(visible=False)
        api_button.click(
            h.api_chat,
            [question, conv, k, retriever, mode],
            [api_answer, conv],
            api_name="chat",
            api_description="Answer a question from the articles; the session keeps the conversation.",
            concurrency_id="answers",  # the browser's answers and the API's share one limit
        )
    # Extractive answers run in parallel up to BOT_UI_CONCURRENCY; a local LLM
    # still generates one answer at a time (ChatHandlers' lock).
    app.queue(default_concurrency_limit=settings.ui_concurrency, max_size=max(64, settings.ui_concurrency * 16))
    return app


def launch(app: gr.Blocks, *, host: str, port: int, auth: tuple[str, str] | None = None, block: bool = True) -> None:
    """Start the server; with block=False return once it listens (tests), else serve until Ctrl-C."""
    try:
        app.launch(
            server_name=host,
            server_port=port,
            auth=auth,
            share=False,
            inbrowser=False,
            prevent_thread_lock=True,
            show_error=False,
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            enable_monitoring=False,
            theme=theme(),
            css=CSS,
            quiet=True,  # Gradio's banner suggests share links, which this app never makes
        )
    except OSError as exc:
        raise ValueError(f"Cannot serve on {host}:{port} ({exc}); choose another --port.") from None
    if block:
        print(f"Chat UI on {app.local_url} (Ctrl-C to stop)", flush=True)
        app.block_thread()


def serve(
    host: str | None = None,
    port: int | None = None,
    *,
    settings: Settings | None = None,
    bot: Bot | None = None,
    block: bool = True,
) -> gr.Blocks:
    """`bot ui`: check where to listen, open the Bot once, serve until stopped.

    Raises ValueError (with what to do) when the host needs BOT_UI_AUTH or the
    port is taken, and IndexUnavailable when there is nothing to answer from.
    """
    settings = settings or (bot.settings if bot else get_settings())
    host = host or settings.ui_host
    port = port or settings.ui_port
    auth = check_bind(host, settings.ui_auth.get_secret_value() if settings.ui_auth else None)
    own_bot = bot is None
    if own_bot:
        from bot.answer.llm import LLMError

        try:
            bot = Bot(settings)
        except LLMError as exc:
            raise ValueError(str(exc)) from None
    try:
        app = build_app(bot)
        launch(app, host=host, port=port, auth=auth, block=block)
    except BaseException:
        if own_bot:
            bot.close()
        raise
    if block and own_bot:
        bot.close()
    return app
