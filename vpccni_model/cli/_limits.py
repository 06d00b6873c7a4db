"""``vpccni-model limits``: what the catalog knows about an instance type, and where each max
pods figure comes from.

ENIs and IPv4 per ENI (ipamd's table), network cards, both hypervisor readings (ipamd's table
and DescribeInstanceTypes', which the EKS calculator reads), prefix-delegation support, vCPUs,
memory, architecture and branch ENIs, then the max-pods figures of three common modes with
their formulas, so a user can check every number by hand.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from vpccni_model._limits import InstanceLimits
from vpccni_model._maxpods import DEFAULT_CNI_VERSION, calculator_hypervisor
from vpccni_model._maxpods_report import MaxPodsReport, max_pods_report
from vpccni_model.cli._common import add_instance, add_json, print_json
from vpccni_model.cli._max_pods import (
    add_instance_type_alias,
    instance_with_alias,
    plural,
    report_dict,
)

EXAMPLES = """\
examples:
  vpccni-model limits m5.large
  vpccni-model limits --instance p4d.24xlarge --json

exit status: 0 success, 2 usage error (e.g. an unknown instance type)
"""

#: The modes shown: (label, JSON key, prefix delegation, custom networking).
MODES: tuple[tuple[str, str, bool, bool], ...] = (
    ("secondary IPs", "secondary_ips", False, False),
    ("prefix delegation", "prefix_delegation", True, False),
    ("custom networking", "custom_networking", False, True),
)


def _unknown(value: object, unit: str = "") -> str:
    return "unknown (not in the catalog)" if value is None else f"{value}{unit}"


def _hypervisor_text(value: str | None) -> str:
    if value is None:
        return "not in the catalog"
    return "none given" if value in ("", "unknown") else value


def limits_dict(limits: InstanceLimits, reports: dict[str, MaxPodsReport]) -> dict[str, Any]:
    """The instance's limits and specs, then the max-pods report of each mode."""
    return {
        "instance": limits.name,
        "max_enis": limits.max_enis,
        "default_network_card": limits.default_network_card,
        "network_cards": [
            {"index": card, "max_interfaces": limits.max_interfaces(card)}
            for card in limits.card_indices
        ],
        "ipv4_per_eni": limits.ipv4_per_eni,
        "pod_addresses_per_eni": {
            "secondary_ips": limits.pod_addresses_per_eni(False),
            "prefix_delegation": limits.pod_addresses_per_eni(limits.supports_prefix_delegation),
        },
        "hypervisor": limits.hypervisor,
        "described_hypervisor": limits.described_hypervisor,
        "bare_metal": limits.bare_metal,
        "prefix_delegation_supported": limits.supports_prefix_delegation,
        "calculator_counts_prefixes": calculator_hypervisor(limits) == "nitro",
        "vcpus": limits.vcpus,
        "memory_mib": limits.memory_mib,
        "arch": limits.arch,
        "branch_enis": limits.branch_enis,
        "max_pods": {key: report_dict(reports[key], False) for _, key, _, _ in MODES},
    }


def print_limits(limits: InstanceLimits, reports: dict[str, MaxPodsReport]) -> None:
    cards = ", ".join(
        f"card {card}: {plural(limits.max_interfaces(card), 'ENI')}" for card in limits.card_indices
    )
    multi = ""
    if len(limits.card_indices) > 1:
        multi = "; ipamd uses cards above 0 only with ENABLE_MULTI_NIC"
    slots = limits.cidrs_per_eni
    if limits.supports_prefix_delegation:
        prefixes = plural(slots, "/28 prefix", "/28 prefixes")
        pd = f"{limits.pod_addresses_per_eni(True)} with prefix delegation ({prefixes})"
    else:
        pd = "prefix delegation not supported (ipamd falls back to secondary IPs)"
    support = "yes" if limits.supports_prefix_delegation else "no"
    why = "Nitro or bare metal"
    if not limits.supports_prefix_delegation:
        why = "neither Nitro nor bare metal"
    counts = calculator_hypervisor(limits) == "nitro"
    calc = "counts prefixes" if counts else "does not count prefixes (not 'nitro')"
    rows = [
        ("ENIs (default card)", f"{limits.max_enis} (card {limits.default_network_card})"),
        ("network cards", f"{len(limits.card_indices)} ({cards}){multi}"),
        ("IPv4 per ENI", f"{limits.ipv4_per_eni} (the ENI's primary address never goes to a pod)"),
        ("pod addresses per ENI", f"{plural(slots, 'secondary IP')}; {pd}"),
        ("hypervisor (ipamd's table)", _hypervisor_text(limits.hypervisor)),
        ("hypervisor (DescribeInstanceTypes)", _hypervisor_text(limits.described_hypervisor)),
        ("bare metal", "yes" if limits.bare_metal else "no"),
        ("prefix delegation", f"{support} (ipamd: {why}); the EKS calculator {calc}"),
        ("vCPUs", _unknown(limits.vcpus)),
        ("memory", _unknown(limits.memory_mib, " MiB")),
        ("architecture", _unknown(limits.arch)),
        ("branch ENIs (security groups for pods)", _unknown(limits.branch_enis)),
    ]
    width = max(len(label) for label, _ in rows)
    print(limits.name)
    for label, value in rows:
        print(f"  {label.ljust(width)}  {value}")
    default = reports["secondary_ips"]
    print("max pods:")
    print(f"  node default: {default.formulas['node_default']}")
    for label, key, _, _ in MODES:
        report = reports[key]
        print(f"  {label}:")
        recommended = (
            "needs the vCPU count"
            if report.calculator_recommended is None
            else report.formulas["calculator_recommended"]
        )
        print(f"    calculator recommendation: {recommended}")
        print(f"    calculator max allowed:    {report.formulas['calculator_max_allowed']}")
        print(f"    ipamd addressable pod IPs: {report.formulas['ipamd_pod_addresses']}")


def run(args: argparse.Namespace) -> int:
    limits = instance_with_alias(args)
    reports = {
        key: max_pods_report(limits, prefix_delegation=pd, custom_networking=cn)
        for _, key, pd, cn in MODES
    }
    if args.json:
        print_json(limits_dict(limits, reports))
    else:
        print_limits(limits, reports)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "limits",
        help="an instance type's ENIs, IPs, cards, hypervisor, vCPUs and max-pods formulas",
        description=textwrap.fill(
            "What the catalog knows about an instance type (ipamd's limits table and EC2 "
            "DescribeInstanceTypes' specs) and the formula of each max-pods figure in the "
            "secondary-IP, prefix-delegation and custom-networking modes "
            f"(CNI {DEFAULT_CNI_VERSION}, every ENI). Use max-pods for other flags.",
            width=79,
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance(parser)
    add_instance_type_alias(parser)
    add_json(parser)
    parser.set_defaults(func=run)
