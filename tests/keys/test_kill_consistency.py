"""A process killed with SIGKILL in the middle of rotation leaves a consistent registry."""

from __future__ import annotations

import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from joserfc.jwk import ECKey

from signward.clock import FixedClock
from signward.home import Home
from signward.hsm import CheckedSigner
from signward.keys import Registry
from signward.services import init_home, open_services
from signward.store import open_store

ROTATOR = str(Path(__file__).resolve().parents[1] / "programs" / "rotating_registry.py")


def _check_consistent(reg: Registry, db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    realm = reg.realm("churn")
    keys = reg.keys("churn")
    assert keys
    live_handles = {a.handle for a in reg.backend.attributes()}
    for k in keys:
        assert ECKey.import_key(k.public_jwk).thumbprint() == k.kid
        assert k.verify_until == k.sign_until + realm.policy.max_token_lifetime
        assert k.sign_until - k.sign_from <= realm.policy.max_signing_lifetime
        if k.state.value != "destroyed":
            assert k.handle in live_handles, f"key {k.kid} ({k.state.value}) lost its HSM object"
    ordered = sorted((k for k in keys if k.state.value != "revoked"), key=lambda k: k.sign_from)
    for before, after in zip(ordered, ordered[1:], strict=False):
        assert after.sign_from >= before.sign_until, "signing windows overlap"


def test_sigkill_during_rotation(hsm_home: Home, backend: object, tmp_path: Path) -> None:
    # a home of the test's own on the session's HSM (one process reaches one embedded HSM): the
    # audit anchors the children publish live in the home, and a home shared with other tests'
    # stores would hold another chain's checkpoints
    home = Home(tmp_path / "home")
    home.root.mkdir()
    (home.root / "hsm").symlink_to(hsm_home.hsm_dir)
    init_home(home, hsm_home.load_config())
    db = tmp_path / "churn.db"
    rng = random.Random(7)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for _ in range(10):
        child = subprocess.Popen([sys.executable, ROTATOR, str(home.root), str(db)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready", child.stderr.read() if child.stderr else b""
        # each child makes progress before it is killed, however loaded the machine (a sleep alone
        # let a slow child be killed before its first key: 6 keys, not more than 6), then is killed
        # at a random point of a later rotation
        assert select.select([child.stdout], [], [], 120)[0], "no key made in 120 s"
        assert child.stdout.readline().strip() == b"grew"
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        if child.stderr:
            child.stderr.close()
    store = open_store(db)
    with store.transaction() as tx:
        now = tx.one("SELECT MAX(sign_until) AS t FROM keys")["t"]  # type: ignore[index]
    clock = FixedClock(now - 86400 * 3)
    services = open_services(home, clock=clock, store=store, backend=backend)  # type: ignore[arg-type]
    reg = services.registry
    _check_consistent(reg, db)
    reg.rotate("churn")
    assert reg.rotate("churn") == []  # recovered and idempotent
    key = reg.signing_key("churn")
    assert CheckedSigner(backend).sign(key.handle, key.alg, b"still signs")  # type: ignore[arg-type]
    _check_consistent(reg, db)
    assert len(reg.keys("churn")) > 6  # the children made real progress between kills
    assert services.audit.verify().ok  # every transition the killed children made is on the record
    services.close()
