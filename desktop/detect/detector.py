"""Run an Ultralytics detector over images BoxFix reads itself. No Qt here.

Why BoxFix reads the pixels: labels live in the EXIF-rotated frame (what a viewer shows).
Ultralytics would read files with cv2, which ignores some EXIF orientations and all 16-bit
subtleties; we decode with PIL + ImageOps.exif_transpose and hand ultralytics BGR arrays, so
predicted boxes land in the same frame as the labels.

ultralytics and torch are imported lazily (inside functions): `import desktop` and
`boxfix --help` must never pay for torch.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np

__all__ = [
    "DetectParams", "Detections", "Detector", "DetectorError", "UltralyticsDetector",
    "load_image_bgr", "model_hash", "resolve_device", "ImageReadError",
]

# Suffixes YOLO() loads as files for detection (exported formats). Directories (OpenVINO,
# TF SavedModel, NCNN...) are accepted as they are.
MODEL_SUFFIXES = {".pt", ".onnx", ".torchscript", ".engine", ".mlpackage", ".pb", ".tflite", ".mnn", ".rknn",
                  ".yaml", ".yml"}


class DetectorError(RuntimeError):
    """The model cannot be used: one clear sentence naming the file, no traceback."""


class ImageReadError(RuntimeError):
    """An image BoxFix cannot decode; that image is marked and the run goes on."""


@dataclass(frozen=True)
class DetectParams:
    """Inference parameters. `identity()` (conf, iou, imgsz, max_det) is what makes a run
    distinct; batch only changes speed, so a cached run is reused across batch sizes.

    conf is a low floor on purpose: predictions are stored down to it so the confidence
    slider can filter later without running the model again."""

    conf: float = 0.05
    iou: float = 0.7
    imgsz: int = 640
    max_det: int = 300
    batch: int = 8

    def __post_init__(self):
        if not 0.0 <= self.conf <= 1.0:
            raise ValueError(f"confidence floor must be between 0 and 1, got {self.conf}")
        if not 0.0 <= self.iou <= 1.0:
            raise ValueError(f"NMS IoU must be between 0 and 1, got {self.iou}")
        if self.imgsz < 32:
            raise ValueError(f"image size must be at least 32, got {self.imgsz}")
        if self.max_det < 1 or self.batch < 1:
            raise ValueError("max detections and batch must be at least 1")

    def identity(self) -> dict:
        d = asdict(self)
        d.pop("batch")
        return d


@dataclass(frozen=True)
class Detections:
    """One image's raw model output: absolute px xyxy in the EXIF-rotated frame."""

    boxes: np.ndarray  # (N, 4) float64
    conf: np.ndarray  # (N,) float64
    model_cls: np.ndarray  # (N,) int64, the MODEL's class index

    @staticmethod
    def empty() -> "Detections":
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))


class Detector(Protocol):
    """What the job runner needs from a detector (tests may pass a fake)."""

    model_classes: list[str]

    def predict(self, images: Sequence[np.ndarray]) -> list[Detections]:
        """Images are HxWx3 uint8 BGR arrays; one Detections per image, same order."""
        ...


# ---------------------------------------------------------------------------- helpers
_HASH_CACHE: dict[tuple, str] = {}
_TORCH_DEFAULT_THREADS: int | None = None  # torch's own choice, before BoxFix changed it


def model_hash(path: str | os.PathLike) -> str:
    """sha256 of the weights (of every file, in order, for a model folder). Cached per
    (path, size, mtime) so the window asking again costs nothing."""
    path = Path(path)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        for p in files:
            if path.is_dir():
                h.update(p.relative_to(path).as_posix().encode() + b"\0")
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


def check_model_path(path: str | os.PathLike) -> Path:
    """A clear error before YOLO() ever sees the path: YOLO('x.pt') with no such file would
    try to download it."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DetectorError(f"{p}: no such model file")
    if p.is_file() and p.suffix.lower() not in MODEL_SUFFIXES:
        raise DetectorError(f"{p}: not a model format BoxFix can load (expected one of "
                            f"{', '.join(sorted(MODEL_SUFFIXES))}, or an exported model folder)")
    if p.is_file() and p.stat().st_size == 0:
        raise DetectorError(f"{p}: the model file is empty")
    return p.resolve()


def resolve_device(device: str = "auto") -> str:
    """'auto' -> cuda:0 if present, else mps, else cpu. Anything else is passed through
    (cpu, cuda:1, mps) after a check that it exists."""
    import torch

    device = (device or "auto").strip().lower()
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda:0"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if device in ("cuda", "0") or device.startswith("cuda:") or device.isdigit():
        if not torch.cuda.is_available():
            raise DetectorError(f"device {device!r} asked for, but no CUDA GPU is available here (use --device cpu)")
        return "cuda:0" if device in ("cuda", "0") else (f"cuda:{device}" if device.isdigit() else device)
    if device == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise DetectorError("device 'mps' asked for, but Apple's Metal backend is not available here")
        return device
    if device == "cpu":
        return device
    raise DetectorError(f"unknown device {device!r} (use auto, cpu, cuda, cuda:N or mps)")


def default_batch(device: str) -> int:
    """Images per model call: batches pay off on a GPU; on a CPU they barely help and a small
    one lets the on-screen image jump the queue sooner."""
    return 2 if device == "cpu" else 16


def load_image_bgr(path: str | os.PathLike) -> np.ndarray:
    """Decode with PIL in the EXIF-rotated frame; return HxWx3 uint8 BGR (contiguous).
    Grayscale, palette, RGBA (alpha dropped, not composited: the detector should see the
    pixels the viewer shows under the box outline), CMYK and 16-bit images are handled."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with _pil_open()(path) as im:
            im = ImageOps.exif_transpose(im)
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                arr = np.asarray(im, dtype=np.float64)
                hi = float(arr.max()) if arr.size else 0.0
                # 16-bit: scale to the image's own range so dark scientific images stay visible.
                arr = arr * (255.0 / hi) if hi > 255 else arr
                arr = np.clip(arr, 0, 255).astype(np.uint8)
                rgb = np.repeat(arr[..., None], 3, axis=2)
            else:
                rgb = np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise ImageReadError(f"{path}: image file not found") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, ImportError) as exc:
        raise ImageReadError(f"{path}: cannot read image ({exc})") from None
    if rgb.ndim != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageReadError(f"{path}: empty image")
    return np.ascontiguousarray(rgb[..., ::-1])


