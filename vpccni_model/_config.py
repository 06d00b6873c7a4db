"""ipamd's configuration: the knobs of the aws-node daemon, parsed exactly as ipamd parses them.

``Config`` holds every knob the warm-pool algorithm reads (spec 1.2) plus the loop timers
(spec 7.1). Its defaults are the *code* defaults of the ipamd binary. An EKS node does not run
with code defaults: the shipped DaemonSet manifest sets some variables explicitly, most notably
``ENABLE_IPv4=true`` (without it ipamd refuses to start) and ``WARM_PREFIX_TARGET=1``. So::

    Config.from_env({**MANIFEST_ENV, **overrides})

is the configuration of an EKS node whose aws-node container has ``overrides`` on top of the
shipped manifest, and ``Config.from_env(os.environ)`` is what ipamd itself would read.

``from_env`` follows ipamd's parsers bit for bit (spec 1.1): integers use Go ``strconv.Atoi``
semantics, booleans Go ``strconv.ParseBool``, and a value that fails to parse silently falls back
to the knob's default, as it does in ipamd. Combinations ipamd refuses at start-up raise
``ConfigError`` (spec 1.4). IPv6 (``ENABLE_IPv6=true``, ``ENABLE_IPv4=false``,
``ENABLE_PREFIX_DELEGATION=true``) is accepted: such a node has no warm pool (spec 4.6).

``Config.for_instance(limits)`` gives the configuration in effect on one instance type: prefix
delegation switched off where the instance cannot take prefixes, and ``max_eni`` resolved
against the instance's ENI limit (spec 1.4.3, 2.3).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import attrs

from vpccni_model._checks import (
    INT64_MAX,
    INT64_MIN,
    bool_field,
    check_bool,
    check_finite_float,
    int_field,
    int_to_float,
    optional_int_field,
    timer_field,
)
from vpccni_model._env import (
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
    MANIFEST_ENV,
    MAX_ENI,
    MINIMUM_IP_TARGET,
    NETWORK_POLICY_ENFORCING_MODE,
    NETWORK_POLICY_MODES,
    WARM_ENI_TARGET,
    WARM_IP_TARGET,
    WARM_PREFIX_TARGET,
    env_bool,
    env_int,
    go_atoi,
    go_parse_bool,
    go_to_lower,
    non_negative_or,
)
from vpccni_model._errors import ConfigError
from vpccni_model._limits import InstanceLimits

__all__ = [
    "ENV_VARIABLES",
    "INT64_MAX",
    "INT64_MIN",
    "MANIFEST_ENV",
    "NETWORK_POLICY_MODES",
    "Config",
    "fixed_at_boot",
    "go_atoi",
    "go_parse_bool",
]


def ipv6_refusal(ipv6: bool, prefix_delegation: bool, custom_networking: bool) -> str | None:
    """Why ipamd's ``isConfigValid`` exits on an IPv6 configuration (spec 1.4.2), or None:
    custom networking is not supported in IPv6, and IPv6 needs prefix delegation."""
    if not ipv6:
        return None
    if custom_networking:
        return "custom networking is not supported in IPv6 mode; ipamd exits"
    if not prefix_delegation:
        return "IPv6 requires ENABLE_PREFIX_DELEGATION=true; ipamd exits"
    return None


def _check_ipv4(inst: object, attribute: attrs.Attribute[bool], value: object) -> None:
    """``isConfigValid`` (spec 1.4.1), its half named by ``enable_ipv4``: both families off."""
    check_bool(inst, attribute, value)
    if value is False and getattr(inst, "enable_ipv6", False) is False:
        raise ConfigError(attribute.name, value, f"IPv4 and IPv6 are both disabled; {_ONE}")


_ONE = "exactly one must be true or ipamd exits at start-up"


def _check_ipv6(inst: object, attribute: attrs.Attribute[bool], value: object) -> None:
    """``isConfigValid`` (spec 1.4.1-2), its half named by ``enable_ipv6``: no dual stack, and
    IPv6 only with prefix delegation and without custom networking."""
    check_bool(inst, attribute, value)
    if value is True and getattr(inst, "enable_ipv4", False) is True:
        raise ConfigError(attribute.name, value, f"IPv4 and IPv6 are both enabled; {_ONE}")
    pd = getattr(inst, "prefix_delegation", False)
    reason = ipv6_refusal(value is True, pd, getattr(inst, "custom_networking", False))
    if reason is not None:
        raise ConfigError(attribute.name, value, reason)


def _check_imds_only(inst: object, attribute: attrs.Attribute[bool], value: object) -> None:
    """imds_only implies disable_provisioning; a Config that says otherwise is contradictory."""
    check_bool(inst, attribute, value)
    if value and not getattr(inst, "disable_provisioning", False):
        raise ConfigError(
            attribute.name,
            value,
            "ENABLE_IMDS_ONLY_MODE implies DISABLE_NETWORK_RESOURCE_PROVISIONING; "
            "set disable_provisioning=True as well",
        )


def _shown(env: Mapping[str, str], name: str) -> str:
    """A variable's value for a message, after its name: ``='false'``, or `` unset``."""
    value = env.get(name)
    return " unset" if value is None else f"={value!r}"


