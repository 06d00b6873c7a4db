"""vpccni_model.aws: ipamd's EC2 calls through boto3, against moto and botocore's Stubber.

moto's EC2 backend (in-process, and once as its standalone server on 127.0.0.1) plays the
instance for whole runs: boot, scale up with pods, scale down, an ENI freed after its 60 s
minimum lifetime, and at the end EC2 holds exactly what the model's state says. Where moto
does not implement what ipamd sends (``Ipv4PrefixCount``, ``Ipv4Prefixes`` on unassign,
``Attachment.DeleteOnTermination``, per-ENI limits), the test name says so and botocore's
Stubber checks the request and answers with the EC2 API reference's response shape. Throttling
goes through botocore's real retry handler (a Stubber answers before it), with a
``before-send`` hook answering HTTP 503 RequestLimitExceeded. Nothing leaves 127.0.0.1: every
client points at a loopback endpoint or at moto's in-process mock, with dummy credentials.
"""

from __future__ import annotations

import ipaddress
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# boto3 and moto come with the test extra: a missing one fails here rather than skipping.
import boto3
import moto
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber

from vpccni_model import (
    Config,
    NodeState,
    assign_pod_ip,
    instance_limits,
    unassign_pod_ip,
)
from vpccni_model._actions import (
    AllocateENI,
    AllocateIPs,
    AllocateIPv6ENI,
    AllocateIPv6Prefix,
    AllocatePrefixes,
    FreeENI,
    ReleaseIPs,
    ReleasePrefixes,
)
from vpccni_model._events import (
    AllocationFailed,
    Ec2Error,
    ENIAttached,
    IPsAllocated,
    IPv6PrefixAllocated,
    PrefixesAllocated,
)
from vpccni_model._ipv4 import int_to_ip, ip_to_int, prefix_text
from vpccni_model._steady import converge
from vpccni_model._subnets import PRIMARY_SUBNET, ENIConfigSubnet
from vpccni_model.aws import (
    CLUSTER_TAG,
    CREATED_AT_TAG,
    NODE_TAG,
    OWNER_TAG,
    Boto3EC2,
    make_client,
)
from vpccni_model.cloud import Ec2, run_tick

REGION = "us-west-2"
ZONE = "us-west-2a"
LOOPBACK = "http://127.0.0.1:9"  # discard port: a request nothing answered fails locally
INSTANCE = "i-0123456789abcdef0"
PRIMARY = "eni-0primary000000000"
SUBNET = "subnet-0aaaaaaaaaaaaaaaa"
GROUP = "sg-0bbbbbbbbbbbbbbbb"
VPC = "vpc-0cccccccccccccccc"
ROOT = Path(__file__).resolve().parent.parent


def no_sleep(_seconds: float) -> None:
    """ipamd's waits (2 s after detach, the retry loops' backoff) cost nothing in tests."""


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials, no profile or config files, no instance metadata lookups."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # moto draws ENI ids from the random module (a fixed seed, fixed ids) and an ENI's
    # addresses at random from the subnet, without checking the subnet for clashes: hand them
    # out from the top of the subnet down instead, each once (instances' primary addresses
    # come from the bottom), so that no run can draw one address twice.
    random.seed(13)
    from moto.ec2.models import elastic_network_interfaces as moto_enis

    drawn: dict[str, int] = {}
    random_ip = moto_enis.random_private_ip

    def next_ip(cidr: str | None = None, ipv6: bool = False) -> str:
        if cidr is None or ipv6:
            return str(random_ip(cidr, ipv6))
        network = ipaddress.IPv4Network(cidr)
        drawn[cidr] = drawn.get(cidr, int(network.broadcast_address)) - 1
        return str(ipaddress.IPv4Address(drawn[cidr]))

    monkeypatch.setattr(moto_enis, "random_private_ip", next_ip)


def make_instance(client: Any) -> tuple[str, str]:
    """A VPC, a /16 subnet and one m5.large in it: (instance id, subnet id)."""
    vpc = client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = client.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/16", AvailabilityZone=ZONE)
    subnet_id = subnet["Subnet"]["SubnetId"]
    image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    reservation = client.run_instances(
        ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1, SubnetId=subnet_id
    )
    return reservation["Instances"][0]["InstanceId"], subnet_id


@pytest.fixture
def moto_node(aws_env: None) -> Iterator[tuple[Any, Boto3EC2]]:
    """moto's EC2 in-process with one m5.large; the driver for it."""
    with moto.mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        instance_id, _ = make_instance(client)
        yield client, Boto3EC2(instance_id, region=REGION, sleep=no_sleep)


def ec2_view(client: Any, instance_id: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    """ENI id -> (device, secondary addresses ascending) as DescribeNetworkInterfaces shows."""
    found = client.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
    )["NetworkInterfaces"]
    view = {}
    for eni in found:
        ips = sorted(
            (a["PrivateIpAddress"] for a in eni["PrivateIpAddresses"] if not a["Primary"]),
            key=lambda t: tuple(map(int, t.split("."))),
        )
        view[eni["NetworkInterfaceId"]] = (eni["Attachment"]["DeviceIndex"], tuple(ips))
    return view


def model_view(state: NodeState) -> dict[str, tuple[int, tuple[str, ...]]]:
    """The same, from the model's datastores."""
    return {
        eni.eni_id: (
            eni.device_number,
            tuple(int_to_ip(c.network) for c in eni.cidrs if not c.is_prefix),
        )
        for store in state.datastores
        for eni in store.enis
    }


def secondary_counts(state: NodeState) -> list[int]:
    return [len(eni.cidrs) for store in state.datastores for eni in store.enis]


# -- the package boundary --------------------------------------------------------------------