def _pil_open():
    """PIL's own Image.open. Ultralytics replaces it on import with a wrapper that, on an
    unreadable file, tries to pip-install a HEIF plugin; a corrupt image must simply fail."""
    import sys

    from PIL import Image

    op = Image.open
    if getattr(op, "__module__", "").startswith("ultralytics"):
        op = getattr(sys.modules.get(op.__module__), "_image_open", op)
    return op


# ---------------------------------------------------------------------------- ultralytics
@dataclass
class UltralyticsDetector:
    """Any detection model YOLO() loads: .pt, .onnx, TensorRT, OpenVINO folders...

    Loading happens in __init__ and includes a warm-up on one small image, so a broken
    file fails here, once, with a DetectorError, not later on the first batch."""

    model_path: str | os.PathLike
    params: DetectParams = field(default_factory=DetectParams)
    device: str = "auto"
    warmup: bool = True
    # The window's worker leaves one CPU core for the event loop; the command line (no
    # window) takes them all.
    reserve_core: bool = True

    def __post_init__(self):
        self.path = check_model_path(self.model_path)
        self.device = resolve_device(self.device)
        from .offline import import_ultralytics

        import_ultralytics()
        import torch
        from ultralytics import YOLO

        if self.device == "cpu":
            global _TORCH_DEFAULT_THREADS
            if _TORCH_DEFAULT_THREADS is None:
                _TORCH_DEFAULT_THREADS = torch.get_num_threads()
            cores = os.cpu_count() or 2
            torch.set_num_threads(max(1, cores - 1) if self.reserve_core else _TORCH_DEFAULT_THREADS)
        try:
            self._model = YOLO(str(self.path), task="detect")
        except Exception as exc:  # noqa: BLE001 - any load failure is the file's fault
            raise DetectorError(f"{self.path}: cannot load the model ({_short(exc)})") from None
        task = getattr(self._model, "task", "detect")
        # A segmentation model's results carry ordinary boxes (res.boxes) beside the masks:
        # BoxFix uses those. Classification, pose-only and oriented-box models are refused.
        if task not in ("detect", "segment"):
            raise DetectorError(f"{self.path}: a {task} model, BoxFix needs a detection (or segmentation) model")
        if self.warmup:
            try:
                self._predict([np.zeros((64, 64, 3), dtype=np.uint8)])
            except DetectorError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise DetectorError(f"{self.path}: the model does not run ({_short(exc)})") from None
        names = self._model.names
        self.model_classes = [str(names[i]) for i in sorted(names)]

    def _predict(self, images):
        return self._model.predict(list(images), conf=self.params.conf, iou=self.params.iou,
                                   imgsz=self.params.imgsz, max_det=self.params.max_det, device=self.device,
                                   batch=max(1, len(images)), verbose=False, save=False)

    def predict(self, images: Sequence[np.ndarray]) -> list[Detections]:
        if not len(images):
            return []
        out = []
        for res in self._predict(images):
            b = res.boxes
            if b is None or len(b) == 0:
                out.append(Detections.empty())
                continue
            out.append(Detections(b.xyxy.cpu().numpy().astype(np.float64), b.conf.cpu().numpy().astype(np.float64),
                                  b.cls.cpu().numpy().astype(np.int64)))
        return out


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else type(exc).__name__
    return msg if len(msg) < 200 else msg[:197] + "..."


def read_model_classes(model_path: str | os.PathLike, device: str = "cpu") -> list[str]:
    """Class names of a model, loading it on the CPU (raises DetectorError when broken)."""
    # A .pt checkpoint is validated by loading it and carries its names; exported formats
    # only reveal them (and whether they run at all) once a predictor is set up.
    warmup = Path(model_path).suffix.lower() != ".pt"
    return UltralyticsDetector(model_path, DetectParams(imgsz=64), device=device, warmup=warmup).model_classes
