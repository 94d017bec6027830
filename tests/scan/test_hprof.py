"""Java heap dumps: a real JVM (Debian's OpenJDK) holding an RSA key, dumped with
`jcmd PID GC.heap_dump`: the key found with --keys and without, gone after sanitize, the
file still a whole HPROF with its structure untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from signward.dumps import KnownKeys, scan_path
from signward.errors import DumpFormatError
from signward.scan.formats import read_layout
from signward.scan.hprof import hprof_contents
from tests.conftest import Served
from tests.scan.jvm import heap_dump

HOLDER = Path(__file__).resolve().parents[1] / "programs" / "KeyHolder.java"


@pytest.fixture(scope="module")
def heap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    tmp = tmp_path_factory.mktemp("jvm")
    jwks = tmp / "jvm.jwks"
    dump = heap_dump(HOLDER, tmp, str(jwks))
    yield dump, jwks


def test_the_heap_dump_parses_whole(heap: tuple[Path, Path]) -> None:
    dump, _ = heap
    layout = read_layout(dump)
    assert layout.format == "hprof"
    kinds = {r.kind for r in layout.regions}
    assert {"int[]", "byte[]", "utf8"} <= kinds
    covered = sum(r.size for r in layout.regions) + sum(b - a for a, b in layout.protected)
    assert covered == layout.size  # every byte is either array contents or structure
    truncated = dump.with_name("truncated.hprof")
    truncated.write_bytes(dump.read_bytes()[:layout.size // 2])
    with pytest.raises(DumpFormatError):
        hprof_contents(truncated)


def test_the_key_is_found_with_and_without_keys(heap: tuple[Path, Path]) -> None:
    dump, jwks = heap
    known = KnownKeys()
    known.load(jwks.read_bytes(), str(jwks))
    with_keys = scan_path(dump, None, known)
    verified = {f.kind for f in with_keys.findings if f.verified and f.kid == "jvm-key"}
    assert "rsa-prime" in verified and "rsa-private-exponent" in verified
    without = scan_path(dump)
    found = {(f.detector, f.kind) for f in without.findings}
    assert any(kind.startswith(("rsa-", "pkcs8", "pkcs1")) for _, kind in found), found


def test_sanitize_leaves_a_valid_heap_dump_without_the_key(heap: tuple[Path, Path], served: Served,
                                                            tmp_path: Path) -> None:
    dump, jwks = heap
    out = tmp_path / "clean.hprof"
    done = subprocess.run([sys.executable, "-m", "signward", "--home", str(served.home.root), "dumps", "sanitize",
                           str(dump), "-o", str(out), "--keys", str(jwks), "--json"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["status"] == "clean"
    before, after = read_layout(dump), read_layout(out)  # still parses whole
    assert [(r.offset, r.size, r.kind) for r in after.regions] == [(r.offset, r.size, r.kind) for r in before.regions]
    raw_in, raw_out = dump.read_bytes(), out.read_bytes()
    assert all(raw_in[a:b] == raw_out[a:b] for a, b in before.protected), "structure was overwritten"
    known = KnownKeys()
    known.load(jwks.read_bytes(), str(jwks))
    assert [f for f in scan_path(out, None, known).findings if not f.advisory] == []
