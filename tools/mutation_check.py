"""Break one rule of the model at a time, in a throwaway copy, and check that the
property-based suite (the stateful machine and the whole-run properties) catches it.

    python tools/mutation_check.py                  # all mutants
    python tools/mutation_check.py youth            # one, by name
    python tools/mutation_check.py --seed 3 youth   # another Hypothesis seed (default 0)

Each mutant is a single textual edit of one rule; a mutant the suite does not kill is a
hole in the invariants. A mutant may name extra test files that run with the suite (for
rules the histories reach only rarely). Each line says which test and assertion killed the
mutant and how long it took. Exit status 1 if any mutant survives.

Hypothesis runs with ``--hypothesis-seed=0`` (or ``--seed``) and the ``mutation`` profile (the
``ci`` one without shrinking): a kill is the first failure, not its minimal example.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SUITE = ["tests/property/test_stateful.py", "tests/property/test_convergence.py"]

CARDS = "tests/property/test_cards.py"
FIXED_CONFIG = "tests/property/test_fixed_config.py"
CLOUD_ENGINE = "tests/test_cloud_engine.py"
FREE_ENI = "tests/property/test_free_eni.py"


class Mutant(NamedTuple):
    file: str
    """The module under ``vpccni_model/`` to edit."""
    old: str
    """The original text (must occur in the file)."""
    new: str
    """Its replacement (the first occurrence is replaced)."""
    expect: str
    """The invariant expected to catch it."""
    extra: tuple[str, ...] = ()
    """Test files run with the suite for this mutant."""


MUTANTS: dict[str, Mutant] = {
    "youth": Mutant(
        "pool.py",
        "if clock - eni.created_at < policy.min_eni_lifetime:",
        "if clock - eni.created_at < 0:",
        "4: a young ENI is freed",
    ),
    "release-busy": Mutant(
        "pool.py",
        "return tuple(c for c in eni.cidrs if c.assigned == 0)",
        "return tuple(c for c in eni.cidrs if c.assigned <= 1)",
        "2: an address held by a pod is released",
    ),
    "cooldown": Mutant(
        "_model.py",
        "if entry.pod is None and not entry.cooling(clock, cooldown):",
        "if entry.pod is None:",
        "3: a cooling address is handed out",
    ),
    "cooldown-32": Mutant(
        "_model.py",
        "if self.assigned or (self.addresses and self.addresses[0].cooling(clock, cooldown)):",
        "if self.assigned:",
        "3: a cooling secondary IP (/32) is handed out",
    ),
    "in-flight": Mutant(
        "_tick.py",
        "    if state.in_flight is not None and state.in_flight.action is not None:\n"
        "        return\n    backoff",
        "    backoff",
        "5: a second allocation while one is outstanding",
    ),
    "backoff": Mutant(
        "_tick.py",
        "if backoff or not tick.attachment_allowed():",
        "if not tick.attachment_allowed():",
        "5: allocation during the insufficient-CIDR backoff",
    ),
    "counter": Mutant(
        "_eni.py",
        "free_prefixes += cidr.assigned == 0",
        "free_prefixes += cidr.assigned <= 1",
        "6: counters differ from a recount",
    ),
    "delta-counter": Mutant(
        "_eni.py",
        "moved = new.assigned - old.assigned",
        "moved = new.assigned",
        "6: the pod path's counter update differs from a recount",
    ),
    "room-from": Mutant(
        "_eni.py",
        "            if index < room_from:\n                room_from = index\n",
        "            if index < room_from:\n                pass\n",
        "6: a CIDR with room lies before the ENI's room_from (freed addresses are skipped)",
    ),
    "room-note": Mutant(
        "_eni.py",
        "                if room > start:\n                    self._note_room_from(room)\n",
        "                self._note_room_from(index + 1)\n",
        "6: a search records room_from past a CIDR that still has room",
    ),
    "room": Mutant(
        "pool.py",
        "return len(ds.enis) + ds.unmanaged_enis + trunk_reserve < policy.max_eni",
        "return len(ds.enis) + ds.unmanaged_enis < policy.max_eni + 1",
        "1: more ENIs than the limit",
    ),
    "free-trunk": Mutant(
        "pool.py",
        "        if eni.is_trunk or eni.is_efa:\n            continue\n        return eni",
        "        return eni",
        "4: a trunk or EFA ENI is freed",
    ),
    "idempotent": Mutant(
        "_pods.py",
        "    if existing is not None:\n        return state.at(clock), existing.address",
        "    if existing is not None and False:\n        return state.at(clock), existing.address",
        "2: a pod holds two addresses",
    ),
    "cleanup-never": Mutant(
        "_tick.py",
        '    (Q10)."""\n    due = ',
        '    (Q10)."""\n    return state\n    due = ',
        "8a: a due deferred cleanup never runs",
    ),
    "cleanup-late": Mutant(
        "_tick.py",
        "    due = [task for task in state.deferred_cleanups if task.due_at <= clock]\n"
        "    if not due:\n"
        "        return state\n"
        "    pending = tuple(task for task in state.deferred_cleanups if task.due_at > clock)\n",
        "    due = [task for task in state.deferred_cleanups if task.due_at < clock]\n"
        "    if not due:\n"
        "        return state\n"
        "    pending = tuple(task for task in state.deferred_cleanups if task.due_at >= clock)\n",
        "8a: a cleanup due at a tick runs a tick late",
    ),
    "next-check-cleanup": Mutant(
        "_tick.py",
        "    for task in state.deferred_cleanups:\n        later(task.due_at, strict=False)\n",
        "",
        "8b: next_check_at ignores a pending deferred cleanup",
    ),
    "room-unmanaged": Mutant(
        "pool.py",
        "return len(ds.enis) + ds.unmanaged_enis + trunk_reserve < policy.max_eni",
        "return len(ds.enis) + trunk_reserve < policy.max_eni",
        "8c: unmanaged ENIs do not count against the ENI limit",
    ),
    "observe-unmanaged": Mutant(
        "_observe.py",
        "            unmanaged = len(observed) - len(managed)\n",
        "            unmanaged = ds.unmanaged_enis\n",
        "8c: the reconcile does not count the unmanaged ENIs metadata shows",
    ),
    "free-counter": Mutant(
        "_tick.py",
        "        prefix_counter=ds.prefix_counter - eni.prefix_cidrs,\n",
        "        prefix_counter=ds.prefix_counter,\n",
        "8d / 6: a freed ENI's prefixes stay on the prefix counter",
        (FREE_ENI,),
    ),
    "card-position": Mutant(
        "_pods.py",
        "        if claimed is None:\n            continue\n",
        "        if claimed is None:\n"
        "            if ds.network_card == len(state.datastores) - 1:\n"
        "                break\n"
        "            continue\n",
        "8e: the pod path compares a card's number with a datastore's position (Q13)",
        (CARDS,),
    ),
    "config-ignored": Mutant(
        "_state.py",
        "        fixed_at_boot(state.config, config, state.limits)\n",
        "        pass  # the config argument is not checked\n",
        "a config other than the boot one is accepted",
        (FIXED_CONFIG,),
    ),
    # Defect 3: FakeEC2.execute and submit were two implementations that drifted. These
    # mutants bring the drift back inside the one engine, for execute's calls only.
    "one-engine-count": Mutant(
        "cloud/_fake.py",
        "        self._outcomes[api][outcome] += 1\n",
        "        if not (run.at_once and api == DESCRIBE):\n"
        "            self._outcomes[api][outcome] += 1\n",
        "execute and submit count different calls (FreeENI's Describe)",
        (CLOUD_ENGINE,),
    ),
    "one-engine-retry": Mutant(
        "cloud/_fake.py",
        "        if code is not None and code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED:\n",
        "        if code is not None and code != Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED and not (\n"
        "            run.at_once and action.count == 1\n"
        "        ):\n",
        "execute skips the retry with one address that submit makes",
        (CLOUD_ENGINE,),
    ),
    "trunk-every-tick": Mutant(
        "_trunk.py",
        "    if state.trunk_requested or not state.config.pod_eni:",
        "    if not state.config.pod_eni:",
        "8f: the CNINode is written again after the first signal",
    ),
    "trunk-slot-unmanaged": Mutant(
        "_trunk.py",
        "limit = CardPolicy.for_state(state, _CARD).max_eni - ds.unmanaged_enis",
        "limit = CardPolicy.for_state(state, _CARD).max_eni",
        "8f: the trunk signal ignores unmanaged ENIs",
    ),
}

