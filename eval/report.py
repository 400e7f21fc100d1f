"""report.md: the summary, results by question type, the change since the last run, every question."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from eval.metrics import HIGHER_IS_BETTER, LABELS, LANGS, METRICS
from eval.metrics import lead_ins as default_lead_ins

# The columns of the per-type table and the diff's per-language changes.
MAIN = ["source_hit@5", "evidence_recall@5", "mrr@10", "must_include", "token_f1", "citation_hit",
        "refusal_accuracy", "false_refusal_rate"]
SHORT = {
    "source_hit@5": "src@5", "evidence_recall@5": "evid@5", "mrr@10": "mrr@10", "must_include": "must",
    "token_f1": "f1", "citation_hit": "cites gold", "refusal_accuracy": "refuses unans.",
    "false_refusal_rate": "false refusal",
}


# -- formatting -------------------------------------------------------------------


def fmt(value: float | int | None, key: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.2f}"


def cell(text: object, limit: int = 0) -> str:
    """One table cell: a single line, pipes escaped, cut to `limit` characters."""
    text = " ".join(str(text if text is not None else "").split())
    if limit and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text.replace("|", "\\|")


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> str:
    """An aligned markdown table; `align` has one letter per column, l or r (default l)."""
    rows = [list(r) for r in rows]
    widths = [max(len(h), 3, *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    align = align.ljust(len(headers), "l")

    def line(values: Sequence[str]) -> str:
        padded = [v.rjust(w) if a == "r" else v.ljust(w) for v, w, a in zip(values, widths, align)]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, align)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def short_names(names: Iterable[str]) -> dict[str, str]:
    """File names cut to the shortest prefix (>= 6 characters) that keeps them apart."""
    stems = {n: Path(n).stem or n for n in set(names)}
    longest = max((len(s) for s in stems.values()), default=0)
    for size in range(6, longest + 1):
        cut = {n: s[:size] for n, s in stems.items()}
        if len(set(cut.values())) == len(cut):
            return {n: (c + "…" if len(c) < len(stems[n]) else c) for n, c in cut.items()}
    return stems


# -- sections ---------------------------------------------------------------------


def summary_table(summary: dict) -> str:
    groups = [summary] + [summary.get("by_lang", {}).get(lang, {}) for lang in LANGS]
    rows = [["questions", *(fmt(g.get("n")) for g in groups)]]
    rows.append(["answerable / unanswerable", *(f"{g.get('n_answerable', 0)} / {g.get('n_unanswerable', 0)}" for g in groups)])
    for key, _, better in METRICS:
        arrow = "↑" if better else "↓"
        rows.append([f"{key} {arrow}", *(fmt(g.get(key), key) for g in groups)])
    return table(["metric", "overall", *LANGS], rows, "lrrr")


# The columns of the split table: each half of the dataset, by language, and the conversation items.
SPLIT_KEYS = ["must_include", "citation_precision", "refusal_accuracy", "false_refusal_rate", "hedged_rate",
              "refused_or_hedged", "short_rate",
              "short_right", "citation_hit", "source_hit@5"]


def split_table(summary: dict) -> str:
    """dev / test halves (thresholds and word lists are set on dev only), and the conversation items."""
    columns: list[tuple[str, dict]] = []
    for split, group in (summary.get("by_split") or {}).items():
        columns.append((split, group))
        columns += [(f"{split} {lang}", group.get("by_lang", {}).get(lang, {})) for lang in LANGS]
    conversation = summary.get("conversation") or {}
    if conversation.get("n"):
        columns.append(("conversation", conversation))
    if not columns:
        return ""
    rows = [["questions", *(fmt(g.get("n")) for _, g in columns)]]
    rows.append(["answerable / unanswerable", *(f"{g.get('n_answerable', 0)} / {g.get('n_unanswerable', 0)}" for _, g in columns)])
    for key in SPLIT_KEYS:
        arrow = "↑" if HIGHER_IS_BETTER.get(key, True) else "↓"
        rows.append([f"{key} {arrow}", *(fmt(g.get(key), key) for _, g in columns)])
    return table(["metric", *(name for name, _ in columns)], rows, "l" + "r" * len(columns))


def type_table(summary: dict) -> str:
    rows = []
    for kind, group in summary.get("by_type", {}).items():
        parts = [("all", group)] + [(lang, group["by_lang"][lang]) for lang in group.get("by_lang", {})]
        for lang, g in parts:
            if not g.get("n"):
                continue
            rows.append([kind if lang == "all" else "", lang, str(g["n"]), *(fmt(g.get(k)) for k in MAIN)])
    return table(["type", "lang", "n", *(SHORT[k] for k in MAIN)], rows, "llr" + "r" * len(MAIN))


def bar_chart(summary: dict, key: str, width: int = 20) -> str:
    """A text bar per question type and language, for one 0..1 metric."""
    lines = []
    for kind, group in summary.get("by_type", {}).items():
        for lang, g in group.get("by_lang", {}).items():
            value = g.get(key)
            if value is None:
                continue
            filled = round(value * width)
            lines.append(f"{kind[:14]:<14} {lang:<3} {'█' * filled}{'░' * (width - filled)} {value:.2f}  (n={g['n']})")
    return f"{LABELS[key]} ({key}):\n" + "\n".join(lines) if lines else ""


def _change(before: float | None, now: float | None, key: str) -> str:
    if before is None or now is None:
        return "–" if before == now else "new" if before is None else "gone"
    delta = now - before
    # Timings wobble from run to run; call a change in them only when it is sizeable.
    noise = max(0.05, 0.1 * abs(before)) if key.startswith("latency") else 0.005
    if abs(delta) < noise:
        return "="
    better = (delta > 0) == HIGHER_IS_BETTER.get(key, True)
    return f"{delta:+.2f} {'▲' if delta > 0 else '▼'} {'better' if better else 'worse'}"


def diff_section(results: dict, previous_dir: Path, previous: dict) -> str:
    before, now = previous.get("summary", {}), results["summary"]
    meta, old = results["meta"], previous.get("meta", {})
    lines = [f"## Compared with the previous run ({cell(str(previous_dir))}, {old.get('timestamp', '?')})", ""]
    differs = [f"{key} {old.get(key)} → {meta.get(key)}" for key in ("dataset", "mode", "retriever", "k") if old.get(key) != meta.get(key)]
    if differs:
        lines += [f"Settings differ: {'; '.join(differs)}.", ""]
    rows = []
    for key, _, _ in METRICS:
        row = [key, fmt(before.get(key)), fmt(now.get(key)), _change(before.get(key), now.get(key), key)]
        for lang in LANGS:
            b = before.get("by_lang", {}).get(lang, {}).get(key)
            n = now.get("by_lang", {}).get(lang, {}).get(key)
            row.append(_change(b, n, key))
        rows.append(row)
    lines += [table(["metric", "before", "now", "change", *(f"{lang} change" for lang in LANGS)], rows, "lrrlll"), ""]

    old_items = {i.get("id"): i for i in previous.get("items", [])}
    regressed, fixed = [], []
    for item in results["items"]:
        was = old_items.get(item["id"])
        if was is None:
            continue
        now_failed, was_failed = set(item["failed_checks"]), set(was.get("failed_checks") or [])
        label = f"**{cell(item['id'])}** {cell(item['question'], 70)}"
        if now_failed - was_failed:
            regressed.append(f"- {label} — now fails {', '.join(sorted(now_failed - was_failed))}")
        if was_failed - now_failed:
            fixed.append(f"- {label} — now passes {', '.join(sorted(was_failed - now_failed))}")
    lines.append(f"Regressed ({len(regressed)}):" + ("" if regressed else " none"))
    lines += regressed
    lines += ["", f"Fixed ({len(fixed)}):" + ("" if fixed else " none")]
    lines += fixed
    new = [i["id"] for i in results["items"] if i["id"] not in old_items]
    gone = set(old_items) - {i["id"] for i in results["items"]}
    if new or gone:
        lines += ["", f"{len(new)} question(s) new in this run, {len(gone)} no longer in the dataset."]
    return "\n".join(lines)


def _strip_lead_in(text: str, lead_ins: Sequence[str]) -> str:
    for lead in lead_ins:
        if text.startswith(lead):
            return text[len(lead) :].strip()
    return text


def question_table(items: Sequence[dict], lead_ins: Sequence[str] = ()) -> str:
    names = short_names(
        [p["source"] for i in items for p in i.get("retrieved", [])]
        + [s for i in items for s in i.get("gold_sources", [])]
        + [c["source"] for i in items for c in i.get("citations", [])]
    )

    def files(sources: Iterable[str], gold: set[str]) -> str:
        return " ".join(names.get(s, s) + ("✓" if s in gold else "") for s in dict.fromkeys(sources))

    ordered = sorted(items, key=lambda i: not i["failed_checks"])  # stable: failures first, dataset order
    rows = []
    for i in ordered:
        gold = set(i.get("gold_sources") or [])
        if i.get("answer") is None:
            got = "(retrieval only)"
        else:
            got = ("(refused) " if i.get("refused") else "") + _strip_lead_in(i["answer"], lead_ins)
        if i.get("error"):
            got = f"(error) {i['error']}"
        used = [p["source"] for p in i.get("retrieved", []) if p.get("used")]
        expected = i.get("expected_answer") or ("(refuse)" if not i.get("answerable") else "")
        rows.append([
            cell(i["id"]), i.get("lang", ""), cell(i.get("type", "")), cell(i["question"], 60), cell(expected, 50),
            cell(got, 80), cell(files(used, gold)), cell(files((c["source"] for c in i.get("citations", [])), gold)),
            cell(", ".join(i["failed_checks"]) or "ok"),
        ])
    headers = ["id", "lang", "type", "question", "expected", "got", "retrieved (✓ gold)", "cited", "failed checks"]
    return table(headers, rows)


DEFINITIONS = """\
- **source_hit@5**: a gold source file is among the top-5 retrieved chunks (answerable items).
- **evidence_recall@5**: a top-5 chunk holds ≥ 80% of the evidence quote (longest run of the quote inside the chunk; NFC, case and white space ignored), so a quote cut by a chunk boundary still counts when 80% of it is in one chunk. Items without evidence are left out.
- **mrr@10**: 1 / rank of the first chunk from a gold source in the top 10 (0 if none). The ranking comes from a separate retrieval at k = max(k, 10) of the same question; its first k chunks are the ones the answerer saw.
- **must_include**: the answer text contains every must-include string, compared without case or diacritics (and "14-12" = "14/12"). A refusal fails.
- **token_f1**: SQuAD-style token F1 between answer text (lead-in and [n] markers removed) and the reference answer, on NFC lower-cased syllables, a/an/the dropped. Quoting Vietnamese against an English reference scores low by design.
- **citation_precision**: share of the cited files that are gold sources, averaged over answerable items that cite.
- **citation_recall**: share of an item's gold source files that are cited, averaged over answerable items (strict: a fact in two gold articles cited from one scores 0.5). **citation_hit** is the lenient view: at least one gold source cited.
- **citation_valid**: distinct [n] markers whose citation lies in a passage the answerer was given (same file, span inside the chunk, quote equal to the text there), over all markers in the run.
- **refusal_accuracy**: unanswerable items refused. **false_refusal_rate**: answerable items refused (lower is better).
- **hedged_rate**: answerable items hedged: the closest passage quoted with "may not answer exactly" (lower is better). **refused_or_hedged**: unanswerable items refused or hedged, not answered as if the articles said.
- **latency**: wall-clock seconds per question (p50/p95, linear interpolation).
- **short_rate**: answerable items answered (not refused) that open with a short answer (the asked-for span of a cited sentence). **short_right**: of those with must-include strings, the share whose short answer (as shown, or the sentence words it came from) holds at least one must-include string.
- **dev / test**: a fixed split of the dataset by id (SHA-1 parity, the `split` field); thresholds and word lists are set looking at dev items only, so test is the held-out view. **conversation**: items asked after their `history` questions, in one conversation.
- A metric with no eligible item is shown as – (null in results.json). ↑ higher is better, ↓ lower is better.
"""


def render_report(results: dict, previous: tuple[Path, dict] | None = None, lead_ins: Sequence[str] | None = None) -> str:
    if lead_ins is None:
        lead_ins = default_lead_ins()
    meta, summary = results["meta"], results["summary"]
    commit = (meta.get("git_commit") or "")[:10] or "unknown"
    header = [
        f"# Eval: {cell(Path(meta['dataset']).name)} — {meta['timestamp']}",
        "",
        f"Mode **{meta['mode']}**{' (retrieval only)' if meta.get('retrieval_only') else ''}, "
        f"retriever **{meta['retriever']}**, k={meta['k']}, answerer {cell(meta.get('answerer'))}, "
        f"embedder {cell(meta.get('embedder'))}, commit {commit}. "
        f"{summary['n']} questions ({summary['n_answerable']} answerable, {summary['n_unanswerable']} unanswerable) "
        f"in {meta.get('seconds', 0):.1f} s.",
    ]
    if meta.get("interrupted"):
        header.append(
            f"\n**Interrupted**: only the first {meta['n']} of {meta.get('of', '?')} questions were scored (Ctrl-C)."
        )
    if meta.get("missing_sources"):
        header.append(f"\n**Warning**: gold sources not in the index: {cell(', '.join(meta['missing_sources']))}.")
    if meta.get("ranking_mismatches"):
        header.append(
            f"\n**Note**: for {meta['ranking_mismatches']} question(s) the top-{meta['k']} passages the answerer saw "
            "differ from the start of the scoring ranking (see `used` in results.json)."
        )
    failing = sum(bool(i["failed_checks"]) for i in results["items"])
    parts = [
        "\n".join(header),
        "## Summary\n\n" + summary_table(summary),
        "## By question type\n\n" + type_table(summary),
    ]
    splits = split_table(summary)
    if splits:
        parts.insert(2, "## By split (dev / test) and conversation items\n\n" + splits)
    charts = [c for c in (bar_chart(summary, "source_hit@5"), bar_chart(summary, "must_include")) if c]
    if charts:
        parts.append("```text\n" + "\n\n".join(charts) + "\n```")
    if previous is not None:
        parts.append(diff_section(results, *previous))
    parts.append(f"## Questions ({failing} with a failed check, listed first)\n\n" + question_table(results["items"], lead_ins))
    parts.append("## How the metrics are computed\n\n" + DEFINITIONS)
    return "\n\n".join(parts).rstrip() + "\n"
