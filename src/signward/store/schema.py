"""The database schema, as an ordered list of migrations applied once each."""

# the dump refusal reasons (signward.dumps.DumpReason values) of the records written while a dump's
# reason and detail shared one column as "reason: detail"; frozen here, because records written since
# keep them apart (the store imports nothing of the dumps)
SPLIT_REASONS = (
    "input_changed", "scan_incomplete", "canary_missed", "no_canary", "finding_in_metadata", "residue", "recheck",
    "recheck_incomplete", "unreadable", "error", "quarantine_changed", "not_sanitized", "attestation_mismatch",
    "store_unreadable", "store_rescan", "no_grant", "grant_expired", "rate_limit", "self_approval", "not_an_approver",
    "needs_approval", "not_linked", "request_closed", "enrolled_after_request", "enrolled_by_requester",
    "foreign_config", "not_an_administrator", "identity_exists", "no_such_identity", "no_attestation",
    "unreadable_attestation", "no_attestation_key", "bad_mac", "unreadable_output", "output_mismatch", "not_clean",
)


def _split_dump_reasons() -> str:
    """A `detail` column for dump records; an existing "reason: detail" is split at its first ": "
    when the part before it is a known reason (anything else stays as it was). Plain SQL that
    SQLite and PostgreSQL read alike: substr, one UPDATE per reason."""
    statements = ["ALTER TABLE dumps ADD COLUMN detail TEXT NOT NULL DEFAULT ''"]
    for value in SPLIT_REASONS:
        prefix = f"{value}: "
        statements.append(f"UPDATE dumps SET reason = '{value}', detail = substr(reason, {len(prefix) + 1}) "
                          f"WHERE substr(reason, 1, {len(prefix)}) = '{prefix}'")
    return ";\n".join(statements)


MIGRATIONS: list[str] = [
    """
    CREATE TABLE realms (
        name TEXT PRIMARY KEY,
        issuer TEXT NOT NULL UNIQUE,
        alg TEXT NOT NULL,
        max_signing_lifetime REAL NOT NULL,
        prepublish_lead REAL NOT NULL,
        max_token_lifetime REAL NOT NULL,
        destroy_after REAL NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE keys (
        kid TEXT PRIMARY KEY,
        realm TEXT NOT NULL REFERENCES realms(name),
        alg TEXT NOT NULL,
        state TEXT NOT NULL,
        backend TEXT NOT NULL,
        handle TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at REAL NOT NULL,
        sign_from REAL NOT NULL,
        sign_until REAL NOT NULL,
        verify_until REAL NOT NULL,
        revoked_at REAL,
        destroyed_at REAL
    );
    CREATE INDEX keys_realm ON keys(realm, state);
    CREATE TABLE clients (
        client_id TEXT PRIMARY KEY,
        realm TEXT NOT NULL REFERENCES realms(name),
        tenant TEXT NOT NULL,
        grants TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at REAL NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    """,
    """
    CREATE TABLE audit_records (
        seq INTEGER PRIMARY KEY,
        time REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        object TEXT NOT NULL,
        severity TEXT NOT NULL,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_action ON audit_records(action);
    CREATE TABLE audit_checkpoints (
        seq INTEGER PRIMARY KEY,
        head_hash TEXT NOT NULL,
        time REAL NOT NULL,
        key_handle TEXT NOT NULL,
        alg TEXT NOT NULL,
        signature TEXT NOT NULL
    );
    CREATE TABLE audit_keys (
        key_handle TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    """
    CREATE TABLE dumps (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        source TEXT NOT NULL,
        pid INTEGER,
        exe TEXT NOT NULL,
        signal INTEGER,
        crash_time REAL,
        host TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        sanitized_sha256 TEXT NOT NULL,
        released_to TEXT NOT NULL
    );
    CREATE INDEX dumps_state ON dumps(state, created);
    CREATE TABLE dump_grants (
        id TEXT PRIMARY KEY,
        dump_id TEXT NOT NULL REFERENCES dumps(id),
        username TEXT NOT NULL,
        granted_by TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX dump_grants_user ON dump_grants(username, dump_id);
    CREATE TABLE dump_fetches (
        dump_id TEXT NOT NULL,
        username TEXT NOT NULL,
        time REAL NOT NULL
    );
    CREATE INDEX dump_fetches_user ON dump_fetches(username, time);
    """,
    """
    CREATE TABLE dump_copies (
        dump_id TEXT NOT NULL REFERENCES dumps(id),
        store TEXT NOT NULL,
        released REAL NOT NULL,
        PRIMARY KEY (dump_id, store)
    );
    """,
    """
    CREATE TABLE tripwires (
        kid TEXT PRIMARY KEY,
        realm TEXT NOT NULL REFERENCES realms(name),
        kind TEXT NOT NULL,
        alg TEXT NOT NULL,
        backend TEXT NOT NULL,
        handle TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at REAL NOT NULL,
        nbf REAL NOT NULL,
        exp REAL NOT NULL
    );
    CREATE INDEX tripwires_realm ON tripwires(realm, kind);
    """,
    """
    CREATE TABLE issued_tokens (
        jti TEXT PRIMARY KEY,
        realm TEXT NOT NULL,
        kid TEXT NOT NULL,
        sub TEXT NOT NULL,
        digest TEXT NOT NULL,
        exp REAL NOT NULL,
        revoked_at REAL
    );
    CREATE INDEX issued_tokens_exp ON issued_tokens(exp);
    """,
    """
    CREATE TABLE user_credentials (
        username TEXT PRIMARY KEY,
        digest TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        revoked REAL
    );
    CREATE TABLE dump_incidents (
        dump_id TEXT NOT NULL REFERENCES dumps(id),
        incident TEXT NOT NULL,
        linked_by TEXT NOT NULL,
        time REAL NOT NULL,
        PRIMARY KEY (dump_id, incident)
    );
    CREATE TABLE grant_requests (
        id TEXT PRIMARY KEY,
        dump_id TEXT NOT NULL REFERENCES dumps(id),
        requester TEXT NOT NULL,
        reason TEXT NOT NULL,
        incident TEXT NOT NULL,
        ttl REAL NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        state TEXT NOT NULL,
        approver TEXT,
        decided REAL
    );
    CREATE INDEX grant_requests_state ON grant_requests(state, expires);
    """,
    """
    ALTER TABLE audit_checkpoints ADD COLUMN root_hash TEXT;
    ALTER TABLE audit_checkpoints ADD COLUMN frontier TEXT;
    ALTER TABLE audit_checkpoints ADD COLUMN note TEXT
    """,
    """
    ALTER TABLE user_credentials ADD COLUMN enrolled_by TEXT;
    ALTER TABLE user_credentials ADD COLUMN revoked_by TEXT
    """,
    _split_dump_reasons(),
]
