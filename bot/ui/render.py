"""Answers, citations and articles as the chat's Markdown and the sources panel's HTML.

No gradio and no Bot here, so the escaping (everything from articles, users or
models is escaped) can be read and tested on its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence

from bot.answer import Answer, Citation
from bot.bylines import citation_notes
from bot.formats.meta import ArticleMeta
from bot.index_dir import articles_dir
from bot.load import read_copy, read_source
from bot.settings import REPO_ROOT, Settings

Metas = Mapping[str, ArticleMeta]  # what is known of each article (bot.workspace.catalog.metas)

CONTEXT_CHARS = 150  # shown on each side of a cited passage (~300 in all)
SOURCES_PLACEHOLDER = (
    '<div class="placeholder">The passages each answer quotes appear here, highlighted in their article.</div>'
)

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


def md_escape(text: str) -> str:
    """Text shown literally by the chat's Markdown renderer."""
    text = _MD_ALWAYS.sub(r"\\\1", text)
    text = _MD_CONTEXTUAL.sub(lambda m: "\\" + m.group(0), text)
    return _MD_LINE_START.sub(
        lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), text
    )


def _quoted_spans(text: str, citations: Sequence[Citation]) -> list[tuple[int, int]]:
    """Where the answer's text repeats its cited quotes: article text, shown as text whatever it holds."""
    spans = []
    for quote in {c.quote for c in citations if c.quote}:
        at = text.find(quote)
        while at >= 0:
            spans.append((at, at + len(quote)))
            at = text.find(quote, at + len(quote))
    return spans


def md_with_markers(text: str, citations: Sequence[Citation] | None = None) -> str:
    """Escaped text that keeps the bot's own [n] citation markers, and only those.

    A marker is the bot's when it stands outside the quoted article text and (once the
    citations are known) names one of them; "[1](https://…)" planted in an article is
    shown as it is written, never as a link shaped like a citation (issue 26.3).
    """
    quoted = _quoted_spans(text, citations or [])
    cited = {c.n for c in citations} if citations else None
    out, at = [], 0
    for m in _MARKER.finditer(text):
        inside = any(start <= m.start() < end for start, end in quoted)
        if inside or (cited is not None and int(m.group(1)) not in cited):
            continue
        out += [md_escape(text[at : m.start()]), m.group(0)]
        at = m.end()
        if text.startswith("(", at):  # "[1](" would make the marker a link
            out.append("\\(")
            at += 1
    out.append(md_escape(text[at:]))
    return "".join(out)


def render_answer(answer: Answer, metas: Metas | None = None) -> str:
    """The chat bubble: the answer with markers, any notice, then its files and who answered.

    The last paragraph (sources with their outlet and date, answerer) is set in small type by CSS.
    """
    text = answer.text.strip()
    short = answer.short
    cited = answer.citations
    first, _, rest = text.partition("\n")
    if short and rest and first.startswith(short):
        # The short answer (bot.short) in bold on its own line, the quotes that prove it below.
        paragraphs = [f"**{md_with_markers(first, cited)}**", md_with_markers(rest.strip(), cited)]
    elif short:
        paragraphs = [f"**{md_escape(short)}**", md_with_markers(text, cited)]
    else:
        paragraphs = [md_with_markers(text, cited)]
    if answer.notice and answer.notice != answer.text:
        paragraphs.append(f"⚠️ {md_escape(answer.notice)}")
    if answer.mode != "hint":
        meta = []
        notes = citation_notes(answer.citations, metas or {})
        if answer.citations:
            meta.append("Sources: " + " · ".join(_cited(c, notes) for c in answer.citations))
        dated = [f"[{c.n}] {md_escape(notes[c.n][1])}" for c in answer.citations if notes[c.n][1]]
        if dated:
            meta.append("Dates: " + " · ".join(dated))
        meta.append(f"Answered by: {md_escape(answer.answerer)}")
        paragraphs.append("  \n".join(meta))
    return "\n\n".join(paragraphs)


def _cited(c: Citation, notes: dict[int, tuple[str, str]]) -> str:
    byline = notes.get(c.n, ("", ""))[0]
    return f"[{c.n}] {md_escape(c.source)}" + (f" ({md_escape(byline)})" if byline else "")


def _article_text(settings: Settings, source: str) -> str | None:
    # The text ingest kept (plain, whatever the format was), else the data folder's file;
    # both only open a bare file name of the index in these folders.
    return read_copy(articles_dir(settings), source) or read_source([settings.data_dir], source)


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


def render_sources(
    settings: Settings, answer: Answer | None, metas: Metas | None = None, english: Mapping[str, str] | None = None,
    translator: str = "",
) -> str:
    """The sources panel for the latest answer: each cited file with its passage in context, its
    article's title, outlet and date; with `english` ({quote: its machine translation}) the
    translation beside each quote, labelled with `translator`."""
    if answer is None or not answer.citations:
        if answer is not None and answer.refused:
            return '<div class="placeholder">No sources: nothing in the articles answers this.</div>'
        return SOURCES_PLACEHOLDER
    blocks = ["<h3>Sources</h3>"]
    # Each cited article read once, however many of its passages are cited.
    texts = {s: _article_text(settings, s) for s in dict.fromkeys(c.source for c in answer.citations)}
    notes = citation_notes(answer.citations, metas or {})
    for c in answer.citations:
        text = texts[c.source]
        span = _locate(text, c) if text else None
        passage = _context(text, *span) if span else f"<mark>{html.escape(c.quote)}</mark>"
        meta = (metas or {}).get(c.source)
        headline = (meta.title if meta and meta.title else "") or (_title(text) if text else "")
        title = f'<span class="title">{html.escape(headline)}</span>' if headline else ""
        byline, dated = notes.get(c.n, ("", ""))
        byline_html = f'<span class="byline">{html.escape(byline)}</span>' if byline else ""
        dated_html = f'<div class="dated">{html.escape(dated)}</div>' if dated else ""
        english_html = ""
        if english and english.get(c.quote):
            english_html = (
                f'<div class="english"><span class="mt-label">English, machine-translated by {html.escape(translator)}'
                f":</span> {html.escape(english[c.quote])}</div>"
            )
        blocks.append(
            '<div class="source">'
            f'<div class="source-head"><span class="marker">[{c.n}]</span>{byline_html}'
            f'<span class="file">{html.escape(c.source)}</span>{title}</div>'
            f'<div class="passage">{passage}</div>{english_html}{dated_html}'
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
