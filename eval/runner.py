"""`bot eval`: ask every dataset question, score the answers, write results.json and report.md.

Retrieval is scored on its own ranking: each question is also retrieved with
k = max(k, 10) (same prepared question, same retriever) so that mrr@10 sees ten
passages while the answerer still gets k. The retriever pools the same 30
candidates for any k <= 30 before cutting, so the first k of that ranking are
exactly the passages the answerer was given; `used` marks them in results.json.

Exit codes: 0 done, 1 a metric is below its floor (--check-floors), 2 the run
could not start (bad dataset, no LLM for --mode llm, no index and nothing to index).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import click
from pydantic import SecretStr

from bot.revision import git_commit
from bot.settings import Settings, get_settings
from bot.store import IndexUnavailable
from eval import metrics
from eval.dataset import DatasetError, Item, load_dataset
from eval.html_report import render_html
from eval.report import render_report, split_table, summary_table

FLOORS = Path(__file__).parent / "floors.json"
RANK_DEPTH = metrics.MRR_AT


def _say(text: str) -> None:
    click.echo(text, err=True)


# -- opening the bot ------------------------------------------------------------


def _ingest_seeds(settings: Settings) -> None:
    from bot.ingest import ingest
    from bot.progress import ProgressBars

    _say(f"The index is empty or missing: indexing {settings.data_dir} first (a one-off).")
    bars = ProgressBars()
    try:
        report = ingest([settings.data_dir], settings, progress=bars)
    finally:
        bars.close()
    for name, reason in report.failed:
        _say(f"skipped {name}: {reason}")
    _say(report.summary())


def articles_index(settings: Settings, articles: Path) -> Settings:
    """Settings for an index of `articles` alone, in a cached folder of its own (BOT_EVAL_INDEX_DIR).

    A dataset written on its own articles (eval/news.jsonl on eval/news/) is scored on them
    alone: never mixed into the user's index, and indexed once (a later run embeds only what
    changed, and drops articles no longer in the folder).
    """
    import hashlib

    from bot.ingest import ingest

    folder = Path(articles).resolve()
    slug = f"{folder.name or 'articles'}-{hashlib.sha1(str(folder).encode()).hexdigest()[:10]}"
    own = settings.model_copy(
        update={"index_dir": settings.eval_index_dir / slug, "data_dir": folder, "chroma_host": None}
    )
    report = ingest([folder], own, sync=True)
    for name, reason in report.failed:
        _say(f"skipped {name}: {reason}")
    if report.files_added or report.files_updated or report.files_deleted:
        _say(f"Indexed {folder} for this dataset ({own.index_dir}): {report.summary()}")
    return own


def dataset_articles(dataset: Path) -> Path | None:
    """The articles folder a dataset brings with it: `eval/news/` beside `eval/news.jsonl`."""
    folder = Path(dataset).with_suffix("")
    return folder if folder.is_dir() and any(folder.glob("*.txt")) else None


def open_bot(settings: Settings):
    """A Bot over the configured index, indexing `data_dir` first when the index is empty."""
    from bot.pipeline import Bot

    try:
        return Bot(settings)
    except IndexUnavailable as first:
        try:
            _ingest_seeds(settings)
        except (OSError, IndexUnavailable) as exc:
            raise IndexUnavailable(f"{first} Indexing {settings.data_dir} failed too: {exc}") from None
        return Bot(settings)


# -- asking and recording -------------------------------------------------------


def _passage(hit, rank: int | None, used: bool) -> dict:
    meta = hit.doc.metadata
    return {
        "rank": rank,
        "source": hit.source,
        "chunk_id": hit.doc.id or "",
        "start": int(meta["start"]) if meta.get("start") is not None else None,
        "end": int(meta["end"]) if meta.get("end") is not None else None,
        "score": round(float(hit.score), 6),
        "dense_rank": hit.dense_rank,
        "bm25_rank": hit.bm25_rank,
        "used": used,
        "text": hit.doc.page_content,
    }


def evaluate_item(bot, item: Item, *, k: int, retriever: str, use_llm: bool, answer: bool = True) -> dict:
    """Ask one question; the record holds everything results.json keeps about it, scored."""
    record: dict = {
        "id": item.id,
        "question": item.question,
        "lang": item.lang,
        "type": item.type,
        "difficulty": item.difficulty,
        "answerable": item.answerable,
        "expected_answer": item.answer,
        "must_include": item.must_include,
        "gold_sources": item.sources,
        "evidence": item.evidence,
        "retrieved": [],
        "answer": None,
        "refused": None,
        "answer_mode": None,
        "answerer": None,
        "citations": [],
        "flags": [],
        "notice": "",
        "judgement": None,
        "latency_s": None,
        "llm": None,  # LLM runs: raw model output, tokens, time to first token, failed checks
        "split": item.split,
        "history": list(item.history),
        "short": "",
        "short_quote": "",
        "outcome": None,  # answered / hedged / refused (eval.metrics.outcome_of)
    }
    try:
        result = None
        if answer:
            # Answer first: the scoring retrieval below would warm the query-embedding cache.
            # A follow-up item: its earlier questions are asked first, in one conversation.
            turns = []
            for earlier in item.history:
                turn = bot.run(earlier, list(turns), k=k, retriever=retriever, use_llm=use_llm)
                turns.append((earlier, turn.answer.text))
            started = time.perf_counter()
            result = bot.run(item.question, list(turns) or None, k=k, retriever=retriever, use_llm=use_llm)
            record["latency_s"] = round(time.perf_counter() - started, 4)
        prepared, _, _ = bot.prepare(item.question)
        if result is not None and item.history and result.answer.question:
            prepared = result.answer.question  # the standalone question the follow-up searched
        started = time.perf_counter()
        ranking = bot.retrieve(prepared, k=max(k, RANK_DEPTH), retriever=retriever)
        if result is None:
            record["latency_s"] = round(time.perf_counter() - started, 4)
        used_ids = [h.doc.id for h in result.hits] if result is not None else [h.doc.id for h in ranking[:k]]
        record["retrieved"] = [_passage(h, r, h.doc.id in used_ids) for r, h in enumerate(ranking, start=1)]
        if result is not None:
            ranked = {h.doc.id for h in ranking}
            record["ranking_matches_answer"] = used_ids == [h.doc.id for h in ranking[: len(used_ids)]]
            # Only if the answer's retrieval differed from the scoring one (k > 30).
            record["retrieved"] += [_passage(h, None, True) for h in result.hits if h.doc.id not in ranked]
            a = result.answer
            record.update(
                answer=a.text,
                refused=a.refused,
                answer_mode=a.mode,
                answerer=a.answerer,
                citations=[
                    {"n": c.n, "source": c.source, "quote": c.quote, "start": c.start, "end": c.end, "chunk_id": c.chunk_id}
                    for c in a.citations
                ],
                flags=list(a.flags),
                notice=a.notice,
                llm=_llm_record(a) if use_llm else None,
                short=getattr(a, "short", ""),
                short_quote=getattr(a, "short_quote", ""),
                judgement=(
                    {"answerable": result.judgement.answerable, "reason": result.judgement.reason}
                    if result.judgement else None
                ),
            )
    except Exception as exc:  # noqa: BLE001 - one broken question must not lose the whole run
        record["error"] = f"{type(exc).__name__}: {exc}"
        if answer and record["answer"] is None:
            record.update(answer="", refused=False)
    record["outcome"] = metrics.outcome_of(record)
    record["scores"], record["failed_checks"] = metrics.score_item(record, strip=metrics.lead_ins())
    return record


def _llm_record(answer) -> dict:
    """What a developer needs to see why a generated answer was shown or not: every model call's raw
    output, tokens and time to first token, the grounding checks that failed, the refusal decision."""
    from bot.answer.language import language_ok

    trace = answer.trace or {}
    generated = trace.get("answer")
    return {
        "calls": trace.get("calls", []),
        "passages": trace.get("passages", []),  # what the model was shown first, best first
        "shown": trace.get("shown", []),  # … their text
        "advice": trace.get("advice", ""),  # the judge's finding, as the model read it
        "problems": trace.get("problems", []),
        "sentences": trace.get("sentences", []),
        "refusal": trace.get("refusal"),
        "second_look": trace.get("second_look"),
        "missed_value": bool(trace.get("missed_value")),
        "elsewhere": bool(trace.get("elsewhere")),  # the answer rested on an article the judge quotes nothing from
        "off_question": bool(trace.get("off_question")),  # it copied a sentence sharing no word with the question
        "ungrounded_first": bool(trace.get("ungrounded_first")),  # the first reply failed grounding
        "language_retry": bool(trace.get("language_retry")),
        "language_ok": None if generated is None else language_ok(generated, answer.lang),
        "error": trace.get("error"),
    }


def evaluate(
    bot, items: Sequence[Item], *, k: int, retriever: str, use_llm: bool, answer: bool = True, desc: str = "eval"
) -> list[dict]:
    from tqdm import tqdm

    records = []
    try:
        for item in tqdm(items, desc=desc, unit="q", file=sys.stderr, dynamic_ncols=True):
            records.append(evaluate_item(bot, item, k=k, retriever=retriever, use_llm=use_llm, answer=answer))
    except KeyboardInterrupt:
        raise Interrupted(records) from None
    return records


class Interrupted(Exception):
    """Ctrl-C during an eval; `records` holds the questions scored before it."""

    def __init__(self, records: list[dict]) -> None:
        super().__init__(f"interrupted after {len(records)} questions")
        self.records = records


# -- run metadata ---------------------------------------------------------------


def settings_summary(settings: Settings) -> dict:
    """Every setting, with secrets reduced to whether they are set."""
    out: dict = {}
    for name, value in settings:
        if isinstance(value, SecretStr):
            out[name] = "set" if value.get_secret_value() else None
        elif isinstance(value, Path):
            out[name] = str(value)
        elif name == "openai_base_url" and value:
            parts = urlsplit(value)
            host = parts.hostname or ""
            netloc = host + (f":{parts.port}" if parts.port else "")
            out[name] = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        else:
            out[name] = value
    return out


# -- floors and the previous run ---------------------------------------------------


def floors_for(dataset: Path) -> Path:
    """A dataset's floors: eval/floors-news.json for eval/news.jsonl, eval/floors.json for the rest."""
    own = Path(dataset).with_name(f"floors-{Path(dataset).stem}.json")
    return own if own.is_file() else FLOORS


