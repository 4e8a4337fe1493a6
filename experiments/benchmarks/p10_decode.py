"""P10 decode: time and peak RSS of decoding a folder (``load_folder``) against its size, this code beside a
baseline revision (default: main's 2edda2d, float32 images and one thread), in one run.

Datasets: grey disks on noise, 8-bit PNGs and 16-bit TIFFs (12-bit values), 8-bit PNG masks; 100, 1,000 and
5,000 pairs at 256² and 1,000 pairs at 1024² (``--smoke``: 40 pairs at 64²). Each decode runs in a fresh
subprocess whose ``PYTHONPATH`` is this checkout or the baseline's ``git archive``; peak RSS is the process's
``VmHWM`` (``/proc/self/status``; not ``ru_maxrss``, which keeps the parent's peak across ``exec``), also shown less the RSS it had before decoding (the interpreter and imports).

    python experiments/benchmarks/p10_decode.py [--smoke] [--sets 100x256,1000x1024] [--base REV]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parents[1]
BASE = "2edda2d"
FULL = [(100, 256), (1000, 256), (5000, 256), (1000, 1024)]
SMOKE = [(40, 64)]
RSS_GOAL = 1.3
SPEED_GOAL = 2.0


def write_set(root: Path, n: int, size: int, bits: int, *, seed: int = 0) -> int:
    """``n`` pairs under ``root``; returns the images' own bytes (what they take in their own type)."""
    import tifffile
    from PIL import Image

    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    noise = rng.normal(1000, 250, (size, size)).astype(np.float32)  # drawn once, shifted per image (cheap)
    for i in range(n):
        cy, cx = rng.uniform(0.2, 0.8, 2) * size
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < (size * rng.uniform(0.05, 0.15)) ** 2
        image = np.roll(noise, (int(cy), int(cx)), axis=(0, 1)) + mask * np.float32(2000)
        if bits == 8:
            Image.fromarray(np.clip(image / 16, 0, 255).astype(np.uint8)).save(
                root / "images" / f"p{i:05d}.png", compress_level=1
            )
        else:
            tifffile.imwrite(root / "images" / f"p{i:05d}.tif", np.clip(image, 0, 4095).astype(np.uint16))
        Image.fromarray(mask.astype(np.uint8) * 255).save(root / "masks" / f"p{i:05d}.png", compress_level=1)
    return n * size * size * bits // 8


def _status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def worker(root: str) -> None:
    """In the subprocess: decode ``root`` with whichever rudratune ``PYTHONPATH`` gives; print JSON."""
    import resource

    from rudratune.data.folder import load_folder

    before = _status_kib("VmRSS")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    data = load_folder(root)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - usage.ru_utime - usage.ru_stime
    peak = _status_kib("VmHWM") or after.ru_maxrss  # ru_maxrss keeps the forking parent's RSS across exec
    print(
        json.dumps(
            {"wall_s": wall, "cpu_s": cpu, "peak_kib": peak, "before_kib": before, "nbytes": data.nbytes}
        )
    )


