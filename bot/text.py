"""Text primitives shared by every stage: normalisation, folding, tokens, sentences.

Vietnamese is written in syllables separated by spaces, so a syllable is the
natural lexical unit. Users often type without diacritics, so every token also
has a folded form (NFD, marks dropped, đ→d) that both sides of BM25 share.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Zero-width and bidi control characters carry no meaning in a question but
# break token matching ("Gen\u200beva").
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
    None,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TOKEN = re.compile(r"\w+(?:[/.\-]\w+)*")
_DAY_MONTH = re.compile(r"^(\d{1,2})[-.](\d{1,2})(?:[-.](\d{2,4}))?$")


# Lone surrogates are what Python makes of bytes that are not UTF-8 (argv and
# stdin use "surrogateescape"); no encoder accepts them, so the embedder crashed.
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_input(text: str) -> str:
    """Text typed by a user, safe for every later stage: undecodable bytes become U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


# What a terminal acts on instead of showing: C0/C1 controls (ESC starts a colour or
# cursor sequence), DEL, direction overrides, and lone surrogates (undecodable bytes).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape keeps it
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, lines: bool = False) -> str:
    """Text safe to print: every control character shown escaped ("ansi\\x1b[31mred.txt").

    With lines, newlines and tabs are kept (an answer's layout); a file name keeps neither.
    """
    text = _UNPRINTABLE.sub(lambda m: _escaped(m.group(0)), text)
    return text if lines else text.replace("\n", "\\n").replace("\t", "\\t")


def normalize(text: str) -> str:
    """NFC, without invisible format characters and control characters."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    return _CONTROL.sub(" ", text)


def fold(text: str) -> str:
    """Lower-case and strip Vietnamese diacritics: 'Đàm phán' -> 'dam phan'."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.replace("đ", "d")


# One Vietnamese syllable, folded: (initial) vowels (final). A capitalised word that is one
# ("Sau", "Theo", "Long") may just open a sentence; one that is not ("Pogba", "Huawei") is a name.
_SYLLABLE = re.compile(r"^(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?$")


def vietnamese_syllable(word: str) -> bool:
    return bool(_SYLLABLE.match(fold(word)))


def _canonical(token: str) -> str:
    # "14-12" and "14/12" name the same date; the articles use both.
    m = _DAY_MONTH.match(token)
    if m:
        return "/".join(g for g in m.groups() if g)
    return token


def words(text: str) -> list[str]:
    """Lower-cased NFC word tokens; dates like 21/1 and names like S-400 stay whole."""
    return [_canonical(t) for t in _TOKEN.findall(normalize(text).lower())]


_VALUE_TOKEN = re.compile(r"\$|€|£|\w+(?:[/.,\-]\w+)*")


def value_tokens(text: str) -> list[str]:
    """Lower-cased tokens for reading values: like `words`, but a decimal comma stays inside its
    number ("1,5 tỷ USD") and currency signs are tokens of their own; not canonicalised
    ("14-12" stays as written, the date reader needs its separator)."""
    return _VALUE_TOKEN.findall(normalize(text).lower())


def lexical_tokens(text: str) -> list[str]:
    """The BM25 vocabulary of a text: folded syllables, plus the parts of compound tokens.

    Folding both the passages and the query makes "ai gap nhau o geneva" match
    "ai gặp nhau ở Geneva"; a question with diacritics folds the same way.
    """
    out: list[str] = []
    for token in _TOKEN.findall(normalize(text).lower()):
        out.extend(_terms(token))
    return out


# Between two tokens, what ends a phrase for lexical_terms: clause punctuation, a line end.
_CLAUSE = re.compile(r"[.,;:!?()\[\]\"“”…\n]")


def lexical_terms(text: str) -> tuple[list[str], list[str]]:
    """`lexical_tokens(text)`, and the pairs of adjacent tokens within a clause as "a b" (each
    token's folded form): Vietnamese words are mostly two syllables, and a folded syllable
    alone is often many words ("hoa kỳ" the US, "tây du ký" a novel, share "ky"); a pair pins
    the word down."""
    text = normalize(text).lower()
    tokens: list[str] = []
    pairs: list[str] = []
    last, last_end = "", -1
    for m in _TOKEN.finditer(text):
        terms = _terms(m.group(0))
        tokens.extend(terms)
        if last_end >= 0 and not _CLAUSE.search(text, last_end, m.start()):
            pairs.append(f"{last} {terms[0]}")
        last, last_end = terms[0], m.end()
    return tokens, pairs


def lexical_bigrams(text: str) -> list[str]:
    """The pairs of adjacent tokens of `lexical_terms`."""
    return lexical_terms(text)[1]


@lru_cache(maxsize=500_000)
def _terms(token: str) -> tuple[str, ...]:
    # A corpus has far fewer distinct tokens than tokens: folding each distinct
    # one once made building BM25 over 10,000 chunks 2.6x faster (bench/run.py).
    folded = fold(_canonical(token))
    if any(sep in folded for sep in "/.-"):
        return (folded, *(p for p in re.split(r"[/.\-]", folded) if p))
    return (folded,)


@dataclass(frozen=True)
class Span:
    """A sentence and where it sits, as character offsets into its source text."""

    text: str
    start: int
    end: int


# Shorter "sentences" are captions and bylines ("Ảnh: AFP/TTXVN"), never an answer: evidence
# scoring skips them, and ingestion stores no vector for them.
MIN_SENTENCE_WORDS = 6

_SENTENCE_END = ".!?…"
_CLOSERS = "\"'”’»)]"


def _opens_sentence(text: str, k: int) -> bool:
    """Does a sentence start at text[k]: an upper-case letter, a digit, an opening quote, or a
    dash before one? "…vũ khí, đạn dược... - đã hạ cánh" goes on after the dash."""
    if text[k] in "-–":
        k += 1
        while k < len(text) and text[k] in " \t":
            k += 1
        if k == len(text):
            return True
    ch = text[k]
    return ch.isupper() or ch.isdigit() or ch in "\"“‘«("


def sentences(text: str, offset: int = 0) -> list[Span]:
    """Split into sentences, keeping exact character offsets.

    A sentence ends at a newline, or at . ! ? … (plus closing quotes) followed by
    white space and an upper-case letter, a digit or an opening quote (a dash
    too, when one of those follows it). That keeps "USS Harry S.Truman",
    "21/1/2022." and "đạn dược... - đã hạ cánh" whole.
    """
    spans: list[Span] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        boundary_end = None
        if ch == "\n":
            boundary_end = i
        elif ch in _SENTENCE_END:
            j = i + 1
            while j < n and text[j] in _CLOSERS:
                j += 1
            k = j
            while k < n and text[k] in " \t":
                k += 1
            if k == n or (k > j and _opens_sentence(text, k)) or k < n and text[k] == "\n":
                boundary_end = j
        if boundary_end is not None:
            _append_span(spans, text, start, boundary_end, offset)
            start = boundary_end
            i = max(i + 1, boundary_end)
            continue
        i += 1
    _append_span(spans, text, start, n, offset)
    return spans


def _append_span(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    s = start + lead
    spans.append(Span(stripped, offset + s, offset + s + len(stripped)))