def test_the_core_imports_without_boto3() -> None:
    script = (
        "import sys\n"
        "for name in ('boto3', 'botocore', 'moto'):\n"
        "    sys.modules[name] = None\n"
        "import vpccni_model, vpccni_model.cloud, vpccni_model.sim, vpccni_model.cli\n"
        "import vpccni_model.serialize, vpccni_model.node_dump\n"
        "try:\n"
        "    import vpccni_model.aws\n"
        "except ImportError:\n"
        "    print('aws needs boto3')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "aws needs boto3"


def test_the_driver_is_an_ec2(moto_node: tuple[Any, Boto3EC2]) -> None:
    _, driver = moto_node
    assert isinstance(driver, Ec2)
    assert driver.instance_type == "m5.large"
    assert driver.limits == instance_limits("m5.large")


# -- whole runs against moto -----------------------------------------------------------------


def test_moto_node_boots_scales_up_and_down_and_frees_an_eni_after_60_s(
    moto_node: tuple[Any, Boto3EC2],
) -> None:
    client, driver = moto_node
    config = Config()  # WARM_ENI_TARGET=1; m5.large: 3 ENIs of 9 secondary IPs (spec 2.1)
    state = driver.boot_state(config)
    assert model_view(state) == {driver.primary_eni_id: (0, ())}

    # Boot: pre-scaling fills the primary ENI with its 9 secondary IPs, which is a whole warm
    # ENI's worth (spec 7.5), so no second ENI.
    booted = converge(state, config, driver, 0.0)
    assert booted.settled
    state, clock = booted.state, booted.clock
    assert secondary_counts(state) == [9]
    assert ec2_view(client, driver.instance_id) == model_view(state)

    # Scale up: 12 pods span two ENIs and WARM_ENI_TARGET keeps a third whole ENI free.
    for n in range(12):
        state, _ = assign_pod_ip(state, config, f"default/web-{n}", clock)
        if n % 4 == 3:  # pods arrive in batches; ipamd reacts on its ticks
            grown = converge(state, config, driver, clock + 1.0)
            state, clock = grown.state, grown.clock
    assert secondary_counts(state) == [9, 9, 9]
    assert ec2_view(client, driver.instance_id) == model_view(state)
    attached_at = {e.eni_id: e.created_at for s in state.datastores for e in s.enis}

    # Scale down: every pod goes; ticks every 5 s. Each ENI beyond the primary is freed one
    # per tick once its 60 s minimum lifetime is over (spec 6.6, 7.1) and its addresses have
    # cooled (30 s).
    for n in range(12):
        state, _ = unassign_pod_ip(state, config, f"default/web-{n}", clock)
    freed_at: dict[str, float] = {}
    tick = clock + 5.0
    while tick < clock + 300.0:
        ran = run_tick(state, config, driver, tick)
        state = ran.state
        for action in ran.actions:
            if isinstance(action, FreeENI):
                freed_at[action.eni_id] = tick
                assert action.eni_id not in ec2_view(client, driver.instance_id)
        tick += 5.0
    assert len(freed_at) == 2 and driver.primary_eni_id not in freed_at
    for eni_id, when in freed_at.items():
        assert when >= attached_at[eni_id] + 60.0
    assert secondary_counts(state) == [9]
    assert ec2_view(client, driver.instance_id) == model_view(state)
    assert driver.stats.leaked_enis == 0
    calls = driver.calls
    assert calls["CreateNetworkInterface"] == 2
    assert calls["AttachNetworkInterface"] == 2
    assert calls["ModifyNetworkInterfaceAttribute"] == 2
    assert calls["DetachNetworkInterface"] == 2
    assert calls["DeleteNetworkInterface"] == 2


def test_moto_warm_ip_target_grows_and_releases_single_addresses(
    moto_node: tuple[Any, Boto3EC2],
) -> None:
    client, driver = moto_node
    # WARM_IP_TARGET=2, MINIMUM_IP_TARGET=4: at boot 4 addresses; with 5 pods 7 (5 + 2 warm).
    config = Config(warm_ip_target=2, minimum_ip_target=4)
    run = converge(driver.boot_state(config), config, driver, 0.0)
    state, clock = run.state, run.clock
    assert secondary_counts(state) == [4]
    for n in range(5):
        state, _ = assign_pod_ip(state, config, f"default/api-{n}", clock)
        run = converge(state, config, driver, clock + 1.0)
        state, clock = run.state, run.clock
    assert secondary_counts(state) == [7]
    assert ec2_view(client, driver.instance_id) == model_view(state)
    for n in range(5):
        state, _ = unassign_pod_ip(state, config, f"default/api-{n}", clock)
    run = converge(state, config, driver, clock + 1.0)
    assert secondary_counts(run.state) == [4]  # back to MINIMUM_IP_TARGET, via Unassign
    assert ec2_view(client, driver.instance_id) == model_view(run.state)
    assert driver.calls["UnassignPrivateIpAddresses"] >= 1


def test_moto_eni_has_ipamds_description_and_tags(aws_env: None) -> None:
    with moto.mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        instance_id, subnet_id = make_instance(client)
        driver = Boto3EC2(
            instance_id,
            region=REGION,
            cluster_name="prod",
            additional_tags={"team": "net"},
            sleep=no_sleep,
        )
        event = driver.execute(AllocateENI(network_card=0, count=3))
        assert isinstance(event, ENIAttached)
        assert (event.device_number, event.network_card, len(event.ips)) == (1, 0, 3)
        # The fixture's allocator: the primary took 10.0.255.254, the secondaries the next.
        assert event.ips == ("10.0.255.251", "10.0.255.252", "10.0.255.253")
        eni = client.describe_network_interfaces(NetworkInterfaceIds=[event.eni_id])
        eni = eni["NetworkInterfaces"][0]
        assert eni["Description"] == f"aws-K8S-{instance_id}"
        assert eni["SubnetId"] == subnet_id
        tags = {t["Key"]: t["Value"] for t in eni["TagSet"]}
        assert tags[NODE_TAG] == instance_id
        assert tags[CLUSTER_TAG] == "prod"
        assert tags[OWNER_TAG] == "amazon-vpc-cni"
        assert tags["team"] == "net"
        assert len(tags[CREATED_AT_TAG]) == 20 and tags[CREATED_AT_TAG].endswith("Z")
        assert eni["Attachment"]["InstanceId"] == instance_id
        # A second ENI takes the next free device index.
        second = driver.execute(AllocateENI(network_card=0, count=1))
        assert isinstance(second, ENIAttached) and second.device_number == 2
        seen = driver.observe()
        assert [e.device_number for e in seen] == [0, 1, 2]
        assert driver.observe(instance_id) == seen


def test_moto_subnet_free_reads_available_count_and_free_blocks(
    moto_node: tuple[Any, Boto3EC2],
) -> None:
    client, driver = moto_node
    free, blocks = driver.subnet_free()
    # A /16: 65,536 - 5 reserved addresses, less the instance's primary address. Its /28
    # blocks: 4,096, less the first (it holds the reserved .0-.3) and the last (.255), less
    # the one holding the primary address unless that is one of those two.
    assert free == 65536 - 5 - 1
    eni = client.describe_network_interfaces(NetworkInterfaceIds=[driver.primary_eni_id])
    primary = ip_to_int(eni["NetworkInterfaces"][0]["PrivateIpAddress"])
    edge = primary >> 4 in (0x0A000000 >> 4, 0x0A00FFF0 >> 4)
    assert blocks == 4096 - 2 - (0 if edge else 1)
    # Three secondary addresses in one fresh block take that block too.
    driver.execute(AllocateIPs(driver.primary_eni_id, 3))
    after_free, after_blocks = driver.subnet_free()
    assert after_free == free - 3
    assert after_blocks <= blocks


def test_moto_release_and_free_of_unknown_enis_make_no_trouble(
    moto_node: tuple[Any, Boto3EC2],
) -> None:
    _, driver = moto_node
    # FreeENI of an ENI EC2 does not know: the describe says NotFound, ipamd counts it done.
    assert driver.execute(FreeENI("eni-0000000000000dead")) is None
    assert driver.stats.api["DescribeNetworkInterfaces"]["failed"] == 1
    assert "DetachNetworkInterface" not in driver.calls
    # Releasing nothing makes no call (DeallocIPAddresses returns first).
    assert driver.execute(ReleaseIPs(driver.primary_eni_id, ())) is None
    assert "UnassignPrivateIpAddresses" not in driver.calls


def test_other_nodes_are_refused(moto_node: tuple[Any, Boto3EC2]) -> None:
    _, driver = moto_node
    with pytest.raises(Exception, match="node"):
        driver.observe("i-0someoneelse")


@pytest.fixture
def moto_server(aws_env: None) -> Iterator[str]:
    """moto's standalone server on a free loopback port, stopped afterwards: its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        assert host == "127.0.0.1"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def test_moto_server_end_to_end_through_endpoint_url(moto_server: str) -> None:
    setup = boto3.client("ec2", region_name=REGION, endpoint_url=moto_server)
    instance_id, _ = make_instance(setup)
    driver = Boto3EC2(instance_id, region=REGION, endpoint_url=moto_server, sleep=no_sleep)
    config = Config()
    run = converge(driver.boot_state(config), config, driver, 0.0)
    state, clock = run.state, run.clock
    for n in range(8):
        state, _ = assign_pod_ip(state, config, f"default/job-{n}", clock)
        if n % 4 == 3:
            run = converge(state, config, driver, clock + 1.0)
            state, clock = run.state, run.clock
    # 8 pods leave one free address of 9 on the primary ENI: below a whole warm ENI, so a
    # second ENI of 9 (then 10 free >= 9).
    assert secondary_counts(state) == [9, 9]
    assert ec2_view(setup, instance_id) == model_view(state)
    assert driver.calls["CreateNetworkInterface"] == 1


def run_example(*args: str, block_boto3: bool = False) -> str:
    runner = (
        "import runpy, sys\n"
        + ("sys.modules['boto3'] = None\n" if block_boto3 else "")
        + f"sys.argv = ['controller_loop.py', *{list(args)!r}]\n"
        + "runpy.run_path('examples/controller_loop.py', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", runner],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_example_controller_loop_against_the_moto_server(moto_server: str) -> None:
    setup = boto3.client("ec2", region_name=REGION, endpoint_url=moto_server)
    instance_id, _ = make_instance(setup)
    out = run_example(
        "--instance-id",
        instance_id,
        "--region",
        REGION,
        "--endpoint-url",
        moto_server,
        "--ticks",
        "4",
        "--pods",
        "3",
        "--no-wait",
    )
    assert f"live: m5.large {instance_id}" in out
    # The first tick is pre-scaling: the primary ENI gets its 9 secondary IPs. One pod leaves
    # 8 free, less than a whole warm ENI (WARM_ENI_TARGET=1): a second ENI of 9.
    assert "AllocateIPs: AssignPrivateIpAddresses:ok" in out
    assert (
        "AllocateENI: DescribeSubnets:ok, CreateNetworkInterface:ok, DescribeInstances:ok, "
        "AttachNetworkInterface:ok, ModifyNetworkInterfaceAttribute:ok, DescribeSubnets:ok" in out
    )
    assert "done: 2 ENIs, CIDRs 9+9, 3 pods" in out
    view = ec2_view(setup, instance_id)
    assert sorted((device, len(ips)) for device, ips in view.values()) == [(0, 9), (1, 9)]


def test_example_controller_loop_dry_run_calls_no_ec2() -> None:
    out = run_example("--dry-run", "--ticks", "3", "--no-wait", block_boto3=True)
    assert "dry run: m5.large" in out
    assert (
        "would call AssignPrivateIpAddresses NetworkInterfaceId=eni-0 "
        "SecondaryPrivateIpAddressCount=9" in out
    )
    # No pods: pre-scaling's 9 addresses are a whole warm ENI, nothing more. With pods (one
    # per tick, the first waiting for pre-scaling), 8 free < 9: the next tick creates an ENI.
    assert "would call CreateNetworkInterface Description=aws-K8S-i-0dryrun000000000" not in out
    out = run_example("--dry-run", "--ticks", "3", "--pods", "2", "--no-wait", block_boto3=True)
    assert "would call CreateNetworkInterface Description=aws-K8S-i-0dryrun000000000" in out
    assert "would call ModifyNetworkInterfaceAttribute Attachment.DeleteOnTermination=true" in out


# -- Stubber: what moto lacks, and the error mapping -----------------------------------------


def describe_instance_response(*enis: dict[str, Any]) -> dict[str, Any]:
    interfaces = [
        {
            "NetworkInterfaceId": PRIMARY,
            "SubnetId": SUBNET,
            "Groups": [{"GroupId": GROUP, "GroupName": "node"}],
            "PrivateIpAddress": "10.0.0.10",
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.10", "Primary": True}],
            "Attachment": {"AttachmentId": "eni-attach-0", "DeviceIndex": 0, "NetworkCardIndex": 0},
        },
        *enis,
    ]
    return {
        "Reservations": [
            {
                "Instances": [
                    {
                        "InstanceId": INSTANCE,
                        "InstanceType": "m5.large",
                        "SubnetId": SUBNET,
                        "VpcId": VPC,
                        "Placement": {"AvailabilityZone": ZONE},
                        "NetworkInterfaces": interfaces,
                    }
                ]
            }
        ]
    }


@pytest.fixture
def stubbed(aws_env: None) -> Iterator[tuple[Stubber, Boto3EC2]]:
    """A driver on a stubbed client (endpoint on loopback; every call must be stubbed)."""
    client = make_client(region=REGION, endpoint_url=LOOPBACK)
    stubber = Stubber(client)
    stubber.add_response(
        "describe_instances", describe_instance_response(), {"InstanceIds": [INSTANCE]}
    )
    with stubber:
        driver = Boto3EC2(INSTANCE, client=client, sleep=no_sleep)
        yield stubber, driver
        stubber.assert_no_pending_responses()


def test_stubbed_prefix_assignment_because_moto_ignores_ipv4_prefix_count(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stubber.add_response(
        "assign_private_ip_addresses",
        {
            "NetworkInterfaceId": PRIMARY,
            "AssignedIpv4Prefixes": [
                {"Ipv4Prefix": "10.0.1.32/28"},
                {"Ipv4Prefix": "10.0.1.16/28"},
            ],
        },
        {"NetworkInterfaceId": PRIMARY, "Ipv4PrefixCount": 2},
    )
    event = driver.execute(AllocatePrefixes(PRIMARY, 2))
    assert event == PrefixesAllocated(PRIMARY, ("10.0.1.16/28", "10.0.1.32/28"))


def test_stubbed_prefix_release_because_moto_ignores_ipv4_prefixes_on_unassign(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stubber.add_response(
        "unassign_private_ip_addresses",
        {},
        {"NetworkInterfaceId": PRIMARY, "Ipv4Prefixes": ["10.0.1.16/28", "10.0.1.32/28"]},
    )
    assert driver.execute(ReleasePrefixes(PRIMARY, ("10.0.1.16/28", "10.0.1.32/28"))) is None
    assert driver.stats.api["UnassignPrivateIpAddresses"]["ok"] == 1


def subnet(subnet_id: str, available: int, **tags: str) -> dict[str, Any]:
    """A DescribeSubnets item with these tags."""
    pairs = [{"Key": k, "Value": v} for k, v in tags.items()]
    return {
        "SubnetId": subnet_id,
        "VpcId": VPC,
        "AvailabilityZone": ZONE,
        "CidrBlock": "10.0.0.0/24",
        "AvailableIpAddressCount": available,
        "Tags": pairs,
    }


SUBNET_FILTERS = {
    "Filters": [
        {"Name": "vpc-id", "Values": [VPC]},
        {"Name": "availability-zone", "Values": [ZONE]},
    ]
}


def stub_subnets(stubber: Stubber, *subnets: dict[str, Any]) -> None:
    """GetVpcSubnets' DescribeSubnets; by default the primary subnet alone, untagged."""
    listed = list(subnets) or [subnet(SUBNET, 200)]
    stubber.add_response("describe_subnets", {"Subnets": listed}, SUBNET_FILTERS)


def new_eni(eni_id: str, *, ips: tuple[str, ...] = (), prefixes: tuple[str, ...] = ()) -> Any:
    addresses = [{"PrivateIpAddress": "10.0.2.5", "Primary": True}]
    addresses += [{"PrivateIpAddress": ip, "Primary": False} for ip in ips]
    return {
        "NetworkInterface": {
            "NetworkInterfaceId": eni_id,
            "SubnetId": SUBNET,
            "PrivateIpAddress": "10.0.2.5",
            "PrivateIpAddresses": addresses,
            "Ipv4Prefixes": [{"Ipv4Prefix": p} for p in prefixes],
        }
    }


def create_params(**count: int) -> dict[str, Any]:
    return {
        "Description": f"aws-K8S-{INSTANCE}",
        "Groups": [GROUP],
        "SubnetId": SUBNET,
        "TagSpecifications": [
            {
                "ResourceType": "network-interface",
                "Tags": [
                    {"Key": CREATED_AT_TAG, "Value": ANY},
                    {"Key": NODE_TAG, "Value": INSTANCE},
                ],
            }
        ],
        **count,
    }


def test_stubbed_eni_in_prefix_mode_with_delete_on_termination_because_moto_drops_both(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stub_subnets(stubber)
    stubber.add_response(
        "create_network_interface",
        new_eni("eni-0new", prefixes=("10.0.3.0/28",)),
        create_params(Ipv4PrefixCount=1),
    )
    stubber.add_response(
        "describe_instances", describe_instance_response(), {"InstanceIds": [INSTANCE]}
    )
    stubber.add_response(
        "attach_network_interface",
        {"AttachmentId": "eni-attach-1", "NetworkCardIndex": 0},
        {
            "DeviceIndex": 1,
            "InstanceId": INSTANCE,
            "NetworkInterfaceId": "eni-0new",
            "NetworkCardIndex": 0,
        },
    )
    stubber.add_response(
        "modify_network_interface_attribute",
        {},
        {
            "Attachment": {"AttachmentId": "eni-attach-1", "DeleteOnTermination": True},
            "NetworkInterfaceId": "eni-0new",
        },
    )
    stub_subnets(stubber)  # setupENI: IsSubnetExcluded (subnet discovery is on)
    event = driver.execute(AllocateENI(network_card=0, count=1, prefixes=True))
    assert event == ENIAttached("eni-0new", 1, 0, (), ("10.0.3.0/28",), subnet_id=SUBNET)


def test_stubbed_insufficient_addresses_on_both_assigns_is_the_failure(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    code = Ec2Error.INSUFFICIENT_FREE_ADDRESSES
    stubber.add_client_error(
        "assign_private_ip_addresses",
        code,
        http_status_code=400,
        expected_params={"NetworkInterfaceId": PRIMARY, "SecondaryPrivateIpAddressCount": 5},
    )
    stubber.add_client_error(
        "assign_private_ip_addresses",
        code,
        http_status_code=400,
        expected_params={"NetworkInterfaceId": PRIMARY, "SecondaryPrivateIpAddressCount": 1},
    )
    result = driver.submit(AllocateIPs(PRIMARY, 5), node=INSTANCE, at=10.0)
    assert result.event == AllocationFailed(code)
    assert result.api_calls == (("AssignPrivateIpAddresses", "failed"),) * 2
    assert result.errors == (("AssignPrivateIpAddresses", code),) * 2
    assert result.completes_at >= 10.0
    assert driver.stats.errors[code] == 2


def test_stubbed_other_error_then_one_address(stubbed: tuple[Stubber, Boto3EC2]) -> None:
    stubber, driver = stubbed
    stubber.add_client_error("assign_private_ip_addresses", "InternalError", http_status_code=400)
    stubber.add_response(
        "assign_private_ip_addresses",
        {
            "NetworkInterfaceId": PRIMARY,
            "AssignedPrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.77"}],
        },
        {"NetworkInterfaceId": PRIMARY, "SecondaryPrivateIpAddressCount": 1},
    )
    assert driver.execute(AllocateIPs(PRIMARY, 4)) == IPsAllocated(PRIMARY, ("10.0.0.77",))


def test_stubbed_address_limit_describes_the_eni_and_reports_everything(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stubber.add_client_error(
        "assign_private_ip_addresses", Ec2Error.PRIVATE_IP_LIMIT_EXCEEDED, http_status_code=400
    )
    stubber.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": PRIMARY,
                    "PrivateIpAddresses": [
                        {"PrivateIpAddress": "10.0.0.10", "Primary": True},
                        {"PrivateIpAddress": "10.0.0.12", "Primary": False},
                        {"PrivateIpAddress": "10.0.0.11", "Primary": False},
                    ],
                }
            ]
        },
        {"NetworkInterfaceIds": [PRIMARY]},
    )
    # No retry with one after the limit: ipamd goes straight to the describe.
    event = driver.execute(AllocateIPs(PRIMARY, 9))
    assert event == IPsAllocated(PRIMARY, ("10.0.0.11", "10.0.0.12"))


