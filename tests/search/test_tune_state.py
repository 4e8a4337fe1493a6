"""Tune's state kept whole (``search/driver/tune_state.py``): a complete copy of each save beside the sweep,
and a resume that puts it back where the files Tune copied were cut short (a full disk, a kill mid-copy).
The files are written as Tune writes them: the experiment state as JSON, the search generator's and the
searcher's states as pickles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ray.tune.utils.util import _atomic_save, _load_newest_checkpoint

from rudratune.errors import UserError
from rudratune.search.driver.tune_state import KEPT, keep, recover, staging_dir

SESSION = "2026-12-07_06-00-00"
STATE = f"experiment_state-{SESSION}.json"
SEARCH = f"search_gen_state-{SESSION}.json"
SEARCHER = f"searcher-state-{SESSION}.pkl"


def staged(folder: Path, trial_ids: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    entries = [[json.dumps({"trial_id": t, "status": "RUNNING"}), json.dumps({})] for t in trial_ids]
    (folder / STATE).write_text(json.dumps({"trial_data": entries, "runner_data": {}}))
    _atomic_save({"counter": len(trial_ids)}, str(folder), SEARCH, f"tmp-{SEARCH}")
    _atomic_save({"trials": trial_ids}, str(folder), SEARCHER, f"tmp-{SEARCHER}")
    return folder


def trials_in(folder: Path) -> list[str]:
    entries = json.loads((folder / STATE).read_text())["trial_data"]
    return [json.loads(state)["trial_id"] for state, _ in entries]


def test_each_save_is_kept_whole_and_only_the_newest_stays(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    first = keep(staged(tmp_path / "staging", ["a"]), sweep)
    assert first is not None and sorted(p.name for p in first.iterdir()) == sorted([STATE, SEARCH, SEARCHER])
    second = keep(staged(tmp_path / "staging", ["a", "b"]), sweep)
    assert second is not None and [p.name for p in (sweep / KEPT).iterdir()] == [second.name]
    assert trials_in(second) == ["a", "b"]


def test_nothing_staged_keeps_nothing(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    assert keep(tmp_path / "staging", tmp_path) is None and not (tmp_path / KEPT).exists()


def test_a_copy_that_fails_keeps_the_previous_set(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    kept = keep(staged(tmp_path / "staging", ["a"]), sweep)
    assert kept is not None
    (sweep / KEPT / ".partial-000002").write_text("a file where the next set's folder goes")  # mkdir fails
    assert keep(staged(tmp_path / "staging", ["a", "b"]), sweep) is None
    assert trials_in(kept) == ["a"]


@pytest.mark.parametrize("cut", [STATE, SEARCH, SEARCHER])
def test_a_resume_puts_the_kept_set_in_place_of_a_cut_file(tmp_path: Path, cut: str) -> None:
    sweep = tmp_path / "sweep"
    keep(staged(tmp_path / "staging", ["a"]), staged(sweep, ["a"]))
    staged(sweep, ["a", "b"])  # Tune's next save, copied over the sweep's files ...
    data = (sweep / cut).read_bytes()
    (sweep / cut).write_bytes(data[: len(data) // 2])  # ... and cut short there
    said = recover(sweep)
    assert said is not None and cut in said and "resuming from its last complete save" in said
    assert trials_in(sweep) == ["a"]  # all three files from the one kept save: they agree
    assert _load_newest_checkpoint(str(sweep), "search_gen_state-*.json") == {"counter": 1}
    assert recover(sweep) is None  # whole now


def test_whole_files_are_left_alone(tmp_path: Path) -> None:
    sweep = staged(tmp_path / "sweep", ["a", "b"])
    keep(staged(tmp_path / "staging", ["a"]), sweep)
    before = {p.name: p.read_bytes() for p in sweep.iterdir() if p.is_file()}
    assert recover(sweep) is None
    assert {p.name: p.read_bytes() for p in sweep.iterdir() if p.is_file()} == before


def test_a_cut_file_with_no_kept_set_is_one_line(tmp_path: Path) -> None:
    sweep = staged(tmp_path / "sweep", ["a"])
    (sweep / STATE).write_text('{"trial_da')
    with pytest.raises(UserError, match=rf"^{sweep}: Tune's state is cut short \({STATE};.*another --name$"):
        recover(sweep)


def test_the_staging_folder_is_the_one_written_last(tmp_path: Path) -> None:
    import os

    old = tmp_path / "artifacts" / "2026-12-01_00-00-00" / "sweep" / "driver_artifacts"
    new = tmp_path / "artifacts" / "2026-12-07_00-00-00" / "sweep" / "driver_artifacts"
    other = tmp_path / "artifacts" / "2026-12-08_00-00-00" / "other" / "driver_artifacts"
    for i, folder in enumerate((old, new, other)):
        folder.mkdir(parents=True)
        os.utime(folder, (1000 + i, 1000 + i))
    assert staging_dir(tmp_path, "sweep") == new
    assert staging_dir(tmp_path, "absent") is None
