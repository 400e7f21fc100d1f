"""Scores for one answered question, and their summary over a run; no LLM judge anywhere.

Everything here works on the plain dicts stored in results.json, so a run can be
re-scored (or a metric unit-tested) without the bot.

Definitions (also printed at the end of report.md):
- source_hit@5: a gold source file is among the top-5 retrieved chunks.
- evidence_recall@5: a top-5 chunk holds >= 80% of the evidence quote, measured as
  the longest run of the quote found in the chunk text (NFC, case and white space
  normalised). A quote cut by a chunk boundary still counts when 80% of it sits in
  one chunk. Items without evidence are left out.
- mrr@10: 1/rank of the first chunk from a gold source within the top 10, else 0.
- must_include: the answer text contains every must-include string, compared
  folded (lower case, no diacritics, white space collapsed, "14-12" = "14/12").
  Items without must-include strings are left out.
- token_f1: SQuAD-style token F1 between the answer text (lead-in and [n] markers
  removed) and the reference answer, on NFC lower-cased syllables (\\w+), English
  articles a/an/the dropped. A refusal scores 0.
- citation_precision: of the files an answer cites, the share that are gold sources;
  averaged over answerable items that cite something.
- citation_recall: of an item's gold source files, the share the answer cites;
  averaged over answerable items (no citation = 0). Strict: when a fact sits in two
  gold articles, citing one scores 0.5 - citation_hit is the lenient view.
- citation_hit: the answer cites at least one gold source (answerable items).
- citation_valid: distinct [n] markers in answer texts whose citation lies inside a
  passage the answerer was given (same file, span within the chunk, quote equal to
  the chunk text there), over all distinct markers in the run (pooled).
- refusal_accuracy: unanswerable items that were refused.
- false_refusal_rate: answerable items that were refused (lower is better).
- outcome: each answer is "answered", "hedged" (it quotes the closest passage and says it may
  not answer exactly) or "refused" ("the articles don't say"); `outcome_of`.
- hedged_rate: answerable items hedged (lower is better).
- refused_or_hedged: unanswerable items refused or hedged (not answered as if they were known).
- latency_p50_s / latency_p95_s: seconds per question (linear-interpolated percentiles).
- generated_rate (LLM runs): answerable items whose shown answer is the model's own,
  not the extractive fallback (a refusal counts as not generated).
- answer_language_ok (LLM runs): of the generated answers, the share written in the
  question's language (the model's answer text, not the quote under it).
- prompt_tokens_p50 / first_token_p50_s (LLM runs): the first model call of each
  question, as the server reported it.
- evidence_shown (LLM runs): answerable items whose evidence quote (>= 80 %) lies in the
  passages the model was first shown: what a perfect model could have answered from.
- short_rate: answerable items answered (not refused) whose answer opens with a short
  answer (bot.short: the asked-for span of a cited sentence).
- short_right: of those with a short answer and must-include strings, the share whose
  short answer (as shown, or the sentence words it was taken from) holds at least one
  must-include string, compared folded.
Groups: summary["by_lang"], summary["by_split"] (the dataset's fixed dev/test halves:
thresholds and word lists are set on dev only), summary["conversation"] (items asked
after a `history` of earlier questions in one conversation).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from difflib import SequenceMatcher

from bot.text import fold

EVIDENCE_COVERAGE = 0.8
SOURCE_AT = 5
MRR_AT = 10

# Key, label for people, higher is better.
METRICS: list[tuple[str, str, bool]] = [
    ("source_hit@5", "Gold source in top 5", True),
    ("evidence_recall@5", "Evidence quote in top 5", True),
    ("mrr@10", "MRR@10 (gold source)", True),
    ("must_include", "Answer has must-include terms", True),
    ("token_f1", "Token F1 vs reference", True),
    ("citation_precision", "Citation precision (files)", True),
    ("citation_recall", "Citation recall (files)", True),
    ("citation_hit", "Cites a gold source", True),
    ("citation_valid", "Valid citation markers", True),
    ("refusal_accuracy", "Unanswerable refused", True),
    ("false_refusal_rate", "Answerable refused", False),
    ("hedged_rate", "Answerable hedged", False),
    ("refused_or_hedged", "Unanswerable refused or hedged", True),
    ("short_rate", "Short answer given", True),
    ("short_right", "Short answer holds a must-include term", True),
    ("generated_rate", "Generated answer shown (LLM runs)", True),
    ("evidence_shown", "Evidence among the passages the model read (LLM runs)", True),
    ("answer_language_ok", "Generated answer in the asker's language", True),
    ("prompt_tokens_p50", "Prompt tokens p50 (LLM runs)", False),
    ("first_token_p50_s", "Time to first token p50 (s)", False),
    ("latency_p50_s", "Latency p50 (s)", False),
    ("latency_p95_s", "Latency p95 (s)", False),
]
RETRIEVAL_METRICS = ["source_hit@5", "evidence_recall@5", "mrr@10"]
# Averaged over the items whose score is not None.
MEAN_METRICS = [
    "source_hit@5", "evidence_recall@5", "mrr@10", "must_include", "token_f1",
    "citation_precision", "citation_recall", "citation_hit", "refusal_accuracy", "false_refusal_rate",
    "hedged_rate", "refused_or_hedged", "short_rate", "short_right", "generated_rate", "answer_language_ok",
    "evidence_shown",
]
SPLITS = ("dev", "test")  # always present in summary["by_split"]
LANGS = ("en", "vi")  # always present in summary["by_lang"]
HIGHER_IS_BETTER = {key: better for key, _, better in METRICS}
LABELS = {key: label for key, label, _ in METRICS}

_MARKER = re.compile(r"\[(\d+)\]")
_ARTICLES = {"a", "an", "the"}
_DIGIT_JOIN = re.compile(r"(?<=\d)[-/](?=\d)")


# -- retrieval ------------------------------------------------------------------


def source_hit(retrieved: Sequence[dict], gold: Iterable[str], at: int = SOURCE_AT) -> float | None:
    gold = set(gold)
    if not gold:
        return None
    return 1.0 if any(p.get("source") in gold for p in retrieved[:at]) else 0.0


def reciprocal_rank(retrieved: Sequence[dict], gold: Iterable[str], at: int = MRR_AT) -> float | None:
    gold = set(gold)
    if not gold:
        return None
    for rank, p in enumerate(retrieved[:at], start=1):
        if p.get("source") in gold:
            return 1.0 / rank
    return 0.0


def _squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).lower().split())


def coverage(quote: str, text: str) -> float:
    """Share of the quote's characters in its longest run inside `text` (1.0 = all of it)."""
    quote, text = _squash(quote), _squash(text)
    if not quote:
        return 0.0
    if quote in text:
        return 1.0
    match = SequenceMatcher(None, quote, text, autojunk=False).find_longest_match(0, len(quote), 0, len(text))
    return match.size / len(quote)


