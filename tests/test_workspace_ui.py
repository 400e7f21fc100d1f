"""The reader's workspace in a real Chromium (Debian's, through Playwright): adding a saved news page
and a PDF in the browser and asking about them with dated citations, removing one, coming back to a
chat after a reload, a thumbs-down that becomes an eval case, the Evaluation tab, and bad uploads
that get one line each and lose nothing.

The app runs in-process on a free loopback port over a private copy of the seeded index (real
Chroma, the real e5 model, real ingest worker processes); `bot feedback export` and `bot eval` run
as the real commands. Screenshots go to tests/artifacts/ (the README's come from there).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import free_port, make_settings
from newsroom import HUAWEI, HUAWEI_QUESTION, SAPA, SAPA_QUESTION, login_page, news_page, print_pdf, scanned_pdf
from test_ui import ANSWER_WAIT_MS, ARTIFACTS, ask, bot_messages, open_page

from bot.pipeline import Bot
from bot.ui import build_app, launch

pytestmark = pytest.mark.browser
INGEST_WAIT_MS = 240_000  # a loaded 2-core machine embeds a new article in tens of seconds


@pytest.fixture(scope="module")
def workspace(seeded_index, tmp_path_factory, browser):
    """The app over its own copy of the seeded index, with its own uploads, chats, feedback and eval runs."""
    import shutil

    root = tmp_path_factory.mktemp("workspace")
    index = root / "index"
    shutil.copytree(seeded_index, index)
    settings = make_settings(
        index, answer_mode="extractive", ingest_workers=1, upload_dir=root / "uploads",
        workspace_db=root / "workspace.sqlite", eval_runs_dir=root / "runs",
    )
    files = root / "files"
    files.mkdir()
    (files / "huawei-band-6.html").write_text(news_page(HUAWEI), encoding="utf-8")
    print_pdf(browser, SAPA, files / "sa-pa.pdf")
    bot = Bot(settings)
    port = free_port()
    app = build_app(bot)
    launch(app, host="127.0.0.1", port=port, block=False)
    yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", settings=settings, root=root, files=files, bot=bot)
    app.close()
    bot.close()


@pytest.fixture
def page(browser, workspace):
    page = open_page(browser, workspace.url, viewport={"width": 1360, "height": 940})
    yield page
    page.context.close()


def articles_tab(page) -> None:
    page.get_by_role("tab", name="Articles").click()
    page.locator("#articles-list table, #articles-list .placeholder").first.wait_for()


def chat_tab(page) -> None:
    page.get_by_role("tab", name="Chat").click()
    page.locator("#question textarea").wait_for()


def upload(page, *files) -> str:
    """Drop files on the upload box; the ingest report once it is final."""
    before = page.locator("#ingest-log textarea").input_value()
    page.locator("#upload input[type=file]").set_input_files(list(files))
    return ingest_report(page, before)


def ingest_report(page, before: str = "") -> str:
    page.wait_for_function(
        """before => { const t = document.querySelector('#ingest-log textarea').value;
                       return t !== before && /(in the index|Nothing|cannot|skipped|removed|not among)/.test(t)
                              && !/^(Reading|Indexing|Waiting)/.test(t); }""",
        arg=before,
        timeout=INGEST_WAIT_MS,
    )
    return page.locator("#ingest-log textarea").input_value()


def listed(page) -> str:
    """The Articles list once it is not being refreshed (gradio shows 'queue: …' over it meanwhile)."""
    page.wait_for_function(
        "() => !/queue:|processing/.test(document.querySelector('#articles-list').innerText)",
        timeout=INGEST_WAIT_MS,
    )
    return page.locator("#articles-list").inner_text()


def assert_quiet(page) -> None:
    toasts = page.locator(".toast-body").all_inner_texts()
    assert not any("error" in t.lower() for t in toasts), toasts
    assert page.outside == [], f"the page reached outside this machine: {page.outside}"


# -- adding, asking, removing ------------------------------------------------------------------


def test_a_saved_news_page_and_a_pdf_are_added_and_answered_with_dated_citations(page, workspace):
    articles_tab(page)
    seeds_listed = listed(page)
    assert "5 articles" in seeds_listed
    report = upload(page, workspace.files / "huawei-band-6.html", workspace.files / "sa-pa.pdf")
    assert "added huawei-band-6.html" in report and "added sa-pa.pdf" in report, report
    assert "2 added" in report and "0 failed" in report  # bot ingest's own summary line
    shown = listed(page)
    assert "7 articles" in shown
    assert HUAWEI.title in shown and "15 Apr 2021" in shown and "Báo Dân trí" in shown
    assert SAPA.title in shown and "30 Apr 2021" in shown  # the PDF's dateline, read by htmldate
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "workspace-articles.png"), full_page=True)

    chat_tab(page)
    answer = ask(page, HUAWEI_QUESTION)
    assert "1,5 triệu đồng" in answer
    assert "huawei-band-6.html (Báo Dân trí, 15 Apr 2021)" in answer  # the bubble's sources line
    panel = page.locator("#sources").inner_text()
    assert "Báo Dân trí, 15 Apr 2021" in panel and HUAWEI.title in panel

    answer = ask(page, SAPA_QUESTION)
    assert "20 phòng" in answer and "sa-pa.pdf (30 Apr 2021)" in answer
    panel = page.locator("#sources").inner_text()
    assert "30 Apr 2021" in panel and "sa-pa.pdf" in panel
    page.screenshot(path=str(ARTIFACTS / "workspace-dated-citations.png"), full_page=True)
    assert_quiet(page)


def test_a_removed_article_is_no_longer_cited(page, workspace):
    articles_tab(page)
    if "huawei-band-6.html" not in listed(page):
        upload(page, workspace.files / "huawei-band-6.html")
    page.locator("#remove-pick input").click()
    page.get_by_role("option", name="huawei-band-6.html").first.click()
    page.locator("#remove").click()
    question = page.locator("#remove-question")
    question.get_by_text("Remove").wait_for()
    assert HUAWEI.title in question.inner_text()
    assert "huawei-band-6.html" in listed(page)  # asked first: nothing removed yet
    before = page.locator("#ingest-log textarea").input_value()
    page.locator("#remove-yes").click()
    report = ingest_report(page, before)
    assert report.startswith("removed huawei-band-6.html:") and "chunks taken out of the index" in report
    assert "huawei-band-6.html" not in listed(page)
    assert not (workspace.settings.upload_dir / "huawei-band-6.html").exists()

    chat_tab(page)
    answer = ask(page, HUAWEI_QUESTION)
    assert "huawei-band-6.html" not in answer and "1,5 triệu" not in answer
    assert "huawei-band-6.html" not in page.locator("#sources").inner_text()
    assert_quiet(page)


# -- chats ---------------------------------------------------------------------------------------


def test_a_chat_comes_back_after_a_reload_and_can_be_renamed_and_deleted(page, workspace):
    chat_tab(page)
    first = ask(page, "who met in Geneva on 21/1")
    assert "Lavrov" in first
    ask(page, "Nga điều gì tới Belarus?")
    page.reload(wait_until="load")
    page.locator("#question textarea").wait_for()
    assert bot_messages(page) == []  # a fresh page: the chat is in the sidebar, not on screen
    saved = page.locator("#chat-list").get_by_text("who met in Geneva on 21/1", exact=True)
    saved.wait_for()
    saved.click()
    page.wait_for_function("document.querySelectorAll('#chat [data-testid=\"bot\"]').length == 2",
                           timeout=ANSWER_WAIT_MS)
    reopened = bot_messages(page)
    assert "Lavrov" in reopened[0] and "Belarus" in reopened[1]
    assert "Sources" in page.locator("#sources").inner_text()  # the last answer's sources, as cited
    page.screenshot(path=str(ARTIFACTS / "workspace-chats.png"), full_page=True)

    # A follow-up in the reopened chat leans on its history, and is saved into it.
    ask(page, "What did he say after that?")
    assert len(bot_messages(page)) == 3

    page.locator("#chat-manage").get_by_text("Rename or delete this chat").click()
    page.locator("#chat-title textarea, #chat-title input").first.fill("Geneva talks")
    page.locator("#chat-rename").click()
    page.locator("#chat-list").get_by_text("Geneva talks", exact=True).wait_for()
    page.locator("#chat-delete").click()
    page.locator("#chat-delete-yes").click()
    page.locator("#chats-status").get_by_text("Chat deleted.").wait_for()
    assert page.locator("#chat-list").get_by_text("Geneva talks", exact=True).count() == 0
    assert bot_messages(page) == []
    assert_quiet(page)


def test_regenerate_and_export_as_markdown_and_json(page, workspace):
    chat_tab(page)
    ask(page, "who met in Geneva on 21/1")
    page.locator("#regenerate").click()
    page.locator("#chats-status").get_by_text("Answered again.").wait_for(timeout=ANSWER_WAIT_MS)
    assert len(bot_messages(page)) == 1 and "Lavrov" in bot_messages(page)[0]
    page.locator("#export").click()
    links = page.locator("#exported a")
    links.first.wait_for()
    files = {}
    for i in range(links.count()):
        with page.expect_download() as download:
            links.nth(i).click()
        path = download.value.path()
        files[download.value.suggested_filename] = Path(path).read_text(encoding="utf-8")
    md = next(v for k, v in files.items() if k.endswith(".md"))
    data = json.loads(next(v for k, v in files.items() if k.endswith(".json")))
    assert md.startswith("# who met in Geneva on 21/1") and "Lavrov" in md
    assert "characters " in md and ".txt`" in md  # citations with file and offsets
    turn = data["turns"][0]
    assert turn["question"] == "who met in Geneva on 21/1"
    citation = turn["answer"]["citations"][0]
    assert {"source", "quote", "start", "end"} <= set(citation)
    assert_quiet(page)


# -- feedback and the eval -------------------------------------------------------------------------


def _run(args: list[str], workspace, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_"))}
    env.update(
        BOT_INDEX_DIR=str(workspace.settings.index_dir), BOT_WORKSPACE_DB=str(workspace.settings.workspace_db),
        BOT_AUTODETECT="0", BOT_ANSWER_MODE="extractive",
    )
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=900)


def test_a_thumbs_down_becomes_an_eval_case_and_the_report_opens(page, workspace, tmp_path):
    chat_tab(page)
    question = "How many S-400 units will Russia send by rail?"
    ask(page, question)
    page.locator('#chat [data-testid="bot"]').last.hover()
    page.locator('#chat button[aria-label="Dislike"]').last.click()
    form = page.locator("#feedback-form")
    form.get_by_text("What was wrong with the answer to").wait_for()
    form.locator("#feedback-note textarea").fill("It should give the number of units.")
    form.locator("#feedback-expected textarea").fill("2 units")
    form.locator("#feedback-must textarea, #feedback-must input").first.fill("2")
    form.locator("#feedback-sources input").click()
    page.get_by_role("option", name="001_5ac6cdcd54be8f5d.txt").click()
    page.keyboard.press("Escape")
    form.locator("#feedback-send").click()
    page.locator("#chats-status").get_by_text("Thank you: recorded").wait_for()

    cases = tmp_path / "feedback.jsonl"
    done = _run(["feedback", "export", str(cases)], workspace, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 thumbs-down answer written" in done.stdout
    case = json.loads(cases.read_text(encoding="utf-8").splitlines()[0])
    assert case["question"] == question and case["answer"] == "2 units" and case["must_include"] == ["2"]
    assert case["sources"] == ["001_5ac6cdcd54be8f5d.txt"] and case["note"] == "It should give the number of units."
    assert case["lang"] == "en" and case["answerable"] is True and case["git_commit"]

    runs = workspace.settings.eval_runs_dir
    done = _run(["eval", "--dataset", str(cases), "--out", str(runs / "feedback")], workspace, tmp_path)
    assert done.returncode == 0, done.stderr
    results = json.loads((runs / "feedback" / "results.json").read_text(encoding="utf-8"))
    assert [i["id"] for i in results["items"]] == [case["id"]]
    assert results["items"][0]["gold_sources"] == ["001_5ac6cdcd54be8f5d.txt"]
    assert (runs / "feedback" / "report.html").is_file()

    page.get_by_role("tab", name="Evaluation").click()
    frame = page.frame_locator("#eval-frame")
    frame.get_by_text("By language").wait_for()
    body = frame.locator("body").inner_text().lower()  # section heads are set in capitals by CSS
    assert "feedback.jsonl" in body and all(part in body for part in ("retrieval", "answers", "citations", "latency"))
    page.screenshot(path=str(ARTIFACTS / "workspace-evaluation.png"), full_page=True)
    assert_quiet(page)


# -- bad input: one line each, nothing lost ---------------------------------------------------------


def test_bad_uploads_get_one_line_each_and_lose_nothing(page, workspace, tmp_path):
    articles_tab(page)
    if "huawei-band-6.html" not in listed(page):
        upload(page, workspace.files / "huawei-band-6.html")
    count_before = listed(page).splitlines()[0]

    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    big = tmp_path / "big.pdf"
    with big.open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)
    scanned = scanned_pdf(tmp_path / "scan.pdf")
    login = tmp_path / "login.html"
    login.write_text(login_page(), encoding="utf-8")
    twin = tmp_path / "same-story-again.html"
    twin.write_text(news_page(HUAWEI), encoding="utf-8")
    report = upload(page, empty, big, scanned, login, twin)
    lines = report.splitlines()
    expected = {
        "empty.txt": "empty file",
        "big.pdf": "file too large (52,428,800 bytes > BOT_MAX_DOCUMENT_BYTES=20,000,000)",
        "scan.pdf": "no text in the PDF",
        "login.html": "not a news article",
        "same-story-again.html": "same text as huawei-band-6.html, already indexed",
    }
    for name, reason in expected.items():
        said = [line for line in lines if line.startswith(f"skipped {name}: ")]
        assert len(said) == 1 and reason in said[0], (name, report)
    assert lines[-1] == "Nothing was added."
    assert listed(page).splitlines()[0] == count_before  # nothing lost, nothing added
    assert_quiet(page)


def test_an_odd_file_name_and_two_uploads_at_once(browser, workspace, tmp_path):
    odd = {"name": 'Bài "mới"\nnhất.md', "mimeType": "text/markdown",
           "buffer": ("---\ntitle: Tin thử nghiệm\ndate: 2021-05-02\n---\n" + "Nội dung thử nghiệm về Sa Pa. " * 20)
           .encode()}
    second = {"name": "ghi-chu.txt", "mimeType": "text/plain",
              "buffer": ("Ghi chú\n" + "Một ghi chú khác hẳn về giá vé tham quan. " * 20).encode()}
    pages = [open_page(browser, workspace.url, viewport={"width": 1280, "height": 900}) for _ in range(2)]
    try:
        for p in pages:
            articles_tab(p)
        befores = [p.locator("#ingest-log textarea").input_value() for p in pages]
        for p, f in zip(pages, (odd, second)):
            p.locator("#upload input[type=file]").set_input_files(f)
        reports = [ingest_report(p, b) for p, b in zip(pages, befores)]
        # The browser sends the name with its quotes and line break escaped; both come back, the
        # line break as a space (a citation is one line).
        assert 'added Bài "mới" nhất.md' in reports[0] and 'saved as Bài "mới" nhất.md' in reports[0], reports[0]
        assert "added ghi-chu.txt" in reports[1], reports[1]
        pages[0].get_by_role("tab", name="Chat").click()
        articles_tab(pages[0])
        shown = listed(pages[0])
        assert "Tin thử nghiệm" in shown and "2 May 2021" in shown and "Ghi chú" in shown
        for p in pages:
            assert_quiet(p)
    finally:
        for p in pages:
            p.context.close()


# -- who may change what ------------------------------------------------------------------------------


def _log_in(browser, url: str, user: str, password: str):
    ctx = browser.new_context(viewport={"width": 1360, "height": 940})
    page = ctx.new_page()
    page.outside = []
    page.goto(url, wait_until="load")
    page.get_by_label("username").fill(user)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.locator("#question textarea").wait_for()
    return page


def test_with_logins_each_reader_has_their_own_chats_and_read_only_hides_the_changes(browser, workspace):
    from bot.ui import serve

    users = make_settings(workspace.settings.index_dir, **{
        **workspace.settings.model_dump(include={"upload_dir", "workspace_db", "eval_runs_dir"}),
        "answer_mode": "extractive", "ui_auth": "anna:anna-pass-1,binh:binh-pass-2"})
    port = free_port()
    app = serve(host="127.0.0.1", port=port, settings=users, bot=workspace.bot, block=False)
    try:
        anna = _log_in(browser, f"http://127.0.0.1:{port}/", "anna", "anna-pass-1")
        ask(anna, "who met in Geneva on 21/1")
        anna.locator("#chat-list").get_by_text("who met in Geneva on 21/1", exact=True).wait_for()
        binh = _log_in(browser, f"http://127.0.0.1:{port}/", "binh", "binh-pass-2")
        binh.wait_for_timeout(1000)  # the chat list has loaded (empty for binh)
        assert binh.locator("#chat-list").get_by_text("who met in Geneva on 21/1").count() == 0
        articles_tab(binh)
        assert binh.locator("#upload").is_visible()  # a logged-in reader may add articles
        for p in (anna, binh):
            p.context.close()
    finally:
        app.close()

    readonly = workspace.settings.model_copy(update={"ui_readonly": True})
    port = free_port()
    app = build_app(Bot(readonly, retriever=workspace.bot.retriever))
    launch(app, host="127.0.0.1", port=port, block=False)
    try:
        page = open_page(browser, f"http://127.0.0.1:{port}/", viewport={"width": 1360, "height": 940})
        articles_tab(page)
        assert "articles" in listed(page)
        assert not page.locator("#upload").is_visible() and not page.locator("#remove").is_visible()
        assert "read-only" in page.locator("#articles-tab").inner_text()
        page.context.close()
    finally:
        app.close()
