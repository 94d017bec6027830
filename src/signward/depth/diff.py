"""What changed in depth per asset between two models (for CI on a model kept in git)."""

from __future__ import annotations

from typing import Any

from .analysis import Report


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
            ov = float("inf") if o.min_failures is None else o.min_failures
            nv = float("inf") if n.min_failures is None else n.min_failures
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
