"""Lint and size: `ruff check` (configured in pyproject.toml) finds nothing, and no function in
src/ is over MAX_LINES lines unless it is in LONG with the reason in its docstring."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 80

# (module path under src/signward, qualified name): what its docstring must say it is long for
LONG: dict[tuple[str, str], str] = {
    ("audit/log.py", "AuditLog.verify"): "Long: every anchor is checked in one pass",
}


def ruff() -> list[str]:
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    if found is None:
        pytest.fail("ruff is not installed: pip install signward[test]")
    return [found]


def test_ruff_finds_nothing() -> None:
    done = subprocess.run([*ruff(), "check", "--no-cache", "src", "tests", "bench", "scripts"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def long_functions(root: Path) -> dict[tuple[str, str], ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function (methods and nested ones too) over MAX_LINES lines, decorators excluded."""
    found: dict[tuple[str, str], ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for path in sorted(root.rglob("*.py")):
        module = str(path.relative_to(root))

        def walk(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{prefix}{child.name}"
                    if (child.end_lineno or child.lineno) - child.lineno + 1 > MAX_LINES:
                        found[(module, name)] = child
                    walk(child, f"{name}.")
                elif isinstance(child, ast.ClassDef):
                    walk(child, f"{prefix}{child.name}.")

        walk(ast.parse(path.read_text(), str(path)), "")
    return found


def test_no_function_is_over_80_lines_without_its_reason() -> None:
    found = long_functions(ROOT / "src" / "signward")
    unexplained = sorted(f"{module}:{name} ({node.end_lineno - node.lineno + 1} lines)"  # type: ignore[operator]
                         for (module, name), node in found.items() if (module, name) not in LONG)
    assert not unexplained, ("functions over 80 lines: split them, or add them to LONG with the reason in "
                             f"their docstring: {unexplained}")
    for key, reason in LONG.items():
        assert key in found, f"{key} is no longer over {MAX_LINES} lines: remove it from LONG"
        assert reason in (ast.get_docstring(found[key]) or ""), f"{key}: its docstring does not say {reason!r}"
