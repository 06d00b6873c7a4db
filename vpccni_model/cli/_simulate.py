"""``vpccni-model simulate``: an event-driven what-if run of a cluster."""

from __future__ import annotations

import argparse
import sys

import attrs
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from vpccni_model._errors import ConfigError
from vpccni_model.cli._common import add_inputs, add_instance, resolve_inputs
from vpccni_model.cloud import FaultRule
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.spec import SimulationSpec, cluster
from vpccni_model.sim.workloads import (
    Burst,
    Constant,
    Diurnal,
    PoissonChurn,
    Ramp,
    Trace,
    Workload,
)


def _workload(args: argparse.Namespace) -> Workload:
    if args.trace is not None:
        return Trace.from_csv(args.trace)
    if args.workload == "constant":
        return Constant(args.pods_per_node)
    if args.workload == "ramp":
        return Ramp(0, args.pods_per_node, args.hours * 3600 / 2)
    if args.workload == "burst":
        return Burst(args.pods_per_node * args.nodes, at=60.0)
    if args.workload == "diurnal":
        return Diurnal(changes_per_node_per_minute=args.changes_per_minute)
    return PoissonChurn(args.pods_per_node, args.changes_per_minute)


def parse_fault(text: str) -> FaultRule:
    """``API:CODE[:RATE[:START[:END]]]``, e.g. ``AssignPrivateIpAddresses:RequestTimeout:0.1``."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 5:
        raise argparse.ArgumentTypeError(f"--fault expects API:CODE[:RATE[:START[:END]]]: {text!r}")
    try:
        numbers = [float(p) for p in parts[2:]]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--fault numbers must be numbers: {text!r}") from exc
    return FaultRule(parts[0], parts[1], *numbers)


def run(args: argparse.Namespace) -> int:
    inputs = resolve_inputs(args)
    limits, config = inputs.limits, inputs.config
    spec = SimulationSpec(
        nodes=cluster(limits, config, args.nodes),
        workload=_workload(args),
        duration=args.hours * 3600,
        seed=args.seed,
        subnets=(("subnet-a", args.subnet),),
        faults=tuple(args.fault),
        per_node_series=args.nodes <= 200,
    )
    if args.quiet:
        result = simulate(spec)
    else:
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.fields[hours]}"),
            TimeElapsedColumn(),
            transient=True,
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task("run", total=spec.duration, hours="")
            last = [0.0]

            def progress(now: float) -> None:
                if now - last[0] >= 300 or now >= spec.duration:
                    last[0] = now
                    bar.update(task, completed=now, hours=f"{now / 3600:.1f} h")

            result = simulate(spec, progress=progress)
    summary = attrs.asdict(result.summary)
    width = max(len(k) for k in summary)
    source = f"trace {args.trace}" if args.trace is not None else f"workload {args.workload}"
    print(f"{args.nodes} x {limits.name}, {args.hours:g} h, {source}")
    for key, value in summary.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"  {key.ljust(width)}  {shown}")
    if args.out is not None:
        paths = result.write(args.out)
        if not args.no_plots:
            from vpccni_model.sim.plots import write_plots

            try:
                paths += write_plots(result, args.out)
            except ConfigError as exc:
                if exc.field != "plots":
                    raise
                # The data is written; only the optional extra is missing.
                print(
                    "vpccni-model: plots skipped: matplotlib is not installed "
                    "(pip install 'vpccni-model[plots]', or pass --no-plots)",
                    file=sys.stderr,
                )
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("simulate", help="event-driven what-if run of a cluster")
    add_instance(sim)
    sim.add_argument("--nodes", type=int, default=1)
    sim.add_argument(
        "--workload", choices=["churn", "constant", "ramp", "burst", "diurnal"], default="churn"
    )
    sim.add_argument("--pods-per-node", type=int, default=10)
    sim.add_argument(
        "--changes-per-minute",
        type=float,
        default=1.0,
        help="pod adds + deletes per node per minute (churn, diurnal)",
    )
    sim.add_argument("--trace", help="CSV of time,node,pod,action to replay instead")
    sim.add_argument("--hours", type=float, default=1.0)
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument("--subnet", default="10.0.0.0/16")
    sim.add_argument(
        "--fault",
        type=parse_fault,
        action="append",
        default=[],
        metavar="API:CODE[:RATE[:START[:END]]]",
    )
    sim.add_argument("--out", help="directory for summary.json, CSV series and PNG plots")
    sim.add_argument("--no-plots", action="store_true")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    add_inputs(sim)
    sim.set_defaults(func=run)
