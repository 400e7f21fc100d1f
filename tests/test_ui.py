"""The chat UI as a person uses it (Debian's Chromium through Playwright), its /chat API
(gradio_client), and where it agrees to listen.

The apps run in-process on free loopback ports over the seeded index: one
extractive, one whose LLM is tests/fake_openai.py (a real HTTP server speaking
the OpenAI protocol), so streaming, follow-ups and a failing model are shown
without model weights. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from conftest import GENEVA_FILES, SEEDS, free_port, make_settings
from fake_openai import FakeOpenAI

from bot.answer import Citation
from bot.load import read_source
from bot.pipeline import Bot
from bot.prompts import message
from bot.ui import FONTS, build_app, check_bind, is_loopback, launch, render_article, serve

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GENEVA = "who met in Geneva on 21/1"
GENEVA_VI = "Ai gặp nhau ở Geneva ngày 21/1?"  # one of the UI's example questions
STOLTENBERG = "What did NATO Secretary General Jens Stoltenberg concede after the NATO-Russia Council meeting?"
STOLTENBERG_FILE = "004_bb64801ae19f6d5c.txt"
OFF_TOPIC = "Who won the 2018 World Cup?"
LLM_ANSWER = "Sergei Lavrov and Antony Blinken met in Geneva on 21/1 [1]."
ANSWER_WAIT_MS = 60_000


class RecordingBot:
    """The real Bot, noting what the UI asks it: question, history and options per call."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self.calls: list[dict] = []
        self._lock = threading.Lock()

    @property
    def settings(self):
        return self._bot.settings

    @property
    def answerer_label(self) -> str:
        return self._bot.answerer_label

    def refresh(self) -> bool:
        return self._bot.refresh()

    def stream(self, question, history=None, **options):
        with self._lock:
            self.calls.append({"question": question, "history": [tuple(p) for p in history or []], **options})
        yield from self._bot.stream(question, history, **options)


@contextlib.contextmanager
def outside_connections():
    """Every socket connection this process opens to a non-loopback address, while inside."""
    seen: list[str] = []
    original = socket.socket.connect

    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(host):
            seen.append(host)
        return original(self, address)

    socket.socket.connect = connect
    try:
        yield seen
    finally:
        socket.socket.connect = original


def start(bot) -> SimpleNamespace:
    """Build and launch the app on a free loopback port."""
    port = free_port()
    app = build_app(bot)
    launch(app, host="127.0.0.1", port=port, block=False)
    return SimpleNamespace(app=app, url=f"http://127.0.0.1:{port}/", bot=bot)


def client(url: str, **kwargs):
    from gradio_client import Client

    # analytics_enabled must be passed: the client ignores GRADIO_ANALYTICS_ENABLED=False otherwise.
    return Client(url, verbose=False, analytics_enabled=False, download_files=False, **kwargs)


@pytest.fixture(scope="module")
def extractive(shared_bot):
    # Watched from start-up to shutdown, through every test of this module that uses it.
    with outside_connections() as seen:
        served = start(RecordingBot(shared_bot))
        served.outside = seen
        yield served
        served.app.close()


@pytest.fixture(scope="module")
def llm(seeded_index, shared_bot):
    with FakeOpenAI() as fake:
        settings = make_settings(
            seeded_index,
            openai_base_url=fake.base_url,
            openai_api_key="sk-test-ui",
            answer_mode="llm",
            llm_timeout_s=5.0,
            llm_max_retries=0,
            max_tokens=64,
        )
        bot = Bot(settings, retriever=shared_bot.retriever)
        with outside_connections() as seen:
            served = start(RecordingBot(bot))
            served.fake, served.outside = fake, seen
            yield served
            served.app.close()
        bot.close()


def open_page(browser, url: str, **context):
    """A fresh tab on the app; page.outside lists any request the page sent off this machine."""
    ctx = browser.new_context(**context)
    page = ctx.new_page()
    page.outside = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(("http://127.0.0.1", "data:", "blob:")) else page.outside.append(r.url),
    )
    page.goto(url, wait_until="load")
    page.locator("#question textarea").wait_for()
    return page


