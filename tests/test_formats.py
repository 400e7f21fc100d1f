"""Reading articles in every format, their metadata, and fetching them by address.

Real files (a news page laid out as a site serves it, a Word file written by
python-docx, an image-only PDF made by Pillow) and a real HTTP server on 127.0.0.1
(tests/newsroom.py) that serves a news page, a 404, a slow page, a huge page and a
redirect loop. The text-layer PDF, printed by Chromium, is read in the browser tests.
"""

from __future__ import annotations

import json
import time

import pytest
from newsroom import HUAWEI, SAPA, Newsroom, login_page, news_page, scanned_pdf, word_file

from bot.bylines import byline, citation_fields, dated_note, relative_dates
from bot.chunk import chunk_article, make_splitter
from bot.formats import EmptyArticle, read_bytes
from bot.formats.fetch import FetchError, fetch, name_for
from bot.formats.meta import ArticleMeta, display_date, iso_date, outlet_of
from bot.formats.pdf import unwrap
from bot.load import load_articles, read_article
from bot.workspace.library import clean_name

# -- formats ---------------------------------------------------------------------------------


def test_a_news_page_gives_its_article_title_date_author_and_outlet_not_its_menus(tmp_path):
    page = tmp_path / "huawei.html"
    page.write_text(news_page(HUAWEI), encoding="utf-8")
    article = read_article(page)
    assert article.text.splitlines()[0] == HUAWEI.title  # the headline first, as the seeds have it
    assert "Ngày 15/4, Huawei đã ra mắt" in article.text
    for chrome in ("Trang chủ", "Tin liên quan", "Cơ quan chủ quản"):  # menu, related links, footer
        assert chrome not in article.text
    assert article.meta == ArticleMeta(title=HUAWEI.title, date="2021-04-15", author="Thế Anh",
                                       url=HUAWEI.url, site="Báo Dân trí")
    assert article.meta.byline() == "Báo Dân trí, 15 Apr 2021"


def test_a_page_that_is_no_article_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"^not a news article \(only \d+ characters of text in the page"):
        read_bytes(login_page().encode(), ".html")
    with pytest.raises(ValueError, match="not a news article"):
        read_bytes(b"<html><body></body></html>", ".html")


def test_a_scanned_pdf_and_a_broken_one_say_why(tmp_path):
    with pytest.raises(ValueError, match=r"no text in the PDF \(2 pages of images: a scanned document needs OCR first\)"):
        read_article(scanned_pdf(tmp_path / "scan.pdf"))
    with pytest.raises(ValueError, match="not a readable PDF"):
        read_bytes(b"%PDF-1.7\nthis is not really a pdf", ".pdf")


def test_a_word_file_gives_its_paragraphs_title_author_and_dateline(tmp_path):
    article = read_article(word_file(SAPA, tmp_path / "sapa.docx"))
    assert article.meta.title == SAPA.title and article.meta.author == SAPA.author
    assert article.meta.date == "2021-04-30"  # from the dateline under the headline
    assert "gần 20 phòng" in article.text
    with pytest.raises(ValueError, match="not a readable Word document"):
        read_bytes(b"PK\x03\x04 not a zip", ".docx")


def test_pdf_lines_wrapped_by_the_layout_are_joined_and_paragraphs_kept():
    page = (
        "Khách ồ ạt hủy tour sau 1 đêm, loạt nhà\nnghỉ Sa Pa treo biển trống phòng\nThứ Năm, 30/04/2021\n"
        "Sáng 30/4 - buổi sáng đầu tiên của kỳ nghỉ lễ dài, khu vực trung tâm thị xã Sa\n"
        "Pa vẫn vắng lặng như tờ.\nĐây cũng là điều rất hiếm."
    )
    assert unwrap(page).splitlines() == [
        "Khách ồ ạt hủy tour sau 1 đêm, loạt nhà nghỉ Sa Pa treo biển trống phòng",
        "Thứ Năm, 30/04/2021",
        "Sáng 30/4 - buổi sáng đầu tiên của kỳ nghỉ lễ dài, khu vực trung tâm thị xã Sa Pa vẫn vắng lặng như tờ.",
        "Đây cũng là điều rất hiếm.",
    ]