def test_stubbed_create_failure_is_the_failure(stubbed: tuple[Stubber, Boto3EC2]) -> None:
    stubber, driver = stubbed
    stub_subnets(stubber)
    stubber.add_client_error(
        "create_network_interface", Ec2Error.INSUFFICIENT_FREE_ADDRESSES, http_status_code=400
    )
    event = driver.execute(AllocateENI(network_card=0, count=9))
    assert event == AllocationFailed(Ec2Error.INSUFFICIENT_FREE_ADDRESSES)


def test_stubbed_attach_failure_deletes_the_new_eni(stubbed: tuple[Stubber, Boto3EC2]) -> None:
    stubber, driver = stubbed
    stub_subnets(stubber)
    stubber.add_response("create_network_interface", new_eni("eni-0new", ips=("10.0.2.6",)))
    stubber.add_response("describe_instances", describe_instance_response())
    stubber.add_client_error(
        "attach_network_interface", Ec2Error.ATTACHMENT_LIMIT_EXCEEDED, http_status_code=400
    )
    stubber.add_response("delete_network_interface", {}, {"NetworkInterfaceId": "eni-0new"})
    event = driver.execute(AllocateENI(network_card=0, count=1))
    assert event == AllocationFailed(Ec2Error.ATTACHMENT_LIMIT_EXCEEDED)


