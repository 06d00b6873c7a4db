"""The command line, driven in-process."""

from __future__ import annotations

import json

import pytest

from vpccni_model.cli import main


def test_max_pods_prints_the_eks_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["max-pods", "m5.large"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "max pods: 29 (the EKS max-pods calculator's recommendation)"  # 3 * 9 + 2
    assert main(["max-pods", "m5.large", "--prefix-delegation", "--vcpus", "2"]) == 0
    out = capsys.readouterr().out
    # 3 * (10 - 1) * 16 + 2 = 434, capped at 110 for 2 vCPUs; the node default stays 29.
    assert out.splitlines()[0] == "max pods: 110 (the EKS max-pods calculator's recommendation)"
    assert "3 ENIs x (10 - 1) prefixes x 16 + 2 = 434" in out
    assert main(["max-pods", "m5.large", "--prefix-delegation", "--value"]) == 0
    assert capsys.readouterr().out == "110\n"


def test_steady_state_table_matches_the_docs_row(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["steady-state", "t3.small", "--pods", "0,5", "--env", "WARM_IP_TARGET=2"]
    assert main([*argv, "--env", "MINIMUM_IP_TARGET=5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "WARM_IP_TARGET=2 MINIMUM_IP_TARGET=5" in lines[2]
    assert lines[4] == (
        "  max pods: 11 (the EKS default for t3.small), of which 2 host-network pods take no "
        "pod IP: at most 9 pod IPs"
    )
    table = lines.index(next(line for line in lines if line.lstrip().startswith("pods ")))
    # docs/eni-and-ip-target.md: 0 pods -> 2 ENIs, 5 IPs; 5 pods -> 3 ENIs, 7 IPs, 2 unused.
    # Subnet addresses add each ENI's primary: 2 + 5 = 7 and 3 + 7 = 10.
    assert lines[table + 2].split() == ["0", "0", "0", "2", "3,2", "0", "5", "5", "7", "True"]
    assert lines[table + 3].split() == ["5", "5", "0", "3", "3,3,1", "0", "7", "2", "10", "True"]


def test_steady_state_json_and_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steady-state", "t3.small", "--pods", "0-2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["pods"] for row in data["rows"]] == [0, 1, 2]
    # The manifest layer applies: WARM_PREFIX_TARGET=1 and E=1.
    assert data["config"]["warm_prefix_target"] == 1
    assert [row["total_ips"] for row in data["rows"]] == [3, 6, 6]


def test_unknown_instance_type_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steady-state", "m5.larg"]) == 2
    err = capsys.readouterr().err
    assert "unknown instance type 'm5.larg'" in err and "m5.large" in err


def test_garbage_env_values_follow_ipamd_and_bad_syntax_is_rejected(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "two" does not parse as an int, so WARM_IP_TARGET falls back to 0, as ipamd does.
    assert main(["steady-state", "t3.small", "--env", "WARM_IP_TARGET=two", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"]["warm_ip_target"] == 0
    assert main(["steady-state", "t3.small", "--env", "NOEQUALS"]) == 2
    assert "--env expects NAME=VALUE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["steady-state", "t3.small", "--pods", "five"])
