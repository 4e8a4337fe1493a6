"""What the benchmarks share: paths, an offline environment, the CLI in a subprocess, the machine, CPU
sampling from /proc and the per-epoch results a Tune trial leaves behind."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rudratune.runtime import CALLER_ENV, OFFLINE_ENV

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parents[1]
EXPERIMENT = REPO / "experiments" / "rudraksha.yaml"
QUICKSTART = REPO / "search_spaces" / "quickstart.yaml"

DROPPED_ENV = CALLER_ENV
"""Variables of the shell that would point a benchmark at real services (see rudratune.runtime)."""


def apply_offline_env() -> None:
    """Make this process (and the Ray workers it starts) offline and loopback-only."""
    for key in DROPPED_ENV:
        os.environ.pop(key, None)
    os.environ.update(OFFLINE_ENV)


def private_ray_tmpdir() -> Path:
    """Give this run's Ray clusters (in this process and in every command it starts) a temp dir of their own.

    ``ray.init()`` joins the cluster named in ``<ray temp dir>/ray_current_cluster`` when that file exists,
    so a Ray that someone else started on a shared machine (``/tmp/ray``) would be joined, and rudratune's
    ``init_ray`` then fails (it passes ``num_cpus``). The path stays short: Ray's sockets live under it.
    """
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="rtb-", dir="/tmp" if Path("/tmp").is_dir() else None))
    os.environ["RAY_TMPDIR"] = str(path)
    return path


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env.update(OFFLINE_ENV)
    return env


@dataclass
class CommandRun:
    returncode: int
    wall_s: float
    log: Path

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def run_command(args: list[str], log: Path, *, timeout: float = 3600) -> CommandRun:
    """Run a command with the offline environment from the repository root; output goes to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.run(
            args, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=subprocess_env(), timeout=timeout
        )
        wall = time.perf_counter() - start
    return CommandRun(proc.returncode, wall, log)


def rudratune(args: list[str], output_root: Path, log: Path, *, timeout: float = 3600) -> CommandRun:
    """``python -m rudratune --output-root OUTPUT_ROOT ARGS`` as a user runs it; raises when it fails."""
    run = run_command(rudratune_argv(args, output_root), log, timeout=timeout)
    if run.returncode != 0:
        raise RuntimeError(
            f"rudratune {' '.join(args[:2])} exited {run.returncode}; see {log}:\n{run.tail()}"
        )
    return run


def rudratune_argv(args: list[str], output_root: Path) -> list[str]:
    return [sys.executable, "-m", "rudratune", "--output-root", str(output_root), *args]


def tiny_dataset(output_root: Path) -> Path:
    """The smoke dataset: 16 pairs of the embedded generator at 64 px (10 / 3 / 3 after the split)."""
    from rudratune.data.synth import write_dataset

    root = output_root / "datasets" / "tiny-16x64"
    if not root.exists():
        write_dataset(root, n=16, size=64)
    return root


def small_dataset(output_root: Path) -> Path:
    """P3 and P8's dataset: 64 pairs of the embedded generator at 64 px (40 / 12 / 12 after the split), small
    enough that 2 x 5 sweeps of tens of trials fit on a shared 2-core machine."""
    from rudratune.data.synth import write_dataset

    root = output_root / "datasets" / "small-64x64"
    if not root.exists():
        write_dataset(root, n=64, size=64)
    return root


def embedded_dataset(output_root: Path) -> Path:
    """The embedded dataset (128 pairs at 256 px), generated under the output root once."""
    from rudratune.data.source import ensure_embedded

    return ensure_embedded(output_root)


def dataset_root(smoke: bool, output_root: Path) -> Path:
    return tiny_dataset(output_root) if smoke else embedded_dataset(output_root)


# --- the machine ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    import lightning
    import optuna
    import ray
    import torch

    from rudratune.runtime import usable_cpus

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal")),
        0,
    )
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "usable_cpus": usable_cpus(),
        "ram_gib": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "optuna": optuna.__version__,
        "lightning": lightning.__version__,
        "cuda": torch.cuda.is_available(),
    }


def load_average() -> str:
    try:
        return " ".join(_read("/proc/loadavg").split()[:3])
    except OSError:
        return "unknown"


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


