"""Tests of vpccni_model._config: ``Config.from_env`` as ipamd parses each knob, validation,
and the effective config. Go's parsers and the manifest values are in test_env.py."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpccni_model._checks import MAX_TIMER, MIN_TIMER
from vpccni_model._config import (
    ENV_VARIABLES,
    INT64_MAX,
    INT64_MIN,
    MANIFEST_ENV,
    Config,
    go_atoi,
)
from vpccni_model._errors import ConfigError
from vpccni_model._limits import InstanceLimits

I64 = "9223372036854775807"
I64_OVER = "9223372036854775808"

XEN = InstanceLimits(name="x", max_enis=3, ipv4_per_eni=10, hypervisor="xen")
XEN_METAL = InstanceLimits(
    name="xm", max_enis=3, ipv4_per_eni=10, hypervisor="xen", bare_metal=True
)
NITRO = InstanceLimits(name="n", max_enis=3, ipv4_per_eni=10, hypervisor="nitro")
UNKNOWN_HV = InstanceLimits(name="u", max_enis=4, ipv4_per_eni=15, hypervisor="unknown")

TIMERS = (
    "pool_check_interval",
    "decrease_interval",
    "min_eni_lifetime",
    "insufficient_cidr_backoff",
    "reconcile_interval",
    "reconcile_cooldown",
    "deallocate_empty_cidr_delay",
)
NO_ENV_FIELDS = ("max_pods", *TIMERS)


def env(**overrides: str) -> dict[str, str]:
    """The shipped manifest env with overrides (variable names passed as keywords)."""
    return {**MANIFEST_ENV, **overrides}


def parse(**overrides: str) -> Config:
    return Config.from_env(env(**overrides))


def without(*names: str) -> dict[str, str]:
    return {k: v for k, v in MANIFEST_ENV.items() if k not in names}


# --------------------------------------------------------------------------------------------
# Integer knobs: every odd value, per knob, with the value ipamd ends up with.

ODD_INTS = (" 1", "1 ", "+3", "-0", "1_0", "1.0", "", I64, I64_OVER, "-5", "0", "4")

INT_KNOB_EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "WARM_ENI_TARGET": (
        "warm_eni_target",
        {
            " 1": 1,
            "1 ": 1,
            "+3": 3,
            "-0": 0,
            "1_0": 1,
            "1.0": 1,
            "": 1,
            I64: INT64_MAX,
            I64_OVER: 1,
            "-5": 1,
            "0": 0,
            "4": 4,
        },
    ),
    "WARM_IP_TARGET": (
        "warm_ip_target",
        {
            " 1": 0,
            "1 ": 0,
            "+3": 3,
            "-0": 0,
            "1_0": 0,
            "1.0": 0,
            "": 0,
            I64: INT64_MAX,
            I64_OVER: 0,
            "-5": 0,
            "0": 0,
            "4": 4,
        },
    ),
    "MINIMUM_IP_TARGET": (
        "minimum_ip_target",
        {
            " 1": 0,
            "1 ": 0,
            "+3": 3,
            "-0": 0,
            "1_0": 0,
            "1.0": 0,
            "": 0,
            I64: INT64_MAX,
            I64_OVER: 0,
            "-5": 0,
            "0": 0,
            "4": 4,
        },
    ),
    "WARM_PREFIX_TARGET": (
        "warm_prefix_target",
        {
            " 1": 0,
            "1 ": 0,
            "+3": 3,
            "-0": 0,
            "1_0": 0,
            "1.0": 0,
            "": 0,
            I64: INT64_MAX,
            I64_OVER: 0,
            "-5": 0,
            "0": 0,
            "4": 4,
        },
    ),
    "MAX_ENI": (
        "max_eni",
        {
            " 1": None,
            "1 ": None,
            "+3": 3,
            "-0": None,
            "1_0": None,
            "1.0": None,
            "": None,
            I64: INT64_MAX,
            I64_OVER: None,
            "-5": None,
            "0": None,
            "4": 4,
        },
    ),
    "IP_COOLDOWN_PERIOD": (
        "ip_cooldown_period",
        {
            " 1": 30.0,
            "1 ": 30.0,
            "+3": 3.0,
            "-0": 0.0,
            "1_0": 30.0,
            "1.0": 30.0,
            "": 30.0,
            I64: 9.223372036854775807e18,
            I64_OVER: 30.0,
            "-5": -5.0,
            "0": 0.0,
            "4": 4.0,
        },
    ),
}


@pytest.mark.parametrize("raw", ODD_INTS)
@pytest.mark.parametrize("knob", sorted(INT_KNOB_EXPECTED))
def test_integer_knob_parsing(knob: str, raw: str) -> None:
    field, table = INT_KNOB_EXPECTED[knob]
    config = parse(**{knob: raw})
    got = getattr(config, field)
    assert got == table[raw]
    assert type(got) is type(table[raw])
    # Nothing else moves: the rest is exactly the manifest configuration.
    assert attrs.evolve(config, **{field: getattr(Config(warm_prefix_target=1), field)}) == Config(
        warm_prefix_target=1
    )


@pytest.mark.parametrize(
    ("knob", "field", "default"),
    [
        ("WARM_ENI_TARGET", "warm_eni_target", 1),
        ("WARM_IP_TARGET", "warm_ip_target", 0),
        ("MINIMUM_IP_TARGET", "minimum_ip_target", 0),
        ("WARM_PREFIX_TARGET", "warm_prefix_target", 0),
        ("MAX_ENI", "max_eni", None),
        ("IP_COOLDOWN_PERIOD", "ip_cooldown_period", 30.0),
    ],
)
def test_integer_knob_unset_is_code_default(knob: str, field: str, default: object) -> None:
    assert getattr(Config.from_env(without(knob)), field) == default


def test_negative_cooldown_and_zero_are_kept() -> None:
    assert parse(IP_COOLDOWN_PERIOD="-1").ip_cooldown_period == -1.0
    assert parse(IP_COOLDOWN_PERIOD="0").ip_cooldown_period == 0.0
    assert type(parse(IP_COOLDOWN_PERIOD="12").ip_cooldown_period) is float


def test_max_eni_is_kept_as_given_not_clamped_at_parse_time() -> None:
    assert parse(MAX_ENI="500").max_eni == 500


# --------------------------------------------------------------------------------------------
# Boolean knobs

BOOL_KNOBS: dict[str, tuple[str, bool]] = {
    "ENABLE_PREFIX_DELEGATION": ("prefix_delegation", False),
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": ("custom_networking", False),
    "ENABLE_POD_ENI": ("pod_eni", False),
    "AWS_MANAGE_ENIS_NON_SCHEDULABLE": ("manage_enis_non_schedulable", False),
    "DISABLE_NETWORK_RESOURCE_PROVISIONING": ("disable_provisioning", False),
    "ENABLE_IMDS_ONLY_MODE": ("imds_only", False),
    "ENABLE_MULTI_NIC": ("multi_nic", False),
    "ENABLE_SUBNET_DISCOVERY": ("subnet_discovery", True),
    "MANAGE_UNTAGGED_ENI": ("manage_untagged_enis", True),
}

# raw value -> parsed (None: falls back to the knob's default)
ODD_BOOLS: dict[str, bool | None] = {
    "yes": None,
    "TRUE": True,
    "tRuE": None,
    "t": True,
    "": None,
    "1": True,
    "0": False,
    "F": False,
    "False": False,
    "no": None,
    "off": None,
    " true": None,
}


@pytest.mark.parametrize("raw", sorted(ODD_BOOLS))
@pytest.mark.parametrize("knob", sorted(BOOL_KNOBS))
def test_bool_knob_parsing(knob: str, raw: str) -> None:
    field, default = BOOL_KNOBS[knob]
    parsed = ODD_BOOLS[raw]
    expected = default if parsed is None else parsed
    assert getattr(parse(**{knob: raw}), field) is expected


@pytest.mark.parametrize("knob", sorted(BOOL_KNOBS))
def test_bool_knob_unset_is_code_default(knob: str) -> None:
    field, default = BOOL_KNOBS[knob]
    assert getattr(Config.from_env(without(knob)), field) is default


def test_default_true_knobs_need_an_exact_false() -> None:
    # "" and "no" fall back to the default true; only a ParseBool false spelling turns them off.
    for knob in ("ENABLE_SUBNET_DISCOVERY", "MANAGE_UNTAGGED_ENI"):
        field = BOOL_KNOBS[knob][0]
        assert getattr(parse(**{knob: ""}), field) is True
        assert getattr(parse(**{knob: "no"}), field) is True
        assert getattr(parse(**{knob: "0"}), field) is False


def test_imds_only_mode_implies_disable_provisioning() -> None:
    config = parse(ENABLE_IMDS_ONLY_MODE="true", DISABLE_NETWORK_RESOURCE_PROVISIONING="false")
    assert config.imds_only is True
    assert config.disable_provisioning is True
    config = parse(DISABLE_NETWORK_RESOURCE_PROVISIONING="true")
    assert (config.disable_provisioning, config.imds_only) == (True, False)
    assert parse().disable_provisioning is False


# --------------------------------------------------------------------------------------------
# IPv4 / IPv6 validation (spec 1.4)


def test_empty_env_is_refused_because_ipv4_defaults_to_false() -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_env({})
    assert info.value.field == "ENABLE_IPv4"
    assert info.value.value is None
    assert "exits" in info.value.reason
    assert "ENABLE_IPv4=true" in info.value.reason


@pytest.mark.parametrize("raw", ["false", "0", "", "yes", "tRuE", "on"])
def test_ipv4_not_parsed_true_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(ENABLE_IPv4=raw)
    assert info.value.field == "ENABLE_IPv4"
    assert info.value.value == raw
    assert "ENABLE_IPv4=true" in info.value.reason


@pytest.mark.parametrize("raw", ["1", "t", "T", "TRUE", "true", "True"])
def test_ipv4_true_spellings(raw: str) -> None:
    assert parse(ENABLE_IPv4=raw).enable_ipv4 is True


def test_ipv6_unset_or_garbage_means_false() -> None:
    assert Config.from_env(without("ENABLE_IPv6")).enable_ipv6 is False
    assert parse(ENABLE_IPv6="yes").enable_ipv6 is False


def test_dual_stack_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse(ENABLE_IPv6="true")
    assert info.value.field == "ENABLE_IPv4"
    assert "both enabled" in info.value.reason


def test_ipv6_with_custom_networking_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse(
            ENABLE_IPv4="false",
            ENABLE_IPv6="true",
            ENABLE_PREFIX_DELEGATION="true",
            AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG="true",
        )
    assert info.value.field == "ENABLE_IPv6"
    assert "custom networking" in info.value.reason


def test_ipv6_without_prefix_delegation_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        parse(ENABLE_IPv4="false", ENABLE_IPv6="true")
    assert info.value.field == "ENABLE_IPv6"
    assert "ENABLE_PREFIX_DELEGATION" in info.value.reason


def test_valid_ipv6_is_accepted() -> None:
    config = parse(ENABLE_IPv4="false", ENABLE_IPv6="true", ENABLE_PREFIX_DELEGATION="true")
    assert (config.enable_ipv4, config.enable_ipv6, config.prefix_delegation) == (
        False,
        True,
        True,
    )


# --------------------------------------------------------------------------------------------
# NETWORK_POLICY_ENFORCING_MODE and mapping types


@pytest.mark.parametrize(
    "mode", ["none", "strict", "standard", "STRICT", "Standard", "NoNe", "sTrIcT", "STR\u0130CT"]
)
def test_network_policy_mode_accepted_and_not_stored(mode: str) -> None:
    assert parse(NETWORK_POLICY_ENFORCING_MODE=mode) == parse()


@pytest.mark.parametrize("mode", ["", "off", "enforcing", " strict", "strict ", "default", "true"])
def test_network_policy_mode_invalid(mode: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(NETWORK_POLICY_ENFORCING_MODE=mode)
    assert info.value.field == "NETWORK_POLICY_ENFORCING_MODE"
    assert info.value.value == mode


def test_network_policy_mode_is_checked_before_ip_families() -> None:
    # ipamd's New() reads the policy mode before isConfigValid.
    with pytest.raises(ConfigError) as info:
        Config.from_env({"NETWORK_POLICY_ENFORCING_MODE": "bogus"})
    assert info.value.field == "NETWORK_POLICY_ENFORCING_MODE"


@pytest.mark.parametrize("bad", [5, None, True, b"1", 1.0])
def test_non_str_value_names_the_variable(bad: object) -> None:
    mapping: dict[str, Any] = {**MANIFEST_ENV, "WARM_IP_TARGET": bad}
    with pytest.raises(ConfigError) as info:
        Config.from_env(mapping)
    assert info.value.field == "WARM_IP_TARGET"
    assert info.value.value is bad


def test_non_str_value_of_an_unrelated_variable_is_refused() -> None:
    mapping: dict[str, Any] = {**MANIFEST_ENV, "PATH": 3}
    with pytest.raises(ConfigError) as info:
        Config.from_env(mapping)
    assert info.value.field == "PATH"


def test_unrelated_variables_are_ignored() -> None:
    assert Config.from_env({**MANIFEST_ENV, "PATH": "/bin", "CLUSTER_NAME": "c"}) == parse()


# --------------------------------------------------------------------------------------------
# MANIFEST_ENV and defaults


def test_manifest_env_parses_to_defaults_with_one_warm_prefix() -> None:
    config = Config.from_env(MANIFEST_ENV)
    assert config == Config(warm_prefix_target=1)
    assert config != Config()


def test_code_defaults() -> None:
    config = Config()
    assert attrs.asdict(config) == {
        "warm_eni_target": 1,
        "warm_ip_target": 0,
        "minimum_ip_target": 0,
        "warm_prefix_target": 0,
        "prefix_delegation": False,
        "max_eni": None,
        "ip_cooldown_period": 30.0,
        "custom_networking": False,
        "pod_eni": False,
        "manage_enis_non_schedulable": False,
        "disable_provisioning": False,
        "imds_only": False,
        "multi_nic": False,
        "subnet_discovery": True,
        "manage_untagged_enis": True,
        "enable_ipv4": True,
        "enable_ipv6": False,
        "max_pods": None,
        "pool_check_interval": 5.0,
        "decrease_interval": 30.0,
        "min_eni_lifetime": 60.0,
        "insufficient_cidr_backoff": 120.0,
        "reconcile_interval": 60.0,
        "reconcile_cooldown": 60.0,
        "deallocate_empty_cidr_delay": 5.0,
    }


def test_from_env_leaves_max_pods_and_timers_at_defaults() -> None:
    config = parse(MAX_PODS="17", POOL_CHECK_INTERVAL="1")
    assert config.max_pods is None
    for name in TIMERS:
        assert getattr(config, name) == getattr(Config(), name)


def test_config_is_frozen_slotted_and_hashable() -> None:
    config = Config()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        config.warm_eni_target = 3  # type: ignore[misc]
    assert not hasattr(config, "__dict__")
    assert hash(config) == hash(Config())


def test_keyword_only_construction() -> None:
    with pytest.raises(TypeError):
        Config(2)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("w", "m", "defined"), [(0, 0, False), (1, 0, True), (0, 1, True), (5, 7, True)]
)
def test_warm_ip_targets_defined(w: int, m: int, defined: bool) -> None:
    assert Config(warm_ip_target=w, minimum_ip_target=m).warm_ip_targets_defined is defined
    assert parse(WARM_IP_TARGET=str(w), MINIMUM_IP_TARGET=str(m)).warm_ip_targets_defined is defined


# --------------------------------------------------------------------------------------------
# Direct construction: validation names the field

INT_FIELDS = ("warm_eni_target", "warm_ip_target", "minimum_ip_target", "warm_prefix_target")
BOOL_FIELDS = tuple(field for field, _ in BOOL_KNOBS.values())
FLOAT_FIELDS = ("ip_cooldown_period", *TIMERS)

INVALID: list[tuple[str, object]] = [
    *((f, v) for f in INT_FIELDS for v in (-1, True, False, 1.0, "1", None, INT64_MAX + 1)),
    *((f, v) for f in ("max_eni", "max_pods") for v in (0, -1, True, 1.5, "3", INT64_MAX + 1)),
    *(
        ("ip_cooldown_period", v)
        for v in (math.nan, math.inf, -math.inf, "30", True, None, 10**400)
    ),
    *(
        (f, v)
        for f in TIMERS
        for v in (0, 0.0, -1, -0.5, math.nan, math.inf, True, "5", None, 1e-4, 10**9 + 1)
    ),
    *((f, v) for f in BOOL_FIELDS for v in (1, 0, "true", None)),
    ("enable_ipv4", False),
    ("enable_ipv4", 1),
    ("enable_ipv6", True),
    ("enable_ipv6", 0),
]


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_invalid_construction_names_the_field(field: str, value: object) -> None:
    kwargs: dict[str, Any] = {field: value}
    if field == "imds_only":
        kwargs["disable_provisioning"] = True  # isolate the type check
    with pytest.raises(ConfigError) as info:
        Config(**kwargs)
    assert info.value.field == field


def test_direct_ipv6_reason() -> None:
    with pytest.raises(ConfigError) as info:
        Config(enable_ipv4=False, enable_ipv6=True)
    assert info.value.field == "enable_ipv6"
    assert info.value.reason == "IPv6 requires ENABLE_PREFIX_DELEGATION=true; ipamd exits"
    with pytest.raises(ConfigError) as info:
        Config(enable_ipv6=True, prefix_delegation=True)
    assert info.value.field == "enable_ipv6"
    assert "both enabled" in info.value.reason


def test_imds_only_requires_disable_provisioning() -> None:
    with pytest.raises(ConfigError) as info:
        Config(imds_only=True)
    assert info.value.field == "imds_only"
    config = Config(imds_only=True, disable_provisioning=True)
    assert config.imds_only and config.disable_provisioning


@pytest.mark.parametrize("field", FLOAT_FIELDS)
def test_ints_are_converted_to_float(field: str) -> None:
    kwargs: dict[str, Any] = {field: 7}
    value = getattr(Config(**kwargs), field)
    assert value == 7.0
    assert type(value) is float


@pytest.mark.parametrize("value", [-5, -0.25, 0, 0.5, 1e9])
def test_cooldown_accepts_any_finite_value(value: float) -> None:
    assert Config(ip_cooldown_period=value).ip_cooldown_period == float(value)


def test_valid_boundaries() -> None:
    config = Config(
        warm_eni_target=0,
        warm_ip_target=INT64_MAX,
        max_eni=1,
        max_pods=1,
        pool_check_interval=1e-3,
    )
    assert (config.warm_eni_target, config.warm_ip_target, config.max_eni) == (0, INT64_MAX, 1)
    assert Config(max_eni=INT64_MAX, max_pods=250).max_pods == 250


def test_evolve_validates_too() -> None:
    with pytest.raises(ConfigError) as info:
        attrs.evolve(Config(), warm_ip_target=-2)
    assert info.value.field == "warm_ip_target"


# --------------------------------------------------------------------------------------------
# for_instance / effective_max_eni


def test_for_instance_xen_turns_prefix_delegation_off() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=1)
    effective = config.for_instance(XEN)
    assert effective.prefix_delegation is False
    assert effective == attrs.evolve(config, prefix_delegation=False, max_eni=3)


def test_for_instance_unknown_hypervisor_turns_prefix_delegation_off() -> None:
    assert Config(prefix_delegation=True).for_instance(UNKNOWN_HV).prefix_delegation is False


def test_for_instance_nitro_keeps_prefix_delegation() -> None:
    assert Config(prefix_delegation=True).for_instance(NITRO).prefix_delegation is True
    assert Config(prefix_delegation=False).for_instance(NITRO).prefix_delegation is False


def test_for_instance_bare_metal_xen_keeps_prefix_delegation() -> None:
    assert Config(prefix_delegation=True).for_instance(XEN_METAL).prefix_delegation is True


@pytest.mark.parametrize(
    ("max_eni", "expected"), [(None, 3), (1, 1), (2, 2), (3, 3), (4, 3), (INT64_MAX, 3)]
)
def test_max_eni_clamped_to_instance(max_eni: int | None, expected: int) -> None:
    config = Config(max_eni=max_eni)
    assert config.effective_max_eni(NITRO) == expected
    assert config.for_instance(NITRO).max_eni == expected
    assert config.for_instance(XEN).max_eni == expected


def test_max_eni_from_env_then_instance() -> None:
    assert parse(MAX_ENI="0").for_instance(NITRO).max_eni == 3
    assert parse(MAX_ENI="-1").for_instance(NITRO).max_eni == 3
    assert parse(MAX_ENI="2").for_instance(NITRO).max_eni == 2
    assert parse(MAX_ENI="9").for_instance(UNKNOWN_HV).max_eni == 4


def test_for_instance_keeps_everything_else() -> None:
    config = Config(
        warm_ip_target=3,
        minimum_ip_target=9,
        pod_eni=True,
        custom_networking=True,
        ip_cooldown_period=-1,
        max_pods=29,
        reconcile_interval=10,
    )
    assert config.for_instance(XEN) == attrs.evolve(config, max_eni=3)


# --------------------------------------------------------------------------------------------
# to_env


def test_to_env_of_defaults() -> None:
    assert Config().to_env() == {
        "WARM_ENI_TARGET": "1",
        "WARM_IP_TARGET": "0",
        "MINIMUM_IP_TARGET": "0",
        "WARM_PREFIX_TARGET": "0",
        "ENABLE_PREFIX_DELEGATION": "false",
        "IP_COOLDOWN_PERIOD": "30",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false",
        "ENABLE_POD_ENI": "false",
        "AWS_MANAGE_ENIS_NON_SCHEDULABLE": "false",
        "DISABLE_NETWORK_RESOURCE_PROVISIONING": "false",
        "ENABLE_IMDS_ONLY_MODE": "false",
        "ENABLE_MULTI_NIC": "false",
        "ENABLE_SUBNET_DISCOVERY": "true",
        "MANAGE_UNTAGGED_ENI": "true",
        "ENABLE_IPv4": "true",
        "ENABLE_IPv6": "false",
    }


def test_to_env_writes_max_eni_only_when_set() -> None:
    assert "MAX_ENI" not in Config().to_env()
    assert Config(max_eni=2).to_env()["MAX_ENI"] == "2"


def test_to_env_round_trips_defaults() -> None:
    assert Config.from_env(Config().to_env()) == Config()


@pytest.mark.parametrize("value", [0.5, -2.25, 1e19, -1e19, 2.0**64])
def test_to_env_refuses_cooldown_without_env_form(value: float) -> None:
    with pytest.raises(ConfigError) as info:
        Config(ip_cooldown_period=value).to_env()
    assert info.value.field == "ip_cooldown_period"


@pytest.mark.parametrize(
    ("value", "text"),
    [(-5, "-5"), (0, "0"), (2.0**63, I64), (-(2.0**63), "-9223372036854775808"), (86400, "86400")],
)
def test_to_env_cooldown_text(value: float, text: str) -> None:
    config = Config(ip_cooldown_period=value)
    assert config.to_env()["IP_COOLDOWN_PERIOD"] == text
    assert Config.from_env(config.to_env()) == config


def test_to_env_does_not_carry_fields_without_variables() -> None:
    config = Config(max_pods=58, pool_check_interval=1, min_eni_lifetime=5)
    assert Config.from_env(config.to_env()) == Config()
    assert set(config.to_env()) <= set(ENV_VARIABLES)


# --------------------------------------------------------------------------------------------
# Hypothesis

INTERESTING = st.sampled_from(
    [
        *ODD_INTS,
        *ODD_BOOLS,
        "-9223372036854775808",
        "-9223372036854775809",
        "none",
        "STRICT",
        "standard",
        "\u0661",
        "1\n",
    ]
)
ENV_TEXT = st.one_of(
    st.text(),
    st.text(alphabet="0123456789+-_. \t\ntTrRuUeEfFaAlLsS\u0661", max_size=22),
    INTERESTING,
)
ENV_OVERRIDES = st.dictionaries(st.sampled_from(ENV_VARIABLES), ENV_TEXT)


def oracle_atoi(text: str) -> int | None:
    """Go's Atoi written out rune by rune, independently of the module's regex."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body:
        return None
    value = 0
    for char in body:
        if char not in "0123456789":
            return None
        value = value * 10 + "0123456789".index(char)
    if text[:1] == "-":
        value = -value
    return value if -(2**63) <= value < 2**63 else None


