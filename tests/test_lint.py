"""The env lint (``lint_env``): every value ipamd drops or name aws-node ignores is named, with
what ipamd uses instead. Expected values are ipamd's rules of spec 1.1-1.4, by hand."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from vpccni_model import (
    AWS_NODE_VARIABLES,
    ENV_VARIABLES,
    MANIFEST_ENV,
    ConfigError,
    EnvFinding,
    instance_limits,
    lint_env,
)

SHIPPED = Path(__file__).parent / "data" / "aws-k8s-cni.yaml"


def lint(limits: str | None = None, **overrides: str) -> list[tuple[str, str, str]]:
    """(code, severity, variable) of each finding for the manifest values plus overrides."""
    found = lint_env({**MANIFEST_ENV, **overrides}, instance_limits(limits) if limits else None)
    return [(f.code, f.severity, f.variable) for f in found]


def only(**overrides: str) -> EnvFinding:
    (finding,) = lint_env({**MANIFEST_ENV, **overrides})
    return finding


def test_the_shipped_values_have_no_findings() -> None:
    assert lint_env(MANIFEST_ENV) == ()
    assert lint_env(MANIFEST_ENV, instance_limits("m5.large")) == ()


def test_a_typo_is_an_unknown_variable_with_the_closest_name() -> None:
    finding = only(WARM_IP_TAGRET="5")
    assert (finding.code, finding.severity, finding.variable) == (
        "unknown-variable",
        "warning",
        "WARM_IP_TAGRET",
    )
    assert finding.value == "5"
    assert finding.suggestion == "WARM_IP_TARGET"
    assert finding.ipamd_uses is None
    assert "did you mean WARM_IP_TARGET?" in finding.message


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("warm_ip_target", "WARM_IP_TARGET"),
        ("ENABLE_IPV4", "ENABLE_IPv4"),  # ipamd reads ENABLE_IPv4 exactly
        ("Enable_Prefix_Delegation", "ENABLE_PREFIX_DELEGATION"),
    ],
)
def test_another_case_is_unknown_and_says_names_are_case_sensitive(name: str, meant: str) -> None:
    finding = only(**{name: "true"})
    assert (finding.code, finding.suggestion) == ("unknown-variable", meant)
    assert "case-sensitive" in finding.message


def test_an_unknown_name_far_from_any_gets_no_suggestion() -> None:
    finding = only(ZZZ="1")
    assert (finding.code, finding.suggestion) == ("unknown-variable", None)
    assert "did you mean" not in finding.message


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("abc", "is not an integer"),
        (" 5", "has spaces"),
        ("5 ", "has spaces"),
        ("", "is empty"),
        ("1.0", "is not an integer"),
        ("-3", "is negative"),
        ("9223372036854775808", "outside the 64-bit integer range"),
    ],
)
def test_warm_ip_target_values_ipamd_drops_name_the_fallback(raw: str, why: str) -> None:
    finding = only(WARM_IP_TARGET=raw)
    assert (finding.code, finding.severity, finding.value) == ("ignored-value", "warning", raw)
    assert finding.ipamd_uses == "0 (no warm IP target)"  # getWarmIPTarget: -> 0
    assert why in finding.message
    assert finding.message.endswith("ipamd ignores it and uses 0 (no warm IP target)")


def test_the_shown_value_is_quoted_when_spaces_would_hide() -> None:
    assert only(WARM_IP_TARGET=" 5").message.startswith('WARM_IP_TARGET=" 5" ')
    assert only(WARM_IP_TARGET="").message.startswith('WARM_IP_TARGET="" ')
    assert only(WARM_IP_TARGET="abc").message.startswith("WARM_IP_TARGET=abc ")


@pytest.mark.parametrize(
    ("name", "raw", "uses"),
    [
        ("WARM_ENI_TARGET", "-1", "1"),  # negative -> 1
        ("WARM_ENI_TARGET", "two", "1"),
        ("MINIMUM_IP_TARGET", "-5", "0 (no minimum IP target)"),
        ("WARM_PREFIX_TARGET", "-2", "0"),
        ("WARM_PREFIX_TARGET", "1/2", "0"),
        ("IP_COOLDOWN_PERIOD", "30s", "30 s"),  # unparsable -> 30 s
        ("MAX_ENI", "0", "the instance's ENI limit"),  # < 1 -> L_eni
        ("MAX_ENI", "-1", "the instance's ENI limit"),
    ],
)
def test_other_int_knobs_fall_back_as_ipamd_does(name: str, raw: str, uses: str) -> None:
    finding = only(**{name: raw})
    assert (finding.code, finding.variable, finding.ipamd_uses) == ("ignored-value", name, uses)


def test_max_eni_fallback_names_the_instance_limit() -> None:
    (finding,) = lint_env({**MANIFEST_ENV, "MAX_ENI": "0"}, instance_limits("m5.large"))
    assert finding.ipamd_uses == "the instance's ENI limit (3 on m5.large)"
    assert "is below 1" in finding.message


@pytest.mark.parametrize("raw", ["0", "7", "+3", "007"])
def test_ints_ipamd_accepts_have_no_finding(raw: str) -> None:
    assert lint_env({**MANIFEST_ENV, "WARM_IP_TARGET": raw}) == ()


@pytest.mark.parametrize("raw", ["yes", "on", "tRuE", "", " true", "no", "2"])
def test_bools_outside_go_parsebool_are_ignored(raw: str) -> None:
    finding = only(ENABLE_PREFIX_DELEGATION=raw)
    assert (finding.code, finding.ipamd_uses) == ("ignored-value", "false")
    assert "is not a Go boolean" in finding.message


def test_a_bool_whose_default_is_true_says_true() -> None:
    assert only(ENABLE_SUBNET_DISCOVERY="yes").ipamd_uses == "true"
    assert only(MANAGE_UNTAGGED_ENI="off").ipamd_uses == "true"


@pytest.mark.parametrize("raw", ["1", "t", "T", "TRUE", "true", "True"])
def test_every_go_true_spelling_is_accepted(raw: str) -> None:
    assert lint_env({**MANIFEST_ENV, "ENABLE_PREFIX_DELEGATION": raw}) == ()


def test_negative_cooldown_is_accepted_but_said() -> None:
    finding = only(IP_COOLDOWN_PERIOD="-1")
    assert (finding.code, finding.severity) == ("notable-value", "warning")
    assert "never cooling" in finding.message
    assert lint_env({**MANIFEST_ENV, "IP_COOLDOWN_PERIOD": "0"}) == ()


def test_combinations_ipamd_refuses_are_errors() -> None:
    assert lint(ENABLE_IPv4="false") == [("invalid-config", "error", "ENABLE_IPv4")]
    assert lint(ENABLE_IPv6="true") == [("invalid-config", "error", "ENABLE_IPv4")]  # both on
    both_off = lint(ENABLE_IPv4="false", ENABLE_IPv6="false")
    assert both_off == [("invalid-config", "error", "ENABLE_IPv4")]
    # IPv6 without prefix delegation: ipamd exits.
    v6 = lint(ENABLE_IPv4="false", ENABLE_IPv6="true")
    assert v6 == [("invalid-config", "error", "ENABLE_IPv6")]
    assert (
        "requires ENABLE_PREFIX_DELEGATION"
        in lint_env({**MANIFEST_ENV, "ENABLE_IPv4": "false", "ENABLE_IPv6": "true"})[0].message
    )
    policy = lint_env({**MANIFEST_ENV, "NETWORK_POLICY_ENFORCING_MODE": "audit"})
    assert [(f.code, f.severity, f.variable) for f in policy] == [
        ("invalid-config", "error", "NETWORK_POLICY_ENFORCING_MODE")
    ]
    assert lint_env({**MANIFEST_ENV, "NETWORK_POLICY_ENFORCING_MODE": "STRICT"}) == ()


def test_an_unparsable_ipv4_flag_is_both_ignored_and_fatal() -> None:
    # "yes" is not ParseBool, so ENABLE_IPv4 is its code default false and ipamd exits.
    found = lint_env({**MANIFEST_ENV, "ENABLE_IPv4": "yes"})
    assert [(f.code, f.severity) for f in found] == [
        ("ignored-value", "warning"),
        ("invalid-config", "error"),
    ]
    assert found[0].ipamd_uses == "false"
    assert lint_env({**MANIFEST_ENV, "ENABLE_IPv6": "on"})[0].ipamd_uses == "false"


def test_prefix_delegation_on_a_type_without_prefixes_is_a_mode_fallback() -> None:
    assert lint("t2.medium", ENABLE_PREFIX_DELEGATION="true") == [
        ("mode-fallback", "warning", "ENABLE_PREFIX_DELEGATION")
    ]
    (finding,) = lint_env(
        {**MANIFEST_ENV, "ENABLE_PREFIX_DELEGATION": "true"}, instance_limits("t2.medium")
    )
    assert finding.ipamd_uses == "secondary IPs (prefix delegation off)"
    assert "t2.medium" in finding.message
    assert lint("m5.large", ENABLE_PREFIX_DELEGATION="true") == []  # Nitro: no fallback
    assert lint(None, ENABLE_PREFIX_DELEGATION="true") == []  # no instance, nothing to say


def test_max_eni_above_the_limit_is_info() -> None:
    assert lint("m5.large", MAX_ENI="8") == [("notable-value", "info", "MAX_ENI")]
    assert lint("m5.large", MAX_ENI="3") == []


def test_known_variables_the_model_does_not_simulate_are_info_only() -> None:
    assert lint(AWS_VPC_ENI_MTU="1500", CLUSTER_NAME="prod") == [
        ("not-modelled", "info", "AWS_VPC_ENI_MTU"),
        ("not-modelled", "info", "CLUSTER_NAME"),
    ]


def test_not_evaluated_references_warn_only_for_what_the_model_reads() -> None:
    refs = {
        "WARM_IP_TARGET": "configmap tuning, key warm",
        "MY_NODE_NAME": "field path spec.nodeName",
        "MAX_ENI": "secret s, key k",
    }
    found = lint_env({**MANIFEST_ENV, "MAX_ENI": "2"}, not_evaluated=refs)
    # MAX_ENI has a literal value in env: taken as given there.
    assert [(f.code, f.severity, f.variable) for f in found] == [
        ("not-evaluated", "info", "MY_NODE_NAME"),
        ("not-evaluated", "warning", "WARM_IP_TARGET"),
    ]
    assert found[1].ipamd_uses == "0 (no warm IP target)"
    assert "configmap tuning, key warm" in found[1].message
    assert "--env WARM_IP_TARGET=VALUE" in found[1].message


def test_findings_are_sorted_by_variable_then_code() -> None:
    found = lint(ZETA="1", ALPHA="2", WARM_IP_TARGET="x", ENABLE_PREFIX_DELEGATION="nope")
    assert [f[2] for f in found] == ["ALPHA", "ENABLE_PREFIX_DELEGATION", "WARM_IP_TARGET", "ZETA"]


def test_bad_types_raise_like_from_env() -> None:
    with pytest.raises(ConfigError) as caught:
        lint_env({**MANIFEST_ENV, "WARM_IP_TARGET": 5})  # type: ignore[dict-item]
    assert caught.value.field == "WARM_IP_TARGET"
    with pytest.raises(ConfigError):
        EnvFinding("no-such-code", "warning", "X", None, "m")
    with pytest.raises(ConfigError):
        EnvFinding("unknown-variable", "fatal", "X", None, "m")


def test_every_variable_of_the_shipped_manifest_is_known() -> None:
    names = set()
    for doc in yaml.safe_load_all(SHIPPED.read_text(encoding="utf-8")):
        if doc and doc.get("kind") == "DaemonSet":
            pod = doc["spec"]["template"]["spec"]
            for container in pod["containers"] + pod["initContainers"]:
                names |= {entry["name"] for entry in container.get("env", [])}
    assert len(names) == 28  # 27 in aws-node (25 literal, 2 valueFrom) + DISABLE_TCP_EARLY_DEMUX
    assert names <= set(AWS_NODE_VARIABLES)
    assert set(ENV_VARIABLES) <= set(AWS_NODE_VARIABLES)


@pytest.mark.parametrize(
    "name",
    [
        "AWS_VPC_ENI_MTU",
        "AWS_VPC_K8S_CNI_LOGLEVEL",
        "ADDITIONAL_ENI_TAGS",
        "CLUSTER_NAME",
        "MY_NODE_NAME",
        "VPC_CNI_VERSION",
        "POD_SECURITY_GROUP_ENFORCING_MODE",
        "DISABLE_TCP_EARLY_DEMUX",
        "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS",
        "DISABLE_LEAKED_ENI_CLEANUP",
        "ENI_CONFIG_LABEL_DEF",
        "HOST_CNI_BIN_PATH",
        "AWS_REGION",
    ],
)
def test_known_set_holds_what_aws_node_reads(name: str) -> None:
    assert name in AWS_NODE_VARIABLES


MIRROR = Path("/work/.mirror/aws+amazon-vpc-cni-k8s/repo")


@pytest.mark.skipif(not MIRROR.exists(), reason="needs the amazon-vpc-cni-k8s mirror")
def test_known_set_covers_every_env_constant_of_the_go_source() -> None:
    """Re-gather the env constants at b52188387 and check none is missing (metrics helper aside:
    it is another deployment)."""
    constant = r'^\s*[eE]nv[A-Za-z0-9]*\s*=\s*"[A-Z][A-Za-z0-9_]*"'
    paths = ["pkg", "cmd", "utils/constants.go", ":!cmd/cni-metrics-helper", ":!*_test.go"]
    grep = ["git", "-C", str(MIRROR), "grep", "-hE", constant, "b52188387", "--", *paths]
    out = subprocess.run(grep, capture_output=True, text=True, check=True).stdout
    names = {line.split('"')[1] for line in out.splitlines()}
    assert "WARM_IP_TARGET" in names and len(names) > 40
    assert names - set(AWS_NODE_VARIABLES) == set()


def test_kubectl_exec_env_output_reads_cleanly() -> None:
    """``kubectl exec ds/aws-node -c aws-node -- env`` adds the runtime's and the service
    links' variables: info, not unknown-variable warnings."""
    extra = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOSTNAME": "ip-10-0-1-23.eu-west-1.compute.internal",
        "HOME": "/root",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "KUBERNETES_PORT": "tcp://172.20.0.1:443",
        "KUBERNETES_PORT_443_TCP_ADDR": "172.20.0.1",
        "KUBE_DNS_SERVICE_HOST": "172.20.0.10",
        "KUBE_DNS_PORT_53_UDP_PROTO": "udp",
    }
    found = lint_env({**MANIFEST_ENV, **extra})
    assert {(f.code, f.severity) for f in found} == {("not-modelled", "info")}
    assert len(found) == len(extra)
