"""The chat's Blocks: which components there are, where they sit, and which handler each event calls.

Only wiring: what an event does is in bot.ui.handlers, what it shows in bot.ui.render.
"""

from __future__ import annotations

import html

from bot.pipeline import Bot
from bot.settings import RETRIEVERS
from bot.ui.handlers import MAX_K, ChatHandlers, Conversation
from bot.ui.render import SOURCES_PLACEHOLDER, corpus_line

# isort: off
# After bot.settings (through the imports above), which sets the no-telemetry environment defaults gradio's
# dependencies read on import.
import gradio as gr
# isort: on

TITLE = "Hỏi đáp tin tức · News Q&A"
EXAMPLES = [
    "Who met in Geneva on 21/1?",
    "Ai gặp nhau ở Geneva ngày 21/1?",
    "Where will the S-400 units be sent by rail?",
    "Tàu sân bay nào của Mỹ tham gia tập trận Neptune Strike?",
]


def _example_text(evt: gr.SelectData) -> str:
    return evt.value["text"]


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