def oracle_bool(text: str | None, default: bool) -> bool:
    table = {
        "1": True,
        "t": True,
        "T": True,
        "TRUE": True,
        "true": True,
        "True": True,
        "0": False,
        "f": False,
        "F": False,
        "FALSE": False,
        "false": False,
        "False": False,
    }
    return default if text is None else table.get(text, default)


def check_against_oracle(mapping: Mapping[str, str], config: Config) -> None:
    def atoi(name: str) -> int | None:
        raw = mapping.get(name)
        return None if raw is None else oracle_atoi(raw)

    def target(name: str, default: int) -> int:
        parsed = atoi(name)
        return parsed if parsed is not None and parsed >= 0 else default

    assert config.warm_eni_target == target("WARM_ENI_TARGET", 1)
    assert config.warm_ip_target == target("WARM_IP_TARGET", 0)
    assert config.minimum_ip_target == target("MINIMUM_IP_TARGET", 0)
    assert config.warm_prefix_target == target("WARM_PREFIX_TARGET", 0)
    max_eni = atoi("MAX_ENI")
    assert config.max_eni == (max_eni if max_eni is not None and max_eni > 0 else None)
    cooldown = atoi("IP_COOLDOWN_PERIOD")
    assert config.ip_cooldown_period == (30.0 if cooldown is None else float(cooldown))
    for knob, (field, default) in BOOL_KNOBS.items():
        if field == "disable_provisioning":
            continue
        assert getattr(config, field) is oracle_bool(mapping.get(knob), default)
    assert config.disable_provisioning is (
        oracle_bool(mapping.get("DISABLE_NETWORK_RESOURCE_PROVISIONING"), False)
        or oracle_bool(mapping.get("ENABLE_IMDS_ONLY_MODE"), False)
    )
    ipv4 = oracle_bool(mapping.get("ENABLE_IPv4"), False)
    ipv6 = oracle_bool(mapping.get("ENABLE_IPv6"), False)
    assert (config.enable_ipv4, config.enable_ipv6) == (ipv4, ipv6)
    assert ipv4 is not ipv6  # isConfigValid: exactly one family
    if ipv6:  # and IPv6 only with prefix delegation, without custom networking
        assert config.prefix_delegation and not config.custom_networking
    mode = mapping.get("NETWORK_POLICY_ENFORCING_MODE")
    assert mode is None or mode.replace("\u0130", "i").lower() in {"none", "strict", "standard"}


