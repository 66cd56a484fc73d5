"""Bytes of what phones and agents upload: photos of error screens and card slots, and
a merchant's drawn signature."""
from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30),
                color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A plain picture of `size` in `fmt` (PNG, JPEG, GIF, BMP...)."""
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


def signature_png(blank: bool = False) -> str:
    """A signature drawn on the phone's pad as its data URL (a transparent PNG; with
    `blank`, nothing drawn)."""
    img = Image.new("RGBA", (600, 220), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(img).line([(40, 150), (200, 60), (380, 170), (560, 80)], fill=(0, 0, 0, 255),
                                 width=4)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
