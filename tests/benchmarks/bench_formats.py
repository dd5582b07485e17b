"""Import/export benchmark (`make bench`): 100,000 small images with 1,000,000 boxes in YOLO
layout, generated once under ~/.cache/boxfix-bench/. Baseline measured in the same run:
Ultralytics' own label-cache build (YOLODataset.cache_labels) over the same dataset.

Each phase runs in its own Python process so its peak RSS is its own. Goals (2-core machine):
import >= 3x faster than the baseline and < 30 s; open < 1 s; each export < 10 s; peak RSS
< 1 GB. The table is printed and written to docs/benchmarks/formats.md.

Run alone: .venv/bin/python tests/benchmarks/bench_formats.py [N_IMAGES]
"""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("BOXFIX_BENCH_CACHE", Path.home() / ".cache" / "boxfix-bench"))
N_IMAGES = 100_000
BOXES_PER_IMAGE = 10
N_CLASSES = 10


def make_dataset(n: int) -> Path:
    """images/train/NNNNNN.png (one 32x32 PNG's bytes reused: this is about headers) and
    labels/train/NNNNNN.txt with 10 boxes each; data.yaml. Cached; rebuilt if incomplete."""
    from PIL import Image

    root = CACHE / f"formats-yolo-{n}"
    if (root / "COMPLETE").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 140, 200)).save(buf, format="PNG")
    png = buf.getvalue()
    rng = np.random.default_rng(0)
    cls = rng.integers(0, N_CLASSES, size=(n, BOXES_PER_IMAGE))
    wh = rng.uniform(0.05, 0.4, size=(n, BOXES_PER_IMAGE, 2))
    c = rng.uniform(0.25, 0.75, size=(n, BOXES_PER_IMAGE, 2))
    for i in range(n):
        (root / "images" / "train" / f"{i:06d}.png").write_bytes(png)
        rows = "".join(f"{cls[i, j]} {c[i, j, 0]:.6f} {c[i, j, 1]:.6f} {wh[i, j, 0]:.6f} {wh[i, j, 1]:.6f}\n"
                       for j in range(BOXES_PER_IMAGE))
        (root / "labels" / "train" / f"{i:06d}.txt").write_text(rows)
    names = "".join(f"  {k}: c{k}\n" for k in range(N_CLASSES))
    (root / "data.yaml").write_text(f"train: images/train\nval: images/train\nnames:\n{names}")
    (root / "COMPLETE").write_text("ok\n")
    return root


# ---------------------------------------------------------------- phases (each in a child process)
def _phase(name: str, dataset: str, work: str) -> dict:
    work = Path(work)
    t0 = time.perf_counter()
    extra = {}
    if name == "import":
        from desktop.core.formats import read_dataset
        from desktop.core.store import Store

        t0 = time.perf_counter()
        read = read_dataset(dataset)
        t_read = time.perf_counter() - t0
        store = Store.create(work / "bench.boxfix", read.root, overwrite=True)
        summary = store.import_dataset(read)
        store.close()
        extra = {"read_s": t_read, "images": summary.images, "labels": summary.labels}
    elif name == "open":
        from desktop.core.store import Store  # module import is start-up, not opening

        t0 = time.perf_counter()
        store = Store.open(work / "bench.boxfix")
        t_open = time.perf_counter() - t0
        n = store.image_count()
        store.images()
        store.close()
        extra = {"open_only_s": t_open, "images": n}
    elif name in ("export-yolo", "export-coco", "export-yolo-copy"):
        from desktop.core.formats.export import ExportOptions, export_project
        from desktop.core.store import Store

        fmt = "coco" if name == "export-coco" else "yolo"
        mode = "copy" if name.endswith("copy") else "link"
        store = Store.open(work / "bench.boxfix", readonly=True)
        t0 = time.perf_counter()
        res = export_project(store, fmt, work / name, ExportOptions(images=mode))
        store.close()
        extra = {"images": res.images, "labels": res.labels}
    elif name == "baseline":
        sys.path.insert(0, str(REPO))
        os.environ.setdefault("BOXFIX_DATA_DIR", str(work / "data"))
        from desktop.detect.offline import import_ultralytics

        import_ultralytics()
        from ultralytics.data import YOLODataset

        for cache in Path(dataset, "labels").glob("*.cache"):
            cache.unlink()
        timing = {}
        original = YOLODataset.cache_labels

        def timed(self, path):
            t = time.perf_counter()
            out = original(self, path)
            timing["cache_labels_s"] = time.perf_counter() - t
            return out

        YOLODataset.cache_labels = timed
        data = {"names": {k: f"c{k}" for k in range(N_CLASSES)}, "nc": N_CLASSES, "channels": 3}
        ds = YOLODataset(img_path=str(Path(dataset, "images", "train")), data=data, task="detect", augment=False,
                         imgsz=32, cache=False)
        for cache in Path(dataset, "labels").glob("*.cache"):
            cache.unlink()
        extra = {"images": len(ds.labels), "labels": int(sum(len(lb["cls"]) for lb in ds.labels)),
                 "constructor_s": time.perf_counter() - t0, **timing}
    seconds = extra.pop("cache_labels_s", None) or (time.perf_counter() - t0)
    import resource

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"phase": name, "seconds": seconds, "rss_mb": rss_mb, **extra}


