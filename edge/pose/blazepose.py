"""BlazePose GHUM in two stages: detector when tracking is lost, then landmarks on an ROI.

Faithful to MediaPipe 0.10.14's Python `Pose` (checked stage by stage against it): the next
frame's ROI comes from the two auxiliary landmarks (33, 34), smoothed by their own One Euro
filter as MediaPipe's pose_landmark_filtering graph does, so the detector runs only on the
first frame and when the person is lost. Smoothing the 33 body landmarks is a separate stage
(`edge.pose.smoothing.PoseSmoother`).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.capture.frames import Frame
from edge.pose.detector import PoseDetector
from edge.pose.landmarks import NUM_JOINTS, Pose, Segmentation
from edge.pose.models import model_names, model_path
from edge.pose.roi import Roi, apply_affine, roi_from_alignment
from edge.pose.runtime import RuntimeName, load_interpreter
from edge.pose.smoothing import AUX_LANDMARKS, MIN_OBJECT_SCALE, OneEuroFilter, alignment_scale_px
from edge.pose.split import SplitModel, split_mask_head
from edge.pose.tensors import Outputs, PixelInput

INPUT_SIZE = 256
NUM_OUTPUT_LANDMARKS = 39  # 33 body landmarks, then 6 auxiliary ones
AUX_CENTER, AUX_SCALE = 33, 34
# Below this presence the frame has no person and tracking restarts with the detector.
# Raising it drops partly visible people sooner.
MIN_PRESENCE = 0.5
# Heatmap refinement: each landmark moves to the confidence-weighted centre of a 9×9 window
# of its heatmap. 9 is what MediaPipe 0.10.14's Python `Pose` runs: its graph asks for 7, but
# the Python package honours that option only once the option's protobuf module has been
# imported, which `mediapipe.solutions.pose` never does, so the calculator's default (9)
# applies. Measured on pose_squats.mp4: 9 reproduces MediaPipe's refined landmarks to 1e-5
# heatmap cells, 7 misses by up to half a cell (7 px in the frame). Raising the kernel
# averages over more of a broad peak and pulls the landmark towards that peak's middle.
REFINE_KERNEL = 9
# Refine only where the window's most confident cell reaches this; raising it keeps the
# regressed position for more of the blurry (occluded, fast-moving) landmarks.
REFINE_MIN_CONFIDENCE = 0.5


def _is_mask_shape(shape: Sequence[int]) -> bool:
    """The segmentation output: (1, 256, 256, 1) logits."""
    return len(shape) == 4 and shape[-1] == 1


def cut_landmark_model(model: bytes) -> SplitModel | None:
    """The landmark model cut before its mask head (`edge.pose.split`); None where it
    cannot be cut (no flatbuffer schema)."""
    return split_mask_head(model, _is_mask_shape)


class MaskHead:
    """The landmark model's segmentation decoder alone (`edge.pose.split`), run on the
    features the pose part left; one invoke at a time, whichever thread reads a mask."""

    def __init__(self, interpreter: Any, features: tuple[str, ...]) -> None:
        self._it = interpreter
        self.features = features
        index_of = {d["name"]: d["index"] for d in interpreter.get_input_details()}
        self._inputs = tuple(index_of[name] for name in features)
        self._read = Outputs(interpreter)
        self._output = interpreter.get_output_details()[0]["index"]
        self._lock = threading.Lock()
        self.runs = 0

    def logits(self, features: tuple[np.ndarray, ...]) -> np.ndarray:
        """The (256, 256) mask logits from one frame's features."""
        with self._lock:
            for index, value in zip(self._inputs, features, strict=True):
                self._it.set_tensor(index, value)
            self._it.invoke()
            self.runs += 1
            return self._read.get(self._output)[0, :, :, 0]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function in float64, written with tanh: no exp() to overflow, so no
    clip, and three numpy calls where the per-frame cost is the calls, not the arithmetic."""
    out = np.tanh(x * 0.5, dtype=np.float64)
    out += 1.0
    out *= 0.5
    return out


@functools.lru_cache(maxsize=4)
def _window(kernel: int, hm_w: int, channels: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A kernel×kernel window, row by row: each cell's row and column offset from the
    centre, its offset in a flattened (h, w, channels) heatmap, the weights (1, column
    offset, row offset) whose products with the cells' confidence give a window's total and
    its first moments in one matrix product; and, to find a window's centre cell in the
    flattened heatmap, the strides of a (column, row) cell and each channel's offset."""
    half = (kernel - 1) // 2
    d_row, d_col = np.divmod(np.arange(kernel * kernel), kernel)
    d_row, d_col = d_row - half, d_col - half
    flat = (d_row * hm_w + d_col) * channels
    weights = np.column_stack([np.ones(kernel * kernel), d_col, d_row]).astype(np.float64)
    strides = np.array([channels, hm_w * channels])
    return d_row, d_col, flat, weights, strides, np.arange(channels)


