"""Run rudratune's benchmarks and write BENCHMARKS.md.

    python experiments/benchmarks/run.py [--smoke] [--only P1,P3] [--out BENCHMARKS.md] [--output-root DIR] [--keep]

Every output (datasets, sweeps, MLflow, W&B) goes under the output root: a fresh temporary folder by
default, deleted at the end unless ``--keep`` (a given ``--output-root`` is always kept). Ray gets a
private temp dir (``RAY_TMPDIR``, see ``common.private_ray_tmpdir``), also deleted unless ``--keep``. Exit 0 when
every selected benchmark ran, whether or not its goal was met; 1 when one of them failed to run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from common import (
    BENCH_DIR,
    REPO,
    apply_offline_env,
    load_average,
    machine,
    md_table,
    private_ray_tmpdir,
    shutdown_ray,
)

BENCHMARKS = {
    "D0": "d0_data",
    "P1": "p1_overhead",
    "P2": "p2_utilisation",
    "P3": "p3_search_efficiency",
    "P4": "p4_startup",
    "P5": "p5_scale",
    "P6": "p6_gpu_packing",
    "P7": "p7_overhead",
    "P8": "p8_tuned_vs_default",
    "P10": "p10_decode",
    "P9": "p9_lcbench",
}
"""Benchmark id → module, in the order BENCHMARKS.md shows them."""
RUN_ORDER = ("P1", "D0", "P10", "P2", "P7", "P6", "P5", "P3", "P8", "P4", "P9")
"""D0 reuses P1's trained model; P3 and P4 run Ray in this process, so they come after the measurements of
whole commands and of the machine (P2), which an idle local Ray would disturb. P7 reuses P3's sweeps. P10
decodes in subprocesses of its own (no Ray). P9 (LCBench, in a subprocess of its own) comes last: it is the
longest and disturbs no timing of the others."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks that every benchmark runs (a few minutes)"
    )
    parser.add_argument("--only", help=f"comma-separated ids to run ({','.join(BENCHMARKS)}); default all")
    parser.add_argument(
        "--out", type=Path, default=REPO / "BENCHMARKS.md", help="report to write (default: repo root)"
    )
    parser.add_argument(
        "--output-root", type=Path, help="where every output goes (default: a fresh temp dir)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary output root and Ray's temp dir"
    )
    args = parser.parse_args(argv)
    ids = [i.strip().upper() for i in args.only.split(",")] if args.only else list(BENCHMARKS)
    unknown = [i for i in ids if i not in BENCHMARKS]
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}")
    args.ids = [i for i in RUN_ORDER if i in ids]
    return args


