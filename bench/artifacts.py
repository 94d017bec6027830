"""Artifact benchmark (issue 19): MB/s of `dumps scan` per artifact format against a peer in the
same run. HAR: signward (positions, every pattern, token verification, plus the byte detectors
over the file) against the floor of a plain `json.load` and one regex pass over every string (what
Cloudflare's and Google's HAR sanitizers do, by name, in JavaScript); HPROF (a real OpenJDK heap
dump, when java and jcmd are installed): the parsed scan against the same bytes scanned as a raw
image; a tar.gz bundle against gzip reading it.

Run: .venv/bin/python bench/artifacts.py [--har-mib 64]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from signward.dumps import KnownKeys, scan_path  # noqa: E402
from signward.scan.detectors import select  # noqa: E402
from signward.scan.formats import Layout, Region  # noqa: E402
from signward.scan.scanner import scan_plain  # noqa: E402

TOKEN = re.compile(r"(?i)eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{16,}|bearer|cookie|secret|token")


def make_har(path: Path, mib: int) -> None:
    """A HAR like a recorded session: headers, cookies, JWTs, JSON and base64 bodies."""
    rng = os.urandom
    entries, size, i = [], 0, 0
    while size < mib << 20:
        token = "eyJhbGciOiJFUzI1NiJ9." + base64.urlsafe_b64encode(json.dumps({"sub": f"u{i}"}).encode()).decode() \
            + "." + base64.urlsafe_b64encode(rng(64)).decode().rstrip("=")
        body = base64.b64encode(rng(2048)).decode()
        entry = {"startedDateTime": "2026-12-02T10:00:00Z", "time": 12,
                 "request": {"method": "GET", "url": f"https://app.example/api/{i}?q=x&page={i}",
                             "headers": [{"name": "Authorization", "value": f"Bearer {token}"},
                                         {"name": "Accept", "value": "application/json"},
                                         {"name": "Cookie", "value": f"sid={rng(12).hex()}; theme=dark"}],
                             "cookies": [{"name": "sid", "value": rng(12).hex()}], "queryString": []},
                 "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"}],
                              "content": {"mimeType": "application/json", "text": json.dumps({"data": body})}}}
        entries.append(entry)
        size += len(json.dumps(entry))
        i += 1
    path.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "bench", "version": "1"},
                                        "entries": entries}}))


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def floor_har(path: Path) -> None:
    document = json.loads(path.read_bytes())

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            TOKEN.findall(node)

    walk(document)


def heap_dump(directory: Path) -> Path | None:
    java, jcmd = shutil.which("java"), shutil.which("jcmd")
    if java is None or jcmd is None:
        return None
    holder = ROOT / "tests" / "programs" / "KeyHolder.java"
    dump = directory / "heap.hprof"
    proc = subprocess.Popen([java, "-Xmx256m", str(holder), str(directory / "jvm.jwks")], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        subprocess.run([jcmd, str(proc.pid), "GC.heap_dump", str(dump)], check=True, capture_output=True)
    finally:
        proc.kill()
        proc.wait()
    return dump


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--har-mib", type=int, default=64)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="signward-bench-artifacts-"))
    out: dict[str, object] = {}
    try:
        har = tmp / "session.har"
        make_har(har, args.har_mib)
        mb = har.stat().st_size / 1e6
        ours, floor = timed(lambda: scan_path(har, None, KnownKeys())), timed(lambda: floor_har(har))
        out["har"] = {"mb": round(mb, 1), "signward_mb_s": round(mb / ours, 1),
                      "json_load_regex_floor_mb_s": round(mb / floor, 1), "ratio": round(floor / ours, 3)}
        dump = heap_dump(tmp)
        if dump is not None:
            mb = dump.stat().st_size / 1e6
            size = dump.stat().st_size
            raw = Layout(format="raw", size=size, regions=[Region(0, size, None)])
            parsed = timed(lambda: scan_path(dump, None, KnownKeys()))
            as_raw = timed(lambda: scan_plain(dump, raw, select(None), KnownKeys()))
            out["hprof"] = {"mb": round(mb, 1), "signward_mb_s": round(mb / parsed, 1),
                            "same_bytes_as_raw_mb_s": round(mb / as_raw, 1), "ratio": round(as_raw / parsed, 3)}
        bundle = tmp / "support.tar.gz"
        with tarfile.open(bundle, "w:gz") as archive:
            archive.add(har, arcname="browser/session.har")
        mb = bundle.stat().st_size / 1e6

        def gunzip() -> None:
            with gzip.open(bundle) as stream:
                while stream.read(8 << 20):
                    pass

        scanned, unpacked = timed(lambda: scan_path(bundle, None, KnownKeys(), workdir=str(tmp))), timed(gunzip)
        out["tar_gz_bundle"] = {"mb_compressed": round(mb, 1), "signward_mb_s": round(mb / scanned, 1),
                                "gunzip_only_mb_s": round(mb / unpacked, 1), "ratio": round(unpacked / scanned, 3)}
        print(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
