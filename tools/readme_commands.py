"""Print the ``vpccni-model`` commands of README.md's ``sh`` blocks, one per line, for CI to
run after the README's own install command (a plain ``pip install -e .``, no extras)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

FENCE = re.compile(r"^```(?:sh|bash)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def commands(text: str) -> list[str]:
    found = []
    for block in FENCE.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("vpccni-model "):
                    found.append(part)
    return found


if __name__ == "__main__":
    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print("\n".join(commands(readme.read_text(encoding="utf-8"))))
