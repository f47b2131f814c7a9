"""The README's two opening commands stay true, and CI runs the second one."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)[:2]


def test_readme_opens_with_two_commands() -> None:
    demo, tests = _commands()
    assert demo.endswith("python main.py")
    assert "pytest" in tests and "[dev]" in tests


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _commands()[1] in ci.splitlines()


def test_readme_lists_every_shortcut() -> None:
    from console.shortcuts import SHORTCUTS

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for s in SHORTCUTS:
        assert f"| {s.group} | `{s.keys}` | {s.text} |" in text, s
