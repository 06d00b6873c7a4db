"""ipamd's metrics as v1.23.1 registers them: names, types, help, labels, where each is defined
and set (commit b52188387 of aws/amazon-vpc-cni-k8s), and what the simulator fills it with or
why it cannot."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

NODE_LABEL = "node"

_SRC = "aws/amazon-vpc-cni-k8s@b52188387:"
_DEF = _SRC + "utils/prometheusmetrics/prometheusmetrics.go"


@attrs.frozen
class IpamdMetric:
    """One metric ipamd registers: ``kind`` is its Prometheus type, ``labels`` ipamd's own
    (the simulator adds :data:`NODE_LABEL`), ``source`` where it is defined and set, and
    ``simulated`` how the simulator fills it, or ``not_modelled`` why it does not."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...]
    source: str
    simulated: str = ""
    not_modelled: str = ""


METRICS: tuple[IpamdMetric, ...] = (
    IpamdMetric(
        "awscni_eni_allocated",
        "gauge",
        "The number of ENIs allocated",
        (),
        f"{_DEF}:119; set in pkg/ipamd/datastore/data_store.go:491,1167,1223",
        simulated="ENIs in the node's datastores (primary and trunk included), summed over "
        "network cards",
    ),
    IpamdMetric(
        "awscni_eni_max",
        "gauge",
        "The maximum number of ENIs that can be attached to the instance, accounting for "
        "unmanaged ENIs",
        (),
        f"{_DEF}:45; set in pkg/ipamd/ipamd.go:765 (updateIPStats)",
        simulated="min(MAX_ENI, the instance's ENI limit) less the unmanaged ENIs the last "
        "reconcile saw",
    ),
    IpamdMetric(
        "awscni_ip_max",
        "gauge",
        "The maximum number of IP addresses that can be allocated to the instance",
        (),
        f"{_DEF}:51; set in pkg/ipamd/ipamd.go:764 (updateIPStats)",
        simulated="maxIPsPerENI x awscni_eni_max: (IPv4 per ENI - 1), times 16 with prefix "
        "delegation",
    ),
    IpamdMetric(
        "awscni_total_ip_addresses",
        "gauge",
        "The total number of IP addresses",
        (),
        f"{_DEF}:125; set in pkg/ipamd/datastore/data_store.go:562,611,1170",
        simulated="the datastore's total: 1 per secondary IP, 16 per /28 prefix, on every ENI",
    ),
    IpamdMetric(
        "awscni_assigned_ip_addresses",
        "gauge",
        "The number of IP addresses assigned to pods",
        (),
        f"{_DEF}:131; set in pkg/ipamd/datastore/data_store.go:876,891",
        simulated="addresses held by pods",
    ),
    IpamdMetric(
        "awscni_total_ipv4_prefixes",
        "gauge",
        "The total number of IPv4 prefixes",
        (),
        f"{_DEF}:149; set in pkg/ipamd/datastore/data_store.go:560,609,1158",
        simulated="/28 prefixes in the datastores",
    ),
    IpamdMetric(
        "awscni_assigned_ip_per_eni",
        "gauge",
        "The number of allocated ips partitioned by eni",
        ("eni",),
        f"{_DEF}:168; set in pkg/ipamd/datastore/data_store.go:402,493,851,1285",
        simulated="addresses held by pods, per ENI in the datastores",
    ),
    IpamdMetric(
        "awscni_assigned_ip_per_cidr",
        "gauge",
        "The total number of IP addresses assigned per cidr",
        ("cidr",),
        f"{_DEF}:155; set in pkg/ipamd/datastore/data_store.go:405,818,847,1281",
        simulated="addresses held by pods, per /32 or /28 in the datastores that has had a pod "
        "(ipamd also keeps released CIDRs' series at 0 until it restarts)",
    ),
    IpamdMetric(
        "awscni_ipamd_action_inprogress",
        "gauge",
        "The number of ipamd actions in progress",
        ("fn",),
        f"{_DEF}:38; set in pkg/ipamd/ipamd.go:459,838,970,1580",
        simulated="fn=increaseDatastorePool only: 1 while the node's pool loop waits on an "
        "allocation (the model does not block on releases or the reconcile)",
    ),
    IpamdMetric(
        "awscni_add_ip_req_count",
        "counter",
        "The number of add IP address requests",
        (),
        f"{_DEF}:64; incremented in pkg/ipamd/rpc_handler.go:80",
        simulated="CNI ADDs: a pod's first try on its node and every retry",
    ),
    IpamdMetric(
        "awscni_del_ip_req_count",
        "counter",
        "The number of delete IP address requests",
        ("reason",),
        f"{_DEF}:70; incremented in pkg/ipamd/rpc_handler.go:327",
        simulated='reason="PodDeleted" (cmd/routed-eni-cni-plugin/cni.go:437): deletions of '
        "pods that got an address (the DELs after failed ADDs are not modelled)",
    ),
    IpamdMetric(
        "awscni_no_available_ip_addresses",
        "counter",
        "The number of pod IP assignments that fail due to no available IP addresses",
        (),
        f"{_DEF}:162; incremented in pkg/ipamd/datastore/data_store.go:857",
        simulated="CNI ADDs that found no free address",
    ),
    IpamdMetric(
        "awscni_aws_api_latency_ms",
        "summary",
        "AWS API call latency in ms",
        ("api", "error", "status"),
        f"{_DEF}:84; observed in pkg/awsutils/awsutils.go (each EC2 call)",
        simulated="each fake EC2 call: error is true/false, status 200 or the EC2 error code; "
        "the latency is the fake's cost model's (see docs/simulator.md)",
    ),
    IpamdMetric(
        "awscni_aws_api_error_count",
        "counter",
        "The number of times AWS API returns an error",
        ("api", "error"),
        f"{_DEF}:91; incremented in pkg/awsutils/awsutils.go:1417",
        simulated="failed and throttled fake EC2 calls by error code (not "
        "InvalidNetworkInterfaceID.NotFound on Describe and Delete, which ipamd takes as done)",
    ),
    IpamdMetric(
        "awscni_ec2api_req_count",
        "counter",
        "The number of requests made to EC2 APIs by CNI",
        ("fn",),
        f"{_DEF}:105; incremented in pkg/awsutils/awsutils.go (each EC2 call)",
        simulated="fake EC2 calls by API",
    ),
    IpamdMetric(
        "awscni_ec2api_error_count",
        "counter",
        "The number of failed EC2 APIs requests",
        ("fn",),
        f"{_DEF}:112; incremented in pkg/awsutils/awsutils.go (each failed call)",
        simulated="failed and throttled fake EC2 calls by API (NotFound as above)",
    ),
    IpamdMetric(
        "awscni_ipamd_error_count",
        "counter",
        "The number of errors encountered in ipamd",
        ("fn",),
        f"{_DEF}:31; incremented in pkg/ipamd/ipamd.go:1531",
        not_modelled="its fn values name Go functions' failure paths the model does not keep",
    ),
    IpamdMetric(
        "awscni_reconcile_count",
        "counter",
        "The number of times ipamd reconciles on ENIs and IP/Prefix addresses",
        ("fn",),
        f"{_DEF}:57; incremented in pkg/ipamd/ipamd.go:1681-1935",
        not_modelled="ipamd counts every address each 60 s reconcile re-verifies; the "
        "simulator reconciles only while EC2 and the datastore may disagree",
    ),
    IpamdMetric(
        "awscni_force_removed_enis",
        "counter",
        "The number of ENIs force removed while they had assigned pods",
        (),
        f"{_DEF}:137; incremented in pkg/ipamd/datastore/data_store.go:1192",
        simulated="ENIs the 60 s reconcile removed while they held pods' addresses",
    ),
    IpamdMetric(
        "awscni_force_removed_ips",
        "counter",
        "The number of IPs force removed while they had assigned pods",
        (),
        f"{_DEF}:143; incremented in pkg/ipamd/datastore/data_store.go:595,1193",
        simulated="pods' addresses the 60 s reconcile removed (with their ENI or CIDR)",
    ),
    IpamdMetric(
        "awscni_pod_eni_error_count",
        "counter",
        "The number of errors encountered for pod ENIs",
        ("fn",),
        f"{_DEF}:77; incremented in pkg/ipamd/ipamd.go:1535",
        not_modelled="branch ENIs (security groups for pods) are not modelled",
    ),
    IpamdMetric(
        "awscni_aws_utils_error_count",
        "counter",
        "The number of errors not handled in awsutils library",
        ("fn", "error"),
        f"{_DEF}:98; incremented in pkg/awsutils/awsutils.go:1423",
        not_modelled="its error label is the Go error's message text",
    ),
    IpamdMetric(
        "awscni_ipamd_startup_duration_seconds",
        "histogram",
        "The duration of IPAMD startup from process start to ready to serve CNI requests",
        ("success", "with_api_server", "failure_reason"),
        f"{_DEF}:175",
        not_modelled="start-up (API server, IMDS, nodeInit) takes no time in the model",
    ),
    IpamdMetric(
        "awscni_ipamd_node_initialization_duration_seconds",
        "histogram",
        "The duration of node initialization during IPAMD startup",
        ("success",),
        f"{_DEF}:182",
        not_modelled="as awscni_ipamd_startup_duration_seconds",
    ),
    IpamdMetric(
        "awscni_connmark_backend",
        "gauge",
        "The connmark backend in use; the active backend's series is set to 1",
        ("backend",),
        f"{_DEF}:189",
        not_modelled="host networking (iptables/nftables) is not modelled",
    ),
    IpamdMetric(
        "awscni_connmark_reconcile_total",
        "counter",
        "The number of connmark Setup/Cleanup reconciliations by result",
        ("result",),
        f"{_DEF}:196",
        not_modelled="as awscni_connmark_backend",
    ),
    IpamdMetric(
        "awscni_build_info",
        "gauge",
        "A metric with a constant '1' value labeled by version, revision, and goversion from "
        "which amazon-vpc-cni-k8s was built.",
        ("version", "goversion"),
        _SRC + "pkg/version/info.go:16",
        not_modelled="no ipamd binary runs (its Go runtime's go_* and process_* series neither)",
    ),
)

BY_NAME: Mapping[str, IpamdMetric] = {m.name: m for m in METRICS}

#: The gauges the CNI metrics helper re-exports on its own Prometheus endpoint, summed over
#: every aws-node pod (GetSupportedPrometheusCNIMetricsMapping, prometheusmetrics.go:266;
#: cmd/cni-metrics-helper/metrics/cni_metrics.go: metricsAdd). Its CloudWatch names follow.
HELPER_GAUGES: Mapping[str, str] = {
    "awscni_eni_max": "eniMaxAvailable",
    "awscni_ip_max": "maxIPAddresses",
    "awscni_eni_allocated": "eniAllocated",
    "awscni_total_ip_addresses": "totalIPAddresses",
    "awscni_assigned_ip_addresses": "assignIPAddresses",
    "awscni_total_ipv4_prefixes": "totalIPv4Prefixes",
}
