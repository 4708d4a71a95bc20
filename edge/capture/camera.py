"""The Raspberry Pi camera through picamera2: the one module that imports it.

picamera2 comes from Raspberry Pi OS (`apt install python3-picamera2`), so it is imported
lazily here and nowhere else. Two streams: `main` (RGB for the pose model) and `lores`
(small YUV420 whose Y plane feeds the motion gate without touching the big frame).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from edge.capture.frames import Frame, FrameSource
from edge.errors import SourceError

# Asked for when the config says nothing: the main stream, its rate, and the small
# motion-gate stream (never larger than the main one).
MAIN_WH = (1280, 720)
CAMERA_FPS = 15.0
LORES_WH = (320, 240)


def _import_picamera2() -> Any:
    try:
        from picamera2 import Picamera2
    except ImportError as exc:
        raise SourceError(
            "the Pi camera needs picamera2: `sudo apt install python3-picamera2` and a virtual "
            "environment made with --system-site-packages"
        ) from exc
    return Picamera2


class PiCameraSource(FrameSource):
    """Frames from the Pi camera; each request's buffers are released before the next."""

    def __init__(
        self,
        main_wh: tuple[int, int] = MAIN_WH,
        lores_wh: tuple[int, int] | None = None,
        fps: float = CAMERA_FPS,
        camera_index: int = 0,
    ) -> None:
        if lores_wh is None:
            lores_wh = (min(main_wh[0], LORES_WH[0]), min(main_wh[1], LORES_WH[1]))
        for name, (w, h) in (("main_wh", main_wh), ("lores_wh", lores_wh)):
            if w <= 0 or h <= 0 or w % 2 or h % 2:
                raise ValueError(f"{name}: expected positive even sizes, got {(w, h)}")
        if not 0 < fps <= 120:
            raise ValueError(f"fps: expected 0 < fps <= 120, got {fps}")
        self.name = f"picamera:{camera_index}"
        self.fps = fps
        self.lores_wh = lores_wh
        picamera2 = _import_picamera2()
        try:
            self._camera = picamera2(camera_index)
        except (IndexError, RuntimeError) as exc:
            raise SourceError(f"Pi camera {camera_index}: not found ({exc})") from exc
        config = self._camera.create_video_configuration(
            main={"size": main_wh, "format": "RGB888"},
            lores={"size": lores_wh, "format": "YUV420"},
            controls={"FrameRate": fps},
            buffer_count=4,
        )
        self._camera.configure(config)
        self._camera.start()
        self._closed = False

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        i = 0
        lw, lh = self.lores_wh
        while not self._closed:
            with self._camera.captured_request() as request:
                # picamera2's "RGB888" is B, G, R in memory: flip to RGB. Copies, so the
                # buffers go back to the camera when the `with` ends.
                rgb = np.ascontiguousarray(request.make_array("main")[:, :, ::-1])
                lores = request.make_array("lores")[:lh, :lw].copy()  # the Y plane
            yield Frame(time.monotonic() - start, rgb, i, lores_gray=lores)
            i += 1

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self._camera.stop()
            self._camera.close()
