"""Test material for the reader's workspace: real news pages, PDFs, Word files, and a real web server.

The articles are the evaluation's own (eval/news/, from Dân trí; eval/news.sources.md
gives their titles, dates and addresses): each is laid out the way a news site lays
out a page (menus, a byline, a dateline, related links, a footer), printed to a real
PDF by Chromium when a test needs one, or written to a .docx by python-docx.
`Newsroom` serves them on 127.0.0.1 with the ways a fetch goes wrong: a 404, a
slow page, a huge page, a redirect loop and a redirect to a file: address.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bot.settings import REPO_ROOT

NEWS = REPO_ROOT / "eval" / "news"


@dataclass(frozen=True)
class Story:
    file: str
    title: str
    date: str  # ISO
    url: str
    author: str
    section: str

    @property
    def text(self) -> str:
        return (NEWS / self.file).read_text(encoding="utf-8")

    @property
    def paragraphs(self) -> list[str]:
        return [p.strip() for p in self.text.splitlines() if p.strip()]

    @property
    def dateline(self) -> str:
        y, m, d = self.date.split("-")
        return f"Thứ Năm, {d}/{m}/{y} - 15:23"


HUAWEI = Story(
    "news_tech_120.txt",
    "Huawei Band 6 ra mắt tại Việt Nam, giá 1,5 triệu đồng",
    "2021-04-15",
    "https://dantri.com.vn/suc-manh-so/huawei-band-6-ra-mat-tai-viet-nam-gia-15-trieu-dong-20210415152319168.htm",
    "Thế Anh",
    "Sức mạnh số",
)
SAPA = Story(
    "news_travel_125.txt",
    "Khách ồ ạt hủy tour sau 1 đêm, loạt nhà nghỉ Sa Pa treo biển \"trống phòng\"",
    "2021-04-30",
    "https://dantri.com.vn/du-lich/khach-o-at-huy-tour-sau-1-dem-loat-nha-nghi-sa-pa-treo-bien-trong-phong-20210430090047407.htm",
    "Phạm Ngọc Triển",
    "Du lịch",
)
HUAWEI_QUESTION = "huawei band 6 ban o viet nam gia bao nhieu"  # eval/news.jsonl n004: "1,5 triệu đồng"
SAPA_QUESTION = "Chỉ trong một đêm, một chủ nhà nghỉ ở Sa Pa bị khách hủy bao nhiêu phòng?"  # n037: "gần 20 phòng"


def news_page(story: Story) -> str:
    """The story as a news site serves it: the article among menus, teasers and a footer."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs[1:])
    related = "".join(
        f'<li><a href="/tin/{i}.htm">Tin liên quan số {i}: {html.escape(story.section)} hôm nay</a></li>' for i in range(8)
    )
    return f"""<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>{html.escape(story.title)} | Báo Dân trí</title>
<meta property="og:title" content="{html.escape(story.title, quote=True)}">
<meta property="og:site_name" content="Báo Dân trí">
<meta property="og:url" content="{html.escape(story.url, quote=True)}">
<meta property="article:published_time" content="{story.date}T15:23:19+07:00">
<meta name="author" content="{html.escape(story.author, quote=True)}">
<link rel="canonical" href="{html.escape(story.url, quote=True)}">
</head><body>
<header><nav><a href="/">Trang chủ</a> <a href="/xa-hoi">Xã hội</a> <a href="/the-gioi">Thế giới</a>
<a href="/kinh-doanh">Kinh doanh</a> <a href="/du-lich">Du lịch</a> <a href="/suc-manh-so">Sức mạnh số</a></nav></header>
<main><article class="singular-container">
<div class="breadcrumb"><a href="/">Dân trí</a> › <a href="/s">{html.escape(story.section)}</a></div>
<h1 class="title-page detail">{html.escape(story.title)}</h1>
<div class="author-wrap"><span class="author-name">{html.escape(story.author)}</span>
<time class="author-time" datetime="{story.date} 15:23">{story.dateline}</time></div>
<h2 class="singular-sapo">{html.escape(story.paragraphs[0])}</h2>
<div class="singular-content">{body}</div>
</article>
<aside><h3>Tin liên quan</h3><ul>{related}</ul></aside></main>
<footer><p>Cơ quan chủ quản: Bộ Lao động - Thương binh và Xã hội. Giấy phép hoạt động báo điện tử.</p></footer>
</body></html>"""


