"""The env lint: what ipamd does with an aws-node environment that it does not say.

ipamd drops what it cannot parse and ignores names it does not read, with at most a log line on
the node. ``lint_env`` says so, one typed ``EnvFinding`` per problem, naming what ipamd uses
instead. It asks ``Config.from_env`` and the Go parsers of ``_env`` for every value rather
than restating ipamd's defaults, so each parsing rule keeps its one home.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from typing import Final

import attrs

from vpccni_model._config import Config
from vpccni_model._env import (
    AWS_NODE_VARIABLES,
    CUSTOM_NETWORK_CFG,
    DISABLE_PROVISIONING,
    ENABLE_IMDS_ONLY_MODE,
    ENABLE_IPV4,
    ENABLE_IPV6,
    ENABLE_MULTI_NIC,
    ENABLE_POD_ENI,
    ENABLE_PREFIX_DELEGATION,
    ENABLE_SUBNET_DISCOVERY,
    ENV_VARIABLES,
    IP_COOLDOWN_PERIOD,
    MANAGE_ENIS_NON_SCHEDULABLE,
    MANAGE_UNTAGGED_ENI,
    MAX_ENI,
    MINIMUM_IP_TARGET,
    SDK_VARIABLES,
    WARM_ENI_TARGET,
    WARM_IP_TARGET,
    WARM_PREFIX_TARGET,
    go_atoi,
    go_parse_bool,
)
from vpccni_model._errors import ConfigError
from vpccni_model._limits import InstanceLimits

#: Finding codes and what each means.
FINDING_CODES: Final[Mapping[str, str]] = {
    "unknown-variable": "aws-node does not read this name; it has no effect",
    "ignored-value": "ipamd cannot use this value and falls back to another",
    "notable-value": "ipamd accepts this value, with an effect worth knowing",
    "invalid-config": "ipamd refuses to start with this",
    "mode-fallback": "the instance type cannot do what is asked; ipamd silently does less",
    "not-evaluated": "the value comes from a reference (valueFrom, envFrom) this tool cannot read",
    "duplicate-variable": "the name is set more than once; Kubernetes keeps the last",
    "not-modelled": "aws-node reads it, but it does not affect the warm pool this model runs",
}

#: Severities, mildest first: ``error`` is a configuration ipamd (or the model) will not run.
SEVERITIES: Final = ("info", "warning", "error")

#: The Config field behind each variable the model reads (NETWORK_POLICY_ENFORCING_MODE has
#: none: it only decides whether ipamd starts).
_FIELDS: Final[Mapping[str, str]] = {
    WARM_ENI_TARGET: "warm_eni_target",
    WARM_IP_TARGET: "warm_ip_target",
    MINIMUM_IP_TARGET: "minimum_ip_target",
    WARM_PREFIX_TARGET: "warm_prefix_target",
    ENABLE_PREFIX_DELEGATION: "prefix_delegation",
    MAX_ENI: "max_eni",
    IP_COOLDOWN_PERIOD: "ip_cooldown_period",
    CUSTOM_NETWORK_CFG: "custom_networking",
    ENABLE_POD_ENI: "pod_eni",
    MANAGE_ENIS_NON_SCHEDULABLE: "manage_enis_non_schedulable",
    DISABLE_PROVISIONING: "disable_provisioning",
    ENABLE_IMDS_ONLY_MODE: "imds_only",
    ENABLE_MULTI_NIC: "multi_nic",
    ENABLE_SUBNET_DISCOVERY: "subnet_discovery",
    MANAGE_UNTAGGED_ENI: "manage_untagged_enis",
    ENABLE_IPV4: "enable_ipv4",
    ENABLE_IPV6: "enable_ipv6",
}
_INTS: Final = frozenset(
    {WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET, WARM_PREFIX_TARGET, MAX_ENI,
     IP_COOLDOWN_PERIOD}
)  # fmt: skip


#: Set in every container by the runtime and by Kubernetes (service links such as
#: ``KUBERNETES_PORT_443_TCP_ADDR``), so ``kubectl exec ... -- env`` output reads cleanly.
_RUNTIME: Final = frozenset({"HOME", "HOSTNAME", "PATH", "TERM"})
_SERVICE_LINK: Final = re.compile(
    r"[A-Z][A-Z0-9_]*_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)"
    r"(_PROTO|_PORT|_ADDR)?)?)"
)


def _check_code(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    if value not in FINDING_CODES:
        raise ConfigError("code", value, f"must be one of {', '.join(FINDING_CODES)}")


def _check_severity(_inst: object, _attr: attrs.Attribute[str], value: str) -> None:
    if value not in SEVERITIES:
        raise ConfigError("severity", value, f"must be one of {', '.join(SEVERITIES)}")


@attrs.frozen
class EnvFinding:
    """One thing ipamd does with the environment that it does not say.

    ``message`` is one sentence for a platform engineer; ``ipamd_uses`` what ipamd runs with
    instead (None where nothing changes, e.g. an unknown name); ``suggestion`` the closest
    known variable name, for unknown names.
    """

    code: str = attrs.field(validator=_check_code)
    severity: str = attrs.field(validator=_check_severity)
    variable: str
    value: str | None
    message: str
    ipamd_uses: str | None = None
    suggestion: str | None = None


def shown(name: str, value: str) -> str:
    """``NAME=value``, the value quoted (JSON style) when it is empty or has spaces or controls."""
    plain = value != "" and value.isprintable() and " " not in value
    return f"{name}={value if plain else json.dumps(value)}"


def closest_variable(name: str) -> str | None:
    """The aws-node variable ``name`` most likely meant: same letters in another case, else the
    closest spelling (difflib), else None. The AWS SDK's variables count as aws-node's."""
    by_upper = {known.upper(): known for known in (*AWS_NODE_VARIABLES, *sorted(SDK_VARIABLES))}
    if name.upper() in by_upper:
        return by_upper[name.upper()]
    close = difflib.get_close_matches(name.upper(), list(by_upper), n=1, cutoff=0.7)
    return by_upper[close[0]] if close else None


def _probe(name: str, raw: str) -> object:
    """What ``Config.from_env`` keeps for ``name`` when only it is set, to ``raw``.

    The two address families are checked together by ``from_env``, so their value is read
    from whether it accepts the pair: ENABLE_IPv4 alone starts only if it parsed true;
    ENABLE_IPv6 beside ENABLE_IPv4=true starts only if it parsed false.
    """
    if name == ENABLE_IPV4:
        try:
            Config.from_env({ENABLE_IPV4: raw})
        except ConfigError:
            return False
        return True
    if name == ENABLE_IPV6:
        try:
            Config.from_env({ENABLE_IPV4: "true", ENABLE_IPV6: raw})
        except ConfigError:
            return True
        return False
    return getattr(Config.from_env({ENABLE_IPV4: "true", name: raw}), _FIELDS[name])


def _describe(name: str, value: object, limits: InstanceLimits | None) -> str:
    """A Config value in the words of the variable it came from."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if name == MAX_ENI and value is None:
        where = f" ({limits.max_enis} on {limits.name})" if limits is not None else ""
        return f"the instance's ENI limit{where}"
    if name == IP_COOLDOWN_PERIOD and isinstance(value, float):
        return f"{value:g} s"
    if value == 0 and name in (WARM_IP_TARGET, MINIMUM_IP_TARGET):
        return "0 (no warm IP target)" if name == WARM_IP_TARGET else "0 (no minimum IP target)"
    return str(value)


