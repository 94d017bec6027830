"""SARIF 2.1.0 for code-scanning dashboards: one run, one rule per detector and kind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import __version__
from ..scan.findings import FileReport

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def to_sarif(reports: list[FileReport]) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    for report in reports:
        uri = Path(report.file).absolute().as_uri()
        for finding in report.findings:
            rule_id = f"{finding.detector}/{finding.kind}"
            rules.setdefault(rule_id, {
                "id": rule_id, "name": finding.kind,
                "shortDescription": {"text": f"{finding.kind} found by the {finding.detector} detector"},
                "defaultConfiguration": {"level": "note" if finding.advisory else "error"},
            })
            where = f" at vaddr 0x{finding.vaddr:x}" if finding.vaddr is not None else ""
            key = f" of key {finding.kid}" if finding.kid else ""
            results.append({
                "ruleId": rule_id,
                "level": "note" if finding.advisory else "error",
                "message": {"text": f"{finding.kind}{key} ({finding.encoding}, {finding.length} bytes){where}"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"byteOffset": finding.offset, "byteLength": finding.length}}}],
                "properties": {"verified": finding.verified, "kid": finding.kid, "vaddr": finding.vaddr,
                               "encoding": finding.encoding, "format": report.format},
            })
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "signward-dumps", "version": __version__,
                                "informationUri": "https://github.com/signward/signward",
                                "rules": sorted(rules.values(), key=lambda r: r["id"])}},
            "artifacts": [{"location": {"uri": Path(r.file).absolute().as_uri()}, "length": r.bytes}
                          for r in reports],
            "results": results,
        }],
    }


__all__ = ["to_sarif"]
