"""`bot model pull NAME`: download a catalogue model into the Hugging Face cache, checked.

huggingface_hub does the Hub's part, the metadata request (HEAD on the
resolve URL, redirects, commit and ETag headers, HF_ENDPOINT), within a
deadline of its own however the server stalls. The bytes go to a partial file
of our own, `blobs/<sha256>.incomplete`, which survives Ctrl-C or a lost
connection and is resumed with a Range request by the next pull; never more
than the catalogue's size is written (a mirror sending more is cut off and the
partial deleted), and a stalled read times out. Only a file of the
catalogue's size and sha256 is moved (atomically) to `blobs/<sha256>` and
linked from `snapshots/<commit>/<file>` the way huggingface_hub links its own
downloads; a file that fails the check is deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from bot.models import ModelEntry, human_size, repo_folder, snapshot_path

_OFFLINE_LOCK = threading.Lock()
_CHUNK = 8 * 1024 * 1024


class PullError(RuntimeError):
    """The model could not be pulled; str() is one line for people (what failed, what to do)."""


class ChecksumError(PullError):
    pass


def _by_hand(entry: ModelEntry) -> str:
    return (
        f"to install it by hand, download {entry.url} on a machine with internet, copy it here and "
        f"set BOT_LOCAL_MODEL=/path/to/{entry.file}"
    )


@contextlib.contextmanager
def _online() -> Iterator[None]:
    """Lift the bot's default HF_HUB_OFFLINE=1 for this download only (huggingface_hub reads it at import)."""
    from huggingface_hub import constants

    with _OFFLINE_LOCK:
        before = constants.HF_HUB_OFFLINE
        constants.HF_HUB_OFFLINE = False
        try:
            yield
        finally:
            constants.HF_HUB_OFFLINE = before


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _endpoint() -> str:
    """HF_ENDPOINT as set now (huggingface_hub's constant was read when it was first imported)."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _link(storage: Path, commit: str, entry: ModelEntry, blob: Path) -> Path:
    """snapshots/<commit>/<file> -> ../../blobs/<sha>, and refs/<revision> for a branch (as huggingface_hub does)."""
    pointer = storage / "snapshots" / commit / entry.file
    pointer.parent.mkdir(parents=True, exist_ok=True)
    if pointer.is_symlink() or pointer.exists():
        pointer.unlink()
    try:
        pointer.symlink_to(os.path.relpath(blob, pointer.parent))
    except OSError:  # no symlinks here (some file systems): huggingface_hub then keeps a copy
        os.link(blob, pointer) if hasattr(os, "link") else blob.replace(pointer)
    if entry.revision != commit:
        ref = storage / "refs" / entry.revision
        ref.parent.mkdir(parents=True, exist_ok=True)
        tmp = ref.with_name(f".{ref.name}.tmp")
        tmp.write_text(commit)
        tmp.replace(ref)
    return pointer


def _check(path: Path, entry: ModelEntry) -> None:
    """Raise ChecksumError (after deleting the file) unless it is exactly the catalogue's file."""
    size = path.stat().st_size
    problem = None
    if size != entry.size:
        problem = f"size {size} instead of {entry.size}"
    else:
        digest = sha256_of(path)
        if digest != entry.sha256:
            problem = f"sha256 {digest[:12]}… instead of {entry.sha256[:12]}…"
    if problem:
        path.unlink(missing_ok=True)
        raise ChecksumError(
            f"the download of {entry.name} does not match the catalogue ({problem}); it was deleted. "
            "Run `bot model pull` again; if it keeps failing the upstream file has changed."
        )


def pull(
    entry: ModelEntry,
    *,
    cache_dir: Path | None = None,
    endpoint: str | None = None,
    progress: bool = True,
    timeout_s: float = 10.0,
) -> Path:
    """Download (or resume) ENTRY into the Hugging Face cache and return the path of the checked file.

    Raises PullError with one line: what could not be reached or what did not match.
    """
    if not entry.pullable:
        raise PullError(
            f"{entry.name} has no verified size and sha256 in the catalogue, so it cannot be pulled and checked; "
            + _by_hand(entry)
        )
    from bot.models import hf_cache_dir

    cache_dir = Path(cache_dir or hf_cache_dir()).expanduser()
    existing = snapshot_path(entry, cache_dir)
    if existing is not None and existing.stat().st_size == entry.size:
        _check_linked(existing, entry)
        return existing

    endpoint = (endpoint or _endpoint()).rstrip("/")
    import httpx2  # what huggingface_hub 2.x speaks HTTP with
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    url = hf_hub_url(entry.repo, entry.file, revision=entry.revision, endpoint=endpoint)
    host = endpoint.split("://", 1)[-1]
    storage = repo_folder(entry.repo, cache_dir)
    blob = storage / "blobs" / entry.sha256
    partial = blob.with_name(blob.name + ".incomplete")
    with _online():
        try:
            meta = _within(
                timeout_s * 3, f"{host} did not finish answering the metadata request within {timeout_s * 3:g}s",
                get_hf_file_metadata, url, token=False, timeout=timeout_s, endpoint=endpoint,
            )
        except HfHubHTTPError as exc:
            raise PullError(f"{host} refused {entry.repo}/{entry.file} ({_status(exc)}); " + _by_hand(entry)) from None
        except TimeoutError as exc:
            raise PullError(f"{exc}; " + _by_hand(entry)) from None
        except (httpx2.HTTPError, OfflineModeIsEnabled, OSError) as exc:
            raise PullError(f"cannot reach {host} ({type(exc).__name__}); " + _by_hand(entry)) from None
    if not meta.commit_hash:
        raise PullError(f"{host} did not answer like the Hugging Face Hub (no commit header); " + _by_hand(entry))
    if meta.size is not None and meta.size != entry.size:
        raise ChecksumError(
            f"{entry.repo}/{entry.file} at {entry.revision} is {meta.size} bytes upstream, not the catalogue's "
            f"{entry.size}: the upstream file changed; nothing was downloaded"
        )
    if meta.etag and len(meta.etag) == 64 and meta.etag != entry.sha256:
        raise ChecksumError(
            f"{entry.repo}/{entry.file} at {entry.revision} has sha256 {meta.etag[:12]}… upstream, not the "
            f"catalogue's {entry.sha256[:12]}…: the upstream file changed; nothing was downloaded"
        )
    source = meta.location or url
    blob.parent.mkdir(parents=True, exist_ok=True)
    if blob.exists():  # another tool's download of the same file
        _check(blob, entry)
    else:
        _download(source, partial, entry, host, timeout_s=timeout_s, progress=progress)
        _check(partial, entry)
        partial.replace(blob)
    return _link(storage, meta.commit_hash, entry, blob)


