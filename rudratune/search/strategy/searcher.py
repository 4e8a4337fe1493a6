"""The sweep's searcher: Ray's OptunaSearch with Optuna's TPE (or NSGA-II, random), taught constraints, the
study kept in ``<sweep>/optuna-journal.log``."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import optuna as ot
from optuna.trial import TrialState
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.optuna import OptunaSearch

from rudratune.search.record import SweepRecord, TrialEnding, study_storage_of, trial_ending
from rudratune.search.space import Constraint, define_by_run, grid_points, violations
from rudratune.search.strategy.sampling import make_sampler
from rudratune.train.metrics import METRICS, running_best_key

logger = logging.getLogger(__name__)


class ConstrainedOptunaSearch(OptunaSearch):
    """Ray's OptunaSearch, telling the Optuna study what the sweep's results say.

    - **Constraints**: before a trial is told, its constraint values go on its Optuna trial
      (``Trial.set_constraint``), so TPE and NSGA-II learn where the feasible region is. A trial refused
      before training (a cost constraint broke) has no trained metrics: it is told PRUNED with its constraints.
    - **Values are the metric**: each epoch's running best of the sweep's metric (``best_val_dice``) is an
      intermediate value, the last epoch's included (Ray's own stops one short: Tune hands the last result to
      ``on_trial_complete`` only); the value told is the trial's best. The study's objective is named after
      the metric (``study.metric_names``). The epochs' values are written when the trial ends, in one go:
      each write to the study's storage is a synced append (P5), and TPE reads no running trial's values
      (constant liar counts running trials as bad whatever they reported).
    - **Stopped trials are PRUNED**: a trial that ended before its last epoch without early-stopping itself
      (ASHA, or the sweep's budget, stopped it) is told PRUNED, as an Optuna pruner would have; Optuna's TPE
      then ranks it by how far it got. Ray's own tells every such trial COMPLETE with its value at the stop,
      which stays so for several objectives (Optuna keeps no intermediate values there).
    - **Joinable**: every Optuna trial carries the Ray trial id (user attribute ``ray_trial_id``) and, once
      ended, how it ended (``ending``: a ``TrialEnding`` value).

    Args:
        constraints: the sweep's constraints.
        objectives: the result keys whose values Optuna is told, one per objective (``best_val_dice``,
            ``latency_ms``); default: the searcher's ``metric``.
        metric_names: the study's objective names (``val_dice``, ``latency_ms``).
        max_epochs: the most epochs a trial runs (a trial's own ``trainer.max_epochs`` wins).
        scheduled: a scheduler may stop trials (ASHA); under FIFO a trial that ends early stopped itself.
        The rest is OptunaSearch's.
    """

    def __init__(
        self,
        *args: Any,
        constraints: Sequence[Constraint] = (),
        objectives: Sequence[str] = (),
        metric_names: Sequence[str] = (),
        max_epochs: int = 0,
        scheduled: bool = True,
        **kwargs: Any,
    ) -> None:
        self._constraints = tuple(constraints)
        self._objectives = tuple(objectives)
        self._names = list(metric_names)
        self._max_epochs, self._scheduled = max_epochs, scheduled
        self._epochs: dict[str, dict[int, float]] = {}
        """trial id → epoch → the value reported there, written to the study when the trial ends."""
        super().__init__(*args, **kwargs)  # sets the study up (``_setup_study``) when the space is given

    home: ClassVar[Path | None] = None
    """Where a resumed sweep's folder is now (set by ``relocate_study``): the study Ray restores from its
    pickle is re-pointed at that folder's journal, so a moved or copied sweep writes its own study."""

    def restore(self, checkpoint_path: str) -> None:
        super().restore(checkpoint_path)
        home, study = type(self).home, getattr(self, "_ot_study", None)
        if home is not None and study is not None:
            self._storage = study_storage_of(home)
            self._ot_study = ot.load_study(
                study_name=study.study_name, storage=self._storage, sampler=self._sampler
            )
            for trial_id, ot_trial in list(self._ot_trials.items()):  # live trials: same numbers, new store
                self._ot_trials[trial_id] = ot.Trial(self._ot_study, ot_trial._trial_id)

    def _name_study(self) -> None:
        study, names = getattr(self, "_ot_study", None), getattr(self, "_names", None)
        if study is not None and names and study.metric_names != names:  # None inside super().__init__
            with warnings.catch_warnings():  # "experimental" since Optuna 3.2, and what the dashboard reads
                warnings.simplefilter("ignore", ot.exceptions.ExperimentalWarning)
                study.set_metric_names(names)

    def _setup_study(self, mode: Any) -> None:
        super()._setup_study(mode)
        self._name_study()

    def suggest(self, trial_id: str) -> dict | None:
        suggestion = super().suggest(trial_id)
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is not None and suggestion is not None:
            ot_trial.set_user_attr("ray_trial_id", trial_id)
        return suggestion

    def _told(self, result: dict) -> list[float] | None:
        """The values of the objectives in ``result`` (None where one is missing or not a number)."""
        keys = self._objectives or ([self._metric] if isinstance(self._metric, str) else list(self._metric))
        values = [result.get(k) for k in keys]
        if not all(isinstance(v, int | float) and not math.isnan(v) for v in values):
            return None
        return [float(v) for v in values]  # type: ignore[arg-type]  # checked above

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self._keep(trial_id, result)

    def _keep(self, trial_id: str, result: dict) -> None:
        if trial_id in self._completed_trials or isinstance(self._metric, list):
            return  # Optuna keeps no intermediate values for several objectives
        values = self._told(result)
        epoch = int(result.get("epoch") or 0)
        if values is not None and epoch >= 1:
            epochs = self._epochs.setdefault(trial_id, {})
            if epochs and next(reversed(epochs)) >= epoch:  # restored from an earlier checkpoint: a new life
                epochs = self._epochs[trial_id] = {e: v for e, v in epochs.items() if e < epoch}
            epochs[epoch] = values[0]

    def _write_epochs(self, trial_id: str, ot_trial: Any) -> None:
        for epoch, value in sorted(self._epochs.pop(trial_id, {}).items()):
            ot_trial.report(value, epoch)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is None or trial_id in self._completed_trials:
            return
        if ot_trial.storage.get_trial(ot_trial._trial_id).state.is_finished():
            # the study already holds its end: Tune resumed the trial from a state it saved before that (the
            # driver killed, or a full disk cut its later saves short), and the trial ended again
            self._epochs.pop(trial_id, None)
            self._completed_trials.add(trial_id)
            return
        result = result or {}
        for key, value in violations(self._constraints, result).items():
            ot_trial.set_constraint(key, value)
        if result:
            self._keep(trial_id, result)  # the last epoch: Tune hands it here, not to on_trial_result
        self._write_epochs(trial_id, ot_trial)
        own = int((result.get("config") or {}).get("trainer.max_epochs") or self._max_epochs)
        ending = trial_ending(error, result, own, scheduled=self._scheduled)
        ot_trial.set_user_attr("ending", ending.value)
        values = self._told(result)
        if ending is TrialEnding.FAILED:
            state, told = TrialState.FAIL, None
        elif (
            values is None
            or ending is TrialEnding.REFUSED
            # several objectives: Optuna keeps no intermediate values, so a stopped trial told PRUNED would
            # lose every value it has; it is told COMPLETE with its values at the stop, as Ray does
            or (ending is TrialEnding.STOPPED_BY_ASHA and not isinstance(self._metric, list))
        ):
            state, told = TrialState.PRUNED, None
        else:
            state, told = TrialState.COMPLETE, values
        try:
            self._ot_study.tell(ot_trial, told, state=state)
        except Exception as exc:  # e.g. a non-finite value; Optuna's own words
            logger.warning(exc)
        self._completed_trials.add(trial_id)


def build_searcher(record: SweepRecord) -> ConcurrencyLimiter:
    """OptunaSearch over the sweep's define-by-run space, its grid points first, at most ``max_concurrent``
    trials at a time."""
    sweep = record.sweep
    settings = sweep.settings
    searcher = ConstrainedOptunaSearch(
        constraints=settings.constraint_list,
        objectives=[running_best_key(n) if n in METRICS else n for n in settings.objectives],
        metric_names=settings.objectives,
        max_epochs=sweep.max_epochs,
        scheduled=settings.search.scheduler.name != "fifo",
        space=define_by_run(sweep),
        # several objectives: lists (Ray's OptunaSearch then makes a multi-objective study)
        metric=settings.tune_objectives if settings.secondary else settings.rank_metric,
        mode=settings.modes if settings.secondary else settings.direction,
        sampler=make_sampler(sweep),
        points_to_evaluate=grid_points(sweep) or None,
        storage=study_storage(record),
        study_name=record.name,
    )
    return ConcurrencyLimiter(searcher, max_concurrent=settings.search.max_concurrent)


def relocate_study(run_dir: Path) -> None:
    """Before a resume: the restored searcher's study is the one in ``run_dir`` (not where the pickle says)."""
    ConstrainedOptunaSearch.home = Path(run_dir).resolve()


def study_storage(record: SweepRecord) -> Any:
    """The Optuna study in ``<sweep>/optuna-journal.log``: optuna-dashboard and ``optuna.load_study`` read
    it live (``rudratune.search.record.study_storage_of``)."""
    return study_storage_of(record.run_dir)
