"""The command examples of README.md and docs/*.md: find them, run them, rewrite their output.

A fenced ``console`` block holds ``$ vpccni-model ...`` lines, each followed by the standard
output the command prints (a non-zero exit status is a last line ``(exit status N)``). The
commands run in-process in a scratch directory holding a link to ``examples/``, so pages can
refer to ``examples/...`` and write ``--out`` directories freely. ``tests/test_docs.py`` checks
every page; ``python tools/docs_examples.py`` rewrites the outputs after a deliberate change
(review the diff: it is the documentation); ``--shell-commands PAGE`` lists a page's ``sh``
commands for CI.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def console_examples(text: str) -> Iterator[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$ vpccni-model`` line of console blocks."""
    for match in FENCE.finditer(text):
        if match.group(1) != "console":
            continue
        command: str | None = None
        expected: list[str] = []
        for line in match.group(2).splitlines():
            if line.startswith("$ "):
                if command is not None:
                    yield command, expected
                command, expected = line[2:], []
            elif command is not None:
                expected.append(line)
        if command is not None:
            yield command, expected


def shell_commands(text: str) -> Iterator[str]:
    """``vpccni-model`` commands in ``sh`` blocks (continuations joined, ``&&`` split)."""
    for match in FENCE.finditer(text):
        if match.group(1) not in ("sh", "bash"):
            continue
        for line in match.group(2).replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith(("vpccni-model ", ".venv/bin/vpccni-model ")):
                    yield "vpccni-model " + part.split("vpccni-model ", 1)[1]


def run(command: str, scratch: Path) -> tuple[int, list[str]]:
    """Run one ``vpccni-model`` command line in ``scratch``: (exit status, stdout lines)."""
    from vpccni_model.cli import main

    link = scratch / "examples"
    if not link.exists():
        link.symlink_to(ROOT / "examples", target_is_directory=True)
    words = shlex.split(command, comments=True)
    if not words or words[0] != "vpccni-model":
        raise ValueError(f"not a vpccni-model command: {command!r}")
    out = io.StringIO()
    cwd, columns = Path.cwd(), os.environ.get("COLUMNS")
    os.chdir(scratch)
    os.environ["COLUMNS"] = "100"  # argparse wraps --help to the terminal width
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            try:
                status = main(words[1:])
            except SystemExit as exc:  # --help, --version and argparse's own usage errors
                status = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(cwd)
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    if status:
        lines.append(f"(exit status {status})")
    return status, lines


def matches(actual: list[str], expected: list[str]) -> bool:
    """Line by line; an expected line ending in ``...`` matches any rest of the line."""
    want = [line.rstrip() for line in expected]
    while want and not want[-1]:
        want.pop()
    if len(actual) != len(want):
        return False
    return all(
        got == line or (line.endswith("...") and got.startswith(line[:-3]))
        for got, line in zip(actual, want, strict=True)
    )


def render(text: str, scratch: Path) -> str:
    """The page with every console example's output replaced by what the command prints."""

    def block(match: re.Match[str]) -> str:
        if match.group(1) != "console":
            return match.group(0)
        out: list[str] = []
        for line in match.group(2).splitlines():
            if line.startswith("$ "):
                out.append(line)
                out.extend(run(line[2:], scratch)[1])
        return "```console\n" + "\n".join(out) + "\n```"

    return FENCE.sub(block, text)


if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        usage = "usage: python tools/docs_examples.py [PAGE ...] | --shell-commands PAGE"
        print(f"{usage}\n\n{__doc__}")
        sys.exit(0)
    if sys.argv[1:2] == ["--shell-commands"]:
        # For CI: the commands of one page's sh blocks, to run after its own install command.
        print("\n".join(shell_commands(Path(sys.argv[2]).read_text(encoding="utf-8"))))
        sys.exit(0)
    pages = [Path(p).resolve() for p in sys.argv[1:]] or list(PAGES)
    for page in pages:
        with tempfile.TemporaryDirectory() as scratch:
            text = page.read_text(encoding="utf-8")
            new = render(text, Path(scratch))
        if new != text:
            page.write_text(new, encoding="utf-8")
            print(f"rewrote {page.relative_to(ROOT)}")
