"""The zero-setup answerer: quote the sentences that answer, and cite each one.

When the question asks who / when / where / how many / how much / how long, the
span of the quoted sentence that holds it comes first (bot.short), in words a
reader of either language can use. A question in several parts ("When does it
begin, and how long will it last?") gets one quote per part.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache

from bot.anchors import anchors
from bot.answer import Answer, Citation
from bot.evidence import Evidence, anchor_share, covers, follows, rerank
from bot.expect import expectation
from bot.prompts import message
from bot.query import Query, as_query
from bot.short import KINDS, Short, held, short_answer, spans
from bot.tables import read_table
from bot.text import fold, lexical_tokens, words
from bot.tuning import TUNING
from bot.values import mentions

_MARKERS = re.compile(r"\s*\[\d+\]")


def choose(
    ranked: list[Evidence],
    max_sentences: int = TUNING.quoting.max_sentences,
    close: float = TUNING.quoting.close,
    follow: float = TUNING.quoting.follow,
    question: Query | str = "",
    lang: str = "vi",
) -> list[Evidence]:
    """The best sentence, plus at most two that complete it.

    News prose names its subject in one sentence and goes on about it in the
    next ("Ryabkov said … Asked about these steps, he said it all depends on
    …"), so the sentence right after the best one joins it when it is fairly
    relevant on its own (`follow` of the best score). Runners-up join only when
    they score close to the best and, when they come from another article, say
    something the chosen ones do not: a word or name of the question, or
    another value of the kind it asks for (a second candidate person, date…).
    A runner-up from another article that only repeats what the best one holds
    is that article's telling of the same fact, and citing it points the reader
    at a second file for nothing.
    """
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    others = [e for e in ranked[1:] if e.text not in best.text and best.text not in e.text]
    nxt = next((e for e in others if follows(e, best)), None)
    if nxt is not None and nxt.score >= follow * best.score and not nxt.caption:
        chosen.append(nxt)
    query = as_query(question) if question else None
    terms_seen: set[str] = set()
    values_seen: set[str] = set()
    for c in chosen if query else ():
        terms, values = _held(c, query, lang)
        terms_seen |= terms
        values_seen |= values
    for e in others:
        if len(chosen) >= max_sentences or e.score < close * best.score:
            break
        if e in chosen:
            continue
        if query:
            terms, values = _held(e, query, lang)
            # Once a value fills the slot, another article's other value competes with it, it does not complete it.
            adds = (terms - terms_seen) or (values if not values_seen else set())
            if e.source not in {c.source for c in chosen} and not adds:
                continue
            terms_seen |= terms
            values_seen |= values
        chosen.append(e)
    # Read in article order when the quotes come from one article.
    return sorted(chosen, key=lambda e: (e.source, e.start)) if len({e.source for e in chosen}) == 1 else chosen


def _held(e: Evidence, query: Query, lang: str) -> tuple[set[str], set[str]]:
    """(the question's content words and names the sentence holds, its values of the asked-for kinds), folded."""
    tokens = [fold(t) for t in words(e.text)]
    text = f" {' '.join(tokens)} "
    present = set(lexical_tokens(e.text)) | set(tokens)
    names = {" ".join(a) for a in query.anchors}
    terms = {t for t in set(query.content) | names if (f" {t} " in text if " " in t else t in present)}
    return terms, {fold(s.text) for s in spans(query.text, e.text, lang)}


# -- questions in several parts ------------------------------------------------------


@cache
def _splitters() -> tuple[re.Pattern, re.Pattern]:
    table = read_table("question_words.tsv")
    qwords = re.compile(r"\b(" + "|".join(re.escape(w) for w in table["en"] + table["vi"]) + r")\b")
    conj = re.compile(r"\s*,\s*(?:(?:" + "|".join(table["conjunctions"]) + r")\s+)?|\s+(?:" + "|".join(table["conjunctions"]) + r")\s+")
    return qwords, conj


def parts(question: str) -> list[str]:
    """The parts of a question that each ask for their own value, split on its conjunctions.

    A clause without a question word of its own ("… Nga và Belarus …", "Besides
    the Finnish president, …") belongs to its neighbour; two parts are kept only
    when at least one of them asks for a kind of value (a date, a place, a count…).
    """
    qwords, conj = _splitters()
    text = question.strip().rstrip("?").strip()
    folded = fold(text)  # same length as `text` for Vietnamese (combining marks dropped after NFC)
    if len(folded) != len(text):
        return [question]
    cuts = [0]
    for m in conj.finditer(folded):
        cuts.extend([m.start(), m.end()])
    cuts.append(len(text))
    segments = [(text[cuts[i] : cuts[i + 1]], folded[cuts[i] : cuts[i + 1]]) for i in range(0, len(cuts), 2)]
    merged: list[str] = []
    pending = ""
    for raw, low in segments:
        if not raw.strip():
            continue
        if qwords.search(low):
            merged.append(f"{pending} {raw}".strip() if pending else raw)
            pending = ""
        elif merged:
            merged[-1] = f"{merged[-1]} {raw}" if not raw.startswith(",") else merged[-1] + raw
        else:
            pending = f"{pending} {raw}".strip()
    if pending:
        merged.append(pending) if not merged else merged.__setitem__(-1, f"{merged[-1]} {pending}")
    if len(merged) < 2 or not any(expectation(p).kinds & set(KINDS) for p in merged):
        return [question]
    return merged


def _best_for(part: str, question: str, ranked: list[Evidence], lang: str, earlier: list[Evidence]) -> Evidence | None:
    """The sentence that best answers one part: relevance to the whole question, the bonus for this part's value.

    A later part that names nothing of its own leans on an earlier one ("…, and
    when was it signed?"): a sentence answering an earlier part, or the one right
    after it, is taken first when it holds this part's value. A part that names
    its own subject ("…, and when did Putin call the Finnish president?") must be
    answered about that subject.
    """
    wanted = expectation(part)
    rescored = rerank([replace(e) for e in ranked], wanted)
    own = anchors(part)
    phrases = own or anchors(question)
    if wanted.strict and not own:
        for e in rescored:
            near = any((e.source, e.start) == (p.source, p.start) or follows(e, p) for p in earlier)
            if near and e.answers & wanted.strict:
                return e
    fit = [e for e in rescored if (not wanted.strict or e.answers & wanted.strict) and covers(e, phrases, lang)]
    if not fit:
        return None
    # Among those about as good as the best, the one holding more of what the part names is
    # more about it: "who headed the delegation in the 10/1 talks with the US" is the sentence
    # naming 10/1, not one of the same article's sentences naming two presidents.
    near = [e for e in fit if e.score >= TUNING.quoting.close * fit[0].score]
    return max(near, key=lambda e: anchor_share(e, phrases, lang))


# -- the answer -------------------------------------------------------------------------


def _about(e: Evidence, query: Query, lang: str) -> bool:
    """Does the sentence hold every name, number and date the question asks about? The sentence
    before it or its passage may give them ("Neptune Strike bắt đầu… Cuộc tập trận kéo dài 12
    ngày"), unless this one names someone else as its actor ("Phút 33, Dzeko…" after a sentence
    about Pogba)."""
    phrases = list(query.anchors)
    if not phrases or anchor_share(replace(e, before=""), phrases, lang, query.settings) == 1.0:
        return True
    if anchor_share(e, phrases, lang, query.settings, passage=True) < 1.0:
        return False
    asked = {t for a in phrases for t in a}
    return not any(
        m.kind in {"person", "name"} and not set(fold(m.text).split()) & asked for m in mentions(e.text)
    )


def _cite(chosen: list[Evidence]) -> list[Citation]:
    return [
        Citation(n=i, source=e.source, quote=e.text, start=e.start, end=e.end, chunk_id=e.chunk_id)
        for i, e in enumerate(chosen, start=1)
    ]


def extractive_answer(
    ranked: list[Evidence],
    lang: str,
    max_sentences: int = TUNING.quoting.max_sentences,
    question: Query | str = "",
    unsure: bool = False,
) -> Answer:
    """The best sentences quoted and cited, the short answer first when one value clearly answers.

    `unsure`: the evidence judge found no sentence about the question holding the kind of value it
    asks for; the closest passage is quoted, saying it may not answer exactly (hedged).
    """
    query = as_query(question) if question else None
    question = query.text if query else ""
    glossed = query.glossed if query else ()
    split = parts(question) if question else []
    short = Short()
    if len(split) >= 2:
        chosen: list[Evidence] = []
        picks: list[tuple[str, Evidence | None]] = []
        for part in split:
            e = _best_for(part, question, ranked, lang, [p for _, p in picks if p is not None])
            picks.append((part, e))
            if e is not None and all((c.source, c.start) != (e.source, e.start) for c in chosen):
                chosen.append(e)
        if not chosen:
            chosen = choose(ranked, max_sentences, question=query or "", lang=lang)
        citations = _cite(chosen)
        index = {(c.source, c.start): c.n for c in citations}
        pieces, quotes = [], []
        for part, e in picks:
            found = spans(part, e.text, lang, glossed=glossed) if e is not None else []
            found = [s for s in found if s.quote not in quotes]  # one value answers two parts only once
            if found:
                pieces.append(f"{'; '.join(s.text for s in found)} [{index[(e.source, e.start)]}]")
                quotes.extend(s.quote for s in found)
            elif e is None and expectation(part).kinds & set(KINDS):
                pieces.append(f"{message('part_missing', lang)}")
        if quotes:
            short = Short("; ".join(pieces), " … ".join(quotes), 1)
        unsure = unsure or all(e is None for _, e in picks)
    else:
        chosen = choose(ranked, max_sentences, question=query or "", lang=lang)
        citations = _cite(chosen)
        if question:
            # The best sentence first: the citations are in article order.
            order = sorted(citations, key=lambda c: next(i for i, e in enumerate(ranked) if e.start == c.start and e.source == c.source))
            # The short answer is the best sentence's (or the one right after it, which goes on about
            # its subject): a value in a weaker sentence is more often another fact's than the answer.
            # Sure only about what the question names: the sentence (with the one before it) must hold
            # every name, number and date it asks about.
            best = ranked[0] if ranked else None
            by_span = {(e.source, e.start): e for e in ranked}
            lead = [
                c.quote for c in order
                if (best is None or (c.source, c.start) == (best.source, best.start)
                    or (c.source == best.source and 0 <= c.start - best.end <= 3))
                and ((c.source, c.start) not in by_span or _about(by_span[(c.source, c.start)], query, lang))
            ]
            found = short_answer(question, lead, lang, glossed=glossed)
            if found:
                cited = next(c for c in order if c.quote == lead[found.cited - 1])
                short = Short(f"{found.text} [{cited.n}]", found.quote, cited.n)
            asked = query.expects.kinds & set(KINDS)
            # Quoted sentences that state no value of the asked kind may not answer; one that states
            # such a value, however unclear which, answers with the quote alone.
            lacks = bool(asked) and not found and not held(question, [c.quote for c in order], asked, glossed)
            unsure = unsure or lacks or (
                bool(ranked) and not covers(ranked[0], list(query.anchors), lang, query.settings, passage=True)
            )
    body = " ".join(f"“{c.quote}” [{c.n}]" for c in citations)
    lead = message("unsure", lang) if unsure else message("lead_in", lang)
    text = f"{lead} {body}"
    if short:
        text = f"{short.text}.\n{text}" if not short.text.endswith(".") else f"{short.text}\n{text}"
    return Answer(
        text=text,
        citations=citations,
        mode="extractive",
        lang=lang,
        answerer="extractive",
        short=_MARKERS.sub("", short.text).strip(),
        short_quote=short.quote,
        flags=["may-not-answer"] if unsure else [],
    )
