"""The ``config`` argument of every entry point is the node's boot configuration.

ipamd reads its settings once, at start-up, so ``reconcile``, the pod path and
``reconcile_due`` must each refuse a configuration that differs from the one the node booted
with (once resolved for the instance, spec 1.4, 2.3), with a ``ConfigError`` naming the first
field that differs, and accept an equal one given as another object.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from vpccni_model import (
    Config,
    ConfigError,
    InstanceLimits,
    NoAvailableIPError,
    NodeState,
    UnknownPodError,
    assign_pod_ip,
    reconcile,
    reconcile_due,
    unassign_pod_ip,
)
from vpccni_model.testing import configs, limits

FIELDS = tuple(field.name for field in attrs.fields(Config))

ENTRY_POINTS: dict[str, Callable[[NodeState, Config], Any]] = {
    "reconcile": lambda state, config: reconcile(state, config, 1.0),
    "assign_pod_ip": lambda state, config: assign_pod_ip(state, config, "default/pod", 1.0),
    "unassign_pod_ip": lambda state, config: unassign_pod_ip(state, config, "default/pod", 1.0),
    "reconcile_due": lambda state, config: reconcile_due(state, config, 1.0),
}


def resolved(config: Config, node_limits: InstanceLimits) -> dict[str, object]:
    """The configuration in effect on the instance, by hand: prefix delegation only on Nitro
    or bare metal (spec 1.4), MAX_ENI capped by the instance's ENI limit (spec 2.3)."""
    fields = attrs.asdict(config, recurse=False)
    fields["prefix_delegation"] = config.prefix_delegation and (
        node_limits.hypervisor == "nitro" or node_limits.bare_metal
    )
    cap = node_limits.max_enis
    fields["max_eni"] = cap if config.max_eni is None else min(config.max_eni, cap)
    return fields


def first_difference(booted: Config, other: Config, node_limits: InstanceLimits) -> str | None:
    mine, theirs = resolved(booted, node_limits), resolved(other, node_limits)
    return next((name for name in FIELDS if mine[name] != theirs[name]), None)


TIMERS = tuple(name for name in FIELDS if name.endswith(("_interval", "_lifetime", "_backoff")))


@given(
    node_limits=limits(),
    booted=configs(),
    other=configs(),
    changed=st.sets(st.sampled_from(FIELDS), min_size=1, max_size=3),
    timer=st.one_of(st.none(), st.sampled_from(TIMERS)),
    entry=st.sampled_from(sorted(ENTRY_POINTS)),
)
def test_a_config_other_than_the_boot_one_is_refused(
    node_limits: InstanceLimits,
    booted: Config,
    other: Config,
    changed: set[str],
    timer: str | None,
    entry: str,
) -> None:
    """The config given takes the fields in ``changed`` from ``other`` (and one ``timer``
    one second longer); the state has already accepted an equal copy of ``booted``, so the
    config it remembers is not the boot object."""
    changes: dict[str, Any] = {name: getattr(other, name) for name in changed}
    if timer is not None:
        changes[timer] = getattr(booted, timer) + 1.0
    given_config = attrs.evolve(booted, **changes)
    state = NodeState.boot(node_limits, booted, 0.0)
    state = reconcile(state, attrs.evolve(booted), 0.0).state
    expected = first_difference(booted, given_config, node_limits)
    call = ENTRY_POINTS[entry]
    if expected is None:
        event("an equal config is accepted")
        with contextlib.suppress(NoAvailableIPError, UnknownPodError):
            call(state, given_config)  # a refusal for the pod comes after the config check
        return
    event(f"refused: {expected}")
    with pytest.raises(ConfigError) as raised:
        call(state, given_config)
    assert raised.value.field == expected
    assert raised.value.value == getattr(given_config, expected)
