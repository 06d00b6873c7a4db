"""``vpccni-model max-pods``: an instance type's max pods as the EKS tools and ipamd see it.

It takes the EKS max-pods calculator's flags with their meaning, prints the calculator's answer
first (or, with ``--value``, alone, as the script does), then the node default, ipamd's
addressable pod IPs and the branch ENIs, each with its formula, and notes where they disagree;
with ``--enable-pod-eni``, also the pods that pool IPs and branch ENIs can address together.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

import attrs

from vpccni_model._config import MANIFEST_ENV, Config
from vpccni_model._errors import ConfigError
from vpccni_model._limits import InstanceLimits
from vpccni_model._maxpods import DEFAULT_CNI_VERSION, parse_cni_version
from vpccni_model._maxpods_report import MaxPodsReport, max_pods_report
from vpccni_model.cli._common import (
    UsageError,
    add_instance,
    instance_of,
    parse_env_pairs,
    print_json,
)

EXAMPLES = """\
examples:
  vpccni-model max-pods m5.large
  vpccni-model max-pods --instance-type m5.large --cni-prefix-delegation-enabled
  vpccni-model max-pods m5.large --cni-custom-networking-enabled --cni-max-eni 2 --value
  vpccni-model max-pods m5.xlarge --enable-pod-eni
  vpccni-model max-pods c5.metal --cni-prefix-delegation-enabled --json
  vpccni-model max-pods m5.large --ipv6
  vpccni-model max-pods m5.large --env ENABLE_IPv6=true --env ENABLE_IPv4=false \\
      --env ENABLE_PREFIX_DELEGATION=true

exit status: 0 success (also when the vCPU count is unknown: the output says so),
2 usage or input error (with --value, also an unknown vCPU count)
"""


def add_instance_type_alias(parser: argparse.ArgumentParser) -> None:
    """``--instance-type``, the calculator's spelling of ``--instance``."""
    parser.add_argument(
        "--instance-type",
        dest="instance_type_flag",
        metavar="TYPE",
        help="same as --instance (the calculator script's name for it)",
    )


def instance_with_alias(args: argparse.Namespace) -> InstanceLimits:
    """The instance type from the positional, ``--instance`` or ``--instance-type``."""
    alias = args.instance_type_flag
    if alias is not None:
        for other in (args.instance, args.instance_type):
            if other is not None and other != alias:
                raise UsageError(f"two instance types given: {other!r} and {alias!r}")
        args.instance = alias
    return instance_of(args)


