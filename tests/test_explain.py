"""The explainer's findings, its one plan of fixes, and the ``explain`` command's output.

Expected values come from the EKS max-pods arithmetic worked by hand (node default
``ENIs x (IPv4 per ENI - 1) + 2``; the calculator multiplies the slots by 16 with prefixes,
drops one ENI with custom networking and caps at 110 up to 30 vCPUs, else 250) and from the
instance limits: m5.large 3 ENIs x 10 IPv4, 2 vCPUs; t3.small 3 x 4; m5.8xlarge 8 x 30,
32 vCPUs; c7i.32xlarge 15 x 50 with no vCPU count in the catalog.
"""

from __future__ import annotations

import json
import re

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vpccni_model import Config, instance_limits
from vpccni_model._errors import ConfigError
from vpccni_model.cli import main
from vpccni_model.sim import NodeSpec, PoissonChurn, SimulationSpec, simulate
from vpccni_model.sim.explain import Explanation, Finding, explain

M5 = instance_limits("m5.large")
T3 = instance_limits("t3.small")
PD = Config(prefix_delegation=True, warm_prefix_target=1)  # the shipped manifest's PD setup


def finding(explanation: Explanation, code: str) -> Finding:
    matches = [f for f in explanation.findings if f.code == code]
    assert matches, f"no {code} in {[f.code for f in explanation.findings]}"
    return matches[0]


def codes(explanation: Explanation) -> set[str]:
    return {f.code for f in explanation.findings}


# -- prefix delegation with max pods unchanged -----------------------------------------------


def test_prefix_delegation_with_the_node_default_max_pods_recommends_the_calculator() -> None:
    explanation = explain(M5, PD, churn_minutes=0)
    # node default 3 * 9 + 2 = 29 whatever the mode; calculator min(110, 3 * 9 * 16 + 2 = 434)
    assert explanation.max_pods == 29
    found = finding(explanation, "prefix-delegation-max-pods-unchanged")
    assert found.severity == "warning"
    assert found.max_pods == 110
    assert "434" in found.suggestion and "110" in found.suggestion
    assert explanation.suggested_max_pods == 110


def test_prefix_delegation_above_30_vcpus_uses_the_250_ceiling() -> None:
    explanation = explain(instance_limits("m5.8xlarge"), PD, churn_minutes=0)
    # node default 8 * 29 + 2 = 234; calculator min(250, 8 * 29 * 16 + 2 = 3714) = 250
    assert explanation.max_pods == 234
    assert finding(explanation, "prefix-delegation-max-pods-unchanged").max_pods == 250


def test_prefix_delegation_with_custom_networking_counts_one_eni_fewer() -> None:
    config = attrs.evolve(PD, custom_networking=True)
    found = finding(explain(M5, config, churn_minutes=0), "prefix-delegation-max-pods-unchanged")
    assert found.max_pods == 110  # min(110, (3 - 1) * 9 * 16 + 2 = 290)
    assert "(3 - 1) ENIs x 9 x 16 + 2 = 290" in found.suggestion


def test_prefix_delegation_with_an_unknown_vcpu_count_gives_the_uncapped_value() -> None:
    trn = instance_limits("trn2.3xlarge")  # Nitro, 2 ENIs x 15 IPv4, vCPUs not in the catalog
    assert trn.vcpus is None
    found = finding(explain(trn, PD, churn_minutes=0), "prefix-delegation-max-pods-unchanged")
    assert found.max_pods == 2 * 14 * 16 + 2  # 450, no ceiling applied
    assert "not in the catalog" in found.suggestion


def test_no_max_pods_finding_when_kubelet_max_pods_is_set_or_prefixes_do_not_apply() -> None:
    set_explicitly = explain(M5, attrs.evolve(PD, max_pods=110), churn_minutes=0)
    assert "prefix-delegation-max-pods-unchanged" not in codes(set_explicitly)
    xen = explain(instance_limits("t2.medium"), PD, churn_minutes=0)
    assert "prefix-delegation-max-pods-unchanged" not in codes(xen)
    assert "prefix-delegation-ignored" in codes(xen)
    # c7i.32xlarge's node default 15 * 49 + 2 = 737 is above any ceiling (110 or 250).
    c7i = explain(instance_limits("c7i.32xlarge"), PD, churn_minutes=0)
    assert "prefix-delegation-max-pods-unchanged" not in codes(c7i)