def test_front_matter_is_metadata_not_text_and_a_top_block_that_is_not_is_text(tmp_path):
    md = tmp_path / "a.md"
    md.write_text("---\ntitle: Tin A\ndate: 2021-04-30\nauthor: [Lan, Minh]\nurl: https://vnexpress.net/a.html\n---\n"
                  "Nội dung.\n", encoding="utf-8")
    article = read_article(md)
    assert article.text == "Nội dung.\n"
    assert article.meta == ArticleMeta("Tin A", "2021-04-30", "Lan, Minh", "https://vnexpress.net/a.html")
    assert article.meta.byline() == "VnExpress, 30 Apr 2021"
    rule = tmp_path / "b.md"
    rule.write_text("---\nkhông phải front matter\n---\nThân bài.\n", encoding="utf-8")
    assert read_article(rule).text.startswith("---") and read_article(rule).meta == ArticleMeta()


def test_metadata_jsonl_beside_the_files_wins_and_a_bad_line_is_reported(tmp_path):
    (tmp_path / "b.txt").write_text("Tiêu đề B\nThân bài B.\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text("Tiêu đề C\nThân bài C.\n", encoding="utf-8")
    (tmp_path / "metadata.jsonl").write_text(
        json.dumps({"file": "b.txt", "title": "Bài B", "date": "2020-10-01", "url": "https://dantri.com.vn/b.htm",
                    "category": "business"}, ensure_ascii=False) + "\n{broken\n" + json.dumps({"title": "no file"}) + "\n",
        encoding="utf-8",
    )
    report = load_articles([tmp_path])
    metas = {a.source: a.meta for a in report.articles}
    assert metas["b.txt"] == ArticleMeta("Bài B", "2020-10-01", "", "https://dantri.com.vn/b.htm")
    assert metas["c.txt"] == ArticleMeta()
    assert ("metadata.jsonl line 2", "not JSON (Expecting property name enclosed in double quotes)") in report.skipped
    assert ("metadata.jsonl line 3", 'no "file" naming the article') in report.skipped


def test_metadata_travels_with_every_chunk_and_an_article_without_adds_no_key(tmp_path):
    (tmp_path / "b.txt").write_text("Tiêu đề B\n" + "Thân bài B rất dài. " * 80, encoding="utf-8")
    (tmp_path / "plain.txt").write_text("Không có gì thêm.\n", encoding="utf-8")
    (tmp_path / "metadata.jsonl").write_text('{"file": "b.txt", "title": "Bài B", "date": "01/10/2020"}\n')
    articles = {a.source: a for a in load_articles([tmp_path]).articles}
    chunks = chunk_article(articles["b.txt"], make_splitter(300, 50))
    assert len(chunks) > 1 and all(c.metadata["article_date"] == "2020-10-01" for c in chunks)
    assert ArticleMeta.from_chunk(chunks[-1].metadata).title == "Bài B"
    plain = chunk_article(articles["plain.txt"], make_splitter(300, 50))[0].metadata
    assert set(plain) == {"source", "chunk_index", "start", "end", "content_hash", "article_sha1"}


@pytest.mark.parametrize("raw, suffix, reason", [
    (b"", ".txt", "empty file"),
    (b"   \n\t\n", ".md", "no text (only white space)"),
    (b"\x00\x01\x02binary", ".txt", "binary file, not text"),
    (b"x", ".odt", "not a format the bot reads (.odt"),
])
def test_unreadable_input_says_why(raw, suffix, reason):
    with pytest.raises(ValueError) as caught:
        read_bytes(raw, suffix)
    assert reason in str(caught.value)
    assert isinstance(caught.value, EmptyArticle) == reason.startswith(("empty", "no text"))


# -- dates, outlets, bylines ------------------------------------------------------------------------


def test_dates_read_as_people_write_them_and_shown_one_way():
    assert [iso_date(v) for v in ("2020-10-01", "2020-10-01T16:35:34+07:00", "01/10/2020", "", "soon")] == [
        "2020-10-01", "2020-10-01", "2020-10-01", "", ""]
    assert display_date("2020-10-01") == "1 Oct 2020" and display_date("nope") == ""
    assert outlet_of("https://m.dantri.com.vn/x.htm") == "Dân trí"
    assert outlet_of("https://www.example.org/a") == "example.org" and outlet_of("") == ""


def test_a_quote_with_a_relative_date_gets_its_articles_date():
    meta = ArticleMeta(title="T", date="2022-01-22", url="https://dantri.com.vn/a.htm")
    assert relative_dates("Ngày 21/1, hai bên gặp nhau; tuần tới sẽ họp tiếp.") == ["tuần tới", "21/1"]
    assert relative_dates("Ngày 21/1/2022 và 6,81 mm") == []  # a whole date, a measurement
    assert dated_note(["Hôm qua, 21/1, hai bên gặp nhau"], meta) == "“Hôm qua”, “21/1”: as of 22 Jan 2022, the article's date"
    assert dated_note(["tuần tới"], ArticleMeta(title="T")) == ""  # no date known: nothing to say
    assert byline(meta) == "Dân trí, 22 Jan 2022" and byline(None) == ""
    fields = citation_fields("a.txt", "tuần tới", {"a.txt": meta})
    assert fields["byline"] == "Dân trí, 22 Jan 2022" and fields["date"] == "2022-01-22" and "dated" in fields


# -- names ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, kept", [
    ('Bài "mới"\nnhất.md', 'Bài "mới" nhất.md'),
    ("../../etc/passwd.txt", "_.._etc_passwd.txt"),
    (".hidden.TXT", "hidden.txt"),
    ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
    ("\n.md", "article.md"),
])
def test_file_names_become_one_line_without_folders(given, kept):
    assert clean_name(given) == kept


