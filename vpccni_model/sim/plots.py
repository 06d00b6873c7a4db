"""PNG plots of a simulation's time series (needs the ``plots`` extra: matplotlib)."""

from __future__ import annotations

from pathlib import Path

from vpccni_model._errors import ConfigError
from vpccni_model.sim.metrics import SimulationResult


def write_plots(result: SimulationResult, directory: str | Path) -> list[Path]:
    """Write ``ips.png`` (held, unused, cooling IPs and pods), ``enis.png`` and
    ``ec2_calls.png`` (cumulative calls by outcome) and ``subnet.png``; returns the paths."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("plots", "matplotlib", "install vpccni-model[plots]") from exc
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    series = result.series
    hours = [s.time / 3600 for s in series]
    panels = {
        "ips.png": (
            "Cluster IPv4 addresses",
            {
                "held": [s.ips_total for s in series],
                "unused (warm)": [s.ips_unused for s in series],
                "cooling": [s.ips_cooling for s in series],
                "pods": [s.pods for s in series],
                "pods waiting": [s.pods_waiting for s in series],
            },
        ),
        "enis.png": (
            "ENIs and prefixes",
            {"ENIs": [s.enis for s in series], "prefixes": [s.prefixes for s in series]},
        ),
        "ec2_calls.png": (
            "EC2 calls (cumulative)",
            {
                "ok": [s.calls_ok for s in series],
                "failed": [s.calls_failed for s in series],
                "throttled": [s.calls_throttled for s in series],
            },
        ),
        "subnet.png": ("Free subnet addresses", {"free": [s.subnet_free for s in series]}),
    }
    paths = []
    for name, (title, lines) in panels.items():
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for label, values in lines.items():
            ax.plot(hours, values, label=label, drawstyle="steps-post")
        ax.set_title(title)
        ax.set_xlabel("hours")
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
        fig.tight_layout()
        path = out / name
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
