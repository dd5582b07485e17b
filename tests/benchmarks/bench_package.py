"""`make package` builds the one-folder application, and the built binary answers `--version`
and `demo --headless`. Too slow and too big for `make test` (about 5 minutes and 6 GB with the
CUDA build of torch), so it runs in `make bench`; it prints the build time and the size.

Run:  .venv/bin/python -m pytest -s tests/benchmarks/bench_package.py -o python_files='bench_*.py'
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _size_gb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 2**30


def test_bench_package():
    t0 = time.perf_counter()
    subprocess.run(["make", "package"], cwd=REPO, check=True)
    build_s = time.perf_counter() - t0
    binary = REPO / "dist" / "boxfix" / "boxfix"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("boxfix ")
    with tempfile.TemporaryDirectory() as data:
        # Run from elsewhere: nothing may depend on the working directory.
        res = subprocess.run([str(binary), "demo", "--headless", "--json"], capture_output=True, text=True,
                             cwd=data, env={**os.environ, "BOXFIX_DATA_DIR": data, "QT_QPA_PLATFORM": "offscreen"})
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout)
    assert out["queue_recall_top10"]["recall"] >= 0.8
    print(f"\npackage: built in {build_s:.0f} s, {_size_gb(binary.parent):.1f} GB; {version.strip()}; "
          f"demo --headless recall {out['queue_recall_top10']['recall']:.2f}")
