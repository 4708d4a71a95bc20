"""BlazePose's person detector: SSD anchors, box decoding and weighted non-max suppression.

Every constant below is MediaPipe 0.10.14's pose_detection graph configuration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.pose.roi import Roi, apply_affine
from edge.pose.runtime import RuntimeName, load_interpreter
from edge.pose.tensors import Outputs, PixelInput

INPUT_SIZE = 224
NUM_LAYERS = 5
STRIDES = (8, 16, 32, 32, 32)
MIN_SCALE = 0.1484375
MAX_SCALE = 0.75
ANCHOR_OFFSET = 0.5
# Sigmoid inputs are clipped to ±100 before the score threshold, as the graph does.
SCORE_CLIP = 100.0
# A detection below this score is no person. Raising it misses small or partial people.
MIN_SCORE = 0.5
# Boxes overlapping more than this (IoU) are merged into one weighted detection.
NMS_IOU = 0.3
NUM_KEYPOINTS = 4


def ssd_anchors() -> np.ndarray:
    """(2254, 2) anchor centres in [0, 1].

    The graph uses fixed-size anchors (width = height = 1), so the per-layer scales
    (MIN_SCALE → MAX_SCALE) do not enter the decoding: only how many anchors each cell has.
    """
    centres: list[tuple[float, float]] = []
    layer = 0
    while layer < NUM_LAYERS:
        per_cell = 0
        last = layer
        while last < NUM_LAYERS and STRIDES[last] == STRIDES[layer]:
            per_cell += 2  # aspect ratio 1.0, plus the interpolated scale
            last += 1
        cells = math.ceil(INPUT_SIZE / STRIDES[layer])
        for y in range(cells):
            for x in range(cells):
                centres.extend([((x + ANCHOR_OFFSET) / cells, (y + ANCHOR_OFFSET) / cells)]
                               * per_cell)
        layer = last
    return np.asarray(centres, dtype=np.float32)


@dataclass(frozen=True)
class Detection:
    """A person found by the detector, in frame pixels."""

    score: float
    box_xyxy_px: np.ndarray
    keypoints_px: np.ndarray  # (4, 2): hip centre, its scale point, shoulder centre, its point


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(
    scores: np.ndarray, boxes: np.ndarray, keypoints: np.ndarray
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """MediaPipe's weighted NMS; returns (score, box, keypoints) per cluster, best first."""
    order = list(np.argsort(-scores, kind="stable"))
    out: list[tuple[float, np.ndarray, np.ndarray]] = []
    while order:
        best = order[0]
        rest = np.asarray(order)
        overlap = _iou(boxes[best], boxes[rest])
        members = rest[overlap > NMS_IOU]
        if members.size == 0:
            members = np.asarray([best])
        w = scores[members][:, None]
        total = float(w.sum())
        box = (boxes[members] * w).sum(axis=0) / total
        kps = (keypoints[members] * w[:, :, None]).sum(axis=0) / total
        out.append((float(scores[best]), box, kps))
        order = [int(i) for i in rest[overlap <= NMS_IOU] if i != best]
    return out


class PoseDetector:
    """Finds the most confident person in a frame."""

    def __init__(self, model: Path, num_threads: int = 2, runtime: RuntimeName = "auto") -> None:
        self._interpreter = load_interpreter(model, num_threads, runtime)
        inp = self._interpreter.get_input_details()[0]
        if tuple(inp["shape"]) != (1, INPUT_SIZE, INPUT_SIZE, 3):
            raise ValueError(f"{model}: expected a 1×224×224×3 detector, got {inp['shape']}")
        # The model wants pixels scaled to [-1, 1].
        self._input = PixelInput(self._interpreter, inp, 2.0 / 255.0, -1.0)
        self._outputs = Outputs(self._interpreter)
        outs = sorted(self._interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self._scores_index = outs[0]["index"]  # (1, 2254, 1)
        self._boxes_index = outs[1]["index"]  # (1, 2254, 12)
        self._anchors = ssd_anchors()

    @staticmethod
    def letterbox(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The detector's input picture (the whole frame in a square, black border) and its
        crop→frame affine."""
        h, w = rgb.shape[:2]
        roi = Roi((w / 2.0, h / 2.0), float(max(w, h)), 0.0)
        return roi.crop(rgb, INPUT_SIZE, cv2.BORDER_CONSTANT)

    def detect(self, rgb: np.ndarray) -> Detection | None:
        patch, affine = self.letterbox(rgb)
        self._input.write(patch)
        self._interpreter.invoke()
        raw_scores = self._outputs.get(self._scores_index)[0, :, 0]
        raw = self._outputs.get(self._boxes_index)[0]
        clipped = np.clip(raw_scores.astype(np.float64), -SCORE_CLIP, SCORE_CLIP)
        scores = 1.0 / (1.0 + np.exp(-clipped))
        keep = np.flatnonzero(scores >= MIN_SCORE)
        if keep.size == 0:
            return None
        raw = raw[keep] / INPUT_SIZE
        anchors = self._anchors[keep]
        centre = raw[:, 0:2] + anchors
        half = raw[:, 2:4] / 2.0
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        kps = raw[:, 4:12].reshape(-1, NUM_KEYPOINTS, 2) + anchors[:, None, :]
        score, box, kp = weighted_nms(scores[keep], boxes, kps)[0]
        to_px = INPUT_SIZE
        box_px = apply_affine(affine, box.reshape(2, 2) * to_px).reshape(4)
        kp_px = apply_affine(affine, kp * to_px)
        return Detection(score, box_px, kp_px)
