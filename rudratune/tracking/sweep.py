"""Driver-side tracking: one MLflow parent run per sweep, one child run and one W&B run per trial.

Trials never open tracker runs themselves. ASHA ends a trial right after a report, so code after
``fit()`` never runs there; here, in the driver, every trial's runs are completed and closed,
whether it finished, was stopped, failed or the sweep was interrupted.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from rudratune.tracking.common import flat_params, stop_reason, wandb_settings
from rudratune.tracking.lightning import best_values, define_summaries, tracked_metrics


def error_line(trial: Any) -> str:
    """The last line of a trial's error (the exception and its message)."""
    path = getattr(trial, "error_file", None)
    if not path or not Path(path).exists():
        return "unknown error"
    lines = [line for line in Path(path).read_text(errors="replace").splitlines() if line.strip()]
    return (lines[-1] if lines else "unknown error")[:500]


class SweepTracker(Callback):
    """Keeps MLflow and W&B in step with Tune's view of the trials.

    Args:
        sweep: sweep name (W&B group, MLflow run names).
        mlflow_uri / experiment_id / parent_run_id: where the driver created the sweep's parent run;
            ``None`` turns MLflow off.
        wandb: ``wandb.init`` settings shared by every trial (project, mode, dir); ``None`` turns W&B off.
        base_params: the base experiment, flattened; each child run logs it with the trial's params on top.
        max_epochs: ASHA's max_t, to tell a completed trial from a stopped one.
        cost_keys: the once-per-trial measurements a trial reports (params_m, ...): logged once, at step 0.
        metric: the sweep's metric; a trial's ``best_epoch`` is its best epoch by this metric.
    """

    def __init__(
        self,
        *,
        sweep: str,
        mlflow_uri: str | None,
        experiment_id: str | None,
        parent_run_id: str | None,
        wandb: dict[str, Any] | None,
        base_params: dict[str, Any],
        max_epochs: int,
        cost_keys: tuple[str, ...] = (),
        metric: str = "val_loss",
    ) -> None:
        self.sweep, self.mlflow_uri = sweep, mlflow_uri
        self.experiment_id, self.parent_run_id = experiment_id, parent_run_id
        self.wandb_settings, self.base_params, self.max_epochs = wandb, base_params, max_epochs
        self.metric = metric
        self.reasons: dict[str, str] = {}
        self._history: dict[str, list[dict[str, float]]] = {}
        self._runs: dict[str, str] = {}
        self._wandb_runs: dict[str, Any] = {}
        self._client: Any = None
        self._cost_logged: set[str] = set()
        self.cost_keys = cost_keys
        self.dataset_inputs: list[Any] = []
        """MLflow ``DatasetInput``s of the sweep's data (set with the parent run): each trial run logs them."""

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_wandb_runs": {}, "_client": None, "_history": {}, "dataset_inputs": []}

    @property
    def client(self) -> Any:
        if self._client is None and self.mlflow_uri:
            # local: each tracker's library is imported only when it is on
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.mlflow_uri)
        return self._client

    # --- Tune hooks -----------------------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        params = {**self.base_params, **flat_params(trial.config)}
        if self.client is not None:
            run_id = self._runs.get(trial.trial_id) or self._find_run(trial.trial_id)
            if run_id is None:
                run = self.client.create_run(
                    self.experiment_id,
                    run_name=f"{self.sweep}/{trial.trial_id}",
                    tags={
                        "mlflow.parentRunId": self.parent_run_id,
                        "rudratune.sweep": self.sweep,
                        "rudratune.trial_id": trial.trial_id,
                        "rudratune.kind": "trial",
                    },
                )
                run_id = run.info.run_id
                self._log_params(run_id, params)
                if self.dataset_inputs:
                    self.client.log_inputs(run_id, datasets=self.dataset_inputs)
            else:
                self.client.update_run(run_id, status="RUNNING")
                self._history[trial.trial_id] = self._logged_history(run_id)
            self._runs[trial.trial_id] = run_id
        if self.wandb_settings is not None and trial.trial_id not in self._wandb_runs:
            # local: each tracker's library is imported only when it is on
            import wandb

            run = wandb.init(
                **self.wandb_settings,
                group=self.sweep,
                job_type="trial",
                name=trial.trial_id,
                id=_wandb_id(f"{self.sweep}-{trial.trial_id}"),
                config={**params, "trial_id": trial.trial_id},
                resume="allow",
                reinit="create_new",
                settings=wandb_settings(),  # the driver's console and machine are not the trial's
            )
            define_summaries(run)
            self._wandb_runs[trial.trial_id] = run

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        # local: each tracker's library is imported only when it is on
        from mlflow.entities import Metric

        epoch = int(result.get("epoch", result.get("training_iteration", 0)))
        metrics = tracked_metrics(result)
        history = self._history.setdefault(trial.trial_id, [])
        history[:] = [row for row in history if row["epoch"] < epoch] + [{**metrics, "epoch": epoch}]
        best = best_values(history, self.metric)
        run_id = self._runs.get(trial.trial_id)
        now = int(time.time() * 1000)
        if run_id is not None:  # best_epoch is no series: it is logged once, when the trial ends
            self.client.log_batch(run_id, metrics=[Metric(k, v, now, epoch) for k, v in metrics.items()])
        run = self._wandb_runs.get(trial.trial_id)
        if run is not None:
            run.log({**metrics, "epoch": epoch}, step=epoch)
            run.summary.update(best)
        cost = {k: float(result[k]) for k in self.cost_keys if result.get(k) is not None}
        if cost and trial.trial_id not in self._cost_logged:  # measured once per trial: logged once
            self._cost_logged.add(trial.trial_id)
            if run_id is not None:
                self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in cost.items()])
            if run is not None:
                run.summary.update(cost)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        run_id = self._runs.get(trial.trial_id)
        if run_id is not None:
            self.client.set_tag(run_id, "rudratune.last_retry_error", error_line(trial))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._close(trial, stop_reason(False, trial.last_result, self.max_epochs), failed=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._close(
            trial,
            f"{stop_reason(True, trial.last_result, self.max_epochs)}: {error_line(trial)}",
            failed=True,
        )

    def get_state(self) -> dict[str, Any]:
        return {"reasons": self.reasons}

    def set_state(self, state: dict[str, Any]) -> None:
        self.reasons.update(state.get("reasons", {}))

    # --- helpers --------------------------------------------------------------------------------
    def _close(self, trial: Any, reason: str, *, failed: bool) -> None:
        self.reasons[trial.trial_id] = reason
        run_id = self._runs.pop(trial.trial_id, None)
        if run_id is not None:
            history = self._history.get(trial.trial_id) or []
            if best_epoch := best_values(history, self.metric).get("best_epoch"):
                self.client.log_metric(
                    run_id, "best_epoch", float(best_epoch), step=int(history[-1]["epoch"])
                )
            self.client.set_tag(run_id, "rudratune.status", reason)
            if failed:
                self.client.set_tag(run_id, "rudratune.error", error_line(trial))
            self.client.set_terminated(run_id, "FAILED" if failed else "FINISHED")
        run = self._wandb_runs.pop(trial.trial_id, None)
        if run is not None:
            run.summary["status"] = reason
            run.finish(exit_code=1 if failed else 0)

    def close_open_runs(self, status: str = "KILLED") -> None:
        """End every run still open, e.g. when the sweep is interrupted."""
        for trial_id, run_id in list(self._runs.items()):
            self.client.set_tag(run_id, "rudratune.status", f"interrupted ({status})")
            self.client.set_terminated(run_id, status)
            self._runs.pop(trial_id)
        for trial_id, run in list(self._wandb_runs.items()):
            run.finish(exit_code=1)
            self._wandb_runs.pop(trial_id)

    def _find_run(self, trial_id: str) -> str | None:
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`rudratune.trial_id` = '{trial_id}' and tags.`rudratune.sweep` = '{self.sweep}'",
            max_results=1,
        )
        return found[0].info.run_id if found else None

    def _logged_history(self, run_id: str) -> list[dict[str, float]]:
        """The epochs a resumed trial logged before the driver stopped (its best values build on them)."""
        rows: dict[int, dict[str, float]] = {}
        for key in ("val_loss", "val_dice"):
            for m in self.client.get_metric_history(run_id, key):
                rows.setdefault(m.step, {"epoch": m.step})[key] = m.value
        return [rows[k] for k in sorted(rows)]

    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        # local: each tracker's library is imported only when it is on
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start : start + 100])


def _wandb_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:128]
