"""Export a project as YOLO or COCO: the parts both writers share.

- What is exported: all images or reviewed ones only; current labels (default) or the
  originals as imported. Images marked unreadable at import, or missing now, are left out
  and listed in the result's problems.
- Where: everything is written into a fresh temporary folder beside the chosen one and
  renamed into place at the end, so a failed export leaves the old output untouched and a
  re-export never mixes old files (stale labels/*.cache included) with new ones.
- Safety: output names come from the dataset's paths after sanitising (no absolute paths,
  no '..', no control characters) and each is checked to resolve inside the temporary folder,
  whatever names the dataset holds.
- Determinism: sorted inputs, no timestamps, fixed number formatting: the same project gives
  byte-identical files.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..model import ImageInfo, Problem, ReviewStatus

MARKER = ".boxfix-export"
IMAGE_MODES = ("copy", "link", "list")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ExportError(ValueError):
    """The export cannot be made (one clear sentence)."""


@dataclass
class ExportOptions:
    reviewed_only: bool = False
    original: bool = False
    images: str = "copy"  # copy | link (hard link, copy across devices) | list (symlinks + list files)


@dataclass
class ExportResult:
    out: Path
    format: str
    images: int = 0
    labels: int = 0
    files: list[str] = field(default_factory=list)  # main files written, relative to out
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"out": str(self.out), "format": self.format, "images": self.images, "labels": self.labels,
                "files": self.files, "problems": [p.__dict__ for p in self.problems]}


@dataclass
class Selection:
    """The images and labels to export, as the writers want them."""

    images: list[ImageInfo]
    labelled: dict[int, bool]
    cls: np.ndarray
    boxes: np.ndarray
    iscrowd: np.ndarray
    label_ids: np.ndarray
    starts: np.ndarray  # labels of images[i] are rows starts[i]:ends[i]
    ends: np.ndarray
    problems: list[Problem]

    def rows(self, i: int) -> slice:
        return slice(int(self.starts[i]), int(self.ends[i]))


def select(store, opts: ExportOptions) -> Selection:
    problems: list[Problem] = []
    root = str(store.dataset_root)
    chosen = []
    for im in store.images():
        if opts.reviewed_only and im.status != ReviewStatus.REVIEWED:
            continue
        if im.error:
            problems.append(Problem(im.path, f"not exported: {im.error}", "left out"))
            continue
        if not os.path.isfile(os.path.join(root, im.path)):
            problems.append(Problem(im.path, f"not exported: image not found under {root}",
                                    "left out (boxfix relocate points the project at a moved dataset)"))
            continue
        chosen.append(im)
    arr = store.label_arrays(original=opts.original)
    order = np.argsort(arr["image_id"], kind="stable")
    image_ids = arr["image_id"][order]
    ids = np.array([im.id for im in chosen], dtype=np.int64)
    return Selection(chosen, store.image_labelled_flags(), arr["cls"][order], arr["boxes"][order],
                     arr["iscrowd"][order], arr["id"][order], np.searchsorted(image_ids, ids, "left"),
                     np.searchsorted(image_ids, ids, "right"), problems)


def safe_parts(path: str) -> list[str]:
    """Path components that can never leave the output folder."""
    parts = []
    for part in re.split(r"[\\/]+", path):
        part = _CONTROL.sub("_", part).strip()
        if part in ("", ".", "..") or re.fullmatch(r"[A-Za-z]:", part):
            continue
        parts.append(part[:200])
    return parts


def image_tail(path: str, split: str | None = None) -> list[str]:
    """Components of an image's name under the export's images/ folder: what follows the
    last 'images' folder in its project path, without a leading split folder."""
    parts = safe_parts(path)
    folders = [p.lower() for p in parts[:-1]]
    if "images" in folders:
        parts = parts[len(folders) - folders[::-1].index("images"):]
    if split and len(parts) > 1 and parts[0] == split:
        parts = parts[1:]
    return parts or ["image"]


def unique_names(images: list[ImageInfo], dest_parts: list[list[str]]) -> list[str]:
    """Posix names, made unique by stem (case-insensitively): two images may never share a label
    file (a.jpg and a.png would under YOLO's rule), nor collide on a case-insensitive disk."""
    seen: set[str] = set()
    out = []
    for im, parts in zip(images, dest_parts):
        name = "/".join(parts)
        stem, ext = os.path.splitext(name)
        if stem.casefold() in seen:
            stem = f"{stem}__{im.id}"
        seen.add(stem.casefold())
        out.append(stem + ext)
    return out


def inside(base: Path, rel: str) -> str:
    """base/rel, refusing anything that would land outside base. `base` is the fresh temporary
    folder this export made (no symlinked folders in it), so a lexical check is exact."""
    if os.path.isabs(rel) or ".." in rel.split("/") or "\x00" in rel:
        raise ExportError(f"refusing to write {rel!r}: it would land outside the export folder")
    base = str(base)
    target = os.path.normpath(os.path.join(base, rel))
    if not target.startswith(base + os.sep):
        raise ExportError(f"refusing to write {rel!r}: it would land outside the export folder")
    return target


class ImagePlacer:
    """Puts the source image at its exported path: copy, hard link, or symlink (list mode)."""

    def __init__(self, mode: str, problems: list[Problem]):
        if mode not in IMAGE_MODES:
            raise ExportError(f"unknown --images mode {mode!r} (choose copy, link or list)")
        self.mode = mode
        self.problems = problems
        self._link_failed = False
        self._dirs: set[str] = set()

    def place(self, src: str, dst: str) -> None:
        """Thread-safe once the destination folders exist (see prepare())."""
        d = os.path.dirname(dst)
        if d not in self._dirs:
            os.makedirs(d, exist_ok=True)
            self._dirs.add(d)
        if self.mode == "list":
            os.symlink(os.path.abspath(src), dst)
            return
        if self.mode == "link" and not self._link_failed:
            try:
                os.link(src, dst)
                return
            except OSError as exc:
                self._link_failed = True
                self.problems.append(Problem(str(src), f"hard link impossible ({exc.strerror})",
                                             "images copied instead"))
        shutil.copyfile(src, dst)

    def prepare(self, paths) -> None:
        """Make every destination folder first, so placing files can run in threads."""
        for d in sorted({os.path.dirname(p) for p in paths}):
            self.mkdir(d)

    def mkdir(self, d) -> None:
        d = str(d)
        if d not in self._dirs:
            os.makedirs(d, exist_ok=True)
            self._dirs.add(d)


def run_io(jobs, fn, threads: int = 4) -> None:
    """Run many small file operations in a few threads: creating a file is a system call that
    releases the GIL, and on a busy disk the waits overlap."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in pool.map(fn, jobs, chunksize=256):
            pass


@contextmanager
def staged_output(out: str | os.PathLike, fmt: str):
    """A temporary folder beside `out`, renamed to `out` when the block succeeds. An existing
    `out` is replaced only when it is empty or an earlier BoxFix export."""
    out = Path(out).absolute()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ExportError(f"{out} is not empty and is not an earlier BoxFix export; choose an empty or new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.boxfix-tmp-", dir=out.parent))
    try:
        yield tmp
        (tmp / MARKER).write_text(f"format: {fmt}\n", encoding="utf-8")
        _remove_caches(tmp)
        os.chmod(tmp, 0o755)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.boxfix-old-", dir=out.parent))
            os.rmdir(old)
            os.rename(out, old)
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_caches(folder: Path) -> None:
    """ultralytics validates labels/*.cache only by file sizes and paths: a stale cache would
    hide edits that keep the size. A fresh export has none; this keeps it that way."""
    for p in folder.rglob("*.cache"):
        p.unlink()


def export_project(store, fmt: str, out: str | os.PathLike, opts: ExportOptions | None = None,
                   progress=None) -> ExportResult:
    opts = opts or ExportOptions()
    if fmt == "yolo":
        from .yolo_write import write_yolo
        return write_yolo(store, out, opts, progress)
    if fmt == "coco":
        from .coco_write import write_coco
        return write_coco(store, out, opts, progress)
    raise ExportError(f"cannot export as {fmt!r} (choose yolo or coco)")
