"""The home directory: where config, database, HSM token, socket and quarantine live.

Every command takes `--home DIR` (default `$SIGNWARD_HOME`, else `./.signward`). The
configuration is TOML (`config.toml`); secrets are separate files with mode 0600, or the
config names an environment variable to read them from.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .config_schema import Rule, SchemaError, build, check_fields, load, setting
from .config_values import MAX_DAYS, MAX_DURATION, http_url
from .errors import ConfigError
from .retention import check_retention
from .safefile import write_file

DEFAULT_HOME = ".signward"
MAX_CONFIG_BYTES = 1 << 20  # a config.toml is a few KiB
IDENTITY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def valid_identity(value: str) -> bool:
    """The identity-name rule (credentials, dumps.approvers): 1 to 64 ASCII letters, digits,
    '.', '_' or '-' (no look-alike letters)."""
    return 0 < len(value) <= 64 and all(c in IDENTITY_CHARS for c in value)


@dataclass(frozen=True)
class HsmConfig:
    """Which signing backend to use and how to reach it."""

    backend: str = setting("pkcs11", "\"pkcs11\", \"transit\" (OpenBao/Vault Transit) or \"software\" (lab only)",
                           choices=("pkcs11", "software", "transit"))
    module: str = setting("", "empty: the embedded SoftHSM2 behind p11-kit; else a vendor PKCS#11 module path")
    token_label: str = setting("signward", "the PKCS#11 token's label")
    pin_file: str = setting("hsm/pin", "the PIN file (0600, relative to the home)")
    pin_env: str = setting("", "when set, the PIN is read from this environment variable instead")
    sessions: int = setting(4, "signing session pool size", min=1, max=64)
    connect_retry_seconds: float = setting(1.0, "a session that cannot open is retried with backoff this long",
                                           min=0, max=30)
    allow_insecure_software_keys: bool = setting(False, "allow signing keys in process memory (lab only)")
    transit_url: str = setting("", "backend = \"transit\": the OpenBao/Vault address, e.g. "
                                   "\"https://bao.internal:8200\" (http:// only on loopback; checked at load: "
                                   "a host, no user, query or fragment)", max_len=2048)
    transit_mount: str = setting("transit", "the Transit engine's mount path")
    transit_token_file: str = setting("hsm/transit-token", "the Transit token file (0600, relative to the home)")
    transit_token_env: str = setting("", "when set, the Transit token is read from this environment variable instead")
    transit_timeout_seconds: float = setting(2.0, "every request to Transit; slower is unavailable (503)",
                                             min=0.1, max=30)

    def __post_init__(self) -> None:
        check_fields(self, ("hsm",))
        if self.backend == "transit" and not self.transit_url.startswith(("http://", "https://")):
            raise ConfigError("hsm.transit_url must be an http:// or https:// URL when hsm.backend = 'transit'")
        if self.transit_url:  # checked whenever set, as every URL setting: a bad one fails at load, not first use
            try:
                http_url(self.transit_url, "hsm.transit_url")
            except ConfigError as exc:
                raise SchemaError(Rule.INVALID, ("hsm", "transit_url"),
                                  str(exc).removeprefix("hsm.transit_url: ")) from None
        if self.transit_url.startswith("http://") and not _loopback_url(self.transit_url):
            raise ConfigError("hsm.transit_url must be https:// unless it is on loopback: the Transit token "
                              "and every signature request would cross the network in clear text")
        if not self.transit_mount or not all(c.isalnum() or c in "-_/" for c in self.transit_mount) \
                or ".." in self.transit_mount or self.transit_mount.startswith("/"):
            raise ConfigError(f"hsm.transit_mount must be a mount path (letters, digits, -, _, /), "
                              f"not {self.transit_mount!r}")


def _loopback_url(url: str) -> bool:
    """Whether an http:// URL names a loopback host (127.0.0.0/8, ::1, localhost)."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class IssuerConfig:
    """The token service."""

    rotation_interval: float = setting(60.0, "seconds between rotation checks while serving", above=0,
                                       max=MAX_DURATION)
    key_cache_seconds: float = setting(5.0, "how long the signing key choice is cached", min=0, max=60)

    def __post_init__(self) -> None:
        check_fields(self, ("issuer",))


