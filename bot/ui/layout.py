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
    Three tabs: Chat (with the saved chats in the sidebar), Articles, Evaluation.
    """
    from bot.ui import articles as articles_view
    from bot.ui import evaluation
    from bot.ui.chats import ChatsHandlers
    from bot.ui.feedback import FeedbackHandlers, build_form

    settings = bot.settings
    h = ChatHandlers(bot, serial_llm)
    ch = ChatsHandlers(h)
    fb = FeedbackHandlers(h)
    ah = articles_view.ArticlesHandlers(settings, lambda: h.lexical, h.reopen)
    private = dict(api_visibility="private")
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        conv = gr.State(Conversation())
        pending = gr.State("")
        feedback_turn = gr.State(None)

        def heading() -> str:  # what can be asked about: read again on each page load (articles come and go)
            return f"<h1>{html.escape(TITLE)}</h1><p>{html.escape(corpus_line(settings))}</p>"

        header = gr.HTML(heading() + h.badge(h.modes[0]), elem_id="header")
        with gr.Tabs(elem_id="tabs"):
            with gr.Tab("Chat", id="chat-tab", elem_id="chat-tab"), gr.Row(equal_height=False):
                with gr.Column(scale=1, min_width=220, elem_id="chats"):
                    new_chat = gr.Button("+ New chat", elem_id="new-chat", size="sm")
                    chat_list = gr.Radio(choices=[], value=None, label="Saved chats", elem_id="chat-list")
                    with gr.Accordion("Rename or delete this chat", open=False, elem_id="chat-manage"):
                        new_title = gr.Textbox(show_label=False, placeholder="A new name", elem_id="chat-title")
                        with gr.Row():
                            rename = gr.Button("Rename", size="sm", elem_id="chat-rename")
                            ask_delete = gr.Button("Delete…", size="sm", variant="stop", elem_id="chat-delete")
                        with gr.Row(visible=False, elem_id="chat-delete-confirm") as delete_confirm:
                            gr.Markdown("Delete this chat for good?")
                            do_delete = gr.Button("Yes, delete", size="sm", variant="stop", elem_id="chat-delete-yes")
                            no_delete = gr.Button("Keep it", size="sm", elem_id="chat-delete-no")
                    chats_status = gr.Markdown(elem_id="chats-status")
                with gr.Column(scale=3, min_width=320):
                    chatbot = gr.Chatbot(
                        elem_id="chat",
                        label="Chat",
                        height=560,
                        examples=[{"text": q} for q in EXAMPLES],
                        placeholder="**Ask about the articles**, or try an example:",
                        latex_delimiters=[],
                        buttons=["copy"],
                        feedback_options=("Like", "Dislike"),
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
                    with gr.Row(elem_id="chat-actions"):
                        regenerate = gr.Button("↻ Regenerate", size="sm", elem_id="regenerate")
                        export = gr.Button("⤓ Export", size="sm", elem_id="export")
                    exported = gr.File(label="Export", file_count="multiple", visible=False, interactive=False,
                                       elem_id="exported")
                    form = build_form()
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
                        mode.change(lambda m: heading() + h.badge(m), [mode], [header], queue=False, **private)
                with gr.Column(scale=2, min_width=300):
                    sources = gr.HTML(SOURCES_PLACEHOLDER, elem_id="sources", container=True, padding=True)
                    translate = gr.Button(
                        "English beside the quotes (machine translation)", size="sm", elem_id="translate",
                        visible=ch.can_translate,
                    )
                    with gr.Accordion("Read a whole article", open=False, elem_id="article"):
                        article_pick = gr.Dropdown(
                            choices=[], value=None, label="Cited article", interactive=False, elem_id="article-pick"
                        )
                        article_view = gr.HTML("", elem_id="article-view")
            with gr.Tab("Articles", id="articles-tab", elem_id="articles-tab") as articles_tab:
                article_parts = articles_view.build_view(ah)
            with gr.Tab("Evaluation", id="eval-tab", elem_id="eval-tab") as eval_tab:
                report_view, report = evaluation.build(settings)

        answer_io = dict(
            fn=h.respond,
            inputs=[pending, conv, k, retriever, mode],
            outputs=[chatbot, conv, sources, article_pick, article_view, chat_list],
            show_progress="minimal",
            concurrency_id="answers",
            **private,
        )
        unlock = dict(fn=lambda: gr.Textbox(interactive=True), outputs=[question], queue=False, **private)
        take = dict(
            fn=h.take_question,
            inputs=[question, conv],
            outputs=[question, chatbot, pending],
            queue=False,
            **private,
        )
        question.submit(**take).then(**answer_io).then(**unlock)
        chatbot.example_select(_example_text, None, [question], queue=False, **private).then(
            **take
        ).then(**answer_io).then(**unlock)
        cleared = [conv, sources, article_pick, article_view, chat_list]
        chatbot.clear(h.clear, None, cleared, queue=False, **private)
        article_pick.input(h.open_article, [article_pick, conv], [article_view], **private)

        # Saved chats.
        shown = [chatbot, conv, sources, article_pick, article_view]
        chat_list.input(ch.open, [chat_list], [*shown, chat_list, chats_status], **private)
        new_chat.click(ch.new, None, [*cleared, chatbot, chats_status], queue=False, **private)
        rename.click(ch.rename, [chat_list, new_title], [chat_list, chats_status], **private)
        ask_delete.click(ch.ask_delete, [chat_list], [delete_confirm, chats_status], queue=False, **private)
        no_delete.click(lambda: gr.Row(visible=False), None, [delete_confirm], queue=False, **private)
        do_delete.click(ch.delete, [chat_list, conv], [delete_confirm, chat_list, *shown, chats_status], **private)
        regen_io = dict(fn=ch.regenerate, inputs=[conv, k, retriever, mode], outputs=[*shown, chat_list, chats_status],
                        concurrency_id="answers", show_progress="minimal", **private)
        regenerate.click(**regen_io)
        chatbot.retry(**regen_io)
        export.click(ch.export, [conv], [exported, chats_status], **private)
        translate.click(ch.translate, [conv], [sources, conv, chats_status], **private)

        # Feedback: a thumb under an answer; a thumbs-down opens the form.
        chatbot.like(fb.rated, [conv], [form["form"], feedback_turn, chats_status, form["sources"], form["prompt"]],
                     **private)
        form["send"].click(
            fb.submit,
            [conv, feedback_turn, form["note"], form["expected"], form["must"], form["sources"], form["unanswerable"]],
            [form["form"], feedback_turn, chats_status],
            **private,
        )
        form["cancel"].click(lambda: (gr.Group(visible=False), None), None, [form["form"], feedback_turn],
                             queue=False, **private)

        # The Articles and Evaluation tabs show what is there when opened.
        articles_view.wire(ah, article_parts)
        articles_tab.select(ah.view, None, [article_parts["list"], article_parts["pick"]], **private)
        eval_tab.select(report, None, [report_view], queue=False, **private)
        app.load(lambda m: heading() + h.badge(m), [mode], [header], queue=False, **private)
        app.load(ch.listing, [conv], [chat_list], **private)
        app.load(ah.view, None, [article_parts["list"], article_parts["pick"]], **private)
        app.load(report, None, [report_view], queue=False, **private)

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
