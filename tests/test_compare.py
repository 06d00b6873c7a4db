"""Two configurations side by side (``vpccni_model.sim.compare``, ``vpccni-model compare``):
the comparison's figures are those of two direct ``simulate`` runs, the direction of a known
trade-off (a tight warm pool holds fewer addresses and calls EC2 more) shows, identical
configurations differ in nothing, and the "matters" rules hold on hand-picked numbers."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from vpccni_model import MANIFEST_ENV, Config, ConfigError, instance_limits
from vpccni_model.cli import main
from vpccni_model.sim import Constant, PoissonChurn, SimulationSpec, cluster, simulate
from vpccni_model.sim.compare import FIGURES, Comparison, compare, difference
from vpccni_model.sim.explain import explain
from vpccni_model.sim.workloads import Workload

M5L = instance_limits("m5.large")
DEFAULT = Config.from_env(MANIFEST_ENV)
TIGHT = Config.from_env({**MANIFEST_ENV, "WARM_IP_TARGET": "1", "MINIMUM_IP_TARGET": "10"})
CHURN = PoissonChurn(10, 2.0)


def spec(config: Config, *, seed: int = 0, workload: Workload = CHURN) -> SimulationSpec:
    return SimulationSpec(cluster(M5L, config, 3), workload, 3600.0, seed=seed)


@pytest.fixture(scope="module")
def tight() -> Comparison:
    return compare(spec(DEFAULT), spec(TIGHT), labels=("default", "tight"))


def test_the_figures_are_two_direct_runs(tight: Comparison) -> None:
    comparison = tight
    direct_a, direct_b = simulate(spec(DEFAULT)), simulate(spec(TIGHT))
    assert comparison.result_a.summary == direct_a.summary
    assert comparison.result_b.summary == direct_b.summary
    by_field = {d.field: d for d in comparison.differences}
    for name, _ in FIGURES:
        a, b = getattr(direct_a.summary, name), getattr(direct_b.summary, name)
        diff = by_field[name]
        assert (diff.a, diff.b) == (a, b)
        if a is not None and b is not None:
            assert diff.delta == b - a
    assign = by_field["calls.AssignPrivateIpAddresses"]
    assert assign.b == sum(direct_b.calls_by_api["AssignPrivateIpAddresses"].values())


def test_a_tight_warm_pool_holds_fewer_addresses_and_calls_more(tight: Comparison) -> None:
    comparison = tight
    a = comparison.result_a.summary
    b = comparison.result_b.summary
    # WARM_ENI_TARGET=1 keeps a whole spare ENI (9 addresses on m5.large) per node; the tight
    # pool keeps one spare address over MINIMUM_IP_TARGET=10, and frees what churn returns.
    assert b.ips_total_mean < a.ips_total_mean
    assert b.ips_unused_mean < a.ips_unused_mean
    assert b.ec2_calls > a.ec2_calls
    mattering = {d.field for d in comparison.mattering}
    assert {"ips_total_mean", "ips_unused_mean", "ec2_calls"} <= mattering
    fields = {d.field: (d.a, d.b) for d in comparison.inputs}
    assert fields["config.warm_ip_target"] == (0, 1)
    assert fields["config.minimum_ip_target"] == (0, 10)
    assert not comparison.identical


def test_identical_configurations_differ_in_nothing() -> None:
    comparison = compare(spec(DEFAULT), spec(DEFAULT))
    assert comparison.identical
    assert comparison.inputs == ()
    assert comparison.mattering == ()
    assert all(d.delta in (0, None) for d in comparison.differences)


@pytest.mark.parametrize(
    ("field", "unit", "a", "b", "matters"),
    [
        ("ips_total_mean", "addresses", 100, 111, True),  # +11%, 11 >= 5
        ("ips_total_mean", "addresses", 100, 109, False),  # +9%
        ("ips_total_max", "addresses", 10, 14, False),  # +40% but 4 < 5 addresses
        ("ips_total_max", "addresses", 0, 5, True),  # from 0, at the floor
        ("enis_max", "enis", 9, 8, True),  # -11%, one ENI
        ("ec2_calls", "calls", 100, 109, False),  # 9 calls < 10
        ("pods_failed", "pods", 0, 1, True),  # failures: any change
        ("ec2_calls_throttled", "calls", 500, 501, True),  # throttling: any change
        ("time_to_ip_p99_s", "seconds", None, 3.0, True),  # "never" on one side
        ("time_to_ip_p99_s", "seconds", None, None, False),
        ("time_to_ip_p99_s", "seconds", 0.5, 1.2, False),  # +140% but 0.7 s < 1 s
    ],
)
def test_what_matters(field: str, unit: str, a: float, b: float, matters: bool) -> None:
    diff = difference(field, unit, a, b)
    assert diff.matters is matters
    if a and b is not None:
        assert diff.relative == pytest.approx((b - a) / a)
    if a == 0:
        assert diff.relative is None


def test_a_comparison_runs_the_same_workload_seed_and_duration() -> None:
    with pytest.raises(ConfigError) as info:
        compare(spec(DEFAULT), spec(TIGHT, seed=1))
    assert info.value.field == "seed"
    with pytest.raises(ConfigError) as info:
        compare(spec(DEFAULT), spec(TIGHT, workload=Constant(5)))
    assert info.value.field == "workload"
    with pytest.raises(ConfigError) as info:
        compare(spec(DEFAULT), attrs.evolve(spec(TIGHT), duration=60.0))
    assert info.value.field == "duration"
    with pytest.raises(ConfigError) as info:
        compare(spec(DEFAULT), spec(DEFAULT), labels=("x", "x"))
    assert info.value.field == "labels"
    with pytest.raises(ConfigError) as info:
        compare(spec(DEFAULT), "B")  # type: ignore[arg-type]
    assert info.value.field == "spec_b"


CLI = ["compare", "--instance", "m5.large", "--nodes", "3", "--changes-per-minute", "2"]
TIGHT_FLAGS = ["--b-env", "WARM_IP_TARGET=1", "--b-env", "MINIMUM_IP_TARGET=10"]


def test_cli_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLI, *TIGHT_FLAGS]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "inputs that differ" in out
    assert ["env", "WARM_IP_TARGET", "(unset)", "1"] in [line.split() for line in lines]
    assert ["effective", "minimum_ip_target", "0", "10"] in [line.split() for line in lines]
    direct = simulate(spec(DEFAULT)).summary, simulate(spec(TIGHT)).summary
    row = next(line for line in lines if line.split()[1:2] == ["ec2_calls"])
    assert row.startswith("!")
    assert row.split()[2:4] == [f"{direct[0].ec2_calls:,}", f"{direct[1].ec2_calls:,}"]
    assert "differences that matter:" in out
    assert "explain A:" in out and "explain B:" in out
    assert "identical configurations" not in out


def test_cli_identical_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*CLI, "--hours", "0.2", "--no-explain"]) == 0
    out = capsys.readouterr().out
    assert "identical configurations: A and B have the same inputs" in out
    assert "no difference that matters" in out
    assert "explain A" not in out


def test_cli_json_and_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "cmp"
    argv = [*CLI, *TIGHT_FLAGS, "--a-label", "prod", "--b-label", "tight"]
    assert main([*argv, "--json", "--out", str(out_dir)]) == 0
    doc = json.loads(capsys.readouterr().out)
    direct = simulate(spec(TIGHT)).summary
    assert doc["labels"] == {"a": "prod", "b": "tight"}
    assert doc["identical"] is False
    assert doc["summaries"]["b"]["ec2_calls"] == direct.ec2_calls
    by_field = {d["field"]: d for d in doc["differences"]}
    assert by_field["ips_total_mean"]["b"] == pytest.approx(direct.ips_total_mean)
    assert "ips_total_mean" in doc["mattering"]
    assert {"name": "WARM_IP_TARGET", "a": None, "b": "1", "modelled": True} in doc[
        "env_differences"
    ]
    for side, config in (("a", DEFAULT), ("b", TIGHT)):
        direct_findings = explain(M5L, config, seed=0).findings
        assert [f["code"] for f in doc["findings"][side]] == [f.code for f in direct_findings]
    assert doc["thresholds"]["relative"] == 0.1
    written = json.loads((out_dir / "b" / "summary.json").read_text())
    assert written["summary"]["ec2_calls"] == direct.ec2_calls
    assert written["inputs"]["label"] == "tight"
    assert json.loads((out_dir / "comparison.json").read_text()) == doc
    assert (out_dir / "a" / "calls.csv").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--b-env", "WARM_IP_TARGET"], "--b-env expects NAME=VALUE"),
        (["--a-label", "x", "--b-label", "x"], "must differ"),
        (["--a-label", " "], "--a-label must not be empty"),
        (["--a-manifest", "/nonexistent/aws-node.yaml"], "A: --a-manifest"),
        (["--b-env", "ENABLE_IPv4=false"], "B: ENABLE_IPv4=false"),
        (["--nodes", "0"], "--nodes must be >= 1"),
        (["--manifest", "-"], "standard input (-) can be read once"),
        (["--hours", "-1"], "--hours must be a number > 0"),
        (["--subnet", "10.0.0.0/33"], "--subnet"),
    ],
)
def test_cli_bad_input_exits_2(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*CLI, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cli_unknown_flag_and_missing_instance(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*CLI, "--c-env", "X=1"])
    assert info.value.code == 2
    assert main(["compare", "--b-env", "WARM_IP_TARGET=1"]) == 2
    assert "an instance type is required" in capsys.readouterr().err


def test_cli_positional_a_and_b_are_the_side_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.env", tmp_path / "b.env"
    shipped = "".join(f"{name}={value}\n" for name, value in MANIFEST_ENV.items())
    a.write_text(shipped)
    b.write_text(shipped + "WARM_IP_TARGET=1\nMINIMUM_IP_TARGET=10\n")
    rest = ["--nodes", "2", "--hours", "0.2", "--no-explain", "--json"]
    flags = ["compare", "--instance", "m5.large", "--a-manifest", str(a), "--b-manifest", str(b)]
    assert main([*flags, *rest]) == 0
    by_flags = json.loads(capsys.readouterr().out)
    for argv in (
        ["compare", "m5.large", str(a), str(b)],
        ["compare", str(a), str(b), "--instance", "m5.large"],
    ):
        assert main([*argv, *rest]) == 0
        positional = json.loads(capsys.readouterr().out)
        assert positional["summaries"] == by_flags["summaries"]
        assert positional["env_differences"] == by_flags["env_differences"]
        assert {"name": "WARM_IP_TARGET", "a": None, "b": "1", "modelled": True} in positional[
            "env_differences"
        ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["m5.large", "a.env"], "one configuration given"),
        (["m5.large", "a.env", "b.env", "c.env"], "got 4 positional arguments"),
        (["m5.large", "a.env", "b.env", "--b-manifest", "b.env"], "A and B given twice"),
        (["m5.large", "a.env", "missing.env"], "B: missing.env: no such file"),  # no flag named
    ],
)
def test_cli_positional_usage_errors(
    argv: list[str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    shipped = "".join(f"{name}={value}\n" for name, value in MANIFEST_ENV.items())
    for name in ("a.env", "b.env", "c.env"):
        (tmp_path / name).write_text(shipped)
    assert main(["compare", *argv]) == 2
    assert message in capsys.readouterr().err


def test_runs_of_different_nodes_compare_too() -> None:
    # Two nodes against three, same config: Constant(10) brings 10 pods per node at t=0, and
    # an m5.large (27 pod IPs) gives each one an address well within 600 s: 20 against 30.
    three = SimulationSpec(cluster(M5L, DEFAULT, 3), Constant(10), 600.0)
    two = attrs.evolve(three, nodes=cluster(M5L, DEFAULT, 2))
    comparison = compare(two, three)
    assert (comparison.summary_a.pods_started, comparison.summary_b.pods_started) == (20, 30)
    fields = {d.field: (d.a, d.b) for d in comparison.inputs}
    assert fields["nodes"] == (2, 3)
    assert not comparison.identical


def test_a_small_change_never_reads_as_a_signed_zero() -> None:
    from vpccni_model.sim.compare import change_text, difference

    # 3,741 pods against 3,747: 6 fewer, 0.16% fewer (not "-0%").
    assert change_text(difference("pods_started", "pods", 3747, 3741)) == "-0.2%"
    assert change_text(difference("pods_started", "pods", 20000, 20001)) == "+<0.1%"
    assert change_text(difference("pods_started", "pods", 200, 201)) == "+0.5%"  # not "+0%"
    assert change_text(difference("pods_started", "pods", 100, 112)) == "+12%"
