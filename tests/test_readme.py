"""The README documents every setting and every command the product has."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command

from box_offboarding.cli import app
from box_offboarding.settings import BoxSettings, Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
SETTINGS = [f"BOX_{name.upper()}" for name in BoxSettings.model_fields] + [
    f"OFFBOARD_{name.upper()}" for name in Settings.model_fields if name != "box"
]


@pytest.mark.parametrize("variable", SETTINGS)
def test_every_setting_is_in_the_settings_table(variable: str) -> None:
    """Each environment variable the settings read has a row in the README's table."""
    assert f"| `{variable}` |" in README


@pytest.mark.parametrize("command", sorted(get_command(app).commands))  # type: ignore[attr-defined]
def test_every_command_is_documented(command: str) -> None:
    """Each `offboard` command appears in the README's command table."""
    assert f"`offboard {command}" in README


def test_the_two_commands_are_there() -> None:
    """The demo and the test command, exactly as a new user types them."""
    assert "uv run offboard demo" in README
    assert "uv run pytest" in README