def run_one(bench_id: str, smoke: bool, output_root: Path) -> dict[str, Any]:
    """Run one benchmark, its stdout in ``logs/<id>.log``; a failure becomes a result with ``error``."""
    log = output_root / "logs" / f"{bench_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    print(f"[{bench_id}] running", file=sys.stderr, flush=True)
    try:
        module = importlib.import_module(BENCHMARKS[bench_id])
        with log.open("a") as out, contextlib.redirect_stdout(out):
            result = module.run(smoke, output_root)
    except Exception as err:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        result = {"title": bench_id, "error": f"{type(err).__name__}: {str(err).strip()[:2000]}"}
    result["wall_s"] = time.perf_counter() - start
    print(
        f"[{bench_id}] {'FAILED' if 'error' in result else 'done'} in {result['wall_s']:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return result


def render(
    results: dict[str, dict[str, Any]], info: dict[str, Any], args: argparse.Namespace, wall_s: float
) -> str:
    m = info["machine"]
    command = " ".join(
        [
            "python experiments/benchmarks/run.py",
            *(["--smoke"] if args.smoke else []),
            *([f"--only {','.join(results)}"] if args.only else []),
        ]
    )
    lines = [
        "# rudratune benchmarks",
        "",
        f"Written by `{command}` on {info['date']}; the whole run took "
        f"{wall_s / 60:.1f} min. Every figure below was measured in this run, side by side with what it is compared to.",
        "",
    ]
    if args.smoke:
        lines += [
            "**Smoke mode**: tiny sizes (32 px, 1–3 epochs, 2–3 trials a sweep, 30 mock trials) that check every benchmark still "
            "runs end to end. Its figures are dominated by fixed costs and noise: they are not performance results.",
            "",
        ]
    gpu = "yes" if m["cuda"] else "none (`torch.cuda.is_available()` is False)"
    lines += [
        "## Machine",
        "",
        f"- CPU: {m['cpu_model']}, {m['cores']} cores ({m['usable_cpus']} usable by this process), {m['ram_gib']} GiB RAM; GPU: {gpu}",
        f"- Python {m['python']}, torch {m['torch']}, ray {m['ray']}, optuna {m['optuna']}, lightning {m['lightning']}",
        f"- Load average (1, 5, 15 min) at the start: {info['load_start']}; at the end: {info['load_end']}. "
        "Other work on the machine slows and skews every timing; run on a quiet machine for figures to quote.",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for bench_id, r in results.items():
        if "error" in r:
            rows.append([bench_id, "**failed to run** (see its section)", "–", "–", "–"])
        elif r.get("skipped"):
            rows.append([bench_id, "skipped (see its section)", "–", "–", "–"])
        for f in r.get("figures", []):
            verdict = {True: "met", False: "**not met**", None: "–"}[f["met"]]
            rows.append([bench_id, f["name"], f["text"], f["goal"] or "–", verdict])
    lines += md_table(["id", "figure", "value", "goal", "goal met"], rows) + [""]
    for bench_id, r in results.items():
        lines += [f"## {r.get('title', bench_id)}", "", f"_Ran in {r['wall_s']:.0f} s._", ""]
        if "error" in r:
            lines += ["**This benchmark failed to run:**", "", "```", r["error"], "```", ""]
            continue
        if r.get("skipped"):
            lines += [r["skipped"], ""]
            continue
        lines += [f"Conditions: {r['conditions']}", "", *r.get("table", []), ""]
        lines += [f"- **{f['name']}: {f['text']}**. {f['meaning']}" for f in r.get("figures", [])] + [""]
        lines += [*r.get("notes", [])] + ([""] if r.get("notes") else [])
    return "\n".join(lines).rstrip() + "\n"


def figures_dir(out: Path) -> Path:
    """Where the plots go: experiments/benchmarks/figures/ for the repository's BENCHMARKS.md, else beside --out."""
    return (
        BENCH_DIR / "figures"
        if out.resolve() == (REPO / "BENCHMARKS.md").resolve()
        else out.parent / "figures"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_offline_env()
    ray_tmp = private_ray_tmpdir()
    temporary = args.output_root is None
    output_root = (
        Path(tempfile.mkdtemp(prefix="rudratune-bench-")) if temporary else args.output_root.resolve()
    )
    output_root.mkdir(parents=True, exist_ok=True)
    print(f"output root: {output_root}; Ray's temp dir: {ray_tmp}", file=sys.stderr)
    info = {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "load_start": load_average(),
        "machine": machine(),
    }
    start = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    try:
        for bench_id in args.ids:
            results[bench_id] = run_one(bench_id, args.smoke, output_root)
    finally:
        shutdown_ray()
        if not args.keep:
            shutil.rmtree(ray_tmp, ignore_errors=True)
    wall = time.perf_counter() - start
    info["load_end"] = load_average()

    args.out.parent.mkdir(parents=True, exist_ok=True)
    figures = figures_dir(args.out)
    for r in results.values():
        for artifact in r.get("artifacts", []):
            figures.mkdir(parents=True, exist_ok=True)
            shutil.copy(artifact, figures / Path(artifact).name)
            link = figures.relative_to(args.out.parent) / Path(artifact).name
            r["table"] = [
                line.replace(f"]({Path(artifact).name})", f"]({link})") for line in r.get("table", [])
            ]
    ordered = {i: results[i] for i in BENCHMARKS if i in results}
    args.out.write_text(render(ordered, info, args, wall))
    print(f"wrote {args.out} ({wall / 60:.1f} min)", file=sys.stderr)
    if temporary and not args.keep:
        shutil.rmtree(output_root, ignore_errors=True)
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
