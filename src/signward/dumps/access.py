"""Who may fetch a released dump: identities, incident links, requests and approved grants.

In the breach one engineer account was enough to reach the dumps. Here a grant needs two
people: the engineer asks (`request`: the dump, a reason, an incident the dump's crash is
linked to), someone else in `dumps.approvers` approves (`approve`), and the grant lives at
most `dumps.max_grant_hours` (8 at most). Nobody approves their own request; a direct
`grant` is refused unless `dumps.insecure_self_grant` switches the control off.

Identities are not names typed on a command line. A caller is the user of a per-user
credential the home issued (`enroll`: a random 256-bit token, shown once; the home keeps
its SHA-256), or, without one, the operating-system user running the command (a home is
local to one machine, whose accounts are the identities). Every step is audited; a fetch
without an approved grant is refused and audited at alert severity.

Enrolment is an administrative act: only a member of `dumps.approvers`, or the home's
administrator (the operating-system owner of the real home directory and of the database
file actually opened, saying so with `--as-admin`; `Home.admin_refusal`) may enrol or revoke,
and an identity named in `dumps.approvers` only the administrator. An enrolled identity is
never replaced: it is revoked, then enrolled again, each audited at warning. Each credential
records who enrolled it (and who revoked the one before it). An approval is refused, at
alert, by an identity whose credential is newer than the request (`enrolled_after_request`)
or was enrolled, or revoked and re-enrolled, by the requester (`enrolled_by_requester`):
whoever filed a request cannot mint its approver.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..audit import AuditLog
from ..clock import Clock, iso
from ..errors import DumpRefused, NotFound, UsageError
from ..home import Config, Home, valid_identity
from ..store import Store, Transaction
from .reasons import DumpReason, DumpState

ACTOR = "dumps"
PREFIX = "swu_"
MAX_CREDENTIAL_BYTES = 1024
MAX_TEXT = 500  # reason and incident
REQUEST_LIFETIME = 24 * 3600  # a request not approved within a day lapses


@dataclass(frozen=True)
class GrantRequest:
    """A request for a grant, waiting for a second person's approval (`Access.request`)."""

    id: str
    dump: str
    requester: str
    incident: str
    ttl: float  # seconds the grant is to live once approved
    lapses_at: str  # when the request lapses unapproved (ISO 8601)
    state: str = "pending"

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `debug request`."""
        return {"request": self.id, "dump": self.dump, "requester": self.requester, "incident": self.incident,
                "ttl": self.ttl, "state": self.state, "lapses_at": self.lapses_at}


@dataclass(frozen=True)
class Grant:
    """A live grant: `user` may fetch `dump` until `expires`. `request` and `approved_by` name
    the approval it came from (None: a direct grant, `Access.grant`)."""

    id: str
    dump: str
    user: str
    expires: float  # seconds since the epoch
    expires_at: str  # the same, ISO 8601
    request: str | None = None
    approved_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON of `debug approve` and `debug grant` (a direct grant names no request)."""
        data: dict[str, Any] = {"grant": self.id, "dump": self.dump, "user": self.user, "expires": self.expires,
                                "expires_at": self.expires_at}
        if self.request is not None:
            data.update(request=self.request, approved_by=self.approved_by)
        return data


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _text(value: str, what: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TEXT or not value.isprintable():
        raise UsageError(f"{what} must be 1 to {MAX_TEXT} printable characters")
    return value


def _name(value: str) -> str:
    if not valid_identity(value):
        raise UsageError(f"identity {value!r}: 1 to 64 ASCII letters, digits, '.', '_' or '-'")
    return value


def os_user() -> str:
    """The operating-system user running this process."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid-{os.geteuid()}"


def read_credential(path: str | Path) -> str:
    """The token in a credential file (bounded, one line)."""
    try:  # never blocks on a FIFO; a device or a directory is refused unread
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise UsageError(f"credential {path}: {exc.strerror or exc}") from None
    info = os.fstat(descriptor)
    problem = ("not a regular file" if not stat.S_ISREG(info.st_mode)
               else "not owned by you" if info.st_uid != os.geteuid()
               else f"readable by others (mode {info.st_mode & 0o777:o}; chmod 600 it)" if info.st_mode & 0o077
               else None)  # as ssh does with a private key
    if problem is not None:
        os.close(descriptor)
        raise UsageError(f"credential {path}: {problem}")
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(MAX_CREDENTIAL_BYTES + 1)
    token = data.decode("ascii", "replace").strip()
    if len(data) > MAX_CREDENTIAL_BYTES or not token.startswith(PREFIX) or not token.isprintable():
        raise UsageError(f"credential {path}: not a signward credential")
    return token


class Access:
    """Identities, incident links, grant requests, approvals and the grants they make."""

    def __init__(self, config: Config, store: Store, audit: AuditLog, clock: Clock) -> None:
        self.config = config
        self.store = store
        self.audit = audit
        self.clock = clock
        self.config_sha256 = ""  # the CLI names the configuration file its commands ran under

    def _audit(self, actor: str, action: str, obj: str, details: dict[str, Any], **kwargs: Any) -> None:
        """An audit record of this component, naming the configuration's SHA-256 when known."""
        noted = {**details, "config_sha256": self.config_sha256} if self.config_sha256 else details
        self.audit.append(actor, action, obj, noted, **kwargs)

    # identities -----------------------------------------------------------------------
    def _opened_database(self, tx: Transaction) -> Path | None:
        """The SQLite file this store actually has open (None: not SQLite)."""
        if not hasattr(self.store, "path"):
            return None
        rows = tx.all("PRAGMA database_list")
        files = [str(r["file"]) for r in rows if r["name"] == "main" and r["file"]]
        return Path(files[0]) if files else Path("/nonexistent/in-memory")

    def _may_administer(self, tx: Transaction, action: str, username: str, by: str,
                        admin_of: Home | None) -> DumpRefused | None:
        """None when `by` may enrol or revoke `username`: the home's administrator (`admin_of`,
        named by an explicit flag: `Home.admin_refusal` must find nothing), or an approver when
        `username` is not one. Otherwise the refusal, audited at warning."""
        why = ""
        if admin_of is not None:
            why = admin_of.admin_refusal(self._opened_database(tx))
            if not why:
                return None
        elif username in self.config.dumps.approver_set:
            why = f"{username} is in dumps.approvers: only the home's administrator (--as-admin) may"
        elif by in self.config.dumps.approver_set:
            return None
        if not why:
            why = "only a member of dumps.approvers, or the owner of the home with --as-admin, may"
        self._audit(by, f"{action}_refused", username,
                          {"reason": DumpReason.NOT_AN_ADMINISTRATOR.value, "as_admin": admin_of is not None,
                           "why": why}, severity="warning", tx=tx)
        return DumpRefused(DumpReason.NOT_AN_ADMINISTRATOR,
                           f"{by} may not {action.split('.')[1]} {username}: {why}")

    def enroll(self, username: str, by: str, *, admin_of: Home | None = None) -> str:
        """A credential for `username`, who must not be enrolled already (revoke first): the
        token, once. `by` must be an approver, or `admin_of` the home directory its caller owns
        (the administrator bootstraps the first approver). Audited at warning either way."""
        username = _name(username)
        token = PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction() as tx:
            refusal = self._may_administer(tx, "identity.enroll", username, by, admin_of)
            if refusal is None:
                row = tx.one("SELECT revoked, revoked_by FROM user_credentials WHERE username = ?", (username,))
                if row is not None and row["revoked"] is None:
                    self._audit(by, "identity.enroll_refused", username,
                                      {"reason": DumpReason.IDENTITY_EXISTS.value}, severity="warning", tx=tx)
                    refusal = DumpRefused(DumpReason.IDENTITY_EXISTS,
                                          f"{username} is enrolled already: revoke it first (`debug revoke`)")
                else:
                    tx.execute("DELETE FROM user_credentials WHERE username = ? AND revoked IS NOT NULL",
                               (username,))
                    # who made this credential: the enroller, and whoever revoked the one before it
                    makers = [by] + ([str(row["revoked_by"])] if row is not None and row["revoked_by"]
                                     and row["revoked_by"] != by else [])
                    tx.execute("INSERT INTO user_credentials (username, digest, created, enrolled_by) "
                               "VALUES (?, ?, ?, ?)", (username, _digest(token), self.clock.now(), ",".join(makers)))
                    self._audit(by, "identity.enroll", username,
                                      {"as_admin": admin_of is not None, "re_enrolled": row is not None},
                                      severity="warning", tx=tx)
        if refusal is not None:
            raise refusal
        return token

    def revoke(self, username: str, by: str, *, admin_of: Home | None = None) -> None:
        """Revoke `username`'s credential (it stops working at once); the same people as
        `enroll` may, audited at warning."""
        username = _name(username)
        with self.store.transaction() as tx:
            refusal = self._may_administer(tx, "identity.revoke", username, by, admin_of)
            if refusal is None:
                if not tx.execute("UPDATE user_credentials SET revoked = ?, revoked_by = ? "
                                  "WHERE username = ? AND revoked IS NULL", (self.clock.now(), by, username)):
                    refusal = DumpRefused(DumpReason.NO_SUCH_IDENTITY, f"{username} has no live credential")
                else:
                    self._audit(by, "identity.revoke", username, {"as_admin": admin_of is not None},
                                      severity="warning", tx=tx)
        if refusal is not None:
            raise refusal

    def enrolled_at(self, username: str, tx: Transaction) -> float | None:
        """When `username`'s live credential was issued (None: not enrolled)."""
        row = tx.one("SELECT created FROM user_credentials WHERE username = ? AND revoked IS NULL", (username,))
        return None if row is None else float(row["created"])

    def enrolled_by(self, username: str, tx: Transaction) -> frozenset[str]:
        """Who made `username`'s live credential: its enroller and whoever revoked the one before
        it (empty: not enrolled, or enrolled before this was recorded)."""
        row = tx.one("SELECT enrolled_by FROM user_credentials WHERE username = ? AND revoked IS NULL", (username,))
        return frozenset(str(row["enrolled_by"]).split(",")) if row is not None and row["enrolled_by"] else frozenset()

    def identify(self, token: str | None) -> str:
        """Whose credential `token` is (None: the operating-system user)."""
        if token is None:
            return os_user()
        with self.store.snapshot() as tx:
            row = tx.one("SELECT username FROM user_credentials WHERE digest = ? AND revoked IS NULL",
                         (_digest(token),))
        if row is None:
            raise UsageError("the credential is not one this home issued (or it was replaced)")
        return str(row["username"])

    # incidents ------------------------------------------------------------------------
    def link(self, dump_id: str, incident: str, by: str, tx: Transaction | None = None) -> None:
        """Link a dump's crash to an incident (requests must name a linked incident)."""
        if tx is None:
            with self.store.transaction() as own:
                return self.link(dump_id, incident, by, own)
        incident = _text(incident, "the incident")
        if tx.one("SELECT id FROM dumps WHERE id = ?", (dump_id,)) is None:
            raise NotFound(f"no dump {dump_id}")
        if tx.one("SELECT 1 AS x FROM dump_incidents WHERE dump_id = ? AND incident = ?", (dump_id, incident)):
            return None
        tx.execute("INSERT INTO dump_incidents (dump_id, incident, linked_by, time) VALUES (?, ?, ?, ?)",
                   (dump_id, incident, by, self.clock.now()))
        self._audit(by, "dump.link", dump_id, {"incident": incident}, tx=tx)
        return None

    # requests and approvals -----------------------------------------------------------
    def request(self, dump_id: str, requester: str, reason: str, incident: str, ttl: float) -> GrantRequest:
        """Ask for a grant to a released dump; someone else approves it."""
        reason, incident = _text(reason, "the reason"), _text(incident, "the incident")
        limit = self.config.dumps.max_grant_hours * 3600
        if not 0 < ttl <= limit:
            raise UsageError(f"--ttl must be positive and at most {self.config.dumps.max_grant_hours:g} hours")
        now = self.clock.now()
        request_id = secrets.token_hex(8)
        with self.store.transaction() as tx:
            row = tx.one("SELECT state FROM dumps WHERE id = ?", (dump_id,))
            if row is None:
                raise NotFound(f"no dump {dump_id}")
            if row["state"] != DumpState.RELEASED.value:
                raise UsageError(f"dump {dump_id} is {row['state']}: only released dumps can be requested")
            if tx.one("SELECT 1 AS x FROM dump_incidents WHERE dump_id = ? AND incident = ?",
                      (dump_id, incident)) is None:
                self._audit(requester, "debug.request_refused", dump_id,
                                  {"reason": DumpReason.NOT_LINKED.value, "incident": incident},
                                  severity="warning", tx=tx)
                refusal = DumpRefused(DumpReason.NOT_LINKED, f"dump {dump_id} is not linked to incident {incident}")
            else:
                refusal = None
                tx.execute("INSERT INTO grant_requests (id, dump_id, requester, reason, incident, ttl, created, "
                           "expires, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                           (request_id, dump_id, requester, reason, incident, ttl, now, now + REQUEST_LIFETIME))
                self._audit(requester, "debug.request", dump_id,
                                  {"request": request_id, "reason": reason, "incident": incident, "ttl": ttl}, tx=tx)
        if refusal is not None:
            raise refusal
        return GrantRequest(request_id, dump_id, requester, incident, ttl, iso(now + REQUEST_LIFETIME) or "")

    def approve(self, request_id: str, approver: str) -> Grant:
        """A second person approves: the requester gets a grant for the requested time."""
        now = self.clock.now()
        with self.store.transaction() as tx:
            row = tx.one("SELECT * FROM grant_requests WHERE id = ?", (request_id,))
            if row is None:
                raise NotFound(f"no grant request {request_id}")
            reason = (DumpReason.REQUEST_CLOSED if row["state"] != "pending" or row["expires"] <= now
                      else DumpReason.SELF_APPROVAL if row["requester"] == approver
                      else DumpReason.NOT_AN_APPROVER if approver not in self.config.dumps.approver_set
                      else DumpReason.ENROLLED_AFTER_REQUEST if (self.enrolled_at(approver, tx) or 0.0) > row["created"]
                      else DumpReason.ENROLLED_BY_REQUESTER if row["requester"] in self.enrolled_by(approver, tx)
                      else None)
            if reason is not None:
                severity = ("alert" if reason in (DumpReason.SELF_APPROVAL, DumpReason.ENROLLED_AFTER_REQUEST,
                                                  DumpReason.ENROLLED_BY_REQUESTER) else "warning")
                self._audit(approver, "debug.approve_refused", row["dump_id"],
                                  {"request": request_id, "reason": reason.value, "requester": row["requester"]},
                                  severity=severity, tx=tx)
            elif not tx.execute("UPDATE grant_requests SET state = 'approved', approver = ?, decided = ? "
                                "WHERE id = ? AND state = 'pending'", (approver, now, request_id)):
                reason = DumpReason.REQUEST_CLOSED  # a racing approval moved it first: one grant only
            else:
                grant = self._grant(tx, row["dump_id"], row["requester"], float(row["ttl"]), approver,
                                    {"request": request_id, "incident": row["incident"]}, request_id)
        if reason is not None:
            raise DumpRefused(reason, f"{approver} may not approve request {request_id}")
        return grant

    def pending(self) -> list[dict[str, Any]]:
        with self.store.snapshot() as tx:
            rows = tx.all("SELECT id, dump_id, requester, reason, incident, ttl, created FROM grant_requests "
                          "WHERE state = 'pending' AND expires > ? ORDER BY created", (self.clock.now(),))
        return [{"request": r["id"], "dump": r["dump_id"], "requester": r["requester"], "reason": r["reason"],
                 "incident": r["incident"], "ttl": r["ttl"], "requested_at": iso(r["created"])} for r in rows]

    def grant(self, dump_id: str, user: str, ttl: float, granted_by: str) -> Grant:
        """A grant without request or approval: only where `insecure_self_grant` allows it."""
        if not 0 < ttl <= 7 * 86400:
            raise UsageError("--ttl must be positive and at most 7 days")
        with self.store.transaction() as tx:  # the approval rule first, whatever the dump
            if self.config.dumps.grant_approval:
                self._audit(granted_by, "debug.grant_refused", dump_id,
                                  {"user": user, "reason": DumpReason.NEEDS_APPROVAL.value}, severity="warning", tx=tx)
                refused = True
            else:
                refused = False
                row = tx.one("SELECT state FROM dumps WHERE id = ?", (dump_id,))
                if row is None:
                    raise NotFound(f"no dump {dump_id}")
                if row["state"] != DumpState.RELEASED.value:
                    raise UsageError(f"dump {dump_id} is {row['state']}: only released dumps can be granted")
                self._audit(ACTOR, "control.weakened", dump_id, {"setting": "dumps.insecure_self_grant"},
                                  severity="warning", tx=tx)
                grant = self._grant(tx, dump_id, user, ttl, granted_by, {})
        if refused:
            raise DumpRefused(DumpReason.NEEDS_APPROVAL, "grants need a request (`debug request`) and a second "
                                                         "person's approval (`debug approve`)")
        return grant

    def _grant(self, tx: Transaction, dump_id: str, user: str, ttl: float, granted_by: str,
               details: dict[str, Any], request: str | None = None) -> Grant:
        """Record and audit a grant; `request` is the request it approves (None: a direct grant,
        whose `granted_by` is no approver)."""
        grant_id = secrets.token_hex(8)
        now = self.clock.now()
        tx.execute("INSERT INTO dump_grants (id, dump_id, username, granted_by, created, expires) "
                   "VALUES (?, ?, ?, ?, ?, ?)", (grant_id, dump_id, user, granted_by, now, now + ttl))
        self._audit(granted_by, "debug.grant", dump_id, {"user": user, "ttl": ttl, "grant": grant_id, **details},
                          tx=tx)
        return Grant(grant_id, dump_id, user, now + ttl, iso(now + ttl) or "", request,
                     None if request is None else granted_by)


__all__ = ["Access", "Grant", "GrantRequest", "os_user", "read_credential", "valid_identity"]
