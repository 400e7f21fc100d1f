"""The `bot` command: ingest articles, ask, chat, evaluate, and serve the UI."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from bot.render import format_answer
from bot.settings import RETRIEVERS, get_settings
from bot.text import clean_input, printable

# chromadb, langchain, gradio and the models load inside the commands that use them:
# `bot --help` must not pay for them.


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _open_bot():
    from bot.pipeline import Bot
    from bot.store import IndexUnavailable, require_index

    settings = get_settings()
    try:
        # Reading must not create an index folder (say where it looked instead).
        require_index(settings)
        return Bot(settings)
    except IndexUnavailable as exc:
        _fail(str(exc))
    except RuntimeError as exc:
        # An LLMError can only come from bot.answer.llm once loaded: with no model configured, it is not.
        llm = sys.modules.get("bot.answer.llm")
        if llm is None or not isinstance(exc, llm.LLMError):
            raise
        _fail(str(exc))


def _metas(bot) -> dict:
    """What is known of each indexed article (title, date, outlet), for the citations' bylines."""
    from bot.workspace.catalog import metas

    return metas(bot.retriever.lexical)


def _running_server(no_server: bool):
    """The `bot serve` to answer through (bot.remote), or None to answer in this process."""
    if no_server:
        return None
    from bot.remote import find_server

    return find_server(get_settings())


def _print_answer(printed: dict, as_json: bool, answered_in: str) -> None:
    """What `bot ask` prints, from bot.render's two forms of the answer (the same in process or from a server)."""
    if as_json:
        import json

        # Which path answered: an added key, so the rest reads the same either way.
        click.echo(json.dumps({**printed["json"], "answered_in": answered_in}, ensure_ascii=False, indent=2))
    else:
        click.echo(printable(printed["text"], lines=True))


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
def main(verbose: bool) -> None:
    """Ask questions about the news articles; answers quote and cite their sources."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from bot.redact import install_log_masking

    install_log_masking()  # HTTP clients log request URLs, credentials and all
    from pydantic import ValidationError

    from bot.settings import settings_error

    try:
        get_settings()  # read once here: a bad BOT_* value is one line per setting, not a traceback
    except ValidationError as exc:
        click.echo(f"Error: {settings_error(exc)}", err=True)
        sys.exit(2)


class _PathsCommand(click.Command):
    """A command taking file names: one that starts with '-' is read as an option unless it follows `--`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        given = list(args)  # the parser consumes `args`
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            # Click reads "-notes.txt" as the short option "-n": name the argument as typed.
            typed = next((a for a in given if a.startswith(exc.option_name) and a != "--"), exc.option_name)
            exc.message = (
                f"{exc.message} (a file or folder whose name starts with '-' goes after `--`: "
                f"bot {ctx.info_name} -- {printable(typed)})"
            )
            raise


@main.command(cls=_PathsCommand)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--sync", is_flag=True, help="Also remove articles that are no longer among PATHS.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build the index anew from PATHS alone; the old one answers until the new one is complete.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest(paths: tuple[Path, ...], sync: bool, rebuild: bool, quiet: bool) -> None:
    """Index articles (.txt files or folders of them); unchanged text is not embedded again.

    A name starting with '-' goes after `--`:  bot ingest -- -notes.txt
    """
    from bot.disk import DiskFull
    from bot.index_dir import IndexFolderError
    from bot.ingest import IngestStopped, NothingToIndex
    from bot.ingest import ingest as run_ingest
    from bot.progress import ProgressBars
    from bot.store import IndexUnavailable, store_label

    settings = get_settings()
    paths = paths or (settings.data_dir,)
    bars = None if quiet else ProgressBars()
    stopped: IngestStopped | None = None
    try:
        report = run_ingest(list(paths), settings, sync=sync, rebuild=rebuild, progress=bars)
    except IngestStopped as exc:
        stopped, report = exc, exc.report  # still say what was done before the store went away
    except (FileNotFoundError, IndexUnavailable, IndexFolderError, NothingToIndex, DiskFull) as exc:
        if bars is not None:
            bars.close()
        kept = " Nothing was changed: the index is as it was." if isinstance(exc, FileNotFoundError) else ""
        _fail(printable(str(exc)) + kept)
    finally:
        if bars is not None:
            bars.close()
    for name, reason in report.failed:
        click.echo(f"skipped {printable(name)}: {printable(reason)}", err=True)
    click.echo(printable(report.summary(), lines=True))
    if stopped is not None:
        _fail(str(stopped))
    if report.chunks_added:
        click.echo(f"engine: {report.encoder}")
        click.echo(f"answering after {report.searchable_s:.0f} s; every vector stored after {report.vectors_s:.0f} s")
    # Where it went: a relative BOT_INDEX_DIR lands in the current folder.
    click.echo(f"index: {printable(store_label(settings.model_copy(update={'index_dir': settings.index_dir.absolute()})))}")


