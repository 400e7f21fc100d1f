"""Ingestion into a real Chroma with the real embedding model."""

from pathlib import Path

import pytest
from conftest import SEEDS, make_settings

from bot.chunk import chunk_article, make_splitter
from bot.embed import make_embeddings
from bot.index_dir import lexical_path
from bot.ingest import ingest
from bot.lexical import BM25Index
from bot.load import load_articles, read_article
from bot.store import all_chunks, vector_store


def _count(settings) -> int:
    return vector_store(settings, make_embeddings(settings))._collection.count()


def test_chunks_carry_source_offsets_and_hash():
    article = read_article(SEEDS / "002_5e381044bb73209e.txt")
    chunks = chunk_article(article, make_splitter(600, 120))
    assert len(chunks) > 3
    for i, doc in enumerate(chunks):
        meta = doc.metadata
        assert meta["source"] == "002_5e381044bb73209e.txt"
        assert meta["chunk_index"] == i
        assert article.text[meta["start"] : meta["end"]] == doc.page_content
        assert len(meta["content_hash"]) == 40
        assert len(doc.page_content) <= 600
    # Consecutive chunks overlap, so a sentence on a boundary is whole in one of them.
    assert any(chunks[i + 1].metadata["start"] < chunks[i].metadata["end"] for i in range(len(chunks) - 1))


def test_reingesting_unchanged_seeds_adds_nothing(seeded_settings):
    before = _count(seeded_settings)
    report = ingest([SEEDS], seeded_settings)
    assert report.chunks_added == 0
    assert len(report.files_unchanged) == 5
    assert _count(seeded_settings) == before == report.chunks_total


def test_unchanged_reingest_keeps_the_bm25_file_and_a_missing_one_is_rebuilt(seeded_settings):
    path = lexical_path(seeded_settings)
    written = path.stat().st_mtime_ns
    ingest([SEEDS], seeded_settings)
    assert path.stat().st_mtime_ns == written  # nothing changed: nothing paged out or rebuilt
    path.unlink()
    ingest([SEEDS], seeded_settings)
    assert len(BM25Index.load(path)) == _count(seeded_settings)


@pytest.mark.slow
def test_changed_file_replaces_its_chunks(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = corpus / "a.txt"
    article.write_text("Ngày 3/2, Bộ trưởng Nguyễn Văn A đến thăm Hà Nội. Chuyến thăm kéo dài hai ngày.", encoding="utf-8")
    (corpus / "b.txt").write_text("Ngày 5/2, đoàn đại biểu Lào tới Huế để bàn về du lịch và văn hóa.", encoding="utf-8")
    settings = make_settings(tmp_path / "index")
    first = ingest([corpus], settings)
    assert first.files_added == ["a.txt", "b.txt"]

    article.write_text("Ngày 9/2, Bộ trưởng Trần Thị B gặp đối tác Nhật Bản tại Đà Nẵng.", encoding="utf-8")
    second = ingest([corpus], settings)
    assert second.files_updated == ["a.txt"] and second.files_unchanged == ["b.txt"]
    texts = [d.page_content for d in all_chunks(vector_store(settings, make_embeddings(settings)))]
    assert any("Trần Thị B" in t for t in texts)
    assert not any("Nguyễn Văn A" in t for t in texts)
    assert _count(settings) == 2


@pytest.mark.slow
def test_sync_removes_vanished_files(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "keep.txt").write_text("Thủ tướng phát biểu tại hội nghị về kinh tế số ở Hà Nội.", encoding="utf-8")
    gone = corpus / "gone.txt"
    gone.write_text("Đội tuyển bóng đá thắng trận chung kết tại sân Mỹ Đình.", encoding="utf-8")
    settings = make_settings(tmp_path / "index")
    ingest([corpus], settings)
    gone.unlink()
    plain = ingest([corpus], settings)
    assert _count(settings) == 2 and not plain.files_deleted  # without --sync nothing is removed
    synced = ingest([corpus], settings, sync=True)
    assert synced.files_deleted == ["gone.txt"]
    assert _count(settings) == 1


@pytest.mark.slow
def test_bad_files_are_reported_by_name_and_the_rest_indexed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Hội nghị thượng đỉnh diễn ra tại Hà Nội với sự tham gia của nhiều nước.", encoding="utf-8")
    (corpus / "latin1.txt").write_bytes("Hội nghị".encode("cp1258", errors="replace") + b"\xff\xfe\xfa")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blank.txt").write_text("   \n\n ", encoding="utf-8")
    (corpus / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    report = ingest([corpus], make_settings(tmp_path / "index"))
    reasons = dict(report.failed)
    assert set(reasons) == {"latin1.txt", "empty.txt", "blank.txt", "binary.txt"}
    assert "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert report.files_added == ["good.txt"]


def test_same_name_in_two_folders_is_refused(tmp_path):
    for sub in ("x", "y"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "same.txt").write_text(f"Bài báo số {sub} về hội nghị ở Hà Nội.", encoding="utf-8")
    report = load_articles([tmp_path / "x", tmp_path / "y"])
    assert [a.source for a in report.articles] == ["same.txt"]
    assert report.skipped and "same file name" in report.skipped[0][1]


def test_utf8_bom_and_decomposed_text_are_normalised(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffNga\u0300y 21/1".encode())
    assert read_article(path).text == "Ngày 21/1"


def test_missing_path_is_a_clear_error(tmp_path):
    import pytest

    with pytest.raises(FileNotFoundError, match="No such file"):
        load_articles([Path(tmp_path / "nope")])


@pytest.mark.slow
def test_a_long_article_reingested_unchanged_embeds_nothing(tmp_path):
    """More chunks than one indexing batch of 32. (Indexed in batches of 32, incremental cleanup
    after the first batch deleted the later chunks, not yet seen again, and the second batch
    embedded them anew: 11 of this article's 43 chunks at every re-ingest.)"""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lines = [f"Đoạn {i}: hội nghị lần thứ {i} bàn về quy hoạch giao thông, y tế và giáo dục của tỉnh số {i}. "
             f"Các đại biểu thống nhất {i + 2} nội dung và hẹn gặp lại sau {i % 7 + 1} tháng." for i in range(130)]
    (corpus / "long.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = make_settings(tmp_path / "index")
    first = ingest([corpus], settings)
    assert first.chunks_added > 40
    again = ingest([corpus], settings)
    assert again.files_unchanged == ["long.txt"] and again.chunks_added == again.chunks_deleted == 0
    assert again.chunks_skipped == first.chunks_added and not any(again.encoded.values())
    assert _count(settings) == first.chunks_total
