"""``vpccni-model max-pods``: kubelet's max pods for an instance type."""

from __future__ import annotations

import argparse

from vpccni_model._limits import max_pods
from vpccni_model.cli._common import add_instance, instance_of


def run(args: argparse.Namespace) -> int:
    limits = instance_of(args)
    value = max_pods(
        limits,
        prefix_delegation=args.prefix_delegation,
        custom_networking=args.custom_networking,
        max_eni=args.max_eni,
        vcpus=args.vcpus,
    )
    print(value)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mp = sub.add_parser("max-pods", help="EKS max pods for an instance type")
    add_instance(mp)
    mp.add_argument("--prefix-delegation", action="store_true")
    mp.add_argument("--custom-networking", action="store_true")
    mp.add_argument("--max-eni", type=int)
    mp.add_argument("--vcpus", type=int, help="apply the EKS calculator's 110 / 250 cap")
    mp.set_defaults(func=run)
