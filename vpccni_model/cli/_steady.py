"""``vpccni-model steady-state``: the ENIs and addresses a node settles at, per pod count."""

from __future__ import annotations

import argparse

import attrs

from vpccni_model._iteration import GO_RANDOM, KINDS, ORDERED, IterationPolicy
from vpccni_model._steady import SteadyState, steady_state
from vpccni_model.cli._common import (
    UsageError,
    add_inputs,
    add_instance,
    add_json,
    print_json,
    print_table,
    resolve_inputs,
    settings_json,
    settings_lines,
)

EXAMPLE = """\
example:
  vpccni-model steady-state --instance m5.large --pods 0-29 --env WARM_IP_TARGET=2

columns: pods asked for; pods_placed hold an IP; pods_unschedulable exceed max pods less the
host-network pods (kubelet would not admit them); total_ips and unused_ips are ipamd's pool
(TotalIPs, without the ENIs' primary addresses); subnet_addresses is what the node takes from
its subnet (each ENI's primary address + secondary IPs + 16 per /28 prefix).
"""


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
            if int(high) < int(low):
                raise argparse.ArgumentTypeError(
                    f"--pods range {part!r} runs backwards; write it low-high, e.g. "
                    f"{int(high)}-{int(low)}"
                )
            out.extend(range(int(low), int(high) + 1))
        else:
            out.append(int(low))
    return out


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"must be 0 .. 2**64-1, got {value}")
    return value


def _row(result: SteadyState) -> dict[str, object]:
    return {
        "pods": result.pods,
        "pods_placed": result.pods_placed,
        "pods_unschedulable": result.pods_unschedulable,
        "enis": result.enis,
        "cidrs_per_eni": ",".join(str(n) for n in result.cidrs_per_eni),
        "prefixes": result.prefixes,
        "total_ips": result.total_ips,
        "unused_ips": result.unused_ips,
        "subnet_addresses": result.subnet_addresses,
        "settled": result.settled,
    }


def run(args: argparse.Namespace) -> int:
    inputs = resolve_inputs(args)
    if args.pods is None:
        raise UsageError("--pods is required")
    limits, config = inputs.limits, inputs.config
    effective = config.for_instance(limits)
    host = inputs.host_network_pods
    policy = (
        IterationPolicy.go_random(args.seed)
        if args.iteration == GO_RANDOM
        else IterationPolicy.ordered()
    )
    if args.seed != 0 and not policy.is_random:
        raise UsageError("--seed is only read with --iteration go-random")
    rows = [
        _row(steady_state(limits, config, pods, host_network_pods=host, iteration=policy))
        for pods in args.pods
    ]
    if args.json:
        print_json(
            {
                "instance_type": limits.name,
                "settings": settings_json(inputs),
                "config": attrs.asdict(effective),
                "max_pods": inputs.max_pods,
                "host_network_pods": host,
                "iteration": {"kind": policy.kind, "seed": policy.seed},
                "rows": rows,
            }
        )
        return 0
    print("\n".join(settings_lines(inputs)))
    if policy.is_random:
        print(f"iteration: go-random, seed {policy.seed} (ipamd's Go map order imitated)")
    print()
    print_table(rows)
    if effective.enable_ipv6:
        print("total_ips, unused_ips: ipamd's TotalIPs, 2**48 per /80 - never the limit")
        print("subnet_addresses: the ENIs' primary IPv4 addresses (the /80s are IPv6)")
        return 0
    print("total_ips, unused_ips: ipamd's pool (TotalIPs), without the ENIs' primary addresses")
    print("subnet_addresses: taken from the subnet, ENI primaries + secondary IPs + 16 per prefix")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ss = sub.add_parser(
        "steady-state",
        help="ENIs and IPs a node settles at, per pod count",
        description="What ipamd holds once it has settled, for each pod count: ENIs, pool "
        "IPs and the addresses taken from the subnet.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance(ss)
    ss.add_argument(
        "--pods",
        type=parse_pods,
        default=[0],
        metavar="COUNTS",
        help="pod counts to settle at: 30, 0,5,9 or an inclusive range 0-30 (default: 0)",
    )
    ss.add_argument(
        "--iteration",
        choices=KINDS,
        default=ORDERED,
        help="order at ipamd's Go map iterations: ordered (the model's fixed order, as the "
        "docs tables) or go-random (Go's random order, seeded by --seed) (default: %(default)s)",
    )
    ss.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="N",
        help="seed of --iteration go-random, 0 .. 2**64-1 (default: 0)",
    )
    add_inputs(ss)
    add_json(ss)
    ss.set_defaults(func=run)
