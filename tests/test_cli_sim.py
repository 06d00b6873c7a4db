"""The ``simulate`` and ``explain`` subcommands, driven in-process.

Expected values come from the instance limits (t3.small: 3 ENIs x 3 secondary IPs, EKS max
pods 11), the docs tables (see tests/test_docs_tables.py) and the argument grammar documented
in docs/simulator.md.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import attrs
import pytest

from vpccni_model.cli import main
from vpccni_model.sim import Summary

SUMMARY_KEYS = [field.name for field in attrs.fields(Summary)]


def printed_summary(out: str) -> dict[str, str]:
    """The ``  key  value`` lines of the simulate summary."""
    values: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) == 2 and parts[0] in SUMMARY_KEYS:
            values[parts[0]] = parts[1]
    return values


# -- simulate -------------------------------------------------------------------------------


def test_simulate_prints_the_summary_and_writes_every_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    argv = ["simulate", "--instance", "t3.small", "--nodes", "2", "--hours", "0.1"]
    assert main([*argv, "--quiet", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0] == "2 x t3.small, 0.1 h, workload churn, subnet 10.0.0.0/16"
    shown = printed_summary(captured.out)
    assert list(shown) == SUMMARY_KEYS  # every field, in the Summary's order
    assert shown["nodes"] == "2"
    assert shown["duration_s"] == "360.00"  # 0.1 h
    assert lines[1] == "settings from the shipped aws-k8s-cni.yaml (v1.23.1)"
    assert lines[3].startswith("  WARM_ENI_TARGET=1 WARM_IP_TARGET=0")
    assert "max pods: 11 (the EKS default for t3.small), of which 2 host-network" in lines[5]
    written = [
        "summary.json",
        "series.csv",
        "nodes.csv",
        "calls.csv",
        "ips.png",
        "enis.png",
        "ec2_calls.png",
        "subnet.png",
    ]
    for name in written:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
    assert lines[-1].startswith("wrote ")
    assert all(name in lines[-1] for name in written)
    # The printed summary is the written one.
    summary = json.loads((out / "summary.json").read_text())["summary"]
    for key in ("pods_started", "pods_failed", "ec2_calls", "subnet_free_addresses_min"):
        assert shown[key] == str(summary[key])
    # --quiet: no progress bar on stderr.
    assert captured.err == ""


def test_simulate_no_plots_writes_only_json_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--instance", "t3.small", "--hours", "0.05", "--quiet"]
    assert main([*argv, "--out", str(tmp_path), "--no-plots"]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "calls.csv",
        "nodes.csv",
        "series.csv",
        "summary.json",
    ]


def test_simulate_constant_workload_reaches_the_docs_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--instance", "t3.small", "--workload", "constant", "--quiet"]
    argv += ["--pods-per-node", "5", "--hours", "0.1", "--out", str(tmp_path), "--no-plots"]
    assert main(argv) == 0
    shown = printed_summary(capsys.readouterr().out)
    # t3.small E=1 (the manifest), 5 pods: 3 ENIs, 9 IPs, 4 unused (docs table).
    assert (shown["pods_started"], shown["enis_max"]) == ("5", "3")
    assert (shown["ips_total_max"], shown["ips_unused_max"]) == ("9", "4")
    with (tmp_path / "series.csv").open(newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert (last["enis"], last["ips_total"], last["ips_unused"]) == ("3", "9", "4")


def test_simulate_with_a_fault_counts_failed_calls(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--instance", "t3.small", "--workload", "constant", "--quiet"]
    argv += ["--hours", "0.05", "--fault", "AssignPrivateIpAddresses:RequestTimeout:1:0:60"]
    assert main(argv) == 0
    shown = printed_summary(capsys.readouterr().out)
    # The tick-0 Assign(3) and its Assign(1) retry both fail: at least 2 failed calls.
    assert int(shown["ec2_calls_failed"]) >= 2


@pytest.mark.parametrize(
    "fault",
    [
        "AssignPrivateIpAddresses",  # no code
        "AssignPrivateIpAddresses:Code:0.5:0:10:extra",  # too many parts
        "AssignPrivateIpAddresses:Code:often",  # rate not a number
        "NoSuchApi:Code",  # unknown API
        "AssignPrivateIpAddresses:Code:2",  # rate above 1
        "AssignPrivateIpAddresses:Code:1:100:50",  # end before start
    ],
)
def test_bad_fault_specs_exit_2(fault: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["simulate", "--instance", "t3.small", "--quiet", "--fault", fault])
    assert info.value.code == 2
    assert "--fault" in capsys.readouterr().err


def test_simulate_bad_duration_is_a_clean_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--instance", "t3.small", "--hours", "0", "--quiet"]) == 2
    assert "--hours must be a number > 0, got 0" in capsys.readouterr().err


def write_trace(tmp_path: Path, rows: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text("time,node,pod,action\n" + rows)
    return path


def test_simulate_replays_a_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write_trace(
        tmp_path,
        "0,node-000,a,add\n0,node-001,b,add\n10,,c,add\n100,node-000,a,delete\n",
    )
    out = tmp_path / "out"
    argv = ["simulate", "--instance", "t3.small", "--nodes", "2", "--hours", "0.1"]
    assert main([*argv, "--trace", str(trace), "--quiet", "--out", str(out), "--no-plots"]) == 0
    captured = capsys.readouterr().out
    shown = printed_summary(captured)
    # Three pods added, one deleted: 3 started, 2 running at the end.
    assert shown["pods_started"] == "3"
    assert (shown["pods_failed"], shown["pods_unschedulable"]) == ("0", "0")
    with (out / "nodes.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    end = rows[-1]["time_s"]
    last = {r["node"]: r["pods"] for r in rows if r["time_s"] == end}
    # node-000 lost "a"; "c" went to a node with the fewest pods (tie at 1 -> node-000).
    assert last == {"node-000": "1", "node-001": "1"}


def test_simulate_header_names_the_trace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = write_trace(tmp_path, "0,,a,add\n")
    argv = ["simulate", "--instance", "t3.small", "--hours", "0.05", "--quiet"]
    assert main([*argv, "--trace", str(trace)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    # The header says what ran: the trace replaced the generated workload, so it must not
    # claim the default "churn" (whose --pods-per-node / --changes-per-minute were ignored).
    assert "churn" not in header
    assert "trace" in header


def test_simulate_trace_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--instance", "t3.small", "--hours", "0.1", "--quiet", "--trace"]
    bad_action = write_trace(tmp_path, "0,,a,create\n")
    assert main([*argv, str(bad_action)]) == 2
    assert "action" in capsys.readouterr().err
    unknown = write_trace(tmp_path, "0,node-009,a,add\n")
    assert main([*argv, str(unknown)]) == 2
    assert "node-009" in capsys.readouterr().err


# -- explain --------------------------------------------------------------------------------


def test_explain_exits_1_and_names_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["explain", "--instance", "t3.small", "--env", "MINIMUM_IP_TARGET=3"]
    assert main([*argv, "--churn-minutes", "0"]) == 1
    out = capsys.readouterr().out
    # The effective settings come first; max pods 3 * (4 - 1) + 2 = 11.
    lines = out.splitlines()
    assert "WARM_IP_TARGET=0 MINIMUM_IP_TARGET=3" in lines[2]
    assert lines[4].startswith("  max pods: 11 (the EKS default for t3.small)")
    assert "[error] minimum-ip-target-alone" in out


def test_explain_exits_0_for_a_clean_config(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["explain", "--instance", "m5.large", "--env", "WARM_IP_TARGET=2"]
    argv += ["--env", "MINIMUM_IP_TARGET=10", "--churn-minutes", "0"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[4].startswith("  max pods: 29 (the EKS default for m5.large)")  # 3*9+2
    assert "no findings" in out


def test_explain_warnings_alone_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    # p3dn.24xlarge with the manifest's WARM_ENI_TARGET=1 wastes addresses: a warning only.
    assert main(["explain", "--instance", "p3dn.24xlarge", "--churn-minutes", "0"]) == 0
    out = capsys.readouterr().out
    assert "[warning] subnet-waste" in out
    assert "[error]" not in out


def test_explain_json_lists_findings_and_keeps_the_exit_status(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["explain", "--instance", "t3.small", "--env", "MINIMUM_IP_TARGET=3"]
    status = main([*argv, "--churn-minutes", "0", "--json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    assert [f["code"] for f in findings if f["severity"] == "error"] == ["minimum-ip-target-alone"]
    # docs/simulator.md: "explain exits 1 when it finds an error" -- with --json too.
    assert status == 1


def test_simulate_without_matplotlib_writes_the_data_and_says_plots_were_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README's main install has no plots extra: the run must still succeed.
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    argv = ["simulate", "--instance", "m5.large", "--nodes", "2", "--hours", "0.1", "--quiet"]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    assert "plots skipped" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "calls.csv",
        "nodes.csv",
        "series.csv",
        "summary.json",
    ]


def test_simulate_json_is_one_document_with_inputs_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["simulate", "--instance", "t3.small", "--hours", "0.1", "--quiet", "--json"]
    assert main([*argv, "--out", str(tmp_path / "r"), "--no-plots"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # nothing else on stdout
    assert doc["inputs"]["instance_type"] == "t3.small"
    assert doc["inputs"]["settings"]["max_pods"] == 11  # 3 ENIs x (4 - 1) + 2
    assert doc["summary"]["duration_s"] == 360.0
    assert "series" not in doc
    assert captured.err.startswith("wrote ")
    written = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert written["summary"] == doc["summary"]
