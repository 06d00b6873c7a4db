"""``pareto.png``: the settings of a sweep on addresses held vs EC2 calls per hour, coloured by
p99 time to IP, one panel per workload (needs the ``plots`` extra: matplotlib).

Settings on the front are filled, coloured and labelled with their p99 on their right;
dominated ones are hollow and grey, labelled in grey on their left, so the eye lands on the
choices worth making. A p99 of None (a pod gave up at that rank) gets a red cross: no colour
on the scale would be honest for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vpccni_model._errors import ConfigError
from vpccni_model.sweep._pareto import ParetoPoint
from vpccni_model.sweep._spec import SweepSpec


def write_pareto_plot(points: Sequence[ParetoPoint], spec: SweepSpec, path: str | Path) -> Path:
    """Draw ``points`` (from :func:`pareto`) to ``path``; returns it."""
    fig = pareto_figure(points, spec)  # ConfigError first, without matplotlib
    import matplotlib.pyplot as plt

    out = Path(path)
    try:
        fig.savefig(out, dpi=100)
    finally:
        plt.close(fig)
    return out


def pareto_figure(points: Sequence[ParetoPoint], spec: SweepSpec) -> Any:
    """The Pareto figure of ``points``, in memory (a matplotlib ``Figure``, still open: the
    caller saves and closes it); ConfigError (field ``plots``) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.colors import Normalize
        from matplotlib.lines import Line2D
        from matplotlib.ticker import FuncFormatter
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "plots", "matplotlib", "install the plots extra: pip install 'vpccni-model[plots]'"
        ) from exc
    workloads = list(dict.fromkeys(p.workload for p in points))
    # The colour scale spans the front: the filled markers are the ones that carry colour.
    times = [
        p.time_to_ip_p99_s for p in points if p.time_to_ip_p99_s is not None and not p.dominated
    ]
    low, high = min(times, default=0.0), max(times, default=1.0)
    if low == high:  # one colour for all: centre it on the scale
        low, high = low - 1, high + 1
    norm = Normalize(vmin=low, vmax=high)
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(
        1, len(workloads), figsize=(6.4 * len(workloads) + 1.6, 5.4), squeeze=False
    )
    seeds = len(spec.seeds)
    one = f"{spec.instances[0]}, " if len(spec.instances) == 1 else ""
    fig.suptitle(
        f"Sweep: {one}{spec.nodes} nodes x {spec.hours:g} h per run; each setting at its worst of "
        f"{seeds} seed{'s' if seeds != 1 else ''} (lower and left is better)",
        fontsize=10,
    )
    thousands = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
    for ax, workload in zip(axes[0], workloads, strict=True):
        mine = [p for p in points if p.workload == workload]
        _panel(ax, mine, cmap, norm, with_instance=len(spec.instances) > 1)
        ax.set_title(f"workload {workload}", fontsize=10)
        ax.set_xlabel("subnet addresses held (max over the run)")
        ax.set_ylabel("EC2 calls per hour (all APIs)")
        ax.xaxis.set_major_formatter(thousands)
        ax.yaxis.set_major_formatter(thousands)
        ax.grid(True, alpha=0.3)
    bar = fig.colorbar(
        plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes[0]), fraction=0.04, pad=0.02
    )
    bar.set_label("p99 time to IP (s)")
    handles = [
        Line2D([], [], marker="o", ls="", mfc="0.3", mec="black", label="on the front"),
        Line2D(
            [], [], marker="o", ls="", mfc="none", mec="0.6", label="dominated by another setting"
        ),
        Line2D([], [], marker="X", ls="", color="tab:red", label="p99: a pod gave up"),
    ]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.subplots_adjust(bottom=0.2, top=0.86, left=0.11, right=0.84, wspace=0.3)
    return fig


def _panel(
    ax: Any, points: Sequence[ParetoPoint], cmap: Any, norm: Any, *, with_instance: bool
) -> None:
    xs = [p.subnet_addresses_max for p in points]
    ys = [p.ec2_calls_per_hour for p in points]
    # Settings that land on the same spot share one marker and one label, a line each (two
    # on the front at one spot have the same p99: otherwise one would dominate the other).
    spots: dict[tuple[float, float, bool], list[ParetoPoint]] = {}
    for point in points:
        key = (point.subnet_addresses_max, point.ec2_calls_per_hour, point.dominated)
        spots.setdefault(key, []).append(point)
    for (x, y, dominated), here in spots.items():
        names = [p.setting if with_instance else p.env_label for p in here]
        p99 = here[0].time_to_ip_p99_s
        if dominated:
            ax.scatter(x, y, s=70, facecolors="none", edgecolors="0.6", linewidths=1.2, zorder=2)
            if any(p.time_to_ip_p99_s is None for p in here):
                ax.scatter(x, y, s=40, marker="x", color="0.6", zorder=2)
            ax.annotate(
                "\n".join(names),
                (x, y),
                textcoords="offset points",
                xytext=(-7, 4),
                ha="right",
                va="bottom",
                fontsize=7,
                color="0.5",
            )
            continue
        if p99 is None:
            ax.scatter(x, y, s=110, marker="X", color="tab:red", zorder=3)
        else:
            ax.scatter(x, y, s=110, color=cmap(norm(p99)), edgecolors="black", zorder=3)
        shown = "never" if p99 is None else f"{p99:g} s"
        ax.annotate(
            "\n".join([*names, f"p99 {shown}"]),
            (x, y),
            textcoords="offset points",
            xytext=(7, 5),
            fontsize=8,
        )
    # Room for the labels: pad both axes by a share of their span (or of the value).
    for values, setter in ((xs, ax.set_xlim), (ys, ax.set_ylim)):
        low, high = min(values), max(values)
        pad = (high - low) * 0.15 or max(abs(high) * 0.1, 1.0)
        setter(max(0.0, low - pad * 2) if low >= 0 else low - pad * 2, high + pad * 3)
