"""The event-driven simulator: nodes running the real core against one shared fake EC2.

Time jumps from event to event; nothing steps through idle time. The events are pod arrivals
and departures, pod retries, EC2 call completions, each node's pool ticks (scheduled only
when ``reconcile`` says a decision could change, on the node's 5 s cadence), its 60 s
metadata reconcile (scheduled only while EC2 and the datastore may disagree), and metric
samples. Events at the same instant run in the order they were scheduled, except that the
nodes' pool ticks run after the other events of their instant, in node order, and a metric
sample after every other event. A pod's retry counts as scheduled at its previous attempt,
after the other events scheduled at that instant (retries among themselves in the pods'
arrival order). So what runs first at an instant never depends on how often an idle node
was looked at before.

A waiting pod's retries are made only when they can succeed (``sim.retry``): after its node's
datastores change, after a cooling address cools, and its last one. The others would fail
the same way, so they are skipped, and pods get their addresses at the same retries as if
every one were made. With an observer attached every retry is made, for it counts CNI ADDs.

Likewise a pool tick that ``tick_idle`` shows would only move the clock (no pool too low or
too high, no ENI ``tryFreeENI`` could free, nothing queued or pending, and no waiting pod it
would wake) is not queued: it is noted, counted as run once its instant passes, and queued
after all if an event touches the node first and gives it work (``sim.idle``). About 70% of
the ticks of churn at the shipped settings are such ticks.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import heapq
import random
from collections.abc import Callable, Iterator
from typing import Protocol

import attrs

from vpccni_model._actions import ALLOCATIONS, Action
from vpccni_model._config import Config
from vpccni_model._errors import NoAvailableIPError
from vpccni_model._events import AllocationFailed, Ec2Error, ENIAttached, MetadataObserved
from vpccni_model._lifecycle import restart
from vpccni_model._observe import reconcile_due
from vpccni_model._outcomes import apply
from vpccni_model._pods import assign_pod_ip, take_outbox, unassign_pod_ip
from vpccni_model._state import NodeState
from vpccni_model._tick import reconcile
from vpccni_model.cloud import CallResult, FakeEC2
from vpccni_model.pool import effective_max_pods
from vpccni_model.sim.idle import SkippedTicks, cadence_steps
from vpccni_model.sim.metrics import MetricsRecorder, SampleMemo, SimulationResult
from vpccni_model.sim.retry import (
    attempt_time,
    cooling_ends,
    first_attempt_after,
    first_attempt_from,
    give_up_attempt,
    no_free_address,
)
from vpccni_model.sim.spec import NodeSpec, SimulationSpec, node_eni_config, node_iteration
from vpccni_model.sim.workloads import PodEvent


class Observer(Protocol):
    """What a run tells an observer (``Simulation.observer``), e.g. the Prometheus exporter.

    ``calls``: one submit's EC2 calls for ``node``; ``cni_add``: one CNI ADD on ``node``, which
    got an address or not; ``cni_del``: a pod that held an address was deleted on ``node``;
    ``reconciled``: the metadata reconcile took ``node`` from ``before`` to ``after``;
    ``sampled``: a metric sample was taken at ``time`` (every ``sample_interval`` and at the
    end).
    """

    def calls(self, node: str, action: Action, result: CallResult) -> None: ...
    def cni_add(self, node: str, ok: bool) -> None: ...
    def cni_del(self, node: str) -> None: ...
    def reconciled(self, node: str, before: NodeState, after: NodeState) -> None: ...
    def sampled(self, time: float) -> None: ...


@attrs.define
class _Pod:
    name: str
    arrived: float
    node: str | None = None
    ip: str | None = None
    deleted: bool = False
    # The node's datastores at the last failed attempt (None: try again whatever they are),
    # and the instant after which an address cooling then has cooled (None: none was): until
    # the datastores change or that instant passes, another attempt fails the same way.
    failed_on: object = None
    cooled_after: float | None = None
    # Arrival order: retries at the same instant go in this order.
    serial: int = 0
    # The attempt being made or last made (0: at placement) and the one queued (-1: none);
    # attempt k is made at arrived + k * pod_retry_interval (sim.retry).
    attempt: int = 0
    queued: int = -1
    # Its last attempt (the give-up one) is queued: in ``Simulation.last_attempts``.
    last_queued: bool = False


@attrs.define
class _Node:
    spec: NodeSpec
    state: NodeState
    config: Config
    tick_at: float | None = None
    last_tick: float | None = None
    index: int = 0  # its place in SimulationSpec.nodes: the order of ticks at one instant
    rank: int = 0  # its place in name order: the scheduler's tie-break (``_least_loaded``)
    observe_at: float | None = None
    waiting: dict[str, _Pod] = attrs.field(factory=dict)
    divergent: bool = False
    max_pods: int = 0
    # Pods kubelet admits that need an IP: max pods less the host-network pods.
    pod_slots: int = 0
    # The error code of the node's last allocation, None once one succeeds: why a pod that
    # gives up found no IP.
    last_error: str | None = None
    # ipamd's start-up failed (Reconciliation.start_error): it is down until kubelet restarts
    # it, after a back-off that doubles with each failure (``start_failures``).
    down: bool = False
    start_failures: int = 0
    # The cadence point of a pool tick an event brought that ``tick_idle`` said would only
    # move the clock: not queued (``sim.idle``). ``idle_repeats``: pods wait, so each such
    # tick brings the next, one per cadence point, until an event touches the node.
    idle_at: float | None = None
    idle_repeats: bool = False
    # The state ``tick_idle`` was last asked about, and its answer (``sim.idle._idle``).
    idle_of: object = None
    idle_verdict: bool = False
    # What the last metric sample kept of it (``sim.metrics``).
    seen: SampleMemo | None = None

    @property
    def load(self) -> int:
        """Pods the scheduler has put here: holding an IP or waiting for one."""
        return len(self.state.pods) + len(self.waiting)

    def cadence(self, time: float) -> float:
        """The first pool tick at or after ``time`` on this node's 5 s cadence: ``boot_at``
        plus ``ceil(round(q, 9))`` intervals, ``q`` the intervals from boot to ``time``
        (rounded, so that a time a hair past a point counts as that point)."""
        interval = self.config.pool_check_interval
        boot = self.spec.boot_at
        return boot + max(cadence_steps((time - boot) / interval), 0) * interval

    def tick_point(self, time: float) -> float:
        """Where a tick wanted at ``time`` goes: the cadence point at or after it, and after
        the node's last tick (ipamd ticks at most once per cadence point)."""
        at = self.cadence(time)
        last = self.last_tick
        return last + self.config.pool_check_interval if last is not None and at <= last else at


