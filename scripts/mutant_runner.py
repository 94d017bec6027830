"""How scripts/mutants.py runs a mutant's pytest: from a fork server, in a compiled copy of src/.

A mutant's run was two fresh interpreters (an import check, then pytest), each paying ~1.7 s of
Python, pytest and third-party imports, and compiling every signward module it imported from
source (the copy had no bytecode). Here:

- `Template`: one copy of src/ compiled once per run (timestamp .pyc beside each module, mtimes
  kept); each mutant's copy is copied from it and the mutated module's .pyc is deleted, so only
  that module is compiled from source (in the tests and in every subprocess they start).
- `ForkServer`: one long-lived, single-threaded process (this file run as a script) that imports
  pytest and the heavy third-party modules the tests use (`PRELOAD`), never `signward` nor
  anything under tests/. For each stage it forks a child that puts the mutant's copy on sys.path
  and PYTHONPATH (as `python -m pytest` with PYTHONPATH=copy:ROOT would have them), checks that
  `signward` is imported from the copy, runs `pytest.main(args)` with its output in a file and
  exits with pytest's code. The child leads its own process group: a timeout kills the group.

Protocol (JSON lines): the runner writes {"id", "copy", "args", "out"}; the server answers
{"id", "pid"} once forked (or {"id", "error"}), then {"id", "code"} when the child has exited
(the exit status as `subprocess` reports it: negative for a signal).
"""

from __future__ import annotations

import atexit
import compileall
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# the copy's place in the server's sys.path / PYTHONPATH until a child is given its copy
PLACEHOLDER = "/nonexistent/signward-mutant-copy"
# imported once by the server (measured with -X importtime on the named tests; each of numpy,
# scipy, networkx, psycopg, httpx, pytest costs 0.3-0.6 s a process); a module whose import
# warns or fails is left to the tests (pytest's filterwarnings = error must still see it). Not
# hypothesis nor anyio (nor starlette and uvicorn, which import anyio): pytest rewrites the asserts of the
# modules of its plugins' distributions when they are imported, and warns (an error here) when
# they were imported before it (`_rewritten_by_pytest`, checked in every child)
PRELOAD = ("pytest", "cryptography.x509", "cryptography.hazmat.primitives.serialization",
           "cryptography.hazmat.primitives.asymmetric.rsa", "cryptography.hazmat.primitives.asymmetric.ec",
           "cryptography.hazmat.primitives.asymmetric.ed25519", "cryptography.hazmat.primitives.ciphers.aead",
           "httpx", "numpy", "scipy", "scipy.optimize", "networkx", "pysat.formula", "pysat.examples.rc2",
           "rich.console", "click", "joserfc", "joserfc.jwk", "jwt", "pkcs11",
           "prometheus_client", "yaml", "brotli", "zstandard", "psycopg", "asyncio", "sqlite3",
           "email.message", "http.server", "xml.etree.ElementTree", "tomllib", "unittest.mock",
           # what the tests of scan, guard, issuer, hsm, depth, watch, audit and dumps import besides
           # (not grpc: its fork handlers; not watchfiles: it imports anyio)
           "click.testing", "cryptography.hazmat.backends.openssl", "cryptography.hazmat.primitives.kdf.concatkdf",
           "cryptography.hazmat.primitives.keywrap", "cryptography.hazmat.primitives.padding",
           "cryptography.hazmat.primitives.serialization.pkcs12", "google.protobuf.descriptor_pb2",
           "google.protobuf.text_format", "google.protobuf.message_factory", "h11", "httptools", "joserfc.jwa",
           "joserfc.jwe", "joserfc.jws", "joserfc.jwt", "lz4.frame", "prometheus_client.core",
           "scipy.sparse.csgraph", "tomli_w")
COPY_NOT_IMPORTED = 120  # a child's exit code: signward was not imported from the copy
SERVER_BROKEN = 121  # a child's exit code: the server's state is not what a fresh process has
_EXIT_TIMEOUT = 10