@dataclass(frozen=True)
class StoreConfig:
    """Where the registry and audit log live: SQLite in the home, or PostgreSQL for several hosts."""

    url: str = setting("", "empty: HOME/signward.db (SQLite); else a PostgreSQL URL or conninfo (postgresql://...)")
    timeout_seconds: float = setting(5.0, "every database call: SQLite busy timeout; PostgreSQL statement, lock "
                                          "and connect timeouts; a hung store is 503", min=0.1, max=60)

    def __post_init__(self) -> None:
        check_fields(self, ("store",))


@dataclass(frozen=True)
class AuditConfig:
    """The audit log: how long records are kept and how often the head is signed."""

    retention_days: float = setting(730.0, "days records are kept: at least 365 plus the longest key verify window "
                                            "of the home's realms (checked)", max=MAX_DAYS)
    checkpoint_every: int = setting(1000, "records between signed checkpoints", min=1, max=1_000_000)
    origin: str = setting("", "the log's name in its signed checkpoints; empty: signward.local/audit/<key id>",
                          max_len=256)
    batch_max: int = setting(256, "records committed in one transaction at most (group commit)", min=1, max=10_000)
    batch_wait_ms: float = setting(0.0, "how long a batch waits for more records; 0: only those already queued",
                                   min=0, max=250)

    def __post_init__(self) -> None:
        check_fields(self, ("audit",))
        check_retention(self.retention_days * 86400)
        if self.origin and any(ch.isspace() or ch == "+" or ord(ch) < 32 for ch in self.origin):
            raise ConfigError("audit.origin must be at most 256 characters without spaces or '+'")


@dataclass(frozen=True)
class DumpsConfig:
    """The crash-dump pipeline: canaries, detectors, the release gate, the debugging store.

    Every setting that weakens a control says `insecure` in its name; `weakened()` lists
    those in effect, the composition root logs each at every start, and the pipeline
    writes an audit record each time one takes effect."""

    # settings renamed so that switching a control off says so; an old name is refused with the new one
    RENAMED_KEYS: ClassVar[dict[str, str]] = {"canary_check": "insecure_skip_canary_check (inverted)",
                                              "release_gate": "insecure_no_release_gate (inverted)",
                                              "store_rescan": "insecure_skip_store_rescan (inverted)",
                                              "detectors": "insecure_detectors", "store": "debug_store"}

    canary: str = setting("dumps/canary.json", "canary material the issuer holds (relative to the home); "
                                               "\"\" (or a missing file) weakens the canary check")
    canary_kinds: str = setting("rsa,ec,ed25519,aes", "the key types init plants; at least rsa and aes")
    debug_store: str = setting("debug-store", "the debugging store directory (relative to the home or absolute)")
    retention_days: float = setting(30.0, "days a released dump stays in the debugging store", above=0,
                                    max=MAX_DAYS)
    max_fetches_per_hour: int = setting(5, "per user; more raises an alert and is refused", min=1)
    max_dump_bytes: int = setting(64 << 30, "the largest dump captured or expanded (also never past the free disk)",
                                  min=1 << 20, max=1 << 50)
    insecure_skip_canary_check: bool = setting(False, "sanitize certifies a dump without finding its canaries")
    insecure_detectors: str = setting("", "redact with only these detectors (\"\" = every default one)")
    insecure_skip_residue_rescan: bool = setting(False, "certify the result without re-scanning it or the "
                                                        "independent reader")
    insecure_no_release_gate: bool = setting(False, "release whatever is in quarantine, refused dumps included")
    insecure_skip_store_rescan: bool = setting(False, "the debugging store takes what it is given unscanned")
    approvers: str = setting("", "who may approve a grant request (comma-separated identities); \"\" = nobody "
                                 "(a weakening: config check exits 1)")
    max_grant_hours: float = setting(8.0, "the longest approved grant", above=0, max=8)
    insecure_self_grant: bool = setting(False, "`debug grant` without a request and a second person's approval")

    def __post_init__(self) -> None:
        check_fields(self, ("dumps",))

    @property
    def canary_check(self) -> bool:
        return not self.insecure_skip_canary_check

    @property
    def release_gate(self) -> bool:
        return not self.insecure_no_release_gate

    @property
    def store_rescan(self) -> bool:
        return not self.insecure_skip_store_rescan

    @property
    def grant_approval(self) -> bool:
        return not self.insecure_self_grant

    @property
    def approver_set(self) -> frozenset[str]:
        return frozenset(name.strip() for name in self.approvers.split(",") if name.strip())

    @property
    def detectors(self) -> str | None:
        """The sender's detector selection (None: the default set)."""
        return self.insecure_detectors or None