#: kubelet's crash-loop back-off for a container that exits: 10 s, doubling, at most 300 s.
CRASH_BACKOFF_FIRST = 10.0
CRASH_BACKOFF_MAX = 300.0

#: Events between two full collections of the cyclic garbage collector while a run is on.
GC_EVERY_EVENTS = 1 << 22


@contextlib.contextmanager
def _without_cyclic_collector() -> Iterator[bool]:
    """Run with the cyclic garbage collector's automatic passes off (restored on the way out).

    A run allocates millions of immutable states that reference counting frees, and the node
    states it keeps form no cycles, yet the automatic passes walk every object that survives
    one: 8.5 s of 74 s on 10,000 nodes x 2 h, timed with ``gc.callbacks`` (a full collection
    after such a run with the passes off finds nothing to free). ``Simulation._run`` collects
    every ``GC_EVERY_EVENTS`` events instead (unless the caller had turned the collector
    off: this yields whether it was on), so memory stays bounded should anything form cycles.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield enabled
    finally:
        if enabled:
            gc.enable()


class Simulation(SkippedTicks):
    """One run. Use :func:`simulate` unless you need to step it yourself."""

    def __init__(self, spec: SimulationSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.ec2 = FakeEC2(
            subnets=dict(spec.subnets),
            subnet_tags={name: dict(tags) for name, tags in spec.subnet_tags},
            seed=spec.seed,
            latency=spec.latency,
            throttle=spec.throttle,
            faults=spec.faults,
            trunk_controller=spec.trunk_controller,  # security groups for pods (_trunk)
            retry=spec.sdk_retry,
        )
        self.nodes: dict[str, _Node] = {}
        self.pods: dict[str, _Pod] = {}
        # (time, rank, scheduled at, 0 or 1 for a retry, sequence or pod serial, kind, payload)
        self.queue: list[tuple[float, int, float, int, int, str, object]] = []
        # Waiting pods' last attempts, in time order (pods fail first in placement order, so
        # appending keeps it sorted; one out of order goes to the heap instead): a deque is
        # cheaper than a heap holding an entry per waiting pod.
        self.last_attempts: collections.deque[tuple[float, int, float, int, int, str, object]]
        self.last_attempts = collections.deque()
        # The order key (scheduled at, retry, sequence) of the event being handled.
        self.current: tuple[float, int, int] = (0.0, 0, 0)
        # (load, node's rank in name order) heap, lazily validated; ranks compare as names
        # do, cheaper. ``by_rank``: the nodes in name order.
        self.free_slots: list[tuple[int, int]] = []
        self.by_rank: list[_Node] = []
        # Pods no node had room for, in arrival order: the scheduler retries them as slots
        # free up (Kubernetes keeps them Pending).
        self.pending: dict[str, _Pod] = {}
        self.sequence = 0
        # The next workload event's entry, kept out of the heap (``_pull_workload``).
        self.upcoming: tuple[float, int, float, int, int, str, object] | None = None
        self.pod_serial = 0
        self.give_up = give_up_attempt(spec.pod_retry_interval, spec.pod_timeout)
        self.now = 0.0
        self.metrics = MetricsRecorder(spec, self.ec2)
        # None unless someone listens: a run without an observer pays one test per hook.
        self.observer: Observer | None = None
        self.touched = []
        for node_spec in spec.nodes:
            state = node_spec.initial_state
            if state is None:
                state = NodeState.boot(
                    node_spec.limits,
                    node_spec.config,
                    node_spec.boot_at,
                    primary_eni_id=f"eni-{node_spec.name}",
                    iteration=node_iteration(spec, node_spec),
                    eni_config=node_eni_config(spec, node_spec),
                )
            else:
                # A node started from a dump follows the run's iteration policy too.
                state = attrs.evolve(
                    state,
                    iteration=node_iteration(spec, node_spec),
                    eni_config=state.eni_config or node_eni_config(spec, node_spec),
                )
            self.ec2.boot_node(node_spec.name, state, node_spec.subnet)
            node = _Node(node_spec, state, node_spec.config, index=len(self.nodes))
            node.max_pods = effective_max_pods(state.limits, state.config)
            node.pod_slots = max(node.max_pods - node_spec.host_network_pods, 0)
            self.nodes[node_spec.name] = node
            self._schedule_tick(node, node_spec.boot_at)
        self.by_rank = sorted(self.nodes.values(), key=lambda n: n.spec.name)
        for rank, node in enumerate(self.by_rank):
            node.rank = rank
            self._offer(node)
        self.workload: Iterator[PodEvent] = iter(
            spec.workload.events(self.rng, spec.duration, [n.name for n in spec.nodes])
        )
        self._pull_workload()
        self._push(0.0, "sample", None)

    # -- queue --------------------------------------------------------------------------

    def _entry(
        self, time: float, kind: str, payload: object
    ) -> tuple[float, int, float, int, int, str, object]:
        """The queue entry of an event scheduled now, with the next sequence number."""
        self.sequence += 1
        # Samples go last among events of the same instant, so they never see half of it.
        rank = 2 if kind == "sample" else 0  # ticks have rank 1 (_schedule_tick)
        return (time, rank, self.now, 0, self.sequence, kind, payload)

    def _push(self, time: float, kind: str, payload: object) -> None:
        heapq.heappush(self.queue, self._entry(time, kind, payload))

    def _queue_attempt(self, pod: _Pod, attempt: int) -> None:
        """Queue ``pod``'s retry ``attempt``, unless an earlier one is queued. It is ordered
        as if scheduled by the attempt before it, as when every attempt is made."""
        last = attempt >= self.give_up
        if last:
            if pod.last_queued:
                return
            attempt = self.give_up
            pod.last_queued = True
        elif 0 <= pod.queued <= attempt:
            return
        else:
            pod.queued = attempt
        interval = self.spec.pod_retry_interval
        at = attempt_time(pod.arrived, attempt, interval)
        after = attempt_time(pod.arrived, attempt - 1, interval)
        entry = (at, 0, after, 1, pod.serial, "retry", (pod.name, pod.serial, attempt))
        lasts = self.last_attempts
        if last and (not lasts or lasts[-1] < entry):
            lasts.append(entry)
        else:
            heapq.heappush(self.queue, entry)

    def _pull_workload(self) -> None:
        """Keep exactly one workload event queued, so long traces stream. It waits beside the
        heap (``upcoming``), the entry ``_push`` would queue: the one event of each pod
        change then costs no heap push and pop."""
        event = next(self.workload, None)
        if event is not None:
            self.upcoming = self._entry(event.time, "workload", event)

    def _schedule_tick(self, node: _Node, time: float, *, exact: bool = False) -> None:
        if node.idle_at is not None:
            self._queue_skipped(node)  # a tick is wanted: the skipped one is queued after all
        at = time if exact else node.tick_point(time)
        if node.tick_at is None or at < node.tick_at:
            node.tick_at = at
            # Ticks go after the other events of their instant, in node order: what a tick
            # sees of its instant does not depend on when it was scheduled.
            entry = (at, 1, at, 0, node.index, "tick", node.spec.name)
            heapq.heappush(self.queue, entry)

    def _schedule_observe(self, node: _Node) -> None:
        last = node.state.last_pool_action_at
        due = node.config.reconcile_interval + (last if last is not None else self.now)
        at = node.cadence(max(due, self.now) + 1e-6)
        if node.observe_at is None or at < node.observe_at:
            node.observe_at = at
            self._push(at, "observe", node.spec.name)

    # -- running ------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> SimulationResult:
        with _without_cyclic_collector() as collect:
            return self._run(progress, collect)

    def _run(self, progress: Callable[[float], None] | None, collect: bool) -> SimulationResult:
        end = self.spec.duration
        handlers: dict[str, Callable[[object], None]] = {
            "tick": self._on_tick,
            "workload": self._on_workload,
            "retry": self._on_retry,
            "done": self._on_done,
            "observe": self._on_observe,
            "sample": self._on_sample,
            "restart": self._on_restart,
            "ec2": self._on_ec2,
        }
        queue, lasts, touched = self.queue, self.last_attempts, self.touched
        handled = 0
        while True:
            # The earliest of the heap, the waiting pods' last attempts and the next workload
            # event (entries are unique: each has its own sequence or pod serial).
            upcoming = self.upcoming
            if lasts and (not queue or lasts[0] < queue[0]):
                if upcoming is not None and upcoming < lasts[0]:
                    entry, self.upcoming = upcoming, None
                else:
                    entry = lasts.popleft()
            elif queue:
                if upcoming is not None and upcoming < queue[0]:
                    entry, self.upcoming = upcoming, None
                else:
                    entry = heapq.heappop(queue)
            elif upcoming is not None:
                entry, self.upcoming = upcoming, None
            else:
                break
            time, _, after, retry, order, kind, payload = entry
            if time > end:
                break
            self.now = time
            self.current = (after, retry, order)
            handlers[kind](payload)
            if self.pending and self.free_slots:
                self._schedule_pending()
            if touched:
                for node in touched:
                    self._confirm(node)
                touched.clear()
            handled += 1
            if collect and handled % GC_EVERY_EVENTS == 0:
                gc.collect()
            if progress is not None:
                progress(time)
        self.now = end
        for node in self.nodes.values():
            self._settle_at_end(node, end)
        self.metrics.pending = len(self.pending)
        self.metrics.sample(end, self.nodes.values(), final=True)
        if self.observer is not None:
            self.observer.sampled(end)
        return self.metrics.result(self.nodes.values(), self.pods.values())

    def _on_sample(self, _: object) -> None:
        self.metrics.pending = len(self.pending)
        self.metrics.sample(self.now, self.nodes.values())
        if self.observer is not None:
            self.observer.sampled(self.now)
        self._push(self.now + self.spec.sample_interval, "sample", None)

    def _on_workload(self, event: object) -> None:
        assert isinstance(event, PodEvent)
        self._pull_workload()
        if event.kind == "add":
            self._pod_add(event)
        else:
            self._pod_delete(event.pod)

    def _offer(self, node: _Node) -> None:
        """Tell the scheduler about a node's current load (after any change to it)."""
        load = node.load
        if load < node.pod_slots:
            heapq.heappush(self.free_slots, (load, node.rank))
            if len(self.free_slots) > 4 * len(self.nodes) + 64:
                self._compact_offers()

    def _compact_offers(self) -> None:
        """Drop the stale offers (a node's older loads), which ``_least_loaded`` discards only
        when they reach the top: left alone they pile up, one per pod event. Every node with
        room has its current offer, so the choice of node is unchanged."""
        self.free_slots = [
            (node.load, node.rank) for node in self.by_rank if node.load < node.pod_slots
        ]
        heapq.heapify(self.free_slots)

    def _place(self, event: PodEvent) -> _Node | None:
        """The simple scheduler: the named node, else the node with the fewest pods that is
        below its pod slots (max pods less host-network pods; ties by name). A heap of
        (load, name) offers, each checked against the node's current load, keeps this
        O(log nodes) per pod. A named node that is full refuses the pod, as kubelet's
        admission does (OutOfpods)."""
        if event.node is not None:
            named = self.nodes[event.node]
            return named if named.load < named.pod_slots else None
        return self._least_loaded()

    def _least_loaded(self) -> _Node | None:
        while self.free_slots:
            load, rank = self.free_slots[0]
            node = self.by_rank[rank]
            if load == node.load and load < node.pod_slots:
                return node
            heapq.heappop(self.free_slots)
        return None

    def _pod_add(self, event: PodEvent) -> None:
        if event.pod in self.pods and not self.pods[event.pod].deleted:
            return
        self.pod_serial += 1
        pod = _Pod(event.pod, self.now, serial=self.pod_serial)
        self.pods[event.pod] = pod
        node = self._place(event)
        if node is None:
            self.metrics.unschedulable += 1
            if event.node is None:
                self.pending[pod.name] = pod
            return
        pod.node = node.spec.name
        self._try_assign(node, pod)
        self._offer(node)

    def _schedule_pending(self) -> None:
        """Place pending pods, oldest first, while some node has a free slot. Time to IP and
        the CNI's timeout count from placement."""
        while self.pending:
            node = self._least_loaded()
            if node is None:
                return
            name = next(iter(self.pending))
            pod = self.pending.pop(name)
            pod.arrived = self.now
            pod.attempt = 0
            pod.node = node.spec.name
            self._try_assign(node, pod)
            self._offer(node)

    def _try_assign(self, node: _Node, pod: _Pod) -> None:
        self._settle(node)
        ip: str | None = None
        # assign_pod_ip is pure, and its answer depends on the datastores and, through cooling
        # addresses, on the clock. When neither changed since the last failure, skip the call.
        if node.down:
            pass  # ipamd is not running: the CNI's ADD gets no address
        elif pod.failed_on is not node.state.datastores or (
            pod.cooled_after is not None and self.now > pod.cooled_after
        ):
            try:  # cheaper than contextlib.suppress, once per CNI ADD
                node.state, ip = assign_pod_ip(node.state, node.config, pod.name, self.now)
            except NoAvailableIPError:
                ip = None  # no address now: the pod waits
        if self.observer is not None:
            self.observer.cni_add(node.spec.name, ip is not None)
        if ip is None:
            if pod.attempt >= self.give_up:
                node.waiting.pop(pod.name, None)
                self.metrics.pod_failed(pod, failure_reason(node.last_error))
                self._offer(node)
                return
            node.waiting[pod.name] = pod
            self._plan_retry(node, pod)
            if pod.attempt == 0:
                # The pool is short: tick at the next cadence point. While the pod waits
                # the ticks go on (``_reconcile``), so a failed retry schedules none.
                self._tick_after_change(node, self.now)
            return
        node.waiting.pop(pod.name, None)
        pod.ip = ip
        self.metrics.pod_started(pod, self.now)
        self._tick_after_change(node, self.now)

    def _plan_retry(self, node: _Node, pod: _Pod) -> None:
        """After a failed attempt, queue the next one that can succeed (see the module doc):
        the last, or the first after the next cooling address cools; a change of the
        datastores queues an earlier one (``_wake``). With an observer, simply the next."""
        ends = None
        if node.down:
            pod.failed_on = None  # the restart wakes it
        else:
            stores = node.state.datastores
            ends = cooling_ends(stores, self.now, node.state.config.ip_cooldown_period)
            pod.failed_on = stores
        pod.cooled_after = ends
        if self.observer is not None:
            self._queue_attempt(pod, pod.attempt + 1)
            return
        attempt = self.give_up
        if ends is not None:
            interval = self.spec.pod_retry_interval
            attempt = min(attempt, first_attempt_after(pod.arrived, interval, pod.attempt, ends))
        self._queue_attempt(pod, attempt)

    def _wake(self, node: _Node) -> None:
        """The node's datastores may have changed: each waiting pod that last failed on other
        datastores tries again at its first retry from now."""
        if node.down or self.observer is not None:
            return
        state = node.state
        stores = state.datastores
        if not state.config.enable_ipv6 and no_free_address(stores, state.prefix_delegation):
            for pod in node.waiting.values():
                # Every attempt fails on these datastores: as if one had been made.
                pod.failed_on, pod.cooled_after = stores, None
            return
        interval = self.spec.pod_retry_interval
        now, current = self.now, self.current
        for pod in node.waiting.values():
            if pod.failed_on is stores:
                continue
            attempt = first_attempt_from(pod.arrived, interval, pod.attempt, now)
            # An attempt now that comes before the event being handled has passed.
            if attempt_time(pod.arrived, attempt, interval) == now:
                before = attempt_time(pod.arrived, attempt - 1, interval)
                attempt += (before, 1, pod.serial) < current
            self._queue_attempt(pod, attempt)

    def _on_retry(self, payload: object) -> None:
        assert isinstance(payload, tuple)
        name, serial, attempt = payload
        pod = self.pods.get(name)
        if pod is None or pod.serial != serial:
            return  # gone
        if attempt == self.give_up:
            pod.last_queued = False
        elif pod.queued != attempt:
            return  # superseded by an earlier attempt
        else:
            pod.queued = -1
        if attempt <= pod.attempt:
            return  # made already (an earlier attempt got it or gave up)
        if pod.deleted or pod.ip is not None or pod.node is None:
            return
        pod.attempt = attempt
        self._try_assign(self.nodes[pod.node], pod)

    def _pod_delete(self, name: str) -> None:
        pod = self.pods.get(name)
        if pod is None or pod.deleted:
            return
        pod.deleted = True
        del self.pods[name]  # only live pods are kept: long runs stay flat in memory
        if pod.node is None:
            self.pending.pop(name, None)
            return
        node = self.nodes[pod.node]
        if pod.ip is None:
            self._settle(node)  # a chain of skipped ticks ends with the waiting
            node.waiting.pop(name, None)
            self._offer(node)
            return
        if self.observer is not None:
            self.observer.cni_del(node.spec.name)
        if name not in node.state.pods:
            self._offer(node)  # its address went with a reconcile (Q26)
            return
        self._settle(node)
        node.state, _ = unassign_pod_ip(node.state, node.config, name, self.now)
        self._offer(node)
        node.state, queued = take_outbox(node.state)
        for action in queued:
            self._submit(node, action)
        self._tick_after_change(node, self.now)
        if node.waiting:
            self._wake(node)

    def _submit(self, node: _Node, action: Action) -> None:
        self._called(node, action, self.ec2.submit(action, node=node.spec.name, at=self.now))

    def _called(self, node: _Node, action: Action, result: CallResult) -> None:
        """Count one step of a call family, and act on its end (or queue its SDK retry)."""
        self.metrics.calls(result.api_calls, result.errors)
        if self.observer is not None:
            self.observer.calls(node.spec.name, action, result)
        if result.pending is not None:
            self._push(result.completes_at, "ec2", (node, action, result.pending))
            return
        if isinstance(action, ALLOCATIONS):
            self._push(result.completes_at, "done", (node.spec.name, result.event))
        elif any(outcome != "ok" for _, outcome in result.api_calls):
            # A failed release leaves the resource attached in EC2; ipamd's reconcile
            # re-adds it once the 60 s cooldown has passed.
            node.divergent = True
            self._schedule_observe(node)

    def _on_ec2(self, payload: object) -> None:
        """An SDK retry falls due: the family goes on, unless ipamd restarted meanwhile (its
        client's retries ended with the process)."""
        assert isinstance(payload, tuple)
        node, action, pending = payload
        if not pending.live:
            # Only a release can be left so (ipamd's loop waits for its allocation, and only
            # an allocation's answer crashes it): EC2 may still hold what it released.
            node.divergent = True
            self._schedule_observe(node)
            return
        self._called(node, action, self.ec2.resume(pending))

    def _on_tick(self, name: object) -> None:
        node = self.nodes[str(name)]
        if node.idle_at is not None and node.idle_at < self.now:
            self._settle(node)  # a skipped tick before this one superseded it
        if node.tick_at != self.now:
            return  # superseded by an earlier tick
        if node.down:
            node.tick_at = None
            return  # ipamd is not running: the restart ticks
        node.tick_at = None
        node.last_tick = self.now
        self._reconcile(node)

    def _reconcile(self, node: _Node) -> None:
        """Run the node's pool tick at ``now``: a new one, or the rest of the one whose call
        has just been answered."""
        step = reconcile(node.state, node.config, self.now)
        node.state = step.state
        for action in step.actions:
            self._submit(node, action)
        if step.start_error is not None:
            self._crash(node)
            return
        if node.waiting:
            self._wake(node)
        if node.state.in_flight is not None:
            return  # the loop is blocked until the call completes
        if step.next_check_at is not None:
            self._tick_after_change(node, step.next_check_at)
        if node.waiting:
            self._tick_after_change(node, self.now + node.config.pool_check_interval)
        if node.state.awaiting_trunk:
            self._schedule_observe(node)

    def _crash(self, node: _Node) -> None:
        """ipamd's start-up failed (spec 7.5): the process exits and kubelet restarts the
        container after its crash-loop back-off, 10 s doubling up to 300 s."""
        node.down = True
        self.ec2.restart_client(node.spec.name)  # the process and its SDK client end
        node.start_failures += 1
        self.metrics.start_failures += 1
        backoff = min(CRASH_BACKOFF_FIRST * 2 ** (node.start_failures - 1), CRASH_BACKOFF_MAX)
        self._push(self.now + backoff, "restart", node.spec.name)

    def _on_restart(self, name: object) -> None:
        """kubelet starts ipamd again: nodeInit with the same settings, then pre-scaling."""
        node = self.nodes[str(name)]
        self._settle(node)
        node.down = False
        node.state = restart(node.state, node.config, self.now)
        for pod in node.waiting.values():
            pod.failed_on = None  # ipamd is back: every waiting pod tries again
        node.state, queued = take_outbox(node.state)
        for action in queued:
            self._submit(node, action)
        node.tick_at = None
        self._schedule_tick(node, self.now, exact=True)
        self._wake(node)

    def _on_done(self, payload: object) -> None:
        assert isinstance(payload, tuple)
        name, event = payload
        node = self.nodes[name]
        self._settle(node)
        if event is None:
            # The call gave nothing ipamd can use; the tick goes on as after a failure.
            node.state = node.state.replace(in_flight=None)
        else:
            node.last_error = event.code if isinstance(event, AllocationFailed) else None
            node.state = apply(node.state, event, self.now)
            if isinstance(event, ENIAttached) and node.state.find_eni(event.eni_id) is None:
                node.divergent = True  # an orphaned ENI (Q14) waits for the reconcile
        if node.divergent:
            self._schedule_observe(node)
        # ipamd's tick goes on right after the call returns (spec 7.3).
        self._reconcile(node)

    def _on_observe(self, name: object) -> None:
        node = self.nodes[str(name)]
        if node.observe_at != self.now:
            return
        self._settle(node)
        node.observe_at = None
        if node.state.in_flight is not None or node.state.tick is not None:
            self._schedule_observe(node)
            return
        if not reconcile_due(node.state, node.config, self.now):
            self._schedule_observe(node)
            return
        observed = MetadataObserved(self.ec2.observe(node=node.spec.name))
        before = node.state
        node.state = apply(node.state, observed, self.now)
        if self.observer is not None:
            self.observer.reconciled(node.spec.name, before, node.state)
        node.divergent = False
        self._offer(node)  # a reconcile can take addresses from pods (Q26)
        if node.waiting:
            self._wake(node)
        self._schedule_tick(node, self.now)
        if node.state.awaiting_trunk:
            self._schedule_observe(node)


def failure_reason(code: str | None) -> str:
    """Why a pod gave up waiting, from the error of its node's last allocation:
    ``subnet_full`` (no free address or /28 block), ``ec2_error`` (any other EC2 error,
    throttling included) or ``timeout`` (no error: the pool could not, or did not, grow in
    time - ENI limits, the max-pods cap, MINIMUM_IP_TARGET alone, slow calls)."""
    if code is None:
        return "timeout"
    return "subnet_full" if code in Ec2Error.INSUFFICIENT else "ec2_error"


def simulate(
    spec: SimulationSpec, *, progress: Callable[[float], None] | None = None
) -> SimulationResult:
    """Run ``spec`` to its end and return the metrics."""
    return Simulation(spec).run(progress)


__all__ = ["Observer", "Simulation", "failure_reason", "simulate"]
