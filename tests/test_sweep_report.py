"""The sweep's HTML report (``sweep --report``, ``vpccni_model.report.sweep_report``).

Most tests build a ``SweepResult`` from hand-made rows, so every figure on the page is one
written here: the lead's percentages and ratios are worked by hand (150 -> 90 addresses is
40% fewer; 900 calls an hour against 300 is 3.0x), and the key figures are recounted from
the rows with a dominance check of the test's own. One small real sweep checks the page
does not depend on the engine and that the command line writes it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_report import Page

from vpccni_model.cli import main
from vpccni_model.report import sweep_report
from vpccni_model.sweep import SweepResult, SweepRow, SweepSpec, sweep

#: (env label, seed, held p50, held max, calls/h, throttled, waited, failed, p50, p99, max)
Figures = tuple[str, int, int, int, float, int, int, int, float | None, float | None, float]

HAND: Sequence[Figures] = (
    ("shipped", 1, 140, 150, 280.0, 0, 10, 0, 0.0, 2.0, 4.0),
    ("shipped", 2, 145, 150, 300.0, 0, 12, 0, 0.0, 3.0, 5.0),
    ("W=1", 1, 80, 90, 900.0, 4, 30, 0, 0.5, 3.0, 6.0),
    ("W=1", 2, 85, 88, 850.0, 0, 31, 1, 1.0, 2.0, 9.0),
    ("M=20", 1, 190, 200, 400.0, 0, 10, 0, 0.0, 3.0, 3.0),
    ("M=20", 2, 195, 199, 380.0, 2, 11, 0, 0.0, None, 3.5),
)


def _spec(
    labels: Sequence[str] = ("shipped", "W=1", "M=20"), first: dict[str, object] | None = None
) -> SweepSpec:
    env = [
        {"label": labels[0], **(first or {})},
        {"label": labels[1], "WARM_IP_TARGET": 1},
        {"label": labels[2], "MINIMUM_IP_TARGET": 20},
    ]
    return SweepSpec(instances=["m5.large"], env=env, seeds=[1, 2], nodes=3, hours=0.5)


def _result(spec: SweepSpec, figures: Sequence[Figures] = HAND) -> SweepResult:
    rows = []
    labels = [e.name for e in spec.env]
    for run, f in zip(spec.runs(), figures, strict=True):
        env = labels[["shipped", "W=1", "M=20"].index(f[0])]
        assert run.env.name == env and run.seed == f[1]
        rows.append(
            SweepRow(
                index=run.index,
                instance=run.instance,
                env_label=env,
                env=run.env.values,
                workload_label=run.workload.name,
                workload=run.workload.kind,
                seed=run.seed,
                subnet_addresses_p50=f[2],
                subnet_addresses_max=f[3],
                ec2_calls_per_hour=f[4],
                ec2_calls_per_hour_by_api=(("AssignPrivateIpAddresses", f[4] / 2),),
                ec2_calls_throttled=f[5],
                pods_started=100,
                pods_that_waited=f[6],
                pods_failed=f[7],
                time_to_ip_p50_s=f[8],
                time_to_ip_p99_s=f[9],
                time_to_ip_max_s=f[10],
            )
        )
    return SweepResult(spec, tuple(rows))


@pytest.fixture(scope="module")
def hand() -> tuple[SweepResult, str]:
    result = _result(_spec())
    return result, sweep_report(result, figures=False).html()


def _lead(text: str) -> str:
    found = re.search(r'<p class="lead">(.*?)</p>', text, re.S)
    assert found is not None
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_the_lead_says_the_trade_and_who_dominates(hand: tuple[SweepResult, str]) -> None:
    lead = _lead(hand[1])
    # W=1 at its worst: 90 addresses, 900 calls/h, p99 3.0 s; shipped: 150, 300, 3.0 s.
    assert "W=1 holds 40% fewer addresses than shipped (90 against 150)" in lead
    assert "3.0x the EC2 calls (900.0 an hour against 300.0)" in lead
    assert "the same p99 time to IP (3.0 s)" in lead
    # M=20: 200 addresses, 400 calls/h and a p99 that is "never" (seed 2): shipped beats it
    # on all three.
    assert "M=20 is dominated by shipped, which holds fewer addresses (150 against 200)" in lead
    assert "makes fewer EC2 calls (300.0 an hour against 400.0)" in lead
    assert "gives pods their IPs sooner (p99 3.0 s against never)" in lead
    assert lead.startswith("On the front: shipped; W=1 holds")


def _dominated(points: list[tuple[int, float, float]]) -> list[bool]:
    """The test's own dominance: no worse on all three, better on one."""
    return [
        any(all(x <= y for x, y in zip(q, p, strict=True)) and q != p for q in points)
        for p in points
    ]


