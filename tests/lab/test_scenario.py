"""The Storm-0558 run against real deployments: every control on, the 2021 preset, each control
off alone, each layer stopping the key once everything before it has failed, and the ablation."""

from __future__ import annotations

from itertools import combinations

import pytest

from signward.lab import CONTROLS, PRESETS, Ablation, Lab, LabResult
from signward.lab.controls import store_reads_independently
from tests.lab.expect import assert_stopped_at_the_crash_by_the_hsm


def outcomes(result: LabResult) -> dict[str, str | None]:
    return {s.step: (None if s.outcome == "passed" else s.blocked_by) for s in result.steps}


@pytest.mark.lab_runs(frozenset(), {"grant_approval"})
def test_every_control_on_is_not_breached_and_names_the_step_that_stopped_it(lab: Lab) -> None:
    result = lab.run(frozenset())
    assert_stopped_at_the_crash_by_the_hsm(result)
    # the clean dump was released, but the engineer account alone got no grant: nothing to trace
    assert result.forensics["fetch_in_log"] is None and result.forensics["records_pruned"] == 0
    granted = lab.run(frozenset({"grant_approval"}))  # it grants itself: the fetch is on the record
    assert not granted.breached and granted.forensics["fetch_in_log"] is True


@pytest.mark.lab_runs(PRESETS["2021"])
def test_the_2021_preset_reproduces_the_breach_end_to_end(lab: Lab) -> None:
    result = lab.run(PRESETS["2021"])
    assert result.breached
    assert all(s.outcome == "passed" for s in result.steps), outcomes(result)
    assert result.controls == {c: False for c in CONTROLS}
    (stolen,) = [k for k in result.stolen if k["issuer"]]  # the published consumer key (and loose canaries)
    assert stolen["alg"] == "RS256" and stolen["issuer"] == "https://login.consumer.lab"
    assert "HTTP 200, 2 messages read" in result.steps[-1].detail
    assert result.forensics["fetch_in_log"] is False and result.forensics["records_pruned"] > 0
    assert not [a for a in result.alerts if a["severity"] == "alert"]  # nothing noticed it


@pytest.mark.lab_runs(PRESETS["2021"])
def test_the_crashed_issuer_core_holds_the_key_without_idle_thread_stacks(lab: Lab) -> None:
    # the issuer runs with 2 MiB thread stacks (crash.CRASH_STACK_LIMIT): its core was 211 MB with
    # glibc's 8 MiB, two thirds of it zero stack pages that every reader of the dump reads in full
    crash = lab.run(PRESETS["2021"]).steps[0]
    assert crash.outcome == "passed", crash.detail  # the software signer's key is in the core
    size = int(crash.detail.removeprefix("core of ").split(" ", 1)[0])
    assert 10_000_000 < size < 150_000_000, crash.detail


@pytest.mark.lab_runs(lambda control: [{control}])
@pytest.mark.parametrize("control", list(CONTROLS))
def test_one_control_off_alone_is_not_breached(lab: Lab, control: str) -> None:
    result = lab.run(frozenset({control}))
    assert not result.breached
    stop = result.stopped_by
    assert stop is not None
    assert (stop.step, stop.blocked_by) == (("sanitize", "redaction") if control == "hsm" else ("crash", "hsm"))


PAST_THE_STORE = {"hsm", "redaction", "canary_check", "store_rescan"}
STOLEN = PAST_THE_STORE | {"grant_approval"}  # and the engineer account grants itself
UNASKED = {"issuance_check"}  # the mail API does not ask the issuer

LAYERS = [
    ({"hsm"}, {"crash": None, "sanitize": "redaction"}),
    ({"hsm", "redaction"}, {"sanitize": "canary_check", "release": "release_gate"}),
    ({"hsm", "redaction", "canary_check"}, {"sanitize": None, "release": None, "store": "store_rescan"}),
    ({"hsm", "redaction", "release_gate"}, {"sanitize": "canary_check", "release": None, "store": "store_rescan"}),
    (PAST_THE_STORE, {"store": None, "grant": "grant_approval", "steal": "grant_approval"}),
    (STOLEN | UNASKED, {"grant": None, "steal": None, "key_window": "key_expiry", "enterprise_mail": "issuer_binding"}),
    (STOLEN | UNASKED | {"key_expiry"}, {"key_window": None, "enterprise_mail": "issuer_binding"}),
    (STOLEN | UNASKED | {"rotation"}, {"key_window": None, "enterprise_mail": "issuer_binding"}),
    (STOLEN | UNASKED | {"issuer_binding"}, {"key_window": "key_expiry", "enterprise_mail": "key_expiry"}),
    (STOLEN | {"key_expiry", "issuer_binding"}, {"key_window": "issuance_check", "enterprise_mail": "issuance_check"}),
]


@pytest.mark.lab_runs(lambda disabled, expected: [disabled])
@pytest.mark.parametrize(("disabled", "expected"), LAYERS, ids=["+".join(sorted(d)) for d, _ in LAYERS])
def test_each_layer_stops_the_key_once_everything_before_it_failed(lab: Lab, disabled: set[str],
                                                                   expected: dict[str, str | None]) -> None:
    result = lab.run(frozenset(disabled))
    assert not result.breached
    got = outcomes(result)
    assert {step: got[step] for step in expected} == expected, result.to_dict()["steps"]


@pytest.mark.lab_runs(STOLEN | UNASKED, STOLEN | {"key_expiry", "issuer_binding"}, PAST_THE_STORE | UNASKED,
                      {"hsm", "redaction", "release_gate", "store_rescan", "grant_approval"} | UNASKED,
                      {"hsm", "redaction"})
