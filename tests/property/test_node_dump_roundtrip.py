"""A node written as ipamd's ``/v1/enis`` and read back (``node_dump.to_introspection`` then
``from_introspection``) is the same node: ENIs, CIDRs, address entries, pods and times (moved
so that the state's clock is now). What the dump does not carry is left out of the
comparison: ENI creation times, unmanaged ENI counts, the drifting prefix counter, timers and
calls in flight.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from vpccni_model import NodeState
from vpccni_model.node_dump import (
    format_time,
    from_introspection,
    parse_time,
    to_introspection,
)
from vpccni_model.testing import node_states

NOW_NS = 1_752_549_242_250_000_000  # 2025-07-15T03:14:02.25Z


def _moved(at: float | None, shift: float) -> int | None:
    """A time in whole nanoseconds after ``shift`` (the dump's resolution)."""
    return None if at is None else round(at * 1e9) - round(shift * 1e9)


def _view(state: NodeState, shift: float) -> list[object]:
    """What a dump carries of ``state``, its times moved back by ``shift``."""
    return [
        (
            ds.network_card,
            [
                (
                    (e.eni_id, e.device_number, e.is_primary, e.is_trunk, e.is_efa, e.is_excluded),
                    [
                        (
                            c.network,
                            c.is_prefix,
                            [
                                (
                                    a.ip,
                                    a.pod,
                                    _moved(a.assigned_at, shift),
                                    _moved(None if a.pod else a.unassigned_at, shift),
                                )
                                for a in c.addresses
                            ],
                        )
                        for c in e.cidrs
                    ],
                )
                for e in ds.enis
            ],
        )
        for ds in state.datastores
    ]


@settings(max_examples=60, deadline=None)
@given(node_states())
def test_introspection_round_trip(drawn: tuple[NodeState, object, object]) -> None:
    state = drawn[0]
    doc = json.loads(json.dumps(to_introspection(state, NOW_NS)))
    now = format_time(NOW_NS + round(state.clock * 1e9))
    back = from_introspection(doc, state.limits, state.config, now=now)
    back.state.check()
    assert _view(back.state, 0.0) == _view(state, state.clock)
    assert dict(back.state.pods) == dict(state.pods)
    assert back.warnings == ()


@pytest.mark.parametrize("clock", [0.0, 12.5, 86_400.123456789, -3.000000001])
def test_times_survive_the_trip(clock: float) -> None:
    ns = NOW_NS + round(clock * 1e9)
    assert parse_time(format_time(ns), "t") == ns
