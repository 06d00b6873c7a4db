"""docs/decide.md's sweep file is the grid the page describes, and a reduced re-run of it
shows the page's claims: the hand-worked address floor of each pair and the calls a floor
saves."""

from __future__ import annotations

import re
from pathlib import Path

from vpccni_model.sweep import load_sweep, sweep

ROOT = Path(__file__).resolve().parent.parent
SWEEP_FILE = ROOT / "examples" / "sweep-500-m5xlarge.yaml"
PAGE = ROOT / "docs" / "decide.md"

# The pairs as the page's table lists them: label -> (WARM_IP_TARGET, MINIMUM_IP_TARGET).
PAIRS = {"W=1": (1, 0), "W=2": (2, 0), "W=1 M=6": (1, 6), "W=1 M=7": (1, 7), "W=2 M=6": (2, 6)}


def test_the_sweep_file_is_the_grid_the_page_describes() -> None:
    spec = load_sweep(SWEEP_FILE)
    assert list(spec.instances) == ["m5.xlarge"]
    assert spec.nodes == 500  # the whole fleet: the account's throttle is shared
    assert spec.hours == 1.0
    assert list(spec.seeds) == [1, 2]
    assert spec.throttle is True
    assert spec.subnet == "10.0.0.0/16"
    (workload,) = spec.workloads
    assert (workload.kind, workload.pods_per_node, workload.changes_per_minute) == ("churn", 5, 2)
    assert workload.label == "ci"
    pairs = {}
    for env in spec.env:
        values = dict(env.values)
        warm, minimum = values.get("WARM_IP_TARGET", 0), values.get("MINIMUM_IP_TARGET", 0)
        pairs[env.label] = (int(warm), int(minimum))
    assert pairs == PAIRS
    assert len(spec) == 10


def test_the_page_quotes_the_file_and_its_run_count() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert "examples/sweep-500-m5xlarge.yaml" in text
    assert "10 runs = 1 instance type x 5 env sets x 1 workload x 2 seeds" in text
    for label, (warm, minimum) in PAIRS.items():
        assert re.search(rf"\| `{re.escape(label)}` \| {warm} \| {minimum} \|", text), label


def test_a_reduced_run_holds_the_floors_and_the_floor_saves_calls() -> None:
    """20 nodes for half an hour, one seed, the two floors and W=1 without one.

    By hand: a node with MINIMUM_IP_TARGET=M never holds fewer than M pool addresses, and
    with at most M - 1 pods (WARM_IP_TARGET=1) no more: M + 1 with its primary ENI's. With
    about 5 pods a node most nodes sit there, so the fleet's median is nodes x (M + 1) or
    a little above (a node over M - 1 pods adds one): 20 x 7 = 140 for M=6, 20 x 8 = 160 for
    M=7, the page's 3,500 and 4,000 at 500 nodes. Without a floor every pod change is a
    call, so W=1 makes several times the calls of W=1 M=6.
    """
    spec = load_sweep(SWEEP_FILE)
    reduced = type(spec)(
        instances=spec.instances,
        env=[e for e in spec.env if e.label in ("W=1", "W=1 M=6", "W=1 M=7")],
        workloads=spec.workloads,
        seeds=[1],
        nodes=20,
        hours=0.5,
    )
    rows = {row.env_label: row for row in sweep(reduced, engine="serial").rows}
    for label, floor in (("W=1 M=6", 6), ("W=1 M=7", 7)):
        held = rows[label].subnet_addresses_p50
        assert 20 * (floor + 1) <= held <= 20 * (floor + 1) + 5, (label, held)
    assert rows["W=1"].ec2_calls_per_hour > 3 * rows["W=1 M=6"].ec2_calls_per_hour
    assert all(row.pods_failed == 0 for row in rows.values())