def _why_not_int(raw: str) -> str:
    if raw == "":
        return "is empty"
    if raw != raw.strip() and go_atoi(raw.strip()) is not None:
        return "has spaces around the number, which Go's strconv.Atoi rejects"
    if raw.lstrip("+-").isdigit() and raw.isascii():
        return "is outside the 64-bit integer range"
    return "is not an integer (Go strconv.Atoi)"


def _lint_int(name: str, raw: str, limits: InstanceLimits | None) -> EnvFinding | None:
    parsed, used = go_atoi(raw), _probe(name, raw)
    uses = _describe(name, used, limits)
    if parsed is None:
        why = _why_not_int(raw)
    elif used is None or float(parsed) != used:  # from_env dropped a value that parsed
        why = "is below 1" if name == MAX_ENI else "is negative"
    elif name == IP_COOLDOWN_PERIOD and parsed < 0:
        return EnvFinding(
            "notable-value",
            "warning",
            name,
            raw,
            f"{shown(name, raw)} is negative: ipamd accepts it and a released pod address is "
            "never cooling, so it can go to the next pod at once",
            f"{uses} (never cooling)",
        )
    else:
        return None
    return EnvFinding(
        "ignored-value",
        "warning",
        name,
        raw,
        f"{shown(name, raw)} {why}; ipamd ignores it and uses {uses}",
        uses,
    )


def _lint_bool(name: str, raw: str, limits: InstanceLimits | None) -> EnvFinding | None:
    if go_parse_bool(raw) is not None:
        return None
    uses = _describe(name, _probe(name, raw), limits)
    return EnvFinding(
        "ignored-value",
        "warning",
        name,
        raw,
        f"{shown(name, raw)} is not a Go boolean (true/false, 1/0, t/f, TRUE/FALSE, "
        f"True/False); ipamd ignores it and uses {uses}",
        uses,
    )


