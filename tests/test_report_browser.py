"""The HTML report in a real browser: Debian's Chromium, headless, opens a generated report
from a file:// URL at a laptop's 1366 x 768 and must render it with no console error, no
exception and no failed load, ask for nothing but the file and its data: figures, fit the
width without sideways scrolling, decode every figure and show the key figures' text.

Without Chromium the tests skip, saying so; CI installs it (``.ci/run``) and sets
``VPCCNI_REQUIRE_BROWSER=1``, which turns the skip into a failure. ``VPCCNI_SCREENSHOTS=DIR``
keeps the screenshots there to look at.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from browser import Rendered, chromium, render

from vpccni_model.cli import main

WIDTH, HEIGHT = 1366, 768


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        reason = (
            "Chromium is not installed (apt-get install chromium; or set VPCCNI_CHROMIUM): "
            "the report's browser test needs it"
        )
        if os.environ.get("VPCCNI_REQUIRE_BROWSER") == "1":
            pytest.fail(f"VPCCNI_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return found


def _keep(rendered: Rendered, name: str) -> None:
    where = os.environ.get("VPCCNI_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / f"{name}.png").write_bytes(rendered.screenshot)
        (Path(where) / f"{name}-full.png").write_bytes(rendered.full_page)


def _distinct_colours(png: bytes) -> int:
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    rgb = (pixels[..., :3] * 255).round().astype(np.uint32)
    packed = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]  # one int per colour
    return len(np.unique(packed))


def _check_rendered(rendered: Rendered, page: Path) -> None:
    assert rendered.problems == ()
    assert {url for url in rendered.requests if not url.startswith("data:")} == {page.as_uri()}
    assert rendered.scroll_width <= WIDTH  # nothing wider than the laptop screen
    assert rendered.images and all(w > 0 and h > 0 for w, h in rendered.images)
    assert rendered.screenshot.startswith(b"\x89PNG")
    # Not blank: text, boxes and the plots' colours give hundreds of distinct colours.
    assert _distinct_colours(rendered.screenshot) > 100
    assert _distinct_colours(rendered.full_page) > 200


def test_simulate_report_renders_in_chromium(
    browser: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    argv = ["simulate", "--instance", "t3.small", "--nodes", "2", "--hours", "0.2", "--quiet"]
    assert main([*argv, "--json", "--report", str(page)]) == 0
    summary = json.loads(capsys.readouterr().out)["summary"]
    rendered = render(browser, page, tmp_path / "chromium", WIDTH, HEIGHT)
    _keep(rendered, "simulate")
    _check_rendered(rendered, page.resolve())
    assert len(rendered.images) == 4
    assert rendered.title.startswith("Simulation: 2 x t3.small")
    text = rendered.text
    for shown in (
        f"{summary['pods_started']:,} pods",
        f"{summary['time_to_ip_p50_s']:.2f} s",
        f"{summary['ec2_calls_per_hour']:,.2f} calls/h",
        f"{summary['subnet_free_addresses_min']:,} addresses",
    ):
        assert shown in text
    for heading in ("Key figures", "Findings", "Figures", "EC2 calls by API", "Inputs"):
        assert heading in text


def test_plan_subnet_report_renders_in_chromium(browser: str, tmp_path: Path) -> None:
    page = tmp_path / "plan.html"
    argv = ["plan-subnet", "--cidr", "10.0.0.0/20", "--instance", "m5.xlarge", "--nodes", "60"]
    pd = ["--env", "ENABLE_PREFIX_DELEGATION=true", "--pods-per-node", "30", "--growth", "20"]
    assert main([*argv, *pd, "--report", str(page)]) == 0
    rendered = render(browser, page, tmp_path / "chromium", WIDTH, HEIGHT)
    _keep(rendered, "plan-subnet")
    _check_rendered(rendered, page.resolve())
    # 10.0.0.0/20: 4,096 less 5 reserved; 49 addresses per node (3 /28s and the primary).
    for shown in ("4,091 addresses", "49 addresses", "2,940 addresses", "83 nodes"):
        assert shown in rendered.text


def test_plan_subnet_workload_report_renders_in_chromium(browser: str, tmp_path: Path) -> None:
    page = tmp_path / "plan.html"
    argv = ["plan-subnet", "--cidr", "10.0.0.0/24", "--instance", "m5.large", "--nodes", "10"]
    sim = ["--pods-per-node", "8", "--workload", "churn", "--hours", "0.5", "--sim-nodes", "3"]
    assert main([*argv, *sim, "--report", str(page)]) == 0
    rendered = render(browser, page, tmp_path / "chromium", WIDTH, HEIGHT)
    _keep(rendered, "plan-subnet-workload")
    _check_rendered(rendered, page.resolve())
    assert len(rendered.images) == 2  # the subnet, and what each simulated node took
    for shown in ("One node at the simulated peak", "Steady state and simulation", "sim peak"):
        assert shown in rendered.text
    assert "At the simulated peak: 10 nodes" in rendered.text


def test_a_broken_page_is_caught(browser: str, tmp_path: Path) -> None:
    """The checks can fail: a missing image and a script error are both reported."""
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><p>x</p><img src="missing.png"><script>nope();</script>',
        encoding="utf-8",
    )
    rendered = render(browser, page, tmp_path / "chromium", WIDTH, HEIGHT)
    assert any("missing.png" in p for p in rendered.problems)
    assert any(p.startswith("exception:") for p in rendered.problems)


def test_compare_report_renders_in_chromium(
    browser: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "compare.html"
    argv = ["compare", "--instance", "m5.large", "--nodes", "3", "--hours", "0.5"]
    sides = ["--b-env", "WARM_IP_TARGET=1", "--b-env", "MINIMUM_IP_TARGET=10"]
    assert main([*argv, *sides, "--json", "--report", str(page)]) == 0
    doc = json.loads(capsys.readouterr().out)
    rendered = render(browser, page, tmp_path / "chromium", WIDTH, HEIGHT)
    _keep(rendered, "compare")
    _check_rendered(rendered, page.resolve())
    assert len(rendered.images) == 3  # the overlays
    assert rendered.title == "Comparison: A and B on 3 x m5.large"
    lines = rendered.text.splitlines()
    a, b = doc["summaries"]["a"], doc["summaries"]["b"]
    # Each key figure's row on screen: the label, A's and B's figures, tab-separated.
    for label, field in (("IPs held, max", "ips_total_max"), ("ENIs, max", "enis_max")):
        row = f"{label}\t{a[field]:,}\t{b[field]:,}\t"
        assert any(line.startswith(row) for line in lines), row
    row = f"EC2 calls per hour\t{a['ec2_calls_per_hour']:,.2f}\t{b['ec2_calls_per_hour']:,.2f}"
    assert any(line.startswith(row) for line in lines), row
    mattering = [line for line in lines if "\u25b2 matters" in line]
    assert len(mattering) >= len([f for f in doc["mattering"] if not f.startswith("calls.")])
    for heading in ("Inputs that differ", "Findings", "EC2 calls by API", "Inputs", "Notes"):
        assert heading in rendered.text


def test_sweep_report_renders_in_chromium(
    browser: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "sweep.html"
    argv = ["sweep", "examples/sweep-quick.toml", "--serial", "--quiet", "--json"]
    assert main([*argv, "--report", str(page)]) == 0
    doc = json.loads(capsys.readouterr().out)
    rendered = render(browser, page, tmp_path / "chromium", WIDTH, HEIGHT)
    _keep(rendered, "sweep")
    _check_rendered(rendered, page.resolve())
    assert len(rendered.images) == 1  # the Pareto figure
    assert rendered.title == f"Sweep: {len(doc['rows'])} runs on m5.large"
    lines = rendered.text.splitlines()
    # The key figures on screen, each a label then its value (counted from the JSON's rows).
    front = sum(1 for p in doc["pareto"] if not p["dominated"])
    for label, value in (
        ("Runs", len(doc["rows"])),
        ("Seeds", len({r["seed"] for r in doc["rows"]})),
        ("On the front", front),
    ):
        at = lines.index(label)
        assert lines[at + 1].startswith(f"{value:,}"), (label, lines[at + 1])
    # Every setting's row in the settings table, its held max and calls/h at its worst.
    for point in doc["pareto"]:
        runs = [r for r in doc["rows"] if r["env_label"] == point["env_label"]]
        row = (
            f"{point['env_label']}\t{max(r['subnet_addresses_p50'] for r in runs):,}\t"
            f"{point['subnet_addresses_max']:,}\t{point['ec2_calls_per_hour']:,.1f}\t"
        )
        assert any(line.startswith(row) for line in lines), row
    for heading in ("Key figures", "Findings", "Pareto front", "Every run", "Inputs", "Notes"):
        assert heading in rendered.text
