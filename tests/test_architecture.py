"""The import rules that import-linter cannot express, and the lazy-import promise."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_detect_never_imports_qt_widgets_or_gui():
    offenders = {}
    for path in (REPO / "desktop" / "detect").rglob("*.py"):
        bad = {n for n in _imports(path) if n.startswith(("PySide6.QtWidgets", "PySide6.QtGui"))}
        if bad:
            offenders[str(path.relative_to(REPO))] = sorted(bad)
    assert offenders == {}


def test_core_has_no_top_level_heavy_imports():
    for path in (REPO / "desktop" / "core").rglob("*.py"):
        names = _imports(path)
        assert not any(n.split(".")[0] in {"PySide6", "torch", "ultralytics", "cv2"} for n in names), path


def test_import_desktop_and_help_do_not_import_torch():
    code = (
        "import sys, io, contextlib\n"
        "import desktop, desktop.cli\n"
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf):\n"
        "    try:\n"
        "        desktop.cli.main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'usage: boxfix' in buf.getvalue()\n"
        "heavy = [m for m in ('torch', 'ultralytics', 'cv2', 'PySide6') if m in sys.modules]\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stdout + res.stderr