def test_key_figures_are_the_rows_numbers(hand: tuple[SweepResult, str]) -> None:
    result, text = hand
    page = Page(text)
    rows = result.rows
    settings = sorted({(r.instance, r.env_label) for r in rows})
    worst = []
    for instance, env in settings:
        mine = [r for r in rows if (r.instance, r.env_label) == (instance, env)]
        p99s = [r.time_to_ip_p99_s for r in mine]
        p99 = float("inf") if None in p99s else max(p for p in p99s if p is not None)
        worst.append(
            (
                max(r.subnet_addresses_max for r in mine),
                max(r.ec2_calls_per_hour for r in mine),
                p99,
            )
        )
    dominated = sum(_dominated(worst))  # type: ignore[arg-type]
    expected = {
        "runs": len(rows),
        "settings": len(settings),
        "workloads": len({r.workload_label for r in rows}),
        "seeds": len({r.seed for r in rows}),
        "front": len(settings) - dominated,
        "dominated": dominated,
        "pods_failed": sum(r.pods_failed for r in rows),
        "ec2_calls_throttled": sum(r.ec2_calls_throttled for r in rows),
    }
    assert expected == {
        "runs": 6,
        "settings": 3,
        "workloads": 1,
        "seeds": 2,
        "front": 2,
        "dominated": 1,
        "pods_failed": 1,
        "ec2_calls_throttled": 6,
    }
    for key, value in expected.items():
        assert page.figures[key]["value"] == f"{value:,}", key
        assert page.figures[key]["raw"] == str(value), key
    assert page.figures["node_hours"]["value"] == "9"  # 6 runs x 3 nodes x 0.5 h
    assert 'class="kf alert" data-key="pods_failed"' in text
    assert 'class="kf alert" data-key="ec2_calls_throttled"' in text


def test_settings_table_has_each_setting_at_its_worst(hand: tuple[SweepResult, str]) -> None:
    page = Page(hand[1])
    by_setting = {
        row[0]: (row, attrs)
        for row, attrs in zip(page.rows, page.row_attrs, strict=True)
        if len(row) == 11  # the settings table's rows
    }
    shipped, marks = by_setting["shipped"]
    # held p50 145, max 150, calls 300.0, throttled 0, waited 12, failed 0, p50 0.0,
    # p99 3.0, max 5.0
    assert shipped == [
        "shipped",
        "145",
        "150",
        "300.0",
        "0",
        "12",
        "0",
        "0.0",
        "3.0",
        "5.0",
        "\u25c6 front",
    ]
    assert marks.get("class") == "marked"
    w1, marks = by_setting["W=1"]
    assert w1 == ["W=1", "85", "90", "900.0", "4", "31", "1", "1.0", "3.0", "9.0", "\u25c6 front"]
    m20, marks = by_setting["M=20"]
    assert m20 == [
        "M=20",
        "195",
        "200",
        "400.0",
        "2",
        "11",
        "0",
        "0.0",
        "never",
        "3.5",
        "\u2715 dominated by shipped",
    ]
    assert marks.get("class") is None  # only the front is highlighted
    # The per-run table has every run, in grid order.
    runs = [row for row in page.rows if row and row[0] in {"0", "1", "2", "3", "4", "5"}]
    assert [r[0] for r in runs] == ["0", "1", "2", "3", "4", "5"]
    assert runs[5][1:3] == ["M=20", "2"] and runs[5][-2] == "never"