_NO_SERVER = click.option(
    "--no-server", is_flag=True,
    help="Answer in this process even when `bot serve` runs on BOT_SERVE_HOST:BOT_SERVE_PORT over the same index.",
)


@main.command()
@click.argument("question", nargs=-1, required=True)
@click.option("--k", type=click.IntRange(1, 50), default=None, help="Passages to retrieve, 1-50 (default BOT_TOP_K).")
@click.option("--retriever", type=click.Choice(RETRIEVERS), default=None)
@click.option("--stream/--no-stream", default=False, help="Print generated text as it arrives.")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@_NO_SERVER
def ask(question: tuple[str, ...], k: int | None, retriever: str | None, stream: bool, as_json: bool, no_server: bool) -> None:
    """Answer one QUESTION from the articles, with citations.

    Through `bot serve` when one runs over the same index with the same settings (it has everything
    loaded already); in this process otherwise.
    """
    # Bytes that are not UTF-8 reach argv as lone surrogates: cleaned before anything sees them.
    asked = clean_input(" ".join(question))
    server = _running_server(no_server)
    if server is None or not _ask_server(server, asked, k, retriever, stream, as_json):
        _ask_in_process(asked, k, retriever, stream, as_json)


def _ask_server(server, asked: str, k: int | None, retriever: str | None, stream: bool, as_json: bool) -> bool:
    """Print the server's answer; False when the server failed before any of it was printed (answer in process)."""
    from bot.remote import RemoteError

    streamed = False
    try:
        for event in server.ask(asked, k=k, retriever=retriever):
            if "result" in event:
                if stream and not as_json and streamed:
                    click.echo("\n")
                _print_answer(event["result"], as_json, "server")
            elif "status" in event:
                if not as_json:
                    click.echo(event["status"], err=True)
            elif stream and not as_json:
                click.echo(printable(event["text"], lines=True), nl=False)
                streamed = True
    except RemoteError as exc:
        if streamed:  # half an answer is out: a second one after it would read as one
            _fail(str(exc))
        logging.getLogger(__name__).info("%s: answering in process", exc)
        return False
    return True


def _ask_in_process(asked: str, k, retriever, stream: bool, as_json: bool) -> None:
    from bot.answer import Status
    from bot.pipeline import Result
    from bot.render import answer_json

    bot = _open_bot()
    try:
        result = None
        streamed = False
        for event in bot.stream(asked, k=k, retriever=retriever):
            if isinstance(event, Result):
                result = event
            elif isinstance(event, Status):
                if not as_json:
                    click.echo(event.text, err=True)  # e.g. waiting for the model: on stderr, not the answer
            elif stream and not as_json:
                click.echo(printable(event, lines=True), nl=False)
                streamed = True
        if stream and not as_json and streamed:
            click.echo("\n")
        answer = result.answer
        metas = _metas(bot)
        _print_answer({"json": answer_json(answer, metas), "text": format_answer(answer, metas)}, as_json, "process")
    finally:
        bot.close()


class _InProcess:
    """`bot chat`'s answering in this process: the Bot, opened once."""

    def __init__(self) -> None:
        self.bot = _open_bot()
        self.answerer = self.bot.answerer_label

    def turn(self, question: str, history: list[tuple[str, str]]) -> Iterator[dict]:
        from bot.answer import Status
        from bot.pipeline import Result
        from bot.render import answer_json

        for event in self.bot.stream(question, history):
            if isinstance(event, Result):
                metas = _metas(self.bot)
                yield {"result": {"json": answer_json(event.answer, metas), "text": format_answer(event.answer, metas)}}
            elif isinstance(event, Status):
                yield {"status": event.text}
            else:
                yield {"text": event}

    def close(self) -> None:
        self.bot.close()


class _ThroughServer:
    """`bot chat`'s answering through a running `bot serve` (bot.remote)."""

    def __init__(self, server) -> None:
        self.server = server
        self.answerer = server.answerer

    def turn(self, question: str, history: list[tuple[str, str]]) -> Iterator[dict]:
        return self.server.ask(question, history)

    def close(self) -> None:
        pass