def test_stubbed_modify_failure_frees_the_new_eni(stubbed: tuple[Stubber, Boto3EC2]) -> None:
    stubber, driver = stubbed
    stub_subnets(stubber)
    stubber.add_response("create_network_interface", new_eni("eni-0new", ips=("10.0.2.6",)))
    stubber.add_response("describe_instances", describe_instance_response())
    stubber.add_response("attach_network_interface", {"AttachmentId": "eni-attach-9"})
    stubber.add_client_error("modify_network_interface_attribute", "UnauthorizedOperation")
    stubber.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {"NetworkInterfaceId": "eni-0new", "Attachment": {"AttachmentId": "eni-attach-9"}}
            ]
        },
        {"NetworkInterfaceIds": ["eni-0new"]},
    )
    stubber.add_response("detach_network_interface", {}, {"AttachmentId": "eni-attach-9"})
    stubber.add_response("delete_network_interface", {}, {"NetworkInterfaceId": "eni-0new"})
    event = driver.execute(AllocateENI(network_card=0, count=1))
    assert event == AllocationFailed("UnauthorizedOperation")
    assert driver.stats.leaked_enis == 0


def test_stubbed_free_retries_detach_and_delete_and_not_found_is_deleted(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stubber.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {"NetworkInterfaceId": "eni-1", "Attachment": {"AttachmentId": "eni-attach-1"}}
            ]
        },
    )
    stubber.add_client_error("detach_network_interface", "IncorrectState")
    stubber.add_response("detach_network_interface", {}, {"AttachmentId": "eni-attach-1"})
    stubber.add_client_error("delete_network_interface", "InvalidNetworkInterfaceID.NotFound")
    result = driver.submit(FreeENI("eni-1"), node=INSTANCE, at=0.0)
    assert result.event is None
    assert result.api_calls == (
        ("DescribeNetworkInterfaces", "ok"),
        ("DetachNetworkInterface", "failed"),
        ("DetachNetworkInterface", "ok"),
        ("DeleteNetworkInterface", "failed"),
    )
    assert driver.stats.leaked_enis == 0


