"""`signward watch report --html OUT`: one self-contained page from the watcher's audit records.

The depth of each asset over time (an inline SVG plot: current solid, designed dashed, the
policy as a line; every round a dot, so one round already shows; UTC times on the x axis),
each control's history (one mark per round, green passed, red failed), and the last failures
with their details. Everything on the page comes from the audit log (`watch.round`,
`probe.pass`, `probe.fail`) and is HTML-escaped; an absent value reads "unreachable" or "-",
never "None".
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..safefile import HTML_MARK, write_file

WIDTH, HEIGHT, PAD = 720, 240, 40
MAX_ROUNDS = 500  # the newest rounds drawn
MAX_FAILURES = 20
MAX_DOTS = 100  # rounds up to this many get a dot each; more draw the line alone (and the newest dot)
TICKS = 5  # time labels on the x axis at most


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


def _minute(t: float, seconds: bool = False) -> str:
    """A time as people read it: ISO 8601 to the minute (or second), UTC."""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime(f"%Y-%m-%d %H:%M{':%S' if seconds else ''} UTC")


def _tick(t: float, span: float) -> str:
    """An x-axis label: HH:MM (HH:MM:SS when the rounds are under 5 minutes apart, MM-DD HH:MM
    when they span days)."""
    moment = datetime.fromtimestamp(t, tz=timezone.utc)
    return moment.strftime("%m-%d %H:%M" if span >= 86400 else "%H:%M:%S" if 0 < span < 300 else "%H:%M")


def _depth(values: dict[str, Any], kind: str) -> str:
    """A depth for the page: the number, "unreachable" (None: no attack path), "-" when not recorded."""
    if kind not in values:
        return "-"
    value = values[kind]
    return "unreachable" if value is None else html.escape(str(value))


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
    parts.append(f"<text x='12' y='{HEIGHT / 2:.0f}' text-anchor='middle' font-size='11' "
                 f"transform='rotate(-90 12 {HEIGHT / 2:.0f})'>depth</text>")
    span = t1 - t0
    ticks = [t0] if span <= 0 else [t0 + span * k / (TICKS - 1) for k in range(TICKS)]
    for t in ticks:
        parts.append(f"<line x1='{x(t):.1f}' y1='{HEIGHT - PAD}' x2='{x(t):.1f}' y2='{HEIGHT - PAD + 4}' "
                     f"stroke='#888'/><text class='tick' x='{x(t):.1f}' y='{HEIGHT - PAD + 16}' "
                     f"text-anchor='middle' font-size='11'>{_tick(t, span)}</text>")
    if policies:
        parts.append(f"<line class='policy' x1='{PAD}' y1='{y(policies[-1]):.1f}' x2='{WIDTH - PAD}' "
                     f"y2='{y(policies[-1]):.1f}' stroke='#c60' stroke-dasharray='2 4'/>")
    colours = ["#1f6feb", "#8250df", "#1a7f37", "#bf8700"]
    assets = sorted({a for r in rounds for a in r["depth"]})
    legend = PAD  # the assets' names in a row above the plot, each in its colour
    for i, asset in enumerate(assets):
        colour = colours[i % len(colours)]
        drawn = False
        for kind, dash in (("designed", "6 4"), ("current", "")):
            points = [(x(r["time"]), y(r["depth"][asset][kind])) for r in rounds
                      if isinstance(r["depth"].get(asset, {}).get(kind), (int, float))]
            if points:
                drawn = True
                path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
                parts.append(f"<polyline class='{kind}' data-asset='{html.escape(asset, quote=True)}' fill='none' "
                             f"stroke='{colour}' stroke-width='2' stroke-dasharray='{dash}' points='{path}'/>")
                fill = colour if kind == "current" else "#fff"  # designed: hollow, so a dot under it still shows
                parts.extend(f"<circle class='point {kind}' data-asset='{html.escape(asset, quote=True)}' "
                             f"cx='{px:.1f}' cy='{py:.1f}' r='{4 if kind == 'current' else 5}' fill='{fill}' "
                             f"stroke='{colour}' stroke-width='2'/>"
                             for px, py in (points if len(points) <= MAX_DOTS else points[-1:]))
        label = asset if drawn else f"{asset} (unreachable: no attack path)"
        parts.append(f"<text class='asset' x='{legend}' y='{PAD - 16}' font-size='12' fill='{colour}'>"
                     f"&#9632; {html.escape(label)}</text>")
        legend += 7 * len(label) + 36
    axis = _minute(t0) if span <= 0 else f"{_minute(t0)} to {_minute(t1)}"
    parts.append(f"<text class='axis' x='{WIDTH / 2:.0f}' y='{HEIGHT - 6}' text-anchor='middle' font-size='11'>"
                 f"time (UTC): {html.escape(axis)}</text></svg>")
    return "".join(parts)


def _controls(history: History) -> str:
    rows = []
    for control in sorted(history.probes):
        marks = "".join(f"<span class='mark {'pass' if works else 'fail'}' title='{_minute(t, seconds=True)}: "
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
    rows = "".join(f"<tr><td>{_minute(t, seconds=True)}</td><td>{html.escape(c)}</td>"
                   f"<td>{html.escape(d) or '-'}</td></tr>" for t, c, d in failures)
    return f"<table id='failures'><tr><th>time</th><th>control</th><th>detail</th></tr>{rows}</table>"


def render_html(history: History, title: str = "signward watch") -> str:
    latest = history.rounds[-1] if history.rounds else None
    summary = ""
    if latest is not None:
        items = "".join(f"<li>{html.escape(a)}: current {_depth(d, 'current')}, designed {_depth(d, 'designed')}"
                        f"</li>" for a, d in sorted(latest["depth"].items()))
        summary = f"<p id='last-round'>Last round {html.escape(_minute(latest['time']))}:</p><ul id='latest'>" \
                  f"{items or '<li>no asset recorded</li>'}</ul>"
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
