"""The chat UI's start-up: a fresh process from `import bot.ui` to its first `/chat` answer over loopback.

Measured in a fresh process because start-up cost is the point: import
(gradio), `Bot(...)`, build + launch with the options of `bot ui`, then one
question through `gradio_client`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.common import GENEVA, child_env, timed_child
from bench.report import Report

# Run as `python -c` in the child; bench_ui fills in {index} and {question} (doubled braces stay braces).
UI_CHILD = r"""
import json, socket, time
t0 = time.perf_counter()
from bot.ui import build_app, launch  # loads gradio
from gradio_client import Client
from bot.pipeline import Bot
from bot.settings import Settings
t1 = time.perf_counter()
settings = Settings(_env_file=None, index_dir={index!r}, answer_mode="extractive", openai_api_key=None,
                    openai_base_url=None, local_model=None, chroma_host=None)
bot = Bot(settings)  # what `bot ui` opens (bot.ui.serve), before building the app
t2 = time.perf_counter()
app = build_app(bot)
t3 = time.perf_counter()
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
launch(app, host="127.0.0.1", port=port, block=False)  # same launch options as `bot ui`
t4 = time.perf_counter()
client = Client(f"http://127.0.0.1:{{port}}/", verbose=False)
answer = client.predict({question!r}, api_name="/chat")
t5 = time.perf_counter()
app.close()
bot.close()
print(json.dumps(dict(import_s=t1 - t0, bot_s=t2 - t1, build_s=t3 - t2, launch_s=t4 - t3, ready_s=t4 - t0,
                      first_chat_s=t5 - t4, total_s=t5 - t0, answer=str(answer)[:200])))
"""


def bench_ui(rep: Report, seeds_index: Path) -> None:
    """The `ui` section, answering from the seed index."""
    rep.section("Chat UI start-up to first answer (gradio, loopback)")
    code = UI_CHILD.format(index=str(seeds_index), question=GENEVA)
    with rep.measuring("ui"):
        wall, rss, out, err, rc = timed_child(
            [sys.executable, "-c", code], child_env(BOT_INDEX_DIR=str(seeds_index)), seeds_index.parent, 600
        )
    if rc != 0:
        rep.note(f"UI start-up failed ({rc}): {err.strip().splitlines()[-1] if err.strip() else '?'}")
        return
    r = json.loads(out.strip().splitlines()[-1])
    rep.row("import bot.ui (gradio)", f"{r['import_s']:.1f} s")
    rep.row("Bot(settings) (index, BM25, embedder)", f"{r['bot_s']:.1f} s")
    rep.row("build_app + launch (server listening)", f"{r['build_s']:.1f} s + {r['launch_s']:.1f} s")
    rep.row("process start to ready (listening)", f"{r['ready_s']:.1f} s")
    rep.row("first /chat call via gradio_client (connect + answer)", f"{r['first_chat_s']:.1f} s")
    rep.row("process start to first answer (whole child)", f"{r['total_s']:.1f} s, peak RSS {rss:.0f} MB")
    rep.data["ui"] = {**r, "child_wall_s": wall, "peak_rss_mb": rss}
