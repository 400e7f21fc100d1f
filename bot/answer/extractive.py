"""The zero-setup answerer: quote the sentences that answer, and cite each one."""

from __future__ import annotations

from bot.answer import Answer, Citation
from bot.evidence import Evidence
from bot.prompts import message


def choose(ranked: list[Evidence], max_sentences: int = 2, close: float = 0.85) -> list[Evidence]:
    """The best sentence, plus runners-up that score close to it and add something.

    A second sentence earns its place only when it is near the best one's
    score and says something the first does not (a question spanning two
    passages); otherwise one sentence is the short answer.
    """
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    for e in ranked[1:]:
        if len(chosen) >= max_sentences:
            break
        if e.score < close * best.score:
            break
        if e.text in best.text or best.text in e.text:
            continue
        chosen.append(e)
    # Read in article order when the quotes come from one article.
    return sorted(chosen, key=lambda e: (e.source, e.start)) if len({e.source for e in chosen}) == 1 else chosen


def extractive_answer(ranked: list[Evidence], lang: str, max_sentences: int = 2) -> Answer:
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