def baseline_tree(rev: str, into: Path) -> Path:
    """The baseline's ``rudratune`` package, from ``git archive`` (the repository is left untouched)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", rev, "rudratune"], capture_output=True, check=True
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def decode_in(pythonpath: Path, root: Path, timeout: float = 1800) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", str(root)],
        capture_output=True,
        text=True,
        env=env,
        cwd=pythonpath,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"decoding {root} with {pythonpath} failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(sets: list[tuple[int, int]], scratch: Path, base: str) -> list[dict[str, Any]]:
    old_tree = baseline_tree(base, scratch / "baseline")
    rows = []
    for n, size in sets:
        for bits in (8, 16):
            root = scratch / f"{n}x{size}-{bits}"
            own = write_set(root, n, size, bits)
            new = decode_in(REPO, root)
            old = decode_in(old_tree, root)
            rows.append({"n": n, "size": size, "bits": bits, "own_bytes": own, "new": new, "old": old})
            shutil.rmtree(root)
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def _mib(kib_or_bytes: float, *, kib: bool = True) -> str:
    return f"{kib_or_bytes / (1024 if kib else 2**20):,.0f}"


def table(rows: list[dict[str, Any]]) -> list[str]:
    from common import md_table

    out = []
    for r in rows:
        own_kib = r["own_bytes"] / 1024
        cells = [f"{r['n']:,} × {r['size']}², {r['bits']}-bit", _mib(r["own_bytes"], kib=False)]
        for side in ("old", "new"):
            m = r[side]
            cells += [
                f"{m['wall_s']:.1f} ({m.get('cpu_s', float('nan')):.1f})",
                f"{r['n'] / m['wall_s']:,.0f}",
                f"{_mib(m['peak_kib'])} ({m['peak_kib'] / own_kib:.2f}×; +{(m['peak_kib'] - m['before_kib']) / own_kib:.2f}×)",
            ]
        cells.append(f"{r['old']['wall_s'] / r['new']['wall_s']:.2f}×")
        out.append(cells)
    header = ["set", "images' own MiB"]
    header += [
        f"{s} {k}"
        for s in ("baseline", "this code")
        for k in ("s (CPU s)", "pairs/s", "peak RSS MiB (/ own; decode's own / own)")
    ]
    return md_table([*header, "speed-up"], out)


def run(
    smoke: bool, output_root: Path, *, sets: list[tuple[int, int]] | None = None, base: str = BASE
) -> dict[str, Any]:
    from common import figure, load_average, verdict

    sets = sets or (SMOKE if smoke else FULL)
    scratch = Path(tempfile.mkdtemp(prefix="p10-", dir=output_root))
    load_start = load_average()
    try:
        rows = measure(sets, scratch, base)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    largest = [r for r in rows if r["own_bytes"] == max(x["own_bytes"] for x in rows)]
    rss = max(r["new"]["peak_kib"] * 1024 / r["own_bytes"] for r in largest)
    at_scale = [r for r in rows if r["n"] >= 1000] or rows  # 100 pairs take well under a second: fixed costs
    speed = min(r["old"]["wall_s"] / r["new"]["wall_s"] for r in at_scale)
    rss_met, speed_met = rss <= RSS_GOAL, speed >= SPEED_GOAL
    return {
        "title": "P10 decode",
        "conditions": (
            f"`load_folder` on generated grey pairs (8-bit PNG, 16-bit TIFF; 8-bit PNG masks), each decode in a fresh "
            f"subprocess (wall time, and in brackets its CPU time, less sensitive to other load), this code beside `{base}` (`git archive`), files in the page cache for both. Peak RSS is "
            f"VmHWM; in brackets, over the images' own bytes, and (after +) less the RSS before decoding. Load "
            f"average at the start {load_start}, at the end {load_average()}."
        ),
        "table": table(rows),
        "figures": [
            figure(
                "P10 peak RSS / images' own bytes, largest set",
                rss,
                f"{rss:.2f}×",
                goal=f"≤ {RSS_GOAL}×",
                met=rss_met,
                meaning=f"Decoding the largest set peaks at {rss:.2f}× its images' own bytes (interpreter and imports "
                f"included; masks kept as bits): {verdict(rss_met)}.",
            ),
            figure(
                "P10 decode speed-up over the baseline, slowest set of 1,000+ pairs",
                speed,
                f"{speed:.2f}×",
                goal=f"≥ {SPEED_GOAL}×",
                met=speed_met,
                meaning=f"The smallest speed-up over `{base}` across the sets of 1,000 pairs or more (all sets in smoke "
                f"mode) is {speed:.2f}×: {verdict(speed_met)}. Sets of 100 pairs decode in under a second on both "
                "sides, where start-up and load noise decide.",
            ),
        ],
        "raw": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--sets", help="e.g. 100x256,1000x1024 (default: the full list)")
    parser.add_argument("--base", default=BASE, help=f"baseline revision (default {BASE})")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    sys.path.insert(0, str(BENCH_DIR))
    sets = [tuple(int(v) for v in s.split("x")) for s in args.sets.split(",")] if args.sets else None
    out = Path(tempfile.mkdtemp(prefix="p10-out-"))
    try:
        result = run(args.smoke, out, sets=sets, base=args.base)  # type: ignore[arg-type]
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(
        result["conditions"],
        *result["table"],
        *(f"- {f['name']}: {f['text']}" for f in result["figures"]),
        sep="\n",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
