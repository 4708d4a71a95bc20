"""BlazePose GHUM in two stages: detector when tracking is lost, then landmarks on an ROI.

Faithful to MediaPipe 0.10.14's pose_landmark graph: the next frame's ROI comes from the
two auxiliary landmarks (33, 34), so the detector runs only on the first frame and when
the person is lost.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from edge.capture.frames import Frame
from edge.pose.detector import PoseDetector
from edge.pose.landmarks import NUM_JOINTS, Pose, Segmentation
from edge.pose.models import VARIANTS, model_path
from edge.pose.roi import Roi, apply_affine, roi_from_alignment
from edge.pose.runtime import RuntimeName, load_interpreter

INPUT_SIZE = 256
NUM_OUTPUT_LANDMARKS = 39  # 33 body landmarks, then 6 auxiliary ones
AUX_CENTER, AUX_SCALE = 33, 34
# Below this presence the frame has no person and tracking restarts with the detector.
# Raising it drops partly visible people sooner.
MIN_PRESENCE = 0.5
# Heatmap refinement: a 7×7 window around each landmark, used only where the heatmap is
# confident (≥ 0.5); a larger kernel averages over more of a blurry peak.
REFINE_KERNEL = 7
REFINE_MIN_CONFIDENCE = 0.5


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def refine_from_heatmap(xy_crop01: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Move each landmark to the confidence-weighted centre of its heatmap window.

    `xy_crop01` is (n, 2) in [0, 1] of the crop; `heatmap` (h, w, n) raw logits.
    """
    hm_h, hm_w, _ = heatmap.shape
    out = xy_crop01.copy()
    offset = (REFINE_KERNEL - 1) // 2
    cols = (xy_crop01[:, 0] * hm_w).astype(np.int64)
    rows = (xy_crop01[:, 1] * hm_h).astype(np.int64)
    for i in range(xy_crop01.shape[0]):
        c, r = int(cols[i]), int(rows[i])
        if c < 0 or c >= hm_w or r < 0 or r >= hm_h:
            continue
        r0, r1 = max(0, r - offset), min(hm_h, r + offset + 1)
        c0, c1 = max(0, c - offset), min(hm_w, c + offset + 1)
        conf = _sigmoid(heatmap[r0:r1, c0:c1, i].astype(np.float64))
        total = conf.sum()
        if conf.max() >= REFINE_MIN_CONFIDENCE and total > 0:
            rr, cc = np.mgrid[r0:r1, c0:c1]
            out[i, 0] = (cc * conf).sum() / hm_w / total
            out[i, 1] = (rr * conf).sum() / hm_h / total
    return out


