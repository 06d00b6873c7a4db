"""Security groups for pods: ipamd's trunk signal (spec 1.5.2, 7.3 first line, 7.4 step 9).

Expected values come from ipamd's rule, not from the code under test: ipamd writes the
CNINode when ENABLE_POD_ENI is on, card 0 has no trunk ENI and
``len(DS[0].ENIs) < maxENI - unmanaged[0]`` (``tryEnableSecurityGroupsForPods``); the write
(``AddFeatureToCNINode``) patches only a CNINode that lacks the feature, so it happens once
per node.
"""

from __future__ import annotations

import json

import pytest

from tests.builders import CLOCK, ds, eni, node
from vpccni_model import (
    ENI,
    AllocateIPs,
    Config,
    ConfigError,
    FakeEC2,
    InstanceLimits,
    MetadataObserved,
    NodeState,
    ObservedENI,
    SignalTrunkENI,
    TrunkSignal,
    apply,
    instance_limits,
    reconcile,
    restart,
    run_tick,
    trunk_signal,
)
from vpccni_model._ipv4 import int_to_ip
from vpccni_model.cli import main
from vpccni_model.serialize import from_json, to_json
from vpccni_model.sim import Constant, Simulation, SimulationSpec, cluster

M5 = instance_limits("m5.large")  # 3 ENIs x 10 IPv4 (spec 2.2)
POD_ENI = Config(pod_eni=True)


def _observed(e: ENI) -> ObservedENI:
    """What IMDS lists for a card-0 ENI of the datastore: its /32s."""
    return ObservedENI(
        eni_id=e.eni_id,
        device_number=e.device_number,
        network_card=0,
        ips=tuple(int_to_ip(c.network) for c in e.cidrs),
    )


def _card0(
    limits: InstanceLimits, config: Config, *enis: ENI, unmanaged: int = 0, primary_ips: int = 0
) -> NodeState:
    primary = eni("eni-0", 0, primary=True, ips=primary_ips)
    return node(limits, config, ds(primary, *enis, unmanaged=unmanaged), clock=CLOCK)


# -- the decision ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "unmanaged", "config", "expected"),
    [
        # m5.large: maxENI 3. Primary only: 1 < 3 - 0 -> signal.
        ((), 0, POD_ENI, TrunkSignal(True, "slot", 1, 3)),
        # Two ENIs: 2 < 3 -> signal (the pool itself stops at 2 with the trunk reserve, 2.4).
        (("eni-1",), 0, POD_ENI, TrunkSignal(True, "slot", 2, 3)),
        # Three ENIs (attached before pod ENI was turned on): 3 >= 3 -> "no slot".
        (("eni-1", "eni-2"), 0, POD_ENI, TrunkSignal(False, "no-slot", 3, 3)),
        # One unmanaged ENI on card 0: 2 >= 3 - 1 -> "no slot".
        (("eni-1",), 1, POD_ENI, TrunkSignal(False, "no-slot", 2, 2)),
        # Primary and one unmanaged: 1 < 3 - 1 -> signal.
        ((), 1, POD_ENI, TrunkSignal(True, "slot", 1, 2)),
        # MAX_ENI=2 is maxENI (2.3): 2 >= 2 -> "no slot".
        (("eni-1",), 0, Config(pod_eni=True, max_eni=2), TrunkSignal(False, "no-slot", 2, 2)),
        # ENABLE_POD_ENI off: ipamd never calls it.
        ((), 0, Config(), TrunkSignal(False, "pod-eni-off", 1, 3)),
    ],
)
def test_trunk_signal_follows_ipamds_slot_rule(
    extra: tuple[str, ...], unmanaged: int, config: Config, expected: TrunkSignal
) -> None:
    enis = [eni(eni_id, device) for device, eni_id in enumerate(extra, start=1)]
    state = _card0(M5, config, *enis, unmanaged=unmanaged)
    assert trunk_signal(state) == expected


