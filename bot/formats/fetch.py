"""Fetching an article by its address: bounded in time and size, http(s) only at every hop.

Redirects are followed by hand, so each hop's address is checked before it is
requested (a redirect to file:, ftp: or javascript: is refused, a loop is named as
one); the body is read in pieces and dropped as soon as it passes the size cap
(a Content-Length over it is refused before any byte is read); the whole fetch,
redirects included, must end within the timeout.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from bot.formats import SUFFIXES

USER_AGENT = "newsbot/0.1 (fetches one article a reader asked for)"
MAX_REDIRECTS = 5
_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


class FetchError(ValueError):
    """The address could not be fetched as an article; the message says why, in one line."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    suffix: str  # the format it was served as: ".html", ".pdf", …
    body: bytes


def check_address(url: str) -> str:
    """The address, stripped; FetchError unless it is an http(s) address with a host."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}:" if parts.scheme else "no scheme"
        raise FetchError(f"only http:// and https:// addresses can be fetched ({shown})")
    if not parts.hostname:
        raise FetchError("the address has no host name")
    return url


def fetch(url: str, *, timeout_s: float = 15.0, max_bytes: int = 20_000_000) -> Fetched:
    """The body of the page at `url`; FetchError with the reason when it cannot be had."""
    import httpx

    url = check_address(url)
    deadline = time.monotonic() + timeout_s
    seen = {url}
    timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
    with httpx.Client(follow_redirects=False, timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with client.stream("GET", url) as response:
                    if response.is_redirect:
                        target = urljoin(url, response.headers.get("location", ""))
                        try:
                            check_address(target)
                        except FetchError as exc:
                            raise FetchError(f"{url} redirects to an address that cannot be fetched: {exc}") from None
                        if target in seen:
                            raise FetchError(f"{url} redirects in a loop (back to {target})")
                        seen.add(target)
                        url = target
                        continue
                    if response.status_code >= 400:
                        raise FetchError(f"the server answered {response.status_code} {response.reason_phrase} for {url}")
                    suffix = _suffix(response.headers.get("content-type", ""), url)
                    body = _read(response, max_bytes, deadline, timeout_s)
                    return Fetched(str(response.url), suffix, body)
            except httpx.TimeoutException:
                raise FetchError(f"{url} did not answer within {timeout_s:g} s") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{url} could not be fetched ({type(exc).__name__}: {exc})") from None
    raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times")


def _read(response, max_bytes: int, deadline: float, timeout_s: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"the page is too large ({int(declared):,} bytes > {max_bytes:,})")
    body = bytearray()
    for piece in response.iter_bytes():
        body.extend(piece)
        if len(body) > max_bytes:
            raise FetchError(f"the page is too large (more than {max_bytes:,} bytes)")
        if time.monotonic() > deadline:  # a server trickling bytes never trips the read timeout
            raise FetchError(f"{response.url} did not finish within {timeout_s:g} s")
    return bytes(body)


def _suffix(content_type: str, url: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    if kind in _TYPES:
        return _TYPES[kind]
    by_name = PurePosixPath(urlsplit(url).path).suffix.lower()
    if by_name in SUFFIXES and kind in ("", "application/octet-stream"):
        return by_name
    raise FetchError(f"the address serves {kind or 'an unnamed type'}, not a page, PDF, Word or text file")


def name_for(url: str, suffix: str) -> str:
    """A file name for a fetched article, from its address: host and last path segment."""
    parts = urlsplit(url)
    segment = next((s for s in reversed(unquote(parts.path).split("/")) if s.strip()), "")
    stem = PurePosixPath(segment).stem if PurePosixPath(segment).suffix.lower() in (*SUFFIXES, ".htm", ".php", ".aspx") else segment
    slug = re.sub(r"[^\w.-]+", "-", f"{parts.hostname or 'page'}-{stem}" if stem else parts.hostname or "page").strip("-.")
    return slug[:120] + suffix
