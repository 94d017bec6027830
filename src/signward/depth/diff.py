"""What changed in depth per asset between two models (for CI on a model kept in git)."""

from __future__ import annotations

from typing import Any

from .analysis import AssetResult, Report


def _depth(result: AssetResult) -> float:
    """The depth compared: independent failures where a model names implementations, else controls."""
    value = result.independent.cost if result.independent is not None else result.min_failures
    return float("inf") if value is None else value


def depth_diff(old: Report, new: Report) -> dict[str, Any]:
    before = {a.asset: a for a in old.assets}
    after = {a.asset: a for a in new.assets}
    rows = []
    for asset in sorted(set(before) | set(after)):
        o, n = before.get(asset), after.get(asset)
        row: dict[str, Any] = {"asset": asset, "old": o.to_dict()["min_failures"] if o else None,
                               "new": n.to_dict()["min_failures"] if n else None}
        if o is None:
            row["change"] = "added"
        elif n is None:
            row["change"] = "removed"
        else:
            if o.independent is not None or n.independent is not None:  # common-mode failures counted once
                row["old_independent"] = o.to_dict().get("independent_failures", row["old"])
                row["new_independent"] = n.to_dict().get("independent_failures", row["new"])
            ov, nv = _depth(o), _depth(n)
            row["change"] = "deeper" if nv > ov else "shallower" if nv < ov else "same"
            row["new_sets"] = [s for s in n.failing_sets if s not in o.failing_sets]
        rows.append(row)
    old_spofs = {(s["control"], s["asset"]) for s in old.spofs}
    new_spofs = {(s["control"], s["asset"]) for s in new.spofs}
    return {"old": old.model, "new": new.model, "assets": rows,
            "spofs_added": [{"control": c, "asset": a} for c, a in sorted(new_spofs - old_spofs)],
            "spofs_removed": [{"control": c, "asset": a} for c, a in sorted(old_spofs - new_spofs)],
            "shallower": any(r.get("change") == "shallower" for r in rows),
            "policy_ok": new.policy_ok}
