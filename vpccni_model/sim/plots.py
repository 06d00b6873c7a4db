"""PNG plots of a simulation's time series (needs the ``plots`` extra: matplotlib).

Each plot is titled with what ran (nodes, instance type, mode and warm targets), has labelled
axes with units and integer ticks for counts, and keeps its legend outside the data. Lines
that coincide (a zero "failed" under a zero "throttled") get their own style and their total
in the legend, so none is hidden.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vpccni_model._errors import ConfigError
from vpccni_model.sim.metrics import SimulationResult

# Distinct dash styles so that equal series stay visible on top of each other.
_STYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)))


def run_label(inputs: Mapping[str, Any]) -> str:
    """``50 x m5.large, secondary IPs, WARM_ENI_TARGET=1, max pods 29`` from a run's inputs."""
    groups = inputs.get("node_groups") or []
    if not groups:
        return f"{inputs.get('nodes', '?')} nodes"
    parts = []
    for group in groups:
        config = group.get("config", {})
        if config.get("prefix_delegation"):
            mode = f"prefix delegation, WARM_PREFIX_TARGET={config.get('warm_prefix_target')}"
        else:
            mode = f"secondary IPs, WARM_ENI_TARGET={config.get('warm_eni_target')}"
        targets = [
            f"{name.upper()}={config[name]}"
            for name in ("warm_ip_target", "minimum_ip_target")
            if config.get(name)
        ]
        parts.append(
            ", ".join(
                [
                    f"{group['nodes']} x {group['instance_type']}",
                    mode,
                    *targets,
                    f"max pods {group['max_pods']}",
                ]
            )
        )
    return "; ".join(parts)


def _per_interval(cumulative: Sequence[int]) -> list[int]:
    """Calls made in each sample interval (the first sample counts what came before it)."""
    return [b - a for a, b in zip([0, *cumulative], cumulative, strict=False)]


def _drawn_per_interval(cumulative: Sequence[int]) -> list[int]:
    """``_per_interval`` as the plot draws it: the calls made at the first sample's instant
    (the boot burst at t=0) join the first interval, which a step line can show; on their
    own they would cover no time and be invisible."""
    values = _per_interval(cumulative)
    if len(values) > 1:
        values = [0, values[0] + values[1], *values[2:]]
    return values


#: PNG metadata for ``savefig``: no ``Software`` entry (it names the matplotlib version), so
#: the same run gives byte-identical files on any installation.
PNG_METADATA: dict[str, str | None] = {"Software": None}

#: What each plot shows, by file name, in the order they are drawn.
PLOTS = {
    "ips.png": "pods and the pool's addresses",
    "enis.png": "ENIs and /28 prefixes",
    "ec2_calls.png": "EC2 calls per sample interval and cumulative, by outcome",
    "subnet.png": "free subnet addresses, zoomed on their range, and addresses taken",
}


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or a ConfigError (field ``plots``) naming
    the extra to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "plots",
            "matplotlib",
            "install the plots extra: pip install -e '.[plots]' in the repository",
        ) from exc
    return plt


