"""Synthetic SEM-like micrographs of pores in activated carbon, with binary pore masks.

Each image is rendered from its own generator ``np.random.default_rng([seed, index])``, so any pair
can be regenerated alone and a dataset written twice is byte-identical. All lengths are defined at
256x256 and scaled with ``size``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REF_SIZE = 256
BAR_FRACTION = 0.07
MIN_FG, MAX_FG = 0.012, 0.30


def _fractal_noise(rng: np.random.Generator, size: int, beta: float) -> np.ndarray:
    """Zero-mean, unit-std noise with a ``1/f**beta`` power spectrum."""
    white = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    f[0, 0] = 1.0
    spectrum = np.fft.rfft2(white) * f ** (-beta / 2.0)
    spectrum[0, 0] = 0.0
    out = np.fft.irfft2(spectrum, s=(size, size))
    return (out - out.mean()) / (out.std() + 1e-12)


def _gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur with reflected borders."""
    if sigma < 0.2:
        return img
    radius = max(1, int(3.0 * sigma + 0.5))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    padded = np.pad(img, radius, mode="reflect")
    h, w = img.shape
    rows = sum(t * padded[:, i : i + w] for i, t in enumerate(taps))
    return sum(t * rows[i : i + h, :] for i, t in enumerate(taps))


def _sample_diameter(rng: np.random.Generator, scale: float) -> float:
    """Heavy-tailed (Pareto) pore diameter in pixels: many small pores, few big ones."""
    d = 2.5 * (1.0 - rng.random()) ** (-1.0 / 1.15)
    return min(d, 100.0) * scale


def _add_pore(
    rng: np.random.Generator,
    diameter: float,
    mask: np.ndarray,
    depth: np.ndarray,
    rim: np.ndarray,
    scale: float,
) -> None:
    """Rasterise one irregular elliptic pore into mask, depth and rim maps (in place)."""
    size = mask.shape[0]
    aspect = 1.0 + rng.gamma(1.5, 0.35)
    a = diameter / 2.0 * np.sqrt(aspect)
    b = diameter / 2.0 / np.sqrt(aspect)
    angle = rng.uniform(0.0, np.pi)
    irregular = rng.uniform(0.0, 0.12) if diameter < 8 * scale else rng.uniform(0.05, 0.3)
    harm = np.arange(2, 7)
    amps = irregular * rng.standard_normal(harm.size) / harm
    phases = rng.uniform(0.0, 2 * np.pi, harm.size)
    cy, cx = rng.uniform(-0.05 * size, 1.05 * size, 2)
    shallow = diameter > 10 * scale and rng.random() < 0.25
    well = rng.uniform(0.5, 0.75) if shallow else rng.uniform(0.8, 1.0)
    rim_px = rng.uniform(1.0, 2.5) * scale + 0.5
    rim_gain = rng.uniform(0.5, 1.0) * min(1.0, diameter / (10 * scale))

    reach = a * (1.0 + np.abs(amps).sum()) + rim_px + 1
    y0, y1 = max(0, int(cy - reach)), min(size, int(cy + reach) + 2)
    x0, x1 = max(0, int(cx - reach)), min(size, int(cx + reach) + 2)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    dy, dx = yy + 0.5 - cy, xx + 0.5 - cx
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    theta = np.arctan2(v, u)
    ellipse_r = a * b / np.sqrt((b * np.cos(theta)) ** 2 + (a * np.sin(theta)) ** 2)
    wobble = 1.0 + (amps[:, None, None] * np.cos(harm[:, None, None] * theta + phases[:, None, None])).sum(0)
    boundary = ellipse_r * np.clip(wobble, 0.4, None)
    dist = np.hypot(u, v) - boundary

    inside = dist < 0
    mask[y0:y1, x0:x1] |= inside
    wall = max(0.8 * scale + 0.4, 0.12 * boundary.mean())
    d = well * np.clip(-dist / wall, 0.0, 1.0) ** 0.7
    np.maximum(depth[y0:y1, x0:x1], d, out=depth[y0:y1, x0:x1])
    r = rim_gain * np.clip(1.0 - np.abs(dist + 0.3) / rim_px, 0.0, 1.0)
    np.maximum(rim[y0:y1, x0:x1], r, out=rim[y0:y1, x0:x1])


def _pore_maps(rng: np.random.Generator, size: int, bar: int) -> tuple[np.ndarray, ...]:
    """Pore mask, depth map (0..1) and rim map, filled up to a random foreground target."""
    scale = size / REF_SIZE
    target = float(np.clip(rng.lognormal(np.log(0.07), 0.75), MIN_FG, MAX_FG))
    mask = np.zeros((size, size), bool)
    depth = np.zeros((size, size))
    rim = np.zeros((size, size))
    total = size * size
    for _ in range(2000):
        fg = mask[: size - bar].sum() / total
        if fg >= target:
            break
        room = (target - fg) * total
        diameter = min(_sample_diameter(rng, scale), 2.0 * np.sqrt(1.2 * room / np.pi) + 1.0)
        _add_pore(rng, diameter, mask, depth, rim, scale)
    rim[mask] *= 0.35
    return mask, depth, rim


def _shadows(rng: np.random.Generator, size: int) -> np.ndarray:
    """Large, smooth, rimless dark regions (0 = none, 1 = full shadow)."""
    field = _fractal_noise(rng, size, 4.5)
    cover = rng.uniform(0.03, 0.2)
    level = np.quantile(field, 1.0 - cover)
    soft = rng.uniform(0.5, 1.2)
    return 1.0 / (1.0 + np.exp(-(field - level) / soft))