def test_a_trunk_on_card_0_stops_the_signal() -> None:
    state = _card0(M5, POD_ENI, eni("eni-t", 1, trunk=True))
    # 7.3: the tick calls tryEnableSecurityGroupsForPods only while DS[0] has no trunk.
    assert trunk_signal(state) == TrunkSignal(False, "trunk-attached", 2, 3)


def test_excluded_and_efa_enis_count_towards_card_0s_enis() -> None:
    # GetENIs() is len(eniPool): every datastore ENI of card 0 counts, excluded and EFA too.
    state = _card0(M5, POD_ENI, eni("eni-x", 1, excluded=True), eni("eni-e", 2, efa=True))
    assert trunk_signal(state) == TrunkSignal(False, "no-slot", 3, 3)


def test_enis_on_other_cards_do_not_count() -> None:
    p4d = instance_limits("p4d.24xlarge")  # maxENI 15, applied to every card (1.5.5)
    config = Config(pod_eni=True, multi_nic=True)
    card0 = ds(eni("eni-0", 0, primary=True))
    card1 = ds(*(eni(f"eni-1-{d}", d, card=1) for d in range(15)), card=1)
    others = [ds(card=c) for c in p4d.card_indices if c > 1]
    state = node(p4d, config, card0, card1, *others, clock=CLOCK)
    assert trunk_signal(state) == TrunkSignal(True, "slot", 1, 15)


def test_ipv6_never_reaches_the_decision() -> None:
    # In IPv6 ipamd has no pool tick (7.2); the model refuses IPv6 configurations outright,
    # so the decision only ever sees IPv4 nodes.
    with pytest.raises(ConfigError):
        Config(pod_eni=True, enable_ipv4=False, enable_ipv6=True)


# -- the tick emits the write once per node ----------------------------------------------------


def test_the_first_tick_signals_before_the_pool_grows_then_never_again() -> None:
    state = NodeState.boot(M5, POD_ENI, clock=0.0)
    assert not state.trunk_requested
    first = reconcile(state, POD_ENI, 0.0)
    # 7.3: the signal comes before isDatastorePoolTooLow; then the primary ENI's 9 free
    # slots are filled (WARM_ENI_TARGET=1: short of S = 10 - 1 = 9, 6.2).
    assert first.actions == (SignalTrunkENI(), AllocateIPs("eni-0", 9))
    assert first.state.trunk_requested
    # Later ticks: AddFeatureToCNINode finds the feature and writes nothing.
    state = first.state.replace(in_flight=None)
    for clock in (5.0, 10.0, 15.0):
        step = reconcile(state, POD_ENI, clock)
        assert SignalTrunkENI() not in step.actions
        state = step.state.replace(in_flight=None)


def test_no_slot_then_a_slot_signals_at_the_next_tick() -> None:
    three = _card0(M5, POD_ENI, eni("eni-1", 1, ips=9), eni("eni-2", 2, ips=9))
    step = reconcile(three, POD_ENI, CLOCK)
    # 3 ENIs >= 3: "no slot", no write; ipamd will try again at every tick.
    assert SignalTrunkENI() not in step.actions
    assert not step.state.trunk_requested
    # The metadata reconcile (due every tick while a trunk is awaited, 7.7) finds eni-2 gone.
    seen = [e for e in three.datastore(0).enis if e.eni_id != "eni-2"]
    observed = MetadataObserved(tuple(_observed(e) for e in seen))
    state = apply(step.state.replace(in_flight=None), observed, CLOCK + 5)
    assert len(state.datastore(0).enis) == 2
    step = reconcile(state, POD_ENI, CLOCK + 5)
    assert step.actions[0] == SignalTrunkENI()
    assert step.state.trunk_requested


def test_no_signal_while_an_allocation_is_outstanding() -> None:
    # ipamd's loop is blocked on the EC2 call: no tick, so no CNINode call either.
    config = Config()
    blocked = reconcile(NodeState.boot(M5, config), config, 0.0).state
    assert blocked.in_flight is not None
    late = restart(blocked, POD_ENI, 1.0)  # restart forgets the call
    assert late.in_flight is None
    step = reconcile(late, POD_ENI, 1.0)
    assert step.actions[:1] == (SignalTrunkENI(),)