@settings(max_examples=400, deadline=None)
@given(ENV_OVERRIDES)
def test_from_env_total_over_arbitrary_text(overrides: dict[str, str]) -> None:
    mapping = {**MANIFEST_ENV, **overrides}
    try:
        config = Config.from_env(mapping)
    except ConfigError as exc:
        assert exc.field in ENV_VARIABLES
        return
    assert isinstance(config, Config)
    check_against_oracle(mapping, config)
    # Whatever from_env produced, to_env expresses it exactly.
    assert Config.from_env(config.to_env()) == config


@settings(max_examples=200, deadline=None)
@given(ENV_OVERRIDES)
def test_from_env_total_without_manifest(overrides: dict[str, str]) -> None:
    try:
        config = Config.from_env(overrides)
    except ConfigError as exc:
        assert exc.field in ENV_VARIABLES
        return
    check_against_oracle(overrides, config)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=25))
def test_go_atoi_matches_oracle(text: str) -> None:
    assert go_atoi(text) == oracle_atoi(text)


NON_NEG = st.one_of(st.integers(0, 64), st.integers(0, INT64_MAX))
POSITIVE_OR_NONE = st.one_of(st.none(), st.integers(1, 64), st.integers(1, INT64_MAX))
TIMER = st.one_of(
    st.integers(1, 10**6), st.floats(min_value=MIN_TIMER, max_value=MAX_TIMER, allow_nan=False)
)