def login_page() -> str:
    """A page with no article on it: what a paywall or a session timeout serves instead."""
    links = "".join(f'<li><a href="/muc/{i}">Chuyên mục {i}</a></li>' for i in range(12))
    return f"""<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>Đăng nhập | Báo Dân trí</title></head>
<body><nav><ul>{links}</ul></nav><main><h1>Đăng nhập</h1>
<form><label>Email <input name="email"></label><label>Mật khẩu <input type="password" name="pw"></label>
<button>Đăng nhập</button></form><p>Chưa có tài khoản? <a href="/dang-ky">Đăng ký</a></p></main>
<footer>© Báo Dân trí</footer></body></html>"""


def print_pdf(browser, story: Story, out: Path) -> Path:
    """The story printed to PDF by Chromium, as a reader saves an article: headline, dateline, body."""
    page = browser.new_page()
    try:
        page.set_content(
            f"<html><head><meta charset='utf-8'><title>{html.escape(story.title)}</title></head><body "
            "style='font-family: \"DejaVu Sans\", sans-serif'>"
            f"<h1>{html.escape(story.title)}</h1><p>{story.dateline}</p>"
            + "".join(f"<p>{html.escape(p)}</p>" for p in story.paragraphs)
            + "</body></html>"
        )
        page.pdf(path=str(out), format="A4")
    finally:
        page.close()
    return out


def scanned_pdf(out: Path) -> Path:
    """A PDF of page images and no text layer, as a scanner makes."""
    from PIL import Image, ImageDraw

    pages = []
    for _ in range(2):
        image = Image.new("RGB", (620, 877), "white")
        draw = ImageDraw.Draw(image)
        for line in range(30):
            draw.line((40, 60 + line * 25, 580, 60 + line * 25), fill=(120, 120, 120), width=3)
        pages.append(image)
    pages[0].save(out, save_all=True, append_images=pages[1:])
    return out


def word_file(story: Story, out: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = story.title
    document.core_properties.author = story.author
    document.add_heading(story.title, level=1)
    document.add_paragraph(story.dateline)
    for p in story.paragraphs:
        document.add_paragraph(p)
    document.save(out)
    return out


# -- a news site on loopback ----------------------------------------------------------------


class Newsroom:
    """A real HTTP server on 127.0.0.1 serving the stories, and the ways a fetch goes wrong.

        /tin/huawei.htm   the Huawei story as a news page       /login      a page with no article
        /missing          404                                    /slow       answers after `slow_s` seconds
        /huge             a page without end (cut by the cap)    /huge-declared  Content-Length: 10^12
        /loop             redirects to /loop2, which redirects back
        /to-file          redirects to file:///etc/passwd        /tin/sapa.pdf   the Sa Pa story as a PDF (if set)
    """

    def __init__(self, slow_s: float = 5.0) -> None:
        self.slow_s = slow_s
        self.pdf: bytes | None = None
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.newsroom = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> Newsroom:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8", headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, where: str) -> None:
        self._send(302, b"", headers={"Location": where})

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        room: Newsroom = self.server.newsroom
        room.requests.append(self.path)
        path = self.path.split("?")[0]
        try:
            if path == "/tin/huawei.htm":
                self._send(200, news_page(HUAWEI).encode())
            elif path == "/tin/sapa.pdf" and room.pdf:
                self._send(200, room.pdf, "application/pdf")
            elif path == "/login":
                self._send(200, login_page().encode())
            elif path == "/slow":
                room._stop.wait(room.slow_s)
                self._send(200, news_page(HUAWEI).encode())
            elif path == "/huge":
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                piece = ("<p>" + "tin tức " * 4000 + "</p>").encode()
                deadline = time.monotonic() + 30
                while not room._stop.is_set() and time.monotonic() < deadline:
                    self.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
            elif path == "/huge-declared":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(10**12))
                self.end_headers()
                self.wfile.write(b"<html>")
            elif path == "/loop":
                self._redirect("/loop2")
            elif path == "/loop2":
                self._redirect(f"{room.url}/loop")
            elif path == "/to-file":
                self._redirect("file:///etc/passwd")
            else:
                self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as the size cap makes it