def test_stubbed_delete_that_gives_up_leaks_the_eni(stubbed: tuple[Stubber, Boto3EC2]) -> None:
    stubber, driver = stubbed
    stubber.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {"NetworkInterfaceId": "eni-1", "Attachment": {"AttachmentId": "eni-attach-1"}}
            ]
        },
    )
    stubber.add_response("detach_network_interface", {})
    for _ in range(12):  # ipamd's maxENIEC2APIRetries
        stubber.add_client_error("delete_network_interface", "InvalidParameterValue")
    driver.execute(FreeENI("eni-1"))
    assert driver.stats.leaked_enis == 1
    assert driver.stats.api["DeleteNetworkInterface"]["failed"] == 12


# -- throttling: botocore's standard retry mode, counted ------------------------------------


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
    b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
    b"</Error></Errors><RequestID>11111111-2222-3333-4444-555555555555</RequestID></Response>"
)
ASSIGNED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<AssignPrivateIpAddressesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
    b"<requestId>66666666-7777-8888-9999-000000000000</requestId>"
    b"<networkInterfaceId>eni-0primary000000000</networkInterfaceId>"
    b"<assignedPrivateIpAddressesSet><item><privateIpAddress>10.0.0.21</privateIpAddress>"
    b"</item><item><privateIpAddress>10.0.0.22</privateIpAddress></item>"
    b"</assignedPrivateIpAddressesSet><return>true</return>"
    b"</AssignPrivateIpAddressesResponse>"
)


