"""Command line: ``vpccni-model max-pods`` and ``vpccni-model steady-state``.

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

from vpccni_model.config import MANIFEST_ENV, Config
from vpccni_model.errors import VpcCniModelError
from vpccni_model.limits import instance_limits, max_pods
from vpccni_model.steady import SteadyState, steady_state


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
    config = Config.from_env(args.env)
    if args.max_pods is not None:
        config = attrs.evolve(config, max_pods=args.max_pods)
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
    ss.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="aws-node environment variable (repeatable), over the shipped manifest",
    )
    ss.add_argument("--max-pods", type=int, help="kubelet max pods (default: EKS's value)")
    ss.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ss.set_defaults(func=_cmd_steady_state)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "steady-state":
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
