"""The command line: every subcommand has --help; db upgrade works on both databases."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import Engine, inspect

from main import build_parser
from tests.conftest import ROOT


def _subcommands() -> list[list[str]]:
    parser = build_parser()
    found: list[list[str]] = []
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():
            found.append([name])
            for inner in sub._actions:
                if inner.__class__.__name__ == "_SubParsersAction":
                    found.extend([name, child] for child in inner.choices)
    return found


def run_main(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``main.py`` as a user would, in a subprocess."""
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def test_top_level_help() -> None:
    result = run_main("--help")
    assert result.returncode == 0
    for name in ("import", "db", "demo-city"):
        assert name in result.stdout


@pytest.mark.parametrize("command", _subcommands(), ids=" ".join)
def test_each_subcommand_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_db_upgrade_command(engine: Engine, db_url: str) -> None:
    result = run_main("db", "upgrade", "--db", db_url)
    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout
    assert inspect(engine).has_table("events")


def test_bare_path_is_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from backend.config import resolve_db_url

    assert resolve_db_url(str(tmp_path / "a.sqlite")).startswith("sqlite:////")
