"""Test helpers that start real parts: the HSM process, the issuer on loopback, crashing processes."""

from __future__ import annotations

import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from signward.cli import main
from signward.home import Home
from signward.lab.crash import ServedIssuer, core_pattern, crash_and_collect_core, free_port  # noqa: F401
from signward.lab.loopback import ThreadedServer  # noqa: F401 (re-exported)


class RanOver(AssertionError):
    """A `deadline` ran out: the code under test was still running."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail the test once `seconds` pass inside the block (SIGALRM in the main thread), instead of
    waiting for slow code to finish and then asserting its time: a quadratic regex over 60,000
    characters takes minutes, and Python's regex engine checks for signals while it matches."""
    assert threading.current_thread() is threading.main_thread(), "deadline needs the main thread"

    def ran_over(signum: int, frame: object) -> None:
        raise RanOver(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, ran_over)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(*args: str) -> int:
    return main(list(args))


class IssuerProcess(ServedIssuer):
    """`signward serve` for a test home: runs in the home, or in `core_dir` with core dumps on."""

    def __init__(self, home: Home, port: int | None = None, core_dir: Path | None = None) -> None:
        super().__init__(home.root, core_dir or home.root, port, cores=core_dir is not None)


def factor_windows(data: bytes, modulus: int, prime_bytes: int) -> list[tuple[int, str]]:
    """Every 8-byte-aligned window of `prime_bytes` that, read big- or little-endian, divides
    the modulus (1 < x < n). RSA primes of an n-bit key have exactly n/2 bits and are odd,
    so only windows with the top bit set and the low bit set are tried."""
    hits: list[tuple[int, str]] = []
    last = len(data) - prime_bytes
    if last < 0:  # no window fits (the slices below would wrap around and differ in length)
        return hits
    view = memoryview(data)
    firsts = data[0:last + 1:8]
    lasts = data[prime_bytes - 1:last + prime_bytes:8]
    for index, (first, final) in enumerate(zip(firsts, lasts, strict=True)):
        offset = index * 8
        if first >= 0x80 and final & 1:
            x = int.from_bytes(view[offset:offset + prime_bytes], "big")
            if 1 < x < modulus and modulus % x == 0:
                hits.append((offset, "big"))
        if final >= 0x80 and first & 1:
            x = int.from_bytes(view[offset:offset + prime_bytes], "little")
            if 1 < x < modulus and modulus % x == 0:
                hits.append((offset, "little"))
    return hits


def fresh_database(conninfo: str) -> str:
    """A new, empty PostgreSQL database on the test server; its conninfo."""
    import uuid

    import psycopg

    name = "t" + uuid.uuid4().hex[:12]
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return conninfo.replace("dbname=postgres", f"dbname={name}")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def dom_of(page: Path, profile: Path) -> str:
    """The page's DOM after headless Chromium rendered it."""
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",  # type: ignore[list-item]
                          page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def screenshot(page: Path, out: Path, width: int, profile: Path, height: int = 2000) -> Path:
    """A PNG of the page as headless Chromium draws it at this window width."""
    done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--hide-scrollbars",  # type: ignore[list-item]
                           f"--window-size={width},{height}", f"--screenshot={out}", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    return out


def visible_text(dom: str) -> str:
    """What a reader sees of a DOM: the text outside tags, scripts and styles, unescaped."""
    import html
    import re

    shown = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", shown))


def nginx_main_conf(tmp: Path, http_body: str) -> Path:
    """An nginx main configuration in `tmp` (foreground, its pid, logs and temp paths there, no
    access log) around `http_body`, the contents of its http block."""
    import os

    (tmp / "nginx-temp").mkdir(exist_ok=True)
    main = tmp / "nginx-main.conf"
    main.write_text(f"""daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-temp/body;
    proxy_temp_path {tmp}/nginx-temp/proxy;
    fastcgi_temp_path {tmp}/nginx-temp/fastcgi;
    uwsgi_temp_path {tmp}/nginx-temp/uwsgi;
    scgi_temp_path {tmp}/nginx-temp/scgi;
{http_body}
}}
""")
    return main


PG_BIN = Path("/usr/lib/postgresql")


@contextmanager
def temporary_postgres() -> Iterator[str]:
    """A real PostgreSQL server in a temporary directory, run as the postgres user because initdb
    refuses root, with fsync on; yields a libpq conninfo (FileNotFoundError without PostgreSQL)."""
    import os
    import tempfile

    versions = sorted(PG_BIN.glob("*/bin/initdb")) if PG_BIN.exists() else []
    if not versions:
        raise FileNotFoundError("PostgreSQL is not installed (scripts/setup.sh installs it)")
    bindir = versions[-1].parent
    root = Path(tempfile.mkdtemp(prefix="signward-pg-", dir="/tmp"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    port = free_port()
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                    f"-k {root} -c listen_addresses='' -p {port} -c fsync=on -c max_connections=200", "start"],
                   check=True, capture_output=True)
    try:
        yield f"host={root} port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
