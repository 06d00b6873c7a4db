"""``--report FILE``, shared by the commands that write an HTML report: the flag, the check
of its path before anything runs, explain's findings for the report, and the write.

A command adds the flag with ``add_report``, calls ``check_report`` with its other checks,
builds its page (``vpccni_model.report``) with ``report_explanation``'s findings, and ends
with ``write_report``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from vpccni_model._errors import ConfigError
from vpccni_model.cli._common import Inputs, UsageError
from vpccni_model.report import Report
from vpccni_model.sim.explain import Explanation, explain


def add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="write a self-contained HTML report to FILE: key figures, plots, explain's "
        "findings and every input (default: none)",
    )


def check_report(path: str | None) -> None:
    """A ``--report`` whose directory is missing, or that names a directory, is a usage error
    before the run rather than after it."""
    if path is None:
        return
    if not path.strip():
        raise UsageError("--report needs a file name, e.g. --report report.html")
    target = Path(path)
    parent = str(target.parent)
    if target.is_dir():
        raise UsageError(f"--report {path!r} is a directory: give a file name, e.g. report.html")
    if target.parent.exists() and not target.parent.is_dir():
        raise UsageError(f"--report {path!r}: {parent!r} is a file, not a directory")
    if not target.parent.is_dir():
        raise UsageError(f"--report {path!r}: the directory {parent!r} does not exist")
    if not os.access(target.parent, os.W_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise UsageError(f"--report {path!r}: cannot write there (permission denied)")


def report_explanation(inputs: Inputs, seed: int = 0) -> tuple[Explanation | None, list[str]]:
    """``explain`` for the report (as ``vpccni-model explain`` runs it with these inputs), or
    None and a note saying why it could not run. It can take a while on large instance
    types (steady states over every pod count, then simulated churn): stderr says so."""
    print(
        f"vpccni-model: --report: explaining the configuration on {inputs.limits.name} "
        "(as vpccni-model explain does) for the report's findings",
        file=sys.stderr,
    )
    try:
        found = explain(
            inputs.limits, inputs.config, seed=seed, host_network_pods=inputs.host_network_pods
        )
    except ConfigError as exc:
        return None, [f"Not explained: {exc.field} {exc.value!r} {exc.reason}."]
    return found, []


def write_report(report: Report, path: str, *, quiet_stdout: bool = False) -> None:
    """Write the page; say where on stdout (stderr when stdout holds JSON)."""
    try:
        written = report.write(path)
    except ConfigError as exc:
        raise UsageError(f"--report {path!r}: {exc.reason}") from exc
    print(f"wrote {written}", file=sys.stderr if quiet_stdout else sys.stdout)
