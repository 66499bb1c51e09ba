"""The import direction: backend -> common <- worker, the model below the worker only, TensorFlow in model/ and worker/.

Read from the source with `ast` (every import, also those inside functions), so a lazy import cannot hide.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "worker": {"backend"},
    "common": {"backend", "worker", "model", "tensorflow", "keras", "flask"},
    "backend": {"worker", "model", "tensorflow", "keras"},
}
"""Top-level packages each package must never import."""


def _imports(path: Path) -> list[tuple[int, str]]:
    """`(line, top-level package)` of every absolute import in a Python file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_what_lies_above_or_beside_it(package):
    files = sorted((REPO_ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    wrong = [f"{path.relative_to(REPO_ROOT)}:{line} imports {name}"
             for path in files for line, name in _imports(path) if name in FORBIDDEN[package]]
    assert not wrong, "move what both sides need into common/: " + "; ".join(wrong)


def test_the_check_sees_a_lazy_import_inside_a_function(tmp_path):
    module = tmp_path / "job.py"
    module.write_text("def run():\n    from backend.regions import box_iou\n    return box_iou\n")
    assert (2, "backend") in _imports(module)


def test_importing_every_common_module_loads_no_tensorflow():
    names = sorted(path.stem for path in (REPO_ROOT / "common").glob("*.py") if path.stem != "__init__")
    code = (f"import importlib, sys; [importlib.import_module('common.' + n) for n in {names!r}]; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'flask') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
