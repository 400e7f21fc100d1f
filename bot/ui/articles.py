"""The Articles view: every indexed article, and (unless read-only) adding and removing them.

Uploads and addresses go through bot.workspace.library, one change at a time, with
the report `bot ingest` gives; the chat keeps answering meanwhile (its own queue),
from the changed index as soon as it is reopened. With BOT_UI_AUTH set only a
logged-in user may change the articles; with BOT_UI_READONLY nobody may, and the
controls are not shown.
"""

from __future__ import annotations

import html
import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.formats import SUFFIXES
from bot.settings import Settings
from bot.workspace.catalog import Entry, entries
from bot.workspace.library import Change, Library

# isort: off
import gradio as gr
# isort: on


def human_size(chars: int) -> str:
    if chars < 1000:
        return f"{chars} characters"
    return f"{chars / 1000:.1f}k characters"


def render_list(items: list[Entry], busy: bool = False) -> str:
    """The articles as an HTML table (everything escaped: titles and names come from files and pages)."""
    if not items:
        return '<div class="placeholder">No articles yet: add some below, or run `bot ingest FOLDER`.</div>'
    rows = []
    for e in items:
        outlet = html.escape(e.meta.outlet)
        link = (
            f'<a href="{html.escape(e.meta.url, quote=True)}" target="_blank" rel="noopener noreferrer">{outlet or "link"}</a>'
            if e.meta.url.startswith(("http://", "https://")) else outlet
        )
        rows.append(
            "<tr>"
            f'<td class="a-title">{html.escape(e.title) or "<i>(untitled)</i>"}'
            f'<div class="a-file">{html.escape(e.source)}</div></td>'
            f'<td class="a-date">{html.escape(e.date) or "–"}</td>'
            f'<td class="a-outlet">{link or "–"}</td>'
            f'<td class="a-size">{html.escape(human_size(e.chars))}</td>'
            f'<td class="a-chunks">{e.chunks}</td>'
            "</tr>"
        )
    total = sum(e.chunks for e in items)
    note = '<p class="placeholder">An ingest is running…</p>' if busy else ""
    return (
        f'<p class="a-count">{len(items)} article{"s" if len(items) != 1 else ""}, {total} chunks</p>{note}'
        '<table class="articles"><thead><tr><th>Title · file</th><th>Date</th><th>Outlet</th><th>Size</th>'
        "<th>Chunks</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


class ArticlesHandlers:
    """The Articles view's events over one Library; `reopen` makes the chat answer from the changed index."""

    def __init__(self, settings: Settings, lexical: Callable[[], object | None], reopen: Callable[[], None]) -> None:
        self.settings = settings
        self._lexical = lexical
        self.library = Library(settings, self.entries, reopen)

    @property
    def readonly(self) -> bool:
        return bool(self.settings.ui_readonly)

    def entries(self) -> list[Entry]:
        lexical = self._lexical()
        return entries(lexical, self.settings) if lexical is not None else []

    def refusal(self, request: gr.Request | None) -> str:
        """Why this person may not change the articles, or ""."""
        if self.readonly:
            return "This workspace is read-only (BOT_UI_READONLY): articles cannot be added or removed here."
        if self.settings.ui_auth and not getattr(request, "username", None):
            return "Log in to add or remove articles."
        return ""

    # -- what the view shows ----------------------------------------------------------

    def view(self) -> tuple[str, gr.Dropdown]:
        items = self.entries()
        choices = [(f"{e.title or e.source} · {e.source}", e.source) for e in items]
        return render_list(items, self.library.busy), gr.Dropdown(choices=choices, value=None)

    # -- adding -----------------------------------------------------------------------

    def add_files(self, files, request: gr.Request) -> Iterator[tuple]:
        """Stream the ingest's progress into the log, then its report; the list is refreshed at the end."""
        refused = self.refusal(request)
        if refused:
            yield refused, gr.skip(), gr.skip(), None
            return
        given = [_upload(f) for f in (files or [])]
        given = [g for g in given if g is not None]
        if not given:
            yield "Nothing to add: the upload was empty.", gr.skip(), gr.skip(), None
            return
        yield from self._run(lambda progress: self.library.add_files(given, progress), len(given), lambda _: None)

    def add_url(self, url: str, request: gr.Request) -> Iterator[tuple]:
        refused = self.refusal(request)
        if refused:
            yield refused, gr.skip(), gr.skip(), gr.skip()
            return
        if not (url or "").strip():
            yield "Type or paste the address of a news page first.", gr.skip(), gr.skip(), gr.skip()
            return
        # The address stays in its box when it was not added, to be corrected.
        yield from self._run(lambda progress: self.library.add_url(url, progress), 1,
                             lambda change: "" if change is not None and change.added else gr.skip())

    def _run(self, work: Callable, total: int, cleared: Callable) -> Iterator[tuple]:
        """Run `work(progress)` on a thread, yielding (log, list, pick, input) as it goes; the input
        (the upload box, the address box) gets `cleared(change)` at the end."""
        events: queue.Queue = queue.Queue()
        result: dict = {}

        def progress(name: str, done: int, count: int) -> None:
            events.put((name, done, count))

        def run() -> None:
            try:
                result["change"] = work(progress)
            except Exception as exc:  # noqa: BLE001 - one line for the reader; nothing was half-added
                result["error"] = f"The articles could not be added ({type(exc).__name__}: {exc})."
            finally:
                events.put(None)

        waiting = "Waiting for another change of the articles to finish…" if self.library.busy else ""
        threading.Thread(target=run, name="articles-change", daemon=True).start()
        yield waiting or f"Reading {total} file{'s' if total != 1 else ''}…", gr.skip(), gr.skip(), gr.skip()
        while (event := events.get()) is not None:
            name, done, count = event
            if name and count:
                yield f"Indexing {name} ({done + 1} of {count})…", gr.skip(), gr.skip(), gr.skip()
        if "error" in result:
            yield result["error"], *self.view(), cleared(None)
            return
        change: Change = result["change"]
        yield change.text(), *self.view(), cleared(change)

    # -- removing ---------------------------------------------------------------------

    def ask_remove(self, source: str | None, request: gr.Request) -> tuple:
        """The confirmation row: what would go, before anything does."""
        refused = self.refusal(request)
        if refused:
            return refused, gr.Row(visible=False), ""
        if not source:
            return "Choose the article to remove first.", gr.Row(visible=False), ""
        entry = next((e for e in self.entries() if e.source == source), None)
        if entry is None:
            return f"{source} is not among the indexed articles.", gr.Row(visible=False), ""
        question = (
            f"Remove **{_md(entry.title or entry.source)}** ({_md(entry.source)}, {entry.chunks} chunks) "
            "from the index? Its citations will be gone from new answers."
        )
        return "", gr.Row(visible=True), question

    def remove(self, source: str | None, request: gr.Request) -> tuple:
        refused = self.refusal(request)
        if refused:
            return refused, gr.Row(visible=False), *self.view()
        if not source:
            return "Choose the article to remove first.", gr.Row(visible=False), *self.view()
        try:
            change = self.library.remove(source)
            text = change.text()
        except Exception as exc:  # noqa: BLE001
            text = f"{source} could not be removed ({type(exc).__name__}: {exc})."
        return text, gr.Row(visible=False), *self.view()


# Browsers send a file name in multipart/form-data with these three escaped (the HTML standard's
# form encoding): the name the reader's file really has is the one with them back.
_FORM_ESCAPES = {"%22": '"', "%0A": "\n", "%0D": "\r"}


def _upload(file) -> tuple[str, Path] | None:
    """(the reader's file name, where gradio put its bytes) for one uploaded file."""
    if file is None:
        return None
    path = Path(getattr(file, "name", None) or getattr(file, "path", None) or str(file))
    original = getattr(file, "orig_name", None) or path.name
    for escaped, char in _FORM_ESCAPES.items():
        original = original.replace(escaped, char).replace(escaped.lower(), char)
    return original, path


def _md(text: str) -> str:
    from bot.ui.render import md_escape

    return md_escape(" ".join(str(text).split()))


def build_view(h: ArticlesHandlers) -> dict:
    """The Articles tab's components (inside an open gr.Tab); returns them by name for wiring."""
    parts: dict = {}
    parts["list"] = gr.HTML(elem_id="articles-list")
    editable = not h.readonly
    with gr.Column(visible=editable, elem_id="articles-edit"):
        parts["upload"] = gr.File(
            label=f"Add articles: drop files here or click ({', '.join(SUFFIXES)})",
            file_count="multiple",
            file_types=list(SUFFIXES),
            elem_id="upload",
            height=140,
        )
        with gr.Row(equal_height=True):
            parts["url"] = gr.Textbox(
                show_label=False, placeholder="…or paste the address of a news page: https://…", elem_id="url", scale=4
            )
            parts["fetch"] = gr.Button("Fetch and add", elem_id="fetch", scale=1, min_width=140)
        with gr.Row(equal_height=True):
            parts["pick"] = gr.Dropdown(choices=[], value=None, label="Remove an article", elem_id="remove-pick", scale=4)
            parts["ask_remove"] = gr.Button("Remove…", variant="secondary", elem_id="remove", scale=1, min_width=140)
        with gr.Row(visible=False, elem_id="remove-confirm") as confirm:
            parts["confirm_text"] = gr.Markdown(elem_id="remove-question")
            parts["do_remove"] = gr.Button("Yes, remove it", variant="stop", elem_id="remove-yes", scale=0)
            parts["cancel_remove"] = gr.Button("Cancel", elem_id="remove-no", scale=0)
        parts["confirm"] = confirm
    if not editable:
        gr.Markdown("This workspace is read-only: articles are added with `bot ingest` by whoever runs it.")
    parts["log"] = gr.Textbox(label="Ingest report", lines=6, max_lines=20, interactive=False, elem_id="ingest-log",
                              visible=editable)
    return parts


def wire(h: ArticlesHandlers, parts: dict) -> None:
    listing, pick, log, upload = parts["list"], parts["pick"], parts["log"], parts["upload"]
    # One change of the articles at a time (the library's lock); answers have their own queue.
    change = dict(api_visibility="private", concurrency_id="articles", concurrency_limit=1)
    upload.upload(h.add_files, [upload], [log, listing, pick, upload], show_progress="minimal", **change)
    fetch_io = dict(fn=h.add_url, inputs=[parts["url"]], outputs=[log, listing, pick, parts["url"]],
                    show_progress="minimal", **change)
    parts["fetch"].click(**fetch_io)
    parts["url"].submit(**fetch_io)
    parts["ask_remove"].click(h.ask_remove, [pick], [log, parts["confirm"], parts["confirm_text"]],
                              api_visibility="private", queue=False)
    parts["cancel_remove"].click(lambda: gr.Row(visible=False), None, [parts["confirm"]], api_visibility="private",
                                 queue=False)
    parts["do_remove"].click(h.remove, [pick], [log, parts["confirm"], listing, pick], **change)