def _within(seconds: float, message: str, call, *args, **kwargs):
    """call(*args, **kwargs), or TimeoutError(message) after `seconds` however the server stalls.

    The Hub client's own timeout is per read: a server trickling its headers byte by
    byte, or never ending a redirect chain, kept `bot model pull` waiting for ever.
    The call goes on in a daemon thread that dies with the command.
    """
    done: dict = {}

    def run() -> None:
        try:
            done["value"] = call(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            done["error"] = exc

    worker = threading.Thread(target=run, name="pull-metadata", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(message)
    if "error" in done:
        raise done["error"]
    return done["value"]


class _Oversized(Exception):
    pass


def _download(source: str, partial: Path, entry: ModelEntry, host: str, *, timeout_s: float, progress: bool) -> None:
    """Append the rest of the file to `partial`, never beyond the catalogue's size.

    A mirror sending more than that (an endless body, a Content-Length of 10^15)
    is cut off at once and the partial file deleted: bytes past the size mean the
    file is not the catalogue's, so nothing of it can be resumed. A stall longer
    than `timeout_s` between two reads ends the download, kept to resume.
    """
    import httpx

    done = partial.stat().st_size if partial.exists() else 0
    if done > entry.size:
        partial.unlink()
        done = 0
    bar = None
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=True, trust_env=False) as client:
            headers = {"Range": f"bytes={done}-"} if done else {}
            with client.stream("GET", source, headers=headers) as response:
                if response.status_code == 200 and done:  # the range was ignored: start again
                    partial.unlink()
                    done = 0
                elif response.status_code not in (200, 206):
                    _refused(response.status_code, entry, host, partial)
                length = response.headers.get("content-length", "")
                if length.isdigit() and done + int(length) > entry.size:
                    raise _Oversized(f"announced {int(length):,} bytes")
                if progress:
                    from tqdm import tqdm

                    bar = tqdm(total=entry.size, initial=done, unit="B", unit_scale=True, desc=entry.file)
                with partial.open("ab") as fh:
                    for part in response.iter_bytes():  # as they arrive: a break loses nothing received
                        if done + len(part) > entry.size:
                            raise _Oversized(f"sent more than {entry.size:,} bytes")
                        fh.write(part)
                        done += len(part)
                        if bar is not None:
                            bar.update(len(part))
    except _Oversized as exc:
        partial.unlink(missing_ok=True)
        raise PullError(
            f"{host} sent a file larger than the catalogue's {human_size(entry.size)} for {entry.name} ({exc}); "
            "the download was stopped and its partial file deleted. Check HF_ENDPOINT, or " + _by_hand(entry)
        ) from None
    except (httpx.HTTPError, OSError) as exc:
        kept = partial.stat().st_size if partial.exists() else 0
        raise PullError(
            f"the download of {entry.name} from {host} broke off at {human_size(kept)} of "
            f"{human_size(entry.size)} ({type(exc).__name__}); run the same command again to resume"
        ) from None
    finally:
        if bar is not None:
            bar.close()


def _refused(code: int, entry: ModelEntry, host: str, partial: Path) -> None:
    if code != 429 and code < 500:
        raise PullError(f"{host} refused the download of {entry.file} (HTTP {code}); " + _by_hand(entry))
    kept = partial.stat().st_size if partial.exists() else 0
    raise PullError(
        f"the download of {entry.name} stopped at {human_size(kept)} of {human_size(entry.size)} "
        f"(the server answered HTTP {code}); run the same command again to resume"
    )


def _check_linked(pointer: Path, entry: ModelEntry) -> None:
    """A cached file from any tool is checked too before the bot relies on it; a bad blob is removed with its link."""
    blob = pointer.resolve()
    try:
        _check(blob, entry)
    except ChecksumError:
        pointer.unlink(missing_ok=True)
        raise


def _status(exc) -> str:
    response = getattr(exc, "response", None)
    return f"HTTP {response.status_code}" if response is not None else type(exc).__name__
