"""The workspace without the browser: adding and removing articles over a real index (real Chroma,
the real e5 model), the dated citations in `bot ask` and `bot serve`, saved chats per user, feedback
as eval cases, the HTML report, and English beside the quotes through a real OpenAI-protocol server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest
from conftest import make_settings
from fake_openai import FakeOpenAI
from newsroom import HUAWEI, HUAWEI_QUESTION, Newsroom, login_page, news_page

from bot.answer import Answer, Citation
from bot.index_dir import articles_dir, lexical_path
from bot.lexical import BM25Index
from bot.workspace.catalog import entries, metas
from bot.workspace.chats import ChatStore
from bot.workspace.feedback import FeedbackStore, Rating, as_case, export_dataset
from bot.workspace.library import Library, upload_dir
from eval.dataset import load_dataset
from eval.html_report import render_html, render_suites_html

GENEVA = Answer(
    "Lavrov và Blinken gặp nhau [1].",
    [Citation(1, "002_5e381044bb73209e.txt", "Ngày 21/1, Ngoại trưởng Nga Sergei Lavrov…", 50, 95)],
    lang="vi",
)


# -- adding and removing over a real index ---------------------------------------------------------


@pytest.fixture
def library(seeded_settings, tmp_path):
    from bot.pipeline import Bot

    settings = seeded_settings.model_copy(update={"upload_dir": tmp_path / "uploads", "answer_mode": "extractive",
                                                  "ingest_workers": 1})
    bot = Bot(settings)

    def reopen():
        from bot.retrieve import open_retriever

        bot.retriever = open_retriever(settings, embeddings=bot.embeddings)

    yield Library(settings, lambda: entries(bot.retriever.lexical, settings), reopen), bot
    bot.close()


def _chunks_of(settings, source: str) -> dict[str, int]:
    """Where an article's chunks are: the vector store, the ingest records, BM25, the text copy."""
    from bot.embed import make_embeddings
    from bot.store import record_manager, vector_store

    store = vector_store(settings, make_embeddings(settings))
    return {
        "store": len(store._collection.get(where={"source": source}, include=[])["ids"]),
        "records": len(record_manager(settings).list_keys(group_ids=[source])),
        "bm25": sum(m.get("source") == source for m in BM25Index.load(lexical_path(settings)).metadatas),
        "copy": int((articles_dir(settings) / source).is_file()),
    }


def test_an_added_page_is_answered_with_its_byline_and_removed_from_every_index(library, tmp_path):
    lib, bot = library
    settings = lib.settings
    page = tmp_path / "Huawei band 6.html"
    page.write_text(news_page(HUAWEI), encoding="utf-8")
    change = lib.add_files([("Huawei band 6.html", page)])
    assert change.added == ["Huawei band 6.html"] and change.lines == ["added Huawei band 6.html"], change.text()
    assert change.summary.startswith("1 added, 0 updated")
    held = _chunks_of(settings, "Huawei band 6.html")
    assert held["store"] == held["records"] == held["bm25"] > 0 and held["copy"] == 1
    result = bot.run(HUAWEI_QUESTION)
    assert "1,5 triệu đồng" in result.answer.text
    assert any(c.source == "Huawei band 6.html" for c in result.answer.citations)
    assert metas(bot.retriever.lexical)["Huawei band 6.html"].byline() == "Báo Dân trí, 15 Apr 2021"

    again = lib.add_files([("copy.html", page)])
    assert again.lines == ["skipped copy.html: same text as Huawei band 6.html, already indexed"] and not again.changed
    other = tmp_path / "other.html"
    other.write_text(news_page(HUAWEI).replace("1,5 triệu đồng", "2 triệu đồng"), encoding="utf-8")
    clash = lib.add_files([("Huawei band 6.html", other)])
    assert "already indexed with another text" in clash.text() and not clash.changed

    removed = lib.remove("Huawei band 6.html")
    assert removed.lines[0].startswith(f"removed Huawei band 6.html: {held['store']} chunks taken out of the index")
    assert _chunks_of(settings, "Huawei band 6.html") == {"store": 0, "records": 0, "bm25": 0, "copy": 0}
    assert not (upload_dir(settings) / "Huawei band 6.html").exists()
    assert not any(c.source == "Huawei band 6.html" for c in bot.run(HUAWEI_QUESTION).answer.citations)
    assert lib.remove("Huawei band 6.html").lines == [
        "Huawei band 6.html is not among the indexed articles; nothing was removed."]
    seeds = lib.remove("003_b2fc1e8a5747e8a2.txt")  # a seed: its file stays where it is
    assert "Its file is still in" in seeds.text()