def refine_from_heatmap(
    xy_crop01: np.ndarray,
    heatmap: np.ndarray,
    kernel: int = REFINE_KERNEL,
    min_confidence: float = REFINE_MIN_CONFIDENCE,
) -> np.ndarray:
    """Move each landmark to the confidence-weighted centre of its heatmap window.

    `xy_crop01` is (n, 2) in [0, 1] of the crop; `heatmap` (h, w, n) raw logits, channel i
    for landmark i. A landmark moves only where its window's peak confidence reaches
    `min_confidence`. Like MediaPipe, a landmark left or right of the heatmap or above it
    keeps its place, while one just below it is still refined from the rows the window
    keeps (MediaPipe tests the column twice and the row's lower bound only).

    Runs on every frame, just after the model has left the caches cold, where each numpy
    call costs about three times what it costs warm: so it is written in few of them. One
    gather of every window's cells; twice the sigmoid (1 + tanh(x/2): the factor cancels in
    the weighted centre and doubles the threshold); one matrix product for the sums. The
    clipping to the heatmap's edge only when a window reaches past it.
    """
    hm_h, hm_w, channels = heatmap.shape
    n = xy_crop01.shape[0]
    if channels != n:
        raise ValueError(f"heatmap: expected {n} channels (one per landmark), got {channels}")
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"kernel: expected an odd size >= 1, got {kernel}")
    d_row, d_col, flat, weights, strides, lanes = _window(kernel, hm_w, channels)
    half = (kernel - 1) // 2
    # The cast truncates towards zero, as MediaPipe's float → int conversion.
    cells = (xy_crop01 * (hm_w, hm_h)).astype(np.int64)
    (low_c, low_r), (high_c, high_r) = cells.min(axis=0).tolist(), cells.max(axis=0).tolist()
    if min(low_c, low_r) >= half and high_c + half < hm_w and high_r + half < hm_h:
        index = (cells @ strides + lanes)[:, None] + flat
        reach = None
    else:
        cols, rows = cells[:, 0], cells[:, 1]
        win_r, win_c = rows[:, None] + d_row, cols[:, None] + d_col
        reach = (win_r >= 0) & (win_r < hm_h) & (win_c >= 0) & (win_c < hm_w)
        index = ((np.clip(win_r, 0, hm_h - 1) * hm_w + np.clip(win_c, 0, hm_w - 1)) * channels
                 + lanes[:, None])
    twice = np.tanh(np.ravel(heatmap)[index] * 0.5, dtype=np.float64)  # (n, k·k)
    twice += 1.0
    if reach is not None:
        twice *= reach
    sums = twice @ weights  # total, then the column and row moments
    move = twice.max(axis=1) >= 2.0 * min_confidence
    if reach is not None or min_confidence <= 0.0:  # an empty window, or one off the side
        move &= ((cells[:, 0] >= 0) & (cells[:, 0] < hm_w) & (cells[:, 1] >= 0)
                 & (sums[:, 0] > 0))
    # A window that moves has a cell of confidence ≥ min_confidence > 0, so its total is
    # positive; `tiny` only spares the division a zero from the windows that stay.
    centre = (cells + sums[:, 1:] / (sums[:, :1] + np.finfo(np.float64).tiny)) / (hm_w, hm_h)
    out: np.ndarray = np.where(move[:, None], centre, xy_crop01)
    return out


