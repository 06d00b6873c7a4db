"""``vpccni-model steady-state``: the ENIs and addresses a node settles at, per pod count."""

from __future__ import annotations

import argparse

import attrs

from vpccni_model._steady import SteadyState, steady_state
from vpccni_model.cli._common import (
    UsageError,
    add_inputs,
    add_instance,
    add_json,
    print_json,
    print_table,
    resolve_inputs,
)


def parse_pods(text: str) -> list[int]:
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


def run(args: argparse.Namespace) -> int:
    inputs = resolve_inputs(args)
    if args.pods is None:
        raise UsageError("--pods is required")
    limits, config = inputs.limits, inputs.config
    effective = config.for_instance(limits)
    rows = [_row(steady_state(limits, config, pods)) for pods in args.pods]
    if args.json:
        print_json({"instance_type": limits.name, "config": attrs.asdict(effective), "rows": rows})
        return 0
    mode = "prefix delegation" if effective.prefix_delegation else "secondary IPs"
    print(
        f"{limits.name}: {mode}, WARM_ENI_TARGET={effective.warm_eni_target} "
        f"WARM_IP_TARGET={effective.warm_ip_target} "
        f"MINIMUM_IP_TARGET={effective.minimum_ip_target} "
        f"WARM_PREFIX_TARGET={effective.warm_prefix_target}"
    )
    print_table(rows)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ss = sub.add_parser("steady-state", help="ENIs and IPs a node settles at, per pod count")
    add_instance(ss)
    ss.add_argument("--pods", type=parse_pods, default=[0], help="30, 0,5,9 or 0-30")
    add_inputs(ss)
    add_json(ss)
    ss.set_defaults(func=run)