def evidence_hit(
    retrieved: Sequence[dict], evidence: str, at: int = SOURCE_AT, threshold: float = EVIDENCE_COVERAGE
) -> float | None:
    if not evidence.strip():
        return None
    return 1.0 if any(coverage(evidence, p.get("text", "")) >= threshold for p in retrieved[:at]) else 0.0


# -- answers --------------------------------------------------------------------


def _folded(text: str) -> str:
    # The articles write dates both ways ("14-12", "14/12"); so may a must-include string.
    text = " ".join(fold(unicodedata.normalize("NFC", text)).split())
    return _DIGIT_JOIN.sub("/", text)


def must_include_ok(answer: str, must: Iterable[str]) -> float | None:
    must = [m for m in must if m.strip()]
    if not must:
        return None
    folded = _folded(answer)
    return 1.0 if all(_folded(m) in folded for m in must) else 0.0


def lead_ins() -> list[str]:
    """The fixed words extractive answers open with ("From the articles:"), in each language."""
    from bot.prompts import message

    return [message("lead_in", lang) for lang in LANGS]


def answer_tokens(text: str, strip: Iterable[str] = ()) -> list[str]:
    """NFC lower-cased syllables, without [n] markers, the given boilerplate and English articles."""
    text = unicodedata.normalize("NFC", text)
    for phrase in strip:
        if phrase:
            text = text.replace(phrase, " ")
    text = _MARKER.sub(" ", text).lower()
    return [t for t in re.findall(r"\w+", text) if t not in _ARTICLES]


def token_f1(prediction: str, reference: str, strip: Iterable[str] = ()) -> float:
    pred, ref = answer_tokens(prediction, strip), answer_tokens(reference)
    if not pred or not ref:
        return float(pred == ref)
    common: dict[str, int] = {}
    counts: dict[str, int] = {}
    for t in ref:
        counts[t] = counts.get(t, 0) + 1
    for t in pred:
        if counts.get(t, 0) > 0:
            counts[t] -= 1
            common[t] = common.get(t, 0) + 1
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


# -- citations ------------------------------------------------------------------


