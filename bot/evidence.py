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
  with a top passage (bot.topic.TopicOverlap); off-topic questions share
  almost none, whatever their language.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.anchors import anchor_found, required
from bot.expect import Expectation, exactly, satisfied
from bot.lexical import BM25Index
from bot.lexicon import STOPWORDS
from bot.query import Query, as_query
from bot.retrieve import Hit
from bot.tables import read_table
from bot.text import MIN_SENTENCE_WORDS, fold, lexical_tokens, normalize, sentences, words
from bot.tuning import TUNING

MIN_WORDS = MIN_SENTENCE_WORDS  # captions and bylines are shorter (bot.text)
W = TUNING.weighing  # the weights, with the measurements behind them (bot/tuning.py)
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
    exact: frozenset[str] = frozenset()  # … of those, held in the very unit, dimension or noun asked
    caption: bool = False
    before: str = ""  # the sentence right before it in the article (its subject is often there)
    passage: str = ""  # the whole retrieved chunk it sits in (where a question's setting may be named)
    article: str = ""  # its whole article, when known (bot.lexical.BM25Index.article): its subject is named there


@dataclass
class Judgement:
    answerable: bool
    reason: str
    anchors: list[str]
    anchors_found: list[str]
    overlap: float | None  # sparse term overlap with the best passage (see bot.topic.TopicOverlap)
    value_missing: bool = False  # on topic, but no sentence holds the kind of value asked for
    # Not about the articles at all: nothing retrieved, off the passages' topic, or none of its names
    # there. Refused before any model sees the passages; other refusals a configured model may overrule.
    off_topic: bool = False


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
                Evidence(
                    span.text, hit.source, span.start, span.end, hit.doc.id or "", rank,
                    caption=caption, before=before, passage=hit.doc.page_content,
                )
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


