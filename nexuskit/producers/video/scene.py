"""A synthetic camera scene drawn with numpy: sky, road, a moving vehicle, a clock overlay.

No font files are needed: the overlay is drawn from a 5x7 bitmap font of the characters
a timestamp and a camera label use, scaled up. Frames are ``H x W x 3`` ``uint8`` RGB.
"""

from __future__ import annotations

import math
import time

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]

_GLYPHS: dict[str, tuple[str, ...]] = {
    "0": ("01110", "10001", "10011", "10101", "11001", "10001", "01110"),
    "1": ("00100", "01100", "00100", "00100", "00100", "00100", "01110"),
    "2": ("01110", "10001", "00001", "00010", "00100", "01000", "11111"),
    "3": ("11110", "00001", "00001", "01110", "00001", "00001", "11110"),
    "4": ("00010", "00110", "01010", "10010", "11111", "00010", "00010"),
    "5": ("11111", "10000", "11110", "00001", "00001", "10001", "01110"),
    "6": ("00110", "01000", "10000", "11110", "10001", "10001", "01110"),
    "7": ("11111", "00001", "00010", "00100", "01000", "01000", "01000"),
    "8": ("01110", "10001", "10001", "01110", "10001", "10001", "01110"),
    "9": ("01110", "10001", "10001", "01111", "00001", "00010", "01100"),
    ":": ("00000", "01100", "01100", "00000", "01100", "01100", "00000"),
    "-": ("00000", "00000", "00000", "11111", "00000", "00000", "00000"),
    ".": ("00000", "00000", "00000", "00000", "00000", "01100", "01100"),
    "#": ("01010", "01010", "11111", "01010", "11111", "01010", "01010"),
    " ": ("00000",) * 7,
    "A": ("01110", "10001", "10001", "11111", "10001", "10001", "10001"),
    "C": ("01110", "10001", "10000", "10000", "10000", "10001", "01110"),
    "E": ("11111", "10000", "10000", "11110", "10000", "10000", "11111"),
    "M": ("10001", "11011", "10101", "10101", "10001", "10001", "10001"),
    "N": ("10001", "11001", "10101", "10011", "10001", "10001", "10001"),
    "S": ("01111", "10000", "10000", "01110", "00001", "00001", "11110"),
    "T": ("11111", "00100", "00100", "00100", "00100", "00100", "00100"),
    "U": ("10001", "10001", "10001", "10001", "10001", "10001", "01110"),
    "X": ("10001", "10001", "01010", "00100", "01010", "10001", "10001"),
    "Z": ("11111", "00001", "00010", "00100", "01000", "10000", "11111"),
}
_BITMAPS = {
    ch: np.array([[c == "1" for c in row] for row in rows], dtype=bool) for ch, rows in _GLYPHS.items()
}


def text_mask(text: str, scale: int = 2) -> npt.NDArray[np.bool_]:
    """The pixels of ``text`` in the bitmap font (unknown characters as blanks)."""
    glyphs = [_BITMAPS.get(ch, _BITMAPS[" "]) for ch in text.upper()]
    spaced = []
    for glyph in glyphs:
        spaced.append(glyph)
        spaced.append(np.zeros((7, 1), dtype=bool))
    mask = np.hstack(spaced) if spaced else np.zeros((7, 1), dtype=bool)
    return np.kron(mask, np.ones((scale, scale), dtype=bool))


def stamp_text(frame: Frame, text: str, x: int, y: int, scale: int = 2) -> None:
    """White text on a dark box, in place (clipped to the frame)."""
    mask = text_mask(text, scale)
    height, width = frame.shape[:2]
    pad = scale
    top, left = max(0, y - pad), max(0, x - pad)
    bottom, right = min(height, y + mask.shape[0] + pad), min(width, x + mask.shape[1] + pad)
    frame[top:bottom, left:right] = (frame[top:bottom, left:right] // 4).astype(np.uint8)
    h = min(mask.shape[0], height - y)
    w = min(mask.shape[1], width - x)
    if h > 0 and w > 0:
        frame[y : y + h, x : x + w][mask[:h, :w]] = 255


def clock_text(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}"


class Scene:
    """Renders frame ``n`` at time ``epoch`` (deterministic for the same inputs)."""

    def __init__(self, width: int = 320, height: int = 240, label: str = "NEXUS CAM") -> None:
        if width < 64 or height < 48 or width % 2 or height % 2:
            raise ValueError("frames must be at least 64x48 with even sides (H.264 4:2:0)")
        self.width, self.height, self.label = width, height, label
        rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
        self._sky = rows.repeat(width, axis=1)
        ys, xs = np.mgrid[0:height, 0:width]
        self._ys, self._xs = ys.astype(np.float32), xs.astype(np.float32)
        self._horizon = int(height * 0.6)

    def render(self, n: int, epoch: float) -> Frame:
        width, height = self.width, self.height
        frame = np.empty((height, width, 3), dtype=np.uint8)
        day = 0.5 + 0.5 * math.sin(epoch / 30.0)  # a slow light cycle
        sky = self._sky
        frame[..., 0] = (60 + 80 * day * (1 - sky)).astype(np.uint8)
        frame[..., 1] = (90 + 100 * day * (1 - sky)).astype(np.uint8)
        frame[..., 2] = (140 + 110 * day * (1 - sky)).astype(np.uint8)
        horizon = self._horizon
        frame[horizon:] = (70, 70, 75)  # road
        dash = (self._xs[horizon + 12 : horizon + 15] + n * 6) % 40 < 20
        frame[horizon + 12 : horizon + 15][dash] = (230, 210, 60)
        # a vehicle crossing the road and a sun that moves with the clock
        car_x = (n * 7) % (width + 60) - 30
        car_y = horizon + 20
        body = (np.abs(self._xs - car_x) < 22) & (np.abs(self._ys - car_y) < 8)
        frame[body] = (200, 40, 40)
        sun_x = width * (0.2 + 0.6 * ((epoch / 60.0) % 1.0))
        sun = (self._xs - sun_x) ** 2 + (self._ys - height * 0.2) ** 2 < (height * 0.06) ** 2
        frame[sun] = (250, 220, 90)
        stamp_text(frame, clock_text(epoch), 6, 6, 2)
        stamp_text(frame, f"{self.label} #{n:06d}", 6, 26, 2)
        return frame