class BlazePose:
    """The `PoseEngine` for BlazePose: `process(frame)` gives a `Pose` or None.

    - `tracking`: take each frame's ROI from the previous frame's landmarks and run the
      detector only when the person is lost (False: detector on every frame, for stills).
    - `smooth_roi`: pass the two auxiliary landmarks that set the next ROI through a One Euro
      filter (`smoothing.AUX_LANDMARKS`) first. MediaPipe 0.10.14 does this whenever it
      tracks, whether or not landmark smoothing is on; it steadies the crop and so the
      landmarks. False takes the ROI from the raw points: the crop lags less behind fast
      moves but jitters more, and the landmarks no longer match MediaPipe's.
    - `mask_on_demand`: run the landmark model cut in two (`edge.pose.split`), its mask
      head only for the frames whose mask is read; the same outputs, and a frame whose mask
      is not read costs about 45 % less. False (or no flatbuffer schema, as with
      tflite-runtime): the whole model on every frame.
    """

    name = "blazepose"

    def __init__(
        self,
        variant: str = "full",
        num_threads: int = 2,
        runtime: RuntimeName = "auto",
        tracking: bool = True,
        models_dir: Path | None = None,
        smooth_roi: bool = True,
        precision: str = "float",
        mask_on_demand: bool = True,
    ) -> None:
        det_name, lm_name = model_names(variant, precision)
        det_path = models_dir / f"{det_name}.tflite" if models_dir else model_path(det_name)
        lm_path = models_dir / f"{lm_name}.tflite" if models_dir else model_path(lm_name)
        self.variant = variant
        self.precision = precision
        self.tracking = tracking
        self.smooth_roi = smooth_roi
        self.detector = PoseDetector(det_path, num_threads, runtime)
        split = cut_landmark_model(lm_path.read_bytes()) if mask_on_demand else None
        self._mask_head: MaskHead | None = None
        if split is None:  # no flatbuffer schema (tflite-runtime): the whole model each frame
            self._interpreter = load_interpreter(lm_path, num_threads, runtime)
        else:
            self._interpreter = load_interpreter(lm_path, num_threads, runtime, split.pose)
            self._mask_head = MaskHead(
                load_interpreter(lm_path, num_threads, runtime, split.mask_head),
                split.features)
        # The model wants pixels scaled to [0, 1].
        self._input = PixelInput(self._interpreter, self._interpreter.get_input_details()[0],
                                 1.0 / 255.0, 0.0)
        self._read = Outputs(self._interpreter)
        self._outputs = self._map_outputs()
        # The outputs the mask head reads, copied out of each frame (none: the whole model).
        index_of = {d["name"]: d["index"] for d in self._interpreter.get_output_details()}
        self._features = tuple(index_of[name] for name in
                               (self._mask_head.features if self._mask_head else ()))
        # Each landmark crop, before it goes to the model, when set (the int8 build's
        # calibration collects them).
        self.crop_sink: Callable[[np.ndarray], None] | None = None
        self._roi: Roi | None = None
        self._stage: np.ndarray | None = None  # Roi.crop's scratch copy of the frame
        self._aux_filter = OneEuroFilter(AUX_LANDMARKS)
        self.frames = 0
        self.detector_runs = 0

    def _map_outputs(self) -> dict[str, int]:
        by_shape: dict[str, int] = {}
        features = self._mask_head.features if self._mask_head is not None else ()
        for d in self._interpreter.get_output_details():
            shape = tuple(int(v) for v in d["shape"])
            if d["name"] in features:
                continue
            if shape == (1, NUM_OUTPUT_LANDMARKS * 5):
                by_shape["landmarks"] = d["index"]
            elif shape == (1, NUM_OUTPUT_LANDMARKS * 3):
                by_shape["world"] = d["index"]
            elif shape == (1, 1):
                by_shape["presence"] = d["index"]
            elif _is_mask_shape(shape):
                by_shape["mask"] = d["index"]
            elif len(shape) == 4 and shape[-1] == NUM_OUTPUT_LANDMARKS:
                by_shape["heatmap"] = d["index"]
        wanted = {"landmarks", "world", "presence", "heatmap"}
        if self._mask_head is None:
            wanted.add("mask")
        missing = wanted - set(by_shape)
        if missing:
            raise ValueError(f"landmark model lacks outputs {sorted(missing)}")
        return by_shape

    def reset(self) -> None:
        """Forget the tracked ROI and its filter: the next frame runs the detector."""
        self._roi = None
        self._aux_filter.reset()

    @property
    def detector_share(self) -> float:
        return self.detector_runs / self.frames if self.frames else 0.0

    def process(self, frame: Frame) -> Pose | None:
        self.frames += 1
        rgb = frame.rgb
        roi = self._roi if self.tracking else None
        if roi is None:
            self.detector_runs += 1
            # A new track: the ROI filter's history belongs to the lost one (MediaPipe resets
            # it on the frame the landmarks disappear).
            self._aux_filter.reset()
            detection = self.detector.detect(rgb)
            if detection is None:
                self._roi = None
                return None
            roi = roi_from_alignment(detection.keypoints_px[0], detection.keypoints_px[1])
        pose, aux_px = self.landmarks_in(frame, roi)
        if pose is None or not self.tracking:
            self._roi = None
            return pose
        self._roi = self._next_roi(frame.t_s, aux_px)
        return pose

    def _next_roi(self, t_s: float, aux_px: np.ndarray) -> Roi:
        """The next frame's ROI from this frame's auxiliary points (px), filtered if asked.

        The filter's value scale comes from the raw points, as in MediaPipe, where the
        object-scale ROI is built from the unfiltered auxiliary landmarks.
        """
        if self.smooth_roi:
            scale = alignment_scale_px(aux_px)
            if scale >= MIN_OBJECT_SCALE:
                aux_px = self._aux_filter(t_s, aux_px, 1.0 / scale)
        return roi_from_alignment(aux_px[0], aux_px[1])

    def _draw_crop(self, rgb: np.ndarray, roi: Roi, target: np.ndarray) -> np.ndarray:
        """Draw the ROI's crop into `target` (the model's input, where it can take pixels
        as they are); return its crop→frame affine."""
        _, affine = roi.crop(rgb, INPUT_SIZE, cv2.BORDER_REPLICATE, self._stage, out=target)
        if self.crop_sink is not None:
            self.crop_sink(target.copy())
        return affine

    def landmarks_in(self, frame: Frame, roi: Roi) -> tuple[Pose | None, np.ndarray]:
        """Run the landmark model on one ROI; also return the two auxiliary points (px).

        The pose's `aux_xy_norm` holds the raw auxiliary points: MediaPipe's landmark
        smoothing takes its object scale from those, not from the filtered ones.
        """
        rgb = frame.rgb
        if self._stage is None or self._stage.shape != rgb.shape or self._stage.dtype != rgb.dtype:
            self._stage = np.empty_like(rgb)
        affine = self._input.fill(partial(self._draw_crop, rgb, roi))
        self._interpreter.invoke()
        read = self._read
        presence = float(read.get(self._outputs["presence"])[0, 0])
        if presence < MIN_PRESENCE:
            return None, np.zeros((2, 2))
        raw = read.get(self._outputs["landmarks"])[0].reshape(NUM_OUTPUT_LANDMARKS, 5)
        # A float heatmap is read in place (640 kB not copied), used before the next invoke.
        xy01 = refine_from_heatmap(raw[:, :2] / INPUT_SIZE,  # exact: a power of two
                                   read.view(self._outputs["heatmap"])[0])
        xy_px = apply_affine(affine, xy01 * INPUT_SIZE)
        w, h = frame.resolution_wh
        xy_norm = xy_px / (w, h)
        # MediaPipe scales z like x: over the crop, then by the ROI's width in the frame.
        z_norm = np.multiply(raw[:NUM_JOINTS, 2], roi.size_px / (INPUT_SIZE * w),
                             dtype=np.float64)
        visibility = _sigmoid(raw[:NUM_JOINTS, 3])
        world = read.get(self._outputs["world"])[0].reshape(NUM_OUTPUT_LANDMARKS, 3)
        # The world landmarks turned by the ROI's rotation about the depth axis.
        c, s = math.cos(roi.rotation_rad), math.sin(roi.rotation_rad)
        turn = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        world_m = np.matmul(world[:NUM_JOINTS], turn, dtype=np.float64)
        if self._mask_head is None:
            # A copy (it outlives the next invoke); its sigmoid waits until the mask is read.
            segmentation = Segmentation.from_logits(
                read.get(self._outputs["mask"])[0, :, :, 0], affine)
        else:
            # The mask head's features, copied (they outlive the next invoke): the head runs
            # only if the mask is read.
            features = tuple(self._interpreter.get_tensor(i) for i in self._features)
            segmentation = Segmentation.deferred(partial(self._mask_head.logits, features),
                                                 affine)
        pose = Pose(
            t_s=frame.t_s,
            resolution_wh=(w, h),
            xy_norm=xy_norm[:NUM_JOINTS],
            visibility=visibility,
            presence=presence,
            z_norm=z_norm,
            world_m=world_m,
            segmentation=segmentation,
            aux_xy_norm=xy_norm[[AUX_CENTER, AUX_SCALE]],
            engine=f"blazepose-{self.variant}",
        )
        return pose, xy_px[[AUX_CENTER, AUX_SCALE]]