class BlazePose:
    """The `PoseEngine` for BlazePose: `process(frame)` gives a `Pose` or None."""

    name = "blazepose"

    def __init__(
        self,
        variant: str = "full",
        num_threads: int = 2,
        runtime: RuntimeName = "auto",
        tracking: bool = True,
        models_dir: Path | None = None,
    ) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"variant: expected one of {sorted(VARIANTS)}, got {variant!r}")
        det_name, lm_name = VARIANTS[variant]
        det_path = models_dir / f"{det_name}.tflite" if models_dir else model_path(det_name)
        lm_path = models_dir / f"{lm_name}.tflite" if models_dir else model_path(lm_name)
        self.variant = variant
        self.tracking = tracking
        self.detector = PoseDetector(det_path, num_threads, runtime)
        self._interpreter = load_interpreter(lm_path, num_threads, runtime)
        self._input_index = self._interpreter.get_input_details()[0]["index"]
        self._outputs = self._map_outputs()
        self._roi: Roi | None = None
        self.frames = 0
        self.detector_runs = 0

    def _map_outputs(self) -> dict[str, int]:
        by_shape: dict[str, int] = {}
        for d in self._interpreter.get_output_details():
            shape = tuple(int(v) for v in d["shape"])
            if shape == (1, NUM_OUTPUT_LANDMARKS * 5):
                by_shape["landmarks"] = d["index"]
            elif shape == (1, NUM_OUTPUT_LANDMARKS * 3):
                by_shape["world"] = d["index"]
            elif shape == (1, 1):
                by_shape["presence"] = d["index"]
            elif len(shape) == 4 and shape[-1] == 1:
                by_shape["mask"] = d["index"]
            elif len(shape) == 4 and shape[-1] == NUM_OUTPUT_LANDMARKS:
                by_shape["heatmap"] = d["index"]
        missing = {"landmarks", "world", "presence", "mask", "heatmap"} - set(by_shape)
        if missing:
            raise ValueError(f"landmark model lacks outputs {sorted(missing)}")
        return by_shape

    def reset(self) -> None:
        """Forget the tracked ROI: the next frame runs the detector."""
        self._roi = None

    @property
    def detector_share(self) -> float:
        return self.detector_runs / self.frames if self.frames else 0.0

    def process(self, frame: Frame) -> Pose | None:
        self.frames += 1
        rgb = frame.rgb
        roi = self._roi if self.tracking else None
        if roi is None:
            self.detector_runs += 1
            detection = self.detector.detect(rgb)
            if detection is None:
                self._roi = None
                return None
            roi = roi_from_alignment(detection.keypoints_px[0], detection.keypoints_px[1])
        pose, aux_px = self.landmarks_in(frame, roi)
        self._roi = roi_from_alignment(aux_px[0], aux_px[1]) if pose is not None else None
        return pose

    def landmarks_in(self, frame: Frame, roi: Roi) -> tuple[Pose | None, np.ndarray]:
        """Run the landmark model on one ROI; also return the two auxiliary points (px)."""
        patch, affine = roi.crop(frame.rgb, INPUT_SIZE, cv2.BORDER_REPLICATE)
        tensor = patch.astype(np.float32) * (1.0 / 255.0)
        it = self._interpreter
        it.set_tensor(self._input_index, tensor[None])
        it.invoke()
        presence = float(it.get_tensor(self._outputs["presence"])[0, 0])
        if presence < MIN_PRESENCE:
            return None, np.zeros((2, 2))
        raw = it.get_tensor(self._outputs["landmarks"])[0].reshape(NUM_OUTPUT_LANDMARKS, 5)
        heatmap = it.get_tensor(self._outputs["heatmap"])[0]
        xy01 = refine_from_heatmap(raw[:, :2].astype(np.float64) / INPUT_SIZE, heatmap)
        xy_px = apply_affine(affine, xy01 * INPUT_SIZE)
        w, h = frame.resolution_wh
        xy_norm = xy_px / np.array([w, h], dtype=np.float64)
        # MediaPipe scales z like x: over the crop, then by the ROI's width in the frame.
        z_norm = raw[:NUM_JOINTS, 2].astype(np.float64) / INPUT_SIZE * roi.size_px / w
        visibility = _sigmoid(raw[:NUM_JOINTS, 3].astype(np.float64))
        world = it.get_tensor(self._outputs["world"])[0].reshape(NUM_OUTPUT_LANDMARKS, 3)
        world = world[:NUM_JOINTS].astype(np.float64)
        c, s = np.cos(roi.rotation_rad), np.sin(roi.rotation_rad)
        world_m = np.column_stack(
            [c * world[:, 0] - s * world[:, 1], s * world[:, 0] + c * world[:, 1], world[:, 2]]
        )
        mask = _sigmoid(it.get_tensor(self._outputs["mask"])[0, :, :, 0].astype(np.float32))
        pose = Pose(
            t_s=frame.t_s,
            resolution_wh=(w, h),
            xy_norm=xy_norm[:NUM_JOINTS],
            visibility=visibility,
            presence=presence,
            z_norm=z_norm,
            world_m=world_m,
            segmentation=Segmentation(mask=mask, crop_to_frame=affine),
            aux_xy_norm=xy_norm[[AUX_CENTER, AUX_SCALE]],
            engine=f"blazepose-{self.variant}",
        )
        return pose, xy_px[[AUX_CENTER, AUX_SCALE]]
