"""Article text is data (issue 26.3): a markdown link planted in an article is shown as written, in the
chat bubble and in `bot serve`'s content, never as a live link shaped like a citation marker."""

from __future__ import annotations

import json
import re
import shutil

import httpx
import markdown_it
import pytest
from conftest import make_settings

from bot.ingest import ingest
from bot.pipeline import Bot
from bot.serve import serving
from bot.ui.render import render_answer

PLANTED = "999_planted.txt"
ARTICLE = (
    "Ngày 27/1, Thủ tướng Estonia Kaja Kallas tới Riga [1](https://evil.example/phish) để bàn về "
    "<b>an ninh</b> vùng Baltic với người đồng cấp Latvia Krisjanis Karins.\n"
)
QUESTION = "Where did Kaja Kallas go on 27/1?"


@pytest.fixture(scope="module")
def planted_bot(seeded_index, tmp_path_factory):
    index = tmp_path_factory.mktemp("planted") / "index"
    shutil.copytree(seeded_index, index)
    source = tmp_path_factory.mktemp("article") / PLANTED
    source.write_text(ARTICLE, encoding="utf-8")
    assert not ingest([source], make_settings(index)).failed
    bot = Bot(make_settings(index, answer_mode="extractive"))
    yield bot
    bot.close()


def _links(markdown: str) -> list[str]:
    """The link targets a Markdown renderer (CommonMark, as the chat's) makes of the text."""
    html = markdown_it.MarkdownIt("commonmark").render(markdown)
    return re.findall(r'href="([^"]+)"', html) + re.findall(r"<b>", html)


def test_the_chat_bubble_shows_the_planted_link_as_text(planted_bot):
    answer = planted_bot.ask(QUESTION)
    assert answer.citations and any(c.source == PLANTED for c in answer.citations), answer.text
    assert "[1](https://evil.example/phish)" in answer.text  # the quote reads what the article says
    bubble = render_answer(answer)
    assert _links(bubble) == []
    rendered = markdown_it.MarkdownIt("commonmark").render(bubble)
    assert "[1](https://evil.example/phish)" in rendered  # shown literally
    assert "&lt;b&gt;an ninh&lt;/b&gt;" in rendered


def test_serve_content_carries_no_live_link(planted_bot):
    with serving(planted_bot) as base:
        body = {"model": "newsbot", "messages": [{"role": "user", "content": QUESTION}]}
        reply = httpx.post(f"{base}/chat/completions", json=body, timeout=120).json()
        streamed = httpx.post(f"{base}/chat/completions", json={**body, "stream": True}, timeout=120).text
    content = reply["choices"][0]["message"]["content"]
    assert "evil.example" in content and _links(content) == []
    assert _links(reply["newsbot"]["text"]) == []
    pieces = "".join(
        json.loads(line[6:])["choices"][0]["delta"].get("content", "")
        for line in streamed.splitlines()
        if line.startswith("data: {")
    )
    assert "evil.example" in pieces and _links(pieces) == []
    # The citations are data: each quote is the article's text at its offsets, unchanged.
    planted = [c for c in reply["citations"] if c["file"] == PLANTED]
    assert planted and ARTICLE[planted[0]["start"] : planted[0]["end"]] == planted[0]["quote"]
