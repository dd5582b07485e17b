"""Width, height and EXIF orientation of PNG and JPEG files from their first bytes, without
PIL: importing 100,000 images is mostly this. Returns None on anything unexpected, and the
caller then asks PIL (images.py), so a strange file is never misread, only read slower."""
from __future__ import annotations

import struct

_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def tiff_orientation(b: bytes) -> int:
    """EXIF orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block; 1 if absent."""
    if b[:2] == b"II":
        e = "<"
    elif b[:2] == b"MM":
        e = ">"
    else:
        return 1
    (off,) = struct.unpack_from(e + "I", b, 4)
    (n,) = struct.unpack_from(e + "H", b, off)
    for i in range(min(n, 512)):
        tag, typ = struct.unpack_from(e + "HH", b, off + 2 + 12 * i)
        if tag == 0x0112:
            fmt = e + ("H" if typ == 3 else "I" if typ == 4 else "B")
            return int(struct.unpack_from(fmt, b, off + 2 + 12 * i + 8)[0])
    return 1


def png_header(fh) -> tuple[int, int, int] | None:
    head = fh.read(33)
    if len(head) < 33 or head[:8] != _PNG_SIG or head[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", head[16:24])
    orientation = 1
    # An eXIf chunk counts only before IDAT (where PIL reads it at open): walk chunk headers.
    for _ in range(64):
        hdr = fh.read(8)
        if len(hdr) < 8:
            break
        length, ctype = struct.unpack(">I4s", hdr)
        if ctype in (b"IDAT", b"IEND"):
            break
        if ctype == b"eXIf":
            data = fh.read(length)
            orientation = tiff_orientation(data[6:] if data.startswith(b"Exif\x00\x00") else data)
            break
        fh.seek(length + 4, 1)
    return w, h, orientation


def jpeg_header(fh) -> tuple[int, int, int] | None:
    if fh.read(2) != b"\xff\xd8":
        return None
    orientation = 1
    for _ in range(256):
        b = fh.read(1)
        while b == b"\xff":
            b = fh.read(1)
        if not b:
            return None
        m = b[0]
        if m == 0xD8 or m == 0x01 or 0xD0 <= m <= 0xD7:
            continue
        if m in (0xD9, 0xDA):  # end of image / start of scan before any frame header
            return None
        raw = fh.read(2)
        if len(raw) < 2:
            return None
        (length,) = struct.unpack(">H", raw)
        if length < 2:
            return None
        if m == 0xE1:
            seg = fh.read(length - 2)
            if seg.startswith(b"Exif\x00\x00"):
                orientation = tiff_orientation(seg[6:])
        elif m in _SOF:
            seg = fh.read(5)
            if len(seg) < 5:
                return None
            _, h, w = struct.unpack(">BHH", seg)
            if w == 0 or h == 0:
                return None
            return w, h, orientation
        else:
            fh.seek(length - 2, 1)
    return None


def fast_header(path: str) -> tuple[int, int, int] | None:
    """(width, height, orientation) for PNG and JPEG; None for other formats or any doubt.
    Raises FileNotFoundError for a missing file."""
    with open(path, "rb") as fh:
        sig = fh.read(2)
        fh.seek(0)
        try:
            if sig == b"\x89P":
                return png_header(fh)
            if sig == b"\xff\xd8":
                return jpeg_header(fh)
        except (struct.error, ValueError, OSError):
            return None
    return None
