"""The audit log as a verifiable log: RFC 6962 tree heads, inclusion and consistency proofs,
C2SP signed-note checkpoints, checked by an independent implementation written here from the
RFC's recursive definitions (MTH, PATH, SUBPROOF) over the raw records."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from signward.audit import AuditLog, SignedCheckpoint, merkle
from signward.audit.anchors import Anchors
from signward.audit.note import Checkpoint, NoteError, der_signature, key_id, open_note, signed_note
from signward.cli import cli
from signward.home import Home
from signward.hsm import server as hsm_server
from signward.hsm.base import CheckedSigner
from signward.store import open_store
from tests.conftest import make_hsm_home

# -- the independent reference (RFC 6962 section 2.1, recursive, no shared code) ----------------


def ref_leaf(row: dict[str, Any]) -> bytes:
    body = json.dumps([row["seq"], repr(float(row["time"])), row["actor"], row["action"], row["object"],
                       row["severity"], row["details"], row["prev_hash"]], separators=(",", ":"),
                      ensure_ascii=False).encode()
    return hashlib.sha256(b"\x00" + body).digest()


def ref_k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = ref_k(len(leaves))
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = ref_k(len(leaves))
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [ref_mth(leaves)]
    k = ref_k(n)
    if m <= k:
        return ref_subproof(m, leaves[:k], complete) + [ref_mth(leaves[k:])]
    return ref_subproof(m - k, leaves[k:], False) + [ref_mth(leaves[:k])]


def ref_root_from_path(m: int, n: int, leaf: bytes, proof: list[bytes]) -> bytes:
    """Rebuild the root from an audit path by the recursion PATH follows (a second verifier)."""
    proof = list(proof)

    def rebuild(m: int, n: int) -> bytes:
        if n == 1:
            return leaf
        k = ref_k(n)
        sibling = proof.pop()
        if m < k:
            return hashlib.sha256(b"\x01" + rebuild(m, k) + sibling).digest()
        return hashlib.sha256(b"\x01" + sibling + rebuild(m - k, n - k)).digest()

    root = rebuild(m, n)
    assert not proof, "unused proof hashes"
    return root


# -- the tree itself -----------------------------------------------------------------------------


def test_roots_and_proofs_match_the_reference_for_every_size() -> None:
    leaves = [hashlib.sha256(b"\x00" + bytes([i])).digest() for i in range(70)]
    tree = merkle.Tree(leaves)
    for n in range(1, 71):
        root = ref_mth(leaves[:n])
        assert tree.root(n) == root
        frontier, size = merkle.extend([], 0, leaves[:n])
        assert size == n and merkle.root_of(frontier) == root
        for m in range(n):
            proof = tree.inclusion(m, n)
            assert proof == ref_path(m, leaves[:n])
            assert merkle.verify_inclusion(m, n, leaves[m], proof, root)
            assert not merkle.verify_inclusion(m, n, leaves[(m + 1) % n], proof, root) or n == 1
        for m in range(1, n + 1):
            proof = tree.consistency(m, n)
            assert proof == ref_subproof(m, leaves[:n], True)
            assert merkle.verify_consistency(m, n, ref_mth(leaves[:m]), root, proof)
            if m < n:
                assert not merkle.verify_consistency(m, n, ref_mth(leaves[:m - 1] + [leaves[n - 1]]), root, proof)


def test_a_pruned_prefix_stands_as_its_compact_range() -> None:
    leaves = [hashlib.sha256(bytes([i])).digest() for i in range(53)]
    for start in (1, 8, 13, 32, 40):
        frontier, _ = merkle.extend([], 0, leaves[:start])
        tree = merkle.Tree(leaves[start:], start, frontier)
        for n in range(start, 54):
            assert tree.root(n) == ref_mth(leaves[:n])
            for m in range(start, n):
                assert tree.inclusion(m, n) == ref_path(m, leaves[:n])
            if start:
                assert tree.consistency(start, n) == ref_subproof(start, leaves[:n], True)
        with pytest.raises(merkle.ProofError):
            tree.inclusion(start - 1, 53)


# -- the audit log's proofs, verified offline --------------------------------------------------


@pytest.fixture
def log(tmp_path: Path, backend: Any) -> AuditLog:
    audit = AuditLog(open_store(tmp_path / "audit.db"), backend, checkpoint_every=10_000,
                     anchors=Anchors(tmp_path / "anchors"), origin="test.example/audit")
    for i in range(37):
        audit.append("alice", "token.issue", f"k{i % 3}", {"i": i})
    return audit


def raw_rows(log: AuditLog) -> list[dict[str, Any]]:
    with log.store.snapshot() as tx:
        return tx.all("SELECT * FROM audit_records ORDER BY seq")


def test_checkpoint_is_a_signed_note_of_the_rfc_tree_head(log: AuditLog) -> None:
    made = log.checkpoint()
    assert made is not None
    public = log._public(log._audit_key()[0])
    head = open_note(made.note, "test.example/audit", public)
    leaves = [ref_leaf(r) for r in raw_rows(log)]
    assert head.size == 37 and head.root == ref_mth(leaves)
    lines = made.note.split("\n")
    assert lines[:3] == ["test.example/audit", "37", base64.b64encode(head.root).decode()]
    assert lines[4].startswith("\u2014 test.example/audit ")
    assert base64.b64decode(lines[4].split(" ")[2])[:4] == key_id(public)
    tampered = made.note.replace("\n37\n", "\n38\n")
    with pytest.raises(NoteError):
        open_note(tampered, "test.example/audit", public)


def test_inclusion_proofs_verify_with_the_reference(log: AuditLog) -> None:
    log.checkpoint()
    leaves = [ref_leaf(r) for r in raw_rows(log)]
    for seq in (1, 2, 17, 32, 37):
        proof = log.prove(seq)
        leaf = hashlib.sha256(b"\x00" + base64.b64decode(proof["leaf"])).digest()
        assert leaf == leaves[seq - 1]
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        assert ref_root_from_path(seq - 1, 37, leaf, hashes) == ref_mth(leaves)


def test_consistency_proofs_verify_with_the_reference(log: AuditLog) -> None:
    old = log.checkpoint()
    assert old is not None
    for i in range(20):
        log.append("bob", "key.create", f"n{i}")
    proof = log.consistency(37)
    assert proof["tree_size"] == 57 and proof["old_checkpoint"] == old.note
    leaves = [ref_leaf(r) for r in raw_rows(log)]
    hashes = [base64.b64decode(h) for h in proof["hashes"]]
    assert hashes == ref_subproof(37, leaves, True)
    assert merkle.verify_consistency(37, 57, ref_mth(leaves[:37]), ref_mth(leaves), hashes)


def _write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value))
    return str(path)


def test_verify_proof_offline_from_the_key_alone(log: AuditLog, tmp_path: Path) -> None:
    """`audit verify-proof` needs no home: the proof, the checkpoint and the pinned key."""
    old = log.checkpoint()
    assert old is not None
    for i in range(5):
        log.append("bob", "key.create", f"n{i}")
    key = _write(tmp_path, "key.jwk", json.loads((tmp_path / "anchors" / "pinned-key.jwk").read_text()))
    runner = CliRunner()
    inclusion = _write(tmp_path, "inc.json", log.prove(40))
    done = runner.invoke(cli, ["--home", str(tmp_path / "no-home"), "audit", "verify-proof", inclusion,
                               "--key", key, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["ok"] is True
    assert not (tmp_path / "no-home").exists()
    consistency = _write(tmp_path, "con.json", log.consistency(37))
    old_note = _write(tmp_path, "old.note", old.note)
    done = runner.invoke(cli, ["audit", "verify-proof", consistency, "--key", key, "--old-checkpoint", old_note])
    assert done.exit_code == 0, done.output

    # a tampered leaf: the record's text changed, its proof no longer reaches the signed root
    proof = log.prove(40)
    body = base64.b64decode(proof["leaf"]).replace(b"bob", b"eve")
    forged = _write(tmp_path, "forged.json", {**proof, "leaf": base64.b64encode(body).decode()})
    done = runner.invoke(cli, ["audit", "verify-proof", forged, "--key", key])
    assert done.exit_code == 1 and "inclusion" in done.output

    # another key (the log's checkpoint re-signed by someone else) is refused
    other = _write(tmp_path, "other.jwk", {"kty": "EC", "crv": "P-256",
                                            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})
    done = runner.invoke(cli, ["audit", "verify-proof", inclusion, "--key", other])
    assert done.exit_code == 1 and "not signed" in done.output


def test_a_forked_checkpoint_is_caught(log: AuditLog, tmp_path: Path) -> None:
    """Two checkpoints of the same size with different roots, both signed by the log's key:
    the log equivocated. verify-proof names the fork, and `audit verify` holds the log to the
    published one."""
    made = log.checkpoint()
    assert made is not None
    handle, alg = log._audit_key()
    public = log._public(handle)
    fake = Checkpoint("test.example/audit", 37, hashlib.sha256(b"another history").digest())
    forked = signed_note(fake, "test.example/audit", public,
                         der_signature(CheckedSigner(log.backend).sign(handle, alg, fake.text().encode())))
    key = _write(tmp_path, "key.jwk", json.loads((tmp_path / "anchors" / "pinned-key.jwk").read_text()))
    proof = _write(tmp_path, "p.json", log.prove(3))
    runner = CliRunner()
    done = runner.invoke(cli, ["audit", "verify-proof", proof, "--key", key, "--old-checkpoint",
                               _write(tmp_path, "fork.note", forked)])
    assert done.exit_code == 1 and "fork" in done.output
    assert log.verify().ok
    published = json.loads((tmp_path / "anchors" / "checkpoint.json").read_text())
    (tmp_path / "anchors" / "checkpoint.json").write_text(json.dumps({**published, "note": forked}))
    result = log.verify()
    assert not result.ok and result.broken is not None and "fork" in result.broken.reason


def test_a_tampered_leaf_and_a_truncated_log_are_caught(log: AuditLog, tmp_path: Path) -> None:
    log.checkpoint()
    conn = sqlite3.connect(tmp_path / "audit.db")
    conn.execute("UPDATE audit_records SET actor = 'mallory' WHERE seq = 5")
    conn.commit()
    result = log.verify()
    assert not result.ok and result.broken is not None and result.broken.seq == 5
    conn.execute("UPDATE audit_records SET actor = 'alice' WHERE seq = 5")
    root = conn.execute("SELECT root_hash FROM audit_checkpoints WHERE seq = 37").fetchone()[0]
    conn.execute("UPDATE audit_checkpoints SET root_hash = ? WHERE seq = 37", ("00" * 32,))
    conn.commit()
    result = log.verify()
    assert not result.ok and result.broken is not None and "Merkle tree head" in result.broken.reason
    conn.execute("UPDATE audit_checkpoints SET root_hash = ? WHERE seq = 37", (root,))
    conn.commit()
    assert log.verify().ok
    conn.execute("DELETE FROM audit_records WHERE seq > 30")
    conn.commit()
    conn.close()
    result = log.verify()
    assert not result.ok and result.broken is not None and result.broken.seq in (31, 37)


def test_pruned_log_still_proves_later_records(tmp_path: Path, backend: Any) -> None:
    from signward.clock import FixedClock

    clock = FixedClock(1_700_000_000)
    audit = AuditLog(open_store(tmp_path / "a.db"), backend, clock, checkpoint_every=10_000,
                     anchors=Anchors(tmp_path / "anchors"))
    for i in range(21):
        audit.append("alice", "token.issue", f"k{i}")
    audit.checkpoint()
    clock.advance(800 * 86400)
    for i in range(9):
        audit.append("alice", "token.issue", f"late{i}")
    pruned = audit.prune(730 * 86400, 86400)
    assert pruned["up_to"] == 21
    assert audit.verify().ok
    leaves_after = [ref_leaf(r) for r in raw_rows(audit) if r["seq"] > 21]
    proof = audit.prove(25)
    head = open_note(proof["checkpoint"], proof["checkpoint"].split("\n")[0], audit._public(audit._audit_key()[0]))
    leaf = hashlib.sha256(b"\x00" + base64.b64decode(proof["leaf"])).digest()
    assert leaf == leaves_after[25 - 22]
    assert merkle.verify_inclusion(24, head.size, leaf, [base64.b64decode(h) for h in proof["hashes"]], head.root)
    with pytest.raises(merkle.ProofError):
        audit.prove(3)


def test_random_sizes_against_the_reference() -> None:
    rng = random.Random(6962)
    for _ in range(30):
        n = rng.randint(1, 600)
        leaves = [rng.randbytes(32) for _ in range(n)]
        tree = merkle.Tree(leaves)
        m = rng.randint(1, n)
        i = rng.randrange(n)
        assert tree.root() == ref_mth(leaves)
        assert ref_root_from_path(i, n, leaves[i], tree.inclusion(i)) == ref_mth(leaves)
        assert merkle.verify_consistency(m, n, ref_mth(leaves[:m]), ref_mth(leaves), tree.consistency(m))


# -- the remembered compact range (issue 39): checkpoints without re-reading the records ---------


def _checkpoint_rows(log: AuditLog) -> list[dict[str, Any]]:
    with log.store.snapshot() as tx:
        return tx.all("SELECT seq, root_hash, frontier FROM audit_checkpoints ORDER BY seq")


def test_checkpoints_from_the_remembered_range_match_the_reference(tmp_path: Path, backend: Any) -> None:
    """Group-committed batches of several threads, appends inside a caller's transaction, and a
    second log on the same database (another process) between them: every checkpoint's root and
    compact range are the reference's over the raw records, and the proofs verify."""
    import threading

    store = open_store(tmp_path / "audit.db")
    one = AuditLog(store, backend, checkpoint_every=7, origin="test.example/audit")
    other = AuditLog(store, backend, checkpoint_every=10_000, origin="test.example/audit")

    def appends(n: int, who: str) -> None:
        for i in range(n):
            one.append(who, "token.issue", f"k{i}", {"i": i})

    for phase in range(3):
        threads = [threading.Thread(target=appends, args=(9 + phase, f"t{t}")) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with store.transaction() as tx:  # appends the batches never saw
            one.append("admin", "key.create", f"in-tx-{phase}", tx=tx)
        if phase == 1:
            for i in range(5):
                other.append("elsewhere", "token.issue", f"o{i}")
            other.checkpoint()
        one.checkpoint()
    head = len(raw_rows(one))
    assert one._tree is not None and one._tree[0] == head  # the range followed the log to its head
    leaves = [ref_leaf(r) for r in raw_rows(one)]
    made = _checkpoint_rows(one)
    assert len(made) >= 8
    for cp in made:
        size = int(cp["seq"])
        assert cp["root_hash"] == ref_mth(leaves[:size]).hex(), size
        assert merkle.extend([], 0, leaves[:size])[0] == [bytes.fromhex(h) for h in json.loads(cp["frontier"])]
    assert one.verify().ok
    for seq in (1, 13, head):
        proof = one.prove(seq)
        hashes = [base64.b64decode(h) for h in proof["hashes"]]
        assert ref_root_from_path(seq - 1, proof["tree_size"], leaves[seq - 1], hashes) == \
            ref_mth(leaves[:proof["tree_size"]])


def test_a_remembered_range_of_another_chain_is_not_used(tmp_path: Path, backend: Any) -> None:
    """The database now holds a different chain than the one this process extended (restored,
    rewritten): its remembered range names a record whose hash is not there, and the checkpoint
    is computed from the records the database holds."""
    store = open_store(tmp_path / "audit.db")
    stale = AuditLog(store, backend, checkpoint_every=10_000, origin="test.example/audit")
    for i in range(10):
        stale.append("alice", "token.issue", f"k{i}")
    assert stale._tree is not None and stale._tree[0] == 10
    conn = sqlite3.connect(tmp_path / "audit.db")
    conn.execute("DELETE FROM audit_records")
    conn.commit()
    conn.close()
    fresh = AuditLog(store, backend, checkpoint_every=10_000, origin="test.example/audit")
    for i in range(12):
        fresh.append("bob", "key.create", f"n{i}")
    made = stale.checkpoint()
    assert made is not None and made.seq == 12
    assert made.root_hash == ref_mth([ref_leaf(r) for r in raw_rows(fresh)]).hex()


@pytest.fixture
def own_hsm_home(tmp_path: Path) -> Iterator[Home]:
    """A home with its own HSM process, for the CLI run as a process of its own (one process
    reaches one embedded HSM: this one reaches the session's)."""
    home = make_hsm_home(tmp_path / "home")
    yield home
    hsm_server.stop(home)


def _signward(home: Home, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "signward", "--home", str(home.root), *args], capture_output=True,
                          text=True, timeout=120)