@st.composite
def valid_configs(draw: st.DrawFn) -> Config:
    disable = draw(st.booleans())
    timers: dict[str, Any] = {name: draw(TIMER) for name in TIMERS}
    return Config(
        warm_eni_target=draw(NON_NEG),
        warm_ip_target=draw(NON_NEG),
        minimum_ip_target=draw(NON_NEG),
        warm_prefix_target=draw(NON_NEG),
        prefix_delegation=draw(st.booleans()),
        max_eni=draw(POSITIVE_OR_NONE),
        ip_cooldown_period=draw(st.integers(INT64_MIN, INT64_MAX)),
        custom_networking=draw(st.booleans()),
        pod_eni=draw(st.booleans()),
        manage_enis_non_schedulable=draw(st.booleans()),
        disable_provisioning=disable,
        imds_only=disable and draw(st.booleans()),
        multi_nic=draw(st.booleans()),
        subnet_discovery=draw(st.booleans()),
        manage_untagged_enis=draw(st.booleans()),
        max_pods=draw(POSITIVE_OR_NONE),
        **timers,
    )


def env_backed_part(config: Config) -> Config:
    """The config with the fields that have no environment variable put back to defaults."""
    defaults = Config()
    return attrs.evolve(config, **{name: getattr(defaults, name) for name in NO_ENV_FIELDS})