# --- CPU sampling ---------------------------------------------------------------------------------

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class CpuSample:
    at: float
    """Wall clock (time.time())."""
    busy: int
    total: int
    """/proc/stat jiffies summed over every core: busy = total - idle - iowait."""
    tree_s: float
    """CPU seconds used so far by the sampled process and its descendants (0 without a root pid)."""


def _proc_stat_jiffies() -> tuple[int, int]:
    fields = [int(v) for v in _read("/proc/stat").splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


class CpuSampler:
    """Samples /proc/stat (and optionally one process tree's CPU time) every ``interval`` seconds in a thread.

    The tree's CPU time is the sum, over every process ever seen below ``root_pid``, of the last
    utime + stime read for it; a process that exits loses at most its last interval.
    """

    def __init__(self, interval: float = 0.5, root_pid: int | None = None) -> None:
        self.interval, self.root_pid = interval, root_pid
        self.samples: list[CpuSample] = []
        self._cpu_by_pid: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="cpu-sampler")

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        busy, total = _proc_stat_jiffies()
        if self.root_pid is not None:
            self._cpu_by_pid.update(_tree_cpu(self.root_pid))
        self.samples.append(CpuSample(time.time(), busy, total, sum(self._cpu_by_pid.values())))

    def window(self, start: float, end: float) -> tuple[CpuSample, CpuSample]:
        """The first and last samples inside [start, end]."""
        inside = [s for s in self.samples if start <= s.at <= end]
        if len(inside) < 2:
            raise ValueError(f"fewer than 2 CPU samples between {start:.1f} and {end:.1f}")
        return inside[0], inside[-1]

    def busy_fraction(self, start: float, end: float) -> float:
        """Fraction of all cores' time that was busy (any process) in [start, end]."""
        a, b = self.window(start, end)
        return (b.busy - a.busy) / max(1, b.total - a.total)

    def tree_fraction(self, start: float, end: float, cores: int) -> float:
        """Fraction of ``cores`` cores that the sampled process tree kept busy in [start, end]."""
        a, b = self.window(start, end)
        return (b.tree_s - a.tree_s) / ((b.at - a.at) * cores)


def _tree_cpu(root: int) -> dict[int, float]:
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    tree, frontier = {root}, [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return {pid: cpu[pid] for pid in tree if pid in cpu}


# --- what Tune trials leave behind ----------------------------------------------------------------


@dataclass
class TrialLog:
    """One trial's reported rows (``result.json``), one per epoch."""

    trial_id: str
    path: Path
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_step_at(self) -> float | None:
        return next((r["first_step_at"] for r in self.rows if r.get("first_step_at")), None)

    @property
    def ended_at(self) -> float:
        """Wall clock of the last report (Tune's ``timestamp``: whole seconds)."""
        return float(self.rows[-1]["timestamp"])

    @property
    def epochs(self) -> int:
        return len(self.rows)


def read_trials(experiment_dir: Path) -> list[TrialLog]:
    """Every trial folder under a Tune experiment, with the rows it reported (trials with none are skipped)."""
    trials = []
    for result in sorted(Path(experiment_dir).glob("*/result.json")):
        rows = [json.loads(line) for line in result.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if "val_loss" in r]
        if rows:
            trials.append(TrialLog(str(rows[0].get("trial_id", result.parent.name)), result.parent, rows))
    return trials


def drop_checkpoints(path: Path) -> None:
    """Delete Tune checkpoints under ``path`` (each is weights + optimizer state: ~170 MB for Unet-resnet18)."""
    import shutil

    for ckpt in list(Path(path).glob("**/checkpoint_*")):
        if ckpt.is_dir():
            shutil.rmtree(ckpt, ignore_errors=True)
    for ckpt in list(Path(path).glob("**/checkpoints/*.ckpt")):  # what a `train` run keeps (top 3)
        ckpt.unlink(missing_ok=True)


# --- how a benchmark reports ----------------------------------------------------------------------


def figure(
    name: str, value: float | None, text: str, *, goal: str = "", met: bool | None = None, meaning: str = ""
) -> dict[str, Any]:
    """One headline number: ``text`` is how it prints, ``meaning`` the sentence that explains it."""
    return {"name": name, "value": value, "text": text, "goal": goal, "met": met, "meaning": meaning}


def verdict(met: bool | None) -> str:
    return {True: "goal met", False: "goal NOT met", None: "no goal"}[met]


def md_table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def shutdown_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()
