"""``explain --node-dump`` and ``simulate --from-node-dump``, driven in-process on the
fixtures of tests/data (the expected lines are read off the fixtures by hand)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vpccni_model.cli import main

DATA = Path(__file__).parent / "data"
ENIS = str(DATA / "node-enis.json")
PREFIX = str(DATA / "node-enis-prefix.json")
CHECKPOINT = str(DATA / "ipam-pr1958.json")
DESCRIBE = str(DATA / "node-describe-enis.json")
EXPLAIN = ["explain", "--instance", "m5.large", "--churn-minutes", "0"]


def node_section(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("node from"))
    end = lines.index("the configuration:")
    return lines[start : end - 1]


def test_explain_a_node(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*EXPLAIN, "--node-dump", ENIS, "--checkpoint", CHECKPOINT]) == 0
    captured = capsys.readouterr()
    assert node_section(captured.out) == [
        f"node from {ENIS} (introspection + checkpoint); now: 2022-03-21T23:20:40.686Z "
        "(the newest time in the dump)",
        "  card 0: 2 ENIs; in the current mode 18 addresses, 4 assigned, 1 cooling, 13 free now",
        "    eni-0f1e2d3c4b5a69780 device 0 (primary): 9 secondary IPs, 4 assigned",
        "    eni-05a4b3c2d1e0f9a8b device 1: 9 secondary IPs, 0 assigned",
        "  pods with an address: 4 (max pods 29)",
        "the next pool tick (within 5 s): no EC2 call",
        # The cooling address is on the primary ENI, which is never freed, and the idle ENI
        # is not extra (14 free < 2 x 9, spec 5.8): no timer changes a decision.
        "  then nothing until a pod comes or goes (no running timer changes a decision)",
        "cooling addresses (IP_COOLDOWN_PERIOD=30 s):",
        "  192.168.20.7 on eni-0f1e2d3c4b5a69780: unassigned 2022-03-21T23:20:31.250Z (-9.4 s), "
        "free after 2022-03-21T23:21:01.250Z (+20.6 s)",
        "a pod arriving now gets 192.168.21.9 on eni-0f1e2d3c4b5a69780 at once",
    ]
    assert captured.err == ""
    # The configuration's findings still follow, as without --node-dump.
    assert "[warning] subnet-waste" in captured.out


def test_explain_a_node_with_calls_and_now(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [*EXPLAIN, "--node-dump", ENIS, "--now", "2022-03-21T23:20:55Z"]
    assert main([*argv, "--env", "WARM_IP_TARGET=2", "--env", "MINIMUM_IP_TARGET=4"]) == 0
    lines = node_section(capsys.readouterr().out)
    assert lines[0].endswith("now: 2022-03-21T23:20:55.000Z (--now)")
    # 18 addresses, 4 assigned, 6 kept: 12 released in two calls, the cooling one among them.
    assert lines[5] == "the next pool tick (within 5 s): 2 EC2 calls"
    released = [ip for line in lines[6:8] for ip in line.split(": ")[1].split(", ")]
    assert len(released) == 12
    assert lines[10].endswith("(+6.2 s); the next tick releases it")  # 31.25 + 30 - 55


def test_explain_a_node_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*EXPLAIN, "--node-dump", DESCRIBE, "--checkpoint", CHECKPOINT, "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert list(doc) == ["inputs", "findings", "only_when_packed", "suggested", "node"]
    node = doc["node"]
    assert node["source"] == "DescribeNetworkInterfaces + checkpoint"
    assert node["pods"] == 4
    assert node["cards"][0]["unmanaged_enis"] == 1
    assert node["cooling"] == []
    # EC2 knows no cooling: the lowest free /32 of the primary ENI is 192.168.20.7.
    assert node["new_pod"]["address"] == "192.168.20.7"
    assert node["next_tick"]["actions"] == []
    assert captured.err == ""


def test_the_mode_follows_the_dump_unless_told(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*EXPLAIN, "--node-dump", PREFIX]) == 0
    captured = capsys.readouterr()
    assert "mode: prefix delegation (/28 prefixes)" in captured.out
    assert "holds /28 prefixes: running with ENABLE_PREFIX_DELEGATION=true" in captured.err
    argv = [*EXPLAIN, "--node-dump", PREFIX, "--env", "ENABLE_PREFIX_DELEGATION=false"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "mode: secondary IPs" in captured.out
    assert "the dump holds /28 prefixes but the configuration runs secondary IPs" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--checkpoint", CHECKPOINT], "--checkpoint and --now go with --node-dump FILE"),
        (["--node-dump", "missing.json"], "--node-dump missing.json: cannot read it"),
        (["--node-dump", ENIS, "--now", "noon"], "--now 'noon': must be an RFC 3339 time"),
        (["--node-dump", ENIS, "--now", "2022-03-21T23:00:00Z"], "is after now"),
        (["--node-dump", CHECKPOINT], "pass it as --checkpoint"),
        (["--node-dump", ENIS, "--checkpoint", ENIS], f"{ENIS}: version: missing"),
        (["--node-dump", ENIS, "--instance", "t3.nano"], "is --instance right?"),
    ],
)
def test_explain_bad_dumps_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = EXPLAIN if "--instance" not in argv else ["explain", "--churn-minutes", "0"]
    assert main([*base, *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_simulate_from_a_node_dump(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--instance", "m5.large", "--from-node-dump", ENIS, "--quiet"]
    argv += ["--workload", "constant", "--pods-per-node", "5", "--hours", "0.1", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["inputs"]["subnet"] == "192.168.0.0/16"  # holds every address of the node
    assert doc["summary"]["pods_started"] == 5  # the workload's; the node's 4 stay put
    assert "using 192.168.0.0/16" in captured.err
    assert "starts from" in captured.err and "4 pods" in captured.err


def test_simulate_from_a_node_dump_runs_one_node(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--instance", "m5.large", "--from-node-dump", ENIS, "--nodes", "2"]
    assert main([*argv, "--quiet"]) == 2
    assert "--from-node-dump runs one node" in capsys.readouterr().err