@attrs.frozen(kw_only=True, cache_hash=True)
class Config:
    """The knobs of one ipamd process. Defaults are the ipamd binary's code defaults.

    Immutable and validated: every field is type-checked (a bool is refused where an int is
    wanted; an int is accepted and converted where a float is wanted) and range-checked, and a
    bad value raises ``ConfigError`` naming the field. Construct with keywords.

    Fields without an environment variable (``to_env`` cannot express them, ``from_env`` leaves
    them at their defaults): ``max_pods`` (ipamd has no max-pods variable; it reads the kubelet's
    value, spec 2.5) and the timers ``pool_check_interval`` .. ``deallocate_empty_cidr_delay``
    (Go constants, spec 7.1).
    """

    #: WARM_ENI_TARGET (E): SIP mode keeps ``E`` ENIs' worth of free IPs when no W/M is set.
    warm_eni_target: int = int_field(1)
    #: WARM_IP_TARGET (W); 0 means undefined.
    warm_ip_target: int = int_field(0)
    #: MINIMUM_IP_TARGET (M); 0 means undefined.
    minimum_ip_target: int = int_field(0)
    #: WARM_PREFIX_TARGET (WP). The code default is 0; the shipped manifest sets 1.
    warm_prefix_target: int = int_field(0)
    #: ENABLE_PREFIX_DELEGATION as configured; see ``for_instance`` for the effective value.
    prefix_delegation: bool = bool_field(False)
    #: MAX_ENI as configured (>= 1), or None for the instance limit; see ``effective_max_eni``.
    max_eni: int | None = optional_int_field()
    #: IP_COOLDOWN_PERIOD in seconds; negative means an address is never cooling.
    ip_cooldown_period: float = attrs.field(
        default=30.0, converter=int_to_float, validator=check_finite_float
    )
    #: AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG
    custom_networking: bool = bool_field(False)
    #: ENABLE_POD_ENI (security groups for pods: reserves a slot for the trunk ENI).
    pod_eni: bool = bool_field(False)
    #: AWS_MANAGE_ENIS_NON_SCHEDULABLE
    manage_enis_non_schedulable: bool = bool_field(False)
    #: DISABLE_NETWORK_RESOURCE_PROVISIONING or ENABLE_IMDS_ONLY_MODE: no pool management.
    disable_provisioning: bool = bool_field(False)
    #: ENABLE_IMDS_ONLY_MODE; requires disable_provisioning=True (as ipamd derives it).
    imds_only: bool = bool_field(False, _check_imds_only)
    #: ENABLE_MULTI_NIC
    multi_nic: bool = bool_field(False)
    #: ENABLE_SUBNET_DISCOVERY
    subnet_discovery: bool = bool_field(True)
    #: MANAGE_UNTAGGED_ENI
    manage_untagged_enis: bool = bool_field(True)
    #: ENABLE_IPv4. ``from_env`` uses the code default false, so an environment without
    #: ENABLE_IPv4=true (or ENABLE_IPv6=true) is refused as ipamd refuses it.
    enable_ipv4: bool = bool_field(True, _check_ipv4)
    #: ENABLE_IPv6. Exactly one of the two is True; IPv6 needs ``prefix_delegation`` and no
    #: ``custom_networking`` (spec 1.4). An IPv6 node has no warm pool (spec 4.6, ``_ipv6``).
    enable_ipv6: bool = bool_field(False, _check_ipv6)
    #: Kubelet max pods; None means the instance's EKS max pods. No environment variable.
    max_pods: int | None = optional_int_field()

    # Timers (spec 7.1), seconds, finite and > 0. No environment variables.
    #: ipPoolMonitorInterval: loop period.
    pool_check_interval: float = timer_field(5.0)
    #: decreaseIPPoolInterval
    decrease_interval: float = timer_field(30.0)
    #: minENILifeTime
    min_eni_lifetime: float = timer_field(60.0)
    #: insufficientCidrErrorCooldown
    insufficient_cidr_backoff: float = timer_field(120.0)
    #: nodeIPPoolReconcileInterval
    reconcile_interval: float = timer_field(60.0)
    #: ipReconcileCooldown
    reconcile_cooldown: float = timer_field(60.0)
    #: deallocateEmptyCIDR delay (excluded-ENI CIDR cleanup).
    deallocate_empty_cidr_delay: float = timer_field(5.0)

    @property
    def warm_ip_targets_defined(self) -> bool:
        """ipamd's ``warmIPTargetsDefined``: W != 0 or M != 0 (spec 1.3)."""
        return self.warm_ip_target != 0 or self.minimum_ip_target != 0

    # -- environment ---------------------------------------------------------------------------

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        """Parse an aws-node environment exactly as ipamd does (spec 1.1, 1.2, 1.4).

        Unset or unparsable values fall back silently to the knob's default, as in ipamd.
        Raises ``ConfigError`` where ipamd refuses to start: an invalid
        NETWORK_POLICY_ENFORCING_MODE, IPv4 and IPv6 both or neither enabled (note ENABLE_IPv4
        defaults to false, so ``from_env({})`` raises), or IPv6 with custom networking or
        without prefix delegation. (IPv6 on an instance without prefix support is refused by
        ``for_instance``, which knows the instance.) A non-str
        key or value also raises. ``max_pods`` and the timers keep their defaults.
        """
        if not isinstance(env, Mapping):
            raise ConfigError("env", env, "must be a mapping of variable names to str values")
        for key, value in env.items():
            if not isinstance(key, str):
                raise ConfigError(repr(key), value, "environment variable names must be str")
            if not isinstance(value, str):
                raise ConfigError(key or repr(key), value, "environment values must be str")

        # getNetworkPolicyMode runs before isConfigValid in ipamd's New().
        policy_mode = env.get(NETWORK_POLICY_ENFORCING_MODE)
        if policy_mode is not None and go_to_lower(policy_mode) not in NETWORK_POLICY_MODES:
            raise ConfigError(
                NETWORK_POLICY_ENFORCING_MODE,
                policy_mode,
                "invalid network policy mode, supported modes: none, strict, standard "
                "(case-insensitive); ipamd fails to initialise",
            )

        enable_ipv4 = env_bool(env, ENABLE_IPV4, False)
        enable_ipv6 = env_bool(env, ENABLE_IPV6, False)
        prefix_delegation = env_bool(env, ENABLE_PREFIX_DELEGATION, False)
        custom_networking = env_bool(env, CUSTOM_NETWORK_CFG, False)
        if enable_ipv4 == enable_ipv6:
            both = "both enabled" if enable_ipv4 else "both disabled"
            raise ConfigError(
                ENABLE_IPV4,
                env.get(ENABLE_IPV4),
                f"IPv4 and IPv6 are {both} (ENABLE_IPv4{_shown(env, ENABLE_IPV4)}, "
                f"ENABLE_IPv6{_shown(env, ENABLE_IPV6)}); exactly one must be true or ipamd "
                "exits at start-up. The code default of ENABLE_IPv4 is false; the shipped "
                "manifest sets ENABLE_IPv4=true (MANIFEST_ENV)",
            )
        reason = ipv6_refusal(enable_ipv6, prefix_delegation, custom_networking)
        if reason is not None:
            raise ConfigError(ENABLE_IPV6, env.get(ENABLE_IPV6), reason)

        warm_eni = non_negative_or(env_int(env, WARM_ENI_TARGET), 1)
        warm_ip = non_negative_or(env_int(env, WARM_IP_TARGET), 0)
        minimum_ip = non_negative_or(env_int(env, MINIMUM_IP_TARGET), 0)
        warm_prefix = non_negative_or(env_int(env, WARM_PREFIX_TARGET), 0)
        max_eni = env_int(env, MAX_ENI)
        cooldown = env_int(env, IP_COOLDOWN_PERIOD)
        imds_only = env_bool(env, ENABLE_IMDS_ONLY_MODE, False)

        return cls(
            warm_eni_target=warm_eni,
            warm_ip_target=warm_ip,
            minimum_ip_target=minimum_ip,
            warm_prefix_target=warm_prefix,
            prefix_delegation=prefix_delegation,
            max_eni=max_eni if max_eni is not None and max_eni >= 1 else None,
            ip_cooldown_period=30.0 if cooldown is None else float(cooldown),
            custom_networking=custom_networking,
            pod_eni=env_bool(env, ENABLE_POD_ENI, False),
            manage_enis_non_schedulable=env_bool(env, MANAGE_ENIS_NON_SCHEDULABLE, False),
            disable_provisioning=env_bool(env, DISABLE_PROVISIONING, False) or imds_only,
            imds_only=imds_only,
            multi_nic=env_bool(env, ENABLE_MULTI_NIC, False),
            subnet_discovery=env_bool(env, ENABLE_SUBNET_DISCOVERY, True),
            manage_untagged_enis=env_bool(env, MANAGE_UNTAGGED_ENI, True),
            enable_ipv4=enable_ipv4,
            enable_ipv6=enable_ipv6,
        )

    def to_env(self) -> dict[str, str]:
        """The environment that ``from_env`` turns back into this Config's env-backed knobs.

        Every knob with a variable is written (``MAX_ENI`` only when set). ``max_pods`` and the
        timers have no variable and are not represented, so
        ``Config.from_env(c.to_env()) == attrs.evolve(c, max_pods=None, <timers at defaults>)``.
        IP_COOLDOWN_PERIOD is whole seconds in ipamd (Atoi): a fractional or out-of-int64
        ``ip_cooldown_period`` raises ``ConfigError``.
        """

        def b(flag: bool) -> str:
            return "true" if flag else "false"

        env = {
            WARM_ENI_TARGET: str(self.warm_eni_target),
            WARM_IP_TARGET: str(self.warm_ip_target),
            MINIMUM_IP_TARGET: str(self.minimum_ip_target),
            WARM_PREFIX_TARGET: str(self.warm_prefix_target),
            ENABLE_PREFIX_DELEGATION: b(self.prefix_delegation),
        }
        if self.max_eni is not None:
            env[MAX_ENI] = str(self.max_eni)
        env[IP_COOLDOWN_PERIOD] = str(_cooldown_seconds(self.ip_cooldown_period))
        env.update(
            {
                CUSTOM_NETWORK_CFG: b(self.custom_networking),
                ENABLE_POD_ENI: b(self.pod_eni),
                MANAGE_ENIS_NON_SCHEDULABLE: b(self.manage_enis_non_schedulable),
                DISABLE_PROVISIONING: b(self.disable_provisioning),
                ENABLE_IMDS_ONLY_MODE: b(self.imds_only),
                ENABLE_MULTI_NIC: b(self.multi_nic),
                ENABLE_SUBNET_DISCOVERY: b(self.subnet_discovery),
                MANAGE_UNTAGGED_ENI: b(self.manage_untagged_enis),
                ENABLE_IPV4: b(self.enable_ipv4),
                ENABLE_IPV6: b(self.enable_ipv6),
            }
        )
        return env

    # -- instance ------------------------------------------------------------------------------

    def effective_max_eni(self, limits: InstanceLimits) -> int:
        """ipamd's ``getMaxENI`` (spec 2.3): ``min(max_eni, L_eni)``, or ``L_eni`` when unset."""
        if self.max_eni is None:
            return limits.max_enis
        return min(self.max_eni, limits.max_enis)

    def for_instance(self, limits: InstanceLimits) -> Config:
        """The configuration in effect on an instance of type ``limits`` (spec 1.4.3, 2.3).

        Prefix delegation is switched off (ipamd's silent IPv4 fallback to secondary-IP mode)
        unless the instance supports prefixes (Nitro or bare metal), and ``max_eni`` becomes
        the effective ENI cap. In IPv6 there is no fallback: prefix delegation on an instance
        without prefix support is fatal in ipamd (spec 1.4.3), a ``ConfigError`` here.
        Idempotent: ``c.for_instance(l).for_instance(l)`` equals ``c.for_instance(l)``.
        """
        if self.enable_ipv6 and not limits.supports_prefix_delegation:
            raise ConfigError(
                "enable_ipv6",
                True,
                f"prefix delegation is not supported on {limits.name} (not Nitro, not "
                "bare metal) and IPv6 needs it: ipamd exits (no fallback as in IPv4)",
            )
        return _effective(self, limits)


