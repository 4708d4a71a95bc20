"""The camera's faults applied to a clean render: defocus, motion blur, sensor noise, JPEG."""

from __future__ import annotations

import os

import cv2
import numpy as np


def motion_kernel(length_px: float, angle_deg: float) -> np.ndarray:
    n = 2 * int(np.ceil(length_px / 2)) + 1  # odd, covering ±length/2
    k = np.zeros((n, n), np.float32)
    c = n // 2
    a = np.radians(angle_deg)
    for t in np.linspace(-length_px / 2, length_px / 2, 4 * n):
        k[int(round(c + t * np.sin(a))), int(round(c + t * np.cos(a)))] = 1.0
    return k / k.sum()


def degrade(img: np.ndarray, sc, seed: int) -> np.ndarray:
    """`img`: uint8 BGR. Same scene, same result (the noise is seeded)."""
    out = img.astype(np.float32)
    if sc.blur_sigma_px > 0:
        out = cv2.GaussianBlur(out, (0, 0), sc.blur_sigma_px)
    if sc.motion_px > 0:
        out = cv2.filter2D(out, -1, motion_kernel(sc.motion_px, sc.motion_deg))
    if sc.noise_sigma > 0:
        rng = np.random.default_rng(seed)
        out = out + rng.normal(0.0, sc.noise_sigma, out.shape).astype(np.float32)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    if sc.jpeg_quality:
        ok, buf = cv2.imencode('.jpg', out, [cv2.IMWRITE_JPEG_QUALITY, sc.jpeg_quality])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def finish(raw: str, final: str, sc, seed: int | None = None) -> None:
    img = cv2.imread(raw, cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError(f'{raw}: the render wrote no readable picture')
    tmp = os.path.join(os.path.dirname(final), '.' + os.path.basename(final))
    if not cv2.imwrite(tmp + '.png', degrade(img, sc, sc.index if seed is None else seed)):
        raise RuntimeError(f'{final}: could not write')
    os.replace(tmp + '.png', final)
