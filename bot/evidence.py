"""Sentence evidence: which retrieved sentences answer a question, and whether any does.

Both answerers use it: the extractive answerer quotes the best sentences, and
the LLM answerer is given only those sentences (a small model on 2 cores reads
~70 prompt tokens a second, so whole chunks would cost the user seconds).

The refusal decision rests on two signals, never on a fixed cosine threshold
(e5 similarities sit in a narrow band for any text):
- anchors: the names, numbers and dates a question asks about must occur in
  the retrieved text (a question about "Macron" is not answered by a passage
  about Putin, however similar the embedding says they are);
- topic overlap: the question must share enough of e5's sparse latent terms
  with a top passage (bot.embed.TopicOverlap); off-topic questions share
  almost none, whatever their language.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.expect import Expectation, expectation, satisfied
from bot.lexical import BM25Index
from bot.retrieve import Hit
from bot.tables import read_table
from bot.text import fold, lexical_tokens, normalize, sentences, words

# Function words carry no evidence; folded, so "gì" and "gi" are one entry.
STOPWORDS = set(
    ["a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "about", "and", "or", "but", "is", "are", "was", "were", "be", "been", "being", "do", "does", "did", "what", "who", "whom", "whose", "when", "where", "which", "why", "how", "many", "much", "that", "this", "these", "those", "it", "its", "they", "them", "their", "he", "she", "his", "her", "we", "you", "i", "me", "my", "our", "your", "there", "here", "as", "into", "than", "then", "so", "not", "no", "yes", "if", "will", "would", "can", "could", "should", "may", "might", "has", "have", "had", "say", "said", "says", "tell", "told", "according", "article", "articles", "news", "report", "reported", "ai", "gi", "nao", "sao", "bao", "nhieu", "dau", "khi", "nhu", "the", "nay", "do", "kia", "la", "co", "khong", "duoc", "cua", "va", "voi", "trong", "cho", "ve", "tai", "vi", "da", "se", "dang", "mot", "cac", "nhung", "nhieu", "it", "hon", "nua", "cung", "con", "thi", "ma", "neu", "nen", "hay", "hoac", "boi", "den", "tu", "ra", "vao", "len", "xuong", "ong", "ba", "anh", "chi", "ho", "no", "minh", "chung", "toi", "ta", "day", "o", "ngay", "thang", "nam"]
)
# Capitalised in English questions, yet not names: "President", "Foreign Minister".
TITLES = set(
    ["president", "prime", "minister", "foreign", "secretary", "general", "state", "defense", "defence", "ministry", "council", "chancellor", "spokesman", "spokesperson", "ambassador", "deputy", "chief", "head", "leader", "official", "officials", "army", "navy", "air", "force", "mr", "mrs", "ms", "dr", "sir", "government", "news", "agency", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"]
)
_NUMERIC = re.compile(r"\d")
# Shorter "sentences" are captions and bylines ("Ảnh: AFP/TTXVN"), never an answer.
MIN_WORDS = 6
MAX_CANDIDATES = 16
# A sentence holding the kind of value asked for ("how many" -> a count of the
# thing asked about) gains this much, in proportion to the kinds it covers.
ANSWER_BONUS = 0.5
# A photo caption repeats the story's names and dates but says little; it
# answers only when nothing else does.
CAPTION_PENALTY = 0.4
# For the refusal check, a sentence holding the asked-for value must also be
# about the question: at least this share of the best sentence's relevance.
RELEVANT_SHARE = 0.5
# News prose names its subject once and continues it in the next sentence
# ("Neptune Strike will start… The exercise will last 12 days."): a sentence
# holding the asked-for value borrows this share of its predecessor's relevance.
CONTINUATION = 0.8
_PHOTO_CREDIT = re.compile(r"^\s*\(?\s*(ảnh|photo|nguồn ảnh)\s*:", re.I)
_INLINE_CREDIT = re.compile(r"\(\s*(ảnh|photo)\s*:|\((phải|trái|giữa)\)", re.I)


@dataclass
class Evidence:
    text: str
    source: str
    start: int  # offsets into the article
    end: int
    chunk_id: str
    chunk_rank: int  # 1-based rank of the chunk it came from
    dense: float = 0.0
    lexical: float = 0.0  # idf-weighted share of the question's content terms it contains
    relevance: float = 0.0  # dense + lexical + chunk rank: how much it is about the question
    score: float = 0.0  # relevance, plus holding the asked-for value, less being a caption
    answers: frozenset[str] = frozenset()  # the asked-for kinds of value it holds (bot.expect)
    caption: bool = False
    before: str = ""  # the sentence right before it in the article (its subject is often there)


@dataclass
class Judgement:
    answerable: bool
    reason: str
    anchors: list[str]
    anchors_found: list[str]
    overlap: float | None  # sparse term overlap with the best passage (see bot.embed.TopicOverlap)
    value_missing: bool = False  # on topic, but no sentence holds the kind of value asked for


def anchors(question: str) -> list[tuple[str, ...]]:
    """Names, numbers and dates in a question, folded: what an answer must be about.

    Consecutive capitalised words form one name ("Hà Nội" is one place, not the
    common syllables "hà" and "nội"). A capitalised first word is not taken for
    a name (every question starts with one) unless it is an acronym.
    """
    phrases: list[tuple[str, ...]] = []
    current: list[str] = []
    raw: list[str] = []
    for token in re.findall(r"\w+(?:[/.\-]\w+)*", normalize(question)):
        # "NATO-Russia" names two things, "S-400" and "21/1" one.
        raw.extend([token] if _NUMERIC.search(token) else [p for p in token.split("-") if p])
    for i, token in enumerate(raw):
        folded = fold(token)
        is_number = bool(_NUMERIC.search(token))
        is_name = (i > 0 and token[0].isupper()) or (len(token) > 1 and token.isupper())
        if (is_name or is_number) and folded not in STOPWORDS | TITLES:
            if is_number:
                phrases.append((_canonical_date(folded),))
            else:
                current.append(folded)
                continue
        if current:
            phrases.append(tuple(current))
            current = []
    if current:
        phrases.append(tuple(current))
    return list(dict.fromkeys(phrases))


def _canonical_date(token: str) -> str:
    return words(token)[0] if words(token) else token


def exonyms() -> dict[str, list[str]]:
    """English place names -> their Vietnamese spellings (folded), from bot/data/exonyms.tsv."""
    return read_table("exonyms.tsv")


def anchor_found(phrase: tuple[str, ...], text_tokens: str, vocabulary: set[str], lang: str) -> bool:
    """Is this name or number in the retrieved text?

    Vietnamese questions spell names as the articles do, so the whole name must
    occur. English questions name places in English ("Finland" for "Phần Lan")
    and add titles the articles word differently ("President Putin" for "Tổng
    thống Nga Vladimir Putin"), so there an exonym or one distinctive word of
    the name is enough, and titles alone are no name.
    """
    if f" {' '.join(phrase)} " in text_tokens:
        return True
    if lang != "en":
        return False
    spellings = exonyms().get(" ".join(phrase), []) + [s for t in phrase for s in exonyms().get(t, [])]
    if any(f" {s} " in text_tokens for s in spellings):
        return True
    return len(phrase) > 1 and any(t in vocabulary and len(t) > 2 and t not in STOPWORDS | TITLES for t in phrase)


def content_terms(question: str) -> list[str]:
    return [t for t in dict.fromkeys(lexical_tokens(question)) if t not in STOPWORDS]


def collect(hits: list[Hit]) -> list[Evidence]:
    """Every sentence of the retrieved chunks, once, with offsets into its article."""
    seen: set[tuple[str, int]] = set()
    out: list[Evidence] = []
    for rank, hit in enumerate(hits, start=1):
        chunk_start = int(hit.doc.metadata.get("start", 0))
        previous = ""
        for span in sentences(hit.doc.page_content, offset=chunk_start):
            before, previous = previous, span.text
            key = (hit.source, span.start)
            # Overlapping chunks repeat sentences; a fragment cut by the chunk
            # boundary is also covered by its neighbour.
            if key in seen or len(span.text.split()) < MIN_WORDS:
                continue
            seen.add(key)
            after = hit.doc.page_content[span.end - chunk_start : span.end - chunk_start + 20]
            caption = bool(_PHOTO_CREDIT.match(after) or _INLINE_CREDIT.search(span.text))
            out.append(
                Evidence(span.text, hit.source, span.start, span.end, hit.doc.id or "", rank, caption=caption, before=before)
            )
    return _drop_fragments(out)


def _drop_fragments(items: list[Evidence]) -> list[Evidence]:
    """Drop a sentence that lies inside a longer one from the same article."""
    keep = []
    for e in items:
        inside = any(
            o is not e and o.source == e.source and o.start <= e.start and e.end <= o.end and (o.end - o.start) > (e.end - e.start)
            for o in items
        )
        if not inside:
            keep.append(e)
    return keep


def score(question: str, items: list[Evidence], embeddings: Embeddings, lexical: BM25Index) -> list[Evidence]:
    """Score sentences by embedding similarity, key-term overlap, their chunk's rank and
    whether they hold the kind of value asked for; best first."""
    if not items:
        return []
    wanted = expectation(question)
    terms = content_terms(question)
    for e in items:
        e.answers = satisfied(e.text, wanted)
    if len(items) > MAX_CANDIDATES:
        # Embedding a sentence is the costly step: keep those from the best
        # chunks, those sharing the question's words, and those holding the
        # kind of value it asks for.
        present = [set(lexical_tokens(e.text)) for e in items]
        order = sorted(range(len(items)), key=lambda i: (-sum(t in present[i] for t in terms), items[i].chunk_rank))
        holders = [i for i in order if items[i].answers & wanted.strict][: MAX_CANDIDATES // 2]
        keep = list(dict.fromkeys(holders + order))
        items = [items[i] for i in sorted(keep[:MAX_CANDIDATES])]
    query = np.asarray(embeddings.embed_query(question))
    matrix = np.asarray(embeddings.embed_documents([e.text for e in items]))
    sims = matrix @ query
    weights = {t: lexical.idf(t) for t in terms if t in lexical}
    total = sum(weights.values())
    spread = float(sims.max() - sims.min()) or 1.0
    for e, sim in zip(items, sims):
        e.dense = float(sim)
        present = set(lexical_tokens(e.text))
        e.lexical = sum(w for t, w in weights.items() if t in present) / total if total else 0.0
        relative = (e.dense - float(sims.min())) / spread
        e.relevance = relative + 0.8 * e.lexical + 0.25 / math.sqrt(e.chunk_rank)
    _continue_subjects(items)
    return rerank(items, wanted)


def rerank(items: list[Evidence], wanted: Expectation) -> list[Evidence]:
    """Score scored sentences again for what one question (or one part of it) asks for; best first.

    The relevance stays; only the bonus for holding the asked-for value changes,
    so each part of "when …, and how long …" finds its own sentence.
    """
    for e in items:
        e.answers = satisfied(e.text, wanted)
        covered = len(e.answers) / len(wanted.kinds) if wanted.kinds else 0.0
        e.score = e.relevance + ANSWER_BONUS * covered - CAPTION_PENALTY * e.caption
    return sorted(items, key=lambda e: -e.score)


def covers(e: Evidence, phrases: list[tuple[str, ...]], lang: str) -> bool:
    """Does the sentence (with the one before it, which often names its subject) hold at least
    half of the question's names and numbers? A sentence holding the asked-for value is an
    answer only about what the question names: where Austin met Reznikov is not answered by a
    place in a sentence about someone else."""
    if not phrases:
        return True
    tokens = [fold(t) for t in words(f"{e.before} {e.text}")]
    text_tokens, vocabulary = f" {' '.join(tokens)} ", set(tokens)
    # News prose gives a name in full once, then the surname alone ("Lavrov"): a name's last word counts.
    found = sum(
        anchor_found(a, text_tokens, vocabulary, lang) or (len(a) > 1 and a[-1] in vocabulary and a[-1] not in STOPWORDS)
        for a in phrases
    )
    return found >= math.ceil(len(phrases) / 2)


def follows(later: Evidence, earlier: Evidence) -> bool:
    """Is `later` the sentence right after `earlier` in the same article?"""
    return later.source == earlier.source and 0 <= later.start - earlier.end <= 3


def _continue_subjects(items: list[Evidence]) -> None:
    """Let a value-holding sentence borrow relevance from the sentence right before it (one step only)."""
    own = [e.relevance for e in items]
    for e in items:
        if not e.answers:
            continue
        for p, relevance in zip(items, own):
            if follows(e, p):
                e.relevance = max(e.relevance, CONTINUATION * relevance)


def holds_asked_value(
    ranked: list[Evidence], wanted: Expectation, phrases: list[tuple[str, ...]] | None = None, lang: str = "en"
) -> bool:
    """Does a sentence about the question hold a value of a kind it asks for (a count, a date…),
    and name what the question names (`phrases`, see `covers`)?"""
    if not wanted.strict or not ranked:
        return True
    best = max(e.relevance for e in ranked)
    return any(
        e.answers & wanted.strict and e.relevance >= RELEVANT_SHARE * best and covers(e, phrases or [], lang)
        for e in ranked
    )


@cache
def _tense() -> dict[str, re.Pattern]:
    return {k: re.compile("|".join(v), re.I) for k, v in read_table("tense.tsv").items()}


def asks_done(question: str) -> bool:
    """Does the question ask about something that happened ("What did they agree?"), not a plan?"""
    t = _tense()
    q = normalize(question)
    return bool((t["past_en"].search(q) or t["past_vi"].search(q)) and not t["future_q"].search(q))


def plan_only(sentence: str) -> bool:
    """Does the sentence only announce something to come ("sẽ nối lại đàm phán")?"""
    t = _tense()
    return bool(t["plan"].search(sentence)) and not t["done"].search(sentence)


def judge(
    question: str,
    ranked: list[Evidence],
    hits: list[Hit],
    lang: str = "en",
    overlap: float | None = None,
    min_overlap: float = 0.2,
) -> Judgement:
    """Do the retrieved sentences answer the question at all?"""
    wanted = anchors(question)
    tokens: list[str] = []
    for hit in hits:
        tokens.extend(fold(t) for t in words(hit.doc.page_content))
    text_tokens = f" {' '.join(tokens)} "
    vocabulary = set(tokens)
    found = [a for a in wanted if anchor_found(a, text_tokens, vocabulary, lang)]
    names = [" ".join(a) for a in wanted]
    found_names = [" ".join(a) for a in found]
    if not ranked:
        return Judgement(False, "nothing retrieved", names, [], overlap)
    if wanted and len(found) < math.ceil(len(wanted) / 2):
        missing = [" ".join(a) for a in wanted if a not in found]
        return Judgement(False, f"not in the retrieved text: {', '.join(missing)}", names, found_names, overlap)
    # A question whose every name occurs as written in the articles is about
    # them ("Who is Wendy Sherman?") even when its few words share little else.
    named = bool(wanted) and len(found) == len(wanted) and any(f" {' '.join(a)} " in text_tokens for a in wanted)
    if named:
        min_overlap /= 2
    if overlap is not None and overlap < min_overlap:
        return Judgement(False, f"off-topic (term overlap {overlap:.2f} < {min_overlap})", names, found_names, overlap)
    asked = expectation(question)
    if not holds_asked_value(ranked, asked, wanted, lang):
        missing = " or ".join(sorted(asked.strict))
        return Judgement(False, f"no {missing} in the sentences about it", names, found_names, overlap, value_missing=True)
    if not asked.strict and asks_done(question) and plan_only(ranked[0].text):
        # "What did they agree in Paris?" when the articles only say talks will be held there.
        return Judgement(False, "the articles only announce it as planned", names, found_names, overlap)
    return Judgement(True, "ok", names, found_names, overlap)
