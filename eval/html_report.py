"""report.html: an eval run as a picture, beside report.md.

Per group (overall, each language, each question type, each suite: the dataset's
dev / test halves and conversation items, or each dataset of `python -m eval.suites`):
bars for retrieval (source_hit@5, evidence_recall@5, mrr@10), the answers' outcomes
(answered / hedged / refused, answerable and unanswerable questions apart), citations
(precision, recall, valid markers) and latency (p50 / p95), each metric with its change
against the previous run. One self-contained file: inline CSS, no script, nothing
fetched, so it opens anywhere (the UI shows it in its Evaluation tab).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from eval.metrics import HIGHER_IS_BETTER, LABELS, LANGS, OUTCOMES

RETRIEVAL = ["source_hit@5", "evidence_recall@5", "mrr@10"]
CITATIONS = ["citation_precision", "citation_recall", "citation_valid"]
ANSWERS = ["must_include", "false_refusal_rate", "refusal_accuracy"]
LATENCY = ["latency_p50_s", "latency_p95_s"]
OUTCOME_COLOURS = {"answered": "#2f855a", "hedged": "#d69e2e", "refused": "#a0aec0"}

CSS = """
body { font-family: "Noto Sans", "DejaVu Sans", "Segoe UI", sans-serif; margin: 1.5rem; color: #1a202c; background: #fff; }
h1 { font-size: 1.4rem; margin: 0 0 .3rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; border-bottom: 1px solid #e2e8f0; }
.meta { color: #4a5568; font-size: .9rem; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; }
.card { border: 1px solid #e2e8f0; border-radius: 8px; padding: .7rem .9rem; width: 400px; }
.card h3 { font-size: 1rem; margin: 0 0 .4rem; } .card .n { color: #718096; font-weight: normal; font-size: .85rem; }
.card h4 { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: #718096; margin: .6rem 0 .2rem; }
.row { display: grid; grid-template-columns: 165px 1fr 56px 64px; gap: .4rem; align-items: center; font-size: .82rem; }
.bar { background: #edf2f7; height: 10px; border-radius: 5px; overflow: hidden; }
.bar span { display: block; height: 100%; background: #d97706; }
.bar.lower span { background: #c53030; } .bar.time span { background: #4a5568; }
.value { text-align: right; font-variant-numeric: tabular-nums; }
.change { font-size: .75rem; white-space: nowrap; } .better { color: #2f855a; } .worse { color: #c53030; } .same { color: #a0aec0; }
.stack { display: flex; height: 12px; border-radius: 6px; overflow: hidden; background: #edf2f7; }
.legend { font-size: .75rem; color: #4a5568; } .legend i { display: inline-block; width: .7rem; height: .7rem; border-radius: 2px; margin: 0 .2rem 0 .5rem; }
"""


def _change(before: float | None, now: float | None, key: str) -> str:
    if before is None or now is None:
        return '<span class="change same">new</span>' if before is None and now is not None else ""
    delta = now - before
    noise = max(0.05, 0.1 * abs(before)) if key.startswith("latency") else 0.005
    if abs(delta) < noise:
        return '<span class="change same">=</span>'
    better = (delta > 0) == HIGHER_IS_BETTER.get(key, not key.startswith("latency"))
    arrow = "▲" if delta > 0 else "▼"
    return f'<span class="change {"better" if better else "worse"}">{delta:+.2f} {arrow}</span>'


def _bar_row(key: str, group: Mapping, before: Mapping | None, scale: float | None = None) -> str:
    value = group.get(key)
    label = LABELS.get(key, key.replace("_", " "))
    if value is None:
        return ""
    if scale:  # latency: seconds, against the slowest group shown
        width, kind, shown = min(1.0, value / scale), "time", f"{value:.2f}s"
    else:
        width, kind, shown = max(0.0, min(1.0, value)), "" if HIGHER_IS_BETTER.get(key, True) else "lower", f"{value:.2f}"
    return (
        f'<div class="row"><span title="{html.escape(key)}">{html.escape(label)}</span>'
        f'<div class="bar {kind}"><span style="width:{width * 100:.1f}%"></span></div>'
        f'<span class="value">{shown}</span>{_change(before.get(key), value, key) if before is not None else ""}</div>'
    )


def _outcomes(group: Mapping, before: Mapping | None) -> str:
    rows = []
    for side in ("answerable", "unanswerable"):
        counts = (group.get("outcomes") or {}).get(side) or {}
        total = sum(counts.get(o, 0) for o in OUTCOMES)
        if not total:
            continue
        old = ((before or {}).get("outcomes") or {}).get(side) or {}
        spans = "".join(
            f'<span style="width:{counts.get(o, 0) / total * 100:.1f}%;background:{OUTCOME_COLOURS[o]}" '
            f'title="{o}: {counts.get(o, 0)}"></span>'
            for o in OUTCOMES
        )
        text = " / ".join(str(counts.get(o, 0)) for o in OUTCOMES)
        was = " / ".join(str(old.get(o, 0)) for o in OUTCOMES) if old else ""
        change = f'<span class="change same">was {was}</span>' if was and was != text else ""
        rows.append(f'<div class="row"><span>{side}</span><div class="stack">{spans}</div>'
                    f'<span class="value">{text}</span>{change}</div>')
    if not rows:
        return ""
    legend = "".join(f'<i style="background:{c}"></i>{o}' for o, c in OUTCOME_COLOURS.items())
    return "".join(rows) + f'<div class="legend">{legend}</div>'


def _card(name: str, group: Mapping, before: Mapping | None, latency_scale: float) -> str:
    if not group or not group.get("n"):
        return ""
    sections = [
        ("Retrieval", "".join(_bar_row(k, group, before) for k in RETRIEVAL)),
        ("Answers", _outcomes(group, before) + "".join(_bar_row(k, group, before) for k in ANSWERS)),
        ("Citations", "".join(_bar_row(k, group, before) for k in CITATIONS)),
        ("Latency", "".join(_bar_row(k, group, before, latency_scale) for k in LATENCY)),
    ]
    body = "".join(f"<h4>{title}</h4>{rows}" for title, rows in sections if rows)
    count = group.get("n")
    n = f'{count} question{"s" if count != 1 else ""} ({group.get("n_answerable", 0)} answerable)'
    return f'<div class="card"><h3>{html.escape(name)} <span class="n">{n}</span></h3>{body}</div>'


def _groups(summary: Mapping) -> list[tuple[str, list[tuple[str, Mapping, tuple]]]]:
    """(section, [(card name, group, path to the same group in another summary)])."""
    langs = [(lang, summary.get("by_lang", {}).get(lang, {}), ("by_lang", lang)) for lang in
             dict.fromkeys([*LANGS, *summary.get("by_lang", {})])]
    types = [(kind, g, ("by_type", kind)) for kind, g in (summary.get("by_type") or {}).items()]
    suites = [(f"{split} half", g, ("by_split", split)) for split, g in (summary.get("by_split") or {}).items()]
    if (summary.get("conversation") or {}).get("n"):
        suites.append(("conversation items", summary["conversation"], ("conversation",)))
    return [("Overall", [("all questions", summary, ())]), ("By language", langs), ("By question type", types),
            ("By suite", suites)]


def _at(summary: Mapping | None, path: tuple) -> Mapping | None:
    for key in path:
        if not isinstance(summary, Mapping):
            return None
        summary = summary.get(key)
    return summary if isinstance(summary, Mapping) else None


def _latency_scale(*summaries: Mapping) -> float:
    values = [s.get("latency_p95_s") or 0 for s in summaries if s]
    return max([*values, 0.001])


def render_html(results: Mapping, previous: tuple[Path, Mapping] | None = None) -> str:
    """One run's report.html; `previous` is (its folder, its results) as eval.runner finds it."""
    meta, summary = results["meta"], results["summary"]
    before = previous[1].get("summary") if previous else None
    scale = _latency_scale(summary, before or {})
    sections = []
    for title, groups in _groups(summary):
        cards = "".join(_card(name, g, _at(before, path), scale) for name, g, path in groups)
        if cards:
            sections.append(f"<h2>{html.escape(title)}</h2><div class='cards'>{cards}</div>")
    compared = (
        f"Changes are against the previous run, {html.escape(str(previous[0]))} "
        f"({html.escape(str(previous[1].get('meta', {}).get('timestamp', '?')))})."
        if previous else "No previous run to compare with."
    )
    return _page(
        f"Eval: {Path(str(meta.get('dataset', ''))).name}",
        f"{html.escape(str(meta.get('timestamp', '')))} · mode {html.escape(str(meta.get('mode')))} · "
        f"retriever {html.escape(str(meta.get('retriever')))} · k={html.escape(str(meta.get('k')))} · "
        f"answerer {html.escape(str(meta.get('answerer')))} · commit "
        f"{html.escape((meta.get('git_commit') or 'unknown')[:10])} · {summary.get('n')} questions. {compared}",
        "".join(sections),
    )


def render_suites_html(now: Mapping[str, Mapping], before: Mapping[str, Mapping] | None = None) -> str:
    """`python -m eval.suites`: one card per suite (dataset), overall and per language."""
    scale = _latency_scale(*now.values(), *(before or {}).values())
    sections = []
    for suite, summary in now.items():
        old = (before or {}).get(suite)
        cards = _card("all questions", summary, old, scale) + "".join(
            _card(lang, summary.get("by_lang", {}).get(lang, {}), _at(old, ("by_lang", lang)), scale) for lang in LANGS
        )
        sections.append(f"<h2>Suite {html.escape(suite)}</h2><div class='cards'>{cards}</div>")
    return _page("Eval suites", "Each suite's answers, retrieval, citations and latency"
                 + (", against the earlier run given." if before else "."), "".join(sections))


def _page(title: str, subtitle: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='meta'>{subtitle}</p>{body}</body></html>\n"
    )
