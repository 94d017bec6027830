"""One refusal value across the house: `signward.errors.Refusal` (a StrEnum reason and a detail)."""

from __future__ import annotations

import json
from typing import Any

from signward.dumps.reasons import DumpReason
from signward.errors import DumpRefused, Refusal, Rejected
from signward.guard.decision import GuardReason
from signward.guard.paths import PathReason, canonical_path
from signward.verify.reasons import Reason


class _Result:
    def to_dict(self) -> dict[str, Any]:
        return {"status": "refused", "counts": {"rsa": 1}}


def test_a_refusal_is_its_reason_and_detail_with_one_json_shape() -> None:
    refusal = Refusal(DumpReason.RESIDUE, "1 key left")
    assert refusal.to_dict() == {"reason": "residue", "detail": "1 key left"}
    assert str(refusal) == "residue: 1 key left" and str(Refusal(Reason.EXPIRED)) == "expired"
    assert json.dumps(refusal.to_dict()) == '{"reason": "residue", "detail": "1 key left"}'


def test_rejected_carries_one_refusal_and_keeps_reason_and_detail() -> None:
    exc = Rejected(Reason.MALFORMED, "not three parts")
    assert exc.refusal == Refusal(Reason.MALFORMED, "not three parts")
    assert exc.reason is Reason.MALFORMED and exc.detail == "not three parts"
    assert exc.diagnostics() == "malformed: not three parts"  # the code, never "Reason.MALFORMED"
    exc.detail = "renamed"  # a step that renames a private path keeps the reason
    assert exc.refusal == Refusal(Reason.MALFORMED, "renamed") and exc.diagnostics() == "malformed: renamed"


def test_dump_refused_is_typed_and_reports_what_the_refusing_step_knew() -> None:
    bare = DumpRefused(DumpReason.NO_GRANT, "bob may not fetch d1")
    assert bare.to_dict() == {"status": "refused", "reason": "no_grant", "detail": "bob may not fetch d1"}
    with_result = DumpRefused(DumpReason.RESIDUE, "1 key left", _Result())
    assert with_result.refusal.reason is DumpReason.RESIDUE
    assert with_result.to_dict()["result"] == {"status": "refused", "counts": {"rsa": 1}}


def test_every_reason_is_a_str_enum_whose_value_is_what_records_carry() -> None:
    # metrics labels, JSON and audit records read the value; str() must give exactly it
    for enum in (Reason, DumpReason, GuardReason, PathReason):
        for member in enum:
            assert str(member) == f"{member}" == member.value
            assert json.loads(json.dumps({"reason": member})) == {"reason": member.value}


def test_a_path_reason_is_never_read_as_a_path() -> None:
    assert canonical_path("/a/../b") is PathReason.DOT_SEGMENT
    assert canonical_path("/a%2fb") is PathReason.ESCAPED_SLASH
