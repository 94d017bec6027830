"""The process the scan benchmark dumps: a heap of about SIZE MiB with the texture of a
service (Python objects and text, zero-filled buffers, compressed and random buffers) and
canary keys. Prints "ready" and sleeps. Usage: python scan_heap.py SIZE_MIB CANARY_FILE"""

from __future__ import annotations

import os
import sys
import time
import zlib

from signward.dumps.canary import hold_canaries

HELD: list[object] = []


def main() -> None:
    size = int(sys.argv[1]) << 20
    hold_canaries(sys.argv[2])
    text = b" ".join(f"request {i} user{i % 977}@example.com GET /api/v1/items/{i}".encode() for i in range(20000))
    budget = {"objects": 0.40, "zeros": 0.30, "compressed": 0.20, "random": 0.10}
    used = 0
    while used < budget["objects"] * size:
        chunk = [{"id": i, "name": f"item-{i}", "tags": ["a", "b", str(i)], "score": i * 0.5} for i in range(5000)]
        HELD.append(chunk)
        HELD.append(text[: 1 << 16])
        used += 5000 * 420 + (1 << 16)
    HELD.append(bytearray(int(budget["zeros"] * size)))
    compressed = zlib.compress(text * 4, 6)
    used = 0
    while used < budget["compressed"] * size:
        HELD.append(bytes(compressed) + os.urandom(16))
        used += len(compressed)
    HELD.append(os.urandom(int(budget["random"] * size)))
    print("ready", flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
