"""Break one rule of the model at a time, in a throwaway copy, and check that the
property-based suite (the stateful machine and the whole-run properties) catches it.

    python tools/mutation_check.py            # all mutants
    python tools/mutation_check.py youth      # one, by name

Each mutant is a single textual edit of one rule; a mutant the suite does not kill is a
hole in the invariants. Exit status 1 if any mutant survives.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ["tests/property/test_stateful.py", "tests/property/test_convergence.py"]

# name: (file, original text, mutated text, invariant expected to catch it)
MUTANTS: dict[str, tuple[str, str, str, str]] = {
    "youth": (
        "pool.py",
        "if clock - eni.created_at < min_eni_lifetime:",
        "if clock - eni.created_at < 0:",
        "4: a young ENI is freed",
    ),
    "release-busy": (
        "pool.py",
        "return tuple(c for c in eni.cidrs if c.assigned == 0)",
        "return tuple(c for c in eni.cidrs if c.assigned <= 1)",
        "2: an address held by a pod is released",
    ),
    "cooldown": (
        "_pods.py",
        "if entry.pod is None and not entry.cooling(clock, cooldown):",
        "if entry.pod is None:",
        "3: a cooling address is handed out",
    ),
    "cooldown-32": (
        "_pods.py",
        "if cidr.assigned or (cidr.addresses and cidr.addresses[0].cooling(clock, cooldown)):",
        "if cidr.assigned:",
        "3: a cooling secondary IP (/32) is handed out",
    ),
    "in-flight": (
        "_tick.py",
        "    if state.in_flight is not None and state.in_flight.action is not None:\n"
        "        return\n    backoff",
        "    backoff",
        "5: a second allocation while one is outstanding",
    ),
    "backoff": (
        "_tick.py",
        "if backoff or not tick.attachment_allowed():",
        "if not tick.attachment_allowed():",
        "5: allocation during the insufficient-CIDR backoff",
    ),
    "counter": (
        "_model.py",
        "free_prefixes += cidr.assigned == 0",
        "free_prefixes += cidr.assigned <= 1",
        "6: counters differ from a recount",
    ),
    "delta-counter": (
        "_model.py",
        "moved = new.assigned - old.assigned",
        "moved = new.assigned",
        "6: the pod path's counter update differs from a recount",
    ),
    "room-from": (
        "_model.py",
        "            if index < room_from:\n                room_from = index\n",
        "            if index < room_from:\n                pass\n",
        "6: a CIDR with room lies before the ENI's room_from (freed addresses are skipped)",
    ),
    "room-note": (
        "_pods.py",
        "                if room > eni.room_from:\n                    eni.note_room_from(room)\n",
        "                eni.note_room_from(index + 1)\n",
        "6: a search records room_from past a CIDR that still has room",
    ),
    "room": (
        "pool.py",
        "return len(ds.enis) + ds.unmanaged_enis + trunk_reserve < limit",
        "return len(ds.enis) + ds.unmanaged_enis < limit + 1",
        "1: more ENIs than the limit",
    ),
    "free-trunk": (
        "pool.py",
        "        if eni.is_trunk or eni.is_efa:\n            continue\n        return eni",
        "        return eni",
        "4: a trunk or EFA ENI is freed",
    ),
    "idempotent": (
        "_pods.py",
        "    if existing is not None:\n        return state.at(clock), existing.address",
        "    if existing is not None and False:\n        return state.at(clock), existing.address",
        "2: a pod holds two addresses",
    ),
}


def run(name: str) -> bool:
    """True if the suite fails (the mutant is killed)."""
    file, old, new, _ = MUTANTS[name]
    with tempfile.TemporaryDirectory() as tmp:
        # The whole project is copied and run from the copy: ``python -m pytest`` puts the
        # working directory first on sys.path, so running in ROOT would test the original.
        shutil.copytree(ROOT / "vpccni_model", Path(tmp) / "vpccni_model")
        shutil.copytree(ROOT / "tests", Path(tmp) / "tests")
        shutil.copy(ROOT / "pyproject.toml", Path(tmp) / "pyproject.toml")
        target = Path(tmp) / "vpccni_model" / file
        text = target.read_text()
        if old not in text:
            raise SystemExit(f"mutant {name}: original text not found in {file}")
        target.write_text(text.replace(old, new, 1))
        env = dict(os.environ, PYTHONPATH=tmp)
        env.pop("HYPOTHESIS_PROFILE", None)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-x",
                "-p",
                "no:cacheprovider",
                "--hypothesis-seed=0",
                *SUITE,
            ],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        # pytest exits 1 when tests failed; anything else (collection or usage errors) is
        # not a kill.
        if proc.returncode not in (0, 1):
            raise SystemExit(f"mutant {name}: pytest exited {proc.returncode}\n{proc.stdout}")
        return proc.returncode == 1


def main(argv: list[str]) -> int:
    missing = [path for path in SUITE if not (ROOT / path).exists()]
    if missing:
        raise SystemExit(f"missing test files: {missing}")
    names = argv or list(MUTANTS)
    survivors = []
    for name in names:
        killed = run(name)
        print(f"{name:14} {'killed' if killed else 'SURVIVED'}  ({MUTANTS[name][3]})")
        if not killed:
            survivors.append(name)
    print(f"{len(names) - len(survivors)}/{len(names)} mutants killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
