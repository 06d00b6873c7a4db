"""vpccni_model.sweep: the grid, its validation, engines that agree, rows that match a direct
simulation, the Pareto marking on hand-made rows, and the command over YAML and TOML files."""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpccni_model import MANIFEST_ENV, Config, ConfigError, instance_limits
from vpccni_model.cli import main
from vpccni_model.sim import PoissonChurn, SimulationSpec, cluster, simulate
from vpccni_model.sweep import (
    CSV_COLUMNS,
    EnvSet,
    SweepSpec,
    WorkloadSpec,
    load_sweep,
    map_runs,
    pareto,
    sweep,
    sweep_from_mapping,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

#: Small enough for every engine in a second or two: 2 env sets x 2 seeds, 2 nodes, 15 min.
TINY = SweepSpec(
    instances=["m5.large"],
    env=[EnvSet(), EnvSet({"WARM_IP_TARGET": 2, "MINIMUM_IP_TARGET": 4}, label="W2 M4")],
    workloads=[WorkloadSpec("churn", pods_per_node=6, changes_per_minute=2)],
    seeds=[3, 4],
    nodes=2,
    hours=0.25,
)


# -- the grid --------------------------------------------------------------------------------


def test_runs_enumerate_instance_then_env_then_workload_then_seed() -> None:
    env = [EnvSet(label="a"), EnvSet({"WARM_IP_TARGET": 1}, label="b")]
    workloads = [WorkloadSpec("churn"), WorkloadSpec("constant")]
    spec = SweepSpec(instances=["m5.large", "t3.small"], env=env, workloads=workloads, seeds=[7, 8])
    expected = [
        (i, e.name, w.name, s)
        for i in ("m5.large", "t3.small")
        for e in env
        for w in workloads
        for s in (7, 8)
    ]
    got = [(r.instance, r.env.name, r.workload.name, r.seed) for r in spec.runs()]
    assert got == expected
    assert len(spec) == 16
    assert [r.index for r in spec.runs()] == list(range(16))
    assert [spec.run(i) for i in range(16)] == list(spec.runs())


def test_default_labels_name_the_values() -> None:
    assert EnvSet().name == "shipped"
    assert EnvSet({"WARM_IP_TARGET": 2, "ENABLE_PREFIX_DELEGATION": True}).name == (
        "WARM_IP_TARGET=2 ENABLE_PREFIX_DELEGATION=true"
    )
    assert WorkloadSpec("burst").name == "burst"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"instances": []}, "instances"),
        ({"instances": ["m5.larg"]}, "instances[0]"),
        ({"instances": ["m5.large", "m5.large"]}, "instances[1]"),
        ({"nodes": 0}, "nodes"),
        ({"nodes": True}, "nodes"),
        ({"hours": -1}, "hours"),
        ({"hours": math.inf}, "hours"),
        ({"seeds": [1, 1]}, "seeds[1]"),
        ({"seeds": [-1]}, "seeds[0]"),
        ({"seeds": 3}, "seeds"),
        ({"subnet": "10.0.0.0/33"}, "subnet"),
        ({"iteration": "random"}, "iteration"),
        ({"throttle": "yes"}, "throttle"),
        ({"max_pods": 0}, "max_pods"),
        ({"host_network_pods": 30}, "host_network_pods"),
        ({"env": [{"WARM_IP_TARGT": 2}]}, "env[0].WARM_IP_TARGT"),
        ({"env": [{"WARM_IP_TARGET": "two"}]}, "env[0].WARM_IP_TARGET"),
        ({"env": [{"lable": "x"}]}, "env[0].lable"),
        ({"env": [{"label": "x"}, {"label": "x", "WARM_IP_TARGET": 1}]}, "env[1]"),
        ({"workloads": [{"kind": "chrun"}]}, "workloads[0].kind"),
        ({"workloads": [{"kind": "churn", "pods": 3}]}, "workloads[0].pods"),
        ({"workloads": [{"pods_per_node": -1}]}, "workloads[0].pods_per_node"),
        ({"workloads": [{"changes_per_minute": 0}]}, "workloads[0].changes_per_minute"),
    ],
)
def test_bad_values_name_their_key(changes: dict[str, Any], field: str) -> None:
    data: dict[str, Any] = {"instances": ["m5.large"], **changes}
    with pytest.raises(ConfigError) as caught:
        sweep_from_mapping(data)
    assert caught.value.field == field


