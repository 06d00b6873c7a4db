"""A live node's dumps on the command line: ``explain --node-dump`` and
``simulate --from-node-dump`` read them here, the same way.

The mode: without ``--manifest`` or ``--env ENABLE_PREFIX_DELEGATION``, the dump's CIDRs say
whether prefix delegation is on (any /28 prefix), and the environment follows them, with a
note on stderr; given explicitly, the configuration wins and a disagreement is a warning.
"""

from __future__ import annotations

import argparse
import sys

import attrs

from vpccni_model._actions import ReleaseIPs
from vpccni_model._config import Config
from vpccni_model._env import ENABLE_PREFIX_DELEGATION
from vpccni_model._errors import StateError
from vpccni_model._ipv4 import int_to_ip, ip_to_int
from vpccni_model.cli._common import Inputs, UsageError, instance_of, resolve_inputs
from vpccni_model.node_dump import NodeDump, read_node_dump
from vpccni_model.node_explain import NodeExplanation, describe_action
from vpccni_model.pool import pool_stats
from vpccni_model.sim.spec import SimulationSpec


def add_dump_options(parser: argparse.ArgumentParser, flag: str) -> None:
    """``--checkpoint`` and ``--now``, which go with ``flag`` (the dump itself)."""
    parser.add_argument(
        "--checkpoint",
        metavar="FILE",
        help=f"with {flag}: ipamd's checkpoint /var/run/aws-node/ipam.json; the pods then "
        "come from it, as ipamd restores them (default: the pods in the dump)",
    )
    parser.add_argument(
        "--now",
        metavar="TIME",
        help=f"with {flag}: when the dump was taken, RFC 3339 (e.g. 2025-07-15T03:14:20Z); "
        "addresses unassigned less than IP_COOLDOWN_PERIOD before it are cooling "
        "(default: the newest time in the dump)",
    )


def _read(args: argparse.Namespace, path: str, flag: str, config: Config) -> NodeDump:
    try:
        return read_node_dump(
            path, instance_of(args), config, checkpoint=args.checkpoint, now=args.now
        )
    except StateError as exc:
        if exc.field in ("node dump", "checkpoint"):
            which = flag if exc.field == "node dump" else "--checkpoint"
            raise UsageError(f"{which} {exc.value}: {exc.reason}") from None
        if exc.field == "now":
            raise UsageError(f"--now {exc.value!r}: {exc.reason}") from None
        shown = "" if exc.value is None else f" (got {exc.value!r})"
        raise UsageError(f"{exc.field}: {exc.reason}{shown}") from None


def dump_inputs(
    args: argparse.Namespace, path: str | None, flag: str
) -> tuple[Inputs, NodeDump | None]:
    """The command's inputs, and the node read from ``path`` (None without it)."""
    if path is None:
        if args.checkpoint is not None or args.now is not None:
            raise UsageError(f"--checkpoint and --now go with {flag} FILE")
        return resolve_inputs(args), None
    explicit = args.manifest is not None or any(
        pair.partition("=")[0] == ENABLE_PREFIX_DELEGATION for pair in args.env
    )
    if not explicit:
        probe = _read(args, path, flag, Config())
        inferred = probe.inferred_prefix_delegation
        if inferred:
            args.env = [*args.env, f"{ENABLE_PREFIX_DELEGATION}=true"]
            print(
                f"vpccni-model: note: {path} holds /28 prefixes: running with "
                f"{ENABLE_PREFIX_DELEGATION}=true (pass --env {ENABLE_PREFIX_DELEGATION}=false "
                "or --manifest to say otherwise)",
                file=sys.stderr,
            )
    inputs = resolve_inputs(args)
    dump = _read(args, path, flag, inputs.config)
    for warning in dump.warnings:
        print(f"vpccni-model: warning: {warning.path}: {warning.message}", file=sys.stderr)
    return inputs, dump


def covering_subnet(dump: NodeDump) -> str:
    """A /16 (or wider) network holding every address of the node, for the fake EC2."""
    networks = [c.network for e in dump.state.enis for c in e.cidrs]
    if not networks:
        raise UsageError("--from-node-dump: the node holds no address to place in a subnet")
    low, high = min(networks), max(networks) + 15
    length = 16
    while length > 8 and (low >> (32 - length)) != (high >> (32 - length)):
        length -= 1
    mask = ((1 << 32) - 1) ^ ((1 << (32 - length)) - 1)
    return f"{int_to_ip(low & mask)}/{length}"


