"""``vpccni-model max-pods`` and ``limits``, driven in-process; expected values by hand."""

from __future__ import annotations

import json

import pytest

from vpccni_model.cli import main

Capsys = pytest.CaptureFixture[str]


def run(capsys: Capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_max_pods_labels_every_figure(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "max-pods", "m5.large", "--cni-prefix-delegation-enabled")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "max pods: 110 (the EKS max-pods calculator's recommendation)"
    rows = {line.split("  ")[1].strip(): line for line in lines[2:7]}
    assert rows.keys() == {
        "node default (eni-max-pods.txt)",
        "calculator recommendation",
        "calculator max allowed",
        "ipamd addressable pod IPs",
        "branch ENIs (security groups for pods)",
    }
    # 29 = 3 x 9 + 2; 434 = 3 x 9 x 16 + 2, capped at 110 (2 vCPUs); ipamd 3 x 144 = 432.
    assert "  29  eni-max-pods.txt lists 29" in rows["node default (eni-max-pods.txt)"]
    assert " 110  min(110, 434) = 110" in rows["calculator recommendation"]
    assert " 434  3 ENIs x (10 - 1) prefixes x 16 + 2 = 434" in rows["calculator max allowed"]
    assert (
        " 432  card 0: 3 ENIs x (10 - 1) prefixes x 16 = 432" in rows["ipamd addressable pod IPs"]
    )
    assert rows["branch ENIs (security groups for pods)"].endswith("  9")
    assert "notes:" in lines and "ignores prefix delegation" in out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["m5.large"], "29"),
        (["--instance-type", "m5.large", "--cni-prefix-delegation-enabled"], "110"),
        (["--instance", "m5.large", "--prefix-delegation", "--vcpus", "2"], "110"),
        # Regression: --prefix-delegation without --vcpus printed the uncapped 434.
        (["m5.large", "--prefix-delegation"], "110"),
        (["m5.large", "--prefix-delegation", "--show-max-allowed"], "434"),
        (["m5.large", "--prefix-delegation", "--cni-version", "1.8.0"], "29"),
        (["m5.large", "--cni-custom-networking-enabled"], "20"),  # (3 - 1) x 9 + 2
        (["m5.large", "--custom-networking", "--cni-max-eni", "2"], "11"),
        (["m5.large", "--max-eni", "1", "--custom-networking"], "2"),
        (["m5.large", "--cni-max-eni", "9"], "29"),
        # Regression: bare metal printed ipamd's 11762; the calculator counts no prefixes
        # there (no 'nitro' hypervisor): 15 x 49 + 2 = 737, capped at 250 for 96 vCPUs.
        (["c5.metal", "--prefix-delegation"], "250"),
        (["c5.metal", "--prefix-delegation", "--show-max-allowed"], "737"),
        (["t2.micro", "--prefix-delegation"], "4"),  # xen: 2 x 1 + 2
        (["mac1.metal", "--show-max-allowed"], "234"),  # 8 x 29 + 2
        (["mac1.metal", "--vcpus", "12"], "110"),
    ],
)
def test_max_pods_value_is_the_script_output(
    capsys: Capsys, argv: list[str], expected: str
) -> None:
    for flag in ("--value", "-q", "--quiet"):
        assert run(capsys, "max-pods", *argv, flag) == (0, f"{expected}\n", "")


def test_max_pods_unknown_vcpus(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "max-pods", "mac1.metal")
    assert code == 0
    assert out.startswith("max pods: unknown; the vCPU count of mac1.metal is not in the catalog")
    headline = " ".join(line.strip() for line in out.splitlines()[:2])
    assert "pass --vcpus N, or --show-max-allowed for the uncapped 234" in headline
    assert "node default (eni-max-pods.txt)" in out and "ipamd addressable pod IPs" in out
    code, out, err = run(capsys, "max-pods", "mac1.metal", "--value")
    assert (code, out) == (2, "")
    assert "vCPU count of mac1.metal is not in the catalog" in err and "--vcpus" in err


