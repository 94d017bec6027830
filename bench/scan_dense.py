"""Scanner benchmark on a dense image (issue 32): real cores of Python, Java, Node and OpenSSL
processes that hold keys, their zero pages squeezed out the way a pipe or store copy is dense,
interleaved 8 MiB at a time into one raw image of --size-mib MiB (default 512). Times
`scan_path(image)` with every default detector and the processes' public keys known, against
aeskeyfind on the same file, interleaved (signward, aeskeyfind, signward, aeskeyfind), and
prints each time, the ratio (signward time / aeskeyfind time; goal <= 1) and the findings.

Run: .venv/bin/python bench/scan_dense.py [--size-mib 512] [--per-kind 2] [--workers 1]
     (also: .venv/bin/python bench/scan.py --dense ...)
The image, the cores and every process's files live in a temp dir removed at exit; `--keep DIR`
builds them in DIR and keeps the image (DIR/dense.img) and the public keys (DIR/public/*), and
`--image DIR/dense.img` scans that image again with the keys kept beside it. `--dump FILE`
writes the findings one per line (sorted) to compare two runs line by line; `--no-keys` scans
with no public key known.
"""

from __future__ import annotations

import argparse
import collections
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from scan import timed  # noqa: E402
from signward.dumps import KnownKeys, scan_path  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.scan.openssl_server import start_openssl_server  # noqa: E402

PAGE = 4096
SLICE = 8 << 20  # bytes of one process before the next in the image
HOLDER = ROOT / "tests" / "scan" / "holder.py"

JAVA = r"""
import java.security.*;
import java.security.spec.ECGenParameterSpec;
import java.util.*;
import javax.crypto.*;
import javax.crypto.spec.IvParameterSpec;

public class Holder {
    static List<Object> HELD = new ArrayList<>();
    public static void main(String[] args) throws Exception {
        String[][] kinds = {{"RSA", "SHA256withRSA"}, {"EC", "SHA256withECDSA"}, {"Ed25519", "Ed25519"}};
        for (String[] kind : kinds) {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(kind[0]);
            if (kind[0].equals("RSA")) generator.initialize(2048);
            if (kind[0].equals("EC")) generator.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair pair = generator.generateKeyPair();
            HELD.add(pair);
            Signature signer = Signature.getInstance(kind[1]);
            signer.initSign(pair.getPrivate());
            signer.update(new byte[32]);
            HELD.add(signer.sign());
            System.out.println("-----BEGIN PUBLIC KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(pair.getPublic().getEncoded()) + "\n-----END PUBLIC KEY-----");
        }
        KeyGenerator aes = KeyGenerator.getInstance("AES");
        aes.init(256);
        Cipher cipher = Cipher.getInstance("AES/CTR/NoPadding");
        cipher.init(Cipher.ENCRYPT_MODE, aes.generateKey(), new IvParameterSpec(new byte[16]));
        HELD.add(cipher);
        HELD.add(cipher.update(new byte[4096]));
        System.out.println("ready");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
"""

NODE = r"""
const crypto = require('crypto');
globalThis.HELD = [];
const pem = {format: 'pem', type: 'spki'};
for (const [kind, options] of [['rsa', {modulusLength: 2048}], ['ec', {namedCurve: 'P-256'}], ['ed25519', {}]]) {
  const pair = crypto.generateKeyPairSync(kind, options);
  HELD.push(pair, crypto.sign(kind === 'ed25519' ? null : 'sha256', Buffer.alloc(32), pair.privateKey));
  process.stdout.write(pair.publicKey.export(pem));
}
const cipher = crypto.createCipheriv('aes-256-ctr', crypto.randomBytes(32), Buffer.alloc(16));
HELD.push(cipher, cipher.update(Buffer.alloc(4096)));
process.stdout.write('ready\n');
setInterval(() => {}, 1 << 30);
"""