def with_node_dump(
    spec: SimulationSpec, dump: NodeDump, args: argparse.Namespace
) -> SimulationSpec:
    """``spec`` with its one node starting from the dump, in a subnet that holds the node's
    addresses (``--subnet`` if it does, else the covering one, said on stderr)."""
    if len(spec.nodes) != 1:
        raise UsageError(f"--from-node-dump runs one node, not --nodes {len(spec.nodes)}")
    network, length = parse_cidr_block(args.subnet)
    size = 1 << (32 - length)
    if not all(
        network <= c.network and c.network + c.size <= network + size
        for e in dump.state.enis
        for c in e.cidrs
    ):
        chosen = covering_subnet(dump)
        print(
            f"vpccni-model: note: --subnet {args.subnet} does not hold the node's addresses: "
            f"using {chosen}",
            file=sys.stderr,
        )
        args.subnet = chosen
    state = dump.state
    print(
        f"vpccni-model: note: {spec.nodes[0].name} starts from {args.from_node_dump}: "
        f"{_count(len(state.enis), 'ENI')}, "
        f"{_count(sum(len(e.cidrs) for e in state.enis), 'CIDR')}, "
        f"{_count(len(state.pods), 'pod')} (kept all run; the workload's pods come on top)",
        file=sys.stderr,
    )
    node = attrs.evolve(spec.nodes[0], initial_state=state)
    return attrs.evolve(spec, nodes=(node,), subnets=(("subnet-a", args.subnet),))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def parse_cidr_block(text: str) -> tuple[int, int]:
    """``a.b.c.d/n`` as (network, length); ``--subnet`` was checked already."""
    address, _, length = text.partition("/")
    bits = int(length)
    return ip_to_int(address) & (((1 << 32) - 1) ^ ((1 << (32 - bits)) - 1)), bits


def _when(dump: NodeDump, clock: float) -> str:
    wall = dump.wall(clock)
    return f"{clock:+.1f} s" if wall is None else f"{wall} ({clock:+.1f} s)"


def node_lines(path: str, explanation: NodeExplanation, reference: str) -> list[str]:
    """The text of ``explain --node-dump``: the node, the next tick, cooling, a new pod."""
    dump = explanation.dump
    state = dump.state
    now = dump.wall(0.0)
    lines = [
        f"node from {path} ({dump.source}); now: "
        + (f"{now} ({reference})" if now else "unknown (no time in the dump)")
    ]
    for ds in state.datastores:
        stats = pool_stats(state, state.clock, ds.network_card)
        unmanaged = f" (+{ds.unmanaged_enis} not managed)" if ds.unmanaged_enis else ""
        lines.append(
            f"  card {ds.network_card}: {_count(len(ds.enis), 'ENI')}{unmanaged}; "
            "in the current mode "
            f"{stats.total_ips} addresses, {stats.assigned_ips} assigned, "
            f"{stats.cooldown_ips} cooling, "
            f"{stats.total_ips - stats.assigned_ips - stats.cooldown_ips} free now"
        )
        for eni in ds.enis:
            kinds = []
            if eni.ip_cidrs:
                kinds.append(f"{eni.ip_cidrs} secondary IPs")
            if eni.prefix_cidrs:
                kinds.append(f"{eni.prefix_cidrs} prefixes")
            flags = [
                name
                for name, on in (
                    ("primary", eni.is_primary),
                    ("trunk", eni.is_trunk),
                    ("efa", eni.is_efa),
                    ("excluded", eni.is_excluded),
                )
                if on
            ]
            lines.append(
                f"    {eni.eni_id} device {eni.device_number}"
                + (f" ({', '.join(flags)})" if flags else "")
                + f": {', '.join(kinds) or 'no CIDRs'}, "
                f"{eni.assigned_in_ips + eni.assigned_in_prefixes} assigned"
            )
    lines.append(f"  pods with an address: {len(state.pods)} (max pods {explanation.max_pods})")
    actions = explanation.actions
    if actions:
        lines.append(
            f"the next pool tick (within 5 s): {len(actions)} EC2 call"
            + ("s" if len(actions) > 1 else "")
        )
        lines += [f"  {describe_action(a)}" for a in actions]
    else:
        lines.append("the next pool tick (within 5 s): no EC2 call")
    if explanation.next_check_at is not None:
        lines.append(f"  then ipamd decides again at {_when(dump, explanation.next_check_at)}")
    elif not actions:
        lines.append(
            "  then nothing until a pod comes or goes (no running timer changes a decision)"
        )
    cooldown = state.config.ip_cooldown_period
    released = {(a.eni_id, ip) for a in actions if isinstance(a, ReleaseIPs) for ip in a.addresses}
    if explanation.cooling:
        lines.append(f"cooling addresses (IP_COOLDOWN_PERIOD={cooldown:g} s):")
        for c in explanation.cooling:
            note = "; the next tick releases it" if (c.eni_id, c.address) in released else ""
            lines.append(
                f"  {c.address} on {c.eni_id}: unassigned {_when(dump, c.unassigned_at)}, "
                f"free after {_when(dump, c.free_after)}{note}"
            )
    else:
        lines.append("cooling addresses: none")
    pod = explanation.new_pod
    lines.append(f"a pod arriving now {pod.message}")
    return lines


__all__ = ["add_dump_options", "covering_subnet", "dump_inputs", "node_lines", "with_node_dump"]