def test_hostile_labels_are_shown_not_run() -> None:
    evil = ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>", 'a"b&c')
    result = _result(_spec(evil))
    text = sweep_report(result, figures=False, source="<b>file</b>.yaml").html()
    assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(2)&gt;" in text
    assert "a&quot;b&amp;c" in text
    page = Page(text)
    assert "<script>alert(1)</script>" in "".join(page.text)


def test_the_same_result_gives_the_same_bytes(hand: tuple[SweepResult, str]) -> None:
    result = hand[0]
    first = sweep_report(result, engine="this process").html()
    second = sweep_report(_result(_spec()), engine="this process").html()
    assert first == second
    assert first.count("data:image/png;base64,") == 1


def test_no_explanations_and_no_figure_say_so(hand: tuple[SweepResult, str]) -> None:
    text = hand[1]
    assert "The settings were not explained" in text
    assert "data:image/png" not in text


# -- a real sweep, on two engines and from the command line --------------------------------

TINY = SweepSpec(
    instances=["t3.small"],
    env=[{"label": "shipped"}, {"label": "W=1", "WARM_IP_TARGET": 1}],
    seeds=[1, 2],
    nodes=2,
    hours=0.2,
)


def test_the_page_does_not_depend_on_the_engine() -> None:
    serial = sweep(TINY, "serial")
    pool = sweep(TINY, "process", workers=2)
    assert serial == pool
    assert sweep_report(serial, engine="x").html() == sweep_report(pool, engine="x").html()


def test_the_command_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        "instances: t3.small\nnodes: 2\nhours: 0.2\nseeds: [1, 2]\n"
        "env:\n  - label: shipped\n  - label: W=1\n    WARM_IP_TARGET: 1\n",
        encoding="utf-8",
    )
    pages = [tmp_path / "a.html", tmp_path / "b.html"]
    for page in pages:
        assert main(["sweep", str(grid), "--serial", "--quiet", "--report", str(page)]) == 0
    out = capsys.readouterr()
    assert f"wrote {pages[1]}" in out.out
    assert "explaining 2 settings" in out.err
    assert pages[0].read_bytes() == pages[1].read_bytes()
    text = pages[0].read_text(encoding="utf-8")
    found = Page(text)
    assert found.figures["runs"]["value"] == "4"
    assert "What explain finds for each setting (shipped: " in text
    assert text.count("data:image/png;base64,") == 1
    assert "t3.small" in text and str(grid) in text
    quiet = tmp_path / "quiet.html"
    argv = ["sweep", str(grid), "--serial", "--quiet", "--no-explain", "--no-plots"]
    assert main([*argv, "--report", str(quiet)]) == 0
    text = quiet.read_text(encoding="utf-8")
    assert "Not explained (--no-explain)." in text and "data:image/png" not in text


def test_several_dominated_settings_are_named_with_who_beats_them() -> None:
    # W=1 now at 160 addresses and 900 calls/h at its worst: shipped (150, 300, 3.0 s) beats
    # it on both; M=20 (200, 400, never) is beaten by shipped as before; W=1 and M=20 do
    # not beat each other (W=1 makes more calls, M=20 holds more addresses).
    figures = [f if f[0] != "W=1" else (*f[:3], 160, 900.0, *f[5:]) for f in HAND]
    lead = _lead(sweep_report(_result(_spec(), figures), figures=False).html())
    assert lead == "On the front: shipped; dominated: W=1 (by shipped); M=20 (by shipped)."


def test_without_a_shipped_set_the_lead_compares_with_the_first_setting() -> None:
    spec = _spec(("E=1", "W=1", "M=20"), first={"WARM_ENI_TARGET": 1})
    lead = _lead(sweep_report(_result(spec), figures=False).html())
    assert lead.startswith("On the front: E=1; W=1 holds 40% fewer addresses than E=1 (90 ")
