"""One simulator run recorded in full, for tests that compare two ways of running it: what
it reports (summary, series, calls, errors, pod waits), every EC2 call family submitted with
its instant and node, and how many pool ticks and pod retries the engine made."""

from __future__ import annotations

from typing import Any

import attrs

from vpccni_model._actions import Action
from vpccni_model._state import NodeState
from vpccni_model.cloud import CallResult
from vpccni_model.sim import Simulation


class SilentObserver:
    """An engine observer (``Simulation.observer``) that records nothing; tests override the
    hooks they listen to. Attaching one makes the engine retry every waiting pod each second."""

    def calls(self, node: str, action: Action, result: CallResult) -> None:
        pass

    def cni_add(self, node: str, ok: bool) -> None:
        pass

    def cni_del(self, node: str) -> None:
        pass

    def reconciled(self, node: str, before: NodeState, after: NodeState) -> None:
        pass

    def sampled(self, time: float) -> None:
        pass


def instrument(sim: Simulation) -> dict[str, Any]:
    """Hook ``sim`` before it runs; the returned record fills in as it does."""
    record: dict[str, Any] = {"submitted": [], "retry_times": [], "ticks": 0}
    submit, try_assign, on_tick = sim._submit, sim._try_assign, sim._on_tick

    def submitting(node: Any, action: Action) -> None:
        record["submitted"].append((sim.now, node.spec.name, repr(action)))
        submit(node, action)

    def trying(node: Any, pod: Any) -> None:
        if pod.attempt > 0:  # a retry, not the attempt at placement
            record["retry_times"].append(sim.now)
        try_assign(node, pod)

    def ticking(name: object) -> None:
        node = sim.nodes[str(name)]
        record["ticks"] += node.tick_at == sim.now and not node.down
        on_tick(name)

    sim._submit = submitting  # type: ignore[method-assign]
    sim._try_assign = trying  # type: ignore[method-assign]
    sim._on_tick = ticking  # type: ignore[method-assign]
    return record


def record_run(sim: Simulation) -> dict[str, Any]:
    """Run ``sim`` and return everything it recorded."""
    record = instrument(sim)
    result = sim.run()
    record.update(
        summary=attrs.asdict(result.summary),
        series=result.series,
        node_series=result.node_series,
        calls=result.calls_by_api,
        errors=result.errors_by_api,
        waits=result.pod_waits,
        retries=len(record["retry_times"]),
    )
    return record
