"""Writing metric families: the Prometheus text format as client_golang writes it, and
timestamped OpenMetrics expositions (with the library's own writer as the reference)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from vpccni_model._errors import ConfigError
from vpccni_model.sim.prometheus._families import Family, Labels


def _go_float(value: float) -> str:
    """A value as client_golang writes it (Go's shortest form: ``3``, ``0.5``, ``+Inf``)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return str(floatToGoString(number))  # type: ignore[no-untyped-call]


def _om_float(value: float) -> str:
    """A value as prometheus_client's OpenMetrics writer formats it (``3.0``; from 1e6 on
    ``1.0e+06``); small ints, most of the values, without the call."""
    if type(value) is int and -1_000_000 < value < 1_000_000:
        return f"{value}.0"
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def _escape(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


@functools.lru_cache(maxsize=1 << 16)
def _label_text(labels: Labels) -> str:
    """``{a="x",b="y"}`` (memoised: the same label sets come back at every sample)."""
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def render_text(families: Iterable[Family]) -> bytes:
    """The Prometheus text format 0.0.4 as client_golang writes it: ``# HELP``, ``# TYPE``
    with the family's own name (a counter keeps its name, no ``_total`` added), samples with
    labels sorted by name, values as Go formats them."""
    lines: list[str] = []
    for family in families:
        doc = family.help.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {family.name} {doc}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for name, labels, value in family.samples:
            lines.append(f"{name}{_label_text(labels)} {_go_float(value)}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


def render_openmetrics(families: Iterable[Family], timestamp: float) -> bytes:
    """One OpenMetrics exposition at ``timestamp`` (seconds), without the closing ``# EOF``:
    what ``prometheus_client``'s OpenMetrics writer gives for the same families, counters
    typed ``unknown``. An OpenMetrics counter's samples must end in ``_total``, which would
    rename ipamd's series; ``unknown`` keeps ipamd's names, and a backfill stores only the
    samples anyway. (Written here rather than by the library: it is 10 times faster.)"""
    stamp = f" {timestamp!r}"
    lines: list[str] = []
    for family in families:
        kind = "unknown" if family.kind == "counter" else family.kind
        lines.append(f"# HELP {family.name} {_escape(family.help)}")
        lines.append(f"# TYPE {family.name} {kind}")
        for name, labels, value in family.samples:
            lines.append(f"{name}{_label_text(labels)} {_om_float(value)}{stamp}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


def library_openmetrics(families: Iterable[Family], timestamp: float) -> bytes:
    """The same exposition from ``prometheus_client``'s own writer (slower; the reference
    :func:`render_openmetrics` is tested against)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed([f.metric("unknown", timestamp) for f in families]))
    text: bytes = openmetrics_latest(registry)  # type: ignore[no-untyped-call]
    return text.removesuffix(b"# EOF\n")


class _Fixed(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self._metrics)


def split_openmetrics(text: str) -> list[str]:
    """The expositions of a ``--metrics-out`` file, each ending in ``# EOF``, for a strict
    OpenMetrics parser, which reads one exposition at a time. A family (its ``# HELP``,
    ``# TYPE`` and samples) belongs to the exposition of its samples' timestamp; a family
    whose timestamp or name differs from the one before starts a new exposition."""
    if not text.endswith("# EOF\n"):
        raise ConfigError("metrics_out", text[-40:], "does not end with '# EOF' (run unfinished?)")
    chunks: list[tuple[str, str | None, list[str]]] = []  # (family, timestamp, lines)
    for line in text[: -len("# EOF\n")].splitlines(keepends=True):
        if line.startswith("# HELP ") or not chunks:
            chunks.append((line.split(" ", 3)[2] if line.startswith("# HELP ") else "", None, []))
        name, stamp, lines = chunks[-1]
        if stamp is None and not line.startswith("#"):
            chunks[-1] = (name, line.rsplit(" ", 1)[-1].strip(), lines)
        lines.append(line)
    blocks: list[str] = []
    current: list[str] = []
    seen: set[str] = set()
    current_stamp: str | None = None
    for name, stamp, lines in chunks:
        if current and (name in seen or stamp != current_stamp):
            blocks.append("".join(current) + "# EOF\n")
            current, seen = [], set()
        current_stamp = stamp
        seen.add(name)
        current.extend(lines)
    if current:
        blocks.append("".join(current) + "# EOF\n")
    return blocks
