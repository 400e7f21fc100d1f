"""The `bot` command: ingest articles, ask, chat, evaluate, and serve the UI."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from bot.settings import get_settings
from bot.store import IndexUnavailable


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _open_bot():
    from bot.answer.llm import LLMError
    from bot.pipeline import Bot

    try:
        return Bot(get_settings())
    except (IndexUnavailable, LLMError) as exc:
        _fail(str(exc))


def format_answer(answer, show_quotes: bool = True) -> str:
    """The answer, which answerer gave it, and its citations with quote and offsets."""
    lines = [answer.text.strip()]
    if answer.notice:
        lines.append(f"({answer.notice})")
    for c in answer.citations:
        lines.append(f"[{c.n}] {c.source} (chars {c.start}-{c.end})")
        if show_quotes:
            lines.append(f"    “{c.quote}”")
    for flag in answer.flags:
        lines.append(f"! {flag}")
    lines.append(f"— answered by: {answer.answerer}")
    return "\n".join(lines)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
def main(verbose: bool) -> None:
    """Ask questions about the news articles; answers quote and cite their sources."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sync", is_flag=True, help="Also remove articles that are no longer among PATHS.")
@click.option("--rebuild", is_flag=True, help="Delete the index first and build it anew.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest(paths: tuple[Path, ...], sync: bool, rebuild: bool, quiet: bool) -> None:
    """Index articles (.txt files or folders of them); unchanged text is not embedded again."""
    from tqdm import tqdm

    from bot.index_dir import IndexFolderError
    from bot.ingest import ingest as run_ingest
    from bot.ingest import wipe_index

    settings = get_settings()
    paths = paths or (settings.data_dir,)
    if rebuild:
        try:
            wipe_index(settings)
        except IndexFolderError as exc:
            _fail(str(exc))
    bar = None if quiet else tqdm(total=0, unit="file", desc="ingest", file=sys.stderr)

    def progress(name: str, done: int, total: int) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.set_postfix_str(name[:40])
            bar.refresh()

    try:
        report = run_ingest(list(paths), settings, sync=sync, progress=progress)
    except (FileNotFoundError, IndexUnavailable, IndexFolderError) as exc:
        _fail(str(exc))
    finally:
        if bar is not None:
            bar.close()
    for name, reason in report.failed:
        click.echo(f"skipped {name}: {reason}", err=True)
    click.echo(report.summary())


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--k", type=int, default=None, help="Passages to retrieve (default BOT_TOP_K).")
@click.option("--retriever", type=click.Choice(["hybrid", "dense", "bm25"]), default=None)
@click.option("--stream/--no-stream", default=False, help="Print generated text as it arrives.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
def ask(question: tuple[str, ...], k: int | None, retriever: str | None, stream: bool, as_json: bool) -> None:
    """Answer one QUESTION from the articles, with citations."""
    import json

    from bot.pipeline import Result

    bot = _open_bot()
    try:
        result = None
        streamed = False
        for event in bot.stream(" ".join(question), k=k, mode=retriever):
            if isinstance(event, Result):
                result = event
            elif stream and not as_json:
                click.echo(event, nl=False)
                streamed = True
        if stream and not as_json and streamed:
            click.echo("\n")
        answer = result.answer
        if as_json:
            click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        else:
            click.echo(format_answer(answer))
    finally:
        bot.close()


@main.command()
def chat() -> None:
    """A terminal chat that keeps the conversation (follow-up questions work)."""
    from bot.pipeline import Result

    bot = _open_bot()
    history: list[tuple[str, str]] = []
    click.echo(f"Answering with: {bot.answerer_label}. Empty line or Ctrl-D to quit.")
    try:
        while True:
            try:
                question = input("you> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not question:
                break
            result = None
            for event in bot.stream(question, history):
                if isinstance(event, Result):
                    result = event
                else:
                    click.echo(event, nl=False)
            click.echo("\n" + format_answer(result.answer))
            history.append((question, result.answer.text))
    finally:
        bot.close()


@main.command(name="eval")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=Path("eval/qa.jsonl"))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Default eval/runs/<timestamp>.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default="extractive")
@click.option("--retriever", type=click.Choice(["hybrid", "dense", "bm25"]), default=None)
@click.option("--k", type=int, default=5)
@click.option("--check-floors", is_flag=True, help="Exit 1 when retrieval falls below eval/floors.json.")
def eval_cmd(dataset: Path, out: Path | None, mode: str, retriever: str | None, k: int, check_floors: bool) -> None:
    """Score the bot on a Q&A dataset; writes results.json and report.md."""
    from eval.runner import run_eval

    sys.exit(run_eval(dataset=dataset, out=out, mode=mode, retriever=retriever, k=k, check_floors=check_floors))


@main.command()
@click.option("--host", default=None, help="Default BOT_UI_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default BOT_UI_PORT (7860).")
def ui(host: str | None, port: int | None) -> None:
    """Serve the chat UI."""
    from bot.ui import serve

    try:
        serve(host=host, port=port)
    except (IndexUnavailable, ValueError) as exc:
        _fail(str(exc))


if __name__ == "__main__":
    main()
