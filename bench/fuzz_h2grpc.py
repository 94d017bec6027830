"""The guard's nghttp2 session (`guard/_h2grpc.c`) under AddressSanitizer, fed generated HTTP/2
conversations: well-formed gRPC calls, half-open streams, resets, random frames, random bytes
and flipped bytes, in random pieces, answered in random order (some never answered, some as
trailers-only or HTTP 415), then terminated or dropped. A memory error aborts with ASan's report;
a session that raises anything but ValueError fails. Then a leak check: 60,000 sessions with
answered and unanswered streams on the normal build, whose peak memory must not grow.

Run: .venv/bin/python bench/fuzz_h2grpc.py [--seeds 3] [--sessions 20000]
(CI runs the random-bytes property test in tests/guard/test_grpc_h2.py, without ASan.)
"""

from __future__ import annotations

import argparse
import glob
import importlib.util
import os
import random
import resource
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.guard.h2wire import CHECK_HEADERS as HEADERS  # noqa: E402
from tests.guard.h2wire import PREFACE, frame

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "signward" / "guard" / "_h2grpc.c"


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("_h2grpc", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def conversation(rnd: random.Random) -> bytes:
    data = PREFACE + frame(4, 0, 0, b"")
    stream = 1
    for _ in range(rnd.randint(0, 6)):
        pick = rnd.random()
        if pick < 0.4:  # a whole call
            body = b"\x00" + rnd.randint(0, 40).to_bytes(4, "big") + rnd.randbytes(rnd.randint(0, 40))
            data += frame(1, 4, stream, HEADERS) + frame(0, 1, stream, body)
            stream += 2
        elif pick < 0.6:  # headers only, end of stream
            data += frame(1, 5, stream, HEADERS)
            stream += 2
        elif pick < 0.7:  # RST_STREAM
            data += frame(3, 0, rnd.choice([1, 3, stream]), b"\x00\x00\x00\x08")
        elif pick < 0.8:  # any frame
            data += frame(rnd.randint(0, 10), rnd.randint(0, 255), rnd.randint(0, 9),
                          rnd.randbytes(rnd.randint(0, 30)))
        else:
            data += rnd.randbytes(rnd.randint(0, 50))
    if rnd.random() < 0.3:
        flipped = bytearray(data)
        for _ in range(3):
            flipped[rnd.randrange(len(flipped))] = rnd.randrange(256)
        data = bytes(flipped)
    return data


def fuzz(module: ModuleType, seed: int, sessions: int) -> int:
    rnd = random.Random(seed)
    calls = 0
    for _ in range(sessions):
        max_body = rnd.choice([5, 64, 1024])
        session = module.Session(max_body=max_body, max_headers=rnd.choice([64, 200, 4096]),
                                 max_streams=rnd.choice([1, 4, 100]), max_buffered=max_body * rnd.choice([1, 3]))
        data, step, pending = conversation(rnd), rnd.randint(1, 64), []
        try:
            for at in range(0, len(data), step):
                for stream_id, _path, _grpc, _body in session.feed(data[at:at + step]):
                    calls += 1
                    pending.append(stream_id)
                if pending and rnd.random() < 0.7:
                    session.respond(pending.pop(0), rnd.choice([0, 3, 16]),
                                    rnd.choice([None, b"", rnd.randbytes(rnd.randint(0, 3000))]),
                                    rnd.choice(["", "denied"]), rnd.choice([200, 200, 415]))
                session.output()
            for stream_id in pending[: len(pending) // 2]:  # the rest are never answered
                session.respond(stream_id, 0, b"x" * 100)
            session.output()
            if rnd.random() < 0.2:
                session.terminate()
                session.output()
                session.done()
        except ValueError:
            session.output()
        del session
    return calls


def leak_check(module: ModuleType, rounds: int = 3, sessions: int = 20_000) -> list[int]:
    call = frame(1, 4, 0, HEADERS)  # stream id patched below
    peaks = []
    for _ in range(rounds):
        for n in range(sessions):
            session = module.Session(max_body=1024, max_headers=4096, max_streams=100, max_buffered=65536)
            data = PREFACE + frame(4, 0, 0, b"")
            for stream in range(1, 40, 2):
                data += call[:5] + stream.to_bytes(4, "big") + call[9:]
                data += frame(0, 1, stream, b"\x00\x00\x00\x00\x03abc")
            found = session.feed(data)
            assert len(found) == 20, len(found)
            for stream_id, *_ in found[: 20 if n % 2 else 10]:
                session.respond(stream_id, 0, b"y" * 500)
            session.output()
        peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # under ASan: one seed
        module = load(glob.glob(os.path.join(args.child, "_h2grpc*.so"))[0])
        print(fuzz(module, int(os.environ["FUZZ_SEED"]), args.sessions))
        return
    asan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="signward-fuzz-h2-") as tmp:
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        subprocess.run(["gcc", "-shared", "-fPIC", "-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer",
                        f"-I{sysconfig.get_paths()['include']}", str(SOURCE), "-lnghttp2",
                        "-o", f"{tmp}/_h2grpc{suffix}"], check=True)
        for seed in range(1, args.seeds + 1):
            env = {**os.environ, "LD_PRELOAD": asan, "ASAN_OPTIONS": "detect_leaks=0", "FUZZ_SEED": str(seed)}
            done = subprocess.run([sys.executable, __file__, "--child", tmp, "--sessions", str(args.sessions)],
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"seed {seed}: exit {done.returncode}\n{done.stderr[-4000:]}")
            print(f"seed {seed}: {args.sessions} sessions, {done.stdout.strip()} calls, no ASan report")
    from signward.guard import _h2grpc  # the normal build

    peaks = leak_check(_h2grpc)
    print(f"leak check: peak RSS per round {peaks} KB")
    if peaks[-1] > peaks[0] * 1.1:
        raise SystemExit("memory grows with sessions: a leak")


if __name__ == "__main__":
    main()
