"""The engine's work around the model, made cheaper without changing what comes out: the
crop through a staged copy of the frame, the int8 input as a bit flip, the mask's sigmoid
left until it is read."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from edge.pose.landmarks import Segmentation
from edge.pose.models import model_names, model_path
from edge.pose.roi import Roi, region_read
from edge.pose.runtime import load_interpreter
from edge.pose.tensors import PixelInput
from tests.int8_models import need_int8

H, W = 480, 640


@pytest.mark.parametrize(
    "roi",
    [
        pytest.param(Roi((320.0, 240.0), 300.0, 0.4), id="rotated, inside"),
        pytest.param(Roi((320.0, 240.0), 300.0, 0.0), id="upright"),
        pytest.param(Roi((20.0, 10.0), 400.0, -1.2), id="over the top-left corner"),
        pytest.param(Roi((600.0, 470.0), 250.0, math.pi), id="over the bottom-right corner"),
        pytest.param(Roi((320.0, -400.0), 200.0, 0.3), id="wholly above the frame"),
        pytest.param(Roi((320.0, 900.0), 200.0, -0.3), id="wholly below the frame"),
        pytest.param(Roi((320.0, 240.0), 2000.0, 0.7), id="larger than the frame"),
        pytest.param(Roi((-300.0, 240.0), 200.0, 0.2), id="wholly left of the frame"),
        pytest.param(Roi((950.0, 240.0), 200.0, -0.2), id="wholly right of the frame"),
        pytest.param(Roi((330.0, 250.0), 120.0, 0.9), id="a narrow column, rotated"),
    ],
)
@pytest.mark.parametrize("border", [cv2.BORDER_REPLICATE, cv2.BORDER_CONSTANT])
def test_a_staged_crop_equals_the_direct_one(roi: Roi, border: int) -> None:
    rgb = np.random.default_rng(3).integers(0, 256, (H, W, 3), dtype=np.uint8)
    # Stale pixels left in the stage from another frame must not reach the crop.
    stage = np.full_like(rgb, 255)
    direct, affine = roi.crop(rgb, 256, border)
    staged, staged_affine = roi.crop(rgb, 256, border, stage)
    np.testing.assert_array_equal(staged, direct)
    np.testing.assert_array_equal(staged_affine, affine)


def test_region_read_is_the_crops_rows_and_columns_and_a_margin() -> None:
    # Upright, 100 px square centred at (320, 240): rows 190..290, columns 270..370.
    affine = Roi((320.0, 240.0), 100.0, 0.0).crop_to_frame(256)
    assert region_read(affine, 256, H, W) == (slice(188, 293), slice(268, 373))
    # Wholly outside: the one border row or column that replicates.
    rows, _ = region_read(Roi((320.0, -400.0), 100.0).crop_to_frame(256), 256, H, W)
    assert rows == slice(0, 1)
    rows, _ = region_read(Roi((320.0, 900.0), 100.0).crop_to_frame(256), 256, H, W)
    assert rows == slice(H - 1, H)
    _, cols = region_read(Roi((-300.0, 240.0), 100.0).crop_to_frame(256), 256, H, W)
    assert cols == slice(0, 1)
    _, cols = region_read(Roi((950.0, 240.0), 100.0).crop_to_frame(256), 256, H, W)
    assert cols == slice(W - 1, W)


def _sigmoid_as_before(logits: np.ndarray) -> np.ndarray:
    """The engine's sigmoid before it was deferred, in place on a copy."""
    mask = logits.copy()
    np.clip(mask, -80.0, 80.0, out=mask)
    np.negative(mask, out=mask)
    np.exp(mask, out=mask)
    mask += 1.0
    np.reciprocal(mask, out=mask)
    return mask


def test_a_mask_from_logits_is_their_sigmoid_worked_out_once() -> None:
    logits = np.random.default_rng(4).normal(0.0, 20.0, (256, 256)).astype(np.float32)
    logits[0, :4] = [-500.0, 500.0, 0.0, -80.0]
    kept = logits.copy()
    seg = Segmentation.from_logits(logits, np.eye(2, 3))
    mask = seg.mask
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask, _sigmoid_as_before(kept))
    np.testing.assert_array_equal(logits, kept)  # the logits are not overwritten
    assert seg.mask is mask  # worked out once


def test_a_segmentation_checks_its_shapes() -> None:
    with pytest.raises(ValueError, match="mask: expected 2 dimensions"):
        Segmentation(np.zeros((4, 4, 1)), np.eye(2, 3))
    with pytest.raises(ValueError, match="crop_to_frame"):
        Segmentation.from_logits(np.zeros((4, 4)), np.eye(3))


def test_an_int8_input_other_than_pixel_minus_128_goes_through_its_table() -> None:
    """The int8 detector wants 2·p/255 − 1 quantised (not p − 128): the table, not the flip."""
    need_int8("full")
    it = load_interpreter(model_path("pose_detection_int8"))
    detail = it.get_input_details()[0]
    scale, zero_point = detail["quantization"]
    feed = PixelInput(it, detail, 2.0 / 255.0, -1.0)
    pixels = np.random.default_rng(5).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    feed.write(pixels)
    wanted = np.clip(np.round((pixels * (2.0 / 255.0) - 1.0) / scale + zero_point), -128, 127)
    np.testing.assert_array_equal(it.get_tensor(feed.index)[0], wanted.astype(np.int8))
    assert not np.array_equal(wanted, pixels.astype(np.int16) - 128)


def test_a_crop_drawn_into_a_given_array_is_the_same_crop() -> None:
    rgb = np.random.default_rng(6).integers(0, 256, (H, W, 3), dtype=np.uint8)
    roi = Roi((300.0, 250.0), 280.0, 0.3)
    out = np.zeros((256, 256, 3), np.uint8)
    patch, affine = roi.crop(rgb, 256, cv2.BORDER_REPLICATE, np.empty_like(rgb), out=out)
    assert patch is out
    direct, direct_affine = roi.crop(rgb, 256, cv2.BORDER_REPLICATE)
    np.testing.assert_array_equal(out, direct)
    np.testing.assert_array_equal(affine, direct_affine)
    with pytest.raises(ValueError, match="out: expected a writable"):
        roi.crop(rgb, 256, cv2.BORDER_REPLICATE, out=np.zeros((256, 256), np.uint8))


@pytest.mark.parametrize("precision", ["int8", "float"])
def test_a_picture_drawn_into_the_input_is_what_writing_it_gives(precision: str) -> None:
    """`fill` draws the crop straight into an int8 model's buffer and flips it there; a
    float model gets it from a scratch array: either way the input `write` would make."""
    if precision == "int8":
        need_int8("full")
    it = load_interpreter(model_path(model_names("full", precision)[1]))
    feed = PixelInput(it, it.get_input_details()[0], 1.0 / 255.0, 0.0)
    pixels = np.random.default_rng(7).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    feed.write(pixels)
    written = it.get_tensor(feed.index).copy()

    def draw(target: np.ndarray) -> str:
        target[...] = pixels
        return "drawn"

    it.set_tensor(feed.index, np.zeros_like(written))
    assert feed.fill(draw) == "drawn"
    np.testing.assert_array_equal(it.get_tensor(feed.index), written)
    it.invoke()  # no view of the input's buffer is left behind
