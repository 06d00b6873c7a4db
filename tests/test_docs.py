"""Every command shown in README.md and docs/*.md runs and prints what the page says
(``tools/docs_examples.py`` finds, runs and, on purpose, rewrites them)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import docs_examples

CONSOLE = [
    (page.name, command, expected)
    for page in docs_examples.PAGES
    for command, expected in docs_examples.console_examples(page.read_text(encoding="utf-8"))
]
SHELL = [
    (page.name, command)
    for page in docs_examples.PAGES
    for command in docs_examples.shell_commands(page.read_text(encoding="utf-8"))
]


def test_the_pages_show_commands() -> None:
    assert len(CONSOLE) >= 10, "the docs lost their examples"


@pytest.mark.parametrize(
    ("page", "command", "expected"), CONSOLE, ids=[f"{p}:{c[:70]}" for p, c, _ in CONSOLE]
)
def test_console_example(page: str, command: str, expected: list[str], tmp_path: Path) -> None:
    _, actual = docs_examples.run(command, tmp_path)
    assert docs_examples.matches(actual, expected), (
        f"{page}: `{command}` printed:\n"
        + "\n".join(actual)
        + "\n\n(python tools/docs_examples.py rewrites the page)"
    )


@pytest.mark.parametrize(("page", "command"), SHELL, ids=[f"{p}:{c[:70]}" for p, c in SHELL])
def test_shell_example_runs(page: str, command: str, tmp_path: Path) -> None:
    found = re.search(r"#\s*exit\s+(\d+)\s*$", command)
    status, _ = docs_examples.run(command, tmp_path)
    assert status == (int(found.group(1)) if found else 0), f"{page}: `{command}` exited {status}"


def test_the_cli_reference_lists_every_variable_the_model_reads() -> None:
    from vpccni_model import ENV_VARIABLES

    reference = (docs_examples.ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip().strip("`")
        for line in reference.splitlines()
        if line.startswith("| `")
    }
    assert set(ENV_VARIABLES) <= rows
