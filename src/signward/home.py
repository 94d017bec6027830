"""The home directory: where config, database, HSM token, socket and quarantine live.

Every command takes `--home DIR` (default `$SIGNWARD_HOME`, else `./.signward`). The
configuration is TOML (`config.toml`); secrets are separate files with mode 0600, or the
config names an environment variable to read them from.
"""

from __future__ import annotations

import ipaddress
import math
import os
import secrets
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError
from .retention import check_retention
from .safefile import write_file

DEFAULT_HOME = ".signward"
IDENTITY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def valid_identity(value: str) -> bool:
    """The identity-name rule (credentials, dumps.approvers): 1 to 64 ASCII letters, digits,
    '.', '_' or '-' (no look-alike letters)."""
    return 0 < len(value) <= 64 and all(c in IDENTITY_CHARS for c in value)


@dataclass(frozen=True)
class HsmConfig:
    """Which signing backend to use and how to reach it."""

    backend: str = "pkcs11"  # "pkcs11", "transit" (OpenBao/Vault Transit) or "software" (hazmat, lab only)
    module: str = ""  # empty: the embedded SoftHSM2 behind p11-kit; else a vendor PKCS#11 module
    token_label: str = "signward"
    pin_file: str = "hsm/pin"
    pin_env: str = ""  # when set, the PIN is read from this environment variable instead
    sessions: int = 4
    connect_retry_seconds: float = 1.0  # a session that cannot open is retried with backoff this long
    allow_insecure_software_keys: bool = False
    transit_url: str = ""  # backend = "transit": the OpenBao/Vault address, e.g. "https://bao.internal:8200"
    transit_mount: str = "transit"  # the Transit engine's mount path
    transit_token_file: str = "hsm/transit-token"  # 0600, relative to the home
    transit_token_env: str = ""  # when set, the token is read from this environment variable instead
    transit_timeout_seconds: float = 2.0  # every request to Transit; slower is unavailable (503)

    def __post_init__(self) -> None:
        if self.backend not in ("pkcs11", "software", "transit"):
            raise ConfigError(f"hsm.backend must be 'pkcs11', 'transit' or 'software', not {self.backend!r}")
        if self.backend == "transit" and not self.transit_url.startswith(("http://", "https://")):
            raise ConfigError("hsm.transit_url must be an http:// or https:// URL when hsm.backend = 'transit'")
        if self.transit_url.startswith("http://") and not _loopback_url(self.transit_url):
            raise ConfigError("hsm.transit_url must be https:// unless it is on loopback: the Transit token "
                              "and every signature request would cross the network in clear text")
        if not self.transit_mount or not all(c.isalnum() or c in "-_/" for c in self.transit_mount) \
                or ".." in self.transit_mount or self.transit_mount.startswith("/"):
            raise ConfigError(f"hsm.transit_mount must be a mount path (letters, digits, -, _, /), "
                              f"not {self.transit_mount!r}")
        if not 0.1 <= self.transit_timeout_seconds <= 30:
            raise ConfigError("hsm.transit_timeout_seconds must be between 0.1 and 30")
        if not 1 <= self.sessions <= 64:
            raise ConfigError(f"hsm.sessions must be between 1 and 64, not {self.sessions}")
        if not 0 <= self.connect_retry_seconds <= 30:
            raise ConfigError("hsm.connect_retry_seconds must be between 0 and 30")


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

    rotation_interval: float = 60.0  # seconds between rotation checks while serving
    key_cache_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.rotation_interval <= 0:
            raise ConfigError("issuer.rotation_interval must be positive")
        if not 0 <= self.key_cache_seconds <= 60:
            raise ConfigError("issuer.key_cache_seconds must be between 0 and 60")


@dataclass(frozen=True)
class StoreConfig:
    """Where the registry and audit log live: SQLite in the home, or PostgreSQL for several hosts."""

    url: str = ""  # empty: HOME/signward.db; else a libpq URL or conninfo (postgresql://...)
    timeout_seconds: float = 5.0  # the longest a database call waits for a lock or runs (then 503)

    def __post_init__(self) -> None:
        if not 0.1 <= self.timeout_seconds <= 60:
            raise ConfigError("store.timeout_seconds must be between 0.1 and 60")