def score_sentences(question: Query | str, items: list[Evidence], embeddings: Embeddings, lexical: BM25Index) -> list[Evidence]:
    """Score sentences by embedding similarity, key-term overlap, their chunk's rank and
    whether they hold the kind of value asked for; best first."""
    if not items:
        return []
    query = as_query(question)
    wanted = query.expects
    terms = query.content
    for e in items:
        e.answers = satisfied(e.text, wanted)
    if len(items) > W.max_candidates:
        # Embedding a sentence is the costly step: keep those from the best
        # chunks, those sharing the question's words, and those holding the
        # kind of value it asks for.
        present = [set(lexical_tokens(e.text)) for e in items]
        order = sorted(range(len(items)), key=lambda i: (-sum(t in present[i] for t in terms), items[i].chunk_rank))
        holders = [i for i in order if items[i].answers & wanted.strict][: W.max_candidates // 2]
        keep = list(dict.fromkeys(holders + order))
        items = [items[i] for i in sorted(keep[:W.max_candidates])]
    vector = np.asarray(query.vector(embeddings))
    matrix = np.asarray(embeddings.embed_documents([e.text for e in items]))
    sims = matrix @ vector
    weights = {t: lexical.idf(t) for t in terms if t in lexical}
    # An English question's words under their Vietnamese phrases (bot.glossary): a phrase
    # weighs its rarest syllable's idf, and a word is held once, by its best phrase there.
    glossed = [
        {" ".join(p): max(lexical.idf(s) for s in p) for p in word if all(s in lexical for s in p)}
        for word in query.glossed
    ]
    glossed = [word for word in glossed if word]
    total = sum(weights.values()) + sum(max(word.values()) for word in glossed)
    spread = float(sims.max() - sims.min()) or 1.0
    for e, sim in zip(items, sims):
        e.dense = float(sim)
        tokens = lexical_tokens(e.text)
        present, joined = set(tokens), f" {' '.join(tokens)} "
        held = sum(w for t, w in weights.items() if t in present) + sum(
            max((w for p, w in word.items() if f" {p} " in joined), default=0.0) for word in glossed
        )
        e.lexical = held / total if total else 0.0
        relative = (e.dense - float(sims.min())) / spread
        e.relevance = relative + W.lexical_weight * e.lexical + W.rank_weight / math.sqrt(e.chunk_rank)
    _continue_subjects(items)
    return rerank(items, wanted)


def rerank(items: list[Evidence], wanted: Expectation) -> list[Evidence]:
    """Score scored sentences again for what one question (or one part of it) asks for; best first.

    The relevance stays; only the bonus for holding the asked-for value changes,
    so each part of "when …, and how long …" finds its own sentence.
    """
    for e in items:
        e.answers = satisfied(e.text, wanted)
        e.exact = exactly(e.text, wanted) if e.answers else frozenset()
        covered = len(e.answers) / len(wanted.kinds) if wanted.kinds else 0.0
        exact = len(e.exact) / len(wanted.kinds) if wanted.kinds else 0.0
        e.score = e.relevance + W.answer_bonus * covered + W.exact_bonus * exact - W.caption_penalty * e.caption
    return sorted(items, key=lambda e: -e.score)


def covers(e: Evidence, phrases: list[tuple[str, ...]], lang: str, settings: tuple = (), passage: bool = False) -> bool:
    """Does the sentence (with the one before it, which often names its subject) hold at least
    half of the question's names and numbers? A sentence holding the asked-for value is an
    answer only about what the question names: where Austin met Reznikov is not answered by a
    place in a sentence about someone else."""
    return not phrases or anchor_share(e, phrases, lang, settings, passage) >= math.ceil(len(phrases) / 2) / len(phrases)


def anchor_share(
    e: Evidence, phrases: list[tuple[str, ...]], lang: str, settings: tuple = (), passage: bool = False
) -> float:
    """The share of the question's names and numbers the sentence (with the one before it) holds;
    a place the question is set in (`settings`: "ở Sa Pa") may be named anywhere in its passage, and
    with `passage` every name may be named anywhere in its article (an article names its subject
    once: "vắc xin Nanocovax", then "vắc xin", "tình nguyện viên")."""
    if not phrases:
        return 1.0
    tokens = [fold(t) for t in words(f"{e.before} {e.text} {(e.article or e.passage) if passage else ''}")]
    text_tokens, vocabulary = f" {' '.join(tokens)} ", set(tokens)
    if settings:
        passage = f" {' '.join(fold(t) for t in words(e.passage))} "
        phrases = [a for a in phrases if not (a in settings and f" {' '.join(a)} " in passage)]
    phrases = required(phrases, text_tokens, lang)
    if not phrases:
        return 1.0
    # News prose gives a name in full once, then the surname alone ("Lavrov"): a name's last word counts.
    found = sum(
        anchor_found(a, text_tokens, vocabulary, lang) or (len(a) > 1 and a[-1] in vocabulary and a[-1] not in STOPWORDS)
        for a in phrases
    )
    return found / len(phrases)


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
                e.relevance = max(e.relevance, W.continuation * relevance)


def holds_asked_value(
    ranked: list[Evidence], wanted: Expectation, phrases: list[tuple[str, ...]] | None = None, lang: str = "en"
) -> bool:
    """Does a sentence about the question hold a value of a kind it asks for (a count, a date…),
    and name what the question names (`phrases`, see `covers`)? For a question about a plan,
    the value must sit in a clause announcing it (`fills_plan_slot`)."""
    if not wanted.strict or not ranked:
        return True
    best = max(e.relevance for e in ranked)
    ahead = asks_plan(wanted.question)
    return any(
        e.answers & wanted.strict
        # A value in the very unit asked ("90 Hz" for a refresh rate) answers from a sentence
        # worded unlike the question; any value of the kind, only from one about as relevant as the best.
        and e.relevance >= (W.exact_share if e.exact & wanted.strict else W.relevant_share) * best
        and covers(e, phrases or [], lang)
        and (not ahead or fills_plan_slot(e.text, wanted))
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


def asks_plan(question: str) -> bool:
    """Does the question ask about something still to come ("Where will the next round be held?")?"""
    t = _tense()
    q = normalize(question)
    return bool(t["plan_q"].search(q)) and not (t["past_en"].search(q) or t["past_vi"].search(q))


def fills_plan_slot(sentence: str, wanted: Expectation) -> bool:
    """Does a clause announcing something to come hold the asked-for value?

    "RIA, citing the delegation at the talks in Geneva, said Moscow and Washington
    may hold the next meeting next month": Geneva is where the talks were, the
    next meeting has no place yet. The value and the announcement must share a clause.
    """
    t = _tense()
    clauses = t["clause"].split(normalize(sentence))
    return any(c and t["ahead"].search(c) and satisfied(c, wanted) & wanted.strict for c in clauses)


def plan_only(sentence: str) -> bool:
    """Does the sentence only announce something to come ("sẽ nối lại đàm phán")?"""
    t = _tense()
    return bool(t["plan"].search(sentence)) and not t["done"].search(sentence)


def judge(
    question: Query | str,
    ranked: list[Evidence],
    hits: list[Hit],
    lang: str | None = None,
    overlap: float | None = None,
    min_overlap: float = 0.2,
) -> Judgement:
    """Do the retrieved sentences answer the question at all?"""
    query = as_query(question)
    lang = lang or query.lang
    tokens: list[str] = []
    for hit in hits:
        tokens.extend(fold(t) for t in words(hit.doc.page_content))
    text_tokens = f" {' '.join(tokens)} "
    vocabulary = set(tokens)
    wanted = required(list(query.anchors), text_tokens, lang)
    found = [a for a in wanted if anchor_found(a, text_tokens, vocabulary, lang)]
    names = [" ".join(a) for a in wanted]
    found_names = [" ".join(a) for a in found]
    if not ranked:
        return Judgement(False, "nothing retrieved", names, [], overlap, off_topic=True)
    # Names weigh apart from numbers: a year found ("2022") does not make up for the missing
    # name of what is asked about ("Who won the 2022 FIFA World Cup final?").
    proper = [a for a in wanted if not any(c.isdigit() for c in " ".join(a))]
    lacking = [a for group in (wanted, proper) if group for a in group
               if sum(a2 in found for a2 in group) < math.ceil(len(group) / 2) and a not in found]
    if lacking:
        missing = list(dict.fromkeys(" ".join(a) for a in lacking))
        return Judgement(
            False, f"not in the retrieved text: {', '.join(missing)}", names, found_names, overlap, off_topic=not found
        )
    # A question whose every name occurs as written in the articles is about
    # them ("Who is Wendy Sherman?") even when its few words share little else.
    named = bool(wanted) and len(found) == len(wanted) and any(f" {' '.join(a)} " in text_tokens for a in wanted)
    if named:
        min_overlap /= 2
    if overlap is not None and overlap < min_overlap:
        return Judgement(
            False, f"off-topic (term overlap {overlap:.2f} < {min_overlap})", names, found_names, overlap, off_topic=True
        )
    asked = query.expects
    if not holds_asked_value(ranked, asked, wanted, lang):
        # On topic, naming what the question names, yet no sentence holds the kind of value it asks
        # for: the closest passage is shown, saying it may not answer exactly, never refused (an
        # answerable question worded unlike its article must not get "the articles don't say").
        missing = " or ".join(sorted(asked.strict))
        return Judgement(True, f"no {missing} in the sentences about it", names, found_names, overlap, value_missing=True)
    if not asked.strict and asks_done(query.text) and wanted and plan_only(ranked[0].text) and covers(ranked[0], wanted, lang):
        # "What did they agree in Paris on 25/1?" when the best sentence, naming Paris and
        # 25/1, only says talks will be held there. A "will" sentence that names nothing the
        # question does is a weak match about something else, not the asked event's plan.
        return Judgement(False, "the articles only announce it as planned", names, found_names, overlap)
    return Judgement(True, "ok", names, found_names, overlap)
