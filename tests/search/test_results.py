"""The results table, ranking and checkpoint retention at the end of a sweep, on real files."""

from __future__ import annotations

import csv
from pathlib import Path

from rudratune.search.driver import prune_checkpoints
from rudratune.search.record import record_for
from rudratune.search.results import FIXED, TrialEnding, TrialRow, ranked, read_results, write_results
from rudratune.search.space import load_sweep
from tests.helpers import REPO, trial_rows_of


def row(
    trial_id: str, loss: float | None, *, ending: TrialEnding = TrialEnding.COMPLETED, **extra: object
) -> TrialRow:
    scored = {} if loss is None else {"best_val_loss": loss, "best_val_dice": 1 - loss}
    raw = {"trial_id": trial_id, "status": "TERMINATED", "ending": ending, "epochs": 4, **scored, **extra}
    return trial_rows_of([raw])[0]


def test_ranked_keeps_scored_trials_best_first() -> None:
    rows = [row("a", 0.5), row("b", None), row("c", 0.2), row("d", 0.9)]
    assert [r.trial_id for r in ranked(rows, "val_loss", "min")] == ["c", "a", "d"]
    assert [r.trial_id for r in ranked(rows, "val_dice", "max")] == ["c", "a", "d"]


def test_trials_tied_on_dice_rank_by_the_reference_loss() -> None:
    rows = [
        row("far", 0.0, best_val_dice=0.0, best_val_ref_loss=0.9),
        row("close", 0.0, best_val_dice=0.0, best_val_ref_loss=0.4),
        row("unmeasured", 0.0, best_val_dice=0.0),
        row("best", 0.0, best_val_dice=0.3, best_val_ref_loss=2.0),
    ]
    assert [r.trial_id for r in ranked(rows, "val_dice", "max")] == ["best", "close", "far", "unmeasured"]


def test_results_round_trip_keeps_the_ending(tmp_path: Path) -> None:
    sweep = load_sweep(REPO / "search_spaces" / "quickstart.yaml")
    run_dir = tmp_path / "sweep"
    run_dir.mkdir()
    record = record_for(run_dir, sweep, storage=None, output_root=tmp_path)
    rows = [row("a", 0.5, ending=TrialEnding.STOPPED_BY_ASHA), row("b", 0.3)]
    path = write_results(rows, record.run_dir, record.sweep.order)

    back = read_results(record.run_dir, record.sweep.order)
    assert [r.ending for r in back] == ["stopped_by_asha", "completed"]
    assert [r.stopped_by_asha for r in back] == [True, False]
    with path.open() as f:
        header = next(csv.reader(f))
    assert header[: len(FIXED)] == list(FIXED) and set(header[len(FIXED) :]) == set(sweep.order)


def checkpoints(trial_dir: Path, *names: str) -> Path:
    for name in names:
        (trial_dir / name).mkdir(parents=True)
        (trial_dir / name / "checkpoint.ckpt").write_bytes(b"x")
    return trial_dir / names[-1]


def test_pruning_keeps_one_checkpoint_for_the_top_trials_and_the_completed_ones(tmp_path: Path) -> None:
    best = checkpoints(tmp_path / "best", "checkpoint_000000", "checkpoint_000001")
    done = checkpoints(tmp_path / "done", "checkpoint_000000", "checkpoint_000003")
    stopped = checkpoints(tmp_path / "stopped", "checkpoint_000000")
    rows = [
        row("best", 0.1, checkpoint=str(best), epochs=2),
        row("done", 0.5, checkpoint=str(done), epochs=4),
        row("stopped", 0.3, checkpoint=str(stopped), epochs=1),
    ]
    rows = prune_checkpoints(rows, ranked(rows, "val_loss", "min"), keep=1, max_epochs=4)

    kept = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.glob("*/checkpoint_*"))
    assert kept == ["best/checkpoint_000001", "done/checkpoint_000003"]
    assert [r.checkpoint for r in rows] == [str(best), str(done), ""]
