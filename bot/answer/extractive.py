"""The zero-setup answerer: quote the sentences that answer, and cite each one."""

from __future__ import annotations

from bot.answer import Answer, Citation
from bot.evidence import Evidence, follows
from bot.prompts import message


def choose(ranked: list[Evidence], max_sentences: int = 3, close: float = 0.85, follow: float = 0.6) -> list[Evidence]:
    """The best sentence, plus at most two that complete it.

    News prose names its subject in one sentence and goes on about it in the
    next ("Ryabkov said … Asked about these steps, he said it all depends on
    …"), so the sentence right after the best one joins it when it is fairly
    relevant on its own (`follow` of the best score). Runners-up join only when
    they score close to the best and say something it does not (a question
    spanning two passages or two files); else one sentence is the short answer.
    """
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    others = [e for e in ranked[1:] if e.text not in best.text and best.text not in e.text]
    nxt = next((e for e in others if follows(e, best)), None)
    if nxt is not None and nxt.score >= follow * best.score and not nxt.caption:
        chosen.append(nxt)
    for e in others:
        if len(chosen) >= max_sentences or e.score < close * best.score:
            break
        if e not in chosen:
            chosen.append(e)
    # Read in article order when the quotes come from one article.
    return sorted(chosen, key=lambda e: (e.source, e.start)) if len({e.source for e in chosen}) == 1 else chosen


def extractive_answer(ranked: list[Evidence], lang: str, max_sentences: int = 3) -> Answer:
    chosen = choose(ranked, max_sentences)
    citations = [
        Citation(n=i, source=e.source, quote=e.text, start=e.start, end=e.end, chunk_id=e.chunk_id)
        for i, e in enumerate(chosen, start=1)
    ]
    body = " ".join(f"“{c.quote}” [{c.n}]" for c in citations)
    return Answer(
        text=f"{message('lead_in', lang)} {body}",
        citations=citations,
        mode="extractive",
        lang=lang,
        answerer="extractive",
    )
