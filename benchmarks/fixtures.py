"""Node states to benchmark, built only through vpccni_model's public API.

Every fixture is a (state, config, clock) triple for ``reconcile`` or the pod path. A
*converged* fixture is a settled ``steady_state``; its ``reconcile`` must emit no action. An
*acting* fixture is the converged state with the pods on its top ENIs (or top prefixes)
removed, reconciled an hour later (past every cooldown and the ENI minimum lifetime); its
``reconcile`` must emit an action. Both are checked when the fixture is built.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vpccni_model import (
    Action,
    Config,
    InstanceLimits,
    NodeState,
    instance_limits,
    max_pods,
    reconcile,
    steady_state,
    unassign_pod_ip,
)

SMALL = "t3.small"  # 3 ENIs x 3 secondary IPs, max pods 11
LARGE = "p3dn.24xlarge"  # 15 ENIs x 49 secondary IPs, max pods 737
#: Host-network pods (aws-node, kube-proxy) that max pods counts but that take no pod IP.
HOST_NETWORK_PODS = 2
#: How long after the last steady-state step the benchmarked reconcile runs.
LATER = 3600.0
#: Docs-table row timed against the steady_state budget (README's main job).
DOCS_ROW_CONFIG = {"warm_ip_target": 2, "minimum_ip_target": 5}
DOCS_ROW_PODS = 5


@dataclass(frozen=True)
class Fixture:
    name: str
    description: str
    state: NodeState
    config: Config
    clock: float
    actions: tuple[Action, ...] = field(default=())

    @property
    def shape(self) -> str:
        pd = self.state.prefix_delegation
        per_eni = [e.prefix_cidrs if pd else e.ip_cidrs for e in self.state.enis]
        unit = "prefixes" if pd else "IPs"
        if len(set(per_eni)) == 1:
            return f"{len(per_eni)} ENIs x {per_eni[0]} {unit}, {len(self.state.pods)} pods"
        return f"ENIs {per_eni} {unit}, {len(self.state.pods)} pods"


def _converged(name: str, description: str, state: NodeState, config: Config) -> Fixture:
    clock = state.clock + LATER
    step = reconcile(state, config, clock)
    if step.actions or step.state.in_flight is not None:
        raise RuntimeError(f"{name}: expected a converged node, reconcile gave {step.actions}")
    return Fixture(name, description, state, config, clock)


def _acting(
    name: str,
    description: str,
    state: NodeState,
    config: Config,
    victims: Callable[[NodeState], list[str]],
    *,
    required: bool = True,
) -> Fixture | None:
    """Remove ``victims(state)`` one second after convergence, reconcile an hour later."""
    removed_at = state.clock + 1.0
    pods = victims(state)
    for pod in pods:
        state, _ = unassign_pod_ip(state, config, pod, removed_at)
    clock = removed_at + LATER
    step = reconcile(state, config, clock)
    if not step.actions:
        if required:
            raise RuntimeError(f"{name}: expected an action after removing {len(pods)} pods")
        return None
    return Fixture(
        name, f"{description}; {len(pods)} pods removed", state, config, clock, step.actions
    )


def pods_on_top_enis(count: int) -> Callable[[NodeState], list[str]]:
    """The pods on the last ``count`` ENIs (device order)."""

    def pick(state: NodeState) -> list[str]:
        top = {eni.eni_id for eni in state.enis[-count:]}
        return sorted(pod for pod, where in state.pods.items() if where.eni_id in top)

    return pick


def pods_on_top_prefixes(count: int) -> Callable[[NodeState], list[str]]:
    """The pods on the last ``count`` prefixes of the last ENI."""

    def pick(state: NodeState) -> list[str]:
        last = state.enis[-1].eni_id
        cidrs = sorted({w.cidr for w in state.pods.values() if w.eni_id == last})
        top = set(cidrs[-count:])
        return sorted(p for p, w in state.pods.items() if w.eni_id == last and w.cidr in top)

    return pick


def _check_shape(state: NodeState, enis: int, per_eni: int, pods: int, what: str) -> None:
    pd = state.prefix_delegation
    got = [e.prefix_cidrs if pd else e.ip_cidrs for e in state.enis]
    if got != [per_eni] * enis or len(state.pods) != pods:
        raise RuntimeError(f"{what}: expected {enis} x {per_eni}, {pods} pods; got {got}")


def small_nodes() -> tuple[Fixture, Fixture]:
    """t3.small, WARM_ENI_TARGET=1, 9 pods: 3 ENIs x 3 IPs (max pods 11 = 9 + 2)."""
    config = Config()
    state = steady_state(instance_limits(SMALL), config, 9).state
    _check_shape(state, 3, 3, 9, "small")
    text = "t3.small, WARM_ENI_TARGET=1, 9 pods"
    converged = _converged("small", text, state, config)
    acting = _acting("small", text, state, config, pods_on_top_enis(2))
    assert acting is not None
    return converged, acting


def large_nodes() -> tuple[Fixture, Fixture]:
    """p3dn.24xlarge, WARM_ENI_TARGET=1, 735 pods: 15 ENIs x 49 IPs.

    Max pods is 737 = 15 x 49 + 2: the two host-network pods take no pod IP, so 735 pods
    with an IP (737 pods on the node) is the real maximum.
    """
    config = Config()
    state = steady_state(instance_limits(LARGE), config, 735).state
    _check_shape(state, 15, 49, 735, "large")
    text = "p3dn.24xlarge, WARM_ENI_TARGET=1, 735 pods (+2 host-network = max pods 737)"
    converged = _converged("large", text, state, config)
    acting = _acting("large", text, state, config, pods_on_top_enis(2))
    assert acting is not None
    return converged, acting


def prefix_large_nodes(max_eni: int | None = None) -> tuple[Fixture, Fixture]:
    """p3dn.24xlarge in prefix mode, every address in use: 15 ENIs x 49 prefixes.

    EKS's published max pods (737, the secondary-IP formula) would stop the pool at 47
    prefixes (Q15), and the EKS calculator's 250 cap at 16; ``max_pods`` is therefore set to
    the prefix-mode formula without a cap, 15 x 49 x 16 + 2 = 11,762, and 11,760 pods fill
    every prefix. ``max_eni`` (MAX_ENI) shrinks the node for ``--quick``.
    """
    limits = instance_limits(LARGE)
    enis = max_eni or limits.max_enis
    pods = enis * limits.cidrs_per_eni * 16
    config = Config(
        prefix_delegation=True,
        warm_prefix_target=1,
        max_eni=max_eni,
        max_pods=max_pods(limits, prefix_delegation=True, max_eni=max_eni),
    )
    state = steady_state(limits, config, pods).state
    _check_shape(state, enis, limits.cidrs_per_eni, pods, "prefix large")
    text = (
        f"p3dn.24xlarge, prefix delegation, WARM_PREFIX_TARGET=1, "
        f"max_pods={config.max_pods}{f', MAX_ENI={max_eni}' if max_eni else ''}, {pods} pods"
    )
    converged = _converged("prefix_large", text, state, config)
    acting = _acting("prefix_large", text, state, config, pods_on_top_prefixes(2))
    assert acting is not None
    return converged, acting


def pair_node(large: Fixture) -> tuple[NodeState, Config, float, str]:
    """The converged large node with one pod deleted; the pair runs 60 s later, when the
    freed address has cooled down (IP_COOLDOWN_PERIOD 30 s), so the new pod reuses it."""
    config = large.config
    removed_at = large.state.clock + 1.0
    state, _ = unassign_pod_ip(large.state, config, "pod-367", removed_at)
    return state, config, removed_at + 60.0, "bench/pair"


def synthetic_limits(enis: int, addresses: int) -> InstanceLimits:
    """An instance type with ``enis`` ENIs of ``addresses`` secondary IPs each."""
    return InstanceLimits(
        name=f"synthetic-{enis}x{addresses}", max_enis=enis, ipv4_per_eni=addresses + 1
    )


def synthetic_nodes(enis: int, addresses: int) -> tuple[Fixture, Fixture | None]:
    """A full node of the synthetic type (WARM_ENI_TARGET=1, enis x addresses pods), and the
    same with the pods of its top two ENIs removed when that makes ipamd act (>= 3 ENIs)."""
    config = Config()
    pods = enis * addresses
    state = steady_state(synthetic_limits(enis, addresses), config, pods).state
    _check_shape(state, enis, addresses, pods, f"synthetic {enis}x{addresses}")
    text = f"synthetic {enis} ENIs x {addresses} IPs, {pods} pods"
    name = f"synthetic-{enis}x{addresses}"
    converged = _converged(name, text, state, config)
    acting = None
    if enis >= 3:
        acting = _acting(name, text, state, config, pods_on_top_enis(2), required=False)
    return converged, acting
