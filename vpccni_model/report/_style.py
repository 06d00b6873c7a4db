"""The report's style sheet, inline in every page: system fonts (no web font to fetch), a
centred column that fits a 1366 px laptop screen, tables that scroll sideways rather than
widen the page, severities told by word and mark as well as colour, and a print layout."""

from __future__ import annotations

CSS = """\
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: #1d2330;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
.page { max-width: 1180px; margin: 0 auto; padding: 20px 24px 40px; background: #fff;
  min-height: 100vh; }
header h1 { font-size: 24px; margin: 0 0 4px; }
.subtitle { margin: 0 0 6px; color: #4a5263; }
.lead { margin: 0 0 12px; font-size: 16.5px; font-weight: 600; }
p code, li code { white-space: nowrap; }
h2 { font-size: 19px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #e3e6ec; }
h3 { font-size: 16px; margin: 18px 0 6px; }
code { font: 13px/1.3 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  background: #f0f2f5; padding: 0 3px; border-radius: 3px; }
.kfs { display: grid; grid-template-columns: repeat(auto-fill, minmax(205px, 1fr)); gap: 10px; }
.kf { border: 1px solid #dde1e8; border-radius: 6px; padding: 8px 12px; background: #fbfbfc; }
.kf.alert { border: 2px solid #b3261e; background: #fdf2f1; }
.kf-label { font-size: 13px; color: #4a5263; font-weight: 600; }
.kf-value { margin: 2px 0; }
.kf-value .value { font-size: 27px; font-weight: 700; font-variant-numeric: tabular-nums; }
.kf-value .unit { font-size: 14px; color: #4a5263; }
.kf-meaning { font-size: 12.5px; color: #4a5263; }
.flag { font-size: 11px; font-weight: 700; color: #fff; background: #b3261e;
  border-radius: 3px; padding: 0 4px; margin-left: 6px; text-transform: uppercase;
  vertical-align: middle; }
ul.findings { list-style: none; padding: 0; margin: 0; }
.finding { border-left: 6px solid #888; background: #f7f8fa; margin: 0 0 8px;
  padding: 8px 12px; border-radius: 0 6px 6px 0; }
.finding ul { margin: 4px 0 0; padding-left: 20px; color: #343b4a; font-size: 14px; }
.finding .sev { display: inline-block; width: 1.4em; text-align: center; font-weight: 700;
  color: #fff; border-radius: 50%; }
.finding .sev-word { font-weight: 700; text-transform: uppercase; font-size: 13px; }
.finding.error { border-left-color: #b3261e; background: #fdf2f1; }
.finding.error .sev { background: #b3261e; } .finding.error .sev-word { color: #8c1d18; }
.finding.warning { border-left-color: #b26a00; background: #fff7e8; }
.finding.warning .sev { background: #b26a00; } .finding.warning .sev-word { color: #7a4900; }
.finding.info { border-left-color: #1f5fa8; background: #eff5fc; }
.finding.info .sev { background: #1f5fa8; } .finding.info .sev-word { color: #174a83; }
figure { margin: 10px 0 22px; }
figure h3 { margin-top: 6px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e3e6ec; }
figcaption, .caption { font-size: 13px; color: #4a5263; margin: 4px 0 6px; }
.scroll { overflow-x: auto; width: fit-content; max-width: 100%; border: 1px solid #e3e6ec;
  border-radius: 4px; }
table { border-collapse: collapse; font-size: 14px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
  gap: 0 24px; align-items: start; }
.grid .table { min-width: 0; }
.grid .scroll { width: 100%; }
.grid table { width: 100%; }
th, td { padding: 4px 10px; border-bottom: 1px solid #eceef2; text-align: left;
  vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; white-space: nowrap; }
td { overflow-wrap: anywhere; max-width: 760px; }
td:first-child { overflow-wrap: normal; }  /* a row's name breaks at spaces only */
.grid td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr.marked { background: #fff4d6; }
tbody tr.marked td { font-weight: 600; }
tbody tr.marked td:first-child { box-shadow: inset 4px 0 0 #b26a00; }
section#notes li { margin-bottom: 4px; }
footer { margin-top: 30px; font-size: 12.5px; color: #5a6273; border-top: 1px solid #e3e6ec;
  padding-top: 8px; }
@media print {
  body { background: #fff; font-size: 11pt; }
  .page { max-width: none; padding: 0; }
  .scroll { overflow: visible; border: none; }
  figure, .kf, .finding, tr { break-inside: avoid; }
  h2 { break-after: avoid; }
}
"""
