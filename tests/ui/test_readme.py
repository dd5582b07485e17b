"""The README's key table has one source: the action registry and resources/keymap.toml."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_key_table_matches_the_registry():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "packaging" / "update_readme.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    expected = mod.replace_block((ROOT / "README.md").read_text(), "keymap", mod.keymap_block())
    assert (ROOT / "README.md").read_text() == expected, "run packaging/update_readme.py"
