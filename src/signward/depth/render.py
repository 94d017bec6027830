"""Graphviz DOT of the attack graph (minimum failing set highlighted) and a self-contained HTML page
(an absent number reads "unknown" or "unreachable", never `None`)."""

from __future__ import annotations

import html
import shutil
import subprocess

from ..errors import ConfigError
from .analysis import Report
from .model import Model


def _q(text: str) -> str:
    """A DOT quoted string; real newlines become DOT line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# the graph's styles, shared with the legend of both HTML pages
OFF_FILL, OFF_FONT = "#5a5a5a", "#ffffff"  # a control known to have failed (switched off)
CUT_FILL = "#ffb347"  # a control of the cheapest set that would still have to fail
ON_PATH, OFF_PATH = "#c62828", "#9e9e9e"


def _controls_label(controls: tuple[str, ...] | list[str], known: set[str], cut: set[str]) -> str:
    """A step's controls, one cell each, coloured by their state (a Graphviz HTML label)."""
    if not controls:
        return _q("(unguarded)")
    cells = []
    for control in controls:
        fill, font = (OFF_FILL, OFF_FONT) if control in known else (CUT_FILL, "#000000") if control in cut else (
            "#f4f4f4", "#000000")
        cells.append(f'<tr><td bgcolor="{fill}"><font color="{font}">{html.escape(control)}</font></td></tr>')
    return f'<<table border="0" cellspacing="2" cellpadding="3">{"".join(cells)}</table>>'