@dataclass(frozen=True)
class AuditConfig:
    """The audit log: how long records are kept and how often the head is signed."""

    retention_days: float = 730.0  # at least the longest key verify window plus one year (checked)
    checkpoint_every: int = 1000
    origin: str = ""  # the log's name in its signed checkpoints; empty: derived from the audit key
    batch_max: int = 256  # records committed in one transaction at most (group commit)
    batch_wait_ms: float = 0.0  # how long a batch waits for more records; 0: only those already queued

    def __post_init__(self) -> None:
        check_retention(self.retention_days * 86400)
        if not 1 <= self.checkpoint_every <= 1_000_000:
            raise ConfigError("audit.checkpoint_every must be between 1 and 1000000")
        if self.origin and (len(self.origin) > 256 or any(ch.isspace() or ch == "+" or ord(ch) < 32
                                                          for ch in self.origin)):
            raise ConfigError("audit.origin must be at most 256 characters without spaces or '+'")
        if not 1 <= self.batch_max <= 10_000:
            raise ConfigError("audit.batch_max must be between 1 and 10000")
        if not 0 <= self.batch_wait_ms <= 250:
            raise ConfigError("audit.batch_wait_ms must be between 0 and 250")


@dataclass(frozen=True)
class DumpsConfig:
    """The crash-dump pipeline: canaries, detectors, the release gate, the debugging store.

    Every setting that weakens a control says `insecure` in its name; `weakened()` lists
    those in effect, the composition root logs each at every start, and the pipeline
    writes an audit record each time one takes effect."""

    canary: str = "dumps/canary.json"  # canary material (relative to the home); "" for none
    canary_kinds: str = "rsa,ec,ed25519,aes"  # key types init plants; at least rsa and aes
    debug_store: str = "debug-store"  # the debugging store directory (relative to the home or absolute)
    retention_days: float = 30.0
    max_fetches_per_hour: int = 5  # per user; more raises an alert and is refused
    max_dump_bytes: int = 64 << 30  # the largest dump captured or expanded (also never past the free disk)
    insecure_skip_canary_check: bool = False  # sanitize certifies a dump without finding its canaries
    insecure_detectors: str = ""  # redact with only these detectors ("" = the default set)
    insecure_skip_residue_rescan: bool = False  # certify the result without re-scanning it
    insecure_no_release_gate: bool = False  # release whatever is in quarantine, refused dumps included
    insecure_skip_store_rescan: bool = False  # the debugging store takes what it is given unscanned
    approvers: str = ""  # who may approve a grant request (comma-separated identities); "" = nobody
    max_grant_hours: float = 8.0  # the longest approved grant (at most 8)
    insecure_self_grant: bool = False  # `debug grant` without a request and a second person's approval

    def __post_init__(self) -> None:
        if self.retention_days <= 0:
            raise ConfigError("dumps.retention_days must be positive")
        if not 0 < self.max_grant_hours <= 8:
            raise ConfigError("dumps.max_grant_hours must be more than 0 and at most 8")
        if self.max_fetches_per_hour < 1:
            raise ConfigError("dumps.max_fetches_per_hour must be at least 1")
        if not 1 << 20 <= self.max_dump_bytes <= 1 << 50:
            raise ConfigError("dumps.max_dump_bytes must be between 1 MiB and 1 PiB")

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
RENAMED = {("dumps", "canary_check"): "insecure_skip_canary_check (inverted)",
           ("dumps", "release_gate"): "insecure_no_release_gate (inverted)",
           ("dumps", "store_rescan"): "insecure_skip_store_rescan (inverted)",
           ("dumps", "detectors"): "insecure_detectors",
           ("dumps", "store"): "debug_store"}


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
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        known: dict[str, Any] = {"hsm": HsmConfig, "issuer": IssuerConfig, "audit": AuditConfig,
                                 "store": StoreConfig, "dumps": DumpsConfig}
        unknown = set(data) - set(known)
        if unknown:
            raise ConfigError(f"unknown config section(s): {', '.join(sorted(unknown))}")
        parts: dict[str, Any] = {}
        for name, kind in known.items():
            section = data.get(name, {})
            if not isinstance(section, dict):
                raise ConfigError(f"[{name}] must be a table")
            allowed = set(kind.__dataclass_fields__)
            renamed = sorted(f"{name}.{key} is now {name}.{RENAMED[(name, key)]}" for key in section
                             if (name, key) in RENAMED)
            if renamed:
                raise ConfigError("renamed setting(s): " + "; ".join(renamed))
            bad = set(section) - allowed
            if bad:
                raise ConfigError(f"unknown setting(s) in [{name}]: {', '.join(sorted(bad))}")
            for key, value in section.items():
                expected = type(getattr(kind(), key))
                if expected is float and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                    section = {**section, key: value}
                if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                    raise ConfigError(f"{name}.{key} must be {expected.__name__}, not {type(value).__name__}")
                if isinstance(value, float) and not math.isfinite(value):
                    raise ConfigError(f"{name}.{key} must be a finite number, not {value}")
            parts[name] = kind(**section)
        return cls(**parts)


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
            data = tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{self.config_path}: not UTF-8 text") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{self.config_path}: {exc}") from exc
        return Config.from_dict(data)

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