def cited_files(citations: Iterable[dict]) -> list[str]:
    return list(dict.fromkeys(c.get("source", "") for c in citations if c.get("source")))


def citation_precision(citations: Sequence[dict], gold: Iterable[str]) -> float | None:
    gold, cited = set(gold), cited_files(citations)
    if not gold or not cited:
        return None
    return sum(f in gold for f in cited) / len(cited)


def citation_recall(citations: Sequence[dict], gold: Iterable[str]) -> float | None:
    gold = set(gold)
    if not gold:
        return None
    return len(gold & set(cited_files(citations))) / len(gold)


def citation_hit(citations: Sequence[dict], gold: Iterable[str]) -> float | None:
    gold = set(gold)
    if not gold:
        return None
    return 1.0 if gold & set(cited_files(citations)) else 0.0


def resolves(citation: dict, passages: Iterable[dict]) -> bool:
    """Does the citation quote a passage the answerer was given, at the offsets it claims?"""
    start, end, quote = citation.get("start"), citation.get("end"), citation.get("quote", "")
    if not isinstance(start, int) or not isinstance(end, int) or end <= start:
        return False
    for p in passages:
        if p.get("source") != citation.get("source"):
            continue
        p_start, p_end = p.get("start"), p.get("end")
        if not isinstance(p_start, int) or not isinstance(p_end, int) or not (p_start <= start and end <= p_end):
            continue
        text = p.get("text")
        if text is None or text[start - p_start : end - p_start] == quote:
            return True
    return False


def check_markers(answer: str, citations: Sequence[dict], passages: Sequence[dict]) -> dict:
    """Distinct [n] markers in the answer, and which of them resolve to a given passage."""
    by_n = {c.get("n"): c for c in citations}
    markers = list(dict.fromkeys(int(n) for n in _MARKER.findall(answer)))
    invalid = [n for n in markers if n not in by_n or not resolves(by_n[n], passages)]
    return {"markers": len(markers), "valid": len(markers) - len(invalid), "invalid": invalid}


# -- one item -------------------------------------------------------------------

OUTCOMES = ("answered", "hedged", "refused")
# Flags an answerer sets when it quotes the closest passage while saying it may not answer exactly.
HEDGE_FLAGS = ("may-not-answer", "model-refused")


def outcome_of(item: dict) -> str | None:
    """"answered", "hedged" or "refused" (None when the item was not answered: retrieval only)."""
    if item.get("answer") is None:
        return None
    if item.get("refused"):
        return "refused"
    return "hedged" if any(f in HEDGE_FLAGS for f in item.get("flags") or []) else "answered"



def score_item(item: dict, strip: Iterable[str] = ()) -> tuple[dict, list[str]]:
    """Every metric for one result record (None where it does not apply), and the checks it failed.

    `item` has the results.json item keys; `retrieved` entries with `used: false`
    were ranked for scoring only, not shown to the answerer.
    """
    gold = item.get("gold_sources") or []
    answerable = bool(item.get("answerable", bool(gold)))
    retrieved = item.get("retrieved") or []
    answered = item.get("answer") is not None  # None in retrieval-only runs
    answer = item.get("answer") or ""
    refused = bool(item.get("refused"))
    citations = item.get("citations") or []
    scores: dict[str, float | None] = dict.fromkeys(MEAN_METRICS)
    scores["citation_valid"] = None

    if answerable:
        scores["source_hit@5"] = source_hit(retrieved, gold)
        scores["mrr@10"] = reciprocal_rank(retrieved, gold)
        scores["evidence_recall@5"] = evidence_hit(retrieved, item.get("evidence") or "")
    if answered and answerable:
        scores["must_include"] = must_include_ok("" if refused else answer, item.get("must_include") or [])
        reference = item.get("expected_answer") or ""
        scores["token_f1"] = (0.0 if refused else token_f1(answer, reference, strip)) if reference.strip() else None
        scores["citation_precision"] = citation_precision(citations, gold)
        scores["citation_recall"] = citation_recall(citations, gold)
        scores["citation_hit"] = citation_hit(citations, gold)
        scores["false_refusal_rate"] = 1.0 if refused else 0.0
        scores["hedged_rate"] = 1.0 if outcome_of(item) == "hedged" else 0.0
        if not refused:
            short = item.get("short") or ""
            scores["short_rate"] = 1.0 if short else 0.0
            must = [m for m in item.get("must_include") or [] if m.strip()]
            if short and must:
                where = _folded(f"{short} {item.get('short_quote') or ''}")
                scores["short_right"] = 1.0 if any(_folded(m) in where for m in must) else 0.0
    llm = item.get("llm")
    if answered and answerable and llm is not None:
        # LLM runs only: was the answer shown the model's (not the extractive fallback), and in the asker's language?
        generated = item.get("answer_mode") == "llm"
        scores["generated_rate"] = 1.0 if generated else 0.0
        shown = llm.get("shown") or []
        if item.get("evidence") and shown:
            scores["evidence_shown"] = 1.0 if coverage(item["evidence"], "\n".join(shown)) >= EVIDENCE_COVERAGE else 0.0
        if generated and llm.get("language_ok") is not None:
            scores["answer_language_ok"] = 1.0 if llm["language_ok"] else 0.0
    if answered and not answerable:
        scores["refusal_accuracy"] = 1.0 if refused else 0.0
        scores["refused_or_hedged"] = 1.0 if outcome_of(item) in ("refused", "hedged") else 0.0
    if answered:
        used = [p for p in retrieved if p.get("used", True)]
        markers = check_markers(answer, citations, used)
        item["citation_markers"] = markers
        if markers["markers"]:
            scores["citation_valid"] = markers["valid"] / markers["markers"]

    failed = [
        key
        for key in (*RETRIEVAL_METRICS[:2], "must_include", "citation_hit", "citation_precision", "citation_valid",
                    "refusal_accuracy")
        if scores.get(key) is not None and scores[key] < 1.0
    ]
    if scores.get("false_refusal_rate") == 1.0:
        failed.append("false_refusal_rate")
    if item.get("error"):
        failed.append("error")
    return scores, failed