def throttled_driver(monkeypatch: pytest.MonkeyPatch, answers: list[tuple[int, bytes]]) -> Boto3EC2:
    """A driver whose AssignPrivateIpAddresses attempts get ``answers`` in order, over HTTP
    as botocore sees it (so its retry handler runs); botocore's backoff sleeps cost nothing."""
    monkeypatch.setattr("botocore.endpoint.time.sleep", no_sleep)
    client = make_client(region=REGION, endpoint_url=LOOPBACK, max_attempts=3)
    stubber = Stubber(client)
    stubber.add_response("describe_instances", describe_instance_response())
    with stubber:
        driver = Boto3EC2(INSTANCE, client=client, sleep=no_sleep)
    queue = list(answers)

    def answer(request: Any, **_: Any) -> AWSResponse:
        status, body = queue.pop(0)
        return AWSResponse(request.url, status, {"Content-Type": "text/xml"}, _Body(body))

    client.meta.events.register("before-send.ec2.AssignPrivateIpAddresses", answer)
    return driver


def test_throttling_is_retried_by_botocore_and_counted(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = throttled_driver(monkeypatch, [(503, THROTTLED), (503, THROTTLED), (200, ASSIGNED)])
    result = driver.submit(AllocateIPs(PRIMARY, 2), node=INSTANCE, at=0.0)
    assert result.event == IPsAllocated(PRIMARY, ("10.0.0.21", "10.0.0.22"))
    assert result.api_calls == (
        ("AssignPrivateIpAddresses", "throttled"),
        ("AssignPrivateIpAddresses", "throttled"),
        ("AssignPrivateIpAddresses", "ok"),
    )
    assert result.errors == ()
    assert dict(driver.stats.api["AssignPrivateIpAddresses"]) == {
        "ok": 1,
        "failed": 0,
        "throttled": 2,
    }
    assert driver.stats.throttled == 2
    assert driver.stats.errors == {"RequestLimitExceeded": 2}
    # As ipamd sees it: one call, answered ok after botocore's retries.
    assert [(api, outcome, code) for api, outcome, code, _ in result.sdk_calls] == [
        ("AssignPrivateIpAddresses", "ok", None)
    ]


def test_throttling_code_and_transient_errors_are_counted_apart(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EC2's other throttling code, then a 500 InternalError (botocore retries both), then ok.
    driver = throttled_driver(
        monkeypatch,
        [
            (503, THROTTLED.replace(b"RequestLimitExceeded", b"Throttling")),
            (500, THROTTLED.replace(b"RequestLimitExceeded", b"InternalError")),
            (200, ASSIGNED),
        ],
    )
    result = driver.submit(AllocateIPs(PRIMARY, 2), node=INSTANCE, at=0.0)
    assert isinstance(result.event, IPsAllocated)
    assert [outcome for _, outcome in result.api_calls] == ["throttled", "failed", "ok"]
    assert result.errors == (("AssignPrivateIpAddresses", "InternalError"),)
    assert driver.stats.errors == {"InternalError": 1, "Throttling": 1}


def test_throttling_past_the_attempts_fails_and_ipamd_retries_with_one(
    aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = throttled_driver(monkeypatch, [(503, THROTTLED)] * 6)
    result = driver.submit(AllocateIPs(PRIMARY, 2), node=INSTANCE, at=0.0)
    assert result.event == AllocationFailed(Ec2Error.REQUEST_LIMIT_EXCEEDED)
    # 3 attempts for the count, 3 for the retry with one: all throttled.
    assert result.api_calls == (("AssignPrivateIpAddresses", "throttled"),) * 6
    assert driver.stats.throttled == 6
    assert [code for _, _, code, _ in result.sdk_calls] == ["RequestLimitExceeded"] * 2


def test_prefix_count_and_address_helpers() -> None:
    assert prefix_text(0x0A000110) == "10.0.1.16/28"


# -- where a new ENI goes: the AllocateENI destination (spec 1.5.7, 6.4) ---------------------


def test_moto_discovery_puts_the_eni_in_the_tagged_subnet_with_most_room(aws_env: None) -> None:
    with moto.mock_aws():
        client = boto3.client("ec2", region_name=REGION)
        vpc = client.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]

        def new_subnet(cidr: str, **tags: str) -> str:
            made = client.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=ZONE)
            subnet_id = made["Subnet"]["SubnetId"]
            if tags:
                pairs = [{"Key": k, "Value": v} for k, v in tags.items()]
                client.create_tags(Resources=[subnet_id], Tags=pairs)
            return subnet_id

        primary = new_subnet("10.1.0.0/24")  # untagged: eligible as the primary subnet
        tagged = new_subnet("10.1.64.0/18", **ROLE_IN)
        new_subnet("10.1.128.0/17")  # more room, but untagged and not primary: ineligible
        new_subnet("10.1.32.0/19", **ROLE_OUT)  # opted out
        image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        instance_id = client.run_instances(
            ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1, SubnetId=primary
        )["Instances"][0]["InstanceId"]
        driver = Boto3EC2(instance_id, region=REGION, sleep=no_sleep)
        event = driver.execute(AllocateENI(network_card=0, count=2))  # discovery: the default
        assert isinstance(event, ENIAttached)
        assert event.subnet_id == tagged and not event.is_excluded
        eni = client.describe_network_interfaces(NetworkInterfaceIds=[event.eni_id])
        assert eni["NetworkInterfaces"][0]["SubnetId"] == tagged
        assert [seen.subnet_id for seen in driver.observe()] == [primary, tagged]
        # Subnet discovery off: the primary subnet.
        again = driver.execute(AllocateENI(network_card=0, count=1, destination=PRIMARY_SUBNET))
        assert isinstance(again, ENIAttached) and again.subnet_id == primary


def test_stubbed_discovery_tries_eligible_subnets_most_room_first(aws_env: None) -> None:
    client = make_client(region=REGION, endpoint_url=LOOPBACK)
    stubber = Stubber(client)
    stubber.add_response("describe_instances", describe_instance_response())
    stubber.add_response(
        "describe_subnets",
        {
            "Subnets": [
                subnet(SUBNET, 10),  # the primary, untagged: eligible
                subnet("subnet-b", 500, **ROLE_IN),
                subnet("subnet-c", 1000),  # untagged, not primary
                subnet("subnet-d", 2000, **ROLE_OUT),
                # another cluster's (the driver runs with CLUSTER_NAME=prod)
                subnet("subnet-e", 3000, **ROLE_IN, **OTHER_CLUSTER),
            ]
        },
        SUBNET_FILTERS,
    )
    # subnet-b first (more room); it is out of addresses: the next eligible, the primary.
    stubber.add_client_error(
        "create_network_interface",
        Ec2Error.INSUFFICIENT_FREE_ADDRESSES,
        expected_params={
            **create_params(SecondaryPrivateIpAddressCount=3),
            "SubnetId": "subnet-b",
            "TagSpecifications": ANY,
        },
    )
    stubber.add_response(
        "create_network_interface",
        new_eni("eni-0new", ips=("10.0.2.6", "10.0.2.7", "10.0.2.8")),
        {**create_params(SecondaryPrivateIpAddressCount=3), "TagSpecifications": ANY},
    )
    stubber.add_response("describe_instances", describe_instance_response())
    stubber.add_response("attach_network_interface", {"AttachmentId": "eni-attach-1"})
    stubber.add_response("modify_network_interface_attribute", {})
    stub_subnets(stubber)
    with stubber:
        driver = Boto3EC2(INSTANCE, client=client, cluster_name="prod", sleep=no_sleep)
        result = driver.submit(AllocateENI(network_card=0, count=3), node=None, at=0.0)
        stubber.assert_no_pending_responses()
    assert result.event == ENIAttached(
        "eni-0new", 1, 0, ("10.0.2.6", "10.0.2.7", "10.0.2.8"), subnet_id=SUBNET
    )
    assert result.errors == (("CreateNetworkInterface", Ec2Error.INSUFFICIENT_FREE_ADDRESSES),)


OTHER_CLUSTER = {"cni.networking.k8s.aws/cluster/other": "1"}
ROLE_IN = {"kubernetes.io/role/cni": "1"}
ROLE_OUT = {"kubernetes.io/role/cni": "0"}


def test_stubbed_no_eligible_subnet_creates_nothing(stubbed: tuple[Stubber, Boto3EC2]) -> None:
    stubber, driver = stubbed
    stub_subnets(stubber, subnet(SUBNET, 100, **ROLE_OUT), subnet("s-2", 900))
    event = driver.execute(AllocateENI(network_card=0, count=9))
    assert event == AllocationFailed(Ec2Error.NO_ELIGIBLE_SUBNET)
    assert "CreateNetworkInterface" not in driver.calls


def test_stubbed_failed_listing_falls_back_to_the_primary_subnet(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stubber.add_client_error("describe_subnets", "UnauthorizedOperation")
    stub_subnets(stubber)  # IsSubnetExcluded lists again: the primary is not excluded
    stubber.add_client_error(
        "create_network_interface",
        Ec2Error.INSUFFICIENT_FREE_ADDRESSES,
        expected_params={**create_params(SecondaryPrivateIpAddressCount=9)},
    )
    event = driver.execute(AllocateENI(network_card=0, count=9))
    assert event == AllocationFailed(Ec2Error.INSUFFICIENT_FREE_ADDRESSES)


def test_stubbed_primary_subnet_excluded_with_discovery_off(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stub_subnets(stubber, subnet(SUBNET, 100, **ROLE_OUT))
    event = driver.execute(AllocateENI(network_card=0, count=9, destination=PRIMARY_SUBNET))
    assert event == AllocationFailed(Ec2Error.NO_ELIGIBLE_SUBNET)


def test_stubbed_eniconfig_subnet_and_groups_and_exclusion_mark(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    where = ENIConfigSubnet("subnet-cfg", ("sg-pods-2", "sg-pods-1"))
    stubber.add_response(
        "create_network_interface",
        {"NetworkInterface": {**new_eni("eni-0cfg")["NetworkInterface"], "SubnetId": "subnet-cfg"}},
        {
            **create_params(SecondaryPrivateIpAddressCount=2),
            "SubnetId": "subnet-cfg",
            "Groups": ["sg-pods-2", "sg-pods-1"],
        },
    )
    stubber.add_response("describe_instances", describe_instance_response())
    stubber.add_response("attach_network_interface", {"AttachmentId": "eni-attach-1"})
    stubber.add_response("modify_network_interface_attribute", {})
    # setupENI with subnet discovery on: the ENIConfig's subnet is tagged out.
    stub_subnets(stubber, subnet(SUBNET, 100), subnet("subnet-cfg", 50, **ROLE_OUT))
    event = driver.execute(AllocateENI(network_card=0, count=2, destination=where))
    assert isinstance(event, ENIAttached)
    assert (event.subnet_id, event.is_excluded) == ("subnet-cfg", True)


# -- IPv6 mode (moto has no IPv6 prefixes: Stubber) -----------------------------------------


def test_stubbed_ipv6_prefix_assigned_when_the_eni_has_none_because_moto_lacks_ipv6_prefixes(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stubber.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"NetworkInterfaceId": PRIMARY, "Ipv6Prefixes": []}]},
        {"NetworkInterfaceIds": [PRIMARY]},
    )
    stubber.add_response(
        "assign_ipv6_addresses",
        {"NetworkInterfaceId": PRIMARY, "AssignedIpv6Prefixes": ["2600:1f14:1:2a00:7::/80"]},
        {"NetworkInterfaceId": PRIMARY, "Ipv6PrefixCount": 1},
    )
    event = driver.execute(AllocateIPv6Prefix(PRIMARY))
    assert event == IPv6PrefixAllocated(PRIMARY, ("2600:1f14:1:2a00:7::/80",))


def test_stubbed_ipv6_prefixes_held_are_reported_in_ec2_order(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    held = ["2600:1f14:1:2a00:9::/80", "2600:1f14:1:2a00:3::/80"]
    stubber.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {"NetworkInterfaceId": PRIMARY, "Ipv6Prefixes": [{"Ipv6Prefix": p} for p in held]}
            ]
        },
    )
    event = driver.execute(AllocateIPv6Prefix(PRIMARY))  # no AssignIpv6Addresses
    assert event == IPv6PrefixAllocated(PRIMARY, tuple(held))


