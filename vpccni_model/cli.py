"""Command line: ``vpccni-model max-pods | steady-state | simulate | explain``.

Environment overrides (``--env NAME=VALUE``) are layered over the shipped aws-node manifest
(``MANIFEST_ENV``) and parsed exactly as ipamd parses them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

import attrs
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from vpccni_model._config import MANIFEST_ENV, Config
from vpccni_model._errors import ConfigError, VpcCniModelError
from vpccni_model._limits import instance_limits, max_pods
from vpccni_model._steady import SteadyState, steady_state
from vpccni_model.cloud import FaultRule
from vpccni_model.sim.engine import simulate
from vpccni_model.sim.explain import explain
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


def _parse_env(pairs: Sequence[str]) -> dict[str, str]:
    env = dict(MANIFEST_ENV)
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise argparse.ArgumentTypeError(f"--env expects NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


def _parse_pods(text: str) -> list[int]:
    """``30``, ``0,5,9`` or ``0-30`` (inclusive range), combinable with commas."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        low, sep, high = part.partition("-")
        if not (low.isdigit() and (not sep or high.isdigit())):
            raise argparse.ArgumentTypeError(
                f"--pods expects counts like 30, 0,5,9 or 0-30; got {text!r}"
            )
        if sep:
            out.extend(range(int(low), int(high) + 1))
        else:
            out.append(int(low))
    return out


def _row(result: SteadyState) -> dict[str, object]:
    return {
        "pods": result.pods,
        "pods_placed": result.pods_placed,
        "enis": result.enis,
        "cidrs_per_eni": ",".join(str(n) for n in result.cidrs_per_eni),
        "prefixes": result.prefixes,
        "total_ips": result.total_ips,
        "unused_ips": result.unused_ips,
        "settled": result.settled,
    }


def _print_table(rows: list[dict[str, object]], out: TextIO) -> None:
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    lines = [
        "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(str(r[h]).rjust(w) for h, w in zip(headers, widths, strict=True)) for r in rows
    ]
    print("\n".join(lines), file=out)


def _cmd_max_pods(args: argparse.Namespace) -> int:
    limits = instance_limits(args.instance_type)
    value = max_pods(
        limits,
        prefix_delegation=args.prefix_delegation,
        custom_networking=args.custom_networking,
        max_eni=args.max_eni,
        vcpus=args.vcpus,
    )
    print(value)
    return 0


def _cmd_steady_state(args: argparse.Namespace) -> int:
    limits = instance_limits(args.instance_type)
    config = _config_from(args)
    effective = config.for_instance(limits)
    rows = [_row(steady_state(limits, config, pods)) for pods in args.pods]
    if args.json:
        print(
            json.dumps(
                {"instance_type": limits.name, "config": attrs.asdict(effective), "rows": rows},
                indent=2,
            )
        )
        return 0
    mode = "prefix delegation" if effective.prefix_delegation else "secondary IPs"
    print(
        f"{limits.name}: {mode}, WARM_ENI_TARGET={effective.warm_eni_target} "
        f"WARM_IP_TARGET={effective.warm_ip_target} "
        f"MINIMUM_IP_TARGET={effective.minimum_ip_target} "
        f"WARM_PREFIX_TARGET={effective.warm_prefix_target}"
    )
    _print_table(rows, sys.stdout)
    return 0


def _config_from(args: argparse.Namespace) -> Config:
    config = Config.from_env(args.env)
    if args.max_pods is not None:
        config = attrs.evolve(config, max_pods=args.max_pods)
    return config


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


def _parse_fault(text: str) -> FaultRule:
    """``API:CODE[:RATE[:START[:END]]]``, e.g. ``AssignPrivateIpAddresses:RequestTimeout:0.1``."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 5:
        raise argparse.ArgumentTypeError(f"--fault expects API:CODE[:RATE[:START[:END]]]: {text!r}")
    try:
        numbers = [float(p) for p in parts[2:]]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--fault numbers must be numbers: {text!r}") from exc
    return FaultRule(parts[0], parts[1], *numbers)


def _cmd_simulate(args: argparse.Namespace) -> int:
    limits = instance_limits(args.instance)
    config = _config_from(args)
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


def _cmd_explain(args: argparse.Namespace) -> int:
    limits = instance_limits(args.instance)
    explanation = explain(limits, _config_from(args), churn_minutes=args.churn_minutes)
    if args.json:
        print(json.dumps([attrs.asdict(f) for f in explanation.findings], indent=2))
        return 1 if any(f.severity == "error" for f in explanation.findings) else 0
    print(f"{limits.name}, max pods {explanation.max_pods}")
    if explanation.ok:
        print("  no findings: the pool settles, every pod up to max pods gets an address.")
        return 0
    for finding in explanation.findings:
        print(f"\n[{finding.severity}] {finding.code}: {finding.title}")
        print(f"  {finding.detail}")
        print(f"  rule: {finding.rule}")
        print(f"  fix:  {finding.suggestion}")
    return 1 if any(f.severity == "error" for f in explanation.findings) else 0


def _add_env(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="aws-node environment variable (repeatable), over the shipped manifest",
    )
    parser.add_argument("--max-pods", type=int, help="kubelet max pods (default: EKS's value)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpccni-model", description="What the Amazon VPC CNI's ipamd does with your settings."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    mp = sub.add_parser("max-pods", help="EKS max pods for an instance type")
    mp.add_argument("instance_type")
    mp.add_argument("--prefix-delegation", action="store_true")
    mp.add_argument("--custom-networking", action="store_true")
    mp.add_argument("--max-eni", type=int)
    mp.add_argument("--vcpus", type=int, help="apply the EKS calculator's 110 / 250 cap")
    mp.set_defaults(func=_cmd_max_pods)

    ss = sub.add_parser("steady-state", help="ENIs and IPs a node settles at, per pod count")
    ss.add_argument("instance_type")
    ss.add_argument("--pods", type=_parse_pods, default=[0], help="30, 0,5,9 or 0-30")
    _add_env(ss)
    ss.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ss.set_defaults(func=_cmd_steady_state)

    sim = sub.add_parser("simulate", help="event-driven what-if run of a cluster")
    sim.add_argument("--instance", required=True)
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
        type=_parse_fault,
        action="append",
        default=[],
        metavar="API:CODE[:RATE[:START[:END]]]",
    )
    sim.add_argument("--out", help="directory for summary.json, CSV series and PNG plots")
    sim.add_argument("--no-plots", action="store_true")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_env(sim)
    sim.set_defaults(func=_cmd_simulate)

    ex = sub.add_parser("explain", help="what will go wrong with this configuration")
    ex.add_argument("--instance", required=True)
    ex.add_argument("--churn-minutes", type=float, default=30.0)
    ex.add_argument("--json", action="store_true")
    _add_env(ex)
    ex.set_defaults(func=_cmd_explain)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("steady-state", "simulate", "explain"):
        try:
            args.env = _parse_env(args.env)
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
    try:
        result: int = args.func(args)
    except VpcCniModelError as exc:
        print(f"vpccni-model: error: {exc}", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
