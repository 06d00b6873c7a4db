"""The Ec2 driver interface: FakeEC2 satisfies it, and it is all that converge and the
simulator need once the nodes exist (so a boto3-backed driver can stand in for the fake)."""

from __future__ import annotations

from vpccni_model import Config, NodeState, instance_limits
from vpccni_model._actions import Action
from vpccni_model._events import Event, ObservedENI
from vpccni_model._steady import converge
from vpccni_model.cloud import CallResult, Ec2, FakeEC2, Latency
from vpccni_model.sim import PoissonChurn, Simulation, SimulationSpec, cluster

PROTOCOL = ["execute", "observe", "submit", "subnet_free"]


class OnlyEc2:
    """The Ec2 methods of a hidden FakeEC2, and nothing else: no registration, no counters."""

    __slots__ = ("_fake",)

    def __init__(self, fake: FakeEC2) -> None:
        self._fake = fake

    def submit(self, action: Action, *, node: str, at: float) -> CallResult:
        return self._fake.submit(action, node=node, at=at)

    def execute(self, action: Action, *, node: str | None = None) -> Event | None:
        return self._fake.execute(action, node=node)

    def observe(self, node: str | None = None) -> tuple[ObservedENI, ...]:
        return self._fake.observe(node)

    def subnet_free(self, name: str | None = None) -> tuple[int, int]:
        return self._fake.subnet_free(name)


def test_the_protocol_is_exactly_the_four_calls() -> None:
    assert sorted(name for name in vars(Ec2) if not name.startswith("_")) == PROTOCOL
    assert sorted(name for name in vars(OnlyEc2) if not name.startswith("_")) == PROTOCOL


def test_fake_ec2_is_an_ec2() -> None:
    assert isinstance(FakeEC2(instance_limits("m5.large")), Ec2)
    assert isinstance(FakeEC2(subnets={"a": "10.0.0.0/24"}, latency=Latency()), Ec2)
    assert isinstance(OnlyEc2(FakeEC2()), Ec2)


def test_a_class_missing_a_call_is_not_an_ec2() -> None:
    class NoObserve:
        def submit(self, action: Action, *, node: str, at: float) -> CallResult:
            raise NotImplementedError

        def execute(self, action: Action, *, node: str | None = None) -> Event | None:
            raise NotImplementedError

        def subnet_free(self, name: str | None = None) -> tuple[int, int]:
            raise NotImplementedError

    assert not isinstance(NoObserve(), Ec2)


def test_converge_runs_on_the_protocol_alone() -> None:
    # The default config grows by whole ENIs; WARM_IP_TARGET/MINIMUM_IP_TARGET by IPs.
    for config in (Config(), Config(warm_ip_target=2, minimum_ip_target=5)):
        state = NodeState.boot(instance_limits("m5.large"), config)
        reference = FakeEC2.for_node(state)
        hidden = FakeEC2.for_node(state)
        expected = converge(state, config, reference, 0.0)
        got = converge(state, config, OnlyEc2(hidden), 0.0)
        assert (got.state, got.clock, got.settled, got.ticks) == (
            expected.state,
            expected.clock,
            expected.settled,
            expected.ticks,
        )
        assert got.settled
        assert hidden.calls == reference.calls
        assert hidden.observe() == reference.observe()


def test_the_simulator_runs_on_the_protocol_alone() -> None:
    # Registration is the fake's (Simulation boots the nodes on it); after that the engine and
    # its metrics see only the Ec2 calls.
    nodes = cluster(instance_limits("t3.medium"), Config(warm_ip_target=2), 3)
    spec = SimulationSpec(nodes, PoissonChurn(8, 2.0), duration=1800.0, seed=3)
    expected = Simulation(spec).run()
    simulation = Simulation(spec)
    stand_in = OnlyEc2(simulation.ec2)
    simulation.ec2 = stand_in  # type: ignore[assignment]
    simulation.metrics.ec2 = stand_in
    got = simulation.run()
    assert got.to_dict() == expected.to_dict()
    assert got.summary.ec2_calls > 0