def _lint_name(name: str, raw: str) -> EnvFinding | None:
    if name not in AWS_NODE_VARIABLES and (name in _RUNTIME or _SERVICE_LINK.fullmatch(name)):
        return EnvFinding(
            "not-modelled",
            "info",
            name,
            raw,
            f"{name} is set by the container runtime or by Kubernetes, not by aws-node's "
            "configuration",
        )
    if name in SDK_VARIABLES:
        return EnvFinding(
            "not-modelled",
            "info",
            name,
            raw,
            f"{name} is read by the AWS SDK of ipamd's EC2 client, not by ipamd: the "
            "simulator's SdkRetry models it (vpccni_model.cloud.SdkRetry.from_env)",
        )
    if name not in AWS_NODE_VARIABLES:
        near = closest_variable(name)
        if near is not None and near.upper() == name.upper():
            hint = f" (names are case-sensitive: did you mean {near}?)"
        else:
            hint = f" (did you mean {near}?)" if near is not None else ""
        return EnvFinding(
            "unknown-variable",
            "warning",
            name,
            raw,
            f"{name} is not a variable aws-node v1.23.1 reads{hint}; ignored",
            None,
            near,
        )
    if name not in ENV_VARIABLES:
        return EnvFinding(
            "not-modelled",
            "info",
            name,
            raw,
            f"{name} is read by {AWS_NODE_VARIABLES[name]}, not by the warm pool; "
            "this model does not simulate it",
        )
    return None


def _lint_reference(name: str, where: str) -> EnvFinding:
    source = f"comes from {where}" if where else "comes from a reference"
    if name in _FIELDS:
        uses = _describe(name, _probe(name, ""), None)
        return EnvFinding(
            "not-evaluated",
            "warning",
            name,
            None,
            f"{name} {source}, which this tool cannot read; the model uses {uses} "
            f"(pass --env {name}=VALUE to give the real value)",
            uses,
        )
    return EnvFinding(
        "not-evaluated",
        "info",
        name,
        None,
        f"{name} {source}, which this tool cannot read; the warm pool does not use it",
    )


def _lint_config(env: Mapping[str, str], limits: InstanceLimits | None) -> list[EnvFinding]:
    """What the whole environment does: refused at start-up, or a mode the instance lacks."""
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        value = None if exc.value is None else str(exc.value)
        setting = f"{exc.field} (unset)" if value is None else shown(exc.field, value)
        return [EnvFinding("invalid-config", "error", exc.field, value, f"{setting}: {exc.reason}")]
    if limits is None:
        return []
    found = []
    try:
        effective = config.for_instance(limits)
    except ConfigError as exc:  # IPv6 on an instance without prefixes: fatal, no fallback
        raw = env.get(ENABLE_IPV6)
        return [EnvFinding("invalid-config", "error", ENABLE_IPV6, raw, exc.reason)]
    if config.prefix_delegation and not effective.prefix_delegation:
        found.append(
            EnvFinding(
                "mode-fallback",
                "warning",
                ENABLE_PREFIX_DELEGATION,
                env.get(ENABLE_PREFIX_DELEGATION),
                f"{limits.name} cannot take /28 prefixes (not Nitro, not bare metal): ipamd "
                "silently runs secondary-IP mode instead of prefix delegation",
                "secondary IPs (prefix delegation off)",
            )
        )
    if config.max_eni is not None and effective.max_eni != config.max_eni:
        found.append(
            EnvFinding(
                "notable-value",
                "info",
                MAX_ENI,
                env.get(MAX_ENI),
                f"MAX_ENI={config.max_eni} is above the {limits.max_enis} ENIs of "
                f"{limits.name}; ipamd uses {limits.max_enis}",
                str(limits.max_enis),
            )
        )
    return found


def lint_env(
    env: Mapping[str, str],
    limits: InstanceLimits | None = None,
    *,
    not_evaluated: Mapping[str, str] | None = None,
) -> tuple[EnvFinding, ...]:
    """Every finding about an aws-node environment, sorted by variable name, then code.

    ``env`` is the full environment ipamd reads (e.g. ``{**MANIFEST_ENV, **overrides}``).
    With ``limits``, also what the instance type changes (prefix delegation on a type that
    cannot take prefixes, MAX_ENI above the limit). ``not_evaluated`` maps the names whose
    value comes from a reference this tool cannot resolve (``valueFrom``) to a description
    of that reference; names also in ``env`` are taken as given there. Severity ``error``
    means ipamd would not start: ``Config.from_env`` (or ``for_instance``) raises.
    A non-str name or value raises ``ConfigError``, as ``Config.from_env`` does.
    """
    if not isinstance(env, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in env.items()
    ):
        Config.from_env(env)  # raises the typed error naming the bad entry
    found: list[EnvFinding] = []
    for name, raw in env.items():
        finding = _lint_name(name, raw)
        if finding is None and name in _INTS:
            finding = _lint_int(name, raw, limits)
        elif finding is None and name in _FIELDS:
            finding = _lint_bool(name, raw, limits)
        if finding is not None:
            found.append(finding)
    for name, where in (not_evaluated or {}).items():
        if name not in env:
            found.append(_lint_reference(name, where))
    found += _lint_config(env, limits)
    return tuple(sorted(found, key=lambda f: (f.variable, f.code)))
