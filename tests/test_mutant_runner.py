"""scripts/mutant_runner.py: a mutant's tests run in a forked child of the fork server, on the
mutant's compiled copy of src/; a broken check fails its test, a change that breaks nothing
passes (the runner says ALIVE), a copy that does not import is an error (not a kill)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILE = "compact_json.py"
# a fast test of the rule the mutants below break: a non-ASCII character is escaped under ensure_ascii
TEST = ["-q", "-x", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:anyio",
        "tests/test_compact_json.py::test_default_is_used_for_what_json_cannot_encode"]
ASCII = "strings = _std.encode_basestring_ascii if ensure_ascii else _std.encode_basestring"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutant_runner", ROOT / "scripts" / "mutant_runner.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutant_runner"] = module
    spec.loader.exec_module(module)
    return module


runner = _load()


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    template = runner.Template(tmp_path_factory.mktemp("template"))
    server = runner.ForkServer()
    yield template, server
    server.close()


def _stage(parts: tuple[object, object], tmp_path: Path, relpath: str, original: str,
           mutated: str) -> tuple[int | None, str]:
    template, server = parts
    copy = tmp_path / "src"
    assert template.copy_to(copy, relpath, original, mutated) is None  # type: ignore[attr-defined]
    out = tmp_path / "pytest.out"
    code = server.stage(copy, TEST, out, 120)  # type: ignore[attr-defined]
    return code, out.read_text(errors="replace")


def test_a_broken_check_fails_its_test_in_the_child(parts: tuple[object, object], tmp_path: Path) -> None:
    code, printed = _stage(parts, tmp_path, FILE, ASCII,
                           "strings = _std.encode_basestring if ensure_ascii else _std.encode_basestring_ascii")
    assert code == 1, printed  # pytest's "tests failed": the runner's only kill


def test_a_change_that_breaks_nothing_passes(parts: tuple[object, object], tmp_path: Path) -> None:
    code, printed = _stage(parts, tmp_path, FILE, "        once = self._once\n",
                           "        once = self._once  # (a mutant that changes nothing)\n")
    assert code == 0, printed


def test_a_copy_that_does_not_import_is_an_error_not_a_kill(parts: tuple[object, object], tmp_path: Path) -> None:
    code, printed = _stage(parts, tmp_path, "__init__.py", '__version__ = "0.1.0"',
                           'raise ImportError("a mutant that breaks the import")')
    assert code == runner.COPY_NOT_IMPORTED, printed
    assert "the copy was not imported (ImportError: a mutant that breaks the import)" in printed


def test_the_mutated_module_is_compiled_from_its_source(parts: tuple[object, object], tmp_path: Path) -> None:
    template = parts[0]
    copy = tmp_path / "src"
    assert template.copy_to(copy, FILE, ASCII, "strings = None") is None  # type: ignore[attr-defined]
    compiled = {path.name.split(".")[0] for path in (copy / "signward" / "__pycache__").glob("*.pyc")}
    assert "clock" in compiled and "compact_json" not in compiled
    assert "strings = None" in (copy / "signward" / FILE).read_text()
    assert template.unchanged() == []  # type: ignore[attr-defined]  (the copy's links are not written through)
    assert template.copy_to(tmp_path / "again", FILE, "no such text", "x") == (  # type: ignore[attr-defined]
        "the original text occurs 0 times in compact_json.py: update the list")
