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
from vpccni_model._env import ENABLE_IPV4
from vpccni_model._errors import ConfigError
from vpccni_model._limits import HOST_NETWORK_PODS, InstanceLimits, instance_limits
from vpccni_model._lint import EnvFinding, lint_env
from vpccni_model._policy import effective_max_pods
from vpccni_model.cloud import SdkRetry
from vpccni_model.manifest import read_aws_node_env

#: Where the environment comes from without ``--manifest``.
SHIPPED = "the shipped aws-k8s-cni.yaml (v1.23.1)"


class UsageError(Exception):
    """A command line the user must correct; ``main`` prints it and exits 2."""


@attrs.frozen
class Inputs:
    """The resolved inputs of a command: the instance, the aws-node environment ipamd reads,
    the Config it parses to, kubelet's max pods, where the environment came from, and what
    the env lint found in it (every severity; only warnings and errors are printed)."""

    limits: InstanceLimits
    env: Mapping[str, str]
    config: Config
    max_pods: int
    host_network_pods: int
    source: str = SHIPPED
    findings: tuple[EnvFinding, ...] = ()
    #: The AWS SDK retryer of ipamd's EC2 client (``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``).
    sdk_retry: SdkRetry = attrs.Factory(SdkRetry)


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
    """The aws-node inputs: a manifest, environment overrides, the lint's strictness and
    kubelet's max pods."""
    parser.add_argument(
        "--manifest",
        metavar="FILE|-",
        help="read the aws-node environment from FILE (- for standard input): the DaemonSet "
        "YAML (kubectl get ds aws-node -n kube-system -o yaml, or aws-k8s-cni.yaml), "
        "NAME=VALUE lines, or the output of kubectl set env daemonset/aws-node -n "
        "kube-system --list (default: the values of the shipped aws-k8s-cni.yaml)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an aws-node environment variable (repeatable), over the manifest's values",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 when the aws-node environment has warnings (unknown names, values "
        "ipamd ignores, values this tool cannot read) instead of only printing them",
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


def _base_env(
    args: argparse.Namespace,
) -> tuple[dict[str, str], str, Mapping[str, str], tuple[EnvFinding, ...]]:
    """The environment before ``--env``: the manifest's, else the shipped values."""
    if args.manifest is None:
        return dict(MANIFEST_ENV), SHIPPED, {}, ()
    try:
        read = read_aws_node_env(args.manifest)
    except ConfigError as exc:
        raise UsageError(f"--manifest {exc.value}: {exc.reason}") from None
    what = {
        "daemonset": "DaemonSet aws-node, container aws-node",
        "kubectl-set-env": "kubectl set env --list, container aws-node",
        "env-file": "NAME=VALUE lines",
    }[read.kind]
    return dict(read.env), f"{read.source} ({what})", read.not_evaluated, read.findings


def warning_line(finding: EnvFinding) -> str:
    """How a finding is printed on stderr."""
    return f"vpccni-model: {finding.severity}: {finding.message}"


def resolve_inputs(args: argparse.Namespace) -> Inputs:
    """Instance, environment (manifest values, then ``--env``), its lint, Config and max pods.

    Lint findings of severity warning and error are printed on stderr, one line each. An
    error (ipamd would not start) is a usage error; with ``--strict`` so is a warning.
    """
    limits = instance_of(args)
    overrides = parse_env_pairs(args.env)
    if args.host_network_pods < 0:
        raise UsageError(f"--host-network-pods must be >= 0, got {args.host_network_pods}")
    base, source, references, document = _base_env(args)
    env = {**base, **overrides}
    if overrides:
        source += f", with --env {' '.join(sorted(overrides))}"
    found = document + lint_env(env, limits, not_evaluated=references)
    findings = tuple(sorted(found, key=lambda f: (f.variable, f.code)))
    shown = [f for f in findings if f.severity != "info"]
    errors = [f for f in shown if f.severity == "error"]
    for finding in shown:
        if finding.severity != "error":
            print(warning_line(finding), file=sys.stderr)
    if errors:
        hint = ""
        missing_ipv4 = errors[0].variable == ENABLE_IPV4 and ENABLE_IPV4 not in env
        if args.manifest is not None and missing_ipv4:
            hint = (
                f" (the --manifest input replaces the shipped values, so it must set "
                f"{ENABLE_IPV4}=true as they do; or give only overrides with --env)"
            )
        raise UsageError(errors[0].message + hint)
    if args.strict and shown:
        raise UsageError(
            f"--strict: {len(shown)} warning(s) about the aws-node environment (above)"
        )
    config = Config.from_env(env)
    sdk_retry = SdkRetry.from_env(env)
    if args.max_pods is not None:
        if args.max_pods < 1:
            raise UsageError(f"--max-pods must be 1 or more, got {args.max_pods}")
        config = attrs.evolve(config, max_pods=args.max_pods)
    max_pods = effective_max_pods(limits, config.for_instance(limits))
    if args.host_network_pods > max_pods:
        raise UsageError(
            f"--host-network-pods {args.host_network_pods} is more than max pods {max_pods}: "
            "kubelet would admit none of them"
        )
    return Inputs(
        limits, env, config, max_pods, args.host_network_pods, source, findings, sdk_retry
    )


def _mode(inputs: Inputs) -> str:
    effective = inputs.config.for_instance(inputs.limits)
    if effective.enable_ipv6:
        return "IPv6 (one /80 prefix per ENI; no warm pool, the warm targets are ignored)"
    if effective.prefix_delegation:
        return "prefix delegation (/28 prefixes)"
    if inputs.config.prefix_delegation:
        name = inputs.limits.name
        return f"secondary IPs (prefix delegation asked for, but {name} cannot take prefixes)"
    return "secondary IPs"


def settings_lines(inputs: Inputs) -> list[str]:
    """The effective settings ipamd runs with on this instance, for a command's text output."""
    limits, config = inputs.limits, inputs.config
    effective = config.for_instance(limits)
    if config.max_eni is None:
        max_eni = f"{effective.max_eni} (the instance limit)"
    else:
        max_eni = (
            f"{effective.max_eni} (MAX_ENI={config.max_eni}; instance limit {limits.max_enis})"
        )
    kubelet = "--max-pods" if config.max_pods is not None else f"the EKS default for {limits.name}"
    ip_pods = max(0, inputs.max_pods - inputs.host_network_pods)

    def on(flag: bool) -> str:
        return "on" if flag else "off"

    return [
        f"settings from {inputs.source}",
        f"  instance: {limits.name}; mode: {_mode(inputs)}",
        f"  WARM_ENI_TARGET={effective.warm_eni_target} WARM_IP_TARGET={effective.warm_ip_target} "
        f"MINIMUM_IP_TARGET={effective.minimum_ip_target} "
        f"WARM_PREFIX_TARGET={effective.warm_prefix_target}",
        f"  ENIs: at most {max_eni}; custom networking: {on(effective.custom_networking)}; "
        f"pod ENI (security groups for pods): {on(effective.pod_eni)}",
        f"  max pods: {inputs.max_pods} ({kubelet}), of which {inputs.host_network_pods} "
        f"host-network pods take no pod IP: at most {ip_pods} pod IPs",
    ]


def settings_json(inputs: Inputs) -> dict[str, Any]:
    """The same settings for ``--json`` outputs, plus the environment and every finding."""
    limits, config = inputs.limits, inputs.config
    effective = config.for_instance(limits)
    return {
        "source": inputs.source,
        "instance_type": limits.name,
        "mode": "ipv6"
        if effective.enable_ipv6
        else "prefix-delegation"
        if effective.prefix_delegation
        else "secondary-ip",
        "prefix_delegation_requested": config.prefix_delegation,
        "warm_eni_target": effective.warm_eni_target,
        "warm_ip_target": effective.warm_ip_target,
        "minimum_ip_target": effective.minimum_ip_target,
        "warm_prefix_target": effective.warm_prefix_target,
        "max_eni": effective.max_eni,
        "max_eni_configured": config.max_eni,
        "custom_networking": effective.custom_networking,
        "pod_eni": effective.pod_eni,
        "max_pods": inputs.max_pods,
        "max_pods_from": "--max-pods" if config.max_pods is not None else "eks-default",
        "host_network_pods": inputs.host_network_pods,
        "env": dict(inputs.env),
        "findings": [attrs.asdict(f) for f in inputs.findings],
    }


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
