"""A minimal controller loop for one node: ipamd's loop with the model as its brain.

Every 5 s a pool tick (``reconcile``; each EC2 call it asks for made by the driver and its
answer folded back with ``apply``, until the tick ends, as ``run_tick`` does), and 2.5 s
later the metadata reconcile when ipamd would run it (``reconcile_due``: 60 s after the
last pool action), fed by DescribeNetworkInterfaces of the instance (``observe``). Pods come
from the CNI on a real node; here ``--pods N`` adds one pod per tick until N, so the pool has
something to do.

Live (the default) drives :class:`vpccni_model.aws.Boto3EC2` against EC2, or moto's server
with ``--endpoint-url``; the instance must be fresh (only its primary ENI). ``--dry-run``
calls no EC2 at all: it prints the calls each action would make, and takes the answers from
a :class:`vpccni_model.cloud.FakeEC2` holding the node (lowest free addresses, not EC2's).
The configuration is aws-node's: the shipped manifest's environment (``MANIFEST_ENV``) with
this process's on top (``Config.from_env``), so ``WARM_IP_TARGET=2 python ...`` works.

    python examples/controller_loop.py --dry-run --instance-type m5.large --pods 12 --ticks 30
    python examples/controller_loop.py --instance-id i-0123 --region us-west-2 --ticks 20
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from vpccni_model import (
    MANIFEST_ENV,
    Config,
    MetadataObserved,
    NodeState,
    apply,
    assign_pod_ip,
    instance_limits,
    reconcile,
    reconcile_due,
)
from vpccni_model._actions import (
    Action,
    AllocateENI,
    AllocateIPs,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._errors import NoAvailableIPError
from vpccni_model.cloud import DEFAULT_NODE, FakeEC2

TICK = 5.0  # ipPoolMonitorInterval
HALF = TICK / 2


def planned_calls(action: Action, instance_id: str) -> list[str]:
    """The EC2 calls ``action``'s family starts with (its failure paths add more)."""
    if isinstance(action, AllocateIPs | AllocatePrefixes):
        field = (
            "Ipv4PrefixCount"
            if isinstance(action, AllocatePrefixes)
            else ("SecondaryPrivateIpAddressCount")
        )
        return [
            f"AssignPrivateIpAddresses NetworkInterfaceId={action.eni_id} {field}={action.count}"
        ]
    if isinstance(action, AllocateENI):
        field = "Ipv4PrefixCount" if action.prefixes else "SecondaryPrivateIpAddressCount"
        return [
            f"CreateNetworkInterface Description=aws-K8S-{instance_id} {field}={action.count}"
            f" TagSpecifications=node.k8s.amazonaws.com/instance_id={instance_id},...",
            f"DescribeInstances InstanceIds={instance_id} (lowest free device on card "
            f"{action.network_card})",
            f"AttachNetworkInterface InstanceId={instance_id} NetworkCardIndex="
            f"{action.network_card} DeviceIndex=<free>",
            "ModifyNetworkInterfaceAttribute Attachment.DeleteOnTermination=true",
        ]
    if isinstance(action, ReleaseIPs):
        return [
            f"UnassignPrivateIpAddresses NetworkInterfaceId={action.eni_id} "
            f"PrivateIpAddresses={','.join(action.addresses)}"
        ]
    if isinstance(action, ReleasePrefixes):
        return [
            f"UnassignPrivateIpAddresses NetworkInterfaceId={action.eni_id} "
            f"Ipv4Prefixes={','.join(action.prefixes)}"
        ]
    if isinstance(action, FreeENI):
        return [
            f"DescribeNetworkInterfaces NetworkInterfaceIds={action.eni_id}",
            "DetachNetworkInterface AttachmentId=<from the describe>",
            f"DeleteNetworkInterface NetworkInterfaceId={action.eni_id} (2 s after the detach)",
        ]
    return ["(no EC2 call: a CNINode write)"]


def summary(state: NodeState) -> str:
    enis = [e for store in state.datastores for e in store.enis]
    cidrs = "+".join(str(len(e.cidrs)) for e in enis)
    return f"{len(enis)} ENIs, CIDRs {cidrs}, {len(state.pods)} pods"


def tick(
    state: NodeState,
    config: Config,
    ec2: Any,
    node: str,
    clock: float,
    dry_run: bool,
    instance_id: str,
) -> tuple[NodeState, float]:
    """One pool tick to its end; the state and the clock when its last answer came."""
    step = reconcile(state, config, clock)
    while True:
        state = step.state
        for action in step.actions:
            result = ec2.submit(action, node=node, at=clock)
            if dry_run:
                for call in planned_calls(action, instance_id):
                    print(f"  would call {call}")
            else:
                made = ", ".join(f"{api}:{outcome}" for api, outcome in result.api_calls)
                print(f"  {type(action).__name__}: {made or 'no call'}")
            if result.event is not None:
                print(f"    -> {result.event!r}")
                clock = max(clock, result.completes_at)
                state = apply(state, result.event, clock)
        if state.tick is None or state.in_flight is not None:
            return state, clock
        step = reconcile(state, config, clock)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print the calls, call no EC2")
    parser.add_argument("--instance-id", default="i-0dryrun000000000", help="the node's instance")
    parser.add_argument("--instance-type", default="m5.large", help="--dry-run: its type")
    parser.add_argument("--region", default=None, help="EC2 region (default: the SDK's)")
    parser.add_argument("--endpoint-url", default=None, help="EC2 endpoint (moto's server)")
    parser.add_argument("--ticks", type=int, default=0, help="stop after N ticks (0: never)")
    parser.add_argument("--pods", type=int, default=0, help="add one pod per tick until N")
    parser.add_argument("--no-wait", action="store_true", help="do not sleep between ticks")
    args = parser.parse_args(argv)

    config = Config.from_env({**MANIFEST_ENV, **os.environ})
    if args.dry_run:
        state = NodeState.boot(instance_limits(args.instance_type), config, 0.0)
        ec2: Any = FakeEC2.for_node(state)
        node = DEFAULT_NODE
        print(f"dry run: {args.instance_type} {args.instance_id}; answers from FakeEC2")
    else:
        from vpccni_model.aws import Boto3EC2

        ec2 = Boto3EC2(args.instance_id, region=args.region, endpoint_url=args.endpoint_url)
        state = ec2.boot_state(config, 0.0)
        node = args.instance_id
        print(f"live: {ec2.instance_type} {args.instance_id}, primary {ec2.primary_eni_id}")

    started = time.monotonic()
    k = 0
    while args.ticks == 0 or k < args.ticks:
        clock = max(HALF + TICK * k, state.clock)
        if len(state.pods) < args.pods:
            try:
                state, _ = assign_pod_ip(state, config, f"default/pod-{len(state.pods)}", clock)
            except NoAvailableIPError:
                print(f"t={clock:.1f} pod waits: no free address yet")
        print(f"t={clock:.1f} pool tick ({summary(state)})")
        state, clock = tick(state, config, ec2, node, clock, args.dry_run, args.instance_id)
        clock += HALF
        if reconcile_due(state, config, clock):
            state = apply(state, MetadataObserved(ec2.observe(node)), clock)
            print(f"t={clock:.1f} metadata reconcile ({summary(state)})")
        k += 1
        if not args.no_wait:
            time.sleep(max(0.0, started + TICK * k - time.monotonic()))
    print(f"done: {summary(state)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
