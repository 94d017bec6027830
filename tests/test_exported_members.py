"""The public surface of each subpackage is pinned: changing it is a decision, not an accident."""

import signward.hsm
import signward.issuer
import signward.keys
import signward.store


def test_hsm_surface() -> None:
    assert signward.hsm.__all__ == ["Alg", "CheckedSigner", "KeyAttributes", "Pkcs11Backend", "PublicKey",
                                    "SigningBackend", "digest", "open_backend", "signature_ok"]


def test_keys_surface() -> None:
    assert signward.keys.__all__ == ["KeyRecord", "KeyState", "PROBE_SUBJECT", "Realm", "Registry", "RotationPolicy",
                                     "Tripwire", "TripwireKind", "Tripwires", "check_issuer_url", "jwks_document",
                                     "public_jwk", "published_jwk", "thumbprint", "verify_window"]


def test_watch_surface() -> None:
    import signward.watch

    assert signward.watch.__all__ == ["DEPLOYMENT_PROBES", "ProbeContext", "RelyingParty", "Round", "WatchConfig",
                                      "WatchMetrics", "parse_duration", "probes_for", "record_round", "run_round"]


def test_issuer_surface() -> None:
    assert signward.issuer.__all__ == ["Client", "ClientRegistry", "IssuanceRecords", "IssuedToken", "IssuerContext",
                                       "TokenService", "create_app"]


def test_store_surface() -> None:
    assert signward.store.__all__ == ["PostgresStore", "Row", "SqliteStore", "Store", "Transaction", "open_store",
                                      "store_for"]


def test_hazmat_is_not_exported() -> None:
    assert not any("oftware" in name for name in signward.hsm.__all__)


def test_verify_surface() -> None:
    import signward.verify

    assert signward.verify.__all__ == ["ALERT_REASONS", "BearerTokenMiddleware", "FileSource",
                                       "IntrospectionUnavailable", "Introspector", "JwksSource",
                                       "JwksUnavailable", "JwsVerdict", "Reason", "TrustedKey", "UrlSource",
                                       "Validator", "Verdict", "VerifiedClaims", "load_jwks", "load_key",
                                       "source_for"]


def test_verify_imports_no_private_key_machinery() -> None:
    """verify reads public keys only: it must not pull in the HSM layer."""
    import subprocess
    import sys

    code = "import sys, signward.verify; print(any(m.startswith('signward.hsm') or m == 'pkcs11' for m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_depth_surface() -> None:
    import signward.depth

    assert signward.depth.__all__ == ["AssetChange", "AssetResult", "Control", "DepthDiff", "Model", "ModelError",
                                      "Node", "ProbeOutcome", "Report", "Solution", "Step", "analyze", "depth_diff",
                                      "load_model", "minimum_failing_sets", "parse_model", "run_probe", "to_dot",
                                      "to_html", "width"]


def test_audit_surface() -> None:
    import signward.audit

    assert signward.audit.__all__ == ["Anchors", "AuditLog", "AuditRecord", "Break", "SignedCheckpoint", "VerifyResult",
                                      "check_chain", "record_hash", "retention_floor"]


def test_dumps_surface() -> None:
    import signward.dumps
    import signward.scan.detectors

    assert signward.dumps.__all__ == ["AttestationCheck", "Canary", "DumpReason", "DumpState", "FileReport",
                                      "Finding", "KnownKey", "KnownKeys", "SanitizeResult", "hold_canaries",
                                      "load_known_keys", "make_canary", "sanitize", "scan_path", "verify_attestation"]
    assert list(signward.scan.detectors.REGISTRY) == ["text", "der", "known-key", "unknown-rsa", "aes", "har",
                                                       "entropy"]


def test_lab_surface() -> None:
    import signward.lab

    assert signward.lab.__all__ == ["CONTROLS", "PRESETS", "Ablation", "Lab", "LabResult", "LabStep", "StolenKey",
                                    "ablate", "forge_token", "parse_disabled", "steal_keys"]
    assert list(signward.lab.CONTROLS) == ["hsm", "redaction", "canary_check", "release_gate", "store_rescan",
                                           "key_expiry", "rotation", "issuer_binding", "audit_retention",
                                           "grant_approval", "issuance_check"]


def test_services_surface() -> None:
    import signward.services

    assert signward.services.__all__ == ["Services", "asgi_app", "init_home", "open_services", "operator",
                                         "warn_weakened"]


def test_depth_imports_nothing_of_the_product() -> None:
    """The analyzer is generic: importing it loads no other signward module but the error tree,
    the probes' shared vocabulary (`signward.probes.base`, which imports nothing of signward) and
    the typed configuration loader the model is read with (`signward.config_schema` and the value
    parsers it uses, `signward.config_values`: both import nothing of signward but the errors) and the
    bounded file reader (`signward.safefile`, which imports only the errors)."""
    import subprocess
    import sys

    code = ("import sys, signward.depth; print(sorted(m for m in sys.modules if m.startswith('signward.') "
            "and not m.startswith('signward.depth') and m != 'signward.errors'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ("['signward.config_schema', 'signward.config_values', 'signward.probes', "
                                   "'signward.probes.base', 'signward.safefile']")


def test_scan_imports_nothing_of_the_product() -> None:
    """The scanning engine is product-independent: importing every module of it loads no other
    signward module but the error tree (no keys, home, clock, algorithms, services, dumps)."""
    import pkgutil
    import subprocess
    import sys

    import signward.scan

    modules = sorted(m.name for m in pkgutil.walk_packages(signward.scan.__path__, "signward.scan."))
    assert {"signward.scan.scanner", "signward.scan.recheck", "signward.scan.har",
            "signward.scan.detectors.known_key"} <= set(modules)
    code = (f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; "
            "print(sorted(m for m in sys.modules if m.startswith('signward.') "
            "and not m.startswith('signward.scan') and m != 'signward.errors'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_module_imports_a_layer_above_it() -> None:
    """home and errors sit at the bottom; the CLI modules import only their common module and the library."""
    import ast
    from pathlib import Path

    package = Path(signward.hsm.__file__).parents[1]
    home_imports = {n.module for n in ast.walk(ast.parse((package / "home.py").read_text()))
                    if isinstance(n, ast.ImportFrom)}
    assert home_imports <= {"__future__", "dataclasses", "pathlib", "typing", "urllib.parse", "errors", "retention",
                            "controls_config", "safefile", "config_schema", "config_values"}, home_imports
    schema_imports = {n.module for n in ast.walk(ast.parse((package / "config_schema.py").read_text()))
                      if isinstance(n, ast.ImportFrom)}  # the typed loader sits at the bottom with home
    assert schema_imports <= {"__future__", "collections.abc", "dataclasses", "typing", "config_values", "errors"}, \
        schema_imports
    register_imports = {n.module for n in ast.walk(ast.parse((package / "controls_config.py").read_text()))
                        if isinstance(n, ast.ImportFrom)}  # the register sits at the bottom with home
    # and, inside `canary_state` only, the sanitizer's own canary loader and its error (issue #34 F6: the
    # register holds the canary file to what the sanitizer can load, not to a second parser of its own)
    assert register_imports <= {"__future__", "collections.abc", "dataclasses", "pathlib", "typing", "retention",
                                "audit", "home", "dumps.canary", "errors"}, register_imports
    for module in (package / "cli").glob("*.py"):
        if module.name in ("__init__.py", "common.py"):
            continue
        local = {n.module for n in ast.walk(ast.parse(module.read_text()))
                 if isinstance(n, ast.ImportFrom) and n.level == 1}
        assert local <= {"common"}, (module.name, local)
