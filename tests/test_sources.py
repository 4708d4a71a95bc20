"""Frame sources: pictures, folders, videos, GIFs; the Pi camera path with a stand-in camera."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.capture.sources import ImageSource, VideoSource, open_source
from edge.errors import SourceError


def test_a_picture_is_one_rgb_frame(fixtures: Path) -> None:
    with open_source(str(fixtures / "images/pose.jpg")) as src:
        frames = list(src)
    assert len(frames) == 1
    assert frames[0].resolution_wh == (1000, 667)
    bgr = cv2.imread(str(fixtures / "images/pose.jpg"))
    assert np.array_equal(frames[0].rgb, bgr[:, :, ::-1])


def test_a_folder_gives_its_pictures_in_name_order(tmp_path: Path) -> None:
    for name, value in (("b.png", 20), ("a.png", 10), ("notes.txt", None)):
        if value is None:
            (tmp_path / name).write_text("x")
        else:
            cv2.imwrite(str(tmp_path / name), np.full((8, 8, 3), value, np.uint8))
    src = open_source(str(tmp_path))
    assert isinstance(src, ImageSource)
    assert [int(f.rgb[0, 0, 0]) for f in src] == [10, 20]


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no pictures"):
        open_source(str(tmp_path))


def test_a_gif_plays_at_its_own_frame_rate(fixtures: Path) -> None:
    with open_source(str(fixtures / "video/pose_tracking_example.gif")) as src:
        assert isinstance(src, VideoSource)
        frames = list(src)
    assert len(frames) == 39
    assert frames[1].t_s - frames[0].t_s == pytest.approx(0.2)


def test_a_video_cut_short_says_truncated(fixtures: Path, tmp_path: Path) -> None:
    # Cut inside the media data of a file whose index comes first: it opens, then stops early.
    src = fixtures / "video/pose_squats.mp4"
    cap = cv2.VideoCapture(str(src))
    writer_path = tmp_path / "faststart.avi"
    writer = cv2.VideoWriter(str(writer_path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (180, 320))
    n = 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        writer.write(cv2.resize(bgr, (180, 320)))
        n += 1
    writer.release()
    data = writer_path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match="truncated"), open_source(str(cut)) as video:
        for _ in video:
            pass


@pytest.mark.parametrize(
    ("spec", "message"),
    [("webcam:x", "webcam:N"), ("/no/such/file.mp4", "no such file")],
)
def test_bad_source_specs(spec: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        open_source(spec)


# --- the Pi camera: the real picamera2 code path, with a stand-in for the hardware ---------


class _Request:
    def __init__(self, cam: _Camera) -> None:
        self.cam = cam

    def make_array(self, stream: str) -> np.ndarray:
        if stream == "main":
            w, h = self.cam.config["main"]["size"]
            bgr = np.zeros((h, w, 3), np.uint8)
            bgr[..., 0] = 200  # blue in picamera2's B, G, R memory order
            return bgr
        w, h = self.cam.config["lores"]["size"]
        return np.full((h * 3 // 2, w), 77, np.uint8)  # YUV420: Y plane, then U and V

    def __enter__(self) -> _Request:
        self.cam.open_requests += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.cam.open_requests -= 1
        self.cam.released += 1


class _Camera:
    def __init__(self, index: int = 0) -> None:
        self.config: dict = {}
        self.open_requests = 0
        self.released = 0
        self.started = False
        self.closed = False

    def create_video_configuration(self, **kwargs: object) -> dict:
        return dict(kwargs)

    def configure(self, config: dict) -> None:
        self.config = config

    def start(self) -> None:
        self.started = True

    def captured_request(self) -> _Request:
        return _Request(self)

    def stop(self) -> None:
        self.started = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_picamera2(monkeypatch: pytest.MonkeyPatch) -> list[_Camera]:
    made: list[_Camera] = []

    def factory(index: int = 0) -> _Camera:
        made.append(_Camera(index))
        return made[-1]

    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=factory))
    return made


def test_pi_camera_gives_rgb_and_the_lores_luma_and_releases_buffers(fake_picamera2) -> None:
    with open_source("camera") as cam:
        frames = []
        for frame in cam:
            assert fake_picamera2[0].open_requests == 0  # buffer already back with the camera
            frames.append(frame)
            if len(frames) == 3:
                break
    camera = fake_picamera2[0]
    assert camera.config["main"]["format"] == "RGB888"
    assert camera.config["lores"]["format"] == "YUV420"
    assert frames[0].rgb.shape == (720, 1280, 3)
    assert tuple(frames[0].rgb[0, 0]) == (0, 0, 200)  # B, G, R memory turned into R, G, B
    assert frames[0].lores_gray is not None and frames[0].lores_gray.shape == (240, 320)
    assert [f.index for f in frames] == [0, 1, 2]
    assert camera.released == 3 and camera.closed and not camera.started


def test_pi_camera_without_picamera2_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails
    with pytest.raises(SourceError, match="python3-picamera2"):
        open_source("camera")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"main_wh": (0, 720)}, "main_wh"), ({"lores_wh": (321, 240)}, "lores_wh"),
     ({"fps": 0}, "fps")],
)
def test_pi_camera_settings_are_checked(fake_picamera2, kwargs: dict, message: str) -> None:
    from edge.capture.camera import PiCameraSource

    with pytest.raises(ValueError, match=message):
        PiCameraSource(**kwargs)


@pytest.mark.parametrize(
    ("camera", "main", "lores", "rate"),
    [({}, (1280, 720), (320, 240), 15.0),
     ({"width": 640, "height": 480, "fps": 10.0}, (640, 480), (320, 240), 10.0),
     # The motion gate's small stream is never larger than the main one.
     ({"width": 160, "height": 120}, (160, 120), (160, 120), 15.0)],
)
def test_the_camera_table_reaches_the_pi_camera(fake_picamera2, camera: dict,
                                                main: tuple, lores: tuple, rate: float) -> None:
    from edge.config import parse
    from edge.pose_stream import open_poses

    config = parse({"camera": {"source": "camera", **camera}}, "test.toml")
    with open_poses(config.camera) as cam:
        frame = next(iter(cam))
    configured = fake_picamera2[0].config
    assert configured["main"]["size"] == main and frame.resolution_wh == main
    assert configured["lores"]["size"] == lores
    assert configured["controls"]["FrameRate"] == rate


def test_a_webcam_is_asked_for_the_camera_table_and_says_what_it_gives(
    fixtures: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The real OpenCV capture path, on a device that has no such mode: a file (OpenCV
    # opens device paths and files alike, and a file keeps its own size and rate).
    from edge.config import parse
    from edge.pose_stream import open_poses

    clip = fixtures / "video/pose_squats.mp4"
    config = parse({"camera": {"source": f"webcam:{clip}", "width": 320, "height": 240,
                               "fps": 7.0}}, "test.toml")
    with open_poses(config.camera) as cam:
        frame = next(iter(cam))
    assert cam.size_wh == frame.resolution_wh == (720, 1280)
    assert "gives 720x1280 at 5 fps, not the 320x240 at 7 fps asked for" in caplog.text


def _jpeg(value: int = 90) -> bytes:
    rng = np.random.default_rng(1)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (64, 96, 3), np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, value])
    assert ok
    return buf.tobytes()


def test_a_jpeg_cut_anywhere_is_found_before_decoding() -> None:
    from edge.capture.jpeg import jpeg_is_complete

    whole = _jpeg()
    assert jpeg_is_complete(whole)
    assert jpeg_is_complete(whole + b"appended video data")  # motion photos do this
    for cut in (3, 20, len(whole) // 2, len(whole) - 2):
        assert not jpeg_is_complete(whole[:cut]), cut
    # An EXIF-like APP1 holding a whole thumbnail (with its own end marker) before the
    # image: a cut main image is still found.
    thumb = _jpeg(30)
    app1 = b"\xff\xe1" + (len(thumb) + 8).to_bytes(2, "big") + b"Exif\0\0" + thumb
    with_thumb = whole[:2] + app1 + whole[2:]
    assert jpeg_is_complete(with_thumb)
    assert not jpeg_is_complete(with_thumb[: len(with_thumb) - 200])


def test_a_truncated_jpeg_is_an_error_not_a_grey_picture(tmp_path: Path) -> None:
    path = tmp_path / "cut.jpg"
    path.write_bytes(_jpeg()[:-200])
    with pytest.raises(SourceError, match="cut short"):
        list(open_source(str(path)))
