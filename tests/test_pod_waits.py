"""What the metrics recorder keeps small: the pod waits of a run (``sim.metrics.PodWaits``),
the ranking of waits without a list of every pod (``_Ranked``), and a sample's pool count in
one pass (``_counts``): the same answers as plain tuples, a sorted list and the pool
statistics."""

from __future__ import annotations

import random

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpccni_model.sim.metrics import PodWaits, _Ranked, percentile_with_failures


def test_pod_waits_behave_as_the_pairs_they_hold() -> None:
    waits = PodWaits([0.0, 1.5, 3.0], [0.0, 2.0, 0.5])
    assert len(waits) == 3
    assert list(waits) == [(0.0, 0.0), (1.5, 2.0), (3.0, 0.5)]
    assert waits[1] == (1.5, 2.0)
    assert waits[-1] == (3.0, 0.5)
    assert waits[1:] == [(1.5, 2.0), (3.0, 0.5)]
    assert waits == [(0.0, 0.0), (1.5, 2.0), (3.0, 0.5)]
    assert waits == PodWaits([0.0, 1.5, 3.0], [0.0, 2.0, 0.5])
    assert waits != PodWaits([0.0, 1.5, 3.0], [0.0, 2.0, 0.6])
    assert [w for w in waits if w[0] > 1] == [(1.5, 2.0), (3.0, 0.5)]
    assert repr(PodWaits()) == "PodWaits(0 pods)"


def test_pod_waits_need_one_wait_per_placement() -> None:
    with pytest.raises(ValueError, match="one wait per placement"):
        PodWaits([0.0, 1.0], [0.0])


@given(
    waits=st.lists(st.sampled_from([0.0, 0.0, 0.0, 1.0, 2.5, 7.0, 600.0]), max_size=60),
    failures=st.integers(0, 5),
    fraction=st.sampled_from([0.5, 0.95, 0.99, 1.0]),
)
def test_ranking_zeros_apart_gives_the_percentiles_of_the_sorted_list(
    waits: list[float], failures: int, fraction: float
) -> None:
    others = sorted(w for w in waits if w != 0)
    ranked = _Ranked(len(waits) - len(others), others)
    ordered = sorted(waits)
    assert list(ranked) == ordered
    assert len(ranked) == len(ordered)
    assert percentile_with_failures(ranked, failures, fraction) == percentile_with_failures(
        ordered, failures, fraction
    )
    if ordered:
        assert ranked[-1] == ordered[-1]
        index = random.Random(len(waits)).randrange(len(ordered))
        assert ranked[index] == ordered[index]


def test_a_sample_counts_the_pool_as_datastore_stats_does() -> None:
    # The sample's own count (one pass over the ENI counters) against the pool statistics,
    # on nodes of both modes with an excluded ENI among them.
    from vpccni_model import Config, instance_limits
    from vpccni_model.pool import datastore_stats
    from vpccni_model.sim import PoissonChurn, Simulation, SimulationSpec, cluster
    from vpccni_model.sim.metrics import _counts

    for config in (Config(), Config(prefix_delegation=True, warm_prefix_target=1)):
        spec = SimulationSpec(
            nodes=cluster(instance_limits("m5.large"), config, 3),
            workload=PoissonChurn(pods_per_node=15, changes_per_node_per_minute=4),
            duration=1800.0,
        )
        sim = Simulation(spec)
        sim.run()
        for node in sim.nodes.values():
            state = node.state
            for excluded in (False, True):
                if excluded:
                    ds = state.datastores[0]
                    last = len(ds.enis) - 1
                    enis = tuple(
                        attrs.evolve(e, is_excluded=True) if i == last else e
                        for i, e in enumerate(ds.enis)
                    )
                    state = state.replace_datastore(ds.replace(enis=enis))
                stats = [datastore_stats(ds, state.prefix_delegation) for ds in state.datastores]
                ips, assigned, enis_count, _, _ = _counts(state)
                assert ips == sum(s.total_ips for s in stats)
                assert assigned == sum(s.assigned_ips for s in stats)
                assert enis_count == sum(len(ds.enis) for ds in state.datastores)
