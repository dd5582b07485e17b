"""`boxfix relocate PROJECT NEW_ROOT [--json]`: point a project at its moved dataset."""
from __future__ import annotations

from desktop.commands.common import UserError, emit_json, open_store


def register(sub) -> None:
    p = sub.add_parser("relocate", help="point a project at a dataset that has moved",
                       description="Point the project at the dataset's new folder. Images are found there by the "
                       "same relative paths; those still missing are counted.")
    p.add_argument("project", help="the project file (NAME.boxfix)")
    p.add_argument("new_root", help="the dataset's new folder")
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    p.set_defaults(func=run)


def run(args) -> int:
    from desktop.core.store import ProjectError

    store = open_store(args.project)
    try:
        old = str(store.dataset_root)
        try:
            missing = store.relocate(args.new_root)
        except ProjectError as exc:
            raise UserError(str(exc)) from None
        info = {"project": str(store.path), "old_root": old, "new_root": str(store.dataset_root),
                "images": store.image_count(), "missing": missing}
    finally:
        store.close()
    if args.json:
        emit_json(info)
    else:
        print(f"{info['project']}: dataset root {info['old_root']} -> {info['new_root']}")
        if missing:
            print(f"  {missing} of {info['images']} images are not there (same relative paths expected)")
        else:
            print(f"  all {info['images']} images found")
    return 0