def test_the_checkpoint_command_prints_the_checkpoint_it_signed_exactly(own_hsm_home: Home) -> None:
    """`audit checkpoint --json` is `SignedCheckpoint.to_dict` of what it stored: the chain head
    and the tree head's root and note, key for key and byte for byte (`{}` for an empty log)."""
    home = own_hsm_home
    empty = _signward(home, "audit", "checkpoint", "--json")
    assert (empty.returncode, empty.stdout) == (0, "{}\n"), empty.stderr
    made = _signward(home, "realm", "create", "c", "--issuer", "https://c.example.com")
    assert made.returncode == 0, made.stderr
    done = _signward(home, "audit", "checkpoint", "--json")
    assert done.returncode == 0, done.stderr
    conn = sqlite3.connect(home.db_path)
    seq, head_hash, root_hash, note = conn.execute(
        "SELECT seq, head_hash, root_hash, note FROM audit_checkpoints ORDER BY seq DESC LIMIT 1").fetchone()
    conn.close()
    assert seq >= 1 and len(head_hash) == 64 and len(root_hash) == 64 and note.endswith("\n")
    expected = SignedCheckpoint(seq, head_hash, root_hash, note)
    assert done.stdout == json.dumps(expected.to_dict(), indent=2, sort_keys=True) + "\n"
    assert done.stdout == ('{\n  "head_hash": "%s",\n  "note": %s,\n  "root_hash": "%s",\n  "seq": %d\n}\n'
                           % (head_hash, json.dumps(note), root_hash, seq))
    text = _signward(home, "audit", "checkpoint")
    assert text.stdout.split("\n")[:3] == note.split("\n")[:3]  # the note, signed again (ECDSA: other bytes)
