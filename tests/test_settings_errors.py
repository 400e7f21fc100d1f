"""A nonsense BOT_* value is one line naming the setting and what it takes, exit 2, no traceback (issue 26.9)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from bot.settings import Settings, settings_error

CASES = [
    ({"BOT_TOP_K": "-1"}, "BOT_TOP_K='-1' is not allowed: it must be a whole number from 1 to 50."),
    ({"BOT_TOP_K": "abc"}, "BOT_TOP_K='abc' is not allowed: it must be a whole number from 1 to 50."),
    ({"BOT_UI_PORT": "70000"}, "BOT_UI_PORT='70000' is not allowed: it must be a whole number from 1 to 65535."),
    ({"BOT_MAX_FILE_BYTES": "0"}, "BOT_MAX_FILE_BYTES='0' is not allowed: it must be a whole number from 100 to"),
    ({"BOT_COLLECTION": "my news!"}, "BOT_COLLECTION='my news!' is not allowed: it must be 3-512 letters, digits"),
    ({"BOT_RETRIEVER": "both"}, "BOT_RETRIEVER='both' is not allowed: it must be one of hybrid, dense, bm25."),
    ({"BOT_INGEST_TOPICS": "maybe"}, "BOT_INGEST_TOPICS='maybe' is not allowed: it must be 1 or 0 (true or false)."),
    ({"BOT_API_KEY": "   "}, "BOT_API_KEY=(hidden) is not allowed: must be at least 16 characters"),
    ({"BOT_API_KEY": "short"}, "BOT_API_KEY=(hidden) is not allowed: must be at least 16 characters"),
    ({"BOT_CHUNK_OVERLAP": "700"}, "Bad settings: BOT_CHUNK_OVERLAP=700 must be smaller than BOT_CHUNK_SIZE=600"),
]


@pytest.mark.parametrize(("env", "line"), CASES, ids=[next(iter(e)) + "=" + next(iter(e.values())) for e, _ in CASES])
def test_the_message_names_the_setting_and_its_range(env, line, monkeypatch):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as bad:
        Settings(_env_file=None)
    assert settings_error(bad.value).startswith(line)
    assert "\n" not in settings_error(bad.value)


@pytest.mark.slow
@pytest.mark.parametrize("env", [{"BOT_TOP_K": "-1"}, {"BOT_API_KEY": "   "}, {"BOT_COLLECTION": "x"}])
def test_the_cli_says_it_in_one_line(env, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "BOT_", "CHROMA_"))}
    out = subprocess.run([sys.executable, "-m", "bot.cli", "ask", "who met in Geneva"], capture_output=True,
                         text=True, env={**base, **env, "BOT_INDEX_DIR": str(tmp_path)}, cwd=tmp_path, timeout=120)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {next(iter(env))}=")
    assert "   " not in lines[0]  # a key is never echoed


def test_a_key_of_16_characters_is_taken_and_an_empty_one_means_none(monkeypatch):
    monkeypatch.setenv("BOT_API_KEY", "k" * 16)
    assert Settings(_env_file=None).api_key.get_secret_value() == "k" * 16
    monkeypatch.setenv("BOT_API_KEY", "")
    assert Settings(_env_file=None).api_key is None