# -- a run ----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]; None for no values."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def aggregate(items: Sequence[dict]) -> dict:
    """The metrics over a group of scored items; a metric with no eligible item is None."""
    out: dict[str, float | int | None] = {
        "n": len(items),
        "n_answerable": sum(bool(i.get("answerable")) for i in items),
        "n_unanswerable": sum(not i.get("answerable") for i in items),
    }
    for key in MEAN_METRICS:
        out[key] = _round(_mean([i["scores"][key] for i in items if i["scores"].get(key) is not None]))
    markers = [i["citation_markers"] for i in items if i.get("citation_markers")]
    total = sum(m["markers"] for m in markers)
    out["citation_valid"] = _round(sum(m["valid"] for m in markers) / total) if total else None
    calls = [c for i in items for c in ((i.get("llm") or {}).get("calls") or [])[:1]]
    prompt_tokens = [c["prompt_tokens"] for c in calls if c.get("prompt_tokens") is not None]
    first_token = [c["first_token_s"] for c in calls if c.get("first_token_s") is not None]
    out["prompt_tokens_p50"] = _round(percentile(prompt_tokens, 50))
    out["first_token_p50_s"] = _round(percentile(first_token, 50))
    latencies = [i["latency_s"] for i in items if i.get("latency_s") is not None]
    out["latency_p50_s"] = _round(percentile(latencies, 50))
    out["latency_p95_s"] = _round(percentile(latencies, 95))
    # How many answers of each outcome, answerable and unanswerable questions apart.
    out["outcomes"] = {
        side: {o: sum(outcome_of(i) == o for i in items if bool(i.get("answerable")) == want) for o in OUTCOMES}
        for side, want in (("answerable", True), ("unanswerable", False))
    }
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)



def summarize(items: Sequence[dict]) -> dict:
    """Overall metrics, plus by_lang (en and vi always present) and by_type (each also by language)."""

    def by_lang(group: Sequence[dict]) -> dict:
        langs = list(LANGS) + sorted({i.get("lang") for i in group} - set(LANGS) - {None})
        return {lang: aggregate([i for i in group if i.get("lang") == lang]) for lang in langs}

    summary = aggregate(items)
    summary["by_lang"] = by_lang(items)
    summary["by_split"] = {
        split: {**aggregate(group), "by_lang": by_lang(group)}
        for split in SPLITS
        for group in [[i for i in items if (i.get("split") or "dev") == split]]
    }
    talk = [i for i in items if i.get("history")]
    summary["conversation"] = {**aggregate(talk), "by_lang": by_lang(talk)}
    types = list(dict.fromkeys(i.get("type") or "unspecified" for i in items))
    summary["by_type"] = {}
    for kind in types:
        group = [i for i in items if (i.get("type") or "unspecified") == kind]
        summary["by_type"][kind] = {**aggregate(group), "by_lang": by_lang(group)}
    return summary
