"""What changed in depth per asset between two models (for CI on a model kept in git)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .analysis import AssetResult, Report


@dataclass(frozen=True)
class AssetChange:
    """One asset's depth in the old and the new model (None where it is not in one; as printed:
    integral depths as integers). `change`: added, removed, deeper, shallower or same.
    `independent` (old, new): the depths with common-mode failures counted once, where either model
    names implementations; `new_sets`: the new model's minimum failing sets the old one did not
    have (None for an added or removed asset)."""

    asset: str
    old: float | None
    new: float | None
    change: str
    independent: tuple[float | None, float | None] | None = None
    new_sets: tuple[tuple[str, ...], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """One row of `depth diff --json`'s assets."""
        data: dict[str, Any] = {"asset": self.asset, "old": self.old, "new": self.new}
        if self.independent is not None:
            data["old_independent"], data["new_independent"] = self.independent
        data["change"] = self.change
        if self.new_sets is not None:
            data["new_sets"] = [list(s) for s in self.new_sets]
        return data


@dataclass(frozen=True)
class DepthDiff:
    """The depth of two models' assets side by side (`depth_diff`): `old` and `new` are the models'
    names, the single points of failure (control, asset) each added and removed, and whether the
    new model meets its policy."""

    old: str
    new: str
    assets: tuple[AssetChange, ...]
    spofs_added: tuple[tuple[str, str], ...]
    spofs_removed: tuple[tuple[str, str], ...]
    policy_ok: bool

    @property
    def shallower(self) -> bool:
        """Whether any asset got shallower (`depth diff` exits 1)."""
        return any(a.change == "shallower" for a in self.assets)

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `depth diff`."""
        return {"old": self.old, "new": self.new, "assets": [a.to_dict() for a in self.assets],
                "spofs_added": [{"control": c, "asset": a} for c, a in self.spofs_added],
                "spofs_removed": [{"control": c, "asset": a} for c, a in self.spofs_removed],
                "shallower": self.shallower, "policy_ok": self.policy_ok}


def _depth(result: AssetResult) -> float:
    """The depth compared: independent failures where a model names implementations, else controls."""
    value = result.independent.cost if result.independent is not None else result.min_failures
    return float("inf") if value is None else value


def _change(asset: str, o: AssetResult | None, n: AssetResult | None) -> AssetChange:
    old = o.to_dict()["min_failures"] if o else None
    new = n.to_dict()["min_failures"] if n else None
    if o is None or n is None:
        return AssetChange(asset, old, new, "added" if o is None else "removed")
    independent = None
    if o.independent is not None or n.independent is not None:  # common-mode failures counted once
        independent = (o.to_dict().get("independent_failures", old), n.to_dict().get("independent_failures", new))
    ov, nv = _depth(o), _depth(n)
    change = "deeper" if nv > ov else "shallower" if nv < ov else "same"
    new_sets = tuple(tuple(s) for s in n.failing_sets if s not in o.failing_sets)
    return AssetChange(asset, old, new, change, independent, new_sets)


def depth_diff(old: Report, new: Report) -> DepthDiff:
    """What changed in depth per asset from `old` to `new`, and in their single points of failure."""
    before = {a.asset: a for a in old.assets}
    after = {a.asset: a for a in new.assets}
    old_spofs = {(s["control"], s["asset"]) for s in old.spofs}
    new_spofs = {(s["control"], s["asset"]) for s in new.spofs}
    assets = tuple(_change(asset, before.get(asset), after.get(asset)) for asset in sorted(set(before) | set(after)))
    return DepthDiff(old.model, new.model, assets, tuple(sorted(new_spofs - old_spofs)),
                     tuple(sorted(old_spofs - new_spofs)), new.policy_ok)
