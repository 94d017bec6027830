"""Mutation check of the controls: each mutant breaks one check that implements a control of
the model or a validator rule, in a copy of the source; the tests named for it must fail.

A mutant that survives is a control whose test would stay green while the control is off.
The list is data: (name, file under src/signward, the exact original text, its
replacement, the tests that must kill it). A later control adds its line here.
Usage: .venv/bin/python scripts/mutants.py [NAME ...]   (exit 0: every mutant killed)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
V = "tests/verify/test_validator.py::"
S = "tests/dumps/test_sanitize.py::"
P = "tests/dumps/test_pipeline.py::"

MUTANTS: list[tuple[str, str, str, str, list[str]]] = [
    ("key_window", "verify/validator.py", "if key.exp is not None and now >= key.exp:", "if False:",
     [V + "test_expired_key_is_refused_even_with_fresh_claims",
      V + "test_a_key_past_its_window_is_refused_even_for_a_token_that_ended_inside_it"]),
    ("token_outlives_key", "verify/validator.py", "if key.exp is not None and exp is not None and exp > key.exp:",
     "if False:", [V + "test_token_outliving_its_key_is_refused"]),
    ("issuer_binding", "verify/validator.py",
     'raise _ForeignKey(elsewhere[kid], f"kid {kid} belongs to {other}, not {issuer}")',
     "return elsewhere[kid]", [V + "test_consumer_key_for_enterprise_tenant_is_not_bound"]),
    ("ecdsa_range", "algorithms.py", "return 0 < r < order and 0 < s < order", "return 0 < r and 0 < s",
     [V + "test_ecdsa_s_plus_n_refused"]),
    ("alg_allowlist", "verify/jws.py", "if alg not in ALLOWED_ALGS:", "if False:",
     [V + "test_the_alg_allowlist_is_checked_before_any_key_is_looked_up"]),
    ("alg_from_key", "verify/validator.py", "if parsed.alg != key.alg.value:", "if False:",
     [V + "test_header_alg_must_be_the_keys"]),
    ("jws_key_references", "verify/jws.py", "    if present:", "    if False:", [V + "test_embedded_key_references"]),
    ("numeric_date_range", "verify/validator.py",
     "if isinstance(value, int) and not 0 <= value <= MAX_NUMERIC_DATE:", "if False:",
     ["tests/verify/test_properties.py::test_exp_beyond_any_float_is_malformed_not_an_internal_error"]),
    ("audit_digest", "audit/chain.py", 'if digest != row["hash"]:', "if False:",
     ["tests/audit/test_integration.py::test_audit_verify_names_the_broken_record"]),
    ("audit_link", "audit/chain.py", 'if row["prev_hash"] != prev:', "if False:",
     ["tests/audit/test_chain.py::test_a_record_changed_with_its_own_hash_recomputed_breaks_the_next_link"]),
    ("checkpoint_signature", "audit/log.py",
     'if not signature_ok(key.public_key, Alg(key_row["alg"]), message, signature):', "if False:",
     ["tests/audit/test_chain.py::test_forged_checkpoint_signature_is_caught"]),
    ("pinned_audit_key", "audit/log.py",
     'if pinned_key is not None and canonical(json.loads(key_row["public_jwk"])) != canonical(pinned_key):',
     "if False:", ["tests/audit/test_anchors.py::test_an_audit_key_of_ones_own_is_caught"]),
    ("published_checkpoint", "audit/log.py", 'if row is None or row["hash"] != head_hash:', "if False:",
     ["tests/audit/test_anchors.py::test_history_rewritten_and_checkpoints_deleted_is_caught"]),
    ("audit_freshness", "audit/log.py", "if head - last > 2 * self.checkpoint_every:", "if False:",
     ["tests/audit/test_anchors.py::test_a_home_that_signs_its_log_must_keep_signing_it"]),
    ("depth_costs", "depth/maxsat.py", "                self.wcnf.append([-self.x[c]], weight=weights[c])",
     "                self.wcnf.append([-self.x[c]], weight=1)",
     ["tests/depth/test_solver.py::test_known_cases", "tests/depth/test_solver.py::test_exact_against_brute_force"]),
    ("depth_depends_on", "depth/maxsat.py",
     "            self.wcnf.append([-f, *(self.x[d] for d in self.part.model.closure[control] if d in self.x)])",
     "            self.wcnf.append([-f, *(self.x[d] for d in [control] if d in self.x)])",
     ["tests/depth/test_solver.py::test_known_cases", "tests/depth/test_solver.py::test_exact_against_brute_force"]),
    ("alert_needs_a_signature", "verify/validator.py", "            check_signature(foreign.key, parsed)\n", "",
     [V + "test_unsigned_garbage_naming_a_key_raises_no_alert"]),
    ("retention_floor", "retention.py", "if retention_seconds < floor:", "if False:",
     ["tests/audit/test_retention.py::test_retention_below_the_floor_is_refused"]),
    ("canary_check", "dumps/sanitize.py", "            if missed:", "            if False:",
     [S + "test_a_detector_switched_off_is_caught_by_the_canary"]),
    ("residue_rescan", "dumps/sanitize.py", "        if residue:\n", "        if False:\n",
     [S + "test_a_redaction_failure_is_caught_by_the_residue_rescan"]),
    ("residue_every_detector", "dumps/sanitize.py", "registry.select(None)", "registry.select(detectors)",
     [S + "test_narrowed_detectors_redact_less_but_the_rescan_runs_every_detector"]),
    ("redaction_ranges", "dumps/sanitize.py",
     "written = sum(fill(descriptor, start, end) for start, end in sorted(ranges))",
     "written = 0", [S + "test_redaction_keeps_the_file_size_and_only_touches_findings"]),
    ("release_gate_attestation", "dumps/pipeline.py", "if not check.valid or digest != record.sanitized_sha256:",
     "if False:", [P + "test_a_file_swapped_between_sanitize_and_release_is_refused"]),
    ("release_gate_state", "dumps/pipeline.py",
     "if record.state not in (DumpState.SANITIZED, DumpState.RELEASED):", "if False:",
     [P + "test_a_partial_write_stays_in_quarantine"]),
    ("store_rescan", "dumps/debugstore.py", "if found or report.incomplete:", "if False:",
     [P + "test_two_layers_each_catch_what_the_other_missed"]),
    ("grant_expiry", "dumps/pipeline.py", 'DumpReason.GRANT_EXPIRED if grant["expires"] <= now',
     "DumpReason.GRANT_EXPIRED if False", [P + "test_grants_expire_bulk_fetches_alert_and_retention_deletes"]),
    ("exponent_near_modulus", "dumps/detectors/known_key.py",
     "        for key in keys:  # also where a prime was found", "        for key in keys[:0]:  # also where a prime was found",
     ["tests/dumps/test_pool.py::test_a_key_across_a_chunk_boundary_gives_the_same_findings"]),
    ("unaligned_byte_strings", "dumps/detectors/known_key.py", "loose = loose[loose % 8 != 0]", "loose = loose[:0]",
     ["tests/dumps/test_detectors.py::test_byte_strings_at_unaligned_offsets_far_from_their_public_keys"]),
    ("nameless_copies", "dumps/scratch.py", "            os.unlink(name)  # before anything is written to it\n",
     "", ["tests/dumps/test_scratch.py::test_sigkill_leaves_no_scratch_file_behind"]),
    ("watch_relying_party_refusal", "watch/probes.py",
     "            if status in party.refused:\n                passed.append(f\"{party.name}: {what} token refused",
     "            if True:\n                passed.append(f\"{party.name}: {what} token refused",
     ["tests/watch/test_watch.py::test_relying_party_probes_fail_exactly_where_the_deployment_is_weak[pyjwt-broken1]"]),
    ("watch_issuance_probe", "watch/probes.py",
     "            if status in party.refused:\n                passed.append(f\"{party.name}: never-issued token refused",
     "            if True:\n                passed.append(f\"{party.name}: never-issued token refused",
     ["tests/watch/test_watch.py::test_relying_party_probes_fail_exactly_where_the_deployment_is_weak"
      "[signward-no-issuance-check-broken4]"]),
    ("watch_gate_drill", "watch/drills.py", "                if refusal.reason == DumpReason.NOT_SANITIZED:",
     "                if True:",
     ["tests/watch/test_drills.py::test_each_drill_fails_exactly_when_its_control_is_off[settings3-probed3-broken3]"]),
    ("watch_crash_drill", "watch/drills.py", "    if leaked:", "    if False:",
     ["tests/watch/test_hsm_drill.py::test_the_crash_drill_finds_keys_held_in_process_memory"]),
    ("head_deadline", "issuer/server.py", "            self.transport.close()", "            pass",
     ["tests/issuer/test_hostile.py::test_half_open_and_dripping_connections_are_closed_at_the_head_deadline"]),
    ("guard_spoofed_headers", "guard/decision.py", "        remove = tuple(n for n in spoofed if n not in upstream)",
     "        remove = ()",
     ["tests/guard/test_decision.py::test_a_valid_token_sends_its_claims_and_strips_the_clients"]),
    ("guard_route_issuers", "guard/decision.py", "        if route.issuers and verdict.issuer not in route.issuers:",
     "        if False:", ["tests/guard/test_decision.py::test_route_rules"]),
    ("guard_verdict_recheck", "guard/verdicts.py",
     "            if now < until and self._fingerprint(verdict) == fingerprint:", "            if True:",
     ["tests/guard/test_decision.py::test_a_remembered_verdict_is_checked_again_on_every_use"]),
    ("issuance_digest", "issuer/issuance.py", "        if not hmac.compare_digest(found.digest, digest(token)):",
     "        if False:",
     ["tests/issuer/test_introspection.py::test_the_endpoint_answers_only_for_tokens_it_issued"]),
    ("validator_issuance_check", "verify/validator.py", "        if not issued:", "        if False:",
     ["tests/issuer/test_introspection.py::test_the_validator_refuses_a_stolen_key_token_as_not_issued"]),
    ("guard_keyset_max_age", "guard/keysets.py", "        if now - self._fetched_at >= self.max_age:",
     "        if False:",
     ["tests/guard/test_keysets.py::test_past_its_max_age_an_issuer_fails_closed_then_recovers"]),
    ("guard_grpc_method", "guard/grpc_h2.py", "        if path != CHECK_PATH:", "        if False:",
     ["tests/guard/test_grpc_h2.py::test_wrong_calls_get_an_error_status"]),
    ("guard_grpc_framing", "guard/grpc_h2.py",
     'if len(body) < 5 or body[0] != 0 or int.from_bytes(body[1:5], "big") != len(body) - 5:',
     "if len(body) < 5:", ["tests/guard/test_grpc_h2.py::test_grpc_framing"]),
    ("grant_self_approval", "dumps/access.py",
     '                      else DumpReason.SELF_APPROVAL if row["requester"] == approver',
     "                      else DumpReason.SELF_APPROVAL if False",
     ["tests/dumps/test_pipeline.py::test_grants_need_an_approver_from_the_group_and_last_at_most_the_limit"]),
    ("grant_needs_approval", "dumps/access.py", "            if self.config.dumps.grant_approval:",
     "            if False:",
     ["tests/dumps/test_pipeline.py::test_grants_need_an_approver_from_the_group_and_last_at_most_the_limit"]),
    ("depth_loop_formulas", "depth/maxsat.py", "            extra = loop_clauses(part, enc, true, chosen)",
     "            extra = []", ["tests/depth/test_large.py::test_cycles_agree_with_the_program_with_rounds"]),
    ("scan_zero_run_margins", "dumps/regions.py",
     "    return [(max(0, int(a) * PAGE - OVERLAP), min(len(data), (int(b) + 1) * PAGE + OVERLAP))",
     "    return [(max(0, int(a) * PAGE), min(len(data), (int(b) + 1) * PAGE))",
     ["tests/dumps/test_regions.py::test_the_same_findings_as_a_scan_of_every_byte"]),
    ("checkpoint_fork", "audit/proofs.py", "if old.size == head.size and old.root != head.root:", "if False:",
     ["tests/audit/test_merkle.py::test_a_forked_checkpoint_is_caught"]),
    ("tree_head_check", "audit/log.py",
     'if root.hex() != cp["root_hash"] or _decode_frontier(cp["frontier"]) != frontier:', "if False:",
     ["tests/audit/test_merkle.py::test_a_tampered_leaf_and_a_truncated_log_are_caught"]),
    ("inclusion_proof", "audit/merkle.py", "    return sn == 0 and r == root", "    return True",
     ["tests/audit/test_merkle.py::test_verify_proof_offline_from_the_key_alone"]),
    ("batch_failure_isolated", "audit/batch.py", "            if len(batch) == 1:", "            if True:",
     ["tests/audit/test_batch.py::test_a_bad_companion_statement_fails_only_its_own_append"]),
    ("issued_row_with_record", "issuer/tokens.py",
     "also = [IssuanceRecords.statement(**row)] if self.issuance is not None else []", "also = []",
     ["tests/issuer/test_introspection.py::test_the_endpoint_answers_only_for_tokens_it_issued"]),
    ("har_token_signature", "dumps/har.py",
     'add(string, match.start() + signing_end + 1, match.end(), "jws-signature", kid, detail)', "pass",
     ["tests/dumps/test_har.py::test_escapes_and_unicode_stay_valid_json"]),
    ("bundle_member_names", "dumps/bundles.py", 'if pure.is_absolute() or ".." in pure.parts:', "if False:",
     ["tests/dumps/test_bundles.py::test_members_that_climb_out_and_links_are_refused"]),
    ("zip_bomb", "dumps/bundles.py",
     "if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):", "if False:",
     ["tests/dumps/test_bundles.py::test_a_zip_bomb_is_refused_not_expanded"]),
    ("cached_client_rechecked", "issuer/issuance.py", "AND realm = ? AND disabled = 0 \"", "AND realm = ? \"",
     ["tests/issuer/test_caches.py::test_a_client_disabled_by_another_process_gets_no_token_from_the_cached_row"]),
    ("cached_key_rechecked", "issuer/issuance.py", "AND state NOT IN (?, ?)), ?, ", "AND (state NOT IN (?, ?) OR 1 = 1)), ?, ",
     ["tests/issuer/test_caches.py::test_a_key_revoked_by_another_process_never_signs_a_released_token_again"]),
    ("head_size_cap", "issuer/server.py", "if self._head_bytes > MAX_HEAD + MAX_READ_SLACK:", "if False:",
     ["tests/issuer/test_server_protocol.py::test_an_oversized_request_head_is_refused_and_closed"]),
]


def run(name: str, relpath: str, original: str, mutated: str, tests: list[str]) -> tuple[bool, str]:
    """Apply one mutant to a copy of src/ and run its tests there; (killed, note)."""
    with tempfile.TemporaryDirectory(prefix=f"signward-mutant-{name}-") as scratch:
        copy = Path(scratch) / "src"
        shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        target = copy / "signward" / relpath
        text = target.read_text()
        if text.count(original) != 1:
            return False, f"the original text occurs {text.count(original)} times in {relpath}: update the list"
        target.write_text(text.replace(original, mutated))
        env = {**os.environ, "PYTHONPATH": f"{copy}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        check = subprocess.run([sys.executable, "-c", "import signward, sys; print(signward.__file__)"],
                               env=env, capture_output=True, text=True)
        if not check.stdout.startswith(str(copy)):
            return False, f"the copy was not imported ({check.stdout.strip()})"
        if done.returncode == 0:
            return False, "SURVIVED: its tests pass with the check broken"
        if done.returncode != 1:  # 1 = tests failed; anything else is an error, not a kill
            return False, f"pytest exit {done.returncode}: {done.stdout[-300:]}"
        return True, "killed"


def main(names: list[str]) -> int:
    chosen = [m for m in MUTANTS if not names or m[0] in names]
    unknown = set(names) - {m[0] for m in MUTANTS}
    if unknown:
        print(f"unknown mutant(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    survivors = 0
    for name, relpath, original, mutated, tests in chosen:
        started = time.monotonic()
        killed, note = run(name, relpath, original, mutated, tests)
        survivors += not killed
        print(f"{'killed  ' if killed else 'ALIVE   '} {name:<26} {time.monotonic() - started:5.1f}s  {note}",
              flush=True)
    print(f"{len(chosen) - survivors} of {len(chosen)} mutants killed")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
