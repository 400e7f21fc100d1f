"""Keep secrets out of what people see: error lines, log records, the UI.

Secrets are masked *before* any text is cut to length, so a key straddling
the cut cannot leave a visible prefix behind. URLs lose their user:password
part. Known secrets (API keys read from the settings, the local server's
key) are registered once and masked wherever they appear.
"""

from __future__ import annotations

import logging
import re
import threading

_URL_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^/\s@]+@", re.IGNORECASE)
# OpenAI-style keys even when we were never told them (a server may echo another one).
_KEY_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
MASK = "***"

_secrets: set[str] = set()
_lock = threading.Lock()


def register(*secrets: str | None) -> None:
    """Mask these values from now on (short values are ignored: they would mask ordinary words)."""
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= 6)


def mask(text: str) -> str:
    """The text with URL credentials, registered secrets and key-shaped strings masked."""
    text = _URL_USERINFO.sub(rf"\1{MASK}@", str(text))
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    return _KEY_SHAPES.sub(f"sk-{MASK}", text)


def one_line(text: str, limit: int = 160) -> str:
    """Masked, on one line, then cut to `limit` characters (in that order)."""
    text = " ".join(mask(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MaskingFilter(logging.Filter):
    """Masks every record's final message (httpx logs request URLs, credentials included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logged as it is
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Mask secrets in every record that reaches `logger`'s handlers (default: the root logger's).

    A filter on a handler sees records propagated from every library logger;
    one on a logger would only see that logger's own.
    """
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
    # Records of the HTTP clients are masked at the source too, whatever handler shows them.
    for name in ("httpx", "httpcore", "openai", "httpx2"):
        lib = logging.getLogger(name)
        if not any(isinstance(f, MaskingFilter) for f in lib.filters):
            lib.addFilter(MaskingFilter())