def _debris(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Bright, soft-edged particles lying on the surface."""
    out = np.zeros((size, size))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    for _ in range(rng.integers(0, 9)):
        cy, cx = rng.uniform(0, size, 2)
        ry, rx = rng.uniform(1.5, 8.0, 2) * scale + 0.5
        blob = np.exp(-((((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) ** 1.5))
        np.maximum(out, rng.uniform(0.3, 0.7) * blob, out=out)
    return out


def _streaks(rng: np.random.Generator, size: int, scale: float) -> np.ndarray:
    """Horizontal charging streaks, mostly bright, some dark; additive."""
    out = np.zeros((size, size))
    for _ in range(rng.integers(0, 5)):
        row = rng.integers(0, size)
        height = max(1, int(rng.uniform(1, 3.5) * scale))
        x0 = rng.integers(0, size // 2)
        x1 = rng.integers(x0 + size // 4, size + 1)
        amp = rng.uniform(0.08, 0.3) * (1 if rng.random() < 0.7 else -1)
        ramp = np.linspace(1.0, rng.uniform(0.2, 1.0), x1 - x0)
        out[row : row + height, x0:x1] += amp * ramp
    return out


def _surface(rng: np.random.Generator, size: int) -> np.ndarray:
    """Rough carbon surface: fractal relief with SE slope shading plus fine grain."""
    height = _fractal_noise(rng, size, rng.uniform(2.6, 3.4))
    gy, gx = np.gradient(height * size / 64.0)
    slope = np.hypot(gx, gy)
    grain = _fractal_noise(rng, size, rng.uniform(1.0, 1.8))
    surf = 0.5 + 0.07 * height + rng.uniform(0.05, 0.12) * (slope - slope.mean()) / (slope.std() + 1e-12)
    return surf + rng.uniform(0.02, 0.05) * grain


def _info_bar(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Black SEM data bar with white acquisition text and a scale bar, drawn at 256 px and resized."""
    ref_h = round(BAR_FRACTION * REF_SIZE)
    bar = Image.new("L", (REF_SIZE, ref_h), 0)
    draw = ImageDraw.Draw(bar)
    font = ImageFont.load_default()
    hv = rng.choice([5.0, 10.0, 15.0, 20.0])
    wd = rng.uniform(5.0, 12.0)
    mag = int(rng.choice([2000, 5000, 10000, 20000, 50000]))
    text = f"HV {hv:.1f}kV  WD {wd:.1f}mm  mag {mag:,}x".replace(",", " ")
    draw.text((3, 3), text, fill=255, font=font)
    length = int(rng.integers(20, 40))
    x1 = REF_SIZE - 4
    draw.rectangle((x1 - length, ref_h - 6, x1, ref_h - 4), fill=255)
    draw.text((x1 - length, 1), f"{int(rng.choice([1, 2, 5, 10]))} um", fill=255, font=font)
    if (width, height) != bar.size:
        bar = bar.resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(bar, dtype=np.uint8)


def generate_pair(index: int, *, seed: int = 42, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Return (image uint8 HxW grey, mask uint8 HxW with values 0/255)."""
    rng = np.random.default_rng([seed, index])
    scale = size / REF_SIZE
    bar = max(1, round(BAR_FRACTION * size))
    mask, depth, rim = _pore_maps(rng, size, bar)

    img = _surface(rng, size)
    floor = 0.08 + 0.04 * _fractal_noise(rng, size, 2.0)
    img = img * (1.0 - depth) + floor * depth
    img += rng.uniform(0.35, 0.6) * rim
    img *= 1.0 - rng.uniform(0.15, 0.35) * _shadows(rng, size)
    img += _debris(rng, size, scale) + _streaks(rng, size, scale)
    img = _gaussian_blur(img, rng.uniform(0.4, 1.0) * scale)

    yy, xx = np.mgrid[0:size, 0:size] / size - 0.5
    cy, cx = rng.uniform(-0.2, 0.2, 2)
    img *= 1.0 - rng.uniform(0.0, 0.4) * ((yy - cy) ** 2 + (xx - cx) ** 2)
    contrast, offset = rng.uniform(0.7, 1.3), rng.uniform(-0.08, 0.1)
    img = np.clip((img - 0.45) * contrast + 0.45 + offset, 0.0, 1.0) ** rng.uniform(0.7, 1.45)
    photons = rng.uniform(60.0, 200.0)
    img = rng.poisson(img * photons) / photons

    image = np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)
    image[size - bar :] = _info_bar(rng, size, bar)
    mask[size - bar :] = False
    return image, mask.astype(np.uint8) * 255


def _save_png(array: np.ndarray, path: Path) -> None:
    Image.fromarray(array).save(path, format="PNG", optimize=False, compress_level=6)


def write_dataset(out: str | Path, *, n: int = 128, seed: int = 42, size: int = 256) -> Path:
    """Write ``out/images/sem_XXX.png`` and ``out/masks/sem_XXX.png`` atomically.

    Files go to a temporary sibling folder that is renamed to ``out`` at the end, so an interrupted
    run leaves nothing half-written.

    Raises:
        FileExistsError: if ``out`` exists and is not an empty folder, also when another process
            finished writing it first.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not empty")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        tmp.chmod(0o755)
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        for i in range(n):
            image, mask = generate_pair(i, seed=seed, size=size)
            _save_png(image, tmp / "images" / f"sem_{i:03d}.png")
            _save_png(mask, tmp / "masks" / f"sem_{i:03d}.png")
        try:
            os.replace(tmp, out)
        except OSError as exc:
            if out.exists():
                raise FileExistsError(f"{out} was written concurrently") from exc
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