def test_restart_keeps_the_written_feature() -> None:
    # The CNINode is a Kubernetes object: after a restart AddFeatureToCNINode finds the feature.
    step = reconcile(NodeState.boot(M5, POD_ENI), POD_ENI, 0.0)
    again = restart(step.state, POD_ENI, 10.0)
    assert again.trunk_requested
    assert SignalTrunkENI() not in reconcile(again, POD_ENI, 10.0).actions


def test_turning_pod_eni_on_by_restart_signals() -> None:
    state = _card0(M5, Config(), eni("eni-1", 1, ips=9), primary_ips=9)
    on = restart(state, POD_ENI, CLOCK + 10)
    # 2 ENIs < 3 - 0: slot; the feature was never written (pod ENI was off).
    assert reconcile(on, POD_ENI, CLOCK + 10).actions[0] == SignalTrunkENI()


def test_the_signal_makes_one_tick_busy_only() -> None:
    # Primary full of free IPs, WARM_ENI_TARGET=1: Avail 9 = S, neither low nor high (5.4,
    # 5.5), nothing to free (5.8): only the signal. That tick asks for the next; the next
    # has nothing to do.
    state = _card0(M5, POD_ENI, primary_ips=9)
    step = reconcile(state, POD_ENI, CLOCK)
    assert step.actions == (SignalTrunkENI(),)
    assert step.next_check_at == CLOCK + POD_ENI.pool_check_interval
    quiet = reconcile(step.state, POD_ENI, step.next_check_at)
    assert quiet.actions == ()
    assert quiet.next_check_at is None


def test_disabled_provisioning_still_signals() -> None:
    # nodeInit calls tryEnableSecurityGroupsForPods whatever DISABLE_NETWORK_RESOURCE_
    # PROVISIONING says (7.4 step 9); the model's first tick stands for nodeInit.
    config = Config(pod_eni=True, disable_provisioning=True)
    step = reconcile(NodeState.boot(M5, config), config, 0.0)
    assert step.actions == (SignalTrunkENI(),)


# -- drivers -----------------------------------------------------------------------------------


def test_fake_ec2_accepts_the_signal_without_an_ec2_call() -> None:
    ec2 = FakeEC2(M5)
    assert ec2.execute(SignalTrunkENI()) is None
    assert ec2.calls == {}
    assert ec2.observe() == ()  # the default fake plays no resource controller
    result = ec2.submit(SignalTrunkENI(), node="default", at=3.0)
    assert (result.event, result.completes_at, result.api_calls) == (None, 3.0, ())


def test_the_fake_resource_controller_attaches_a_trunk_that_takes_a_slot() -> None:
    state = NodeState.boot(M5, POD_ENI)
    ec2 = FakeEC2.for_node(state)
    ec2.trunk_controller = True
    run = run_tick(state, POD_ENI, ec2, 0.0)
    state = run.state
    assert run.actions[0] == SignalTrunkENI()
    seen = ec2.observe()
    trunks = [o for o in seen if o.is_trunk]
    # The tick grew the primary ENI (device 0); the trunk went to card 0 at the lowest free
    # device, 1, with no secondary address.
    assert [(o.network_card, o.device_number, o.ips) for o in trunks] == [(0, 1, ())]
    assert ec2.calls == {"AssignPrivateIpAddresses": 1}  # ipamd's AllocateIPs only
    # The metadata reconcile takes it in: the node no longer awaits a trunk, and the trunk
    # holds one of the three slots (maxENI 3): primary + trunk + 0 reserve < 3 (2.4).
    state = apply(state, MetadataObserved(seen), 5.0)
    assert state.datastore(0).has_trunk and not state.awaiting_trunk
    assert [e.eni_id for e in state.datastore(0).enis] == ["eni-0", trunks[0].eni_id]
    assert trunk_signal(state).reason == "trunk-attached"
    # A second signal (not emitted by the model, but a driver may repeat it) adds nothing.
    ec2.execute(SignalTrunkENI())
    assert len([o for o in ec2.observe() if o.is_trunk]) == 1


