"""Regenerate the generated blocks of README.md from their single sources:
- the key table, from desktop.ui.actions (the registry) and resources/keymap.toml;
- the benchmark tables, from docs/benchmarks/*.md (written by `make bench`);
- the data promises, from docs/data-promises.md (written from what tests/trust proves).
Run: .venv/bin/python packaging/update_readme.py   (tests/ui/test_readme.py checks the keymap block.)"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def keymap_block() -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from desktop.ui.actions import keymap_markdown, load_keymap

    defaults, _ = load_keymap(user_path=ROOT / "no-user-keymap.toml")  # the shipped keys only
    return keymap_markdown(defaults)


def benchmark_block() -> str:
    parts = []
    for name in ("issues", "crossval", "detect", "ui", "formats", "predictions", "panels", "dashboard"):
        f = ROOT / "docs" / "benchmarks" / f"{name}.md"
        if f.is_file():
            text = f.read_text().strip()
            text = re.sub(r"^# ", "### ", text, count=1, flags=re.M)
            parts.append(text)
    return "\n\n".join(parts) + "\n"


def promises_block() -> str:
    """docs/data-promises.md without its title: one source, written from what tests/trust proves."""
    text = (ROOT / "docs" / "data-promises.md").read_text()
    return text.split("\n", 1)[1].lstrip("\n")


def replace_block(text: str, name: str, body: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.S)
    return pattern.sub(lambda _m: f"{start}\n{body}{end}", text)


def main() -> None:
    text = README.read_text()
    text = replace_block(text, "keymap", keymap_block())
    text = replace_block(text, "benchmarks", benchmark_block())
    text = replace_block(text, "promises", promises_block())
    README.write_text(text)


if __name__ == "__main__":
    main()