@pytest.fixture
def desktop(browser, extractive):
    page = open_page(browser, extractive.url, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


def bot_messages(page) -> list[str]:
    return page.locator('#chat [data-testid="bot"]').all_inner_texts()


def user_messages(page) -> list[str]:
    return page.locator('#chat [data-testid="user"]').all_inner_texts()


def wait_for_answer(page, before: int) -> str:
    """The newest bot message, once it is complete (the question box unlocks when it is)."""
    page.wait_for_function(
        """n => document.querySelectorAll('#chat [data-testid="bot"]').length > n
               && !document.querySelector('#question textarea').disabled""",
        arg=before,
        timeout=ANSWER_WAIT_MS,
    )
    return bot_messages(page)[-1]


def ask(page, question: str) -> str:
    before = len(bot_messages(page))
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    return wait_for_answer(page, before)


def set_slider(page, within: str, value: int) -> None:
    """Type a value into a slider's number box, as a person would.

    Right after its accordion opens the slider may still take its initial
    value (a race no person's typing can win), so the value is typed again
    until it holds.
    """
    box = page.locator(f"{within} input[type=number]")
    for _ in range(5):
        box.fill(str(value))
        box.press("Tab")
        page.wait_for_timeout(300)
        if page.locator(f"{within} input[type=range]").input_value() == str(value):
            return
    pytest.fail(f"the slider in {within} did not take {value}")


def rendering_fonts(page, selector: str) -> list[dict]:
    """The fonts Chromium actually drew the first `selector` match with (DevTools protocol)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    return cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]


def assert_no_error_shown(page) -> None:
    toasts = page.locator(".toast-body").all_inner_texts()
    assert not any("error" in t.lower() for t in toasts), toasts
    assert page.outside == [], f"the page reached outside this machine: {page.outside}"


# -- the browser -------------------------------------------------------------------------


@pytest.mark.browser
def test_geneva_answer_with_its_sources_then_a_follow_up(desktop, extractive):
    page = desktop
    assert "Answering with: extractive" in page.locator("#header").inner_text()

    answer = ask(page, GENEVA)
    assert "Lavrov" in answer and "Blinken" in answer
    assert "[1]" in answer and "Answered by: extractive" in answer
    sources = page.locator("#sources")
    panel = sources.inner_text()
    assert any(name in panel for name in GENEVA_FILES)
    marked = sources.locator("mark").all_inner_texts()
    # Each highlighted passage is a quote the answer gives, shown inside its article.
    assert marked and any("Lavrov" in m for m in marked)
    assert all(m.strip() in answer for m in marked)
    assert len(panel) > sum(len(m) for m in marked)  # the surrounding text is there too
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)

    follow = ask(page, STOLTENBERG)
    assert "Stoltenberg" in follow
    assert user_messages(page) == [GENEVA, STOLTENBERG]
    first, second = bot_messages(page)
    assert "Lavrov" in first and "Stoltenberg" in second
    assert STOLTENBERG_FILE in sources.inner_text()  # the panel follows the latest answer
    # The second question went to the bot with the first exchange as its history.
    last = extractive.bot.calls[-1]
    assert last["question"] == STOLTENBERG
    assert [q for q, _ in last["history"]] == [GENEVA] and "Lavrov" in last["history"][0][1]
    assert_no_error_shown(page)


@pytest.mark.browser
def test_the_whole_article_opens_with_the_quote_marked(desktop):
    page = desktop
    # Its answer quotes two articles (the Geneva meeting of 21/1: 002, and TASS's account in 000),
    # typed without diacritics or capitals.
    ask(page, "ai gap nhau o geneva ngay 21/1?")
    page.locator("#article").get_by_text("Read a whole article").click()
    picked = page.locator("#article-pick input").input_value()
    assert picked in GENEVA_FILES
    view = page.locator("#article-view")
    article = read_source([SEEDS], picked)
    last_paragraph = [line for line in article.splitlines() if line.strip()][-1].strip()
    view.get_by_text(last_paragraph[:60]).wait_for()
    assert view.locator("mark").count() >= 1

    other = sorted(GENEVA_FILES - {picked})[0]
    page.locator("#article-pick input").click()
    page.get_by_role("option", name=other).click()
    other_text = read_source([SEEDS], other)
    view.get_by_text([line for line in other_text.splitlines() if line.strip()][-1].strip()[:60]).wait_for()
    assert_no_error_shown(page)


@pytest.mark.browser
def test_off_topic_gets_the_refusal_and_an_empty_question_the_hint_and_clear_starts_over(desktop, extractive):
    page = desktop
    refusal = ask(page, OFF_TOPIC)
    assert refusal.startswith(message("refusal", "en"))
    assert "No sources" in page.locator("#sources").inner_text()
    hint = ask(page, "   ")
    assert hint == message("empty_question", "en")
    assert user_messages(page) == [OFF_TOPIC]  # an empty question is not a turn

    page.locator("#chat").get_by_role("button", name="Clear").click()
    page.get_by_role("button", name=GENEVA_VI).wait_for()  # the examples are back
    assert "Lavrov" in ask(page, GENEVA)
    assert user_messages(page) == [GENEVA]
    assert extractive.bot.calls[-1]["history"] == []
    assert_no_error_shown(page)


@pytest.mark.browser
def test_markup_in_a_question_is_shown_as_typed_never_run(desktop):
    page = desktop
    typed = '<img src=x onerror="window.pwned=1"> **who** met in Geneva on 21/1 [1](javascript:alert(1))'
    ask(page, typed)
    assert user_messages(page) == [typed]
    assert page.locator("#chat img, #chat a[href^=javascript]").count() == 0
    assert page.evaluate("window.pwned") is None
    assert_no_error_shown(page)


def test_the_article_viewer_opens_only_indexed_files(extractive):
    settings = extractive.bot.settings
    for name in ["../../../etc/passwd", "/etc/passwd", ".env", "nope.txt"]:
        shown = render_article(settings, name, [])
        assert "not among the indexed articles" in shown and "root:" not in shown
    quote = Citation(1, "002_5e381044bb73209e.txt", "Ngày 21/1", 0, 0)
    assert "<mark>Ngày 21/1</mark>" in render_article(settings, quote.source, [quote])  # found though offsets moved


@pytest.mark.browser
def test_vietnamese_example_on_a_phone_sized_window(browser, extractive):
    page = open_page(browser, extractive.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page.get_by_role("button", name=GENEVA_VI).click()
        answer = wait_for_answer(page, 0)
        # The short answer first, then the quote it comes from.
        assert answer.startswith("Sergei Lavrov") and message("lead_in", "vi") in answer and "Lavrov" in answer
        assert "Ngoại trưởng" in answer  # diacritics arrive intact
        assert user_messages(page) == [GENEVA_VI]
        # Each Vietnamese text is drawn by one installed font of ours that has all its letters
        # (no per-letter fallback, no web font), and nothing runs off the screen sideways.
        for selector in ['#chat [data-testid="bot"] .md p', "#sources .passage", "#header h1"]:
            fonts = rendering_fonts(page, selector)
            assert len({f["familyName"] for f in fonts}) == 1, (selector, fonts)
            assert fonts[0]["familyName"] in FONTS and not fonts[0]["isCustomFont"], (selector, fonts)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert any(name in page.locator("#sources").inner_text() for name in GENEVA_FILES)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "ui-mobile.png"), full_page=True)
        assert_no_error_shown(page)
    finally:
        page.context.close()


@pytest.mark.browser
def test_llm_failure_shows_the_notice_and_the_fallback_and_settings_apply(browser, llm):
    page = open_page(browser, llm.url, viewport={"width": 1280, "height": 900})
    try:
        assert "Answering with: OpenAI-compatible server" in page.locator("#header").inner_text()
        llm.fake.script(500)
        answer = ask(page, GENEVA)
        assert "Lavrov" in answer
        assert "⚠️" in answer and "The language model failed" in answer and "server error (500)" in answer
        assert "Answered by: extractive (fallback from OpenAI-compatible server" in answer
        assert_no_error_shown(page)

        # Settings: top-k, retriever and answer mode go to the bot as asked.
        page.locator("#settings").get_by_text("Settings").click()
        set_slider(page, "#settings", 3)
        page.locator("#settings").get_by_text("bm25", exact=True).click()
        page.locator("#settings").get_by_text("extractive", exact=True).click()
        llm.fake.script("ok", answer=LLM_ANSWER)
        answer = ask(page, STOLTENBERG)
        assert "Stoltenberg" in answer and "Answered by: extractive" in answer
        call = llm.bot.calls[-1]
        assert (call["k"], call["retriever"], call["use_llm"]) == (3, "bm25", False)
        assert llm.fake.chat_requests() == []  # the model was not asked
        assert_no_error_shown(page)
    finally:
        page.context.close()


# -- the API ------------------------------------------------------------------------------


def test_chat_api_answers_and_keeps_each_sessions_history(extractive):
    first = client(extractive.url)
    text = first.predict(GENEVA, api_name="/chat")
    assert "Lavrov" in text and any(name in text for name in GENEVA_FILES)
    assert text.rstrip().endswith("— answered by: extractive")
    follow = first.predict(STOLTENBERG, api_name="/chat")
    assert "Stoltenberg" in follow and STOLTENBERG_FILE in follow
    call = extractive.bot.calls[-1]
    assert call["question"] == STOLTENBERG and [q for q, _ in call["history"]] == [GENEVA]

    other = client(extractive.url)  # a new session starts without history
    other.predict(OFF_TOPIC, api_name="/chat")
    assert extractive.bot.calls[-1]["history"] == []


def test_chat_api_streams_llm_tokens_and_follow_ups_use_the_conversation(llm):
    llm.fake.script("ok", answer=LLM_ANSWER)
    session = client(llm.url)
    job = session.submit(GENEVA, api_name="/chat")
    final = job.result(timeout=60)
    assert final.startswith(LLM_ANSWER) and "answered by: OpenAI-compatible server" in final
    partials = job.outputs()[:-1]
    assert len(partials) >= 3  # the answer arrived piece by piece
    assert all(LLM_ANSWER.startswith(p) for p in partials)

    # "What did he say after that?" leans on the conversation: its names are carried into the question.
    llm.fake.script("ok", answer=LLM_ANSWER)
    session.predict("What did he say after that?", api_name="/chat")
    asked = llm.fake.chat_requests()[0]["body"]["messages"][-1]["content"]
    assert "Geneva" in asked and "21/1" in asked
    assert llm.bot.calls[-1]["history"][0][0] == GENEVA


def test_a_local_style_llm_generates_one_answer_at_a_time(seeded_index, shared_bot):
    """Two people asking at once: the second generation starts only after the first ends."""
    with FakeOpenAI() as fake:
        settings = make_settings(
            seeded_index, openai_base_url=fake.base_url, answer_mode="llm", llm_timeout_s=10.0, llm_max_retries=0
        )
        bot = Bot(settings, retriever=shared_bot.retriever)
        port = free_port()
        app = build_app(bot, serial_llm=True)  # what a local model (BOT_LOCAL_MODEL) gets by default
        launch(app, host="127.0.0.1", port=port, block=False)
        try:
            fake.script("slow", answer=LLM_ANSWER, delay=1.5)
            url = f"http://127.0.0.1:{port}/"
            with ThreadPoolExecutor(max_workers=2) as pool:
                jobs = [pool.submit(lambda: client(url).predict(GENEVA, api_name="/chat")) for _ in range(2)]
                answers = [job.result(timeout=60) for job in jobs]
            assert all(a.startswith(LLM_ANSWER) for a in answers)
            first, second = sorted(r["at"] for r in fake.chat_requests())
            assert second - first >= 1.4  # a lower bound: never flaky
        finally:
            app.close()
            bot.close()


def test_the_apps_reach_nothing_outside_this_machine(extractive, llm):
    """Start-up, the page loads and answers above, and the API clients: loopback only."""
    assert extractive.bot.calls and llm.bot.calls  # the apps were used before this check
    assert extractive.outside == [] and llm.outside == []


# -- where it listens ----------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.org"])
def test_other_hosts_than_loopback_need_a_password(host, tmp_path, monkeypatch):
    monkeypatch.delenv("BOT_UI_AUTH", raising=False)
    # No index here: the refusal comes before anything is loaded or bound.
    settings = make_settings(tmp_path / "no-index")
    with pytest.raises(ValueError, match="BOT_UI_AUTH=user:password"):
        serve(host=host, settings=settings)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_no_password(host):
    assert check_bind(host, None) is None


@pytest.mark.parametrize("auth", ["reader", "reader:", ":secret"])
def test_a_malformed_password_setting_is_refused(auth):
    with pytest.raises(ValueError, match="user:password"):
        check_bind("0.0.0.0", auth)


def test_with_a_password_set_the_app_asks_for_it(seeded_index, shared_bot):
    settings = make_settings(seeded_index, ui_auth="reader:s3cret-pass")
    port = free_port()
    app = serve(host="127.0.0.1", port=port, settings=settings, bot=shared_bot, block=False)
    url = f"http://127.0.0.1:{port}/"
    try:
        assert httpx.get(url + "config").status_code == 401
        with pytest.raises(Exception):  # noqa: B017 (gradio_client raises a plain ValueError or httpx error)
            client(url).predict(GENEVA, api_name="/chat")
        assert "Lavrov" in client(url, auth=("reader", "s3cret-pass")).predict(GENEVA, api_name="/chat")
    finally:
        app.close()
