"""Settings that would start a process unsafely are refused: Telegram's webhook mode needs its
URL and a secret token (issue 16, item 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.settings import Settings, invalid_settings
from tests.helpers import REPO_ROOT

URL = "https://bot.example.org/telegram"


def _settings(**telegram: Any) -> Settings:
    return Settings(_env_file=None, telegram=telegram)  # type: ignore[call-arg]


def _refusal(**telegram: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        _settings(**telegram)
    return invalid_settings(caught.value)


def test_webhook_mode_needs_a_secret_and_a_url() -> None:
    line = _refusal(mode="webhook")
    assert "FOLLOWAUDIT_TELEGRAM__WEBHOOK_SECRET: webhook mode needs a secret token" in line
    assert "FOLLOWAUDIT_TELEGRAM__WEBHOOK_URL: webhook mode needs" in line
    line = _refusal(mode="webhook", webhook_url=URL)
    assert line.startswith("FOLLOWAUDIT_TELEGRAM__WEBHOOK_SECRET: ") and "URL" not in line
    assert _refusal(mode="webhook", webhook_secret="s3cret").startswith(
        "FOLLOWAUDIT_TELEGRAM__WEBHOOK_URL: "
    )
    tg = _settings(mode="webhook", webhook_url=URL, webhook_secret="s3cret_T-1").telegram
    assert tg.webhook_secret is not None and tg.webhook_secret.get_secret_value() == "s3cret_T-1"


def test_polling_mode_needs_neither() -> None:
    tg = _settings().telegram
    assert tg.mode == "polling" and tg.webhook_secret is None and tg.webhook_url is None


@pytest.mark.parametrize("secret", ["", "has space", "semi;colon", "é", "x" * 257])
def test_a_secret_telegram_would_refuse_is_refused_without_echoing_it(secret: str) -> None:
    line = _refusal(mode="webhook", webhook_url=URL, webhook_secret=secret)
    assert line == (
        "FOLLOWAUDIT_TELEGRAM__WEBHOOK_SECRET: expected 1 to 256 characters of A-Z, a-z, 0-9, _ "
        "and -"
    )


def test_the_longest_secret_is_accepted() -> None:
    assert _settings(webhook_secret="x" * 256).telegram.webhook_secret is not None


def test_a_webhook_url_must_be_an_http_address() -> None:
    assert _refusal(mode="webhook", webhook_url="bot.example.org", webhook_secret="s").startswith(
        "FOLLOWAUDIT_TELEGRAM__WEBHOOK_URL: expected the https:// address"
    )


def test_run_in_webhook_mode_without_a_secret_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWAUDIT_")}
    env.update(
        PYTHONPATH=str(REPO_ROOT),
        FOLLOWAUDIT_TELEGRAM__TOKEN="424242:SECRET-token",
        FOLLOWAUDIT_TELEGRAM__MODE="webhook",
        FOLLOWAUDIT_TELEGRAM__WEBHOOK_URL=URL,
        FOLLOWAUDIT_REDIS_URL="redis://127.0.0.1:1/0",  # never reached
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        "followaudit: invalid setting FOLLOWAUDIT_TELEGRAM__WEBHOOK_SECRET: webhook mode needs"
    )
