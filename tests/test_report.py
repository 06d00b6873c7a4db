"""The HTML report (``vpccni_model.report``, ``--report FILE``): what the page holds, that it
is self-contained and escaped, that the same inputs give the same bytes, and the flag's
errors.

Expected figures come from elsewhere than the report: hand-worked (t3.small holds 3
secondary IPs per ENI; a /24 has 251 usable addresses; m5.large at 0 pods takes 10 subnet
addresses, one ENI and its 9 secondaries), the simulator's own summary, and ``steady_state``
(the other path to what a settled node holds).
"""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vpccni_model import Config, instance_limits, steady_state
from vpccni_model._errors import ConfigError
from vpccni_model.cli import main
from vpccni_model.report import (
    Figure,
    Finding,
    KeyFigure,
    Report,
    Table,
    comparison_report,
    simulation_report,
)
from vpccni_model.sim import Constant, PoissonChurn, SimulationSpec, cluster, simulate
from vpccni_model.sim.compare import compare

T3 = instance_limits("t3.small")


class Page(HTMLParser):
    """What a reader of the page sees, collected: key figures by their data-key, the text of
    every table cell, the finding items, the image sources, and all text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.figures: dict[str, dict[str, str]] = {}
        self.cells: list[str] = []
        self.rows: list[list[str]] = []
        self.row_attrs: list[dict[str, str | None]] = []  # each <tr>'s attributes
        self.findings: list[str] = []
        self.sources: list[str] = []
        self.text: list[str] = []
        self._figure: str | None = None
        self._span: str | None = None
        self._cell: list[str] | None = None
        self._finding: list[str] | None = None
        self._depth = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "div" and "kf" in (found.get("class") or "").split():
            key = found.get("data-key") or ""
            self._figure = key
            self.figures[key] = {"value": "", "unit": "", "raw": found.get("data-value") or ""}
        if tag == "span" and self._figure is not None:
            self._span = found.get("class")
        if tag == "tr":
            self.rows.append([])
            self.row_attrs.append(found)
        if tag in ("td", "th"):
            self._cell = []
        if tag == "li" and "finding" in (found.get("class") or ""):
            self._finding = []
            self._depth = 0
        if tag == "li" and self._finding is not None:
            self._depth += 1
        if tag == "img":
            self.sources.append(found.get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._span = None
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self.rows[-1].append(self.cells[-1])
            self._cell = None
        if tag == "li" and self._finding is not None:
            self._depth -= 1
            if self._depth == 0:
                self.findings.append(" ".join("".join(self._finding).split()))
                self._finding = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._figure is not None and self._span in ("value", "unit"):
            self.figures[self._figure][self._span] += data
        if self._cell is not None:
            self._cell.append(data)
        if self._finding is not None:
            self._finding.append(data)


def pairs(page: Page) -> dict[str, str]:
    """The name/value rows of the input tables, as a mapping (later tables win on a name)."""
    return {row[0]: row[1] for row in page.rows if len(row) == 2}


def run_cli(argv: list[str]) -> int:
    return main(argv)


@pytest.fixture(scope="module")
def small_run() -> tuple[object, str]:
    spec = SimulationSpec(
        nodes=cluster(T3, Config(), 2), workload=Constant(5), duration=600.0, seed=3
    )
    result = simulate(spec)
    return result, simulation_report(result).html()


# -- the page's content ----------------------------------------------------------------------


def test_key_figures_are_the_runs_numbers(small_run: tuple[object, str]) -> None:
    result, text = small_run
    page = Page(text)
    figures = page.figures
    # 5 pods on each of 2 nodes, none deleted: 10 start. At 5 pods a settled t3.small holds
    # 3 ENIs (3 + 3 secondaries in use or spare and a whole warm ENI of 3: WARM_ENI_TARGET=1).
    assert figures["pods_started"]["value"] == "10"
    assert figures["pods_started"]["unit"] == "pods"
    settled = steady_state(T3, Config(), 5)
    assert figures["ips_total_max"]["value"] == str(2 * settled.total_ips)
    assert figures["enis_max"]["value"] == str(2 * settled.enis)
    assert figures["subnet_addresses_max"]["value"] == str(2 * settled.subnet_addresses)
    # And every figure's shown text is the summary's value (ints with separators, times to
    # two decimals, None as "never" for a percentile).
    summary = result.summary  # type: ignore[attr-defined]
    assert figures["pods_failed"]["value"] == f"{summary.pods_failed:,}"
    assert figures["time_to_ip_p50_s"]["value"] == f"{summary.time_to_ip_p50_s:.2f}"
    assert figures["time_to_ip_p99_s"]["value"] == f"{summary.time_to_ip_p99_s:.2f}"
    assert figures["ec2_calls_per_hour"]["value"] == f"{summary.ec2_calls_per_hour:,.2f}"
    assert figures["ec2_calls_throttled"]["value"] == "0"
    assert figures["subnet_free_addresses_min"]["value"] == (
        f"{65531 - 2 * settled.subnet_addresses:,}"  # a /16 less the two nodes' addresses
    )
    assert figures["ec2_calls_per_hour"]["unit"] == "calls/h"
    assert figures["time_to_ip_max_s"]["unit"] == "s"


def test_the_page_has_every_plot_and_the_calls_table(small_run: tuple[object, str]) -> None:
    result, text = small_run
    page = Page(text)
    assert len(page.sources) == 4  # ips, enis, ec2_calls, subnet
    assert all(src.startswith("data:image/png;base64,") for src in page.sources)
    calls = result.calls_by_api  # type: ignore[attr-defined]
    for api, counts in calls.items():
        assert api in page.cells
        assert str(counts["ok"]) in page.cells


def test_inputs_are_echoed(small_run: tuple[object, str]) -> None:
    _, text = small_run
    shown = pairs(Page(text))
    assert shown["seed"] == "3"
    assert shown["nodes"] == "2"
    assert shown["workload.type"] == "Constant"
    assert shown["workload.pods_per_node"] == "5"
    assert shown["subnets.subnet-a.cidr"] == "10.0.0.0/16"
    assert shown["subnets.subnet-a.usable_addresses"] == "65531"
    assert shown["instance_type"] == "t3.small"
    assert shown["vpccni_model_version"] != ""


def test_simulate_report_echoes_env_and_includes_explains_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.html"
    argv = ["simulate", "--instance", "t3.small", "--nodes", "2", "--hours", "0.1", "--quiet"]
    env = ["--env", "MINIMUM_IP_TARGET=3", "--env", "WARM_ENI_TARGET=0"]
    assert run_cli([*argv, *env, "--json", "--report", str(report)]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)["summary"]  # stdout holds only the JSON document
    assert f"wrote {report}" in captured.err
    page = Page(report.read_text(encoding="utf-8"))
    assert page.figures["pods_started"]["value"] == f"{summary['pods_started']:,}"
    shown = pairs(page)
    assert shown["MINIMUM_IP_TARGET"] == "3"
    assert shown["WARM_ENI_TARGET"] == "0"
    # MINIMUM_IP_TARGET with no warm target: explain's error (pods beyond 3 starve).
    starving = [f for f in page.findings if "minimum-ip-target-alone" in f]
    assert starving and starving[0].startswith("\u2716 error minimum-ip-target-alone:")
    assert "rule:" in starving[0] and "fix:" in starving[0]


def test_findings_are_most_severe_first_across_the_lint_and_explain(tmp_path: Path) -> None:
    # AWS_VPC_ENI_MTU is an info of the env lint (ipamd reads it, the model does not);
    # MINIMUM_IP_TARGET alone is an error of explain: the error comes first.
    report = tmp_path / "report.html"
    argv = ["simulate", "--instance", "t3.small", "--nodes", "1", "--hours", "0.1", "--quiet"]
    env = ["--env", "AWS_VPC_ENI_MTU=9001", "--env", "MINIMUM_IP_TARGET=3"]
    assert run_cli([*argv, *env, "--env", "WARM_ENI_TARGET=0", "--report", str(report)]) == 0
    words = [f.split()[1] for f in Page(report.read_text(encoding="utf-8")).findings]
    assert "error" in words and "info" in words
    rank = {"error": 0, "warning": 1, "info": 2}
    assert [rank[w] for w in words] == sorted(rank[w] for w in words)


def test_plan_subnet_report_has_the_hand_worked_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "plan.html"
    argv = ["plan-subnet", "--cidr", "10.0.0.0/24", "--instance", "m5.large", "--nodes", "10"]
    assert run_cli([*argv, "--pods-per-node", "0", "--report", str(report)]) == 0
    assert f"wrote {report}" in capsys.readouterr().out
    page = Page(report.read_text(encoding="utf-8"))
    figures = {k: v["value"] for k, v in page.figures.items()}
    assert figures["usable_addresses"] == "251"  # 256 less the 5 EC2 reserves
    assert figures["node_addresses"] == "10"  # 1 ENI + 9 secondary IPs
    assert figures["fleet_addresses"] == "100"
    assert figures["headroom"] == "151"
    assert figures["fits_addresses"] == "25"  # 251 // 10
    assert figures["fits"] == "25"
    assert "fits_packed" not in figures  # secondary IPs: no /28 bounds
    assert len(page.sources) == 1
    shown = pairs(page)
    assert shown["cidr"] == "10.0.0.0/24"
    assert shown["nodes"] == "10"
    assert shown["ENABLE_PREFIX_DELEGATION"] == "false"


def test_plan_subnet_report_in_prefix_mode_has_the_bounds(tmp_path: Path) -> None:
    report = tmp_path / "plan.html"
    argv = ["plan-subnet", "--cidr", "10.0.0.0/20", "--instance", "m5.xlarge", "--nodes", "60"]
    pd = ["--env", "ENABLE_PREFIX_DELEGATION=true", "--pods-per-node", "30"]
    assert run_cli([*argv, *pd, "--json", "--report", str(report)]) == 0
    figures = Page(report.read_text(encoding="utf-8")).figures
    # 30 pods: one ENI with 2 /28s (32 addresses), one more /28 warm: 3 prefixes and the
    # ENI's primary, 49 addresses.
    assert figures["node_addresses"]["value"] == "49"
    assert figures["fits_addresses"]["value"] == f"{4091 // 49}"
    for key in ("fits_packed", "fits_scattered", "stranded_packed", "stranded_scattered"):
        assert figures[key]["value"] != ""


# -- escaping and self-containment ------------------------------------------------------------

HOSTILE = '<script>alert("x")</script>'


def test_every_text_is_escaped() -> None:
    report = Report(
        HOSTILE,
        HOSTILE,
        HOSTILE,
        key_figures=(KeyFigure(HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE, HOSTILE),),
        findings=(Finding("error", HOSTILE, HOSTILE, (HOSTILE,)),),
        findings_intro=HOSTILE,
        figures=(Figure(HOSTILE, b"\x89PNG", HOSTILE, HOSTILE),),
        tables=(Table(HOSTILE, (HOSTILE,), ((HOSTILE,),), HOSTILE),),
        inputs=(Table.pairs(HOSTILE, {HOSTILE: HOSTILE}),),
        notes=(HOSTILE,),
        footer=HOSTILE,
    )
    text = report.html()
    assert "<script" not in text
    backquoted = Report("t", lead=f"`{HOSTILE}`").html()  # code markup, still escaped
    assert "<code>&lt;script&gt;" in backquoted and "<script" not in backquoted
    # 26 places: <title> and <h1>, the subtitle, the lead, the key figure's six fields (two of them
    # data- attributes), the finding's code, message and detail, the intro, the figure's
    # title, alt and caption, the table's title, header, cell and caption, the input table's
    # title, name and value, the note and the footer.
    assert text.count("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;") == 26
    page = Page(text)
    assert "".join(page.text).count(HOSTILE) == 23  # as text: all but the three attributes


def test_hostile_input_from_the_command_line_is_shown_not_run(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    argv = ["plan-subnet", "--cidr", "10.0.0.0/24", "--instance", "m5.large", "--nodes", "2"]
    assert run_cli([*argv, "--env", f"NOT_A_VARIABLE={HOSTILE}", "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    assert pairs(Page(text))["NOT_A_VARIABLE"] == HOSTILE
    assert any("NOT_A_VARIABLE" in f for f in Page(text).findings)  # the lint's warning


def test_the_page_loads_nothing(small_run: tuple[object, str]) -> None:
    _, text = small_run
    assert "http://" not in text and "https://" not in text
    assert re.findall(r'\bsrc="(?!data:image/png;base64,)', text) == []
    assert re.findall(r'\bhref="', text) == []
    for needle in ("<script", "<link", "<iframe", "url(", "@import", "@font-face"):
        assert needle not in text
    assert text.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in text


def test_a_finding_has_a_known_severity() -> None:
    with pytest.raises(ConfigError) as err:
        Finding("fatal", "x", "y")
    assert err.value.field == "severity"


# -- determinism ------------------------------------------------------------------------------


def test_the_same_run_gives_the_same_bytes(tmp_path: Path) -> None:
    argv = ["simulate", "--instance", "t3.small", "--nodes", "2", "--hours", "0.1", "--quiet"]
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    assert run_cli([*argv, "--report", str(first)]) == 0
    assert run_cli([*argv, "--report", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    other = tmp_path / "c.html"
    assert run_cli([*argv, "--seed", "1", "--report", str(other)]) == 0
    assert other.read_bytes() != first.read_bytes()  # the seed is an input


def test_pngs_name_no_software(tmp_path: Path, small_run: tuple[object, str]) -> None:
    from vpccni_model.sim.plots import write_plots

    result, text = small_run
    first = [p.read_bytes() for p in write_plots(result, tmp_path / "a")]  # type: ignore[arg-type]
    second = [p.read_bytes() for p in write_plots(result, tmp_path / "b")]  # type: ignore[arg-type]
    assert first == second
    assert all(b"matplotlib" not in png and b"Software" not in png for png in first)
    assert "Software" not in text


# -- the flag ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["simulate", "plan-subnet", "compare", "sweep"])
def test_report_into_a_missing_directory_is_a_usage_error(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = {
        "simulate": ["simulate", "--instance", "t3.small", "--hours", "0.1", "--quiet"],
        "plan-subnet": [
            "plan-subnet",
            "--instance",
            "t3.small",
            "--cidr",
            "10.0.0.0/24",
            "--nodes",
            "2",
        ],
        "compare": ["compare", "--instance", "t3.small", "--hours", "0.1", "--no-explain"],
        "sweep": ["sweep", "examples/sweep-quick.toml", "--serial", "--quiet"],
    }[command]
    missing = tmp_path / "no-such-dir" / "report.html"
    assert run_cli([*argv, "--report", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before anything ran
    message = captured.err.strip()
    assert len(message.splitlines()) == 1
    assert message.startswith(f"vpccni-model {command}: error: --report ")
    assert "does not exist" in message
    assert run_cli([*argv, "--report", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert run_cli([*argv, "--report", ""]) == 2
    assert "--report needs a file name" in capsys.readouterr().err
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    assert run_cli([*argv, "--report", str(a_file / "report.html")]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err


def test_write_names_the_path_when_the_directory_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        Report("t").write(tmp_path / "missing" / "r.html")
    assert err.value.field == "path"


def test_without_matplotlib_the_report_says_which_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    for argv in (
        ["simulate", "--instance", "t3.small", "--hours", "0.1", "--quiet"],
        ["plan-subnet", "--instance", "t3.small", "--cidr", "10.0.0.0/24", "--nodes", "2"],
        ["compare", "--instance", "t3.small", "--hours", "0.1", "--no-explain"],
    ):
        report = tmp_path / f"{argv[0]}.html"
        assert run_cli([*argv, "--report", str(report)]) == 0
        text = report.read_text(encoding="utf-8")
        assert "<img" not in text
        assert "pip install -e &#x27;.[plots]&#x27;" in text
        assert "Key figures" in text


def test_no_plots_leaves_the_figures_out(tmp_path: Path) -> None:
    report = tmp_path / "r.html"
    argv = ["simulate", "--instance", "t3.small", "--hours", "0.1", "--quiet", "--no-plots"]
    assert run_cli([*argv, "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "<img" not in text and "Figures left out (--no-plots)." in text


# -- the comparison's page ---------------------------------------------------------------------

#: B: a warm count instead of a warm ENI. At 5 pods a settled t3.small holds 6 IPs on 2 ENIs
#: (5 in use and 1 warm: 3 secondaries per ENI) against A's 9 on 3 (a whole warm ENI).
LEAN = Config(warm_ip_target=1, minimum_ip_target=2, warm_eni_target=0)


def _spec(config: Config) -> SimulationSpec:
    return SimulationSpec(
        nodes=cluster(T3, config, 2), workload=Constant(5), duration=600.0, seed=3
    )


@pytest.fixture(scope="module")
def lean_comparison() -> tuple[object, str]:
    comparison = compare(_spec(Config()), _spec(LEAN))
    return comparison, comparison_report(comparison).html()


def _key_rows(page: Page) -> dict[str, tuple[list[str], dict[str, str | None]]]:
    """The rows with a data-key (the figures and the APIs), by key."""
    return {
        str(info["data-key"]): (row, info)
        for row, info in zip(page.rows, page.row_attrs, strict=True)
        if info.get("data-key")
    }


def test_comparison_key_figures_are_both_runs_numbers(
    lean_comparison: tuple[object, str],
) -> None:
    _, text = lean_comparison
    rows = _key_rows(Page(text))
    # The other path: two runs of their own, and steady_state for what a settled node holds.
    a, b = simulate(_spec(Config())).summary, simulate(_spec(LEAN)).summary
    settled_a, settled_b = steady_state(T3, Config(), 5), steady_state(T3, LEAN, 5)
    assert (settled_a.total_ips, settled_b.total_ips) == (9, 6)  # hand-worked, above
    row, info = rows["ips_total_max"]
    assert row[:5] == ["IPs held, max", "18", "12", "-6", "-33%"]  # 2 nodes each
    assert row[5] == "\u25b2 matters" and row[6] == "B"  # 33% and 6 >= the 5-address floor
    assert "marked" in (info.get("class") or "")
    row, _ = rows["subnet_addresses_max"]
    assert row[1:3] == [str(2 * settled_a.subnet_addresses), str(2 * settled_b.subnet_addresses)]
    assert row[1:3] == [f"{a.subnet_addresses_max:,}", f"{b.subnet_addresses_max:,}"]
    row, _ = rows["enis_max"]
    assert row[1:4] == [str(2 * settled_a.enis), str(2 * settled_b.enis), "-2"]
    for field in ("pods_started", "pods_that_waited", "ec2_calls_failed"):
        row, info = rows[field]
        x, y = getattr(a, field), getattr(b, field)
        assert row[1:4] == [f"{x:,}", f"{y:,}", "0" if x == y else f"{y - x:+,}"]
    for field in ("time_to_ip_p99_s", "ec2_calls_per_hour", "ips_unused_mean"):
        row, _ = rows[field]
        x, y = getattr(a, field), getattr(b, field)
        assert row[1:3] == [f"{x:,.2f}", f"{y:,.2f}"]
        assert row[3:5] == (["0", "0%"] if x == y else [f"{y - x:+,.2f}", f"{(y - x) / x:+.0%}"])
    row, info = rows["pods_failed"]  # 0 and 0: shown, not marked
    assert row[1:6] == ["0", "0", "0", "0%", ""] and "marked" not in (info.get("class") or "")
    # Every API of either run, with both sides' calls.
    for api, counts in simulate(_spec(LEAN)).calls_by_api.items():
        assert rows[api][0][4] == f"{sum(counts.values()):,}"


def test_comparison_lead_says_who_wins_on_what(lean_comparison: tuple[object, str]) -> None:
    _, text = lean_comparison
    lead = re.search(r'<p class="lead">(.*?)</p>', text)
    assert lead is not None
    # B holds fewer addresses: 16 against 24 subnet addresses (2 nodes of 8 and of 12).
    assert "B takes fewer subnet addresses (at most 16 addresses, A 24 addresses)" in lead[1]
    assert lead[1].startswith("A gives pods their IPs sooner")  # a warm ENI waits less


def test_comparison_page_shows_inputs_figures_and_findings(tmp_path: Path) -> None:
    report = tmp_path / "compare.html"
    argv = ["compare", "--instance", "t3.small", "--nodes", "2", "--hours", "0.1"]
    sides = ["--b-env", "WARM_IP_TARGET=1", "--b-env", "WARM_ENI_TARGET=0", "--b-label", "lean"]
    assert run_cli([*argv, *sides, "--report", str(report)]) == 0
    page = Page(report.read_text(encoding="utf-8"))
    differ = {row[0]: row[1:] for row in page.rows if row and row[0].startswith(("env", "eff"))}
    assert differ["env WARM_IP_TARGET"] == ["(unset)", "1"]
    assert differ["effective warm_eni_target"] == ["1", "0"]
    assert len(page.sources) == 3  # the overlays: IPs and waits, EC2 calls, subnet
    text = "".join(page.text)
    for heading in ("Inputs that differ", "A and lean side by side", "EC2 calls by API"):
        assert heading in text
    assert "A: aws-node environment, as ipamd reads it" in text
    assert "lean: aws-node environment, as ipamd reads it" in text
    # Each side's explain findings, named by side.
    sides = [f.split(": ", 1)[1] for f in page.findings]
    assert sides and all(side.startswith(("A", "lean")) for side in sides)


def test_identical_configurations_say_so(tmp_path: Path) -> None:
    report = tmp_path / "same.html"
    argv = ["compare", "--instance", "t3.small", "--hours", "0.1", "--no-explain"]
    assert run_cli([*argv, "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert '<p class="lead">Identical configurations: A and B have the same inputs' in text
    assert "Inputs that differ" not in text
    assert 'class="marked"' not in text  # nothing differs, nothing matters
    assert "Not explained (--no-explain)." in text


def test_comparison_labels_and_env_are_escaped(tmp_path: Path) -> None:
    comparison = compare(_spec(Config()), _spec(LEAN), labels=(HOSTILE, "B"))
    text = comparison_report(comparison, figures=False).html()
    assert "<script" not in text and HOSTILE in "".join(Page(text).text)
    report = tmp_path / "r.html"
    argv = ["compare", "--instance", "t3.small", "--hours", "0.1", "--no-explain"]
    hostile = ["--b-env", f"NOT_A_VARIABLE={HOSTILE}", "--a-label", HOSTILE]
    # A label that matplotlib would read as math, and fail to parse, is drawn as it is.
    hostile += ["--b-label", r"$\notacommand$"]
    assert run_cli([*argv, *hostile, "--report", str(report)]) == 0
    text = report.read_text(encoding="utf-8")
    assert "<script" not in text
    assert pairs(Page(text))["NOT_A_VARIABLE"] == HOSTILE
    assert len(Page(text).sources) == 3


def test_the_same_comparison_gives_the_same_bytes(tmp_path: Path) -> None:
    argv = ["compare", "--instance", "t3.small", "--hours", "0.1", "--b-env", "WARM_IP_TARGET=2"]
    first, second, other = tmp_path / "a.html", tmp_path / "b.html", tmp_path / "c.html"
    assert run_cli([*argv, "--report", str(first)]) == 0
    assert run_cli([*argv, "--report", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert run_cli([*argv, "--seed", "1", "--report", str(other)]) == 0
    assert other.read_bytes() != first.read_bytes()


# -- plan-subnet --workload --------------------------------------------------------------------


def test_plan_subnet_workload_report_has_the_simulated_figures(tmp_path: Path) -> None:
    report = tmp_path / "plan.html"
    argv = ["plan-subnet", "--cidr", "10.0.0.0/24", "--instance", "m5.large", "--nodes", "10"]
    sim = ["--pods-per-node", "8", "--workload", "churn", "--changes-per-minute", "3"]
    sim += ["--hours", "0.5", "--sim-nodes", "3", "--seed", "2"]
    assert run_cli([*argv, *sim, "--report", str(report)]) == 0
    page = Page(report.read_text(encoding="utf-8"))
    # The other path: the same three nodes run by the simulator directly; what one of them
    # took at its busiest sample, and the 95th percentile (nearest rank) over every sample.
    m5 = instance_limits("m5.large")
    spec = SimulationSpec(
        nodes=cluster(m5, Config.for_instance(Config(), m5), 3),
        workload=PoissonChurn(8, 3.0),
        duration=1800.0,
        seed=2,
        subnets=(("subnet-a", "10.0.0.0/16"),),
        per_node_series=True,
    )
    held = sorted(row.subnet_addresses for row in simulate(spec).node_series)
    peak, p95 = held[-1], held[-(-95 * len(held) // 100) - 1]
    steady = steady_state(m5, Config(), 8).subnet_addresses
    # By hand: settled at 8 pods, one ENI's 9 secondaries and a warm ENI, 2 x 10 addresses;
    # churn above 9 pods brings the third ENI, m5.large's last: every address, 3 x 10.
    assert (steady, peak) == (20, 30)
    figures = {k: v["value"] for k, v in page.figures.items()}
    assert figures["node_addresses"] == str(steady)  # the steady plan is still there
    assert figures["sim_peak_node_addresses"] == str(peak)
    assert figures["sim_peak_fleet_addresses"] == f"{10 * peak:,}"
    assert figures["sim_fits"] == str(251 // peak)  # a /24: 251 usable addresses
    rows = _key_rows(page)
    assert rows["node_addresses"][0][1:] == [str(steady), str(p95), str(peak)]
    assert rows["fits_addresses"][0][1:] == [str(251 // n) for n in (steady, p95, peak)]
    text = "".join(page.text)
    assert "At the simulated peak: 10 nodes may not fit (at most 8 fit" in text  # 251 // 30
    assert len(page.sources) == 2  # the subnet, and what each simulated node took
    shown = pairs(page)
    assert shown["sim_nodes"] == "3" and shown["workload.type"] == "PoissonChurn"
    assert shown["workload.changes_per_node_per_minute"] == "3"


def test_comparison_lead_puts_the_graver_win_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A /26 (59 usable addresses) for 3 nodes: the whole warm ENIs of prod fill it and pods
    # fail; lean's count of one warm IP leaves room.
    report = tmp_path / "r.html"
    argv = ["compare", "--instance", "m5.large", "--nodes", "3", "--subnet", "10.0.0.0/26"]
    sides = ["--b-env", "WARM_IP_TARGET=1", "--a-label", "prod", "--b-label", "lean"]
    assert run_cli([*argv, *sides, "--no-explain", "--json", "--report", str(report)]) == 0
    doc = json.loads(capsys.readouterr().out)
    a, b = doc["summaries"]["a"], doc["summaries"]["b"]
    assert a["pods_failed"] > 0 == b["pods_failed"]
    lead = re.search(r'<p class="lead">(.*?)</p>', report.read_text(encoding="utf-8"))
    assert lead is not None
    # Fewer failures is the graver theme: lean speaks first, although it is side B.
    assert lead[1].startswith(
        f"lean loses fewer pods (0 pods failed, prod {a['pods_failed']:,} pods failed)"
    )
    assert "; prod " in lead[1]  # and prod is ahead on something too


def test_the_same_simulated_plan_gives_the_same_bytes(tmp_path: Path) -> None:
    argv = ["plan-subnet", "--cidr", "10.0.0.0/24", "--instance", "t3.small", "--nodes", "4"]
    argv += ["--workload", "churn", "--hours", "0.2", "--sim-nodes", "2"]
    first, second, other = tmp_path / "a.html", tmp_path / "b.html", tmp_path / "c.html"
    assert run_cli([*argv, "--report", str(first)]) == 0
    assert run_cli([*argv, "--report", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert run_cli([*argv, "--seed", "5", "--report", str(other)]) == 0
    assert other.read_bytes() != first.read_bytes()  # the simulation's seed is an input