def test_a_typo_gets_the_closest_key() -> None:
    with pytest.raises(ConfigError, match="did you mean 'workloads'"):
        sweep_from_mapping({"instances": ["m5.large"], "worklods": []})
    with pytest.raises(ConfigError, match="did you mean WARM_IP_TARGET"):
        sweep_from_mapping({"instances": ["m5.large"], "env": [{"WARM_IP_TARGT": 1}]})
    with pytest.raises(ConfigError, match="did you mean 'churn'"):
        sweep_from_mapping({"instances": ["m5.large"], "workloads": [{"kind": "chrun"}]})


def test_prefix_delegation_on_an_instance_without_prefixes_is_refused() -> None:
    # ipamd would silently run secondary IPs: the row's label would say otherwise.
    with pytest.raises(ConfigError, match="cannot take /28 prefixes") as caught:
        SweepSpec(instances=["t2.medium"], env=[{"ENABLE_PREFIX_DELEGATION": True}])
    assert caught.value.field == "env[0].ENABLE_PREFIX_DELEGATION"


def test_the_spec_reads_back_from_its_own_dict() -> None:
    assert sweep_from_mapping(TINY.to_dict()) == TINY
    assert sweep_from_mapping(json.loads(json.dumps(TINY.to_dict()))) == TINY


# -- rows against a direct simulation --------------------------------------------------------


def test_a_row_is_the_direct_simulation_of_its_grid_point() -> None:
    spec = SweepSpec(
        instances=["m5.large"],
        env=[{"WARM_IP_TARGET": 2}],
        workloads=[{"kind": "churn", "pods_per_node": 8, "changes_per_minute": 3}],
        seeds=[5],
        nodes=3,
        hours=0.5,
    )
    (row,) = sweep(spec, "serial").rows
    # The same run, built by hand from the documented defaults.
    config = Config.from_env({**MANIFEST_ENV, "WARM_IP_TARGET": "2"})
    direct = simulate(
        SimulationSpec(
            nodes=cluster(instance_limits("m5.large"), config, 3, host_network_pods=2),
            workload=PoissonChurn(8, 3.0),
            duration=1800.0,
            seed=5,
            subnets=(("subnet-a", "10.0.0.0/16"),),
            per_node_series=False,
        )
    )
    held = sorted(s.subnet_addresses for s in direct.series)
    assert row.subnet_addresses_p50 == held[math.ceil(len(held) / 2) - 1]
    assert row.subnet_addresses_max == held[-1]
    by_api = {api: sum(c.values()) * 2.0 for api, c in direct.calls_by_api.items()}
    assert dict(row.ec2_calls_per_hour_by_api) == by_api
    assert row.ec2_calls_per_hour == pytest.approx(sum(by_api.values()))
    s = direct.summary
    assert (row.ec2_calls_throttled, row.pods_started, row.pods_that_waited, row.pods_failed) == (
        s.ec2_calls_throttled,
        s.pods_started,
        s.pods_that_waited,
        s.pods_failed,
    )
    waits = sorted(w for _, w in direct.pod_waits)
    assert row.time_to_ip_p50_s == waits[math.ceil(0.5 * len(waits)) - 1]
    assert row.time_to_ip_p99_s == waits[math.ceil(0.99 * len(waits)) - 1]
    assert row.time_to_ip_max_s == waits[-1]
    assert (row.instance, row.env_label, row.workload_label, row.seed) == (
        "m5.large",
        "WARM_IP_TARGET=2",
        "churn",
        5,
    )


# -- engines ---------------------------------------------------------------------------------


def _square(x: int) -> int:
    return x * x


def _refuse(x: int) -> int:
    if x == 2:
        raise ConfigError("x", x, "refused in a worker")
    return x


@pytest.mark.parametrize("engine", ["serial", "process"])
def test_map_runs_keeps_input_order_and_reports_progress(engine: str) -> None:
    seen: list[tuple[int, int]] = []
    out = map_runs(_square, range(7), engine, workers=2, progress=lambda d, t: seen.append((d, t)))
    assert out == [0, 1, 4, 9, 16, 25, 36]
    assert seen == [(d, 7) for d in range(1, 8)]
    assert map_runs(_square, [], engine) == []


def test_an_error_in_a_worker_comes_back_with_its_field() -> None:
    with pytest.raises(ConfigError) as caught:
        map_runs(_refuse, range(4), "process", workers=2)
    assert (caught.value.field, caught.value.value) == ("x", 2)


def test_unknown_engines_and_worker_counts_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        map_runs(_square, [1], "threads")
    assert caught.value.field == "engine"
    with pytest.raises(ConfigError) as caught:
        map_runs(_square, [1], "process", workers=0)
    assert caught.value.field == "workers"


def test_dask_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    with pytest.raises(ConfigError, match=r"pip install 'vpccni-model\[dask\]'"):
        map_runs(_square, [1], "dask-local")


