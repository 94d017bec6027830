"""`signward watch report --html OUT`: one self-contained page from the watcher's audit records.

The depth of each asset over time (an inline SVG plot: current solid, designed dashed, the
policy as a line), each control's history (one mark per round, green passed, red failed),
and the last failures with their details. Everything on the page comes from the audit log
(`watch.round`, `probe.pass`, `probe.fail`) and is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..clock import iso
from ..safefile import HTML_MARK, write_file

WIDTH, HEIGHT, PAD = 720, 240, 40
MAX_ROUNDS = 500  # the newest rounds drawn
MAX_FAILURES = 20


@dataclass
class History:
    rounds: list[dict[str, Any]] = field(default_factory=list)  # {time, depth, failed, policy}
    probes: dict[str, list[tuple[float, bool, str]]] = field(default_factory=dict)  # control -> (time, works, detail)

    @classmethod
    def from_records(cls, records: Sequence[Any]) -> History:
        history = cls()
        for record in records:
            details = record.details if isinstance(record.details, dict) else {}
            if record.action == "watch.round":
                history.rounds.append({"time": record.time, "depth": details.get("depth", {}),
                                       "failed": details.get("failed", []),
                                       "policy": details.get("policy_min_failures")})
            elif record.action in ("probe.pass", "probe.fail"):
                history.probes.setdefault(record.object, []).append(
                    (record.time, record.action == "probe.pass", str(details.get("detail", ""))))
        history.rounds = history.rounds[-MAX_ROUNDS:]
        return history


def _plot(history: History) -> str:
    rounds = history.rounds
    if not rounds:
        return "<p id='no-rounds'>No watch rounds recorded yet.</p>"
    values = [v for r in rounds for d in r["depth"].values() for v in (d.get("current"), d.get("designed"))
              if isinstance(v, (int, float))]
    policies = [r["policy"] for r in rounds if isinstance(r["policy"], (int, float))]
    top = max([*values, *policies, 1])
    t0, t1 = rounds[0]["time"], rounds[-1]["time"]

    def x(t: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.5)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top

    parts = [f"<svg id='depth-plot' xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
             f"role='img' aria-label='depth over time'>",
             f"<line x1='{PAD}' y1='{HEIGHT - PAD}' x2='{WIDTH - PAD}' y2='{HEIGHT - PAD}' stroke='#888'/>",
             f"<line x1='{PAD}' y1='{PAD}' x2='{PAD}' y2='{HEIGHT - PAD}' stroke='#888'/>"]
    for v in range(0, int(top) + 1):
        parts.append(f"<text x='{PAD - 8}' y='{y(v) + 4:.1f}' text-anchor='end' font-size='11'>{v}</text>")
    if policies:
        parts.append(f"<line class='policy' x1='{PAD}' y1='{y(policies[-1]):.1f}' x2='{WIDTH - PAD}' "
                     f"y2='{y(policies[-1]):.1f}' stroke='#c60' stroke-dasharray='2 4'/>")
    colours = ["#1f6feb", "#8250df", "#1a7f37", "#bf8700"]
    assets = sorted({a for r in rounds for a in r["depth"]})
    for i, asset in enumerate(assets):
        colour = colours[i % len(colours)]
        for kind, dash in (("designed", "6 4"), ("current", "")):
            points = [(x(r["time"]), y(r["depth"][asset][kind])) for r in rounds
                      if isinstance(r["depth"].get(asset, {}).get(kind), (int, float))]
            if points:
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
                parts.append(f"<polyline class='{kind}' data-asset='{html.escape(asset, quote=True)}' fill='none' "
                             f"stroke='{colour}' stroke-width='2' stroke-dasharray='{dash}' points='{path}'/>")
        parts.append(f"<text x='{WIDTH - PAD}' y='{PAD - 12 + 14 * i}' text-anchor='end' font-size='12' "
                     f"fill='{colour}'>{html.escape(asset)}</text>")
    parts.append(f"<text x='{PAD}' y='{HEIGHT - 8}' font-size='11'>{html.escape(iso(t0) or '')}</text>")
    parts.append(f"<text x='{WIDTH - PAD}' y='{HEIGHT - 8}' text-anchor='end' font-size='11'>"
                 f"{html.escape(iso(t1) or '')}</text></svg>")
    return "".join(parts)


def _controls(history: History) -> str:
    rows = []
    for control in sorted(history.probes):
        marks = "".join(f"<span class='mark {'pass' if works else 'fail'}' title='{html.escape(iso(t) or '')}: "
                        f"{html.escape(detail, quote=True)}'></span>"
                        for t, works, detail in history.probes[control][-MAX_ROUNDS:])
        last = history.probes[control][-1]
        rows.append(f"<tr data-control='{html.escape(control, quote=True)}'><td>{html.escape(control)}</td>"
                    f"<td>{'works' if last[1] else 'FAILED'}</td><td class='marks'>{marks}</td></tr>")
    return ("<table id='controls'><tr><th>control</th><th>last</th><th>history (oldest first)</th></tr>"
            + "".join(rows) + "</table>")


def _failures(history: History) -> str:
    failures = sorted(((t, control, detail) for control, runs in history.probes.items()
                       for t, works, detail in runs if not works), reverse=True)[:MAX_FAILURES]
    if not failures:
        return "<p id='no-failures'>No probe has failed.</p>"
    rows = "".join(f"<tr><td>{html.escape(iso(t) or '')}</td><td>{html.escape(c)}</td><td>{html.escape(d)}</td></tr>"
                   for t, c, d in failures)
    return f"<table id='failures'><tr><th>time</th><th>control</th><th>detail</th></tr>{rows}</table>"


def render_html(history: History, title: str = "signward watch") -> str:
    latest = history.rounds[-1] if history.rounds else None
    summary = ""
    if latest is not None:
        items = "".join(f"<li>{html.escape(a)}: current {d.get('current')}, designed {d.get('designed')}</li>"
                        for a, d in sorted(latest["depth"].items()))
        summary = f"<ul id='latest'>{items}</ul>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; max-width: 60rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; width: 100%; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; vertical-align: top; }}
td.marks {{ line-height: 0; }}
.mark {{ display: inline-block; width: 8px; height: 14px; margin: 1px; }}
.pass {{ background: #2da44e; }} .fail {{ background: #cf222e; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(history.rounds)} round(s) recorded.</p>{summary}
<h2>Depth over time</h2>{_plot(history)}
<p>Solid: current depth (failed probes counted as failed controls). Dashed: designed. Dotted: policy.</p>
<h2>Controls</h2>{_controls(history)}
<h2>Last failures</h2>{_failures(history)}
</body></html>
"""


def write_page(path: Path, page: str, *, force: bool = False) -> None:
    """Write `page` to `path` through the one safe writer (`signward.safefile`): a new file or a
    page written before, never through a link, never over another file unless `force`."""
    write_file(path, page, force=force, mark=HTML_MARK, what="--html")


__all__ = ["History", "render_html", "write_page"]