@main.command()
@_NO_SERVER
def chat(no_server: bool) -> None:
    """A terminal chat that keeps the conversation (follow-up questions work).

    Through `bot serve` when one runs over the same index with the same settings; in this process otherwise.
    """
    server = _running_server(no_server)
    answering = _ThroughServer(server) if server is not None else _InProcess()
    history: list[tuple[str, str]] = []
    if hasattr(sys.stdin, "reconfigure"):
        # With PYTHONIOENCODING=utf-8 (or a non-C locale) a bad byte raised here and
        # ended the session; kept as surrogates instead, clean_input replaces them.
        sys.stdin.reconfigure(errors="surrogateescape")
    click.echo(f"Answering with: {answering.answerer}. Empty line or Ctrl-D to quit.")
    try:
        while True:
            try:
                # stdin's decoding may keep bad bytes as surrogates or raise on them: both end here.
                question = clean_input(input("you> ")).strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not question:
                break
            result = _chat_turn(answering, question, history)
            if result is None:  # the server went away: this turn and the rest in this process
                answering = _InProcess()
                result = _chat_turn(answering, question, history)
            click.echo("\n" + printable(result["text"], lines=True))
            history.append((question, result["json"]["text"]))
    finally:
        answering.close()


def _chat_turn(answering, question: str, history: list[tuple[str, str]]) -> dict | None:
    """One answer, its text printed as it comes; what is printed at its end, or None when a server failed."""
    from bot.remote import RemoteError

    result = None
    try:
        for event in answering.turn(question, history):
            if "result" in event:
                result = event["result"]
            elif "status" in event:
                click.echo(event["status"], err=True)
            else:
                click.echo(printable(event["text"], lines=True), nl=False)
    except RemoteError as exc:
        click.echo(f"\n({exc}; answering in this process from now on)", err=True)
        return None
    return result


@main.command(name="eval")
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=Path("eval/qa.jsonl"))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Default eval/runs/<timestamp>.")
@click.option("--mode", type=click.Choice(["extractive", "llm"]), default="extractive")
@click.option("--retriever", type=click.Choice(RETRIEVERS), default=None)
@click.option("--k", type=int, default=5)
@click.option("--check-floors", is_flag=True, help="Exit 1 when a metric falls below the dataset's floors (eval/floors*.json).")
@click.option(
    "--floors",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The floors file (default: eval/floors-<dataset>.json beside the dataset, else eval/floors.json).",
)
@click.option(
    "--articles",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Answer from these articles alone (an index of their own, cached); default: the folder named like "
    "the dataset beside it (eval/news/ for eval/news.jsonl) if there is one, else the configured index.",
)
def eval_cmd(
    dataset: Path,
    out: Path | None,
    mode: str,
    retriever: str | None,
    k: int,
    check_floors: bool,
    floors: Path | None,
    articles: Path | None,
) -> None:
    """Score the bot on a Q&A dataset; writes results.json and report.md."""
    from eval.runner import floors_for, run_eval

    sys.exit(
        run_eval(
            dataset=dataset, out=out, mode=mode, retriever=retriever, k=k, check_floors=check_floors, articles=articles,
            floors=floors or floors_for(dataset),
        )
    )


@main.command()
@click.option("--host", default=None, help="Default BOT_UI_HOST (127.0.0.1).")
@click.option("--port", type=int, default=None, help="Default BOT_UI_PORT (7860).")
def ui(host: str | None, port: int | None) -> None:
    """Serve the chat UI."""
    from bot.store import IndexUnavailable, require_index
    from bot.ui import serve

    try:
        require_index(get_settings())  # as for `ask`: never create an empty index folder here
        serve(host=host, port=port)
    except (IndexUnavailable, ValueError) as exc:
        _fail(str(exc))



# -- feedback: readers' ratings of answers, as eval cases --------------------------


@main.group()
def feedback() -> None:
    """Readers' thumbs up / down on answers (given in the UI)."""


@feedback.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def feedback_export(file: Path) -> None:
    """Write the thumbs-down answers to FILE as eval cases (`bot eval --dataset FILE` asks them again)."""
    from bot.workspace.db import db_path
    from bot.workspace.feedback import FeedbackStore, export_dataset

    settings = get_settings()
    path = db_path(settings)
    if not path.is_file():
        _fail(f"no feedback yet: {path} does not exist (rate answers in the UI, `bot ui`).")
    try:
        count = export_dataset(FeedbackStore(path), file)
    except OSError as exc:
        _fail(f"cannot write {file}: {exc.strerror or exc}")
    if not count:
        Path(file).unlink(missing_ok=True)
        _fail(f"no thumbs-down answers in {path} yet; nothing written.")
    click.echo(f"{count} thumbs-down answer{'s' if count != 1 else ''} written to {file} as eval cases; "
               f"run `bot eval --dataset {file}`.")