def test_explicit_max_pods_above_what_the_pool_can_address_is_an_error() -> None:
    explanation = explain(M5, attrs.evolve(PD, max_pods=500), churn_minutes=0)
    found = finding(explanation, "max-pods-unreachable")
    assert found.severity == "error"
    assert "at most 432" in found.detail  # 3 ENIs x 9 prefixes x 16
    assert "--max-pods" in found.detail
    assert found.max_pods == 110
    assert explanation.has_errors


# -- custom networking, MAX_ENI, trunk: max pods named -------------------------------------


def test_custom_networking_names_the_max_pods_to_set() -> None:
    explanation = explain(M5, Config(custom_networking=True), churn_minutes=0)
    found = finding(explanation, "max-pods-unreachable")
    # The primary ENI hosts no pods: (3 - 1) * 9 = 18 addresses; calculator (3 - 1) * 9 + 2.
    assert "at most 18" in found.detail
    assert found.max_pods == 20
    assert "Set kubelet max pods to 20" in found.suggestion
    assert "--max-pods=20" in found.suggestion


def test_custom_networking_with_max_eni_names_the_calculator_value() -> None:
    found = finding(
        explain(M5, Config(custom_networking=True, max_eni=2), churn_minutes=0),
        "max-pods-unreachable",
    )
    assert found.max_pods == (2 - 1) * 9 + 2  # --cni-max-eni 2, less the primary ENI
    assert "MAX_ENI=2" in found.detail


def test_the_trunk_eni_of_security_groups_for_pods_is_a_warning_with_a_value() -> None:
    found = finding(explain(M5, Config(pod_eni=True), churn_minutes=0), "max-pods-unreachable")
    assert found.severity == "warning"  # pods with branch ENIs need no pool address
    assert "trunk ENI" in found.detail
    assert found.max_pods == 2 * 9 + 2  # two ENIs hold pool addresses, + 2 host-network pods


# -- one plan: no contradictory fixes --------------------------------------------------------

_KNOBS = ("WARM_PREFIX_TARGET", "WARM_IP_TARGET", "MINIMUM_IP_TARGET", "WARM_ENI_TARGET")
_DIRECTION = re.compile(r"\b(lower|raise|reduce|increase|decrease)\b", re.IGNORECASE)
_ASSIGN = re.compile(
    r"\b(WARM_PREFIX_TARGET|WARM_IP_TARGET|MINIMUM_IP_TARGET|WARM_ENI_TARGET)"
    r"=(\d+)"
)


def check_consistent(explanation: Explanation, config: Config) -> None:
    """No two findings suggest different values for one knob or max pods, no suggestion
    says only "lower"/"raise", and every value named in a suggestion is the plan's value
    (or the one already configured, for a knob the plan leaves alone)."""
    plan = dict(explanation.env)
    current = config.to_env()
    for f in explanation.findings:
        for name, value in f.env:
            assert plan[name] == value, (f.code, name, value, plan)
        if f.max_pods is not None:
            assert f.max_pods == explanation.suggested_max_pods
        assert not _DIRECTION.search(f.suggestion), (f.code, f.suggestion)
        for name, value in _ASSIGN.findall(f.suggestion):
            assert value == plan.get(name, current[name]) or (
                name == "WARM_PREFIX_TARGET" and value == "1" and name in plan
            ), (f.code, f.suggestion, plan)


def test_old_contradiction_minimum_ip_target_alone_on_c5_xlarge() -> None:
    # Before: "Set WARM_IP_TARGET (1 or more)" and "Lower WARM_IP_TARGET / MINIMUM_IP_TARGET"
    # for the same configuration (WARM_IP_TARGET was 0).
    config = Config(minimum_ip_target=40)
    explanation = explain(instance_limits("c5.xlarge"), config, churn_minutes=5)
    assert {"minimum-ip-target-alone", "subnet-waste"} <= codes(explanation)
    check_consistent(explanation, config)
    assert dict(explanation.env)["WARM_IP_TARGET"] == "1"


def test_a_loop_fix_and_a_waste_fix_agree_on_warm_prefix_target() -> None:
    config = Config(prefix_delegation=True, warm_prefix_target=0)
    explanation = explain(M5, config, churn_minutes=0)
    assert finding(explanation, "allocate-free-loop").env == (("WARM_PREFIX_TARGET", "1"),)
    check_consistent(explanation, config)


INSTANCES = ["t3.small", "m5.large", "t2.medium", "c5.xlarge", "m5.4xlarge"]


