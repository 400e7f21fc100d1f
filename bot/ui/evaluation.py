"""The Evaluation tab: the newest `bot eval` report (report.html), in a frame of its own.

The report is a self-contained page (eval/html_report.py: inline CSS, no script);
it is shown through `srcdoc` in a sandboxed iframe, so its styles and anything in
it stay inside the frame.
"""

from __future__ import annotations

import html
from pathlib import Path

# isort: off
import gradio as gr
# isort: on


def latest_report(runs: Path) -> Path | None:
    """The newest report.html under `runs` (a run folder, or a suites run's folder, one level down)."""
    runs = Path(runs)
    if not runs.is_dir():
        return None
    found = [p for pattern in ("*/report.html", "*/*/report.html") for p in runs.glob(pattern) if p.is_file()]
    return max(found, key=lambda p: p.stat().st_mtime, default=None)


def render(runs: Path) -> str:
    report = latest_report(runs)
    if report is None:
        return (f'<div class="placeholder">No evaluation report yet in {html.escape(str(runs))}: run '
                "<code>bot eval</code> (it writes report.html beside report.md).</div>")
    try:
        page = report.read_text(encoding="utf-8")
    except OSError as exc:
        return f'<div class="placeholder">{html.escape(str(report))} cannot be read ({html.escape(str(exc))}).</div>'
    return (
        f'<p class="eval-where">{html.escape(str(report))}</p>'
        f'<iframe id="eval-frame" title="Evaluation report" sandbox srcdoc="{html.escape(page, quote=True)}"></iframe>'
    )


def build(settings) -> None:
    """The tab's contents (inside an open gr.Tab), refreshed when the tab is opened or the button pressed."""
    view = gr.HTML(elem_id="eval-report")
    refresh = gr.Button("Show the newest report", elem_id="eval-refresh", size="sm")
    runs = settings.eval_runs_dir
    refresh.click(lambda: render(runs), None, [view], api_visibility="private", queue=False)
    return view, lambda: render(runs)
