"""`boxfix runs PROJECT [--json] [--activate ID]`: the project's prediction runs.

Lists every run (model runs and imported ones) with its model, parameters, images done and
predictions; '*' marks the active run, the one the issue finder and the window use.
--activate ID makes another run active."""
from __future__ import annotations

import time

from desktop.commands.common import UserError, emit_json, open_store


def register(sub) -> None:
    p = sub.add_parser("runs", help="list the prediction runs; pick the active one",
                       description="List the project's prediction runs ('*' marks the active one). "
                       "--activate ID makes run ID the active run.")
    p.add_argument("project", help="the project file (NAME.boxfix)")
    p.add_argument("--activate", type=int, metavar="ID", help="make run ID the active run")
    p.add_argument("--json", action="store_true", help="print the runs as JSON on stdout")
    p.set_defaults(func=run)


def _row(info, active: int | None, classes: dict[int, str]) -> dict:
    return {
        "id": info.id, "active": info.id == active, "name": info.name, "kind": info.kind,
        "model_path": info.model_path, "model_hash": info.model_hash, "params": info.params,
        "model_classes": info.model_classes,
        "unmapped_model_classes": [info.model_classes[k] for k, v in sorted(info.class_map.items())
                                   if v is None and k < len(info.model_classes)],
        "missing_classes": [classes.get(c, str(c)) for c in sorted(info.missing_classes)],
        "images_done": info.images_done, "predictions": info.predictions,
        "created": info.created, "finished": info.finished, "source": info.source,
    }


def run(args) -> int:
    from desktop.core.store import ProjectError

    store = open_store(args.project, readonly=args.activate is None)
    try:
        if args.activate is not None:
            try:
                store.set_active_run(args.activate)
            except ProjectError as exc:
                raise UserError(str(exc)) from None
        active = store.active_run()
        classes = {c.idx: c.name for c in store.classes()}
        n_images = store.image_count()
        rows = [_row(r, active, classes) for r in store.runs()]
    finally:
        store.close()
    if args.json:
        emit_json({"active": active, "images": n_images, "runs": rows})
        return 0
    if not rows:
        print("no prediction runs yet; make one with: boxfix predict PROJECT --model PATH")
        return 0
    print(f"{'':1} {'ID':>3}  {'NAME':40}  {'KIND':8}  {'DONE':>11}  {'PREDS':>8}  CREATED")
    for r in rows:
        state = "" if r["finished"] else " (partial)"
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created"]))
        print(f"{'*' if r['active'] else ' ':1} {r['id']:>3}  {r['name'][:40]:40}  {r['kind']:8}  "
              f"{r['images_done']:>5}/{n_images:<5}  {r['predictions']:>8}  {created}{state}")
        if r["missing_classes"]:
            print(f"{'':7}project classes the model lacks: {', '.join(r['missing_classes'])}")
        if r["unmapped_model_classes"]:
            print(f"{'':7}model classes not in the project: {', '.join(r['unmapped_model_classes'])}")
    return 0