def write_plots(result: SimulationResult, directory: str | Path) -> list[Path]:
    """Write the :data:`PLOTS` (``ips.png``, ``enis.png``, ``ec2_calls.png``,
    ``subnet.png``) into ``directory``; returns the paths."""
    plt = pyplot()
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in plot_figures(result):
        path = out / name
        fig.savefig(path, dpi=100, metadata=PNG_METADATA)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_figures(result: SimulationResult) -> list[tuple[str, Any]]:
    """The :data:`PLOTS` as matplotlib figures in memory, ``(file name, figure)`` in that
    order; the caller saves and closes them (``write_plots``, the HTML report)."""
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    series = result.series
    duration = series[-1].time_s if series else 0.0
    in_hours = duration >= 2 * 3600
    scale, unit = (3600.0, "hours") if in_hours else (60.0, "minutes")
    xs = [s.time_s / scale for s in series]
    label = run_label(result.inputs)
    thousands = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
    interval = result.inputs.get("sample_interval_s")
    every = f"{interval:g} s" if isinstance(interval, int | float) else "sample interval"

    def figure(title: str, rows: int = 1) -> tuple[Any, list[Any]]:
        size = (11, 3.6 * rows + 0.8)
        fig, axes = plt.subplots(rows, 1, figsize=size, sharex=True, squeeze=False)
        fig.suptitle(f"{title}\n{label}", fontsize=11)
        return fig, [ax for (ax,) in axes]

    def lines(
        ax: Any, named: Mapping[str, Sequence[float]], ylabel: str, *, counts: bool = False
    ) -> None:
        """One step line per series; ``counts``: values per interval (legend: total, peak)."""
        for index, (name, values) in enumerate(named.items()):
            top = max(values, default=0)
            if counts:
                note = f"total {sum(values):,.0f}, peak {top:,.0f}"
            else:
                note = f"end {values[-1] if values else 0:,.0f}, max {top:,.0f}"
            ax.plot(
                xs,
                values,
                label=f"{name} ({note})",
                # A level holds from its sample on; an interval's count covers the time up to
                # its sample.
                drawstyle="steps-pre" if counts else "steps-post",
                linestyle=_STYLES[index % len(_STYLES)],
                linewidth=1.6,
            )
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(thousands)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)

    def save(fig: Any, axes: list[Any], name: str) -> tuple[str, Any]:
        axes[-1].set_xlabel(f"simulated time ({unit})")
        end = duration / scale if duration else 1
        for ax in axes:
            # A little room left of 0, so the boot sample (every pod waiting at t=0) is not
            # hidden behind the axis.
            ax.set_xlim(-end / 100, end)
            lo, hi = ax.get_ylim()
            if hi - lo < 1:  # an all-zero plot: show 0..1, not -0.05..0.05
                ax.set_ylim(0, 1)
        fig.tight_layout()
        return name, fig

    figures: list[tuple[str, Any]] = []
    fig, axes = figure("Pods and ipamd's IPv4 pool, all nodes", rows=2)
    lines(
        axes[0],
        {
            "with an IP": [s.pods for s in series],
            "waiting for an IP": [s.pods_waiting for s in series],
            "pending (no node with room)": [s.pods_pending for s in series],
            "gave up (cumulative)": [s.pods_failed_cumulative for s in series],
        },
        "pods",
    )
    lines(
        axes[1],
        {
            "held by ipamd": [s.ips_total for s in series],
            "unused (warm)": [s.ips_unused for s in series],
            "cooling": [s.ips_cooling for s in series],
        },
        "pool addresses",
    )
    figures.append(save(fig, axes, "ips.png"))

    fig, axes = figure("ENIs and /28 prefixes, all nodes")
    lines(
        axes[0],
        {"ENIs": [s.enis for s in series], "prefixes": [s.prefixes for s in series]},
        "count",
    )
    figures.append(save(fig, axes, "enis.png"))

    fig, axes = figure("EC2 calls by outcome, all nodes", rows=2)
    cumulative = {
        "ok": [s.ec2_calls_ok_cumulative for s in series],
        "failed": [s.ec2_calls_failed_cumulative for s in series],
        "throttled": [s.ec2_calls_throttled_cumulative for s in series],
    }
    lines(
        axes[0],
        {name: _drawn_per_interval(values) for name, values in cumulative.items()},
        f"calls per {every}",
        counts=True,
    )
    lines(axes[1], cumulative, "calls since start")
    figures.append(save(fig, axes, "ec2_calls.png"))

    subnets = result.inputs.get("subnets") or {}
    usable = sum(int(s.get("usable_addresses") or 0) for s in subnets.values())
    cidrs = ", ".join(str(s.get("cidr")) for s in subnets.values()) or "subnet"
    fig, axes = figure(f"Free addresses in {cidrs} ({usable:,} usable)", rows=2)
    free = [s.subnet_free_addresses for s in series]
    lines(axes[0], {"free addresses": free}, "free addresses")
    # Zoom on the range the free count moves in: on a /16 a few hundred taken addresses
    # would otherwise be a flat line at 65,000.
    low, high = min(free, default=0), max(free, default=0)
    margin = max(1, (high - low) // 10)
    axes[0].set_ylim(max(low - margin, 0) if low > 0 else -0.5, high + margin)
    if low == 0:
        axes[0].axhline(0, color="red", linewidth=1)
        axes[0].annotate(
            "subnet full",
            (xs[free.index(0)], 0),
            xytext=(4, 3),
            textcoords="offset points",
            color="red",
            va="bottom",
        )
    blocks = [s.subnet_free_blocks for s in series]
    if 0 in blocks and low > 0:
        # Addresses are left but no aligned /28 is wholly free: prefixes fail (fragmentation).
        at = blocks.index(0)
        axes[0].annotate(
            "no free /28 block from here: prefix requests fail",
            (xs[at], free[at]),
            xytext=(4, 3),
            textcoords="offset points",
            color="red",
            va="bottom",
        )
    lines(
        axes[1],
        {"taken by the nodes": [s.subnet_addresses for s in series]},
        "addresses taken",
    )
    axes[1].set_ylim(bottom=0)
    figures.append(save(fig, axes, "subnet.png"))
    return figures
