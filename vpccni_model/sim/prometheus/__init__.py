"""ipamd's Prometheus metrics for a simulated fleet, under ipamd's names, types and labels.

ipamd (aws-node) serves its metrics on :61678/metrics, one process per node, in the Prometheus
text format 0.0.4 (``promhttp.Handler()``: no OpenMetrics, so a counter's series keeps its
name, without ``_total``). The simulator exposes each node's series the same way, with one
label added, ``node`` (the simulated node's name), where a real Prometheus would tell nodes
apart by the scrape target it adds (``instance``, or a relabelled ``node``). The CNI metrics
helper's view (``/cni-metrics-helper/metrics``) is the six gauges it re-exports, summed over
the nodes without labels, as its ``USE_PROMETHEUS`` endpoint (:61681) does.

:data:`METRICS` lists every metric ipamd v1.23.1 registers, with where it is defined and set
(file:line at commit b52188387 of aws/amazon-vpc-cni-k8s), and how the simulator fills it or
why it does not. :class:`IpamdCollector` and :class:`MetricsHelperCollector` are
``prometheus_client`` collectors over a :class:`~vpccni_model.sim.engine.Simulation`;
:class:`PrometheusExporter` listens to a run (``Simulation.observer``), takes a
:class:`Snapshot` at each metric sample on the simulation's thread (node states are
immutable; counters are copied), serves the newest on 127.0.0.1 (rendered at its first
scrape, on the HTTP thread, which so never reads the run while it changes) and appends each
sample's OpenMetrics text to a file.

The package: ``_table`` (the metrics and their provenance), ``_counters`` (ipamd's counters
from the engine's hooks), ``_families`` (gauges, snapshots, families, collectors),
``_render`` (text and OpenMetrics writers), ``_serve`` (the exporter: HTTP and file).
"""

from vpccni_model.sim.prometheus._counters import IpamdCounters, NodeCounters
from vpccni_model.sim.prometheus._families import (
    Family,
    IpamdCollector,
    Labels,
    MetricsHelperCollector,
    NodeGauges,
    Snapshot,
    helper_families,
    ipamd_families,
    node_gauges,
    take_snapshot,
)
from vpccni_model.sim.prometheus._render import (
    library_openmetrics,
    render_openmetrics,
    render_text,
    split_openmetrics,
)
from vpccni_model.sim.prometheus._serve import (
    HELPER_PATH,
    IPAMD_PATH,
    TEXT_CONTENT_TYPE,
    PrometheusExporter,
)
from vpccni_model.sim.prometheus._table import (
    BY_NAME,
    HELPER_GAUGES,
    METRICS,
    NODE_LABEL,
    IpamdMetric,
)

__all__ = [
    "BY_NAME",
    "HELPER_GAUGES",
    "HELPER_PATH",
    "IPAMD_PATH",
    "METRICS",
    "NODE_LABEL",
    "TEXT_CONTENT_TYPE",
    "IpamdCollector",
    "IpamdCounters",
    "IpamdMetric",
    "MetricsHelperCollector",
    "Family",
    "Labels",
    "NodeCounters",
    "NodeGauges",
    "PrometheusExporter",
    "Snapshot",
    "helper_families",
    "ipamd_families",
    "library_openmetrics",
    "node_gauges",
    "render_openmetrics",
    "render_text",
    "split_openmetrics",
    "take_snapshot",
]
