"""The compact pod waits of a run (``sim.metrics.PodWaits``) and the ranking of waits without
a list of every pod (``_Ranked``): the same answers as plain tuples and a sorted list."""

from __future__ import annotations

import random

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