def to_dot(model: Model, report: Report) -> str:
    """The attack graph top to bottom; switched-off controls dark, the remaining cut orange."""
    cut = {c for a in report.assets for c in (a.failing_sets[0] if a.failing_sets else [])}
    known = set(report.known_failed)
    on_path = {index for a in report.assets for index in a.path_steps}
    lines = [f"digraph {_q(model.name)} {{", "  rankdir=TB; nodesep=0.3; ranksep=0.4;",
             '  node [fontname="Helvetica", fontsize=14];', '  edge [penwidth=1.4];']
    for node in model.nodes.values():
        shape = "doublecircle" if node.asset else ("box" if node.entry else "ellipse")
        color = ', style=filled, fillcolor="#ffd6d6"' if node.asset else (
            ', style=filled, fillcolor="#e0e0ff"' if node.entry else "")
        lines.append(f"  {_q('n:' + node.name)} [label={_q(node.name)}, shape={shape}{color}];")
    for step in model.steps:
        sid = _q(f"s:{step.index}")
        color = ON_PATH if step.index in on_path else OFF_PATH
        label = _controls_label(step.blocked_by, known, cut)
        lines.append(f"  {sid} [shape=box, style=rounded, fontsize=12, margin=0.05, label={label}, color={_q(color)}];")
        for u in step.sources:
            lines.append(f"  {_q('n:' + u)} -> {sid} [color={_q(color)}];")
        lines.append(f"  {sid} -> {_q('n:' + step.target)} [color={_q(color)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(dot: str) -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise ConfigError("Graphviz 'dot' is not installed (apt-get install graphviz)")
    done = subprocess.run([exe, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise ConfigError(f"Graphviz failed: {done.stderr.strip()[:200]}")
    svg = done.stdout
    return svg[svg.index("<svg"):] if "<svg" in svg else svg


STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;line-height:1.4;color:#222}
h1{font-size:1.6em} h2{font-size:1.25em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0} \
td,th{border:1px solid #bbb;padding:6px 10px;vertical-align:top;text-align:left}
th{background:#f0f0f0} .bad{color:#b00020;font-weight:bold} .ok{color:#1b5e20;font-weight:bold}
.chip{display:inline-block;border-radius:4px;padding:1px 7px;margin:1px 2px;font-family:monospace;font-size:.95em}
.chip.cut{background:#ffb347} .chip.off{background:#5a5a5a;color:#fff}
ol.path{margin:0;padding-left:1.4em} .legend>span{display:inline-block;margin-right:1.2em}
.graph{overflow:auto;border:1px solid #ddd;max-height:90vh;background:#fff}
.graph svg{max-width:none;height:auto}
.scroll{overflow-x:auto}
@media (max-width:700px){body{margin:.6em} td,th{padding:4px 6px} .chip{font-size:.85em}}
"""


def legend_html() -> str:
    """What the graph's colours mean (the same on the depth page and the lab page)."""
    return ("<p class='legend'><span><span class='chip off'>control</span> switched off / known failed</span>"
            "<span><span class='chip cut'>control</span> in the cheapest set that would still have to fail</span>"
            f"<span style='color:{ON_PATH}'>&#9632; edges on the attack path</span></p>")


def chips(names: list[str], kind: str) -> str:
    return " ".join(f"<span class='chip {kind}'>{html.escape(n)}</span>" for n in names) or "(none)"


def _bound(value: object) -> str:
    return "unknown" if value is None else html.escape(str(value))


def probes_html(probes: list[dict[str, object]]) -> str:
    """The probes `depth analyze --probe` ran: each control, its verdict and why (escaped: a
    probe's detail is whatever the probed system answered)."""
    rows = "".join(f"<tr><td>{html.escape(str(p['control']))}</td><td>{'works' if p['works'] else 'FAILED'}</td>"
                   f"<td>{html.escape(str(p.get('detail') or '-'))}</td></tr>" for p in probes)
    return ("<h2>Probes: designed vs current</h2><table id='probes'><tr><th>control</th><th>probe</th>"
            f"<th>detail</th></tr>{rows or '<tr><td colspan=3>no control has a probe</td></tr>'}</table>")


def graph_html(svg: str) -> str:
    """The SVG at its natural size in a scrolling frame: legible on a wide screen and a phone."""
    return f"<div class='graph' id='graph'>{svg}</div>"


def to_html(model: Model, report: Report, extra_tables: str = "") -> str:
    svg = to_svg(to_dot(model, report))
    sections = []
    for a in report.assets:
        data = a.to_dict()
        depth = "unreachable" if a.min_failures is None else str(data["min_failures"])
        if not a.exact:
            bounds = data.get("bounds", {})
            depth = f"{_bound(bounds.get('lower'))} to {_bound(bounds.get('upper'))} (bounds; not proven)"
        sets = "".join(f"<tr><td>{i}</td><td>{chips(s, 'cut')}</td></tr>" for i, s in enumerate(a.failing_sets, 1))
        path = "".join(f"<li>{html.escape(step)}</li>" for step in a.path)
        independent = ""
        if a.independent is not None:
            ind = data["independent_failures"]
            ind_text = "unreachable" if ind is None else str(ind)
            if not data["independent_exact"]:
                b = data.get("independent_bounds", {})
                ind_text = f"{_bound(b.get('lower'))} to {_bound(b.get('upper'))} (bounds; not proven)"
            shared = "".join(
                f"<tr><td>{html.escape(str(u['kind']).replace('_', ' '))} {chips([str(u['name'])], 'cut')}</td>"
                f"<td>{chips([str(c) for c in u['controls']], '')}</td><td>{html.escape(str(u['depth']))}</td>"
                f"<td class='bad'>-{html.escape(str(u['costs']))}</td></tr>" for u in a.common_mode)
            isets = "".join(f"<tr><td>{i}</td><td>{chips(s, 'cut')}</td></tr>"
                            for i, s in enumerate(a.independent.sets, 1))
            independent = (
                f"<p class='independent'>Independent failures needed: <b>{html.escape(ind_text)}</b> beside "
                f"{html.escape(depth)} control failure(s) (controls built on one implementation, or defeated by one "
                f"input class, count once).</p>"
                f"<div class='scroll'><table class='common-mode'><tr><th>shared implementation / input class</th>"
                f"<th>controls it takes down</th><th>independent failures with it</th><th>depth it costs</th></tr>"
                f"{shared or '<tr><td colspan=4>none: no shared implementation costs depth</td></tr>'}</table></div>"
                f"<div class='scroll'><table class='independent-sets'><tr><th>#</th><th>a minimum set of independent "
                f"failures</th></tr>{isets or '<tr><td>-</td><td>none</td></tr>'}</table></div>")
        sections.append(
            f"<h2>{html.escape(a.asset)}: {html.escape(depth)} control failure(s) needed</h2>"
            f"<p>Width {a.width} (step-disjoint attack paths).</p>"
            f"{independent}"
            f"<div class='scroll'><table class='sets'><tr><th>#</th><th>a minimum set of controls whose failure opens "
            f"it</th></tr>{sets or '<tr><td>-</td><td>none</td></tr>'}</table></div>"
            f"<p>The attack path the first set opens:</p><ol class='path'>{path or '<li>none</li>'}</ol>")
    spofs = "".join(f"<li>{html.escape(s['control'])} opens {html.escape(s['asset'])}</li>" for s in report.spofs)
    policy = ("No depth policy." if report.policy_min is None else
              f"Policy (at least {report.to_dict()['policy_min_failures']} failures per asset): "
              + ("met" if report.policy_ok else "VIOLATED"))
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>signward depth: {html.escape(model.name)}</title><style>{STYLE}</style>
</head><body>
<h1>Defense in depth: {html.escape(model.name)}</h1>
<p id="policy" class="{'ok' if report.policy_ok else 'bad'}">{policy}</p>
<p>Known failed controls: {chips(list(report.known_failed), 'off')}</p>
<div id="assets">{''.join(sections)}</div>
<h2>Single points of failure</h2><ul id="spofs">{spofs or '<li>none</li>'}</ul>
{extra_tables}
<h2>Attack graph</h2>{legend_html()}{graph_html(svg)}
</body></html>
"""
