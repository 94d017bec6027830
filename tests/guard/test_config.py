"""GUARD.toml: what loads, and every refusal naming the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from signward.errors import ConfigError
from signward.guard import GuardConfig

GOOD = """
clock_skew = "30s"
honey_kids = ["k1"]

[[issuer]]
issuer = "https://id.example.com/realms/enterprise"
jwks = "https://id.example.com/realms/enterprise/jwks"

[[issuer]]
issuer = "https://id.example.com/realms/consumer"
jwks = "/etc/signward/consumer.json"

[[route]]
host = "Mail.Example.com"
prefix = "/api/mail"
audience = "mail"
scopes = ["mail.read"]
issuers = ["https://id.example.com/realms/enterprise"]

[[route]]
prefix = "/api"
audience = "api"

[[route]]
prefix = "/healthz"
anonymous = true
"""


def load(tmp_path: Path, text: str) -> GuardConfig:
    path = tmp_path / "guard.toml"
    path.write_text(text)
    return GuardConfig.load(path)


def test_a_good_config_and_route_choice(tmp_path: Path) -> None:
    config = load(tmp_path, GOOD)
    assert config.clock_skew == 30 and config.honey_kids == ("k1",) and len(config.issuers) == 2
    assert config.issuers[0].remote and not config.issuers[1].remote
    assert config.route_for("mail.example.com", "/api/mail/inbox").audience == "mail"  # type: ignore[union-attr]
    assert config.route_for("other.example.com", "/api/mail/inbox").audience == "api"  # type: ignore[union-attr]
    assert config.route_for("mail.example.com", "/api/mailbox").audience == "api"  # type: ignore[union-attr]
    assert config.route_for("mail.example.com", "/apis") is None
    assert config.route_for("x", "/healthz").anonymous  # type: ignore[union-attr]


@pytest.mark.parametrize("change, at, words", [
    (('audience = "api"', 'audience = ""'), 'audience = ""', "route[1].audience"),
    (('prefix = "/api"\n', 'prefix = "/api/../admin"\n'), "/api/../admin", "route[1].prefix"),
    (('scopes = ["mail.read"]', 'scopes = ["mail read"]'), "mail read", "route[0].scopes"),
    (('issuers = ["https://id.example.com/realms/enterprise"]', 'issuers = ["https://evil.example.com"]'),
     "evil", "not a trusted"),
    (('clock_skew = "30s"', 'clock_skew = "2h"'), "2h", "clock_skew"),
    (('clock_skew = "30s"', 'clock_sku = "30s"'), "clock_sku", "clock_sku: unknown key"),
    (('anonymous = true', 'anonymous = true\naudience = "x"'), "anonymous = true", "anonymous route"),
    (('jwks = "https://id.example.com/realms/enterprise/jwks"', 'jwks = "https://"'), 'jwks = "https://"',
     "issuer[0].jwks"),
    (('host = "Mail.Example.com"', 'host = "mail.example.com:8443"'), "8443", "route[0].host"),
    (('[[route]]\nprefix = "/healthz"', '[[route]\nprefix = "/healthz"'), "[[route]\nprefix", "line"),
])
def test_bad_configs_name_the_line(tmp_path: Path, change: tuple[str, str], at: str, words: str) -> None:
    assert change[0] in GOOD
    text = GOOD.replace(change[0], change[1], 1)
    line = text[:text.index(at)].count("\n") + 1  # where the problem is
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    message = str(raised.value)
    assert words in message, message
    assert f"guard.toml:{line}:" in message or f"line {line}," in message, (line, message)


def test_no_route_or_no_issuer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="route"):
        load(tmp_path, GOOD.split("[[route]]")[0])
    with pytest.raises(ConfigError, match="issuer"):
        load(tmp_path, "[[route]]\nprefix = \"/\"\naudience = \"a\"\n")


def test_cli_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "guard.toml"
    path.write_text(GOOD.replace('audience = "api"', 'audience = 7'))
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(tmp_path / "none"), "guard",
                           "--config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    line = path.read_text().splitlines().index("audience = 7") + 1
    assert len(lines) == 1 and f"{path}:{line}: route[1].audience" in lines[0], done.stderr


def test_cli_port_in_use_exits_2(tmp_path: Path) -> None:  # #34: the operator's input, not the environment
    import socket

    path = tmp_path / "guard.toml"
    path.write_text(GOOD.replace('jwks = "/etc/signward/consumer.json"', f'jwks = "{tmp_path}/none.json"'))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "signward", "--home", str(tmp_path / "none"), "guard",
                               "--config", str(path), "--port", "0", "--grpc-port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"signward: cannot listen for gRPC on 127.0.0.1:{port}: "
                                                "Address already in use"], done.stderr