class Template:
    """src/ copied once and compiled; `copy_to` makes a mutant's copy with the bytecode."""

    def __init__(self, scratch: Path) -> None:
        self.src = scratch / "src"
        shutil.copytree(ROOT / "src", self.src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        # the same interpreter that runs the tests writes the bytecode (timestamp-checked .pyc)
        if not compileall.compile_dir(str(self.src), quiet=1, workers=1):
            raise RuntimeError("src/ does not compile")
        self._digests = self._digest()

    def _digest(self) -> dict[str, str]:
        return {str(path.relative_to(self.src)): hashlib.sha256(path.read_bytes()).hexdigest()
                for path in sorted(self.src.rglob("*")) if path.is_file()}

    def copy_to(self, copy: Path, relpath: str, original: str, mutated: str) -> str | None:
        """Make `copy` the compiled src/ with the mutant applied; an error message or None. Every
        file but the mutated module is a hard link to the template's (a copy of 6 MB cost 0.15-0.45
        CPU-s a mutant): nothing writes to them (`unchanged` checks it at the end of the run)."""
        shutil.copytree(self.src, copy, copy_function=_link)
        target = copy / "signward" / relpath
        text = target.read_text()
        if text.count(original) != 1:
            return f"the original text occurs {text.count(original)} times in {relpath}: update the list"
        # the mutated module is compiled from its source: no .pyc of the original may stand in
        Path(importlib.util.cache_from_source(str(target))).unlink(missing_ok=True)
        target.unlink()  # a new file, not the template's through the link
        target.write_text(text.replace(original, mutated))
        return None

    def unchanged(self) -> list[str]:
        """The template's files that changed since it was made (through a mutant's links)."""
        now = self._digest()
        return sorted(name for name in {*now, *self._digests} if now.get(name) != self._digests.get(name))


def _link(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system: a copy
        shutil.copy2(source, destination)


class ForkServer:
    """The runner's side of the fork server: `stage` runs one pytest in a forked child."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": f"{PLACEHOLDER}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"}
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"], cwd=ROOT,
                                        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._to = self.process.stdin
        ready = self.process.stdout.readline()
        if ready.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"the fork server did not start: {ready.strip()!r}")
        self._lock = threading.Lock()
        self._next = 0
        self._waiting: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            message = json.loads(line)
            with self._lock:
                waiting = self._waiting.get(message["id"])
            if waiting is not None:
                waiting.put(message)
        with self._lock:  # the server is gone: every waiting stage hears it
            for waiting in self._waiting.values():
                waiting.put({"error": "the fork server exited"})

    def stage(self, copy: Path, args: list[str], out: Path, timeout: float) -> int | None:
        """Run pytest `args` on `copy` in a forked child, output in `out`: its exit code, or None
        when it ran over `timeout` s (its process group is then killed)."""
        answers: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._next += 1
            ident = self._next
            self._waiting[ident] = answers
            self._to.write(json.dumps({"id": ident, "copy": str(copy), "args": args, "out": str(out)}) + "\n")
            self._to.flush()
        try:
            forked = answers.get()
            if "pid" not in forked:
                raise RuntimeError(f"the fork server could not run the stage: {forked.get('error')}")
            try:
                return int(answers.get(timeout=timeout)["code"])
            except queue.Empty:
                try:
                    os.killpg(forked["pid"], signal.SIGKILL)
                except ProcessLookupError:
                    pass
                ended = answers.get(timeout=_EXIT_TIMEOUT)
                if "code" not in ended:
                    raise RuntimeError(f"the fork server lost a stage: {ended.get('error')}") from None
                return None
        finally:
            with self._lock:
                del self._waiting[ident]

    def close(self) -> None:
        """End the server (it waits for its running children first)."""
        self._to.close()
        try:
            self.process.wait(timeout=_EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join()
        assert self.process.stdout is not None
        self.process.stdout.close()


# --- the server (this file run as a script by ForkServer) ---

def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _preload() -> None:
    """Import `PRELOAD` as a fresh process would; BLAS pools single-threaded so that the server
    stays one thread (a fork from a multi-threaded process is not safe)."""
    saved = {name: os.environ.get(name) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({name: "1" for name in saved})
    try:
        for name in PRELOAD:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                try:
                    importlib.import_module(name)
                except Exception:  # noqa: BLE001  (left to the tests, which import it themselves)
                    pass
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _rewritten_by_pytest() -> set[str]:
    """The top-level modules and packages of the distributions that declare a pytest plugin
    (entry point group pytest11): pytest marks them for assertion rewriting, as a fresh
    `python -m pytest` does before any of them is imported (hypothesis, anyio)."""
    names = set()
    for dist in importlib.metadata.distributions():
        if any(entry.group == "pytest11" for entry in dist.entry_points):
            for file in dist.files or []:
                parts = str(file).split("/")
                if len(parts) == 1 and parts[0].endswith(".py") and parts[0] != "__init__.py":
                    names.add(parts[0].removesuffix(".py"))
                elif len(parts) == 2 and parts[1] == "__init__.py":
                    names.add(parts[0])
    return names


def _leaked(fresh: set[str]) -> list[str]:
    """Modules a child must import itself (from the mutant's copy, from tests/, or after pytest
    has marked them for rewriting), already in the server."""
    return sorted(name for name in sys.modules if name.split(".")[0] in fresh)


def _child(request: dict[str, Any], path: list[str], fresh: set[str]) -> int:
    """In the forked child: become `python -m pytest ARGS` run with PYTHONPATH=copy:ROOT."""
    os.setpgid(0, 0)
    out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(null)
    copy = request["copy"]
    os.chdir(ROOT)
    os.environ["PYTHONPATH"] = f"{copy}{os.pathsep}{ROOT}"
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    sys.dont_write_bytecode = True
    # `python -m pytest` puts its working directory first, then PYTHONPATH, then site's
    sys.path[:] = [str(ROOT), *(copy if entry == PLACEHOLDER else entry for entry in path[1:])]
    sys.path_importer_cache.clear()
    importlib.invalidate_caches()
    import pytest
    import pytest.__main__
    sys.modules["__main__"] = pytest.__main__  # multiprocessing's workers import the main module
    sys.argv = [str(pytest.__main__.__file__), *request["args"]]
    atexit._clear()  # the server's exit handlers are not this run's
    if "logging" in sys.modules:
        atexit.register(sys.modules["logging"].shutdown)
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # a fresh process draws a fresh global seed
        numpy.random.seed()
    if _leaked(fresh):
        print(f"the fork server had imported {', '.join(_leaked(fresh))}")
        return SERVER_BROKEN
    try:
        import signward
    except Exception as exc:  # noqa: BLE001
        print(f"the copy was not imported ({type(exc).__name__}: {exc})")
        return COPY_NOT_IMPORTED
    if not str(signward.__file__).startswith(copy + os.sep):
        print(f"the copy was not imported ({signward.__file__})")
        return COPY_NOT_IMPORTED
    try:
        return int(pytest.main(request["args"]))
    except Exception:  # noqa: BLE001  (escaped pytest, e.g. its unraisable-exception warnings at exit)
        traceback.print_exc()
        return 1  # what `python -m pytest` exits with on an uncaught exception, as the old runner saw it


def _status(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def serve() -> None:
    """Read requests on stdin, fork a child for each, answer its pid and then its exit code."""
    path = list(sys.path)
    fresh = {"signward", "tests", *_rewritten_by_pytest()}
    _preload()
    if _leaked(fresh):
        print(json.dumps({"error": f"preloading imported {', '.join(_leaked(fresh))}"}), flush=True)
        return
    print("ready", flush=True)
    running: dict[int, int] = {}
    pending = b""
    open_input = True
    while open_input or running:
        if open_input:
            readable, _, _ = select.select([0], [], [], 0.01)
            if readable:
                chunk = os.read(0, 65536)
                open_input = bool(chunk)
                pending += chunk
        else:
            select.select([], [], [], 0.01)
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if _threads() != 1:
                print(json.dumps({"id": request["id"], "error": f"the server runs {_threads()} threads"}), flush=True)
                continue
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                code = SERVER_BROKEN
                try:
                    code = _child(request, path, fresh)
                except BaseException:  # noqa: BLE001  (said in the stage's output, an error verdict)
                    traceback.print_exc()
                finally:
                    try:
                        sys.stdout.flush()
                        sys.stderr.flush()
                        atexit._run_exitfuncs()
                    finally:
                        os._exit(code)
            running[pid] = request["id"]
            print(json.dumps({"id": request["id"], "pid": pid}), flush=True)
        while running:
            done, status = os.waitpid(-1, os.WNOHANG)
            if done == 0:
                break
            if done in running:
                print(json.dumps({"id": running.pop(done), "code": _status(status)}), flush=True)


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
