"""The lexical side at a tier's scale: BM25 build from every chunk, pickle save / load, one new article in place.

Its cost grows with the whole corpus: what every changing `bot ingest` used
to redo at its end (page every chunk out of Chroma, build, save), what every
`bot ask` and UI start pays (load), and what a changing ingest pays now
(load, `BM25Index.updated`, save).
"""

from __future__ import annotations

import time

from bench.corpus import article_chunks
from bench.report import Report
from bot.settings import Settings


def lexical_side(rep: Report, settings: Settings) -> dict:
    """What every ingest pays for the BM25 side (page all chunks out, build, save), and every start-up (load).

    (The two fixes this section used to propose, a memoised per-token fold and a
    compact pickle layout, are in bot/text.py and bot/lexical.py now.)
    """
    from bot.embed import make_embeddings
    from bot.index_dir import lexical_path
    from bot.lexical import BM25Index
    from bot.store import all_chunks, vector_store

    store = vector_store(settings, make_embeddings(settings))
    started = time.perf_counter()
    docs = all_chunks(store)
    page_s = time.perf_counter() - started
    started = time.perf_counter()
    index = BM25Index.build(docs)
    build_s = time.perf_counter() - started
    terms = len(index.terms)
    out = {"all_chunks_s": page_s, "bm25_build_s": build_s, "terms": terms}
    rep.row("all_chunks (page every chunk out of Chroma)", f"{page_s:.2f} s")
    rep.row("BM25Index.build", f"{build_s:.2f} s, {terms:,} terms")
    path = lexical_path(settings)
    started = time.perf_counter()
    index.save(path)
    out["pickle_save_s"] = time.perf_counter() - started
    started = time.perf_counter()
    loaded = BM25Index.load(path)
    out["pickle_load_s"] = time.perf_counter() - started
    out["pickle_mb"] = path.stat().st_size / 1e6
    if loaded is None or len(loaded) != len(index):
        rep.note("the saved BM25 index did not load back")
    rep.row("BM25 pickle: save / load / size", f"{out['pickle_save_s']:.2f} s / {out['pickle_load_s']:.2f} s / {out['pickle_mb']:.0f} MB")
    # What a changing ingest pays now (bot.ingest_vectors.refresh_lexical): one new article's
    # postings added to the saved index, instead of paging out and rebuilding every chunk.
    new = article_chunks(9_000_000)
    started = time.perf_counter()
    updated = BM25Index.load(path).updated(set(), new)
    plus_one = path.with_name(f"{path.stem}-plus-one.pkl")  # the tier's own file stays in step with Chroma
    updated.save(plus_one)
    out["one_article_update_s"] = time.perf_counter() - started
    plus_one.unlink()
    before = page_s + build_s + out["pickle_save_s"]
    rep.row(
        "one new article: BM25 in place (load + update + save) vs before (page out + build + save)",
        f"{out['one_article_update_s']:.2f} s vs {before:.2f} s ({before / out['one_article_update_s']:.1f}x)",
    )
    return out