def test_an_address_is_fetched_and_kept_with_its_url_and_a_bad_one_changes_nothing(library):
    lib, bot = library
    with Newsroom() as room:
        change = lib.add_url(f"{room.url}/tin/huawei.htm")
        name = change.added[0]
        assert name.startswith("127.0.0.1-huawei") and name.endswith(".html")
        kept = json.loads((upload_dir(lib.settings) / "metadata.jsonl").read_text(encoding="utf-8"))
        assert kept == {"file": name, "url": f"{room.url}/tin/huawei.htm"}
        before = len(bot.retriever.lexical)
        for path, said in [("/missing", "404 Not Found"), ("/login", "not a news article"),
                           ("/to-file", "cannot be fetched")]:
            bad = lib.add_url(room.url + path)
            assert not bad.changed and len(bad.lines) == 1 and said in bad.lines[0], bad.lines
        assert len(bot.retriever.lexical) == before


def test_bot_ingest_reads_the_new_formats_and_the_metadata_survives_a_re_ingest(seeded_settings, tmp_path):
    """`bot ingest` itself: a page, front matter and metadata.jsonl; then `bot ask` names outlet and date."""
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "huawei.html").write_text(news_page(HUAWEI), encoding="utf-8")
    (folder / "login.html").write_text(login_page(), encoding="utf-8")
    (folder / "note.md").write_text("---\ntitle: Ghi chú\ndate: 2021-05-02\n---\n" + "Một ghi chú dài. " * 30,
                                    encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "OPENAI_"))}
    env.update(BOT_INDEX_DIR=str(seeded_settings.index_dir), BOT_AUTODETECT="0", BOT_INGEST_WORKERS="1")

    def bot(*args):
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)

    first = bot("ingest", "-q", str(folder))
    assert first.returncode == 0, first.stderr
    assert "skipped login.html: not a news article" in first.stderr
    assert first.stdout.startswith("2 added")
    again = bot("ingest", "-q", str(folder))
    assert again.stdout.startswith("0 added, 0 updated, 2 unchanged"), again.stdout  # nothing embedded again
    asked = bot("ask", HUAWEI_QUESTION)
    assert asked.returncode == 0, asked.stderr
    assert "huawei.html (chars " in asked.stdout and "— Báo Dân trí, 15 Apr 2021" in asked.stdout
    as_json = json.loads(bot("ask", "--json", HUAWEI_QUESTION).stdout)
    assert as_json["articles"]["huawei.html"]["byline"] == "Báo Dân trí, 15 Apr 2021"


def test_bot_serve_citations_carry_title_date_and_the_relative_date_note(shared_bot):
    from bot.serve import serving

    with serving(shared_bot) as base_url:
        reply = httpx.post(f"{base_url}/chat/completions", json={
            "model": "newsbot", "messages": [{"role": "user", "content": "who met in Geneva on 21/1"}]}, timeout=120)
    citations = reply.json()["citations"]
    assert citations and all({"n", "file", "quote", "start", "end"} <= set(c) for c in citations)
    # The seeds have no metadata: nothing is made up for them.
    assert not any("byline" in c or "date" in c for c in citations)


# -- chats, feedback, the report (no model) -----------------------------------------------------------------


def test_chats_belong_to_their_user_and_come_back_whole(tmp_path):
    store = ChatStore(tmp_path / "w.sqlite")
    chat = store.add_turn("anna", None, "ai gặp nhau ở Geneva?", GENEVA)
    assert store.add_turn("anna", chat, "họ nói gì?", Answer("Không rõ.", refused=True, mode="refusal")) == chat
    other = store.add_turn("binh", chat, "một câu khác", GENEVA)  # not binh's chat: a new one
    assert other != chat
    assert [c.title for c in store.list("anna")] == ["ai gặp nhau ở Geneva?"]
    assert [c.title for c in store.list("binh")] == ["một câu khác"]
    opened = store.open("anna", chat)
    assert [t.question for t in opened.turns] == ["ai gặp nhau ở Geneva?", "họ nói gì?"]
    assert opened.turns[0].answer == GENEVA and opened.turns[1].answer.refused
    assert store.open("binh", chat) is None and not store.rename("binh", chat, "x") and not store.delete("binh", chat)
    assert store.replace_last("anna", chat, "họ nói gì?", GENEVA) and store.open("anna", chat).turns[1].answer == GENEVA
    assert store.rename("anna", chat, "  Geneva\n talks ") and store.list("anna")[0].title == "Geneva talks"
    assert store.delete("anna", chat) and store.list("anna") == [] and store.open("anna", chat) is None