def test_every_engine_gives_the_same_rows() -> None:
    """The CI check of the Dask path: a LocalCluster (loopback only, started and stopped
    here) returns exactly the serial rows, as do a process pool and a thread executor."""
    serial = sweep(TINY, "serial")
    assert len(serial.rows) == 4
    assert [r.index for r in serial.rows] == [0, 1, 2, 3]
    assert sweep(TINY, "process", workers=2) == serial
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert sweep(TINY, pool) == serial
    done: list[int] = []
    assert sweep(TINY, "dask-local", workers=2, progress=lambda d, t: done.append(d)) == serial
    assert sorted(done) == [1, 2, 3, 4]


def test_a_dask_client_given_is_used_and_left_open() -> None:
    import distributed  # the test extra has it

    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as local,
        distributed.Client(local) as client,
    ):
        assert sweep(TINY, client) == sweep(TINY, "serial")
        assert client.status == "running"


# -- Pareto ----------------------------------------------------------------------------------


def _row(env: str, held: int, calls: float, p99: float | None, **kw: Any) -> SimpleNamespace:
    base = {"instance": "m5.large", "workload_label": "churn", "env_label": env}
    return SimpleNamespace(
        **{**base, **kw},
        subnet_addresses_max=held,
        ec2_calls_per_hour=calls,
        time_to_ip_p99_s=p99,
    )


def test_pareto_marks_the_dominated_settings() -> None:
    rows = [
        _row("a", 100, 50.0, 10.0),
        _row("b", 120, 60.0, 10.0),  # worse than a on two, equal on one: dominated by a
        _row("c", 80, 90.0, 10.0),  # fewer addresses than a: on the front
        _row("d", 100, 50.0, 10.0),  # equal to a everywhere: neither dominates
        _row("e", 70, 40.0, None),  # best on two, but a pod gave up: on the front
        _row("f", 70, 45.0, None),  # as e with more calls: dominated by e only
    ]
    marks = {p.env_label: p.dominated_by for p in pareto(rows)}
    assert marks == {
        "a": (),
        "b": ("m5.large a", "m5.large d"),
        "c": (),
        "d": (),
        "e": (),
        "f": ("m5.large e",),
    }


def test_pareto_takes_each_setting_at_its_worst_seed_within_its_workload() -> None:
    rows = [
        _row("a", 100, 50.0, 5.0, seed=1),
        _row("a", 90, 70.0, None, seed=2),  # a's worst: 100 addresses, 70 calls/h, never
        _row("b", 100, 60.0, 30.0, seed=1),
        _row("b", 100, 60.0, 20.0, seed=2),  # b's worst: 100, 60, 30 -> dominates a
        _row("a", 500, 900.0, 99.0, workload_label="burst"),  # alone under its workload
    ]
    points = pareto(rows)
    assert [(p.workload, p.env_label, p.runs) for p in points] == [
        ("churn", "a", 2),
        ("churn", "b", 2),
        ("burst", "a", 1),
    ]
    a, b, burst = points
    assert (a.subnet_addresses_max, a.ec2_calls_per_hour, a.time_to_ip_p99_s) == (100, 70.0, None)
    assert (b.subnet_addresses_max, b.ec2_calls_per_hour, b.time_to_ip_p99_s) == (100, 60.0, 30.0)
    assert a.dominated_by == ("m5.large b",)
    assert not b.dominated and not burst.dominated


# -- files and the command -------------------------------------------------------------------

YAML = """\
instances: m5.large
nodes: 2
hours: 0.25
seeds: [3, 4]
workloads:
  - {kind: churn, pods_per_node: 6, changes_per_minute: 2}
env:
  - {}
  - {label: W2 M4, WARM_IP_TARGET: 2, MINIMUM_IP_TARGET: 4}
"""

TOML = """\
instances = ["m5.large"]
nodes = 2
hours = 0.25
seeds = [3, 4]

[[workloads]]
kind = "churn"
pods_per_node = 6
changes_per_minute = 2

[[env]]

[[env]]
label = "W2 M4"
WARM_IP_TARGET = 2
MINIMUM_IP_TARGET = 4
"""