def test_stubbed_ipv6_eni_asks_for_one_ipv6_address_in_the_primary_subnet(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stubber.add_response(
        "create_network_interface", new_eni("eni-0v6"), create_params(Ipv6AddressCount=1)
    )
    stubber.add_response("describe_instances", describe_instance_response())
    stubber.add_response("attach_network_interface", {"AttachmentId": "eni-attach-6"})
    stubber.add_response("modify_network_interface_attribute", {})
    event = driver.execute(AllocateIPv6ENI(network_card=0))
    assert event == ENIAttached("eni-0v6", 1, 0, subnet_id=SUBNET)


def test_stubbed_failed_device_lookup_deletes_the_eni_with_its_code(
    stubbed: tuple[Stubber, Boto3EC2],
) -> None:
    stubber, driver = stubbed
    stub_subnets(stubber)
    stubber.add_response("create_network_interface", new_eni("eni-0new"))
    stubber.add_client_error("describe_instances", "UnauthorizedOperation")
    stubber.add_response("delete_network_interface", {}, {"NetworkInterfaceId": "eni-0new"})
    event = driver.execute(AllocateENI(network_card=0, count=1))
    assert event == AllocationFailed("UnauthorizedOperation")


# -- bad input -------------------------------------------------------------------------------


def test_bad_driver_input_names_the_field(moto_node: tuple[Any, Boto3EC2]) -> None:
    from vpccni_model import StateError

    _, driver = moto_node
    with pytest.raises(StateError, match="instance_id"):
        Boto3EC2("web-1", client=driver.client)
    with pytest.raises(StateError, match="instance_id"):
        Boto3EC2("i-00000000000000000", region=REGION)  # moto does not know it
    with pytest.raises(StateError, match="additional_tags"):
        Boto3EC2(driver.instance_id, region=REGION, additional_tags={"team": 7})  # type: ignore[dict-item]
    with pytest.raises(StateError, match="network_card"):
        driver.execute(AllocateENI(network_card=3, count=1))  # an m5.large has card 0 only
    with pytest.raises(StateError, match="subnet"):
        driver.subnet_free("subnet-0000000000000000")
    with pytest.raises(StateError, match="node"):
        driver.execute(AllocateIPs(driver.primary_eni_id, 1), node="i-0another")


def test_boot_state_refuses_a_node_that_is_already_running(
    moto_node: tuple[Any, Boto3EC2],
) -> None:
    from vpccni_model import StateError

    _, driver = moto_node
    driver.execute(AllocateIPs(driver.primary_eni_id, 2))
    with pytest.raises(StateError, match="node_dump"):
        driver.boot_state(Config())
