"""``followaudit worker``, ``run`` and ``chat``: the processes of the audit pipeline."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from bot.commands import StartError, embedded_redis_errors, load_settings
from bot.infra.logs import console_log_path, setup_logging
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger("followaudit")


def _setup_logs(args: argparse.Namespace, *, console: bool, note: str = "") -> str | None:
    """Logs where ``--log-file`` says; by default JSON lines on standard error for a service,
    and for the console chat a private file, so that log lines never come between the chat's
    lines. Returns the line that says where (after ``note``) when that is a file. A file that
    cannot be opened is a bad option."""
    target: str | None = args.log_file
    if target is None and console:
        target = str(console_log_path())
    if target in (None, "-"):
        setup_logging(args.log_level)
        return None
    try:
        setup_logging(args.log_level, file=target)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = "--log-file" if args.log_file else "the chat log (under XDG_STATE_HOME)"
        raise StartError(
            f"{where} {target}: cannot write it ({reason}); give --log-file PATH, or - for "
            "standard error"
        ) from None
    return f"followaudit: {note}logs go to {target}"


def _say(line: str | None) -> None:
    if line:
        print(line, file=sys.stderr, flush=True)


def _until_stopped(main: Callable[[asyncio.Event], Coroutine[Any, Any, int]]) -> int:
    """``run_until_stopped(main)``; the embedded Redis failing to start is one line, exit 2."""
    from bot.infra.runtime import run_until_stopped

    with embedded_redis_errors():
        return run_until_stopped(main)


def worker(args: argparse.Namespace) -> int:
    settings = load_settings()
    _say(_setup_logs(args, console=False))
    if args.concurrency:
        settings.worker.concurrency = args.concurrency
    return _until_stopped(lambda stop: _worker(settings, stop))


async def _worker(settings: Settings, stop: asyncio.Event) -> int:
    from bot.app import open_app
    from bot.infra.runtime import run_worker, supervise

    async with open_app(settings) as app, _ops(app):
        await supervise(
            "worker", lambda ready: run_worker(app, stop, ready=ready), stop, app.health
        )
    return 0


@contextlib.asynccontextmanager
async def _ops(app: App) -> AsyncIterator[None]:
    """The metrics and ``/healthz`` server on ``worker.metrics_port``, when set."""
    settings = app.settings
    if not settings.worker.metrics_port:
        yield None
        return
    from bot.infra.ops import start_ops_server

    runner = await start_ops_server(
        app.redis, app.metrics, settings.worker.metrics_host, settings.worker.metrics_port,
        app.health,
    )  # fmt: skip
    try:
        yield None
    finally:
        await runner.cleanup()


def chat(args: argparse.Namespace) -> int:
    settings = load_settings()
    notice = _setup_logs(args, console=True)
    return _until_stopped(
        lambda stop: _chat(settings, stop, with_worker=not args.no_worker, notice=notice)
    )


async def _chat(
    settings: Settings, stop: asyncio.Event, *, with_worker: bool, notice: str | None = None
) -> int:
    """``stop``: a signal, stop waiting and leave. ``notice`` (where the logs go) is printed once
    the chat is up, so a chat that cannot start says only why."""
    from bot.app import open_app
    from bot.console.chat import ConsoleChat, read_lines
    from bot.infra.runtime import run_worker

    worker_stop = asyncio.Event()
    async with open_app(settings) as app:
        _say(notice)
        console = ConsoleChat(app.redis, settings, service=app.audit)
        consumer_stop = asyncio.Event()
        tasks = [asyncio.create_task(console.consumer.run(consumer_stop))]
        failure: list[BaseException] = []
        if with_worker:
            worker_task = asyncio.create_task(run_worker(app, worker_stop))

            def worker_done(task: asyncio.Task[None]) -> None:
                if not task.cancelled() and task.exception() is not None:
                    failure.append(task.exception())  # type: ignore[arg-type]
                    stop.set()  # the worker cannot even start: nothing would ever answer

            worker_task.add_done_callback(worker_done)
            tasks.append(worker_task)
        if sys.stdin.isatty():
            console.say("Type /audit HANDLE [SAMPLE] [fresh], e.g. /audit bsky:alice.bsky.social; "
                        "/help for the handle forms; Ctrl-D to finish.")  # fmt: skip
        lines = await read_lines(sys.stdin)
        try:
            while not stop.is_set():
                line = await _next(lines, stop)
                if line is None:
                    break
                await console.handle_line(line)
            await _first(console.wait_answered(), stop.wait())
        finally:
            consumer_stop.set()
            worker_stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            if not console.owed:
                await console.close()
    if failure:
        print(f"followaudit chat: the worker could not start: {failure[0]}", file=sys.stderr)
        return 2
    return 0 if not console.owed else 1


async def _next(lines: asyncio.Queue[str | None], stop: asyncio.Event) -> str | None:
    getter = asyncio.ensure_future(lines.get())
    await _first(getter, stop.wait())
    if getter.done():
        return getter.result()
    getter.cancel()
    return None


async def _first(*aws: object) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]  # type: ignore[arg-type]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            if not t.done():
                t.cancel()


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    adapters = _configured_adapters(settings)
    note = "" if adapters else "no chat token configured, so this is the console chat; "
    notice = _setup_logs(args, console=not adapters, note=note)
    if not adapters:
        log.warning("no chat token configured: running the console chat")
        return _until_stopped(lambda stop: _chat(settings, stop, with_worker=True, notice=notice))
    _say(notice)
    return _until_stopped(lambda stop: _run(settings, adapters, stop))


def _configured_adapters(settings: Settings) -> list[str]:
    names = []
    if settings.telegram.token is not None:
        names.append("telegram")
    if settings.discord.token is not None:
        names.append("discord")
    return names


#: Each chat adapter module exposes ``async def serve(app, stop, *, ready)``, which sets
#: ``ready`` once the bot is up.
ADAPTER_MODULES = {"telegram": "bot.telegram", "discord": "bot.discord"}


async def _run(settings: Settings, adapters: list[str], stop: asyncio.Event) -> int:
    """A worker, the alerts scheduler and each adapter on one composition root, each supervised:
    one that fails (its chat API unreachable, say) is started again with backoff and shown in
    ``/healthz`` while the others keep running."""
    import importlib

    from bot.alerts.app import serve as serve_alerts
    from bot.app import open_app
    from bot.infra.runtime import Part, run_worker, supervise

    async with open_app(settings) as app, _ops(app):
        parts: dict[str, Part] = {
            "worker": lambda ready: run_worker(app, stop, ready=ready),
            "alerts": lambda ready: serve_alerts(app.alerts, stop, ready=ready),
        }
        for name in adapters:
            try:
                module = importlib.import_module(ADAPTER_MODULES[name])
            except ImportError:
                log.error("the %s adapter is not installed in this build", name)
                continue
            parts[name] = lambda ready, m=module: m.serve(app, stop, ready=ready)  # type: ignore[misc]
        log.info("alerts scheduler running")
        await asyncio.gather(
            *(supervise(name, part, stop, app.health) for name, part in parts.items())
        )
    return 0
