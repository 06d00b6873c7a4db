"""The workload flags every simulating command reads the same way (``simulate``, ``compare``,
``plan-subnet --workload``): their definitions, their checks, and the workload they build.

One home, so that a workload named on one command means the same pods on another.
"""

from __future__ import annotations

import argparse
import math

from vpccni_model._errors import ConfigError
from vpccni_model.cli._common import UsageError
from vpccni_model.sim.workloads import Trace, Workload, named_workload

#: The names ``--workload`` takes.
WORKLOADS = ("churn", "constant", "ramp", "burst", "diurnal")


def add_workload_flags(
    parser: argparse.ArgumentParser,
    *,
    workload_default: str | None = "churn",
    pods_per_node: bool = True,
    trace: bool = True,
) -> None:
    """``--workload``, ``--pods-per-node`` (unless the command has its own),
    ``--changes-per-minute``, ``--trace`` (if asked), ``--hours`` and ``--seed``."""
    parser.add_argument(
        "--workload",
        choices=list(WORKLOADS),
        default=workload_default,
        help="churn: Poisson pod changes around --pods-per-node; constant: --pods-per-node "
        "pods at t=0; ramp: 0 to --pods-per-node over half the run; burst: all pods at 60 s; "
        "diurnal: a daily cycle of changes "
        + ("(default: churn)" if workload_default is not None else "(default: no simulation)"),
    )
    if pods_per_node:
        parser.add_argument(
            "--pods-per-node",
            type=int,
            default=10,
            metavar="N",
            help="pods per node the workload aims at (default: 10)",
        )
    parser.add_argument(
        "--changes-per-minute",
        type=float,
        default=1.0,
        metavar="RATE",
        help="pod adds + deletes per node per minute, for churn and diurnal (default: 1)",
    )
    if trace:
        parser.add_argument(
            "--trace",
            metavar="FILE",
            help="a CSV of time,node,pod,action to replay instead of --workload (default: none)",
        )
    parser.add_argument(
        "--hours", type=float, default=1.0, metavar="H", help="simulated hours (default: 1)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="seed of every random draw; the same seed gives the same run (default: 0)",
    )


def check_workload_flags(args: argparse.Namespace) -> None:
    """The workload's numbers, named by their flag, before anything runs."""
    pods = getattr(args, "pods_per_node", None)
    if pods is not None and pods < 0:
        raise UsageError(f"--pods-per-node must be >= 0, got {pods}")
    for name, value in (("--hours", args.hours), ("--changes-per-minute", args.changes_per_minute)):
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"{name} must be a number > 0, got {value:g}")


def build_workload(args: argparse.Namespace, *, nodes: int, pods_per_node: int) -> Workload:
    """The workload the flags name, for ``nodes`` nodes aiming at ``pods_per_node`` pods each
    (the burst brings all of them at once, at 60 s: ``sim.workloads.named_workload``)."""
    path = getattr(args, "trace", None)
    if path is not None:
        try:
            return Trace.from_csv(path)
        except ConfigError as exc:
            if exc.field != "trace":
                raise  # a bad row names its line and column
            raise UsageError(f"--trace {path!r}: {exc.reason}") from exc
    return named_workload(  # one home with the sweep's workloads
        args.workload or "churn",
        pods_per_node=pods_per_node,
        changes_per_minute=args.changes_per_minute,
        duration=args.hours * 3600,
        nodes=nodes,
    )
