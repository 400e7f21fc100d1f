"""The whole path of one question: check -> retrieve -> weigh evidence -> answer -> cite.

`Bot` is opened once per process (the index and models load once) and is safe
to call from the UI's worker threads.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from bot import evidence as ev
from bot.answer import Answer
from bot.answer.extractive import extractive_answer
from bot.casing import truecase, typed_uncased
from bot.embed import make_embeddings
from bot.lang import detect_language
from bot.prompts import message
from bot.query import Query, as_query, parse
from bot.retrieve import Hit, HybridRetriever, RetrieverKind, open_retriever
from bot.settings import Settings, get_settings
from bot.text import clean_input, normalize
from bot.topic import topic_overlap

if TYPE_CHECKING:
    from bot.autodetect import DetectedServer

log = logging.getLogger(__name__)

History = list[tuple[str, str]]  # (user question, bot answer text) pairs, oldest first

# Questions fishing for the bot's own configuration get a refusal before any
# retrieval or model call: nothing about them is in the articles anyway.
_SECRET_REQUEST = re.compile(
    r"(system\s*prompt|api[\s_-]*key|openai_api_key|environment\s+variable|env\s+var|\.env\b|password|"
    r"your\s+(instructions|prompt|configuration)|lời nhắc hệ thống|khóa api|biến môi trường)",
    re.I,
)


def _index_stamp(settings: Settings) -> str:
    from bot.index_dir import generation

    return generation(settings.index_dir)


@dataclass
class Result:
    answer: Answer
    hits: list[Hit] = field(default_factory=list)
    evidence: list[ev.Evidence] = field(default_factory=list)
    judgement: ev.Judgement | None = None
    seconds: float = 0.0


class Bot:
    def __init__(
        self,
        settings: Settings | None = None,
        retriever: HybridRetriever | None = None,
        *,
        server=None,
        embeddings: Embeddings | None = None,
    ) -> None:
        """server: a `bot.autodetect.DetectedServer` to answer with; by default one is looked
        for (BOT_AUTODETECT) only when no LLM is configured. embeddings: the question and
        sentence embedder (by default the configured one; tests pass a fake)."""
        self.settings = settings or get_settings()
        self.embeddings = embeddings or make_embeddings(self.settings)
        # What the index was when opened; `refresh` reopens it when an ingest changed it since.
        self._opened = None if retriever or self.settings.chroma_host else _index_stamp(self.settings)
        self._reopen = threading.Lock()
        self.retriever = retriever or open_retriever(self.settings, embeddings=self.embeddings)
        self._llm = None
        self._llm_error: str | None = None
        self.detected = None  # the local server found by autodetection, when it answers
        self.probed: list[DetectedServer] | None = None  # every local server autodetection found, when it looked
        if self.settings.answer_mode == "extractive":
            return
        if server is None and not self.settings.llm_configured and self.settings.autodetect:
            from bot.autodetect import probe

            # Kept: the UI lists the other servers found as choices, without probing again.
            self.probed = probe(self.settings.probe_ports)
            server = self.probed[0] if self.probed else None
        if server is not None:
            from bot.answer.llm import LLMAnswerer

            found = self.settings.model_copy(
                update={"openai_base_url": server.base_url, "openai_model": server.model, "local_model": None}
            )
            self._llm = LLMAnswerer(found, self.embeddings)
            self._llm.label = server.label()
            self.detected = server
        elif self.settings.llm_configured:
            from bot.answer.llm import LLMAnswerer

            self._llm = LLMAnswerer(self.settings, self.embeddings)

    @property
    def answerer_label(self) -> str:
        return self._llm.label if self._llm else "extractive"

    def close(self) -> None:
        if self._llm:
            self._llm.close()

    def refresh(self) -> bool:
        """Reopen the index if `bot ingest` changed it since it was opened; True when it did.

        For long-running servers (`bot serve`, the UI): a few stat calls per question. A
        retriever given to the Bot is its giver's to refresh; a Chroma server is always live.
        """
        if self._opened is None:
            return False
        stamp = _index_stamp(self.settings)
        if stamp == self._opened:
            return False
        with self._reopen:
            if stamp == self._opened:
                return False
            try:
                self.retriever = open_retriever(self.settings, embeddings=self.embeddings, fresh=True)
            except Exception as exc:  # noqa: BLE001 - e.g. caught mid-swap: the index opened before still answers
                log.warning("the changed index could not be reopened yet (%s); answering from the one open", exc)
                return False
            self._opened = stamp
        return True

    # -- the stages -------------------------------------------------------------

    def prepare(self, question: str) -> tuple[str, str, list[str]]:
        """Clean the question; returns (question, language, notices)."""
        question, lang, notices = self._clean(question)
        return self._cased(question), lang, notices

    def _clean(self, question: str) -> tuple[str, str, list[str]]:
        notices: list[str] = []
        # Undecodable bytes (argv, stdin, a browser) would crash the embedder: replaced here.
        question = " ".join(normalize(clean_input(question or "")).split())
        lang = detect_language(question)
        limit = self.settings.max_question_chars
        if len(question) > limit:
            question = question[:limit]
            notices.append(message("truncated", lang, limit=limit))
        return question, lang, notices

    def _cased(self, question: str) -> str:
        """"who met in geneva": the articles' names capitalised, as if typed "Geneva" (bot.casing)."""
        return truecase(question, self.retriever.lexical.name_forms) if typed_uncased(question) else question

    def retrieve(self, question: Query | str, k: int | None = None, retriever: RetrieverKind | None = None) -> list[Hit]:
        return self.retriever.search(question, k=k or self.settings.top_k, kind=retriever)

    def weigh(
        self, question: Query | str, hits: list[Hit], lang: str, judged: Query | str | None = None
    ) -> tuple[list[ev.Evidence], ev.Judgement]:
        """Sentences scored against `question`; the refusal judged against `judged` (default the same).

        A follow-up is scored as typed ("how long did their talks last?": carried names would
        outweigh what it asks) and judged with the names it carries (they must occur).
        """
        from bot.sentence_vectors import for_index

        question = as_query(question)
        judged = as_query(judged) if judged is not None else question
        # Sentence and passage vectors stored at ingest: a question embeds only itself.
        embeddings, stored = for_index(self.settings, self.embeddings)
        items = ev.collect(hits)
        for e in items:
            e.article = self.retriever.lexical.article(e.source)
        ranked = ev.score_sentences(question, items, embeddings, self.retriever.lexical)
        # The topic gate reads the best passages of dense and BM25 alone: the sparse ranking puts the
        # passages sharing most latent terms first, which would lift any question over the
        # threshold measured without it (bot.topic.TopicOverlap).
        gate = sorted(hits, key=lambda h: -h.two_sided)[:3]
        overlap = topic_overlap().best(judged.text, [h.doc.page_content for h in gate], stored=stored)
        return ranked, ev.judge(judged, ranked, hits, lang, overlap, self.settings.min_topic_overlap)

    # -- public entry points ----------------------------------------------------

    def run(
        self,
        question: str,
        history: History | None = None,
        *,
        k: int | None = None,
        retriever: RetrieverKind | None = None,
        use_llm: bool | None = None,
    ) -> Result:
        """Answer without streaming; what the CLI and the eval call."""
        result: Result | None = None
        for event in self.stream(question, history, k=k, retriever=retriever, use_llm=use_llm):
            if isinstance(event, Result):
                result = event
        assert result is not None
        return result

    def ask(self, question: str, history: History | None = None) -> Answer:
        return self.run(question, history).answer

    def stream(
        self,
        question: str,
        history: History | None = None,
        *,
        k: int | None = None,
        retriever: RetrieverKind | None = None,
        use_llm: bool | None = None,
    ) -> Iterator[str | Result]:
        """Yield answer text as it is generated, then the final `Result` (citations resolved)."""
        started = time.perf_counter()
        as_typed, lang, notices = self._clean(question)
        question = self._cased(as_typed)
        if not re.search(r"\w", question):
            yield Result(Answer(message("empty_question", lang), mode="hint", lang=lang, answerer="none"))
            return
        if _SECRET_REQUEST.search(question):
            text = message("secret_request", lang)
            yield Result(Answer(text, mode="refusal", lang=lang, refused=True, answerer="guard", question=question))
            return

        llm = self._llm if (use_llm is None or use_llm) else None
        standalone = question
        carried = None
        if history:
            # A follow-up carries the conversation's names, dates and cited passages into the
            # search (bot.followup). Measured on the conversation items of eval/qa.jsonl, this
            # beats a small model's own rewrite; the model rewrites only what it cannot carry.
            from bot.followup import carry

            carried = carry(question, history)
            if carried:
                standalone = carried.question
            elif llm:
                standalone = llm.condense(question, history)

        # Read once from here on: every stage takes these, not the strings.
        typed = parse(question, lang)
        asked = typed if standalone == question else parse(standalone, lang)
        hits = self._with_cited(self.retrieve(asked, k=k, retriever=retriever), carried)
        ranked, judgement = self._weigh(typed, asked, hits, lang, carried)
        if judgement.value_missing:
            # The asked-for number or date may sit just below the top passages:
            # look three times as deep before saying the articles don't give it
            # (in the candidates the first search pooled: no second search).
            deeper = self.retriever.search(asked, k=3 * len(hits) or None, kind=retriever, reuse_pool=True)
            deeper = self._with_cited(deeper, carried)
            deep_ranked, deep_judgement = self._weigh(typed, asked, deeper, lang, carried)
            if deep_judgement.answerable and not deep_judgement.value_missing:
                ranked, judgement, hits = deep_ranked, deep_judgement, deeper
        if not judgement.answerable and (not llm or judgement.off_topic):
            answer = Answer(message("refusal", lang), mode="refusal", lang=lang, refused=True, answerer=self.answerer_label)
        elif llm:
            # With a model, the judge advises and the model decides: it reads the passages with
            # the judge's finding (the sentence holding the asked-for value, or that none does),
            # and answers or says the articles don't give it. Only an off-topic question is
            # refused before it. The model reads the question as typed: given capitals it did not
            # type, a 0.5B model echoed two lower-case questions and mixed a third (eval, 11 such
            # items); the evidence it is shown was still found and weighed with the capitals.
            shown = as_typed if standalone == question else standalone
            advice = self._advice(ranked, judgement, typed if carried else asked, lang)
            answer = yield from self._generate(llm, question, standalone, ranked, lang, history, shown, advice)
        else:
            answer = extractive_answer(ranked, lang, question=typed if carried else asked, unsure=judgement.value_missing)
            if judgement.value_missing and answer.short and not ev.asks_plan(asked.text):
                # The judge found no value of the asked kind near the best sentences' relevance, yet
                # one clearly answers: the short answer's own checks (kind, unit, the question's
                # words beside it) are the stricter ones. Not for a plan: its slot is the judge's.
                answer = extractive_answer(ranked, lang, question=typed if carried else asked)
        answer.question = standalone
        if notices:
            answer.notice = " ".join(filter(None, [*notices, answer.notice]))
        yield Result(answer, hits, ranked, judgement, time.perf_counter() - started)

    def _weigh(self, typed: Query, asked: Query, hits: list[Hit], lang: str, carried) -> tuple[list[ev.Evidence], ev.Judgement]:
        if carried is None:
            return self.weigh(asked, hits, lang)
        return self.weigh(typed, hits, lang, judged=asked)

    def _with_cited(self, hits: list[Hit], carried) -> list[Hit]:
        """The hits, plus the chunks an earlier turn cited (a follow-up is about them too)."""
        if carried is None or not carried.quotes:
            return hits
        from bot.followup import cited_hits

        have = {h.doc.id for h in hits}
        docs = [d for d in self.retriever.lexical.docs if d.id not in have]
        return hits + cited_hits(carried.quotes, docs, lambda doc: Hit(doc, 0.0))

    @staticmethod
    def _advice(ranked: list[ev.Evidence], judgement: ev.Judgement, query: Query, lang: str):
        """The judge's finding for the model: the sentence whose value clearly answers (the
        extractive short answer's), or that no sentence holds the kind of value asked for."""
        from bot.answer.llm import Advice

        kinds = sorted(query.expects.strict)
        if not judgement.answerable or judgement.value_missing:
            return Advice(missing=tuple(kinds)) if kinds else Advice(unsure=True)
        found = extractive_answer(ranked, lang, question=query)
        if not found.short or not found.citations:
            return None
        cited = next((c for c in found.citations if c.quote and found.short_quote.split(" … ")[0] in c.quote), None)
        return Advice(holder=(cited.source, cited.start), value=found.short_quote, kinds=tuple(kinds)) if cited else None

    def _generate(self, llm, question, standalone, ranked, lang, history, shown, advice=None) -> Iterator[str]:
        from bot.answer.llm import LLMError

        try:
            return (yield from llm.stream_answer(shown, ranked, lang, history, typed=question, advice=advice))
        except LLMError as exc:
            if self.settings.fallback != "extractive":
                return Answer(str(exc), mode="refusal", lang=lang, refused=True, answerer=llm.label, notice=str(exc))
            answer = extractive_answer(ranked, lang, question=standalone)
            answer.notice = message("fallback", lang, error=str(exc))
            answer.answerer = f"extractive (fallback from {llm.label})"
            answer.trace = {"error": str(exc)}
            return answer