def test_the_fake_resource_controller_needs_a_free_device() -> None:
    tiny = InstanceLimits(name="test.one-eni", max_enis=1, ipv4_per_eni=4)
    ec2 = FakeEC2(tiny, trunk_controller=True)
    ec2.register_eni("eni-0", 0, 0)
    ec2.execute(SignalTrunkENI())
    assert [o.is_trunk for o in ec2.observe()] == [False]


def test_trunk_controller_must_be_a_bool() -> None:
    with pytest.raises(ConfigError, match="trunk_controller"):
        FakeEC2(M5, trunk_controller=1)  # type: ignore[arg-type]


def test_the_action_and_the_flag_round_trip_through_json() -> None:
    assert to_json(SignalTrunkENI()) == '{"type":"SignalTrunkENI"}'
    assert from_json('{"type":"SignalTrunkENI"}', SignalTrunkENI) == SignalTrunkENI()
    step = reconcile(NodeState.boot(M5, POD_ENI), POD_ENI, 0.0)
    assert from_json(to_json(step.state), NodeState) == step.state
    assert '"trunk_requested":true' in to_json(step.state)


@pytest.mark.parametrize(("controller", "enis"), [(False, 2), (True, 3)])
def test_the_simulator_shows_the_trunk_taking_its_slot(controller: bool, enis: int) -> None:
    # m5.large, 5 pods, WARM_ENI_TARGET=1: the primary's 9 IPs leave 4 available < 9, so a
    # second pool ENI is wanted; the trunk reserve (2.4) keeps the third slot either way.
    # With the resource controller the trunk takes that slot: primary, pool ENI and trunk.
    spec = SimulationSpec(
        nodes=cluster(M5, POD_ENI, 1),
        workload=Constant(5),
        duration=600.0,
        trunk_controller=controller,
    )
    sim = Simulation(spec)
    result = sim.run()
    (node_state,) = (n.state for n in sim.nodes.values())
    assert node_state.trunk_requested
    assert node_state.datastore(0).has_trunk is controller
    assert result.series[-1].enis == enis
    assert result.series[-1].pods == 5
    # The controller's calls are not ipamd's: the same EC2 calls either way.
    assert result.calls_by_api["CreateNetworkInterface"] == {"ok": 1}


def test_simulation_spec_checks_trunk_controller() -> None:
    with pytest.raises(ConfigError, match="trunk_controller"):
        SimulationSpec(
            nodes=cluster(M5, POD_ENI, 1),
            workload=Constant(5),
            duration=60.0,
            trunk_controller="yes",  # type: ignore[arg-type]
        )


def test_simulate_cli_runs_the_resource_controller_on_request(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["simulate", "--instance", "m5.large", "--nodes", "1", "--hours", "0.05"]
    argv += ["--env", "ENABLE_POD_ENI=true", "--quiet", "--json"]
    for flag, expected in (([], False), (["--trunk-controller"], True)):
        assert main([*argv, *flag]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["inputs"]["trunk_controller"] is expected


@pytest.mark.parametrize(("max_enis", "signal"), [(1, False), (4, True)])
def test_go_vector_enable_security_groups_for_pods(max_enis: int, signal: bool) -> None:
    # ipamd_test.go TestIPAMContext_enableSecurityGroupsForPods: one ENI in the card-0
    # datastore, no unmanaged ENI; maxENI 1 leaves no room (CNINode untouched), maxENI 4 does.
    limits = InstanceLimits(name="test.sgp", max_enis=max_enis, ipv4_per_eni=4)
    state = _card0(limits, POD_ENI)
    assert trunk_signal(state).signal is signal
    assert (SignalTrunkENI() in reconcile(state, POD_ENI, CLOCK).actions) is signal
