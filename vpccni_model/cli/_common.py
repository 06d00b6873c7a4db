"""What every command shares: the instance option, the aws-node inputs, JSON output, and the
usage error that exits 2.

The inputs are resolved once, here, so that ``steady-state``, ``simulate`` and ``explain`` read
the same environment the same way and echo the same effective settings.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from vpccni_model._config import MANIFEST_ENV, Config
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits, instance_limits
from vpccni_model._policy import effective_max_pods


class UsageError(Exception):
    """A command line the user must correct; ``main`` prints it and exits 2."""


@attrs.frozen
class Inputs:
    """The resolved inputs of a command: the instance, the aws-node environment ipamd reads,
    the Config it parses to, and kubelet's max pods."""

    limits: InstanceLimits
    env: Mapping[str, str]
    config: Config
    max_pods: int
    host_network_pods: int


def add_instance(parser: argparse.ArgumentParser) -> None:
    """``--instance TYPE``, with the positional ``TYPE`` kept as an alias."""
    parser.add_argument(
        "instance_type", nargs="?", metavar="TYPE", help="EC2 instance type (same as --instance)"
    )
    parser.add_argument("--instance", metavar="TYPE", help="EC2 instance type, e.g. m5.large")


def instance_of(args: argparse.Namespace) -> InstanceLimits:
    """The limits of the one instance type given, positional or ``--instance``."""
    positional, option = args.instance_type, args.instance
    if positional is not None and option is not None and positional != option:
        raise UsageError(f"two instance types given: {positional!r} and --instance {option!r}")
    name = option if option is not None else positional
    if name is None:
        raise UsageError("an instance type is required: --instance TYPE (e.g. m5.large)")
    return instance_limits(name)


def add_inputs(parser: argparse.ArgumentParser) -> None:
    """The aws-node inputs: environment overrides and kubelet's max pods."""
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an aws-node environment variable (repeatable), over the shipped manifest's values",
    )
    parser.add_argument(
        "--max-pods",
        type=int,
        metavar="N",
        help="kubelet max pods (default: the EKS node default for the instance type)",
    )
    parser.add_argument(
        "--host-network-pods",
        type=int,
        default=HOST_NETWORK_PODS,
        metavar="N",
        help="pods per node that use the host network and take no pod IP but count against "
        "max pods (default: %(default)s, aws-node and kube-proxy)",
    )


def parse_env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=VALUE`` strings as a mapping (the value may be empty or contain ``=``)."""
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--env expects NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


def resolve_inputs(args: argparse.Namespace) -> Inputs:
    """Instance, environment (manifest values, then ``--env``), Config and max pods."""
    limits = instance_of(args)
    env = {**MANIFEST_ENV, **parse_env_pairs(args.env)}
    config = Config.from_env(env)
    if args.max_pods is not None:
        config = attrs.evolve(config, max_pods=args.max_pods)
    if args.host_network_pods < 0:
        raise UsageError(f"--host-network-pods must be >= 0, got {args.host_network_pods}")
    max_pods = effective_max_pods(limits, config.for_instance(limits))
    return Inputs(limits, env, config, max_pods, args.host_network_pods)


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def print_json(data: Any) -> None:
    """One JSON document on stdout, keys in the order built (documented per command)."""
    print(json.dumps(data, indent=2))


def print_table(rows: list[dict[str, object]]) -> None:
    """Right-aligned columns under their headers."""
    headers = list(rows[0])
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    lines = [
        "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(str(r[h]).rjust(w) for h, w in zip(headers, widths, strict=True)) for r in rows
    ]
    print("\n".join(lines), file=sys.stdout)
