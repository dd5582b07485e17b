"""`boxfix doctor`: versions, the compute device found, BoxFix's folders, offline settings."""
from __future__ import annotations

import os
import platform
import sys

from desktop import __version__
from desktop.commands.common import emit_json


def register(sub) -> None:
    p = sub.add_parser("doctor", help="print versions, the device found, folders and offline settings")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def _device() -> str:
    try:
        import torch
    except Exception as exc:  # torch broken or absent: say so instead of failing
        return f"unavailable ({exc.__class__.__name__})"
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def collect() -> dict:
    from desktop.core.paths import config_dir, data_dir, resources_dir
    from desktop.detect.offline import configure_ultralytics

    cfg = configure_ultralytics()
    return {
        "boxfix": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {m: _version(m) for m in ("torch", "torchvision", "ultralytics", "PySide6-Essentials",
                                              "numpy", "pillow", "pyqtgraph", "SQLAlchemy")},
        "device": _device(),
        "data_dir": str(data_dir()),
        "config_dir": str(config_dir()),
        "resources_dir": str(resources_dir()),
        "ultralytics_config_dir": str(cfg),
        "offline": {
            "YOLO_OFFLINE": os.environ.get("YOLO_OFFLINE"),
            "YOLO_AUTOINSTALL": os.environ.get("YOLO_AUTOINSTALL"),
            "font_present": (cfg / "Arial.ttf").exists(),
            "in_effect": os.environ.get("YOLO_OFFLINE") == "1" and os.environ.get("YOLO_AUTOINSTALL") == "0",
        },
    }


def run(args) -> int:
    info = collect()
    if args.json:
        emit_json(info)
        return 0
    print(f"BoxFix {info['boxfix']} on Python {info['python']} ({info['platform']})")
    for name, ver in info["versions"].items():
        print(f"  {name:<20} {ver}")
    print(f"device:            {info['device']}")
    print(f"data folder:       {info['data_dir']}")
    print(f"config folder:     {info['config_dir']}")
    print(f"resources:         {info['resources_dir']}")
    print(f"ultralytics config {info['ultralytics_config_dir']}")
    off = info["offline"]
    state = "in effect" if off["in_effect"] else "NOT in effect"
    print(f"offline settings:  {state} (YOLO_OFFLINE={off['YOLO_OFFLINE']}, YOLO_AUTOINSTALL={off['YOLO_AUTOINSTALL']}, "
          f"font {'present' if off['font_present'] else 'missing'})")
    return 0