_KILL = re.compile(
    r"((?:AssertionError|StateError|ConfigError|UnexpectedEventError|Failed): [^\n]*"
    r"|DID NOT RAISE[^\n]*)"
)
_FAILED = re.compile(r"^FAILED (\S+)", re.MULTILINE)


class Outcome(NamedTuple):
    killed: bool
    test: str
    message: str
    seconds: float


def run(name: str, seed: int = 0) -> Outcome:
    """Run the suite against one mutant; killed if it fails."""
    mutant = MUTANTS[name]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        # The whole project is copied and run from the copy: ``python -m pytest`` puts the
        # working directory first on sys.path, so running in ROOT would test the original.
        shutil.copytree(ROOT / "vpccni_model", Path(tmp) / "vpccni_model")
        shutil.copytree(ROOT / "tests", Path(tmp) / "tests")
        shutil.copy(ROOT / "pyproject.toml", Path(tmp) / "pyproject.toml")
        target = Path(tmp) / "vpccni_model" / mutant.file
        text = target.read_text()
        if mutant.old not in text:
            raise SystemExit(f"mutant {name}: original text not found in {mutant.file}")
        target.write_text(text.replace(mutant.old, mutant.new, 1))
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
                f"--hypothesis-seed={seed}",
                "--hypothesis-profile=mutation",
                *SUITE,
                *mutant.extra,
            ],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    seconds = time.monotonic() - started
    # pytest exits 1 when tests failed; anything else (collection or usage errors) is
    # not a kill.
    if proc.returncode not in (0, 1):
        raise SystemExit(f"mutant {name}: pytest exited {proc.returncode}\n{proc.stdout}")
    if proc.returncode == 0:
        return Outcome(False, "", "", seconds)
    failed = _FAILED.search(proc.stdout)
    found = _KILL.search(proc.stdout)
    test = failed.group(1).removeprefix("tests/property/") if failed else "?"
    message = found.group(1) if found else "(no assertion message)"
    return Outcome(True, test, message[:160], seconds)


def main(argv: list[str]) -> int:
    seed = 0
    if argv[:1] == ["--seed"] and len(argv) > 1:
        seed, argv = int(argv[1]), argv[2:]
    files = {path for path in SUITE} | {path for m in MUTANTS.values() for path in m.extra}
    missing = sorted(path for path in files if not (ROOT / path).exists())
    if missing:
        raise SystemExit(f"missing test files: {missing}")
    unknown = [name for name in argv if name not in MUTANTS]
    if unknown:
        raise SystemExit(f"unknown mutants: {unknown}; known: {', '.join(MUTANTS)}")
    names = argv or list(MUTANTS)
    survivors = []
    started = time.monotonic()
    for name in names:
        outcome = run(name, seed)
        status = "killed" if outcome.killed else "SURVIVED"
        print(f"{name:18} {status:8} {outcome.seconds:6.1f}s  ({MUTANTS[name].expect})")
        if outcome.killed:
            print(f"{'':18} by {outcome.test}: {outcome.message}")
        else:
            survivors.append(name)
        sys.stdout.flush()
    total = time.monotonic() - started
    print(f"{len(names) - len(survivors)}/{len(names)} mutants killed in {total:.0f}s")
    return 1 if survivors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