def positive(flag: str, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise UsageError(f"{flag} must be 1 or more, got {value}")
    return value


def _env_config(args: argparse.Namespace) -> Config | None:
    """The aws-node configuration ``--env`` gives over the shipped manifest's values, or None
    without ``--env``. Its IPv6 flag, prefix delegation, custom networking, MAX_ENI and
    ENABLE_POD_ENI add to the flags."""
    if not args.env:
        return None
    try:
        return Config.from_env({**MANIFEST_ENV, **parse_env_pairs(args.env)})
    except ConfigError as exc:
        raise UsageError(f"--env: {exc.field}: {exc.reason}") from exc


def report_of(args: argparse.Namespace) -> tuple[InstanceLimits, MaxPodsReport]:
    limits = instance_with_alias(args)
    config = _env_config(args)
    if config is not None:
        args.ipv6 = args.ipv6 or config.enable_ipv6
        args.prefix_delegation = args.prefix_delegation or config.prefix_delegation
        args.custom_networking = args.custom_networking or config.custom_networking
        args.max_eni = args.max_eni if args.max_eni is not None else config.max_eni
        args.pod_eni = args.pod_eni or config.pod_eni
    try:
        parse_cni_version(args.cni_version)
    except ConfigError as exc:
        raise UsageError(f"--cni-version {args.cni_version!r}: {exc.reason}") from exc
    if args.max_eni is not None and args.max_eni < 1:
        raise UsageError(
            f"--cni-max-eni must be 1 or more, got {args.max_eni} (the calculator script "
            "would print a negative max pods for 0 with custom networking); leave it out to "
            "use every ENI"
        )
    try:
        report = max_pods_report(
            limits,
            cni_version=args.cni_version,
            # IPv6 runs only with ENABLE_PREFIX_DELEGATION=true, which the calculator counts
            prefix_delegation=args.prefix_delegation or args.ipv6,
            custom_networking=args.custom_networking,
            max_eni=args.max_eni,
            vcpus=positive("--vcpus", args.vcpus),
            ipv6=args.ipv6,
            pod_eni=args.pod_eni,
        )
    except ConfigError as exc:
        raise UsageError(f"IPv6: {exc.reason}") from exc
    return limits, report


def report_dict(report: MaxPodsReport, show_max_allowed: bool) -> dict[str, Any]:
    """The report as JSON: the inputs, the calculator's printed value, every figure (cards
    with their pod ENIs and addresses), formulas and notes."""
    data = attrs.asdict(report)
    inputs = {
        "instance": data.pop("instance"),
        "cni_version": data.pop("cni_version"),
        "prefix_delegation": data.pop("prefix_delegation"),
        "custom_networking": data.pop("custom_networking"),
        "max_eni": data.pop("max_eni"),
        "pod_eni": data.pop("pod_eni"),
        "ipv6": report.ipv6,
        "show_max_allowed": show_max_allowed,
    }
    data["ipamd_cards"] = [
        {**attrs.asdict(card), "pod_enis": card.pod_enis, "pod_addresses": card.pod_addresses}
        for card in report.ipamd_cards
    ]
    data["formulas"] = dict(report.formulas)
    data["notes"] = list(report.notes)
    return {"inputs": inputs, "max_pods": report.calculator_output(show_max_allowed), **data}


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {words or word + 's'}"


def _mode(report: MaxPodsReport) -> str:
    flags = ["IPv6"] if report.ipv6 else []
    if report.prefix_delegation:
        flags.append("prefix delegation")
    if report.custom_networking:
        flags.append("custom networking")
    if report.max_eni is not None:
        flags.append(f"--cni-max-eni {report.max_eni}")
    if report.pod_eni:
        flags.append("security groups for pods")
    return ", ".join(flags) if flags else "secondary IPs"


def print_report(report: MaxPodsReport, limits: InstanceLimits, show_max_allowed: bool) -> None:
    value = report.calculator_output(show_max_allowed)
    if value is None:
        headline = (
            f"max pods: unknown; the vCPU count of {report.instance} is not in the catalog, so "
            "the calculator's 110/250 ceiling cannot be chosen: pass --vcpus N, or "
            f"--show-max-allowed for the uncapped {report.calculator_max_allowed}"
        )
        print(textwrap.fill(headline, width=100, subsequent_indent="  "))
    else:
        which = "max allowed" if show_max_allowed else "recommendation"
        print(f"max pods: {value} (the EKS max-pods calculator's {which})")
    cpus = "vCPUs unknown" if report.vcpus is None else plural(report.vcpus, "vCPU")
    print(
        f"{report.instance}: {plural(limits.max_enis, 'ENI')} x {limits.ipv4_per_eni} IPv4 on "
        f"the default card, {cpus}; CNI {report.cni_version}; {_mode(report)}"
    )
    recommended = report.calculator_recommended
    rows = [
        (
            f"node default ({report.node_default_source})",
            report.node_default,
            report.formulas["node_default"],
        ),
        (
            "calculator recommendation",
            "unknown" if recommended is None else recommended,
            "needs the vCPU count: pass --vcpus N"
            if recommended is None
            else report.formulas["calculator_recommended"],
        ),
        (
            "calculator max allowed",
            report.calculator_max_allowed,
            report.formulas["calculator_max_allowed"],
        ),
        (
            "ipamd addressable pod IPs",
            report.ipamd_pod_addresses,
            report.formulas["ipamd_pod_addresses"],
        ),
        (
            "branch ENIs (security groups for pods)",
            "unknown" if report.branch_enis is None else report.branch_enis,
            "not in the catalog" if report.branch_enis is None else "",
        ),
    ]
    if "addressable_pods" in report.formulas:  # ENABLE_POD_ENI: branch pods take no pool IP
        together = report.addressable_pods
        rows.append(
            (
                "pool IPs + branch ENIs",
                "unknown" if together is None else together,
                report.formulas["addressable_pods"],
            )
        )
    label_width = max(len(label) for label, _, _ in rows)
    value_width = max(len(str(value)) for _, value, _ in rows)
    for label, figure, formula in rows:
        print(f"  {label.ljust(label_width)}  {str(figure).rjust(value_width)}  {formula}".rstrip())
    if report.notes:
        print("notes:")
        for note in report.notes:
            print(textwrap.fill(note, width=100, initial_indent="  - ", subsequent_indent="    "))


def run(args: argparse.Namespace) -> int:
    limits, report = report_of(args)
    if args.value:
        value = report.calculator_output(args.show_max_allowed)
        if value is None:
            raise UsageError(
                f"the vCPU count of {report.instance} is not in the catalog: pass --vcpus N, "
                "or --show-max-allowed for the uncapped value"
            )
        print(value)
    elif args.json:
        print_json(report_dict(report, args.show_max_allowed))
    else:
        print_report(report, limits, args.show_max_allowed)
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mp = sub.add_parser(
        "max-pods",
        help="max pods: the EKS calculator, the node default and what ipamd can address",
        description=textwrap.fill(
            "Max pods for an instance type: the EKS max-pods calculator's answer "
            "(max-pods-calculator.sh, same flags), the node default kubelet gets when nothing "
            "is set (eni-max-pods.txt / nodeadm), the pod IPs ipamd's pool can address in that "
            "mode, and branch ENIs, each with its formula and notes where they disagree.",
            width=79,
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_instance(mp)
    add_instance_type_alias(mp)
    mp.add_argument(
        "--cni-version",
        default=DEFAULT_CNI_VERSION,
        metavar="X.Y.Z",
        help="VPC CNI version; prefix delegation counts only from 1.9.0 (default: %(default)s)",
    )
    mp.add_argument(
        "--cni-prefix-delegation-enabled",
        "--prefix-delegation",
        dest="prefix_delegation",
        action="store_true",
        help="prefix delegation is on (ENABLE_PREFIX_DELEGATION): count /28 prefixes",
    )
    mp.add_argument(
        "--cni-custom-networking-enabled",
        "--custom-networking",
        dest="custom_networking",
        action="store_true",
        help="custom networking is on: the primary ENI hosts no pods",
    )
    mp.add_argument(
        "--cni-max-eni",
        "--max-eni",
        dest="max_eni",
        type=int,
        metavar="N",
        help="use at most N ENIs (MAX_ENI), applied before custom networking's primary ENI is "
        "subtracted (default: every ENI of the default card)",
    )
    mp.add_argument(
        "--enable-pod-eni",
        "--pod-eni",
        dest="pod_eni",
        action="store_true",
        help="security groups for pods (ENABLE_POD_ENI): the trunk ENI takes an ENI slot, "
        "branch-ENI pods take no pool IP (the calculator has no such flag)",
    )
    mp.add_argument(
        "--ipv6",
        action="store_true",
        help="an IPv6 node (ENABLE_IPv6=true, ENABLE_IPv4=false; implies prefix delegation): "
        "ipamd's /80s never limit pods, kubelet's max pods does",
    )
    mp.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an aws-node environment variable (repeatable), over the shipped manifest's "
        "values: ENABLE_IPv6, ENABLE_PREFIX_DELEGATION, AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG, "
        "ENABLE_POD_ENI and "
        "MAX_ENI count as the flags above",
    )
    mp.add_argument(
        "--show-max-allowed",
        action="store_true",
        help="report the max allowed, without the 110/250 vCPU ceiling, as the script does",
    )
    mp.add_argument(
        "--vcpus",
        type=int,
        metavar="N",
        help="the vCPU count for the ceiling (default: the catalog's; needed where it has none)",
    )
    out = mp.add_mutually_exclusive_group()
    out.add_argument(
        "--value",
        "-q",
        "--quiet",
        dest="value",
        action="store_true",
        help="print only the number the calculator script prints, for scripts",
    )
    out.add_argument("--json", action="store_true", help="print the report as a JSON object")
    mp.set_defaults(func=run)
