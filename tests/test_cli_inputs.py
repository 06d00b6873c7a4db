"""The command line's shared inputs: ``--manifest``, ``--env`` on top, the env lint's warnings on
stderr, ``--strict``, and the effective settings every command echoes. Driven in-process."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import pytest

from vpccni_model.cli import main
from vpccni_model.cli._common import (
    Inputs,
    add_inputs,
    add_instance,
    resolve_inputs,
    settings_json,
    settings_lines,
)

DATA = Path(__file__).parent / "data"
CHEAP = ["steady-state", "--instance", "t3.small", "--pods", "0"]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*CHEAP, *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def inputs_of(*argv: str) -> Inputs:
    parser = argparse.ArgumentParser()
    add_instance(parser)
    add_inputs(parser)
    return resolve_inputs(parser.parse_args(list(argv)))


SILENT_BEFORE = [
    (
        "WARM_IP_TAGRET=5",
        "WARM_IP_TAGRET is not a variable aws-node v1.23.1 reads "
        "(did you mean WARM_IP_TARGET?); ignored",
    ),
    (
        "WARM_IP_TARGET=abc",
        "WARM_IP_TARGET=abc is not an integer (Go strconv.Atoi); ipamd ignores it and uses "
        "0 (no warm IP target)",
    ),
    (
        "WARM_IP_TARGET=-3",
        "WARM_IP_TARGET=-3 is negative; ipamd ignores it and uses 0 (no warm IP target)",
    ),
    (
        "WARM_IP_TARGET= 5",
        'WARM_IP_TARGET=" 5" has spaces around the number, which Go\'s strconv.Atoi rejects; '
        "ipamd ignores it and uses 0 (no warm IP target)",
    ),
    (
        "ENABLE_PREFIX_DELEGATION=yes",
        "ENABLE_PREFIX_DELEGATION=yes is not a Go boolean (true/false, 1/0, t/f, TRUE/FALSE, "
        "True/False); ipamd ignores it and uses false",
    ),
    (
        "warm_ip_target=5",
        "warm_ip_target is not a variable aws-node v1.23.1 reads "
        "(names are case-sensitive: did you mean WARM_IP_TARGET?); ignored",
    ),
]


@pytest.mark.parametrize(("pair", "line"), SILENT_BEFORE)
def test_values_that_passed_silently_now_warn(
    capsys: pytest.CaptureFixture[str], pair: str, line: str
) -> None:
    code, out, err = run(capsys, f"--env={pair}")
    assert code == 0
    assert err == f"vpccni-model: warning: {line}\n"
    # ipamd's parsing is kept: the default is what runs (t3.small at 0 pods: 1 ENI, 3 IPs).
    assert "WARM_IP_TARGET=0" in out


@pytest.mark.parametrize(("pair", "line"), SILENT_BEFORE)
def test_strict_turns_each_into_exit_2(
    capsys: pytest.CaptureFixture[str], pair: str, line: str
) -> None:
    code, out, err = run(capsys, "--strict", f"--env={pair}")
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        f"vpccni-model: warning: {line}",
        "vpccni-model steady-state: error: --strict: 1 warning(s) about the aws-node "
        "environment (above)",
    ]


def test_clean_inputs_print_nothing_on_stderr_even_with_strict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run(capsys, "--strict", "--env", "WARM_IP_TARGET=2")[::2] == (0, "")
    # Known but not modelled: info only, never printed.
    assert run(capsys, "--strict", "--env", "AWS_VPC_ENI_MTU=1500")[::2] == (0, "")


def test_a_config_ipamd_refuses_is_exit_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--env", "ENABLE_IPv4=false")
    assert (code, out) == (2, "")
    assert err.startswith("vpccni-model steady-state: error: ENABLE_IPv4=false: IPv4 and IPv6")
    assert "Traceback" not in err
    code, _, err = run(capsys, "--env", "NETWORK_POLICY_ENFORCING_MODE=audit")
    assert code == 2
    assert "NETWORK_POLICY_ENFORCING_MODE=audit: invalid network policy mode" in err


def test_prefix_delegation_on_a_xen_type_warns(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["steady-state", "--instance", "t2.medium", "--env", "ENABLE_PREFIX_DELEGATION=true"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err.startswith("vpccni-model: warning: t2.medium cannot take /28 prefixes")
    assert main([*argv, "--strict"]) == 2


def test_the_shipped_manifest_file_runs_like_the_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--manifest", str(DATA / "aws-k8s-cni.yaml"), "--json")
    assert (code, err) == (0, "")  # MY_NODE_NAME/MY_POD_NAME valueFrom: info, not printed
    default = json.loads(run(capsys, "--json")[1])
    read = json.loads(out)
    # The settings ipamd runs with are the same; the source, the variables ipamd does not read
    # (ADDITIONAL_ENI_TAGS, MY_NODE_NAME, ...) and their info findings differ.
    for data in (read, default):
        for key in ("env", "findings"):
            data["settings"].pop(key)
    assert (
        read["settings"]
        .pop("source")
        .endswith("aws-k8s-cni.yaml (DaemonSet aws-node, container aws-node)")
    )
    assert default["settings"].pop("source") == "the shipped aws-k8s-cni.yaml (v1.23.1)"
    assert read == default


def test_kubectl_get_manifest_with_a_value_from(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = str(DATA / "aws-node-kubectl-get.yaml")
    code, out, err = run(capsys, "--manifest", manifest, "--json")
    assert code == 0
    config = json.loads(out)["config"]
    assert (config["prefix_delegation"], config["warm_ip_target"]) == (True, 5)
    assert config["minimum_ip_target"] == 0  # not evaluated: the code default
    assert err == (
        "vpccni-model: warning: MINIMUM_IP_TARGET comes from configmap aws-node-tuning, key "
        "minimum-ip-target, which this tool cannot read; the model uses 0 (no minimum IP "
        "target) (pass --env MINIMUM_IP_TARGET=VALUE to give the real value)\n"
    )
    assert run(capsys, "--manifest", manifest, "--strict")[0] == 2
    # --env supplies the value: nothing left unevaluated, and it is used.
    code, out, err = run(capsys, "--manifest", manifest, "--env", "MINIMUM_IP_TARGET=10", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["config"]["minimum_ip_target"] == 10


def test_env_overrides_the_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    manifest = str(DATA / "aws-node-set-env-list.txt")
    out = run(capsys, "--manifest", manifest, "--json")[1]
    config = json.loads(out)["config"]
    assert (config["warm_ip_target"], config["minimum_ip_target"]) == (2, 12)
    out = run(capsys, "--manifest", manifest, "--env", "WARM_IP_TARGET=7", "--json")[1]
    assert json.loads(out)["config"]["warm_ip_target"] == 7
    assert json.loads(out)["config"]["minimum_ip_target"] == 12


def test_manifest_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "ENABLE_IPv4=true\nWARM_IP_TARGET=4\nWARM_IP_TAGRET=1\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    code, out, err = run(capsys, "--manifest", "-", "--json")
    assert code == 0
    assert "did you mean WARM_IP_TARGET?" in err
    assert json.loads(out)["config"]["warm_ip_target"] == 4


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        (b"\x00\x01\x02", "is a binary file"),
        ("kind: DaemonSet\n  bad: [\n", "YAML syntax error at line 2"),
        ("kind: Deployment\nmetadata: {name: x}\n", "has no DaemonSet named aws-node"),
    ],
)
def test_manifest_errors_exit_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: bytes | str | None, reason: str
) -> None:
    path = tmp_path / "aws-node.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    code, out, err = run(capsys, "--manifest", str(path))
    assert (code, out) == (2, "")
    assert err.startswith(f"vpccni-model steady-state: error: --manifest {path}: {reason}")


def test_a_manifest_duplicate_warns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "tuning.env"
    path.write_text("ENABLE_IPv4=true\nWARM_IP_TARGET=1\nWARM_IP_TARGET=3\n")
    code, out, err = run(capsys, "--manifest", str(path), "--json")
    assert code == 0
    assert err == (
        "vpccni-model: warning: WARM_IP_TARGET is set 2 times (WARM_IP_TARGET=1; "
        "WARM_IP_TARGET=3); Kubernetes keeps the last, WARM_IP_TARGET=3\n"
    )
    assert json.loads(out)["config"]["warm_ip_target"] == 3


def test_an_env_file_replaces_the_shipped_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Without ENABLE_IPv4=true the environment is what ipamd sees: code default false, exit.
    path = tmp_path / "tuning.env"
    path.write_text("WARM_IP_TARGET=3\n")
    code, _, err = run(capsys, "--manifest", str(path))
    assert code == 2
    assert "IPv4 and IPv6 are both disabled" in err
    assert err.rstrip().endswith(
        "(the --manifest input replaces the shipped values, so it must set ENABLE_IPv4=true "
        "as they do; or give only overrides with --env)"
    )
    path.write_text("NETWORK_POLICY_ENFORCING_MODE=audit\n")
    code, _, err = run(capsys, "--manifest", str(path))
    assert code == 2
    assert "invalid network policy mode" in err and "replaces the shipped" not in err


def test_inputs_record_source_and_findings() -> None:
    plain = inputs_of("--instance", "m5.large")
    assert (plain.source, plain.findings) == ("the shipped aws-k8s-cni.yaml (v1.23.1)", ())
    manifest = str(DATA / "aws-node-set-env-list.txt")
    got = inputs_of("--instance", "m5.large", "--manifest", manifest, "--env", "MAX_ENI=3")
    assert got.source == (
        f"{manifest} (kubectl set env --list, container aws-node), with --env MAX_ENI"
    )
    assert got.env["MAX_ENI"] == "3"
    # Every severity is kept: the not-modelled variables and the two field-path references.
    codes = {(f.code, f.severity) for f in got.findings}
    assert codes == {("not-modelled", "info"), ("not-evaluated", "info")}


def test_settings_lines_for_the_default_node() -> None:
    assert settings_lines(inputs_of("--instance", "m5.large")) == [
        "settings from the shipped aws-k8s-cni.yaml (v1.23.1)",
        "  instance: m5.large; mode: secondary IPs",
        "  WARM_ENI_TARGET=1 WARM_IP_TARGET=0 MINIMUM_IP_TARGET=0 WARM_PREFIX_TARGET=1",
        "  ENIs: at most 3 (the instance limit); custom networking: off; "
        "pod ENI (security groups for pods): off",
        # 3 * (10 - 1) + 2 = 29; aws-node and kube-proxy take no pod IP: 27.
        "  max pods: 29 (the EKS default for m5.large), of which 2 host-network pods take no "
        "pod IP: at most 27 pod IPs",
    ]


def test_settings_lines_name_what_changed() -> None:
    got = inputs_of(
        "--instance", "t2.medium", "--env", "ENABLE_PREFIX_DELEGATION=true", "--env",
        "MAX_ENI=2", "--max-pods", "17", "--host-network-pods", "3",
    )  # fmt: skip
    lines = settings_lines(got)
    assert lines[1] == (
        "  instance: t2.medium; mode: secondary IPs (prefix delegation asked for, but "
        "t2.medium cannot take prefixes)"
    )
    assert lines[3].startswith("  ENIs: at most 2 (MAX_ENI=2; instance limit 3);")
    assert lines[4] == (
        "  max pods: 17 (--max-pods), of which 3 host-network pods take no pod IP: "
        "at most 14 pod IPs"
    )


def test_settings_json() -> None:
    got = settings_json(inputs_of("--instance", "m5.large", "--env", "ENABLE_PREFIX_DELEGATION=1"))
    assert {k: v for k, v in got.items() if k not in ("env", "findings")} == {
        "source": "the shipped aws-k8s-cni.yaml (v1.23.1), with --env ENABLE_PREFIX_DELEGATION",
        "instance_type": "m5.large",
        "mode": "prefix-delegation",
        "prefix_delegation_requested": True,
        "warm_eni_target": 1,
        "warm_ip_target": 0,
        "minimum_ip_target": 0,
        "warm_prefix_target": 1,
        "max_eni": 3,
        "max_eni_configured": None,
        "custom_networking": False,
        "pod_eni": False,
        # Kubelet's default stays the secondary-IP value, 3 * (10 - 1) + 2, in prefix mode.
        "max_pods": 29,
        "max_pods_from": "eks-default",
        "host_network_pods": 2,
    }
    assert got["env"]["ENABLE_PREFIX_DELEGATION"] == "1"
    assert got["findings"] == []
    json.dumps(got)  # serialisable as it stands


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-pods", "0"], "--max-pods must be 1 or more, got 0"),
        (["--max-pods", "-4"], "--max-pods must be 1 or more, got -4"),
        (["--host-network-pods", "30"], "--host-network-pods 30 is more than max pods 29"),
        (["--max-pods", "10", "--host-network-pods", "11"], "is more than max pods 10"),
    ],
)
def test_max_pods_and_host_network_pods_out_of_range_are_usage_errors(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["steady-state", "--instance", "m5.large", *flags]) == 2
    assert message in capsys.readouterr().err