# -- models: the catalogue, pulling, what this machine already has ------------------


@main.group()
def model() -> None:
    """Local models: list the catalogue and what is on this machine, pull one."""


@model.command(name="list")
def model_list() -> None:
    """The recommended models (size, sha256, license, RAM) and the models already on this machine."""
    from bot.autodetect import probe
    from bot.models import CATALOGUE, cached_ggufs, catalogue, hf_cache_dir, human_size, pulled_path

    settings = get_settings()
    click.echo(f"Catalogue ({CATALOGUE.relative_to(CATALOGUE.parents[2])}):")
    for entry in catalogue().values():
        if pulled_path(entry.name):
            status = "pulled"
        elif entry.pullable:
            status = f"bot model pull {entry.name}"
        else:
            status = "download by hand (no verified checksum yet)"
        ram = f"~{entry.ram_gb:g} GB RAM" if entry.ram_gb else "RAM ?"
        click.echo(f"  {entry.name:<20} {entry.params:>5}  {human_size(entry.size):>9}  {ram:<12} {entry.license}")
        click.echo(f"      {entry.repo} @ {entry.revision}: {entry.file}")
        click.echo(f"      sha256 {entry.sha256 or 'not verified'}")
        measured = []
        if entry.tokens_per_s:
            measured.append(f"{entry.tokens_per_s:g} tokens/s")
        if entry.eval:
            measured.append(entry.eval)
        click.echo(f"      measured here: {', '.join(measured) or 'not yet'}; {status}")
    click.echo("")
    cache = hf_cache_dir()
    ggufs = cached_ggufs(cache)
    click.echo(f"GGUFs in the Hugging Face cache ({cache}):" if ggufs else f"No GGUF in the Hugging Face cache ({cache}).")
    for g in ggufs:
        name = f" = {g.catalogue_name}" if g.catalogue_name else ""
        click.echo(f"  {g.repo}: {g.file} ({human_size(g.size)}){name}")
        click.echo(f"      {g.path}")
    if settings.local_model:
        click.echo(f"BOT_LOCAL_MODEL: {settings.local_model}")
    ports = settings.probe_ports
    servers = probe(ports)
    if servers:
        click.echo("Local OpenAI-compatible servers:")
        for s in servers:
            click.echo(f"  {s.kind} on {s.base_url}: {', '.join(s.models[:8])}{' …' if len(s.models) > 8 else ''}")
    else:
        click.echo(f"No local OpenAI-compatible server on 127.0.0.1 ports {', '.join(map(str, ports)) or '(none)'}.")


@model.command(name="pull")
@click.argument("name")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def model_pull(name: str, quiet: bool) -> None:
    """Download catalogue model NAME into the Hugging Face cache (resumable, checked by size and sha256)."""
    from bot.models import catalogue, find
    from bot.pull import PullError, _by_hand, pull
    from bot.settings import USER_HF_HUB_OFFLINE

    entry = find(name)
    if entry is None:
        _fail(f"no model {name!r} in the catalogue; choose one of: {', '.join(catalogue())} (see `bot model list`)")
    if (USER_HF_HUB_OFFLINE or "").strip().lower() in ("1", "true", "yes", "on"):
        _fail(f"HF_HUB_OFFLINE is set, so nothing is downloaded: unset it to pull {entry.name}, or {_by_hand(entry)}")
    try:
        path = pull(entry, progress=not quiet)
    except PullError as exc:
        _fail(str(exc))
    click.echo(f"{entry.name}: {path} (size and sha256 checked)")
    click.echo(f"Use it with BOT_LOCAL_MODEL={entry.name}")


@main.command()
@click.option("--host", default=None, help="Default BOT_SERVE_HOST (127.0.0.1; another host needs BOT_API_KEY).")
@click.option("--port", type=int, default=None, help="Default BOT_SERVE_PORT (8090).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the bot as an OpenAI-compatible model, `newsbot` (/v1/models, /v1/chat/completions)."""
    from bot.serve import serve as run_server
    from bot.store import IndexUnavailable

    try:
        run_server(host=host, port=port)
    except (IndexUnavailable, ValueError) as exc:
        _fail(str(exc))


if __name__ == "__main__":
    main()
