"""Which of the three formats a file or folder is, from a look at its start (never the whole file).

- a folder: *.txt files (or a labels/ folder) -> yolo-conf; *.jsonl files -> boxfix-json;
- a .txt file -> yolo-conf;
- a file whose first line is a JSON object with an "image" key -> boxfix-json;
- a file that starts with '[' (or a COCO dict) -> coco-results.
"""
from __future__ import annotations

import json
from pathlib import Path

from ._common import PredictionFormatError

FORMATS = ("coco-results", "yolo-conf", "boxfix-json")


def detect_format(path: str | Path) -> str:
    path = Path(path)
    if path.is_dir():
        if (path / "labels").is_dir() or next(path.rglob("*.txt"), None) is not None:
            return "yolo-conf"
        if next(path.rglob("*.jsonl"), None) is not None:
            return "boxfix-json"
        raise PredictionFormatError(f"{path}: a folder of predictions must hold YOLO .txt files or .jsonl files")
    if not path.is_file():
        raise PredictionFormatError(f"{path}: no such file or folder")
    if path.suffix.lower() == ".txt":
        return "yolo-conf"
    if path.suffix.lower() == ".jsonl":
        return "boxfix-json"
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise PredictionFormatError(f"{path}: cannot read ({exc})") from None
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return "coco-results"
    if text.startswith("{"):
        first = text.split("\n", 1)[0]
        try:
            obj = json.loads(first)
        except ValueError:
            return "coco-results"  # a multi-line JSON object: a COCO file with 'annotations'
        if isinstance(obj, dict) and "image" in obj:
            return "boxfix-json"
        return "coco-results"
    raise PredictionFormatError(f"{path}: not a known predictions format (expected COCO results JSON, "
                                "BoxFix JSON Lines or YOLO .txt); pass --format to say which")