def timed_cpu(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(wall seconds, CPU seconds of this process and of the children it reaped meanwhile)."""
    def cpu() -> float:
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime
    began = cpu()
    wall = timed(fn)
    return wall, cpu() - began


def start(kind: str, directory: Path) -> tuple[subprocess.Popen[bytes], bytes]:
    """One key-holding process of `kind`, ready; and the PEM/JWKS text of its public keys."""
    directory.mkdir(parents=True)
    if kind == "python":
        proc = subprocess.Popen([sys.executable, str(HOLDER), str(directory), "rsa", "ec", "ed25519", "aes", "pem",
                                 "jwk"], cwd=directory, stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        return proc, (directory / "public.jwks").read_bytes()
    if kind == "openssl":
        proc, _ = start_openssl_server(directory)
        return proc, (directory / "cert.pem").read_bytes()
    if kind == "java":
        (directory / "Holder.java").write_text(JAVA)
        command = ["java", "-Xmx64m", "-XX:+UseSerialGC", "-XX:ReservedCodeCacheSize=32m", "Holder.java"]
    else:
        command = ["node", "-e", NODE]
    proc = subprocess.Popen(command, cwd=directory, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    text = b""
    for line in proc.stdout:
        if line.strip() == b"ready":
            return proc, text
        text += line
    raise RuntimeError(f"{kind} holder exited before it was ready")


def loaded_pages(core: Path) -> collections.abc.Iterator[bytes]:
    """The non-zero pages of every PT_LOAD segment of an ELF64 little-endian core, in order:
    the process's memory, dense (no headers, notes or zero pages)."""
    with open(core, "rb") as handle:
        header = handle.read(64)
        assert header[:6] == b"\x7fELF\x02\x01", f"{core}: not an ELF64 LE core"
        phoff, = struct.unpack_from("<Q", header, 32)
        phentsize, phnum = struct.unpack_from("<HH", header, 54)
        handle.seek(phoff)
        table = handle.read(phentsize * phnum)
        zero = bytes(PAGE)
        for index in range(phnum):
            kind, _flags, offset, _vaddr, _paddr, filesz = struct.unpack_from("<IIQQQQ", table, index * phentsize)
            if kind != 1 or not filesz:
                continue
            handle.seek(offset)
            left = filesz
            while left > 0:
                block = handle.read(min(left, 1 << 24))
                if not block:
                    break
                left -= len(block)
                for at in range(0, len(block), PAGE):
                    page = block[at:at + PAGE]
                    if page != zero[:len(page)]:
                        yield page


def make_dense_image(size_mib: int, per_kind: int, workdir: Path) -> tuple[Path, KnownKeys, dict[str, int]]:
    """The image, the public keys of every process in it, and the dense bytes of each kind."""
    known = KnownKeys()
    dense: list[tuple[str, Path]] = []
    for number in range(per_kind):
        for kind in ("python", "java", "node", "openssl"):
            directory = workdir / f"{kind}-{number}"
            proc, public = start(kind, directory)
            try:
                known.load(public, kind)
                (workdir / "public").mkdir(exist_ok=True)
                (workdir / "public" / f"{kind}-{number}").write_bytes(public)
                subprocess.run(["gcore", "-o", str(directory / "core"), str(proc.pid)], check=True,
                               capture_output=True)
            finally:
                proc.kill()
                proc.wait()
                if proc.stdout is not None:
                    proc.stdout.close()
                if proc.stdin is not None:
                    proc.stdin.close()
            core = directory / f"core.{proc.pid}"
            squeezed = directory / "dense"
            with open(squeezed, "wb") as out:
                for page in loaded_pages(core):
                    out.write(page)
            core.unlink()
            dense.append((kind, squeezed))
    image = workdir / "dense.img"
    size = size_mib << 20
    sizes: dict[str, int] = collections.Counter()
    read_at = dict.fromkeys(range(len(dense)), 0)
    written = 0
    # SLICE bytes of each process in turn (each piece from its start again when used up): every
    # kind is in the image whatever its size, a JVM's 200 MB among the others
    with open(image, "wb") as out:
        while written < size:
            for index, (kind, piece) in enumerate(dense):
                with open(piece, "rb") as handle:
                    handle.seek(read_at[index])
                    data = handle.read(min(SLICE, size - written))
                if len(data) < min(SLICE, size - written):
                    read_at[index] = 0
                else:
                    read_at[index] += len(data)
                if written == 0:
                    # the first page is the executable's ELF header: the image starts after it, so
                    # it reads as a raw image and not as the ELF file of that executable
                    data = data[PAGE:]
                out.write(data)
                written += len(data)
                sizes[kind] += len(data)
                if written >= size:
                    break
    return image, known, dict(sizes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=512)
    parser.add_argument("--per-kind", type=int, default=2, help="processes of each kind (distinct keys)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--image", default=None,
                        help="an image made before (the keys kept beside it by --keep are loaded, else unknown)")
    parser.add_argument("--keep", default=None, help="build the image in this directory and keep it")
    parser.add_argument("--dump", default=None, help="write the findings, one per line, to this file")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-keys", action="store_true", help="scan with no public key known")
    args = parser.parse_args(argv)
    if args.keep:
        workdir = Path(args.keep)
        workdir.mkdir(parents=True, exist_ok=False)
    else:
        workdir = Path(tempfile.mkdtemp(prefix="signward-bench-dense-"))
    try:
        if args.image:
            image, known, sizes = Path(args.image), KnownKeys(), {}
            for public in sorted((image.parent / "public").glob("*")):
                known.load(public.read_bytes(), public.name.split("-")[0])
        else:
            image, known, sizes = make_dense_image(args.size_mib, args.per_kind, workdir)
        if args.no_keys:
            known = KnownKeys()
        print(f"image: {image.stat().st_size / 2**20:.0f} MiB, "
              + ", ".join(f"{kind} {value / 2**20:.0f} MiB" for kind, value in sizes.items())
              + f"; {len(known)} known public keys; workers {args.workers}")
        if shutil.which("aeskeyfind") is None:
            raise SystemExit("aeskeyfind is not installed (Debian package aeskeyfind)")
        reports = []
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        aes_lines = 0
        for _round in range(args.rounds):
            ours.append(timed_cpu(lambda: reports.append(scan_path(image, None, known, workers=args.workers))))
            result: list[subprocess.CompletedProcess[bytes]] = []
            theirs.append(timed_cpu(lambda: result.append(subprocess.run(["aeskeyfind", str(image)],
                                                                           capture_output=True))))
            aes_lines = len([line for line in result[0].stdout.splitlines() if line.strip()])
        report = reports[-1]
        if args.dump:
            Path(args.dump).write_text("".join(f"{sorted(f.to_dict().items())}\n" for f in sorted(report.findings)))
        by_detector = collections.Counter(f.detector for f in report.findings)
        verified = sum(1 for f in report.findings if f.verified)
        mb = image.stat().st_size / 1e6
        for label, times in (("signward, every default detector, known keys", ours), ("aeskeyfind", theirs)):
            print(f"{label:46s} wall {' / '.join(f'{w:.1f}' for w, _ in times)} s "
                  f"({' / '.join(f'{mb / w:.0f}' for w, _ in times)} MB/s); "
                  f"CPU {' / '.join(f'{c:.1f}' for _, c in times)} s")
        print(f"findings: {len(report.findings)} ({verified} verified against a known key; "
              + ", ".join(f"{name} {count}" for name, count in sorted(by_detector.items()))
              + f"); incomplete: {report.incomplete or 'none'}; aeskeyfind output lines: {aes_lines}")
        walls = [a[0] / b[0] for a, b in zip(ours, theirs, strict=True)]
        cpus = [a[1] / b[1] for a, b in zip(ours, theirs, strict=True)]
        print(f"time ratio signward / aeskeyfind: wall {' / '.join(f'{r:.2f}' for r in walls)}, "
              f"CPU {' / '.join(f'{r:.2f}' for r in cpus)} (goal <= 1: signward takes at most as long; "
              "on a loaded machine the CPU ratio is the steadier one)")
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
