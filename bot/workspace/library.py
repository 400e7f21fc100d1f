"""Adding and removing articles while the bot answers: uploads, addresses, removal.

An added file is checked first (its format read, its text compared with the
index) and only then copied into the upload folder (BOT_UPLOAD_DIR, default
`.newsbot/uploads/` in the index folder) and ingested exactly as `bot ingest` does, with
its report; a fetched page is saved there too, its address written to the
folder's metadata.jsonl. So `bot ingest UPLOADS` (after a `--rebuild`, say)
brings every added article back. Removing an article takes its chunks out of
every index (Chroma, the ingest records, BM25, the text copies), like
`bot ingest --sync` does for a file that is gone, and its file out of the
upload folder.

One change runs at a time (a second upload waits for the first); questions are
answered meanwhile from the index as it was, and from the changed one as soon
as `on_change` has reopened it.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.formats import SUFFIXES, limit_for, read_bytes
from bot.formats.base import Extracted
from bot.formats.meta import ArticleMeta, append_metadata, drop_metadata
from bot.settings import Settings

Progress = Callable[[str, int, int], None]  # (file name, files done, files total)
MAX_NAME_CHARS = 120


def upload_dir(settings: Settings) -> Path:
    """BOT_UPLOAD_DIR, else uploads/ in the bot's own folder (.newsbot/, bot.index_dir): nothing of
    the reader's BOT_INDEX_DIR is written, and a rebuild (which replaces only index-<id>/) keeps it."""
    if settings.upload_dir:
        return Path(settings.upload_dir)
    from bot.index_dir import own_folder

    return own_folder(settings.index_dir) / "uploads"


