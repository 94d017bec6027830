"""`openssl s_server` holding a fresh RSA key that it loaded from a PEM file, for the scanner's real
dumps: the crashed-process fixture (tests/scan/crashes.py) and the dense-image bench
(bench/scan_dense.py) both start it here. Imports neither pytest nor any test module."""

from __future__ import annotations

import datetime
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from signward.lab.crash import free_port


def start_openssl_server(directory: Path, preexec_fn: Callable[[], None] | None = None
                         ) -> tuple[subprocess.Popen[bytes], rsa.RSAPrivateKey]:
    """A fresh RSA key and its self-signed certificate written to `directory` (key.pem, cert.pem),
    `openssl s_server` started there on a free loopback port with them, and key.pem removed once
    the server runs (the only copy left is in the process). Its stdin is a pipe: the server
    lives until it is closed."""
    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    proc = subprocess.Popen(["openssl", "s_server", "-quiet", "-accept", str(free_port()), "-key", "key.pem",
                             "-cert", "cert.pem"], cwd=directory, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=preexec_fn)
    time.sleep(1.0)
    assert proc.poll() is None, "openssl s_server did not start"
    (directory / "key.pem").unlink()  # the only copy left is in the process
    return proc, key
