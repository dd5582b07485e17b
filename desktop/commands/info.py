"""`boxfix info PROJECT [--json]`: counts, classes, splits, review progress, import problems."""
from __future__ import annotations

from desktop.commands.common import emit_json, open_store


def register(sub) -> None:
    p = sub.add_parser("info", help="show a project's counts, classes, splits and review progress",
                       description="Show what a project holds: images, labels, classes, splits, review progress.")
    p.add_argument("project", help="the project file (NAME.boxfix)")
    p.add_argument("--json", action="store_true", help="print as JSON on stdout")
    p.set_defaults(func=run)


def gather(store) -> dict:
    counts = store.class_counts()
    originals = store.class_counts(original=True)
    statuses = store.status_counts()
    n = store.image_count()
    reviewed = statuses.get("reviewed", 0)
    return {
        "project": str(store.path), "name": store.name, "dataset_root": str(store.dataset_root),
        "source_format": store.get_meta("source_format"), "images": n, "labels": store.label_count(),
        "original_labels": sum(originals.values()),
        "classes": [{"idx": c.idx, "name": c.name, "source_id": c.source_id, "labels": counts.get(c.idx, 0),
                     "original_labels": originals.get(c.idx, 0)} for c in store.classes()],
        "splits": store.split_counts(), "review": {"unreviewed": statuses.get("unreviewed", 0),
                                                   "reviewed": reviewed, "skipped": statuses.get("skipped", 0),
                                                   "progress": reviewed / n if n else 0.0},
        "import_problems": len(store.import_problems()),
    }


def run(args) -> int:
    store = open_store(args.project, readonly=True)
    try:
        info = gather(store)
    finally:
        store.close()
    if args.json:
        emit_json(info)
        return 0
    r = info["review"]
    print(f"{info['name']}  ({info['project']})")
    print(f"  dataset:  {info['dataset_root']}  (imported from {info['source_format']})")
    print(f"  images:   {info['images']}  splits: " + ", ".join(f"{k} {v}" for k, v in sorted(info["splits"].items())))
    print(f"  labels:   {info['labels']} now, {info['original_labels']} as imported")
    print(f"  review:   {r['reviewed']} reviewed, {r['skipped']} skipped, {r['unreviewed']} to do "
          f"({100 * r['progress']:.1f}% done)")
    print(f"  import problems: {info['import_problems']}")
    print(f"  classes ({len(info['classes'])}):")
    for c in info["classes"]:
        sid = f"  [id {c['source_id']}]" if c["source_id"] is not None else ""
        print(f"    {c['idx']:>3}  {c['name']:<24} {c['labels']:>8} labels{sid}")
    return 0