def test_a_fetched_article_is_named_after_its_address():
    assert name_for(HUAWEI.url, ".html") == (
        "dantri.com.vn-huawei-band-6-ra-mat-tai-viet-nam-gia-15-trieu-dong-20210415152319168.html")
    assert name_for("https://example.org/", ".html") == "example.org.html"


# -- fetching ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def newsroom():
    with Newsroom(slow_s=5.0) as room:
        yield room


def test_a_news_page_is_fetched_and_read_with_its_address(newsroom):
    got = fetch(f"{newsroom.url}/tin/huawei.htm", timeout_s=5)
    assert got.suffix == ".html" and got.url == f"{newsroom.url}/tin/huawei.htm"
    extracted = read_bytes(got.body, got.suffix, url=got.url)
    assert extracted.meta.title == HUAWEI.title and extracted.meta.date == "2021-04-15"


@pytest.mark.parametrize("path, message", [
    ("/missing", "the server answered 404 Not Found for"),
    ("/huge", "the page is too large (more than 1,000,000 bytes)"),
    ("/huge-declared", "the page is too large (1,000,000,000,000 bytes > 1,000,000)"),
    ("/loop", "redirects in a loop"),
    ("/to-file", "redirects to an address that cannot be fetched: only http:// and https:// addresses can be fetched (file:)"),
])
def test_what_cannot_be_fetched_is_one_line(newsroom, path, message):
    with pytest.raises(FetchError) as caught:
        fetch(newsroom.url + path, timeout_s=5, max_bytes=1_000_000)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_slow_page_times_out(newsroom):
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"did not answer within 1 s"):
        fetch(f"{newsroom.url}/slow", timeout_s=1.0)
    assert time.monotonic() - started < 4


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "ftp://example.org/a", "http://", "nope"])
def test_only_web_addresses_are_fetched(url):
    with pytest.raises(FetchError, match="only http:// and https:// addresses|no host name"):
        fetch(url)