def run_phase(name: str, dataset: Path, work: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), YOLO_OFFLINE="1", YOLO_AUTOINSTALL="0")
    code = (f"import json, sys; sys.path.insert(0, {str(REPO)!r}); from tests.benchmarks.bench_formats import _phase; "
            f"print('RESULT ' + json.dumps(_phase({name!r}, {str(dataset)!r}, {str(work)!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(work))
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if r.returncode or line is None:
        raise RuntimeError(f"phase {name} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return json.loads(line[7:])


def main(n: int = N_IMAGES) -> str:
    t = time.perf_counter()
    dataset = make_dataset(n)
    gen_s = time.perf_counter() - t
    # The project and the exports go to a fresh temp dir (on this workplace, creating files
    # under /root is ~20x slower than under /tmp: a file-system hook, not BoxFix).
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="boxfix-bench-formats-", dir=os.environ.get("BOXFIX_BENCH_TMP")))
    res = {}
    for name in ("baseline", "import", "open", "export-yolo", "export-coco", "export-yolo-copy"):
        res[name] = run_phase(name, dataset, work)
        print(f"  {name}: {res[name]}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    base = res["baseline"]["seconds"]
    imp = res["import"]["seconds"]
    rows = [
        ("ultralytics label-cache build (baseline)", base, "", res["baseline"]["rss_mb"], "-"),
        ("BoxFix import (read + write project)", imp, f"{base / imp:.1f}x faster", res["import"]["rss_mb"],
         _ok(imp < 30 and base / imp >= 3)),
        ("  of which reading (headers + labels)", res["import"]["read_s"], "", None, ""),
        ("open project (Store.open)", res["open"]["open_only_s"], "", None, _ok(res["open"]["open_only_s"] < 1)),
        ("open project + list all images", res["open"]["seconds"], "", res["open"]["rss_mb"], ""),
        ("YOLO export (hard links)", res["export-yolo"]["seconds"], "", res["export-yolo"]["rss_mb"],
         _ok(res["export-yolo"]["seconds"] < 10)),
        ("COCO export (hard links)", res["export-coco"]["seconds"], "", res["export-coco"]["rss_mb"],
         _ok(res["export-coco"]["seconds"] < 10)),
        ("YOLO export (copies)", res["export-yolo-copy"]["seconds"], "", res["export-yolo-copy"]["rss_mb"],
         _ok(res["export-yolo-copy"]["seconds"] < 10)),
    ]
    peak = max(r["rss_mb"] for k, r in res.items() if k != "baseline")
    lines = [f"Dataset: {res['import']['images']:,} images (32x32 PNG), {res['import']['labels']:,} boxes, YOLO layout; "
             f"ultralytics saw {res['baseline']['images']:,} images / {res['baseline']['labels']:,} boxes. "
             f"CPU cores: {os.cpu_count()}. Generation (cached): {gen_s:.1f} s.", "",
             "| phase | seconds | vs baseline | peak RSS (MB) | goal met |", "|---|---:|---|---:|---|"]
    for label, sec, ratio, rss, ok in rows:
        lines.append(f"| {label} | {sec:.2f} | {ratio} | {'' if rss is None else f'{rss:.0f}'} | {ok} |")
    lines += ["", f"Peak RSS of any BoxFix phase: {peak:.0f} MB ({_ok(peak < 1024)} goal < 1 GB). "
              "Goals: import >= 3x baseline and < 30 s; open < 1 s; each export < 10 s."]
    table = "\n".join(lines)
    print("\n" + table)
    return table


def _ok(b: bool) -> str:
    return "yes" if b else "NO"


def write_doc(table: str) -> None:
    doc = REPO / "docs" / "benchmarks" / "formats.md"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("# Import / export benchmark\n\nWritten by `make bench` (tests/benchmarks/bench_formats.py) "
                   f"on {time.strftime('%Y-%m-%d')}.\n\n{table}\n")


def test_formats_benchmark():
    n = int(os.environ.get("BOXFIX_BENCH_FORMATS_N", N_IMAGES))
    table = main(n)
    if n == N_IMAGES:
        write_doc(table)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else N_IMAGES
    table = main(n)
    if n == N_IMAGES:
        write_doc(table)
