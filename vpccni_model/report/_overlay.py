"""Figures that overlay runs on the same axes (a comparison's A and B): IPs held and pods
waiting, EC2 calls per interval and since the start, subnet addresses taken.

Why overlays rather than the two runs' own plots side by side: a reader compares two lines
on one scale at a glance, and two plots with their own y ranges invite misreading. Each run
keeps one colour *and* one line style throughout (solid, dashed...), so the runs are told
apart in greyscale too, and equal series stay visible on top of each other. The legend says
each run's extremes, so a line hidden under another still has its figures on the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from vpccni_model.sim.metrics import Sample, SimulationResult
from vpccni_model.sim.plots import _drawn_per_interval, pyplot, run_label

#: Per run, in order: colour and line style (the second run dashed, drawn over the first).
RUN_STYLES = (("#1f5fa8", "-"), ("#c2570c", "--"), ("#2e7d32", "-."), ("#6a3d9a", ":"))

#: What each overlay shows, in the order drawn.
OVERLAYS = (
    "IPs held by ipamd and pods waiting for an IP",
    "EC2 calls per sample interval and since the start",
    "subnet addresses taken by the nodes",
)


def _plain(text: str) -> str:
    """``text`` as matplotlib draws it literally: a ``$`` would start math, which can fail
    to parse (a label such as ``$\\x$``) or change what is shown."""
    return text.replace("$", r"\$")


def _calls(s: Sample) -> int:
    ok, failed = s.ec2_calls_ok_cumulative, s.ec2_calls_failed_cumulative
    return ok + failed + s.ec2_calls_throttled_cumulative


def overlay_figures(runs: Sequence[tuple[str, SimulationResult]]) -> list[Any]:
    """The :data:`OVERLAYS` as matplotlib figures of ``runs`` (label, result), all nodes of
    each run, headed by what each run was. The caller saves and closes them."""
    plt = pyplot()
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    duration = max((r.series[-1].time_s for _, r in runs if r.series), default=0.0)
    scale, unit = (3600.0, "hours") if duration >= 2 * 3600 else (60.0, "minutes")
    interval = runs[0][1].inputs.get("sample_interval_s") if runs else None
    every = f"{interval:g} s" if isinstance(interval, int | float) else "sample interval"
    thousands = FuncFormatter(lambda value, _pos: f"{value:,.0f}")
    title = "\n".join(f"{_plain(label)}: {run_label(result.inputs)}" for label, result in runs)

    def panel(
        ax: Any,
        value: Callable[[Sample], float],
        ylabel: str,
        *,
        kind: str = "level",
    ) -> None:
        """``kind``: "level" (held from its sample on), "interval" (a count per sample
        interval, covering the time up to its sample) or "cumulative" (a running total,
        drawn straight between samples so that it ends at its total)."""
        for index, (label, result) in enumerate(runs):
            colour, style = RUN_STYLES[index % len(RUN_STYLES)]
            xs = [s.time_s / scale for s in result.series]
            ys: list[float] = [value(s) for s in result.series]
            drawstyle = "steps-post"
            if kind == "interval":
                ys = list(_drawn_per_interval([int(v) for v in ys]))
                note = f"total {sum(ys):,.0f}, peak {max(ys, default=0):,.0f}"
                drawstyle = "steps-pre"
            elif kind == "cumulative":
                note = f"total {ys[-1] if ys else 0:,.0f}"
                drawstyle = "default"
            else:
                mean = sum(ys) / len(ys) if ys else 0.0
                note = f"max {max(ys, default=0):,.0f}, mean {mean:,.1f}"
            ax.plot(
                xs,
                ys,
                label=f"{_plain(label)} ({note})",
                color=colour,
                linestyle=style,
                linewidth=1.8 if index == 0 else 1.6,
                drawstyle=drawstyle,
            )
        ax.set_ylabel(ylabel)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(thousands)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)

    def figure(heading: str, rows: int) -> tuple[Any, list[Any]]:
        size = (11, 3.2 * rows + 0.4 + 0.3 * len(runs))
        fig, axes = plt.subplots(rows, 1, figsize=size, sharex=True)
        fig.suptitle(f"{heading}\n{title}", fontsize=11)
        return fig, list(axes) if rows > 1 else [axes]

    def finish(fig: Any, axes: list[Any]) -> Any:
        end = duration / scale if duration else 1
        for ax in axes:
            ax.set_xlim(-end / 100, end)  # room left of 0 for the boot sample
            lo, hi = ax.get_ylim()  # counts: 0 just above the axis, so a zero line shows
            top = max(hi, 1)
            ax.set_ylim(min(lo, -0.02 * top), top)
        axes[-1].set_xlabel(f"simulated time ({unit})")
        fig.tight_layout()
        return fig

    drawn = []
    fig, axes = figure("IPs held by ipamd and pods waiting, all nodes", 2)
    panel(axes[0], lambda s: s.ips_total, "IPs held")
    panel(axes[1], lambda s: s.pods_waiting, "pods waiting")
    drawn.append(finish(fig, axes))
    fig, axes = figure("EC2 calls (every outcome), all nodes", 2)
    panel(axes[0], _calls, f"calls per {every}", kind="interval")
    panel(axes[1], _calls, "calls since start", kind="cumulative")
    drawn.append(finish(fig, axes))
    fig, axes = figure("Subnet addresses taken by the nodes", 1)
    panel(axes[0], lambda s: s.subnet_addresses, "addresses taken")
    drawn.append(finish(fig, axes))
    return drawn
