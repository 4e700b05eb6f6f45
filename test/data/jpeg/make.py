#!/usr/bin/env python3
"""JPEG test images and what Pillow (libjpeg-turbo) makes of them.

Run with a Python that has Pillow and numpy (Debian's /usr/bin/python3 with python3-pil):
    python3 test/data/jpeg/make.py

Writes the JPEGs next to this script and expected.json: for each JPEG, Pillow's decoded RGB
(Image.open(f).convert('RGB'), base64 of the raw bytes) and the iGPT tokens of it: resized to 32x32
with Pillow's Image.resize((32, 32), Image.BILINEAR) when it is another size, then x / 127.5 - 1 and
the nearest of the reference fixture's clusters (float64, first minimum).
"""
import base64
import json
import os

import numpy as np
import PIL
from PIL import Image, features

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "imagegpt-tiny-a")


def shapes(w, h, seed):
    """Flat colours with sharp edges (hard on chroma upsampling) plus a little noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3))
    img[:] = (40, 90, 200)
    img[(x - w * 0.35) ** 2 + (y - h * 0.4) ** 2 < (min(w, h) * 0.25) ** 2] = (230, 40, 30)
    img[(x > w * 0.55) & (y > h * 0.5)] = (250, 220, 20)
    img[(abs(x - y) < 2)] = (20, 160, 60)
    img += rng.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


def gradient(w, h):
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 / (w - 1), y * 255 / (h - 1), 128 + 100 * np.sin(x / 4.0 + y / 7.0)], -1)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


image32 = Image.open(os.path.join(FIXTURE, "image32.png")).convert("RGB")
image_odd = Image.open(os.path.join(FIXTURE, "image_odd.png")).convert("RGB")

CASES = [
    # file, image, save options
    ("image32_q90_420.jpg", image32, dict(quality=90, subsampling=2)),
    ("image32_q75_444.jpg", image32, dict(quality=75, subsampling=0)),
    ("image32_q50_422.jpg", image32, dict(quality=50, subsampling=1)),
    ("shapes32_q85_420.jpg", shapes(32, 32, 1), dict(quality=85, subsampling=2)),
    ("shapes32_q95_444.jpg", shapes(32, 32, 2), dict(quality=95, subsampling=0)),
    ("image_odd_q85_420.jpg", image_odd, dict(quality=85, subsampling=2)),
    ("shapes_97x61_q80_420_progressive.jpg", shapes(97, 61, 3), dict(quality=80, subsampling=2, progressive=True)),
    ("gradient48x40_q90_444.jpg", gradient(48, 40), dict(quality=90, subsampling=0)),
    ("shapes32_gray.jpg", shapes(32, 32, 4).convert("L"), dict(quality=90)),
    # CMYK (Adobe): libjpeg-turbo's TurboJPEG cannot make RGB of it; decoded by jpeg-js instead.
    ("shapes32_cmyk.jpg", shapes(32, 32, 5).convert("CMYK"), dict(quality=90)),
]

clusters = np.array(json.load(open(os.path.join(FIXTURE, "preprocessor_config.json")))["clusters"], dtype=np.float64)


def tokens(rgb):
    if rgb.size != (32, 32):
        rgb = rgb.resize((32, 32), Image.BILINEAR)
    x = np.asarray(rgb, dtype=np.float64).reshape(-1, 3) / 127.5 - 1
    d = ((x[:, None, :] - clusters[None, :, :]) ** 2).sum(-1)
    return d.argmin(1).tolist()


out = {
    "made_with": f"Pillow {PIL.__version__}, libjpeg {features.version('jpg')}, libjpeg-turbo {features.check_feature('libjpeg_turbo')}",
    "images": [],
}
for name, img, opts in CASES:
    path = os.path.join(HERE, name)
    img.save(path, **opts)
    with Image.open(path) as f:
        layers = f.layers
        rgb = f.convert("RGB")
    out["images"].append(
        {
            "file": name,
            "width": rgb.size[0],
            "height": rgb.size[1],
            "save": opts,
            "components": layers,
            "rgb_base64": base64.b64encode(rgb.tobytes()).decode(),
            "tokens": tokens(rgb),
        }
    )
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(out, f)
    f.write("\n")
print(out["made_with"], len(CASES), "images")