@functools.lru_cache(maxsize=256)
def _effective(config: Config, limits: InstanceLimits) -> Config:
    """Memoized ``for_instance``: the pool tick asks for it on every call."""
    return attrs.evolve(
        config,
        prefix_delegation=config.prefix_delegation and limits.supports_prefix_delegation,
        max_eni=config.effective_max_eni(limits),
    )


def _cooldown_seconds(value: float) -> int:
    """The Atoi-parsable integer whose float is ``value``, else ConfigError.

    Floats near 2**63 round: ``float(INT64_MAX) == 2.0**63``, so that value maps to INT64_MAX.
    """
    if value.is_integer() and -(2.0**63) <= value <= 2.0**63:
        seconds = max(INT64_MIN, min(INT64_MAX, int(value)))
        if float(seconds) == value:
            return seconds
    raise ConfigError(
        "ip_cooldown_period",
        value,
        "IP_COOLDOWN_PERIOD is a whole number of seconds in int64 (Go Atoi); "
        "this value has no environment form",
    )


def fixed_at_boot(fixed: Config, given: object, limits: InstanceLimits) -> Config:
    """The one rule for the ``config`` argument of the core's entry points.

    ipamd reads every setting once, when it starts; changing the aws-node environment restarts
    it. So a node's effective configuration is fixed at boot and lives in its state
    (``NodeState.config``, ``fixed`` here), and the argument must be that configuration: equal
    to it once resolved for the instance (``for_instance``). Returns ``fixed``, which is what
    every rule then reads. A ``Config`` that differs raises ``ConfigError`` naming the first
    field that differs; ``restart`` is how a node takes a new configuration.
    """
    if given is fixed:
        return fixed
    if not isinstance(given, Config):
        raise ConfigError("config", given, "must be a Config")
    effective = given.for_instance(limits)
    if effective is fixed or effective == fixed:
        return fixed
    for field in attrs.fields(Config):
        name = field.name
        if getattr(effective, name) != getattr(fixed, name):
            raise ConfigError(
                name,
                getattr(given, name),
                f"the node booted with {getattr(fixed, name)!r} and ipamd reads its settings "
                "only at start-up; use restart() to change it",
            )
    raise AssertionError("unequal configs with equal fields")  # pragma: no cover
