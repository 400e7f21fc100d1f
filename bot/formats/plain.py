"""Plain text and Markdown: UTF-8 (UTF-16 with a byte-order mark too), and YAML front matter.

Front matter is a block of YAML between two `---` lines at the very top
(`title:`, `date:`, `author:`, `url:`); it is read into the article's metadata
and left out of its text. A top block that is not such a mapping is text.
"""

from __future__ import annotations

import codecs
import re

from bot.formats.base import Extracted
from bot.formats.meta import ArticleMeta, from_mapping

# Control characters no text file holds (tab, newline and carriage return aside).
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_KNOWN_KEYS = {"title", "date", "author", "authors", "url", "site", "sitename"}


def decode_text(raw: bytes) -> str:
    """The text of a text file's bytes; ValueError says why it is not one."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows' "Unicode" is UTF-16 with a byte-order mark: readable as it is.
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise ValueError("UTF-16 with invalid bytes; re-save the file as UTF-8") from None
        if _BINARY.search(text):
            raise ValueError("binary file, not text")
        return text
    if b"\x00" in raw[:8192]:
        if _looks_utf16(raw[:8192]):
            raise ValueError("UTF-16 without a byte-order mark; convert it to UTF-8")
        raise ValueError("binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 text without a BOM: zero bytes in one byte position of each pair only (Latin letters, spaces)."""
    even, odd = head[0::2], head[1::2]
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    return max(zeros_even, zeros_odd) >= 0.3 * len(odd) and min(zeros_even, zeros_odd) == 0


def split_front_matter(text: str) -> tuple[str, ArticleMeta]:
    """(the text without its front matter, what the front matter says); the text as is without one."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, ArticleMeta()
    import yaml

    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return text, ArticleMeta()  # a top block that is not YAML: part of the text
    if not isinstance(data, dict) or not _KNOWN_KEYS & {str(k).lower() for k in data}:
        return text, ArticleMeta()
    return text[match.end() :], from_mapping({str(k).lower(): v for k, v in data.items()})


def read_plain(raw: bytes) -> Extracted:
    text, meta = split_front_matter(decode_text(raw))
    return Extracted(text, meta)
