"""``followaudit --version`` and every command's ``-h``: a summary, defaults and exit status."""

from __future__ import annotations

import argparse

import pytest

from bot.cli import EXIT_CODES, build_parser
from scoring.model import load_model


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every runnable command's parser, by name (``alerts run-due`` as ``run-due``)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    if any(isinstance(a, argparse._SubParsersAction) for a in child._actions):
                        walk(child)
                    else:
                        found[name] = child

    walk(build_parser())
    return found


def test_every_command_documents_its_exit_status() -> None:
    assert set(_commands()) == set(EXIT_CODES)


@pytest.mark.parametrize("name", sorted(EXIT_CODES))
def test_help_has_summary_defaults_and_exit_status(name: str) -> None:
    parser = _commands()[name]
    text = " ".join(parser.format_help().split()).replace("- ", "-")  # unwrap "re- audit"
    assert parser.description and "." in parser.description.split("\n")[0]
    assert f"exit status: {' '.join(EXIT_CODES[name].split())}" in text
    for action in parser._actions:
        shown = action.default not in (None, False, argparse.SUPPRESS)
        if action.option_strings and shown:
            assert f"(default: {action.default}" in text or "default:" in (action.help or "")


def test_version_names_program_model_and_python(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        build_parser().parse_args(["--version"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("followaudit ") and load_model().version in out and "Python 3." in out


def test_the_image_has_a_healthcheck_the_webhook_extra_and_the_pins() -> None:
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text(encoding="utf-8")
    assert "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert "'.[webhook]'" in dockerfile and "-c constraints.txt" in dockerfile
    # The webhook listens where the container's port can reach it; metrics serve /healthz.
    assert "FOLLOWAUDIT_TELEGRAM__WEBHOOK_LISTEN=0.0.0.0" in dockerfile
    assert "FOLLOWAUDIT_WORKER__METRICS_PORT=9100" in dockerfile and "9100/healthz" in dockerfile
