"""Frame sources: pictures, folders of pictures, videos and GIFs, webcams, the Pi camera.

Every source is an iterable of `Frame` and a context manager that releases the device or
file. `open_source(spec)` picks one from a path or a camera name.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.capture.frames import Frame, FrameSource
from edge.capture.jpeg import is_jpeg, jpeg_is_complete
from edge.errors import SourceError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".gif", ".m4v", ".mjpeg", ".h264"}


def read_image(path: Path) -> np.ndarray:
    """An RGB uint8 picture, or SourceError naming the file (missing, cut short, too large
    or not a picture), never a bare cv2.error or a libjpeg warning."""
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if is_jpeg(data) and not jpeg_is_complete(data):
        raise SourceError(f"{path}: the JPEG is cut short (truncated or corrupt)")
    try:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        # OpenCV refuses a header that claims more than OPENCV_IO_MAX_IMAGE_PIXELS.
        raise SourceError(f"{path}: the picture claims a size too large to decode "
                          "(corrupt or hostile header?)") from None
    if bgr is None:
        raise SourceError(f"{path}: not a picture OpenCV can read")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class ImageSource(FrameSource):
    """One picture, or every picture in a folder (sorted by name), one frame each."""

    stills = True

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise SourceError(f"{path}: folder holds no pictures")
        else:
            self.files = [path]
        self.name = str(path)
        self.frame_count = len(self.files)
        self.skipped: list[Path] = []

    def __iter__(self) -> Iterator[Frame]:
        if not self.path.is_dir():
            yield Frame(0.0, read_image(self.path), 0)
            return
        read = 0
        for i, file in enumerate(self.files):
            try:
                rgb = read_image(file)
            except SourceError as exc:
                # One bad file must not cost the rest of the folder.
                self.skipped.append(file)
                print(f"hingewatch: warning: {exc}; skipped", file=sys.stderr, flush=True)
                continue
            read += 1
            yield Frame(float(i), rgb, i)
        if not read:
            raise SourceError(f"{self.path}: none of its {len(self.files)} pictures could "
                              "be read")


class VideoSource(FrameSource):
    """A video file or GIF through OpenCV; times come from the file's frame rate."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise SourceError(f"{path}: no such file")
        self.path = path
        self.name = str(path)
        self._cap = cv2.VideoCapture(str(path))
        if not self._cap.isOpened():
            raise SourceError(f"{path}: not a video OpenCV can decode (truncated or corrupt?)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps: float = fps if fps and fps > 0 else 30.0
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.frame_count = int(count) if count and count > 0 else None

    def __iter__(self) -> Iterator[Frame]:
        i = 0
        while True:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                break
            yield Frame(i / self.fps, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), i)
            i += 1
        if i == 0:
            raise SourceError(f"{self.path}: no frame could be decoded (truncated or corrupt?)")
        # Containers may over-count by a frame or two; far fewer means the file is cut.
        if self.frame_count and i < 0.9 * self.frame_count - 2:
            raise SourceError(
                f"{self.path}: video ends after {i} of {self.frame_count} frames (truncated?)"
            )

    def close(self) -> None:
        self._cap.release()


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """OpenCV's own log silenced for a moment: our error says it once, in words."""
    try:  # OpenCV 4.11+; older builds have the same calls on cv2 itself
        from cv2.utils import logging as cv_log

        get_level, set_level, silent = cv_log.getLogLevel, cv_log.setLogLevel, \
            cv_log.LOG_LEVEL_SILENT
    except ImportError:
        old_cv: Any = cv2  # these calls are not in newer OpenCV's type stubs
        get_level, set_level, silent = old_cv.getLogLevel, old_cv.setLogLevel, 0
    before = get_level()
    set_level(silent)
    try:
        yield
    finally:
        set_level(before)


class WebcamSource(FrameSource):
    """A USB webcam through OpenCV (`webcam:N`, or a device path such as /dev/video2);
    times are seconds since it opened. It is asked for `size_wh` and `fps`; a webcam
    without that mode gives its nearest, which is said once in the log."""

    def __init__(self, device: int | str, size_wh: tuple[int, int] | None = None,
                 fps: float | None = None) -> None:
        self.name = f"webcam:{device}"
        with quiet_opencv():  # its backends each warn about a missing device
            self._cap = cv2.VideoCapture(device)
        if not self._cap.isOpened():
            raise SourceError(f"webcam {device}: cannot be opened (is it plugged in?)")
        if size_wh is not None:
            self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, size_wh[0])
            self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size_wh[1])
        if fps is not None:
            self._cap.set(cv2.CAP_PROP_FPS, fps)
        self.size_wh = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                        int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.fps = self._cap.get(cv2.CAP_PROP_FPS) or None
        wrong_size = size_wh is not None and self.size_wh != tuple(size_wh)
        wrong_fps = fps is not None and self.fps is not None and abs(self.fps - fps) > 0.5
        if wrong_size or wrong_fps:
            w, h = self.size_wh
            log.warning("%s gives %dx%d at %s fps, not the %s at %s fps asked for (it has no "
                        "such mode)", self.name, w, h, f"{self.fps:g}" if self.fps else "?",
                        "x".join(map(str, size_wh)) if size_wh else "size",
                        f"{fps:g}" if fps is not None else "its own")

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        i = 0
        while True:
            ok, bgr = self._cap.read()
            if not ok:
                raise SourceError(f"{self.name}: stopped delivering frames")
            yield Frame(time.monotonic() - start, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), i)
            i += 1

    def close(self) -> None:
        self._cap.release()


def open_source(spec: str, size_wh: tuple[int, int] | None = None,
                fps: float | None = None) -> FrameSource:
    """`camera` (the Pi camera), `webcam:N` or `webcam:/dev/videoN`, a picture, a folder of
    pictures, or a video. A camera is asked for `size_wh` and `fps`; files keep their own."""
    if spec in ("camera", "picamera", "picamera2"):
        from edge.capture.camera import CAMERA_FPS, MAIN_WH, PiCameraSource

        return PiCameraSource(size_wh or MAIN_WH, fps=fps or CAMERA_FPS)
    if spec.startswith("webcam:"):
        device = spec.split(":", 1)[1]
        if device.isdigit():
            return WebcamSource(int(device), size_wh, fps)
        if device.startswith("/"):
            return WebcamSource(device, size_wh, fps)
        raise SourceError(f"{spec}: expected webcam:N with N a number, e.g. webcam:0, or "
                          "webcam:/dev/videoN")
    path = Path(spec)
    if path.is_dir():
        return ImageSource(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return ImageSource(path)
    if suffix in VIDEO_SUFFIXES:
        return VideoSource(path)
    # Unknown suffix: a picture if OpenCV reads it as one, else try it as a video.
    try:
        read_image(path)
    except SourceError:
        pass
    else:
        return ImageSource(path)
    try:
        return VideoSource(path)
    except SourceError:
        raise SourceError(f"{path}: neither a picture nor a video OpenCV can read") from None