@st.composite
def configs(draw: st.DrawFn) -> Config:
    return Config(
        prefix_delegation=draw(st.booleans()),
        warm_prefix_target=draw(st.sampled_from([0, 1, 2, 4])),
        warm_ip_target=draw(st.sampled_from([0, 0, 1, 2, 5, 30])),
        minimum_ip_target=draw(st.sampled_from([0, 0, 3, 10, 40])),
        warm_eni_target=draw(st.sampled_from([0, 1, 2])),
        custom_networking=draw(st.booleans()),
        pod_eni=draw(st.booleans()),
        max_eni=draw(st.sampled_from([None, None, 1, 2])),
        max_pods=draw(st.sampled_from([None, None, 20, 110, 500])),
        multi_nic=draw(st.booleans()),
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(INSTANCES), config=configs())
def test_findings_never_disagree_and_the_plan_clears_the_errors(name: str, config: Config) -> None:
    limits = instance_limits(name)
    try:
        explanation = explain(limits, config, churn_minutes=0)
    except ConfigError as error:  # max pods at or below the host-network pods
        assert error.field == "host_network_pods"
        return
    check_consistent(explanation, config)
    # Applying every suggestion together leaves none of the errors the plan acts on.
    env = dict(explanation.env)
    fixed = attrs.evolve(
        config,
        **{k.lower(): int(v) for k, v in env.items() if k in _KNOBS},
        max_pods=explanation.suggested_max_pods or config.max_pods,
        multi_nic=config.multi_nic and env.get("ENABLE_MULTI_NIC") != "false",
    )
    after = explain(limits, fixed, churn_minutes=0)
    for code in ("minimum-ip-target-alone", "max-pods-unreachable"):
        found = [f for f in explanation.findings if f.code == code and f.severity == "error"]
        if found and (found[0].env or found[0].max_pods):
            assert code not in codes(after), (code, env, explanation.suggested_max_pods)
    if "minimum-ip-target-alone" in codes(explanation):
        assert "WARM_IP_TARGET" in env
    if (
        "allocate-free-loop" in codes(explanation)
        and finding(explanation, "allocate-free-loop").env
    ):
        assert "allocate-free-loop" not in codes(after)
    assert "prefix-delegation-max-pods-unchanged" not in codes(after)


@pytest.mark.parametrize(
    "name, config",
    [
        ("m5.large", Config(warm_ip_target=1)),
        ("m5.large", Config(custom_networking=True)),
        ("t3.small", Config(minimum_ip_target=3)),
        ("m5.large", Config(prefix_delegation=True, warm_prefix_target=0)),
        ("m5.large", Config(prefix_delegation=True, warm_prefix_target=2)),
        ("c5.xlarge", Config(minimum_ip_target=40)),
    ],
)
def test_with_churn_the_findings_agree_too(name: str, config: Config) -> None:
    check_consistent(explain(instance_limits(name), config, churn_minutes=10), config)


# -- rules in words ------------------------------------------------------------------------

_INTERNAL = re.compile(r"§|\bspec\b|\bQ\d+\b|\bE0\b")


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(INSTANCES), config=configs())
def test_no_finding_cites_internal_section_or_quirk_numbers(name: str, config: Config) -> None:
    try:
        explanation = explain(instance_limits(name), config, churn_minutes=0)
    except ConfigError:
        return
    for f in explanation.findings:
        for text in (f.title, f.detail, f.rule, f.suggestion):
            assert not _INTERNAL.search(text), (f.code, text)
        assert f.reference.startswith("https://")


def test_the_rule_of_minimum_ip_target_alone_is_in_words() -> None:
    found = finding(
        explain(T3, Config(minimum_ip_target=3), churn_minutes=0), "minimum-ip-target-alone"
    )
    assert "at least WARM_IP_TARGET free addresses" in found.rule
    assert "at least MINIMUM_IP_TARGET in total" in found.rule
    assert found.reference.endswith("docs/eni-and-ip-target.md")
    assert found.env == (("WARM_IP_TARGET", "1"),)