def test_max_pods_json(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "max-pods", "m5.large", "--prefix-delegation", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["inputs"] == {
        "instance": "m5.large",
        "cni_version": "1.23.1",
        "prefix_delegation": True,
        "custom_networking": False,
        "max_eni": None,
        "pod_eni": False,
        "ipv6": False,
        "show_max_allowed": False,
    }
    assert data["max_pods"] == 110
    assert (data["node_default"], data["node_default_source"]) == (29, "eni-max-pods.txt")
    assert (data["calculator_recommended"], data["calculator_max_allowed"]) == (110, 434)
    assert data["ipamd_pod_addresses"] == 432 and data["branch_enis"] == 9
    assert data["ipamd_cards"] == [
        {
            "network_card": 0,
            "enis": 3,
            "primary_skipped": 0,
            "trunk_slot": 0,
            "per_eni": 144,
            "prefix_delegation": True,
            "pod_enis": 3,
            "pod_addresses": 432,
        }
    ]
    assert data["formulas"]["calculator_max_allowed"] == "3 ENIs x (10 - 1) prefixes x 16 + 2 = 434"
    assert len(data["notes"]) == 1
    code, out, _ = run(capsys, "max-pods", "mac1.metal", "--json", "--show-max-allowed")
    data = json.loads(out)
    assert (data["max_pods"], data["calculator_recommended"]) == (234, None)
    assert "vCPU" in data["calculator_unavailable"]


def test_max_pods_with_security_groups_for_pods(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "max-pods", "m5.xlarge", "--enable-pod-eni")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].endswith("; security groups for pods")
    rows = {line.split("  ")[1].strip(): line for line in lines[2:8]}
    # m5.xlarge: 4 ENIs x 15 IPv4; the trunk takes one: (4 - 1) x 14 = 42 pool IPs; branch
    # ENIs 18 (instance_specs.csv); 42 + 18 = 60. Node default and calculator: 4 x 14 + 2.
    pool_row = rows["ipamd addressable pod IPs"]
    assert " 42  card 0: (4 - 1 trunk) ENIs x (15 - 1) IPv4 = 42" in pool_row
    assert rows["branch ENIs (security groups for pods)"].endswith("  18")
    assert " 60  42 pool IPs + 18 branch ENIs = 60" in rows["pool IPs + branch ENIs"]
    assert " 58  min(110, 58) = 58" in rows["calculator recommendation"]
    assert "14 of the 56 pods" in " ".join(out.split())
    # The calculator has no pod-ENI flag: its value does not move.
    assert run(capsys, "max-pods", "m5.xlarge", "--pod-eni", "--value") == (0, "58\n", "")
    code, out, _ = run(capsys, "max-pods", "m5.large", "--pod-eni", "--json")
    data = json.loads(out)
    assert data["inputs"]["pod_eni"] is True
    # m5.large: (3 - 1) x 9 = 18 pool IPs, 9 branch ENIs, 27 together.
    assert (data["ipamd_pod_addresses"], data["branch_eni_pods"], data["addressable_pods"]) == (
        18,
        9,
        27,
    )
    assert data["ipamd_cards"][0]["trunk_slot"] == 1
    assert data["formulas"]["addressable_pods"].startswith("18 pool IPs + 9 branch ENIs = 27")


def test_max_pods_without_pod_eni_prints_no_branch_sum(capsys: Capsys) -> None:
    _, out, _ = run(capsys, "max-pods", "m5.large")
    assert "pool IPs + branch ENIs" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["m5.large", "--cni-version", "abc"], "--cni-version 'abc'"),
        (["m5.large", "--cni-version", "1"], "--cni-version '1'"),
        (["m5.large", "--cni-max-eni", "0"], "--cni-max-eni must be 1 or more, got 0"),
        (["m5.large", "--max-eni", "-1", "--custom-networking"], "--cni-max-eni must be 1"),
        (["m5.large", "--vcpus", "0"], "--vcpus must be 1 or more, got 0"),
        (["m5.larg"], "did you mean m5.large"),
        (["m5.large", "--instance-type", "c5.large"], "two instance types given"),
        ([], "an instance type is required"),
    ],
)
def test_max_pods_usage_errors(capsys: Capsys, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, "max-pods", *argv)
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err


def test_max_pods_value_and_json_exclude_each_other(capsys: Capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["max-pods", "m5.large", "--value", "--json"])
    assert info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_max_pods_help_names_the_default_cni_version(capsys: Capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["max-pods", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--cni-version",
        "--cni-prefix-delegation-enabled",
        "--cni-custom-networking-enabled",
        "--cni-max-eni",
        "--show-max-allowed",
        "--instance-type",
        "--value",
        "--json",
    ):
        assert flag in text
    assert "(default: 1.23.1)" in text


def test_limits_text(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "limits", "m5.large")
    assert code == 0
    rows = {line[:42].strip(): line[42:].strip() for line in out.splitlines()[1:13]}
    assert rows["ENIs (default card)"] == "3 (card 0)"
    assert rows["IPv4 per ENI"].startswith("10 ")
    assert rows["pod addresses per ENI"].startswith("9 secondary IPs; 144 with prefix delegation")
    hypervisors = (rows["hypervisor (ipamd's table)"], rows["hypervisor (DescribeInstanceTypes)"])
    assert hypervisors == ("nitro", "nitro")
    assert (rows["vCPUs"], rows["memory"], rows["architecture"]) == ("2", "8192 MiB", "amd64")
    assert rows["branch ENIs (security groups for pods)"] == "9"
    assert "calculator max allowed:    (3 - 1) ENIs x (10 - 1) IPv4 + 2 = 20" in out


def test_limits_json(capsys: Capsys) -> None:
    code, out, _ = run(capsys, "limits", "--instance", "p4d.24xlarge", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["network_cards"] == [{"index": i, "max_interfaces": 15} for i in range(4)]
    assert (data["max_enis"], data["ipv4_per_eni"], data["vcpus"]) == (15, 50, 96)
    assert data["pod_addresses_per_eni"] == {"secondary_ips": 49, "prefix_delegation": 784}
    assert data["prefix_delegation_supported"] and data["calculator_counts_prefixes"]
    modes = data["max_pods"]
    assert modes["secondary_ips"]["calculator_max_allowed"] == 15 * 49 + 2
    assert modes["prefix_delegation"]["calculator_recommended"] == 250
    assert modes["custom_networking"]["ipamd_pod_addresses"] == 14 * 49
    code, out, _ = run(capsys, "limits", "c5.metal", "--json")
    data = json.loads(out)
    assert data["bare_metal"] and data["prefix_delegation_supported"]
    assert not data["calculator_counts_prefixes"] and data["described_hypervisor"] == ""


def test_limits_unknown_type(capsys: Capsys) -> None:
    code, _, err = run(capsys, "limits", "m5.larg")
    assert code == 2 and "did you mean m5.large" in err
