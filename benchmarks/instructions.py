#!/usr/bin/env python3
"""Instructions a simulation costs, counted by valgrind's callgrind: a measure that does not
drift with the machine's speed (the reference machine's moves by a factor of up to 2.7).

    python benchmarks/instructions.py                  # 30 nodes x 2 h of the throughput workload
    python benchmarks/instructions.py --nodes 300 --hours 1
    python benchmarks/instructions.py --tree /path/to/other/checkout   # the same run elsewhere

The workload is ``benchmarks.jobs.sim_spec`` (m5.large, shipped settings, Poisson churn of
one pod change per node per minute, seed 1). Each count runs a tiny simulation first (imports,
first calls) and subtracts a run of that tiny simulation alone, so what is left is the
simulation asked for. The same inputs, code and environment (interpreter, installed
packages) give the same count on every run, whatever else the machine does, so two commits
compare with one run each from the same virtualenv (``--tree``). Needs
``valgrind`` (Debian's package); about 50 times slower than a plain run.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_SCRIPT = """
import sys
sys.path.insert(0, {tree!r})
import vpccni_model
assert vpccni_model.__file__.startswith({tree!r}), vpccni_model.__file__
from benchmarks.jobs import sim_spec
from vpccni_model.sim import simulate
simulate(sim_spec(2, 0.01))
if {nodes} > 0:
    simulate(sim_spec({nodes}, {hours}, {subnet!r}))
"""


def count(tree: Path, nodes: int, hours: float) -> int:
    """Instructions of one ``python -c`` run of the script under callgrind."""
    subnet = "10.0.0.0/12" if nodes > 2000 else None
    script = _SCRIPT.format(tree=str(tree), nodes=nodes, hours=hours, subnet=subnet)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        env = {**os.environ, "PYTHONPATH": str(tree)}
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             sys.executable, "-c", script],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=30, help="nodes (default 30)")
    parser.add_argument("--hours", type=float, default=2.0, help="simulated hours (default 2)")
    parser.add_argument(
        "--tree", type=Path, default=ROOT, help="checkout to measure (default: this one)"
    )
    args = parser.parse_args(argv)
    if args.nodes < 1:
        parser.error(f"--nodes must be >= 1, got {args.nodes}")
    if not (math.isfinite(args.hours) and args.hours > 0):
        parser.error(f"--hours must be a finite number > 0, got {args.hours}")
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed (apt-get install valgrind)")
    tree = args.tree.resolve()
    if not (tree / "vpccni_model" / "__init__.py").is_file():
        parser.error(f"--tree {tree}: no vpccni_model package there")
    base = count(tree, 0, 0.0)
    total = count(tree, args.nodes, args.hours)
    millions = (total - base) / 1e6
    print(f"{args.nodes} nodes x {args.hours:g} h at {tree}: {millions:,.0f} million instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