# settings renamed so that switching a control off says so; an old name is refused with the new one
RENAMED = {("dumps", old): new for old, new in DumpsConfig.RENAMED_KEYS.items()}


@dataclass(frozen=True)
class Weakened:
    """One control a configuration switches off or weakens."""

    setting: str
    control: str
    effect: str

    def to_dict(self) -> dict[str, str]:
        return {"setting": self.setting, "control": self.control, "effect": self.effect}


@dataclass(frozen=True)
class Config:
    hsm: HsmConfig = field(default_factory=HsmConfig)
    issuer: IssuerConfig = field(default_factory=IssuerConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    dumps: DumpsConfig = field(default_factory=DumpsConfig)

    def weakened(self) -> list[Weakened]:
        """Every control this configuration alone switches off or weakens (empty: none); the
        rows come from `signward.controls_config.REGISTER` (with the home: `config check`)."""
        from .controls_config import weakened

        return weakened(self)

    def to_dict(self) -> dict[str, Any]:
        return {"hsm": dict(vars(self.hsm)), "issuer": dict(vars(self.issuer)), "audit": dict(vars(self.audit)),
                "store": dict(vars(self.store)), "dumps": dict(vars(self.dumps))}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        """The configuration from a parsed TOML document (the schema's checks; no line numbers)."""
        return build(cls, data)


class Home:
    """Paths inside one signward home."""

    def __init__(self, root: str | os.PathLike[str] | None = None,
                 config_file: str | os.PathLike[str] | None = None) -> None:
        chosen = root if root is not None else os.environ.get("SIGNWARD_HOME") or DEFAULT_HOME
        self.root = Path(chosen).absolute()
        self._config_file = Path(config_file).absolute() if config_file else None

    @property
    def config_path(self) -> Path:
        """HOME/config.toml, or the file given with `--config` (one home, several configurations)."""
        return self._config_file or self.root / "config.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "signward.db"

    @property
    def hsm_dir(self) -> Path:
        return self.root / "hsm"

    @property
    def socket_path(self) -> Path:
        return self.hsm_dir / "p11-kit.sock"

    @property
    def software_keys_dir(self) -> Path:
        return self.root / "insecure-software-keys"

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    def exists(self) -> bool:
        return self.config_path.is_file()

    def init(self, config: Config | None = None) -> Config:
        """Create the home's directories and config (idempotent); `signward.services.init_home` adds the rest."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for sub in (self.hsm_dir, self.quarantine_dir):
            sub.mkdir(exist_ok=True)
            os.chmod(sub, 0o700)
        if not self.config_path.exists():
            self.save_config(config or Config())
        return self.load_config()

    # the home's own entries: a symlink to elsewhere or an entry someone else owns is not the home's
    PARTS = ("config.toml", "signward.db", "signward.db-wal", "signward.db-shm", "hsm", "quarantine", "dumps",
             "audit")

    def admin_refusal(self, database: Path | None) -> str:
        """Why the caller is not this home's administrator ("": it is). The administrator owns
        the real home directory (realpath: not a directory the caller named that links to it),
        every part of it (none a symlink), and the database file actually opened (`database`,
        None for PostgreSQL); its configuration is the home's own (`foreign_config`)."""
        me = os.geteuid()
        try:
            real = self.root.resolve(strict=True)
            if os.stat(real).st_uid != me:
                return f"you do not own the home directory {real}"
            for name in self.PARTS:
                try:
                    info = os.lstat(real / name)
                except FileNotFoundError:
                    continue
                if stat.S_ISLNK(info.st_mode):
                    return f"{real / name} is a symlink: the home's parts must be its own"
                if info.st_uid != me:
                    return f"{real / name} is owned by uid {info.st_uid}, not you"
            if database is not None:
                descriptor = os.open(database, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                try:
                    opened = os.fstat(descriptor)
                finally:
                    os.close(descriptor)
                if opened.st_uid != me:
                    return f"the database actually opened, {database}, is not yours"
                if (opened.st_dev, opened.st_ino) != (os.stat(real / "signward.db").st_dev,
                                                      os.stat(real / "signward.db").st_ino):
                    return f"the database actually opened, {database}, is not the home's own"
        except OSError as exc:  # fail closed: what cannot be checked is not the administrator's
            return f"the home cannot be checked: {exc.strerror or exc}"
        return self.foreign_config()

    def foreign_config(self) -> str:
        """Why the configuration in use is not the home's own ("": it is): it must be a regular
        file inside the real home (config.toml, or one the home's owner keeps inside it, as the
        lab does), reached through no symlink, owned by the home's owner and writable by nobody
        else, as every directory between it and the home."""
        try:
            real = self.root.resolve(strict=True)
            owner = os.stat(real).st_uid
            given = self.config_path
            if os.path.realpath(given) != str(given):
                return f"the configuration {given} is reached through a symlink"
            try:
                inside = given.relative_to(real)
            except ValueError:
                return f"the configuration {given} is not inside the home {real}"
            where = real
            for part in inside.parts:
                where = where / part
                info = os.lstat(where)
                if info.st_uid != owner or info.st_mode & 0o022:
                    return f"{where} is not the home owner's alone (owner uid {info.st_uid}, mode " \
                           f"{info.st_mode & 0o777:o})"
            if not stat.S_ISREG(info.st_mode):
                return f"the configuration {given} is not a regular file"
        except OSError as exc:
            return f"the configuration cannot be checked: {exc.strerror or exc}"
        return ""

    def resolve(self, path: str) -> Path:
        """A configured path: absolute as given, else relative to the home."""
        return Path(path) if os.path.isabs(path) else self.root / path

    def canary_path(self, config: Config) -> Path | None:
        return self.resolve(config.dumps.canary) if config.dumps.canary else None

    def debug_store_dir(self, config: Config) -> Path:
        return self.resolve(config.dumps.debug_store)

    def load_config(self) -> Config:
        if not self.config_path.is_file():
            if self._config_file is not None:
                raise ConfigError(f"no config file {self.config_path}")
            if (self.root / "hsm").is_dir():  # made with `init --config FILE`: the config lives elsewhere
                raise ConfigError(f"no config.toml in the home {self.root}: it was made with --config FILE; give the "
                                  f"same --config (or SIGNWARD_CONFIG) to every command")
            raise ConfigError(f"no signward home at {self.root} (run 'signward --home {self.root} init')")
        try:
            with open(self.config_path, "rb") as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{self.config_path}: not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"{self.config_path}: {exc.strerror or exc}") from None
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{self.config_path}: larger than {MAX_CONFIG_BYTES >> 10} KiB")
        return load(Config, text, str(self.config_path))

    def save_config(self, config: Config) -> None:
        """Through the safe writer: a new name of its own, renamed over the home's config (never
        through a link planted at a fixed temporary name)."""
        import tomli_w  # the CLI's extra: the bare package reads homes, never writes one

        write_file(self.config_path, tomli_w.dumps(config.to_dict()), force=True, mode=0o600, what="config")

    def secret(self, relpath: str, env: str = "", create_bytes: int = 0) -> str:
        """Read a secret from `env` if named, else from a 0600 file (created if asked)."""
        if env:
            value = os.environ.get(env)
            if not value:
                raise ConfigError(f"environment variable {env} (named in the config) is not set")
            return value
        path = self.root / relpath
        if not os.path.lexists(path):
            if not create_bytes:
                raise ConfigError(f"secret file {path} is missing")
            write_secret(path, secrets.token_hex(create_bytes))
        try:  # never through a symlink, never a FIFO or a device
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError as exc:
            raise ConfigError(f"secret file {path}: {exc.strerror or exc} (a symlink is refused)") from None
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"secret file {path} is not a regular file")
            mode = info.st_mode & 0o777
            if mode & 0o077:
                raise ConfigError(f"secret file {path} has mode {mode:o}; it must be 0600")
            if info.st_uid != os.geteuid():  # as ssh's StrictModes: another account's file is not ours
                raise ConfigError(f"secret file {path} is owned by uid {info.st_uid}, not by this process's "
                                  f"uid {os.geteuid()}")
            folder = os.stat(path.parent)
            if folder.st_mode & 0o022 or folder.st_uid not in (0, os.geteuid()):
                raise ConfigError(f"secret file {path}: its directory can be written by another account "
                                  f"(mode {folder.st_mode & 0o777:o}, uid {folder.st_uid}); the file could be "
                                  "replaced")
            return handle.read(1 << 16).decode("utf-8", "replace").strip()


def write_secret(path: Path, value: str) -> None:
    """Write a new secret file readable by its owner only, never briefly readable by others,
    never through a symlink (a dangling one included) nor over an existing file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ConfigError(f"secret file {path}: {exc.strerror or exc}; a secret is written only as a new file") \
            from None
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, value.encode())
    finally:
        os.close(fd)
