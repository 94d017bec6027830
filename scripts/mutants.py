"""Mutation check of the controls: each mutant breaks one check that implements a control of
the model or a validator rule, in a copy of the source; its component's tests must fail.

A mutant that survives is a control whose test would stay green while the control is off.
The list is data: (name, file under src/signward, the exact original text, its
replacement, the tests named for it). A later control adds its line here.

Which tests judge a mutant is chosen by directory, so the list proves what the suite notices,
not what one hand-picked test notices: the whole test directory of the mutated file's component
(tests/verify for verify/*, tests/dumps for dumps/* and cli/dumps.py, `COMPONENT_TESTS` for
the top-level modules) and the directory of every named test. The named tests run first (with -x), as the
quick way to a kill; only a mutant they miss runs the directories (with -x: the first failure
kills it). Two runs, because pytest collects a named test and its own directory in file order,
not in the order given.
Usage: .venv/bin/python scripts/mutants.py [NAME ...]   (exit 0: every mutant killed)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
V = "tests/verify/test_validator.py::"
S = "tests/dumps/test_sanitize.py::"
P = "tests/dumps/test_pipeline.py::"
BC = "tests/dumps/test_bundle_coverage.py"
BS = "tests/dumps/test_bundle_streams.py"
# top-level modules of src/signward and the component whose tests judge them
COMPONENT_TESTS = {"algorithms.py": "tests/verify", "retention.py": "tests/audit",
                   "safefile.py": "tests/test_safefile.py"}
NAMED_TIMEOUT = 600
DIRECTORY_TIMEOUT = 1800

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
    ("bundle_member_names", "dumps/bundles.py", '        if part == "..":', "        if False:",
     ["tests/dumps/test_bundles.py::test_members_that_climb_out_and_links_are_refused", BC]),
    ("zip_bomb", "dumps/bundles.py",
     "if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(1, info.compress_size):", "if False:",
     ["tests/dumps/test_bundles.py::test_a_zip_bomb_is_refused_not_expanded"]),
    ("honey_needs_a_signature", "verify/validator.py",
     '        check_signature(key, parsed)\n        raise Rejected(Reason.HONEY_KEY, f"kid {kid} is a honey key',
     '        raise Rejected(Reason.HONEY_KEY, f"kid {kid} is a honey key',
     [V + "test_a_garbage_signature_naming_a_honey_kid_raises_no_alert",
      "tests/verify/test_honey_alerts.py::test_token_verify_alerts_only_on_a_real_signature_under_a_honey_kid",
      "tests/guard/test_audit.py::test_a_garbage_signature_under_a_tripwire_kid_is_no_alert"]),
    ("honey_thumbprint_needs_a_signature", "verify/validator.py",
     "            check_signature(key, parsed)  # an alert only for a token really signed by the honey key\n", "",
     [V + "test_a_garbage_signature_naming_a_honey_kid_raises_no_alert"]),
    ("honey_jws_needs_a_signature", "verify/validator.py",
     "                check_signature(key, parsed)  # as in verify: an alert needs a real signature\n", "",
     [V + "test_a_garbage_signature_naming_a_honey_kid_raises_no_alert"]),
    ("grpc_handshake_deadline", "guard/grpc_h2.py", '            self.server.closed("handshake")\n            self.drop()',
     "            pass",
     ["tests/guard/test_grpc_slots.py::test_a_connection_without_the_handshake_in_time_is_closed"]),
    ("grpc_idle_from_the_last_call", "guard/grpc_h2.py", "        if not self.settled and self.session.settled():",
     "        self.last_call = self.server.clock()\n        if not self.settled and self.session.settled():",
     ["tests/guard/test_grpc_slots.py::test_idleness_counts_from_the_last_complete_call_not_the_last_byte"]),
    ("grpc_displace_not_refuse", "guard/grpc_h2.py", "                victim = _least(pool)", "                victim = None",
     ["tests/guard/test_grpc_slots.py::test_full_slots_displace_the_oldest_connection_without_a_call"]),
    ("grpc_per_peer", "guard/grpc_h2.py", "for pool, limit in ((same, self.limits.per_peer), (self.connections,",
     "for pool, limit in ((self.connections,",
     ["tests/guard/test_grpc_slots.py::test_connections_per_peer_are_bounded"]),
    ("guard_path_too_long", "guard/paths.py", "    if len(target) > MAX_PATH:",
     "    if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_fragment", "guard/paths.py", '    if "#" in path:',
     "    if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_not_absolute", "guard/paths.py", '    if not path.startswith("/"):',
     "    if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_dot_parameter", "guard/paths.py", '        if ";" in loose and loose.partition(";")[0] in (".", ".."):',
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_dot_segment", "guard/paths.py", '        if loose in (".", ".."):',
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_empty_segment", "guard/paths.py", "        if not raw and index != last:",
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_segment_edge", "guard/paths.py", '        if segment.endswith(".") or segment.startswith("%20") or segment.endswith("%20"):',
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_backslash", "guard/paths.py", '        if c == "\\\\":',
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_control", "guard/paths.py", '        if c < " " or c == "\\x7f":',
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_parameter", "guard/paths.py", '        if c == ";":',
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_illegal", "guard/paths.py", '        if c != "%":',
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_bad_escape", "guard/paths.py", "        if len(pair) != 2 or pair[0] not in HEX or pair[1] not in HEX:",
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_slash", "guard/paths.py", "0x2F: PathReason.ESCAPED_SLASH",
     "0x12F: PathReason.ESCAPED_SLASH",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_backslash", "guard/paths.py", "0x5C: PathReason.ESCAPED_BACKSLASH",
     "0x15C: PathReason.ESCAPED_BACKSLASH",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_dot", "guard/paths.py", "0x2E: PathReason.ESCAPED_DOT",
     "0x12E: PathReason.ESCAPED_DOT",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_semicolon", "guard/paths.py", "0x3B: PathReason.ESCAPED_SEMICOLON",
     "0x13B: PathReason.ESCAPED_SEMICOLON",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_percent", "guard/paths.py", "0x25: PathReason.ESCAPED_PERCENT",
     "0x125: PathReason.ESCAPED_PERCENT",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_question", "guard/paths.py", "0x3F: PathReason.ESCAPED_DELIMITER",
     "0x13F: PathReason.ESCAPED_DELIMITER",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_hash", "guard/paths.py", "0x23: PathReason.ESCAPED_DELIMITER",
     "0x123: PathReason.ESCAPED_DELIMITER",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_escaped_control", "guard/paths.py", "        if byte < 0x20 or byte == 0x7F:",
     "        if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_utf8", "guard/paths.py", '            text = run.decode("utf-8")',
     '            text = run.decode("utf-8", "replace")',
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_unicode_control", "guard/paths.py", '            if unicodedata.category(char)[0] in "CZ":',
     "            if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_compatibility", "guard/paths.py", '            if unicodedata.normalize("NFKC", char) != char:',
     "            if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_case_folds_to_ascii", "guard/paths.py",
     '            if char in LOOKALIKES or any(c < "\\x80" for c in char.upper() + char.lower() + char.casefold()):',
     "            if False:",
     ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_route_extension", "guard/decision.py",
     "        if self.config.extension_of_route(host, path) is not None:", "        if False:",
     ["tests/guard/test_paths.py::test_a_path_naming_a_route_with_an_extension_is_refused"]),
    ("guard_path_windows_name", "guard/paths.py", "    if isinstance(found, str) and WINDOWS.search(found):",
     "    if False:", ["tests/guard/test_paths.py::test_each_form_is_refused_for_its_reason"]),
    ("guard_path_decoded", "guard/paths.py", "        if byte in DECODED:",
     "        if False:",
     ["tests/guard/test_paths.py::test_decodable_escapes_are_decided_as_the_plain_path"]),
    ("guard_route_case", "guard/config.py",
     "        path = path.lower()\n        found = [r for r in self.routes if r.matches(host, path)]",
     "        found = [r for r in self.routes if r.matches(host, path)]",
     ["tests/guard/test_paths.py::test_decodable_escapes_are_decided_as_the_plain_path"]),
    ("guard_decides_on_canonical", "guard/decision.py", "        route = self.config.route_for(host, path)",
     "        route = self.config.route_for(host, attempt.path)",
     ["tests/guard/test_paths.py::test_decodable_escapes_are_decided_as_the_plain_path"]),
    ("har_view_json_unescape", "dumps/views.py", '    if b"\\\\" in segment:', "    if False:",
     ["tests/dumps/test_har_views.py::test_json_escapes_of_every_form_hide_nothing"]),
    ("har_view_whole_string", "dumps/har.py",
     "findings.add(Finding(view.start, view.end - view.start, found.detector,",
     "findings.add(Finding(view.start + found.offset - placed[index][0], found.length, found.detector,",
     ["tests/dumps/test_har_views.py::test_issue_32_cases_scan_exit_1_and_the_whole_string_is_redacted"]),
    ("har_view_truncated_stream", "dumps/views.py", "    if not ended:\n        budget.note(",
     "    if False:\n        budget.note(",
     ["tests/dumps/test_har_views.py::test_a_gzip_body_that_does_not_end_is_refused"]),
    ("har_view_br_undecodable", "dumps/views.py",
     'budget.note(f"views: a br-encoded body {at} cannot be decoded (no brotli package)")', "pass",
     ["tests/dumps/test_har_views.py::test_a_br_body_without_brotli_is_refused_as_undecodable"]),
    ("har_view_depth", "dumps/views.py", "        if _decodable(view.data):", "        if False:",
     ["tests/dumps/test_har_views.py::test_views_are_bounded_by_the_expansion_budget_and_depth"]),
    ("har_view_budget", "dumps/views.py", "if self.used + size > self.max_bytes:", "if False:",
     ["tests/dumps/test_har_views.py::test_views_are_bounded_by_the_expansion_budget_and_depth"]),
    ("har_view_percent", "dumps/views.py", 'if b"%" in data and PERCENT.search(data):', "if False:",
     ["tests/dumps/test_har_views.py::test_a_key_in_any_layer_is_found_and_cannot_be_recovered_after_sanitize"]),
    ("har_view_content_encoding", "dumps/har.py",
     'hints[body["text"]] = decoded_views.Hint(base64=is_base64, content_encoding=coding)', "pass",
     ["tests/dumps/test_har_views.py::test_a_key_in_any_layer_is_found_and_cannot_be_recovered_after_sanitize"]),
    ("har_sniff_escaped_name", "dumps/har.py", 'return bool(json.loads(name.group(0)) == "log")',
     "return name.group(0) == b'\"log\"'",
     ["tests/dumps/test_har_views.py::test_the_har_sniff_reads_the_first_name_decoded"]),
    ("har_view_form_plus", "dumps/views.py", 'if b"+" in data:  # a form body', "if False:  # a form body",
     ["tests/dumps/test_har_views.py::test_a_key_in_any_layer_is_found_and_cannot_be_recovered_after_sanitize"]),
    ("enroll_authorisation", "dumps/access.py", "        elif by in self.config.dumps.approver_set:\n            return None",
     "        else:\n            return None",
     ["tests/dumps/test_access.py::test_only_an_approver_or_the_homes_owner_enrols_and_nothing_is_replaced"]),
    ("approval_after_enrolment", "dumps/access.py",
     'else DumpReason.ENROLLED_AFTER_REQUEST if (self.enrolled_at(approver, tx) or 0.0) > row["created"]',
     "else DumpReason.ENROLLED_AFTER_REQUEST if False",
     ["tests/dumps/test_access.py::test_an_approver_enrolled_after_the_request_may_not_approve_it"]),
    ("pinned_without_checkpoint", "audit/log.py",
     "        if published is None:\n            return Break(0, f\"the audit key is pinned", "        if False:\n            return Break(0, f\"the audit key is pinned",
     ["tests/audit/test_anchors.py::test_a_pinned_key_without_its_published_checkpoint_is_caught"]),
    ("pinned_without_checkpoint_rows", "audit/log.py", "        if not checkpoints:\n            return Break(0, f\"the audit",
     "        if False:\n            return Break(0, f\"the audit",
     ["tests/audit/test_anchors.py::test_a_pinned_key_without_any_checkpoint_row_is_caught"]),
    ("safe_writer_no_follow", "safefile.py", "            os.replace(temporary, target)",
     "            target.write_bytes(body)",
     ["tests/test_safefile.py::test_no_link_is_followed_forced_or_not"]),
    ("safe_writer_not_ours", "safefile.py", "    if not (own or force):", "    if False:",
     ["tests/test_safefile.py::test_a_file_it_did_not_write_is_replaced_only_with_force"]),
    ("safe_writer_special_files", "safefile.py",
     "    replaceable = stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)", "    replaceable = True",
     ["tests/test_safefile.py::test_directories_fifos_and_devices_are_never_replaced"]),
    ("rotation_per_realm", "keys/registry.py",
     "            except Exception as exc:  # noqa: BLE001 - one realm never stops the rotation of the others",
     "            except SignwardError as exc:",
     ["tests/keys/test_rotation_per_realm.py::test_one_realm_failing_with_any_error_never_stops_the_others"]),
    ("no_canary_material", "dumps/pipeline.py", "if dumps.canary_check and canary is None:", "if False:",
     ["tests/dumps/test_pipeline.py::test_the_canary_check_without_canary_material_refuses_every_dump"]),
    # issue 32/35: bundles and compressed streams account for every byte (each killed by its whole test file)
    ("bundle_outside_view", "dumps/bundles.py", "            _write_outside(path, [m for m, _ in listed], view)",
     "            pass", [BC]),
    ("bundle_absolute_name", "dumps/bundles.py", '    if raw.startswith("/"):', "    if False:", [BC]),
    ("bundle_name_characters", "dumps/bundles.py", '        raise _unsafe(raw, f"the character U+',
     '        continue\n        raise _unsafe(raw, f"the character U+', [BC]),
    ("bundle_trailing_dot", "dumps/bundles.py", '        if part.endswith((".", " ")):', "        if False:", [BC]),
    ("bundle_windows_device", "dumps/bundles.py",
     '        if part.split(".", 1)[0].rstrip(" ").casefold() in WINDOWS_DEVICES:', "        if False:", [BC]),
    ("bundle_zip_nul_name", "dumps/bundles.py", "canonical_name(info.orig_filename, directory=directory)",
     "canonical_name(info.filename, directory=directory)", [BC]),
    ("bundle_zip_unicode_path", "dumps/bundles.py",
     'return extra[position + 4 + 5:position + 4 + size].decode("utf-8", "surrogateescape")', "return None", [BC]),
    ("bundle_name_collision", "dumps/bundles.py", "        if key in self.files or key in self.folders:",
     "        if False:", [BC]),
    ("bundle_collision_case", "dumps/bundles.py",
     'return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())', "return name", [BC]),
    ("bundle_zip_overlap", "dumps/bundles.py", "        if start < end:\n            raise CoverageError(Uncovered.OVERLAP",
     "        if False:\n            raise CoverageError(Uncovered.OVERLAP", [BC]),
    ("bundle_member_count", "dumps/bundles.py", "    if left[0] < 0:", "    if False:", [BC]),
    ("bundle_depth", "dumps/scanner.py", "    if depth >= MAX_DEPTH:", "    if False:", [BC]),
    ("bundle_shared_expansion", "dumps/files.py", "    if shared[0] < 0:", "    if False:", [BC]),
    ("scan_incomplete_exit", "cli/dumps.py", "if any(r.findings or r.incomplete for r in reports):",
     "if any(r.findings for r in reports):", [BC]),
    ("bundle_tar_cut_short", "dumps/bundles.py", "        if item.offset_data + item.size > size:",
     "        if False:", [BC]),
    ("stream_truncated", "dumps/formats.py", "                    raise self._cut_short()",
     '                    return b""', [BS]),
    ("stream_trailing", "dumps/formats.py",
     '    if not head.startswith(CONTAINERS[container]) or (container == "bz2" and not _is_bz2(head)):',
     "    if False:", [BS]),
    ("stream_zero_padding", "dumps/formats.py", '                if block.strip(b"\\0"):', "                if False:",
     [BS]),
    ("stream_skippable", "dumps/formats.py", 'in SKIPPABLE and container in ("zst", "lz4"):',
     "in SKIPPABLE and False:", [BS]),
    ("stream_gzip_header", "dumps/formats.py", "and head[3] & 0x14:", "and head[3] & 0:", [BS]),
    ("stream_gzip_name", "dumps/formats.py", "and head[3] & 0x08:", "and head[3] & 0:", [BS]),
    ("depth_common_mode_coupling", "depth/common.py",
     "        closure[name] = closure[name] | {u for d in closure[name] for u in rests_on.get(d, ())}",
     "        closure[name] = closure[name]",
     ["tests/depth/test_common.py::test_independent_failures_exact_against_brute_force", "tests/depth/test_common.py::test_two_guards_on_one_implementation_count_once"]),
    ("depth_input_class_defeats", "depth/common.py",
     "        defeated = sorted({c for impl in cls.defeats for c in on.get(impl, [])})",
     "        defeated = sorted({c for impl in cls.defeats[:1] for c in on.get(impl, [])})",
     ["tests/depth/test_common.py::test_an_input_class_defeats_every_implementation_it_names"]),
    ("depth_policy_independent", "depth/analysis.py", "            depth = a.depth\n",
     "            depth = a.min_failures if a.exact else a.lower\n",
     ["tests/depth/test_common.py::test_two_guards_on_one_implementation_count_once"]),
    ("common_mode_drill", "watch/drills.py", "            if by:\n", "            if True:\n",
     ["tests/watch/test_drills.py::test_the_common_mode_drill_needs_one_of_the_two_scans_to_stop_the_artifact"]),
    ("depth_failed_input_class", "depth/analysis.py",
     "    known = frozenset(c for n in named for c in (failing_units[n].controls if n in failing_units else (n,)))",
     "    known = frozenset(n for n in named if n not in failing_units)",
     ["tests/depth/test_common.py::test_a_failed_input_class_fails_the_controls_it_defeats"]),
    ("transit_exportable_refused", "hsm/transit.py", 'if data.get("exportable") is not False:', "if False:",
     ["tests/hsm/test_transit.py::test_an_exportable_key_is_refused"]),
    ("transit_version_refused", "hsm/transit.py", 'if data.get("latest_version") != 1:', "if False:",
     ["tests/hsm/test_transit.py::test_a_key_whose_version_moved_is_refused"]),
    ("transit_sign_version_1", "hsm/transit.py", '"key_version": 1, "marshaling_algorithm": "jws"',
     '"marshaling_algorithm": "jws"', ["tests/hsm/test_transit.py::test_signing_stays_on_version_1_after_a_rotation"]),
    ("transit_created_unexportable", "hsm/transit.py", '{"type": kind, "exportable": False,',
     '{"type": kind, "exportable": True,', ["tests/hsm/test_transit.py::test_every_algorithm_signs_and_verifies"]),
    ("transit_probe_exportable", "hsm/transit.py", 'exportable = data.get("exportable") is not False',
     "exportable = False",
     ["tests/hsm/test_transit.py::test_the_hsm_probe_checks_transit_attributes_and_fails_on_an_exportable_key"]),
    ("transit_https_off_loopback", "home.py",
     'if self.transit_url.startswith("http://") and not _loopback_url(self.transit_url):', "if False:",
     ["tests/hsm/test_transit.py::test_config_refuses_a_transit_backend_without_url_and_a_readable_token_file"]),
    ("key_window_last_second", "verify/validator.py", "if key.exp is not None and now >= key.exp:",
     "if key.exp is not None and now > key.exp:", [V + "test_tokens_at_the_edges_of_their_keys_window"]),
    ("token_ends_with_its_key", "verify/validator.py",
     "if key.exp is not None and exp is not None and exp > key.exp:",
     "if key.exp is not None and exp is not None and exp >= key.exp:",
     [V + "test_tokens_at_the_edges_of_their_keys_window"]),
    ("key_nbf_now", "verify/validator.py",
     "if key.nbf is not None and (now < key.nbf or (iat is not None and iat < key.nbf)):",
     "if key.nbf is not None and (iat is not None and iat < key.nbf):",
     [V + "test_tokens_at_the_edges_of_their_keys_window"]),
    ("key_nbf_iat", "verify/validator.py",
     "if key.nbf is not None and (now < key.nbf or (iat is not None and iat < key.nbf)):",
     "if key.nbf is not None and now < key.nbf:", [V + "test_tokens_at_the_edges_of_their_keys_window"]),
    ("key_nbf_first_second", "verify/validator.py",
     "if key.nbf is not None and (now < key.nbf or (iat is not None and iat < key.nbf)):",
     "if key.nbf is not None and (now <= key.nbf or (iat is not None and iat <= key.nbf)):",
     [V + "test_tokens_at_the_edges_of_their_keys_window"]),
    ("honey_by_thumbprint", "verify/validator.py",
     "        if key.thumbprint in self.honey:\n            check_signature(key, parsed)  # an alert only",
     "        if False:\n            check_signature(key, parsed)  # an alert only",
     [V + "test_honey_key_by_kid_and_by_thumbprint"]),
    ("guard_verdict_until_key_exp", "guard/verdicts.py",
     'until = min(float(exp) + self.validator.skew, key[2] if key[2] is not None else float("inf"))',
     "until = float(exp) + self.validator.skew",
     ["tests/guard/test_decision.py::test_a_remembered_verdict_ends_with_its_key"]),
    ("guard_verdict_last_second", "guard/verdicts.py",
     "            if now < until and self._fingerprint(verdict) == fingerprint:",
     "            if now <= until and self._fingerprint(verdict) == fingerprint:",
     ["tests/guard/test_decision.py::test_a_remembered_verdict_ends_with_its_key"]),
    ("guard_verdict_honey_thumbprint", "guard/verdicts.py",
     "        if key is None or key.thumbprint in self.validator.honey:", "        if key is None:",
     ["tests/guard/test_decision.py::test_a_remembered_verdict_is_checked_again_on_every_use"]),
    ("introspection_realm", "issuer/issuance.py",
     "if found is None or found.realm != realm or found.kid != kid",
     "if found is None or found.kid != kid",
     ["tests/issuer/test_introspection.py::test_every_realm_but_the_issuing_one_answers_inactive"]),
    ("jwk_issuer_member", "verify/keyset.py", "if bound is not None and issuer is not None and bound != issuer:",
     "if False:", ["tests/verify/test_keyset.py::test_bad_ec_keys_are_dropped_with_a_log_line"]),
    ("rotation_realm_query", "keys/registry.py",
     'keys = [KeyRecord.from_row(r) for r in tx.all("SELECT * FROM keys WHERE realm = ?", (realm.name,))]',
     'keys = [KeyRecord.from_row(r) for r in tx.all("SELECT * FROM keys WHERE ? <> \'\'", (realm.name,))]',
     ["tests/keys/test_realm_isolation.py::test_rotating_one_realm_leaves_every_other_as_it_was"]),
    ("signing_key_per_realm", "keys/registry.py",
     '"SELECT * FROM keys WHERE realm = ? AND state = ? AND sign_from <= ? AND sign_until > ? "',
     '"SELECT * FROM keys WHERE ? <> \'\' AND state = ? AND sign_from <= ? AND sign_until > ? "',
     ["tests/keys/test_realm_isolation.py::test_each_realm_signs_with_its_own_key_and_publishes_only_its_own"]),
    ("recheck_certification", "dumps/sanitize.py", "            if second.findings:\n", "            if False:\n",
     ["tests/dumps/test_recheck.py::test_sanitize_refuses_what_only_the_independent_reader_sees"]),
    ("recheck_incomplete", "dumps/sanitize.py", "            if second.incomplete:\n", "            if False:\n",
     ["tests/dumps/test_recheck.py::test_sanitize_refuses_an_output_layer_the_independent_reader_cannot_read"]),
    ("recheck_store_intake", "dumps/debugstore.py", "                if not second.clean:\n",
     "                if False:\n", ["tests/dumps/test_recheck.py::test_the_store_refuses_what_only_the_independent_reader_sees"]),
    ("recheck_loads_der", "dumps/recheck.py", "        self.private_key(key, \"der\", name, (start, end))", "        pass",
     ["tests/dumps/test_recheck.py::test_a_private_key_nobody_published_is_found_by_loading_its_der"]),
    ("recheck_truncated_stream", "dumps/recheck.py", "                raise EOFError(\"zstd frame ends early\")",
     "                return", ["tests/dumps/test_recheck.py::test_a_layer_that_does_not_read_to_its_end_is_incomplete_never_clean"]),
    ("guard_underscore_claim_header", "guard/decision.py",
     "        if any(spoofed_underscore(name) for name in attempt.headers):", "        if False:",
     ["tests/guard/test_redteam_regressions.py::test_an_underscore_claim_header_is_denied"]),
    ("guard_rewrite_header", "guard/decision.py",
     "        if any(name.lower() in REWRITE_HEADERS for name in attempt.headers):", "        if False:",
     ["tests/guard/test_redteam_regressions.py::test_a_rewrite_header_is_denied"]),
    ("guard_host_trailing_dot", "guard/decision.py", '    return host[:-1] if host.endswith(".") else host',
     "    return host",
     ["tests/guard/test_redteam_regressions.py::test_a_trailing_dot_gets_the_hosts_own_route_not_the_laxer_star_one"]),
    ("guard_host_empty_label", "guard/decision.py", "        if host_refused(host):", "        if False:",
     ["tests/guard/test_redteam_regressions.py::test_a_host_with_an_empty_label_is_denied"]),
    ("guard_path_plus_edge", "guard/paths.py",
     '    if isinstance(found, str) and "+" in found and EDGE_PLUS.search(found):', "    if False:",
     ["tests/guard/test_redteam_regressions.py::test_a_plus_at_a_segment_edge_is_refused"]),
    ("guard_inline_only_claimed_issuer", "guard/service.py",
     "            return kid not in source.keys()  # never refreshes: the cached set only",
     "            return not any(kid in s.keys() for s in self.sources.values())",
     ["tests/guard/test_redteam_regressions.py::test_another_issuers_kid_is_decided_off_the_loop",
      "tests/guard/test_redteam_regressions.py::test_a_slow_refresh_for_another_issuers_kid_does_not_stall_other_checks"]),
    ("honey_replay_is_no_alert", "verify/validator.py",
     "        if exp is not None and self.clock.now() >= exp + self.skew:", "        if False:",
     ["tests/verify/test_honey_replay.py::test_a_replayed_expired_probe_token_is_expired_not_a_honey_alert"]),
    ("cached_client_rechecked", "issuer/issuance.py", "AND realm = ? AND disabled = 0 \"", "AND realm = ? \"",
     ["tests/issuer/test_caches.py::test_a_client_disabled_by_another_process_gets_no_token_from_the_cached_row"]),
    ("cached_key_rechecked", "issuer/issuance.py", "AND state NOT IN (?, ?)), ?, ", "AND (state NOT IN (?, ?) OR 1 = 1)), ?, ",
     ["tests/issuer/test_caches.py::test_a_key_revoked_by_another_process_never_signs_a_released_token_again"]),
    ("head_size_cap", "issuer/server.py", "if self._head_bytes > MAX_HEAD + MAX_READ_SLACK:", "if False:",
     ["tests/issuer/test_server_protocol.py::test_an_oversized_request_head_is_refused_and_closed"]),
    ("recheck_zlib_streams", "dumps/recheck_codecs.py", "    yield from _zlib_streams(data, limit)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_the_independent_reader_decodes_the_encoding[git_object.bin]",
      "tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[k.pdf]"]),
    ("recheck_raw_deflate", "dumps/recheck_codecs.py", "        if raw is not None:\n            yield raw", "        if False:\n            yield raw",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[k.deflate]"]),
    ("recheck_lzma_alone", "dumps/recheck_codecs.py", "    yield from _lzma_alone(data, limit)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[lzma_in_image.bin]"]),
    ("recheck_broken_stream_incomplete", "dumps/recheck.py",
     "                if run.broken is not None and run.start == 0:", "                if False:",
     ["tests/dumps/test_redteam_encodings.py::test_a_zlib_stream_cut_short_is_incomplete"]),
    ("recheck_base32", "dumps/recheck_codecs.py", "            yield from _base32_runs(run, offset)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[base32.txt]",
      "tests/dumps/test_redteam_encodings.py::test_a_base32_ed25519_seed_is_a_known_key"]),
    ("recheck_base85", "dumps/recheck_codecs.py", "            yield from _base85_runs(run, offset)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[a85.txt]",
      "tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[b85.txt]"]),
    ("recheck_ascii85_adobe", "dumps/recheck_codecs.py", "        if adobe is not None:", "        if False:",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[a85_adobe.txt]"]),
    ("recheck_uuencode", "dumps/recheck_codecs.py", "    yield from _uuencoded(data)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[uu.txt]"]),
    ("recheck_quoted_printable", "dumps/recheck_codecs.py", "    yield from _quoted_printable(data)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[qp.txt]"]),
    ("recheck_utf32", "dumps/recheck_codecs.py", "    yield from _utf32_runs(data)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_utf32_pem_in_a_view_larger_than_the_window_search"]),
    ("recheck_ebcdic", "dumps/recheck_codecs.py", "    yield from _ebcdic_armour(data)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_sanitize_certifies_nothing_the_red_team_recovers[ebcdic.txt]"]),
    ("recheck_joined_pieces", "dumps/recheck.py", "        self.joined_pieces(document, name, depth)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_a_key_split_into_pieces_is_read_whole_and_refused[ws_split.har]",
      "tests/dumps/test_redteam_encodings.py::test_a_key_split_into_pieces_is_read_whole_and_refused[json_array.json]"]),
    ("recheck_joined_member_pairs", "dumps/recheck_codecs.py",
     "                        len((first + second).rstrip(\"=\")) in _SCALAR_LENGTHS and _mixed(first + second):",
     "                        False:",
     ["tests/dumps/test_redteam_encodings.py::test_a_key_split_into_pieces_is_read_whole_and_refused[ec_split_d.har]"]),
    ("recheck_sse_data", "dumps/recheck_codecs.py", "    yield from _sse_data(data)\n", "",
     ["tests/dumps/test_redteam_encodings.py::test_a_key_split_into_pieces_is_read_whole_and_refused[sse_split.har]"]),
]


def directories(relpath: str, tests: list[str]) -> list[str]:
    """The tests that judge a mutant of `relpath`: its component's test directory (for cli/X.py,
    tests/X; for a top-level module, its `COMPONENT_TESTS` entry, if any) and each named test's
    directory (a named test at the top of tests/ stands for itself: tests/ is the whole suite)."""
    parts = relpath.split("/")
    if len(parts) == 1:
        component = COMPONENT_TESTS.get(relpath)
    else:
        component = f"tests/{parts[1].removesuffix('.py')}" if parts[0] == "cli" else f"tests/{parts[0]}"
    found = [component] if component is not None and (ROOT / component).exists() else []
    for test in tests:
        path = Path(test.split("::", 1)[0])
        found.append(str(path) if path.parent == Path("tests") else str(path.parent))
    if not found:
        raise ValueError(f"no tests judge {relpath}: name one, or add it to COMPONENT_TESTS")
    return list(dict.fromkeys(found))


def run(name: str, relpath: str, original: str, mutated: str, tests: list[str]) -> tuple[bool, str]:
    """Apply one mutant to a copy of src/ and run its named tests, then (if they pass) its
    component's test directories there; (killed, note)."""
    with tempfile.TemporaryDirectory(prefix=f"signward-mutant-{name}-") as scratch:
        copy = Path(scratch) / "src"
        shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        target = copy / "signward" / relpath
        text = target.read_text()
        if text.count(original) != 1:
            return False, f"the original text occurs {text.count(original)} times in {relpath}: update the list"
        target.write_text(text.replace(original, mutated))
        env = {**os.environ, "PYTHONPATH": f"{copy}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"}
        check = subprocess.run([sys.executable, "-c", "import signward, sys; print(signward.__file__)"],
                               env=env, capture_output=True, text=True)
        if not check.stdout.startswith(str(copy)):
            return False, f"the copy was not imported ({check.stdout.strip()})"
        dirs = directories(relpath, tests)
        for stage, selection, timeout in (("named tests", tests, NAMED_TIMEOUT),
                                          (" ".join(dirs), dirs, DIRECTORY_TIMEOUT)):
            try:
                done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                       *selection], cwd=ROOT, env=env, capture_output=True, text=True,
                                      timeout=timeout)
            except subprocess.TimeoutExpired:
                return False, f"the {stage} ran over {timeout} s: neither killed nor passed"
            if done.returncode == 1:  # 1 = tests failed; anything else is an error, not a kill
                return True, f"killed by the {stage}" if stage == "named tests" else (
                    f"killed by {stage} ({_failed(done.stdout)})")
            if done.returncode != 0:
                return False, f"pytest exit {done.returncode} on the {stage}: {done.stdout[-300:]}"
        return False, f"SURVIVED: {' '.join(dirs)} pass with the check broken"


