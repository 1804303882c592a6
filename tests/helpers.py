"""Small helpers shared by tests: a controllable clock and polling with a deadline."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent


class FakeClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def wait_until(
    predicate: Callable[[], Any], within: float = 15.0, what: str = "condition"
) -> None:
    """Poll ``predicate`` (truthy, or an awaitable of truthy) every few milliseconds until it
    holds, failing after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.01)


async def spawn_followaudit_run(settings: dict[str, str]) -> asyncio.subprocess.Process:
    """``followaudit run --log-level debug`` as its own process group, with this environment less
    every ``FOLLOWAUDIT_`` variable plus ``settings``; stdout and stderr piped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
    env.update(settings, PYTHONPATH=str(REPO_ROOT))
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--log-level", "debug", env=env,
        cwd=str(REPO_ROOT), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