def test_thumbs_down_become_eval_cases_the_dataset_reader_accepts(tmp_path):
    store = FeedbackStore(tmp_path / "w.sqlite")
    store.add(Rating("ai gặp nhau ở Geneva?", GENEVA, up=True))
    store.add(Rating("họ gặp nhau ngày nào?", GENEVA, up=False, history=["ai gặp nhau ở Geneva?"], note="sai ngày",
                     expected="21/1", sources=["002_5e381044bb73209e.txt"]))
    store.add(Rating("Who won the World Cup?", GENEVA, up=False, answerable=False, note="should refuse"))
    rows = store.all()
    assert [r["rating"] for r in rows] == [1, -1, -1] and all(r["git_commit"] for r in rows)
    assert json.loads(rows[1]["citations"])[0]["source"] == "002_5e381044bb73209e.txt"
    out = tmp_path / "cases.jsonl"
    assert export_dataset(store, out) == 2
    items = load_dataset(out)
    assert [(i.question, i.answerable, i.type) for i in items] == [
        ("họ gặp nhau ngày nào?", True, "feedback"), ("Who won the World Cup?", False, "feedback")]
    assert items[0].must_include == ["21/1"] and items[0].sources == ["002_5e381044bb73209e.txt"]
    assert items[0].history == ["ai gặp nhau ở Geneva?"] and items[0].lang == "vi"
    assert as_case(rows[2])["must_include"] == []  # nothing to contain: it should refuse


def test_the_html_report_draws_each_group_and_the_change_against_the_previous_run():
    group = {"n": 4, "n_answerable": 3, "source_hit@5": 1.0, "mrr@10": 0.8, "must_include": 0.5,
             "citation_precision": 0.75, "latency_p50_s": 0.1, "latency_p95_s": 0.3,
             "outcomes": {"answerable": {"answered": 2, "hedged": 1, "refused": 0},
                          "unanswerable": {"answered": 0, "hedged": 0, "refused": 1}}}
    summary = {**group, "by_lang": {"en": group, "vi": group}, "by_type": {"fact": group},
               "by_split": {"dev": group, "test": group}, "conversation": {"n": 0}}
    before = {**summary, "must_include": 0.75, "latency_p95_s": 0.9}
    results = {"meta": {"dataset": "eval/<x>.jsonl", "mode": "extractive", "retriever": "hybrid", "k": 5,
                        "timestamp": "now", "git_commit": "abc"}, "summary": summary}
    page = render_html(results, ("runs/earlier", {"meta": {"timestamp": "then"}, "summary": before}))
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page.split("</style>")[1]
    for heading in ("Overall", "By language", "By question type", "By suite", "dev half", "test half", "fact"):
        assert heading in page
    assert "Eval: &lt;x&gt;.jsonl" in page  # escaped
    assert '-0.25 ▼</span>' in page and 'class="change worse">-0.25' in page  # must_include fell
    assert 'class="change better">-0.60 ▼' in page  # latency fell: better
    assert "2 / 1 / 0" in page and "0 / 0 / 1" in page  # answered / hedged / refused
    suites = render_suites_html({"qa": summary, "news": summary}, {"qa": before})
    assert "Suite qa" in suites and "Suite news" in suites


def test_the_eval_writes_report_html_beside_report_md(seeded_index, tmp_path):
    from eval.runner import run_eval

    dataset = tmp_path / "two.jsonl"
    dataset.write_text(
        json.dumps({"id": "a", "question": "who met in Geneva on 21/1", "sources": ["002_5e381044bb73209e.txt"]}) + "\n"
        + json.dumps({"id": "b", "question": "Who won the 2018 World Cup?", "answerable": False}) + "\n")
    settings = make_settings(seeded_index, answer_mode="extractive")
    for run in ("r1", "r2"):
        assert run_eval(dataset, tmp_path / "runs" / run, settings=settings) == 0
    page = (tmp_path / "runs" / "r2" / "report.html").read_text(encoding="utf-8")
    assert "Changes are against the previous run" in page and "two.jsonl" in page
    assert json.loads((tmp_path / "runs" / "r2" / "results.json").read_text())["summary"]["outcomes"]


# -- English beside the quotes ------------------------------------------------------------------------------


def test_quotes_are_machine_translated_on_request_and_labelled(seeded_settings):
    from bot.translate import Translator
    from bot.ui.render import render_sources

    with FakeOpenAI() as fake:
        fake.script("ok", answer="On 21 January, Russian Foreign Minister Sergei Lavrov met…")
        translator = Translator(fake.base_url, "qwen-test", "sk-test")
        english = translator.quotes([c.quote for c in GENEVA.citations] + ["An English quote stays as it is."])
        assert english == {GENEVA.citations[0].quote: "On 21 January, Russian Foreign Minister Sergei Lavrov met…"}
        sent = fake.chat_requests()[0]["body"]["messages"]
        assert f"<quote>{GENEVA.citations[0].quote}</quote>" == sent[-1]["content"]
        assert len(fake.chat_requests()) == 1  # the English quote was not sent
        translator.quotes([GENEVA.citations[0].quote])
        assert len(fake.chat_requests()) == 1  # remembered
    panel = render_sources(seeded_settings, GENEVA, {}, english, translator.label)
    assert "English, machine-translated by qwen-test" in panel and "On 21 January" in panel
    assert "Ngày 21/1" in panel  # the original stays, beside it