# -- library input checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"churn_minutes": -1}, "churn_minutes"),
        ({"churn_minutes": float("nan")}, "churn_minutes"),
        ({"host_network_pods": -1}, "host_network_pods"),
        ({"host_network_pods": 29}, "host_network_pods"),  # = m5.large's max pods
        ({"seed": "7"}, "seed"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as error:
        explain(M5, Config(), **kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


# -- the command ---------------------------------------------------------------------------


def test_json_is_an_object_with_the_inputs_findings_and_suggestions(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["explain", "--instance", "m5.large", "--env", "ENABLE_PREFIX_DELEGATION=true"]
    assert main([*argv, "--churn-minutes", "0", "--json"]) == 0  # warnings only
    doc = json.loads(capsys.readouterr().out)
    assert list(doc) == ["inputs", "findings", "only_when_packed", "suggested"]
    inputs = doc["inputs"]
    assert inputs["instance"] == "m5.large"
    assert inputs["env"]["ENABLE_PREFIX_DELEGATION"] == "true"
    assert inputs["settings"]["mode"] == "prefix-delegation"
    assert inputs["env"]["WARM_PREFIX_TARGET"] == "1"  # the shipped manifest's
    assert inputs["settings"]["warm_prefix_target"] == 1
    assert inputs["max_pods"] == 29
    assert inputs["max_pods_source"] == "node default"
    assert inputs["churn_minutes"] == 0
    assert inputs["host_network_pods"] == 2
    by_code = {f["code"]: f for f in doc["findings"]}
    pd = by_code["prefix-delegation-max-pods-unchanged"]
    assert list(pd) == [
        "severity",
        "code",
        "title",
        "detail",
        "rule",
        "reference",
        "suggestion",
        "env",
        "max_pods",
        "depends_on_order",
    ]
    assert pd["max_pods"] == 110
    assert doc["suggested"]["max_pods"] == 110
    for f in doc["findings"]:
        assert f["env"].items() <= doc["suggested"]["env"].items()


def test_json_keeps_the_exit_status_of_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["explain", "m5.large", "--env", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true"]
    assert main([*argv, "--churn-minutes", "0", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    unreachable = next(f for f in doc["findings"] if f["code"] == "max-pods-unreachable")
    assert unreachable["severity"] == "error"
    assert unreachable["max_pods"] == 20


def test_text_starts_with_the_settings_and_sorts_by_severity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["explain", "--instance", "m5.large", "--env", "ENABLE_PREFIX_DELEGATION=true"]
    assert main([*argv, "--env", "WARM_PREFIX_TARGET=0", "--churn-minutes", "0"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("settings from the shipped aws-k8s-cni.yaml")
    assert lines[1] == "  instance: m5.large; mode: prefix delegation (/28 prefixes)"
    assert "WARM_PREFIX_TARGET=0" in lines[2]
    assert lines[4].startswith("  max pods: 29 (the EKS default for m5.large), of which 2")
    heads = [line for line in lines if line.startswith("[")]
    assert heads[0].startswith("[error] allocate-free-loop")
    severities = [h[1 : h.index("]")] for h in heads]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert lines[-1] == ("suggested changes, together: WARM_PREFIX_TARGET=1, kubelet max pods 110")


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1441"])
def test_bad_churn_minutes_exit_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "m5.large", "--churn-minutes", value]) == 2
    assert "--churn-minutes" in capsys.readouterr().err


def test_help_documents_every_flag_the_exit_status_and_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["explain", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "exit status: 0 no error found (warnings alone exit 0), 1" in text
    assert "2 usage error" in text
    assert "vpccni-model explain --instance m5.large" in text
    assert "(default: 30)" in text  # --churn-minutes
    assert "(default: 0)" in text  # --seed


def test_a_churn_finding_says_when_it_depends_on_the_placement_order() -> None:
    # m5.large, WARM_IP_TARGET=3: under Go's randomised map order some pods wait for an
    # address in the simulated churn; the finding says packed placement does not show it.
    config = Config(warm_ip_target=3)
    explanation = explain(M5, config, churn_minutes=30)
    wait = finding(explanation, "pods-wait-for-ips")
    assert wait.depends_on_order
    assert not finding(explanation, "ec2-call-churn").depends_on_order  # both orders show it
    # Checked directly: the same churn (13 pods, 6 changes a minute, 10 min warm-up + 30 min,
    # seed 0) with packed placement has no pod waiting longer than one 5 s pool check.
    spec = SimulationSpec(
        nodes=(NodeSpec("node-0", M5, attrs.evolve(config, max_pods=29)),),
        workload=PoissonChurn(pods_per_node=13, changes_per_node_per_minute=6.0),
        duration=600 + 30 * 60,
        seed=0,
        per_node_series=False,
        iteration="ordered",
    )
    assert max(simulate(spec).waits_after(600), default=0.0) <= 5.0


def test_order_dependence_is_only_claimed_for_churn_findings() -> None:
    for config in (Config(), Config(warm_ip_target=1), Config(minimum_ip_target=3)):
        explanation = explain(M5, config, churn_minutes=10)
        for f in explanation.findings:
            if f.depends_on_order:
                assert f.code in {"pods-wait-for-ips", "ec2-call-churn"}
        assert not set(explanation.only_when_packed) & codes(explanation)
    quiet = explain(M5, Config(warm_ip_target=3), churn_minutes=0)
    assert not any(f.depends_on_order for f in quiet.findings)
    assert quiet.only_when_packed == ()
