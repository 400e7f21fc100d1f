"""Serving the chat: where it may listen, the launch options, and `bot ui`'s start-up.

Nothing here reaches the network: analytics are off, there is no share link,
no server-side rendering and no MCP server.
"""

from __future__ import annotations

import ipaddress

from bot.pipeline import Bot
from bot.settings import Settings, get_settings
from bot.ui.layout import build_app
from bot.ui.theme import CSS, theme

# isort: off
# After bot.settings, which sets the no-telemetry environment defaults gradio's dependencies read on import.
import gradio as gr
# isort: on

LOOPBACK_NAMES = {"localhost"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, auth: str | None) -> tuple[str, str] | list[tuple[str, str]] | None:
    """The (user, password) to require, a list of them for several users, or None; ValueError when the
    host may not be served.

    BOT_UI_AUTH is `user:password`, or several such pairs separated by commas
    (`anna:pw1,binh:pw2`): each user then has chats and feedback of their own.
    """
    credentials = None
    if auth:
        pairs = []
        for part in auth.split(","):
            user, sep, password = part.strip().partition(":")
            if not (sep and user and password):
                raise ValueError(
                    "BOT_UI_AUTH must look like user:password (both parts non-empty), or several such pairs "
                    "separated by commas."
                )
            pairs.append((user, password))
        if len({user for user, _ in pairs}) != len(pairs):
            raise ValueError("BOT_UI_AUTH names a user twice.")
        credentials = pairs[0] if len(pairs) == 1 else pairs
    if credentials is None and not is_loopback(host):
        raise ValueError(
            f"Refusing to serve the UI on {host} without a password: anyone who can reach this machine could use it. "
            "Set BOT_UI_AUTH=user:password, or serve on 127.0.0.1 (the default)."
        )
    return credentials


def launch(
    app: gr.Blocks, *, host: str, port: int, auth: tuple[str, str] | list[tuple[str, str]] | None = None,
    block: bool = True,
) -> None:
    """Start the server; with block=False return once it listens (tests), else serve until Ctrl-C."""
    try:
        app.launch(
            server_name=host,
            server_port=port,
            auth=auth,
            share=False,
            inbrowser=False,
            prevent_thread_lock=True,
            show_error=False,
            ssr_mode=False,
            mcp_server=False,
            pwa=False,
            enable_monitoring=False,
            theme=theme(),
            css=CSS,
            quiet=True,  # Gradio's banner suggests share links, which this app never makes
        )
    except OSError as exc:
        raise ValueError(f"Cannot serve on {host}:{port} ({exc}); choose another --port.") from None
    if block:
        print(f"Chat UI on {app.local_url} (Ctrl-C to stop)", flush=True)
        app.block_thread()


def serve(
    host: str | None = None,
    port: int | None = None,
    *,
    settings: Settings | None = None,
    bot: Bot | None = None,
    block: bool = True,
) -> gr.Blocks:
    """`bot ui`: check where to listen, open the Bot once, serve until stopped.

    Raises ValueError (with what to do) when the host needs BOT_UI_AUTH or the
    port is taken, and IndexUnavailable when there is nothing to answer from.
    """
    settings = settings or (bot.settings if bot else get_settings())
    host = host or settings.ui_host
    port = port or settings.ui_port
    auth = check_bind(host, settings.ui_auth.get_secret_value() if settings.ui_auth else None)
    own_bot = bot is None
    if own_bot:
        from bot.answer.llm import LLMError

        try:
            bot = Bot(settings)
        except LLMError as exc:
            raise ValueError(str(exc)) from None
    try:
        app = build_app(bot)
        launch(app, host=host, port=port, auth=auth, block=block)
    except BaseException:
        if own_bot:
            bot.close()
        raise
    if block and own_bot:
        bot.close()
    return app
