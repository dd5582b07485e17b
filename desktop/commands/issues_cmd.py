"""`boxfix issues PROJECT`: the review queue on the command line.

Issues are (re)computed first when the project has none for its active run yet, or when
--rescore is given; dismissed issues stay dismissed either way.
"""
from __future__ import annotations

from desktop.commands.common import UserError, emit_json, open_store
from desktop.core.model import IssueKind, IssueStatus

_KINDS = [k.value for k in IssueKind]


def register(sub) -> None:
    p = sub.add_parser("issues", help="list likely label mistakes, most likely first")
    p.add_argument("project", help="the .boxfix project file")
    p.add_argument("--run", type=int, help="prediction run id (default: the active run)")
    p.add_argument("--kind", help=f"comma-separated kinds: {','.join(_KINDS)}")
    p.add_argument("--status", default="open", choices=[s.value for s in IssueStatus] + ["all"])
    p.add_argument("--top", type=int, help="only the N highest-scoring issues")
    p.add_argument("--summary", action="store_true", help="counts by kind and by class, and the share of images")
    p.add_argument("--rescore", action="store_true", help="recompute the issues before listing")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _ensure_scored(store, run_id, force: bool) -> None:
    from desktop.core.rescoring import rescore

    scored_for = store.get_meta("issues_run")
    wanted = str(run_id) if run_id is not None else "none"
    if force or scored_for != wanted:
        rescore(store, run_id=run_id)
        store.set_meta("issues_run", wanted)


def _box(b):
    return None if b is None else [round(b.x0, 2), round(b.y0, 2), round(b.x1, 2), round(b.y1, 2)]


def run(args) -> int:
    kinds = None
    if args.kind:
        kinds = [k.strip() for k in args.kind.split(",") if k.strip()]
        bad = [k for k in kinds if k not in _KINDS]
        if bad:
            raise UserError(f"unknown issue kind {bad[0]!r}; use one of {', '.join(_KINDS)}")
    store = open_store(args.project)
    try:
        run_id = args.run if args.run is not None else store.active_run()
        if args.run is not None:
            if args.run not in {r.id for r in store.runs()}:
                raise UserError(f"{args.project} has no prediction run {args.run}; see `boxfix runs {args.project}`")
            if store.active_run() != args.run:
                store.set_active_run(args.run)
        _ensure_scored(store, run_id, args.rescore)
        if args.summary:
            return _summary(store, args)
        status = None if args.status == "all" else args.status
        issues = store.issues(status=status, kinds=kinds, limit=args.top)
        paths = {im.id: im.path for im in store.images()}
        names = {c.idx: c.name for c in store.classes()}
        rows = []
        for it in issues:
            label = store.label(it.label_id) if it.label_id else None
            pred = store.prediction(it.pred_id) if it.pred_id else None
            rows.append({
                "image": paths.get(it.image_id, str(it.image_id)),
                "kind": it.kind.value,
                "score": round(it.score, 4),
                "label_id": it.label_id,
                "label_box": _box(label.box) if label else None,
                "pred_id": it.pred_id,
                "pred_box": _box(pred.box) if pred else _box(it.suggested_box),
                "class": names.get(it.cls) if it.cls is not None else None,
                "suggested_class": names.get(it.suggested_cls) if it.suggested_cls is not None else None,
                "confidence": None if it.confidence is None else round(it.confidence, 4),
                "status": it.status.value,
            })
        if args.json:
            emit_json(rows)
            return 0
        if not rows:
            print("no issues")
            return 0
        print(f"{'score':>6}  {'kind':<13} {'class':<14} {'suggested':<14} {'label box':<28} {'prediction box':<28} image")
        for r in rows:
            lb = ",".join(f"{v:.0f}" for v in r["label_box"]) if r["label_box"] else "-"
            pb = ",".join(f"{v:.0f}" for v in r["pred_box"]) if r["pred_box"] else "-"
            print(f"{r['score']:6.3f}  {r['kind']:<13} {str(r['class'] or '-'):<14} {str(r['suggested_class'] or '-'):<14} "
                  f"{lb:<28} {pb:<28} {r['image']}")
        return 0
    finally:
        store.close()


def _summary(store, args) -> int:
    status = "open" if args.status == "all" else args.status
    s = store.issue_summary(status=status)
    names = {c.idx: c.name for c in store.classes()}
    out = {
        "status": status,
        "by_kind": s["by_kind"],
        "by_class": {names.get(k, "none" if k is None else str(k)): v for k, v in s["by_class"].items()},
        "images_with_issues": s["images_with_issues"],
        "images": s["images"],
        "share_of_images": round(s["share"], 4),
    }
    if args.json:
        emit_json(out)
        return 0
    print(f"{status} issues by kind:")
    for k, v in sorted(out["by_kind"].items(), key=lambda kv: -kv[1]):
        print(f"  {k:<16} {v:>7,}")
    print("by class:")
    for k, v in sorted(out["by_class"].items(), key=lambda kv: -kv[1]):
        print(f"  {k:<16} {v:>7,}")
    print(f"images with at least one {status} issue: {out['images_with_issues']:,} / {out['images']:,} "
          f"({100 * out['share_of_images']:.1f}%)")
    return 0