def load_floors(path: Path = FLOORS) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def below_floors(summary: dict, floors: dict) -> list[str]:
    """One line per metric outside its bound: `min` floors, and `max` ceilings for lower-is-better metrics."""
    problems = []
    for bound, worse in (("min", lambda v, f: v < f), ("max", lambda v, f: v > f)):
        for group, limits in (floors.get(bound) or {}).items():
            scope = summary if group == "overall" else summary.get("by_lang", {}).get(group, {})
            for key, limit in limits.items():
                value = scope.get(key)
                if value is None:
                    continue  # nothing to measure it on in this dataset
                if worse(value, limit):
                    sign = "<" if bound == "min" else ">"
                    problems.append(f"{group} {key} = {value:.3f} {sign} {'floor' if bound == 'min' else 'ceiling'} {limit}")
    return problems


def find_previous(out: Path) -> tuple[Path, dict] | None:
    """The newest results.json among `out`'s sibling run folders (or an older one in `out` itself)."""
    parent = out.parent
    if not parent.is_dir():
        return None
    found = sorted(
        (p for p in parent.glob("*/results.json") if p.is_file()), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for path in found:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(data, dict) or (data.get("meta") or {}).get("interrupted"):
            continue  # a run stopped part way scored other questions: no baseline
        if isinstance(data.get("items"), list) and isinstance(data.get("summary"), dict):
            return path.parent, data
    return None


def _load_baseline(path: Path) -> tuple[Path, dict]:
    path = Path(path)
    file = path / "results.json" if path.is_dir() else path
    return file.parent, json.loads(file.read_text(encoding="utf-8"))


def default_out() -> Path:
    runs = Path("eval") / "runs"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out, n = runs / stamp, 1
    while out.exists():
        n += 1
        out = runs / f"{stamp}-{n}"
    return out


# -- the command ------------------------------------------------------------------


def run_eval(
    dataset: Path,
    out: Path | None = None,
    mode: str = "extractive",
    retriever: str | None = None,
    k: int = 5,
    check_floors: bool = False,
    *,
    settings: Settings | None = None,
    baseline: Path | None = None,
    floors: Path = FLOORS,
    retrieval_only: bool = False,
    articles: Path | None = None,
) -> int:
    """Run the eval and write its files; returns the process exit code."""
    started = time.perf_counter()
    if k < 1:
        _say("Error: --k must be at least 1.")
        return 2
    try:
        items = load_dataset(Path(dataset))
    except DatasetError as exc:
        _say(f"Error: {exc}")
        return 2
    settings = settings or get_settings()
    if mode == "llm" and not settings.llm_configured:
        _say(
            "Error: --mode llm needs a language model: set BOT_LOCAL_MODEL (a GGUF file), "
            "OPENAI_BASE_URL (an OpenAI-compatible server) or OPENAI_API_KEY. "
            "Use --mode extractive to evaluate without one."
        )
        return 2
    # Extractive runs never load a model, even when one is configured.
    settings = settings.model_copy(update={"answer_mode": "llm" if mode == "llm" else "extractive"})
    retriever = retriever or settings.retriever
    articles = articles or dataset_articles(dataset)
    if articles is not None:
        if not Path(articles).is_dir():
            _say(f"Error: --articles {articles}: no such folder.")
            return 2
        try:
            settings = articles_index(settings, Path(articles))
        except (OSError, IndexUnavailable) as exc:
            _say(f"Error: indexing {articles} failed: {exc}")
            return 2
    try:
        bot = open_bot(settings)
    except IndexUnavailable as exc:
        _say(f"Error: {exc}")
        return 2
    except Exception as exc:  # noqa: BLE001 - e.g. the configured model cannot start: say so, no traceback
        _say(f"Error: the bot could not start ({type(exc).__name__}: {exc}).")
        return 2

    out = Path(out) if out else default_out()
    try:
        previous = _load_baseline(baseline) if baseline else find_previous(out)
    except (OSError, ValueError, RecursionError) as exc:
        _say(f"Warning: baseline {baseline} not read ({type(exc).__name__}); no comparison.")
        previous = None
    try:
        indexed = {d.metadata.get("source") for d in bot.retriever.lexical.docs}
        missing = sorted({s for i in items for s in i.sources} - indexed)
        if missing:
            _say(f"Warning: {len(missing)} gold source file(s) are not in the index: {', '.join(missing[:5])}")
        answerer = "none (retrieval only)" if retrieval_only else bot.answerer_label
        interrupted = False
        try:
            records = evaluate(bot, items, k=k, retriever=retriever, use_llm=mode == "llm", answer=not retrieval_only)
        except Interrupted as stop:  # Ctrl-C: what was scored is written, marked as partial
            records, interrupted = stop.records, True
    finally:
        bot.close()
    if interrupted and not records:
        _say("Interrupted before any question was scored; nothing written.")
        return 130

    from bot.embed import embedder_name

    results = {
        "meta": {
            "dataset": str(dataset),
            "articles": str(articles) if articles is not None else None,
            "n": len(records),
            # Ctrl-C part way: these are the first n of the dataset's questions only.
            "interrupted": interrupted,
            "of": len(items),
            "mode": mode,
            "retriever": retriever,
            "k": k,
            "retrieval_only": retrieval_only,
            "answerer": answerer,
            "embedder": embedder_name(settings),
            "timestamp": datetime.now().astimezone().isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "seconds": round(time.perf_counter() - started, 2),
            "missing_sources": missing,
            # Items whose scoring ranking did not start with the answerer's passages (expected 0).
            "ranking_mismatches": sum(r.get("ranking_matches_answer") is False for r in records),
            "settings": settings_summary(settings),
        },
        "summary": metrics.summarize(records),
        "items": records,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "report.md").write_text(render_report(results, previous), encoding="utf-8")
    (out / "report.html").write_text(render_html(results, previous), encoding="utf-8")

    click.echo(summary_table(results["summary"]))
    click.echo("\n" + split_table(results["summary"]))
    click.echo(f"\n{len(records)} questions in {results['meta']['seconds']:.1f} s; wrote {out / 'results.json'}, {out / 'report.md'} and {out / 'report.html'}")
    if interrupted:
        _say(f"Interrupted: {len(records)} of {len(items)} questions scored; the files hold those only.")
        return 130
    if check_floors:
        return _check_floors(results, floors)
    return 0


def _check_floors(results: dict, path: Path) -> int:
    try:
        floors = load_floors(path)
    except (OSError, ValueError, RecursionError) as exc:
        _say(f"Error: cannot read the floors file {path}: {exc}")
        return 2
    meta = results["meta"]
    differs = [key for key in ("mode", "retriever", "k") if key in floors and floors[key] != meta[key]]
    if differs:
        _say(f"Note: the floors were set for {', '.join(f'{k}={floors[k]}' for k in differs)}; this run differs.")
    problems = below_floors(results["summary"], floors)
    if problems:
        click.echo(f"\nBelow the floors in {path}:")
        for line in problems:
            click.echo(f"  - {line}")
        return 1
    click.echo(f"All metrics meet the floors in {path}.")
    return 0