def clean_name(name: str) -> str:
    """A file name safe to cite and to keep: one line, no folders, no leading dot, not too long.

    Quotes and other characters stay (they are escaped wherever a name is shown); line
    breaks and control characters become spaces; the suffix is kept through any cut.
    """
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.sub(r"[\x00-\x1f\x7f]+", " ", name).replace("/", "_").replace("\\", "_")
    name = " ".join(name.split())
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = f".{suffix.lower().strip()}" if dot else ""
    stem = stem.lstrip(".").strip() or "article"  # a leading dot would hide the file
    return stem[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix


@dataclass
class Change:
    """What one add or removal did, in lines a person reads (the same words `bot ingest` prints)."""

    lines: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    summary: str = ""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def text(self) -> str:
        return "\n".join([*self.lines, *([self.summary] if self.summary else [])])


class Library:
    """The articles of one index, changed one change at a time; `on_change` reopens what answers."""

    def __init__(self, settings: Settings, indexed: Callable[[], list], on_change: Callable[[], None]) -> None:
        """indexed: the current catalogue (bot.workspace.catalog.entries); on_change: called after a change."""
        self.settings = settings
        self._indexed = indexed
        self._on_change = on_change
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._lock.locked()

    # -- adding -----------------------------------------------------------------

    def add_files(self, files: Iterable[tuple[str, Path]], progress: Progress | None = None) -> Change:
        """Add uploaded files, given as (the name the reader's file had, where its bytes are now)."""
        files = list(files)
        change = Change()
        if not files:
            change.lines.append("Nothing to add: no file was given.")
            return change
        with self._lock:
            staged: list[tuple[str, bytes, Extracted]] = []
            for original, path in files:
                name = clean_name(original or Path(path).name)
                checked = self._check(name, Path(path), staged, change)
                if checked is not None:
                    staged.append(checked)
                    if name != str(original):
                        change.lines.append(f"saved as {name} (its name had line breaks, folders or a leading dot, "
                                            "which a citation cannot show)")
            return self._ingest(staged, change, progress)

    def add_url(self, url: str, progress: Progress | None = None) -> Change:
        """Fetch a page (or PDF) by its address and add it; its address is kept in metadata.jsonl."""
        from bot.formats.fetch import FetchError, fetch, name_for

        change = Change()
        with self._lock:
            if progress:
                progress(url, 0, 1)
            try:
                fetched = fetch(url, timeout_s=self.settings.fetch_timeout_s,
                                max_bytes=self.settings.max_document_bytes)
                extracted = read_bytes(fetched.body, fetched.suffix, url=fetched.url)
            except (FetchError, ValueError) as exc:
                change.skipped.append((url.strip(), str(exc)))
                change.lines.append(f"skipped {url.strip()}: {exc}")
                return change
            name = clean_name(name_for(fetched.url, fetched.suffix))
            if not self._fits(name, extracted, change):
                return change
            meta = ArticleMeta(url=fetched.url)
            return self._ingest([(name, fetched.body, extracted)], change, progress, meta={name: meta})

    def _check(self, name: str, path: Path, staged: list, change: Change):
        """(name, bytes, extracted) for a file that may be added; None (with the reason said) otherwise."""
        suffix = Path(name).suffix.lower()
        if suffix not in SUFFIXES:
            return self._skip(change, name, f"not a format the bot reads (it reads {', '.join(SUFFIXES)})")
        if any(n == name for n, _, _ in staged):
            return self._skip(change, name, "the same file name twice in one upload")
        try:
            size = path.stat().st_size
            limit = limit_for(suffix, self.settings.max_file_bytes, self.settings.max_document_bytes)
            if size > limit:
                setting = "BOT_MAX_FILE_BYTES" if limit == self.settings.max_file_bytes else "BOT_MAX_DOCUMENT_BYTES"
                return self._skip(change, name, f"file too large ({size:,} bytes > {setting}={limit:,})")
            raw = path.read_bytes()
            extracted = read_bytes(raw, suffix)
        except (OSError, ValueError) as exc:
            return self._skip(change, name, str(exc) if isinstance(exc, ValueError) else f"cannot be read ({exc})")
        from hashlib import sha1

        digest = sha1(extracted.text.encode("utf-8")).hexdigest()
        twin = next((n for n, _, e in staged if sha1(e.text.encode("utf-8")).hexdigest() == digest), None)
        if twin:
            return self._skip(change, name, f"same text as {twin}, in this upload")
        if not self._fits(name, extracted, change):
            return None
        return name, raw, extracted

    def _fits(self, name: str, extracted: Extracted, change: Change) -> bool:
        """Whether an article may join the index under `name` (said why not, when not)."""
        from hashlib import sha1

        digest = sha1(extracted.text.encode("utf-8")).hexdigest()
        for entry in self._indexed():
            if entry.sha1 == digest:
                already = "already indexed" if entry.source == name else f"same text as {entry.source}, already indexed"
                self._skip(change, name, already)
                return False
            if entry.source == name:
                self._skip(change, name, f"an article named {name} is already indexed with another text; "
                                         "rename the file, or remove that article first")
                return False
        return True

    @staticmethod
    def _skip(change: Change, name: str, reason: str) -> None:
        """Say why `name` is not added; returns None, so `return self._skip(...)` reads as a refusal."""
        change.skipped.append((name, reason))
        change.lines.append(f"skipped {name}: {reason}")
        return None

    def _ingest(self, staged: list, change: Change, progress: Progress | None,
                meta: dict[str, ArticleMeta] | None = None) -> Change:
        if not staged:
            change.summary = "Nothing was added."
            return change
        from bot.ingest import IngestStopped, ingest

        folder = upload_dir(self.settings)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, raw, _ in staged:
            target = folder / name
            tmp = folder / f".{name}.part"
            tmp.write_bytes(raw)
            tmp.replace(target)  # never a half-written article in the folder
            paths.append(target)
            for key, value in (meta or {}).items():
                if key == name:
                    append_metadata(folder, name, value)
        try:
            report = ingest(paths, self.settings, progress=_by_file(progress))
        except IngestStopped as exc:
            report = exc.report
            change.lines.append(str(exc))
        except Exception:
            for path in paths:  # not indexed: not kept either, so the folder holds only what the index does
                path.unlink(missing_ok=True)
            raise
        for name, reason in report.failed:
            change.skipped.append((name, reason))
            change.lines.append(f"skipped {name}: {reason}")
            (folder / name).unlink(missing_ok=True)
        for name in report.files_added + report.files_updated:
            change.added.append(name)
            change.lines.append(f"added {name}")
        for name in report.files_unchanged:
            change.lines.append(f"unchanged {name}: already indexed")
        change.summary = report.summary()
        if change.changed:
            self._on_change()
        return change

    # -- removing ----------------------------------------------------------------

    def remove(self, source: str) -> Change:
        """Take one article out of every index, and its file out of the upload folder."""
        change = Change()
        with self._lock:
            known = {e.source: e for e in self._indexed()}
            if source not in known:
                change.lines.append(f"{_shown(source)} is not among the indexed articles; nothing was removed.")
                return change
            chunks = remove_article(self.settings, source)
            folder = upload_dir(self.settings)
            kept_elsewhere = ""
            if (folder / source).is_file():
                (folder / source).unlink()
                drop_metadata(folder, source)
            elif (Path(self.settings.data_dir) / source).is_file():
                kept_elsewhere = (f" Its file is still in {self.settings.data_dir}: "
                                  f"`bot ingest {self.settings.data_dir}` would add it again.")
            change.removed.append(source)
            change.lines.append(f"removed {source}: {chunks} chunks taken out of the index.{kept_elsewhere}")
            self._on_change()
        return change


def remove_article(settings: Settings, source: str) -> int:
    """Delete an article's chunks from the vector store, the ingest records, BM25 and the text
    copies; returns how many chunks it had. Like `bot ingest --sync` for a file that is gone."""
    from bot.index_dir import locked

    # Beside `bot ingest` (a shared hold on the index folder), never during a rebuild's swap.
    with locked(settings.index_dir, exclusive=False):
        return _remove_from(settings.pinned(), source)


def _remove_from(settings: Settings, source: str) -> int:
    from bot.embed import make_embeddings
    from bot.index_dir import articles_dir, lexical_path
    from bot.lexical import BM25Index
    from bot.store import all_chunks, record_manager, store_ids, vector_store

    store = vector_store(settings, make_embeddings(settings))
    records = record_manager(settings)
    held_before = store_ids(store)
    ids = store._collection.get(where={"source": source}, include=[])["ids"]
    if ids:
        store.delete(ids=ids)
    records.delete_keys(records.list_keys(group_ids=[source]))
    (articles_dir(settings) / source).unlink(missing_ok=True)
    # BM25: the article's postings out of the saved index when it was in step with the store,
    # else rebuilt from the store (as bot.ingest_vectors.refresh_lexical decides).
    path = lexical_path(settings)
    saved = BM25Index.load(path)
    if saved is not None and set(saved.ids) == held_before:
        saved.updated(remove=set(ids)).save(path)
    else:
        BM25Index.build(all_chunks(store)).save(path)
    return len(ids)


def _by_file(progress: Progress | None):
    """bot.ingest's progress (bot.ingest.IngestProgress) as (file name, files done, files total);
    the vectors stored after the index answers are not the reader's wait."""
    if progress is None:
        return None

    def report(p) -> None:
        if p.stage == "index":
            progress(p.name, p.done, p.total)

    return report


def _shown(name: str) -> str:
    """A name as one line (a reader's file name may hold line breaks)."""
    return " ".join(str(name).split()) or "(no name)"