def _failed(output: str) -> str:
    """The first failing test's id in pytest -q output."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" ", 2)[1]
    return "a failure"


def main(names: list[str]) -> int:
    chosen = [m for m in MUTANTS if not names or m[0] in names]
    unknown = set(names) - {m[0] for m in MUTANTS}
    if unknown:
        print(f"unknown mutant(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    for name, relpath, _, _, tests in chosen:
        try:
            directories(relpath, tests)
        except ValueError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            return 2
    survivors = 0
    begun = time.monotonic()

    def one(mutant: tuple[str, str, str, str, list[str]]) -> tuple[str, bool, str, float]:
        started = time.monotonic()
        killed, note = run(*mutant)
        return mutant[0], killed, note, time.monotonic() - started

    # each mutant runs in its own copy of src/ with its own pytest process: independent, so as
    # many at once as the machine has cores (SIGNWARD_MUTANT_JOBS to choose)
    jobs = max(1, int(os.environ.get("SIGNWARD_MUTANT_JOBS", os.cpu_count() or 1)))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, killed, note, seconds in pool.map(one, chosen):
            survivors += not killed
            print(f"{'killed  ' if killed else 'ALIVE   '} {name:<34} {seconds:6.1f}s  {note}", flush=True)
    print(f"{len(chosen) - survivors} of {len(chosen)} mutants killed in {time.monotonic() - begun:.0f} s")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
