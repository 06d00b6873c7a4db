"""The ordered vs go-random comparison of docs/simulator.md: m5.large, the shipped settings
(WARM_ENI_TARGET=1), Poisson churn of one pod change per node-minute for 24 h, at 10 and 12
pods per node. Prints a Markdown table: ENI create/free cycles and EC2 calls per node-hour,
mean IPs held per node, under both iteration policies. Deterministic (``--seeds`` runs).

    PYTHONPATH=$PWD python tools/iteration_comparison.py [--nodes 10] [--hours 24] [--seeds 1]
"""

from __future__ import annotations

import argparse

from vpccni_model import Config, instance_limits
from vpccni_model.sim import SimulationSpec, cluster, simulate
from vpccni_model.sim.workloads import PoissonChurn


def measure(pods: int, iteration: str, nodes: int, hours: float, seed: int) -> dict[str, float]:
    limits = instance_limits("m5.large")
    spec = SimulationSpec(
        nodes=cluster(limits, Config(), nodes),
        workload=PoissonChurn(pods_per_node=pods, changes_per_node_per_minute=1.0),
        duration=hours * 3600,
        seed=seed,
        iteration=iteration,  # type: ignore[arg-type]
        per_node_series=False,
    )
    result = simulate(spec)
    doc = result.to_dict(series=False)
    calls = doc["calls_by_api"]
    node_hours = nodes * hours

    def count(api: str) -> int:
        value = calls.get(api, 0)
        return sum(value.values()) if isinstance(value, dict) else int(value)

    summary = doc["summary"]
    return {
        "creates": count("CreateNetworkInterface") / node_hours,
        "frees": count("DeleteNetworkInterface") / node_hours,
        "calls": summary["ec2_calls"] / node_hours,
        "ips": summary["ips_total_mean"] / nodes,
        "failed": summary["pods_failed"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    print(
        "| pods per node | iteration | ENIs created per node-hour | ENIs freed per node-hour "
        "| EC2 calls per node-hour | IPs held per node (mean) | pods failed |"
    )
    print("|---|---|---|---|---|---|---|")
    for pods in (10, 12):
        for iteration in ("ordered", "go-random"):
            runs = [
                measure(pods, iteration, args.nodes, args.hours, seed) for seed in range(args.seeds)
            ]
            mean = {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]}
            print(
                f"| {pods} | {iteration} | {mean['creates']:.2f} | {mean['frees']:.2f} "
                f"| {mean['calls']:.1f} | {mean['ips']:.1f} | {mean['failed']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
