"""Graphviz DOT of the attack graph (minimum failing set highlighted) and a self-contained HTML page."""

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


def to_dot(model: Model, report: Report) -> str:
    cut = {c for a in report.assets for c in (a.failing_sets[0] if a.failing_sets else [])}
    on_path = {index for a in report.assets for index in a.path_steps}
    lines = [f"digraph {_q(model.name)} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    for node in model.nodes.values():
        shape = "doublecircle" if node.asset else ("box" if node.entry else "ellipse")
        color = ', style=filled, fillcolor="#ffd6d6"' if node.asset else (
            ', style=filled, fillcolor="#e0e0ff"' if node.entry else "")
        lines.append(f"  {_q('n:' + node.name)} [label={_q(node.name)}, shape={shape}{color}];")
    for step in model.steps:
        sid = _q(f"s:{step.index}")
        failed = [c for c in step.blocked_by if c in cut or c in report.known_failed]
        label = "\n".join(step.blocked_by) or "(unguarded)"
        color = "#d62728" if step.index in on_path else "#999999"
        lines.append(f"  {sid} [shape=box, style=\"rounded,filled\", fontsize=10, label={_q(label)}, "
                     f"fillcolor={_q('#ffb3b3' if failed else '#f4f4f4')}, color={_q(color)}];")
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


def to_html(model: Model, report: Report, extra_tables: str = "") -> str:
    svg = to_svg(to_dot(model, report))
    rows = "".join(
        f"<tr><td>{html.escape(a.asset)}</td><td class='depth'>{'unreachable' if a.min_failures is None else a.to_dict()['min_failures']}"
        f"{'' if a.exact else ' (bounds ' + str(a.lower) + '..' + str(a.upper) + ')'}</td>"
        f"<td>{'<br>'.join(html.escape(', '.join(s) or '(none)') for s in a.failing_sets)}</td>"
        f"<td>{html.escape(' ; '.join(a.path))}</td><td>{a.width}</td></tr>" for a in report.assets)
    spofs = "".join(f"<li>{html.escape(s['control'])} opens {html.escape(s['asset'])}</li>" for s in report.spofs)
    verdict = "meets" if report.policy_ok else "violates"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>signward depth: {html.escape(model.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px 8px;vertical-align:top}} svg{{max-width:100%;height:auto}} .bad{{color:#b00}} .ok{{color:#070}}</style>
</head><body>
<h1>Defense in depth: {html.escape(model.name)}</h1>
<p id="policy" class="{'ok' if report.policy_ok else 'bad'}">Policy (min failures {report.policy_min}): {verdict}</p>
<p>Known failed controls: {html.escape(', '.join(report.known_failed) or 'none')}</p>
<table id="assets"><tr><th>asset</th><th>min failures</th><th>minimum failing sets</th><th>attack path</th><th>width</th></tr>
{rows}</table>
<h2>Single points of failure</h2><ul id="spofs">{spofs or '<li>none</li>'}</ul>
{extra_tables}
<h2>Attack graph</h2><div id="graph">{svg}</div>
</body></html>
"""
