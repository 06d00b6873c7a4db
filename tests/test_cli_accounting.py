"""``simulate`` and ``steady-state`` on the command line (issue 11): host-network pods, subnet
addresses, failure reasons, self-describing files, errors without tracebacks, ``--help``.

Hand-derived numbers: m5.large 3 ENIs x 9 secondaries, EKS max pods 29 (27 pods with an IP
+ 2 host-network); a /28 has 16 - 5 = 11 usable addresses.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from vpccni_model._events import Ec2Error
from vpccni_model.cli import main
from vpccni_model.cloud import EC2_APIS


def summary_lines(out: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) == 2:
            values[parts[0]] = parts[1]
    return values


def steady_rows(out: str) -> list[dict[str, str]]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("pods "))
    headers = lines[start].split()
    rows = []
    for line in lines[start + 2 :]:
        cells = line.split()
        if len(cells) != len(headers) or not cells[0].isdigit():
            break
        rows.append(dict(zip(headers, cells, strict=True)))
    return rows


# -- steady-state -----------------------------------------------------------------------------


def test_steady_state_pd_on_m6i_large_places_27_of_50(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["steady-state", "--instance", "m6i.large", "--pods", "50"]
    assert main([*argv, "--env", "ENABLE_PREFIX_DELEGATION=true"]) == 0
    out = capsys.readouterr().out
    assert "max pods: 29 (the EKS default for m6i.large), of which 2 host-network pods" in out
    assert "at most 27 pod IPs" in out
    (row,) = steady_rows(out)
    # The old code placed 32 (two /28 prefixes) with max pods 29.
    assert (row["pods_placed"], row["pods_unschedulable"]) == ("27", "23")
    # 1 ENI with 2 prefixes: 1 primary + 32 = 33 subnet addresses; the pool counts 32.
    assert (row["total_ips"], row["subnet_addresses"]) == ("32", "33")


def test_steady_state_max_pods_10_places_8(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steady-state", "--instance", "m5.large", "--max-pods", "10", "--pods", "20"]) == 0
    (row,) = steady_rows(capsys.readouterr().out)
    assert (row["pods_placed"], row["pods_unschedulable"]) == ("8", "12")  # old code: 18


def test_steady_state_zero_pods_on_m5_large_takes_10_subnet_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["steady-state", "--instance", "m5.large", "--pods", "0", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (row,) = data["rows"]
    # 1 ENI: its primary + 9 secondaries from the subnet; ipamd's TotalIPs is the 9.
    assert (row["total_ips"], row["subnet_addresses"], row["pods_unschedulable"]) == (9, 10, 0)
    assert (data["max_pods"], data["host_network_pods"]) == (29, 2)


def test_steady_state_host_network_pods_flag(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["steady-state", "--instance", "m5.large", "--max-pods", "10", "--pods", "20"]
    assert main([*argv, "--host-network-pods", "0"]) == 0
    (row,) = steady_rows(capsys.readouterr().out)
    assert (row["pods_placed"], row["pods_unschedulable"]) == ("10", "10")


def test_steady_state_reversed_range_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["steady-state", "--instance", "m5.large", "--pods", "5-0"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "runs backwards" in err and "0-5" in err


# -- simulate: pods and subnets -----------------------------------------------------------------


def test_simulate_40_constant_pods_on_one_m5_large(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--instance", "m5.large", "--workload", "constant", "--quiet"]
    assert main([*argv, "--pods-per-node", "40", "--hours", "0.25"]) == 0
    out = capsys.readouterr().out
    shown = summary_lines(out)
    # Old: 27 started, 2 failed, 11 unschedulable. Kubelet admits 29 - 2 = 27.
    assert (shown["pods_started"], shown["pods_failed"], shown["pods_unschedulable"]) == (
        "27",
        "0",
        "13",
    )
    assert shown["pods_pending_at_end"] == "13"
    assert "13 pods were unschedulable on arrival" in out


def test_simulate_a_full_subnet_says_why_pods_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--instance", "m5.large", "--subnet", "10.0.0.0/28", "--nodes", "2"]
    argv += ["--workload", "constant", "--pods-per-node", "10", "--hours", "0.25", "--quiet"]
    assert main([*argv, "--out", str(tmp_path), "--no-plots"]) == 0
    out = capsys.readouterr().out
    shown = summary_lines(out)
    # 11 usable: 2 primaries + node-000's 9 secondaries. 9 pods start; node-000's 10th and
    # node-001's 10 give up (600 s) after InsufficientFreeAddressesInSubnet.
    assert (shown["pods_started"], shown["pods_failed"]) == ("9", "11")
    assert (shown["pods_failed_subnet_full"], shown["pods_failed_timeout"]) == ("11", "0")
    assert shown["subnet_free_addresses_min"] == "0"
    assert shown["time_to_ip_p50_s"] == "never"  # rank 10 of 20 is a pod that gave up
    assert "11 pods gave up because the subnet ran out of addresses" in out
    assert "10.0.0.0/28 has 11 usable" in out
    with (tmp_path / "calls.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    codes = {r["error_code"] for r in rows if r["result"] == "failed"}
    assert codes == {Ec2Error.INSUFFICIENT_FREE_ADDRESSES}


def test_summary_json_names_the_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--instance", "t3.small", "--nodes", "2", "--hours", "0.1", "--quiet"]
    argv += ["--env", "WARM_IP_TARGET=2", "--seed", "7", "--host-network-pods", "3"]
    assert main([*argv, "--out", str(tmp_path), "--no-plots"]) == 0
    capsys.readouterr()
    inputs = json.loads((tmp_path / "summary.json").read_text())["inputs"]
    assert (inputs["instance_type"], inputs["nodes"], inputs["seed"]) == ("t3.small", 2, 7)
    assert inputs["env"]["WARM_IP_TARGET"] == "2"
    assert inputs["env"]["ENABLE_IPv4"] == "true"  # the manifest layer underneath
    assert (inputs["max_pods"], inputs["host_network_pods"]) == (11, 3)
    assert inputs["node_groups"][0]["pod_ips_per_node_max"] == 8
    assert inputs["workload"] == {
        "type": "PoissonChurn",
        "pods_per_node": 10,
        "changes_per_node_per_minute": 1.0,
        "mean_lifetime": None,
    }
    assert (inputs["workload_name"], inputs["subnet"], inputs["hours"]) == (
        "churn",
        "10.0.0.0/16",
        0.1,
    )
    assert inputs["vpccni_model_version"]


def test_above_200_nodes_nodes_csv_is_skipped_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--instance", "t3.small", "--nodes", "3", "--hours", "0.02", "--quiet"]
    assert main([*argv, "--out", str(tmp_path), "--no-plots", "--no-per-node-series"]) == 0
    captured = capsys.readouterr()
    assert not (tmp_path / "nodes.csv").exists()
    assert "nodes.csv not written" in captured.err and "--per-node-series" in captured.err
    assert "nodes.csv" not in captured.out.splitlines()[-1]  # the "wrote ..." line


# -- simulate: errors without tracebacks ---------------------------------------------------------

SIM = ["simulate", "--instance", "t3.small", "--hours", "0.02", "--quiet"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nodes", "0"], "--nodes must be >= 1, got 0"),
        (["--hours", "-1"], "--hours must be a number > 0, got -1"),
        (["--hours", "nan"], "--hours must be a number > 0"),
        (["--pods-per-node", "-3"], "--pods-per-node must be >= 0, got -3"),
        (["--changes-per-minute", "0"], "--changes-per-minute must be a number > 0"),
        (["--subnet", "10.0.0.0/33"], "--subnet '10.0.0.0/33'"),
    ],
)
def test_bad_numbers_name_their_flag(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*SIM, *args]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""


def test_trace_files_that_cannot_be_read_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    binary = tmp_path / "trace.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe" * 10)
    text = tmp_path / "notes.txt"
    text.write_text("hello world\n")
    cases = [
        (tmp_path / "missing.csv", "No such file"),
        (tmp_path, "Is a directory"),
        (binary, "not a UTF-8 text file"),
        (text, "missing columns"),
    ]
    for path, reason in cases:
        assert main([*SIM, "--trace", str(path)]) == 2, path
        err = capsys.readouterr().err
        assert f"--trace {str(path)!r}" in err and reason in err, err


def test_an_unwritable_out_fails_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert main([*SIM, "--out", str(a_file)]) == 2
    captured = capsys.readouterr()
    assert "is a file, not a directory" in captured.err
    assert captured.out == ""  # nothing ran: no summary was printed
    assert main([*SIM, "--out", str(a_file / "sub")]) == 2
    captured = capsys.readouterr()
    assert "cannot write there" in captured.err and captured.out == ""


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("NoSuchApi:Code", "API 'NoSuchApi' must be '*' or one of"),
        ("AssignPrivateIpAddresses:", "CODE '' must be a non-empty EC2 error code"),
        ("AssignPrivateIpAddresses:Code:2", "RATE 2.0 must be"),
        ("AssignPrivateIpAddresses:Code:1:100:50", "END 50.0 must be a number >= start"),
    ],
)
def test_fault_errors_keep_the_library_reason(
    fault: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main([*SIM, "--fault", fault])
    assert info.value.code == 2
    assert reason in capsys.readouterr().err


def test_simulate_help_lists_apis_codes_defaults_and_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = capsys.readouterr().out
    flat = " ".join(out.split())
    for api in EC2_APIS:
        assert api in flat, api
    for code in (
        Ec2Error.INSUFFICIENT_CIDR_BLOCKS,
        Ec2Error.INSUFFICIENT_FREE_ADDRESSES,
        Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED,
        Ec2Error.REQUEST_LIMIT_EXCEEDED,
    ):
        assert code in flat, code
    assert "vpccni-model simulate --instance m5.large --nodes 50" in out
    options = " ".join(out[out.index("options:") :].split())
    for flag in ("--nodes", "--hours", "--seed", "--subnet", "--pods-per-node", "--out"):
        described = options[options.index(f"{flag} ") :][:200]
        assert "(default:" in described, flag


def test_steady_state_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["steady-state", "--help"])
    out = capsys.readouterr().out
    assert "vpccni-model steady-state --instance m5.large --pods 0-29" in out
    assert "(default: 0)" in " ".join(out.split())


def test_a_fragmented_subnet_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    # 10.0.0.0/26: usable .4-.62; the wholly usable aligned /28s are .16 and .32 only. Three
    # primaries take .4-.6, two nodes get the two blocks, node-002 finds 59 - 3 - 32 = 24
    # free addresses and no block: its pod gives up after 600 s.
    argv = ["simulate", "--instance", "t3.small", "--nodes", "3", "--subnet", "10.0.0.0/26"]
    argv += ["--env", "ENABLE_PREFIX_DELEGATION=true", "--workload", "constant"]
    argv += ["--pods-per-node", "1", "--hours", "0.25", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    shown = summary_lines(out)
    assert (shown["pods_started"], shown["pods_failed_subnet_full"]) == ("2", "1")
    assert (shown["subnet_free_addresses_min"], shown["subnet_free_blocks_min"]) == ("24", "0")
    assert "the subnet had no free aligned /28 block left for a prefix" in out
