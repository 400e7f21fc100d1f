"""A question from the shell loads only what answering it uses (issue 29).

`bot ask` in a fresh process over the seeded index, then what it imported: no
ingestion machinery, no server or UI package, no LLM client when no model is
configured. Each of these once rode along on the question path and cost seconds
of start-up (the record manager alone, SQLAlchemy inside, 1.2 s). How long the
path takes is the benchmark's (bench/startup.py); this keeps what it loads.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import SEEDS

QUESTION = "who met in Geneva on 21/1"

# What a question answered in process must not load: (module, what it is for).
NOT_ON_THE_QUESTION_PATH = {
    "langchain_classic": "the ingest record manager (langchain_classic.indexes)",
    "sqlalchemy": "the record manager's database",
    "langchain_text_splitters": "chunking articles at ingest",
    "bot.ingest": "ingestion",
    "bot.ingest_vectors": "ingestion's worker processes",
    "bot.chunk": "chunking articles at ingest",
    "bot.load": "reading article files at ingest",
    "gradio": "the UI",
    "bot.ui": "the UI",
    "fastapi": "`bot serve`",
    "starlette": "`bot serve`",
    "uvicorn": "`bot serve`",
    "bot.serve": "`bot serve`",
    "openai": "an LLM client (no model is configured)",
    "langchain_openai": "an LLM client (no model is configured)",
    "xllamacpp": "the local model (none is configured)",
    "bot.answer.llm": "answering with a model (none is configured)",
    "bot.local_server": "the local model's server (none is configured)",
}

# Through a running `bot serve` (tests/test_cli_server.py), the CLI loads none of the answering machinery either.
NOT_ON_THE_CLIENT_PATH = {
    **NOT_ON_THE_QUESTION_PATH,
    "chromadb": "the vector store (the server has it open)",
    "langchain_core": "the retriever (the server's)",
    "numpy": "the embedder and the evidence scoring (the server's)",
    "bot.pipeline": "answering (the server's)",
    "bot.retrieve": "retrieval (the server's)",
    "bot.embed": "the embedder (the server's)",
}

def env_for(index_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a user who has set nothing but where the index is (no model, no autodetection)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    env.update(BOT_INDEX_DIR=str(index_dir), BOT_DATA_DIR=str(SEEDS), BOT_AUTODETECT="0", **extra)
    return env


# The CLI as `bot` runs it, then the modules it loaded on stderr's last line.
_PROBE = """
import json, sys
from bot.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_by(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run `bot ARGS` in a fresh interpreter: (the run, every module it had loaded at the end)."""
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env, timeout=300,
                         cwd=Path(__file__).parent)
    assert out.returncode == 0, out.stderr[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("MODULES "), out.stderr[-3000:]
    return out, set(json.loads(last.removeprefix("MODULES ")))


def offenders(modules: set[str], forbidden: dict[str, str]) -> list[str]:
    """The forbidden modules (or their submodules) among `modules`, each with what it is for."""
    return [f"{name} ({why})" for name, why in forbidden.items()
            if name in modules or any(m.startswith(name + ".") for m in modules)]


def test_the_lists_name_modules_that_exist():
    """A misspelt name would never be loaded, and the test would pass for nothing."""
    missing = [name for name in NOT_ON_THE_CLIENT_PATH if importlib.util.find_spec(name.split(".")[0]) is None]
    missing += [name for name in NOT_ON_THE_CLIENT_PATH if name.startswith("bot.") and importlib.util.find_spec(name) is None]
    assert not missing


def test_offenders_sees_a_package_by_its_submodules():
    assert offenders({"json", "sqlalchemy.orm"}, {"sqlalchemy": "db", "gradio": "ui"}) == ["sqlalchemy (db)"]


def test_ask_in_process_loads_no_ingestion_server_ui_or_llm_module(seeded_index):
    out, modules = loaded_by(["ask", "--no-server", QUESTION], env_for(seeded_index))
    assert "Lavrov" in out.stdout and "Blinken" in out.stdout  # it answered: the whole path ran
    assert "chromadb" in modules and "bot.pipeline" in modules  # in process: the index was opened here
    assert not offenders(modules, NOT_ON_THE_QUESTION_PATH)