def test_the_validator_raises_alerts_for_the_forged_tokens(lab: Lab) -> None:
    result = lab.run(frozenset(STOLEN | UNASKED))
    reasons = [a["details"]["reason"] for a in result.alerts if a["source"] == "mail API"]
    assert reasons == ["key_expired", "key_not_bound_to_issuer"]  # the consumer try, then the enterprise one
    # with the key windows and the binding off, the issuer's record is what is left: never issued
    unasked = lab.run(frozenset(STOLEN | {"key_expiry", "issuer_binding"}))
    assert not unasked.breached
    assert [a["details"]["reason"] for a in unasked.alerts if a["source"] == "mail API"] == ["not_issued"] * 2
    # the engineer account alone cannot get the dump: its self-approval and its fetch raise alerts
    alone = lab.run(frozenset(PAST_THE_STORE | UNASKED))
    actions = {(a["action"], a["severity"]) for a in alone.alerts}
    assert {("debug.approve_refused", "alert"), ("debug.fetch_refused", "alert")} <= actions
    # the canary check refused the dump, the gate was off, the store did not look: the attacker
    # tries every key in the bytes, and a canary key on the mail API's honey list raises an alert
    shipped = lab.run(frozenset({"hsm", "redaction", "release_gate", "store_rescan", "grant_approval"} | UNASKED))
    honey = [a for a in shipped.alerts if a["source"] == "mail API" and a["details"]["reason"] == "honey_key"]
    assert honey and not shipped.breached
    loose = [k for k in shipped.stolen if not k["issuer"]]  # the canary, as PEM or DER text
    assert loose and all(k["found_as"].startswith(("pem-", "pkcs", "sec1")) for k in loose), loose
    refused = lab.run(frozenset({"hsm", "redaction"}))
    actions = {(a["action"], a["severity"]) for a in refused.alerts}
    assert ("dump.refused", "warning") in actions  # canary_missed
    assert ("dump.release_refused", "warning") in actions  # the gate


def test_from_hsm_and_rotation_off_the_ablation_measures_what_the_model_says(short_ablation: Ablation) -> None:
    ablation = short_ablation
    assert ablation.given_off == ["hsm", "rotation"]
    assert ablation.agree and ablation.sets_agree, ablation.to_dict()
    # the key is in the core and signs for five years: six more must fail, the same five in both
    # minimum sets and either the canary check or the gate (each stops the unsanitized dump)
    core = ["grant_approval", "issuance_check", "issuer_binding", "redaction", "store_rescan"]
    assert ablation.min_failures_empirical == 6
    assert sorted(map(sorted, ablation.failing_sets)) == sorted(sorted([*core, last])
                                                               for last in ("canary_check", "release_gate"))
    if store_reads_independently():  # the undecoded input stands in for redaction, never for the store
        assert ablation.independent_empirical == 6
        assert all("redaction" not in s for s in ablation.independent_sets if "input:undecoded_encoding" in s)
    # every set of up to six of the nine other controls ran (none of five or fewer breached)
    assert ablation.runs == sum(1 for size in range(7) for _ in combinations(set(CONTROLS) - {"hsm", "rotation"}, size))


@pytest.mark.long
def test_the_ablation_measures_what_the_model_says(ablation: Ablation) -> None:
    assert ablation.min_failures_empirical == 8
    assert ablation.agree and ablation.sets_agree, ablation.to_dict()
    new = ["grant_approval", "issuance_check"]
    assert sorted(map(sorted, ablation.failing_sets)) == sorted(sorted(s + new) for s in [
        ["canary_check", "hsm", "issuer_binding", "key_expiry", "redaction", "store_rescan"],
        ["canary_check", "hsm", "issuer_binding", "redaction", "rotation", "store_rescan"],
        ["hsm", "issuer_binding", "key_expiry", "redaction", "release_gate", "store_rescan"],
        ["hsm", "issuer_binding", "redaction", "release_gate", "rotation", "store_rescan"]])
    # with input classes: one input the sanitizer's parsers do not decode is one failure. While the
    # store re-scans with the sanitizer's scanner it passes both scans (7); with an independent
    # reader at the store it passes only the sanitizer (8, the input standing in for redaction)
    undecoded = "input:undecoded_encoding"
    if store_reads_independently():
        assert ablation.inputs == {undecoded: ["redaction"]} and ablation.model == "storm-0558-signward"
        assert ablation.independent_empirical == 8
        assert [s for s in ablation.independent_sets if undecoded in s] and all(
            "redaction" not in s for s in ablation.independent_sets if undecoded in s)
    else:
        assert ablation.inputs == {undecoded: ["redaction", "store_rescan"]}
        assert ablation.model == "storm-0558-signward-shared-scanner"
        assert ablation.independent_empirical == 7
        assert sorted(map(sorted, ablation.independent_sets)) == sorted(sorted(s + new + [undecoded]) for s in [
            ["canary_check", "hsm", "issuer_binding", "key_expiry"],
            ["canary_check", "hsm", "issuer_binding", "rotation"],
            ["hsm", "issuer_binding", "key_expiry", "release_gate"],
            ["hsm", "issuer_binding", "release_gate", "rotation"]])
    # every stage ran once per setting of the controls it depends on, and no more
    assert ablation.stage_runs["crash"] == 4 and ablation.stage_runs["capture"] == 16
    assert ablation.stage_runs["release"] == 64
    # a set with an input class costs no run that a set of controls had not paid for
    assert ablation.runs == sum(1 for size in range(9) for _ in combinations(CONTROLS, size))
    assert ablation.configurations > ablation.runs