@settings(max_examples=300, deadline=None)
@given(valid_configs())
def test_to_env_from_env_round_trip(config: Config) -> None:
    text = config.to_env()
    assert all(isinstance(v, str) for v in text.values())
    assert Config.from_env(text) == env_backed_part(config)
    # The round trip also survives being layered over the manifest (to_env sets every variable
    # the manifest sets).
    assert Config.from_env({**MANIFEST_ENV, **text}) == env_backed_part(config)


@settings(max_examples=200, deadline=None)
@given(
    valid_configs(),
    st.builds(
        InstanceLimits,
        name=st.just("t"),
        max_enis=st.integers(1, 15),
        ipv4_per_eni=st.integers(2, 50),
        hypervisor=st.sampled_from(["nitro", "xen", "unknown"]),
        bare_metal=st.booleans(),
    ),
)
def test_for_instance_properties(config: Config, limits: InstanceLimits) -> None:
    effective = config.for_instance(limits)
    assert effective.for_instance(limits) == effective
    assert effective.max_eni == config.effective_max_eni(limits)
    assert effective.max_eni is not None
    assert 1 <= effective.max_eni <= limits.max_enis
    assert effective.prefix_delegation is (
        config.prefix_delegation and (limits.hypervisor == "nitro" or limits.bare_metal)
    )
    assert (
        attrs.evolve(effective, prefix_delegation=config.prefix_delegation, max_eni=config.max_eni)
        == config
    )