def test_yaml_and_toml_files_give_the_same_spec(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(YAML)
    (tmp_path / "s.toml").write_text(TOML)
    assert load_sweep(tmp_path / "s.yaml") == TINY
    assert load_sweep(tmp_path / "s.toml") == TINY


def test_the_example_files_load() -> None:
    assert len(load_sweep(EXAMPLES / "sweep-warm-targets.yaml")) == 10
    assert len(load_sweep(EXAMPLES / "sweep-quick.toml")) == 4


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.yaml", "instances: [m5.large]\nworklods: []\n", "worklods: unknown key (did you mean"),
        ("b.yaml", "instances: [m5.large]\nnodes: 0\n", "nodes=0: must be an int >= 1"),
        ("c.yaml", "instances: [m5.large\n", "not valid YAML at line 2"),
        ("d.toml", "instances = [m5.large]\n", "not valid TOML"),
        ("e.txt", "instances: [m5.large]\n", "must end in .yaml, .yml, .toml"),
        ("f.yaml", "", "is empty"),
        ("g.yaml", "nodes: 2\n", "instances: missing"),
        ("h.yaml", "instances: [m5.large]\nenv:\n  - WARM_IP_TARGET: x\n", "env[0].WARM_IP_TARGET"),
    ],
)
def test_bad_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    assert main(["sweep", str(tmp_path / name), "--serial", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err and err.startswith("vpccni-model sweep: error: ")


def test_missing_file_and_bad_flags_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sweep", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read it" in capsys.readouterr().err
    (tmp_path / "s.yaml").write_text(YAML)
    for flags, message in (
        (["--workers", "0"], "--workers must be >= 1"),
        (["--dask", "nowhere"], "--dask expects 'local' or a scheduler address"),
        (["--serial", "--workers", "2"], "--workers does not go with --serial"),
    ):
        assert main(["sweep", str(tmp_path / "s.yaml"), *flags]) == 2
        assert message in capsys.readouterr().err


def test_the_command_writes_csv_json_and_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.yaml").write_text(YAML)
    out = tmp_path / "out"
    assert main(["sweep", str(tmp_path / "s.yaml"), "--serial", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    expected = sweep(TINY, "serial")
    assert "4 runs = 1 instance type x 2 env sets x 1 workload x 2 seeds" in text
    table = text.splitlines()[1:-1]  # between the file's path and the paths written
    assert table and all(len(line) <= 100 for line in table)
    rows = list(csv.DictReader(io.StringIO((out / "sweep.csv").read_text())))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [(r["env"], int(r["seed"])) for r in rows] == [
        ("shipped", 3),
        ("shipped", 4),
        ("W2 M4", 3),
        ("W2 M4", 4),
    ]
    assert [int(r["subnet_addresses_max"]) for r in rows] == [
        r.subnet_addresses_max for r in expected.rows
    ]
    doc = json.loads((out / "sweep.json").read_text())
    assert sweep_from_mapping(doc["spec"]) == TINY
    assert doc["rows"] == [r.to_dict() for r in expected.rows]
    assert [p["env_label"] for p in doc["pareto"]] == ["shipped", "W2 M4"]
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_output_is_the_result_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.toml").write_text(TOML)
    assert main(["sweep", str(tmp_path / "s.toml"), "--serial", "--quiet", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(sweep(TINY, "serial").to_json())


def test_a_pod_that_gave_up_is_an_empty_csv_cell_and_never_in_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A /28 subnet holds 11 usable addresses: 2 nodes need 2 primaries + pods, so pods give up.
    (tmp_path / "s.yaml").write_text(
        "instances: [m5.large]\nnodes: 2\nhours: 0.5\nsubnet: 10.0.0.0/28\npod_timeout: 60\n"
        "workloads: [{kind: constant, pods_per_node: 10}]\n"
    )
    assert (
        main(["sweep", str(tmp_path / "s.yaml"), "--serial", "--quiet", "--out", str(tmp_path)])
        == 0
    )
    text = capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "sweep.csv").read_text())))
    assert int(rows[0]["pods_failed"]) > 0
    assert rows[0]["time_to_ip_p99_s"] == ""
    assert "never" in text


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from("abcd"),
            st.sampled_from(["churn", "burst"]),
            st.integers(0, 5),
            st.integers(0, 5),
            st.one_of(st.none(), st.integers(0, 5)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_every_workload_keeps_a_front_that_nothing_beats(rows: list[Any]) -> None:
    made = [
        _row(env, held, float(calls), p99, workload_label=w) for env, w, held, calls, p99 in rows
    ]
    points = pareto(made)
    for workload in {w for _, w, *_ in rows}:
        mine = [p for p in points if p.workload == workload]
        front = [p for p in mine if not p.dominated]
        assert front, "a finite set always has a non-dominated member"
        for p in front:  # no setting is at least as good everywhere and better somewhere
            for q in mine:
                pc, qc = _costs(p), _costs(q)
                assert not (all(a <= b for a, b in zip(qc, pc, strict=True)) and qc != pc)


def _costs(p: Any) -> tuple[float, float, float]:
    p99 = math.inf if p.time_to_ip_p99_s is None else p.time_to_ip_p99_s
    return (p.subnet_addresses_max, p.ec2_calls_per_hour, p99)
