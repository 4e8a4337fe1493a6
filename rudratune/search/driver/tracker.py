"""The sweep's tracker, in the driver: one MLflow parent run per sweep, one child run and one W&B run per
trial, and at the end the best trial's network, logged the way ``rudratune train`` logs its own.

Trials never open tracker runs themselves. ASHA ends a trial right after a report, so code after ``fit()``
never runs there; here, in the driver, every trial's runs are completed and closed, whether it finished, was
stopped, failed or the sweep was interrupted. A tracker that fails is turned off with one warning line, never
the sweep's end. The parent run is created last, right before Tune runs, so that
nothing is created for a sweep that fails its checks. Prints nothing but that warning.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune import Callback

from rudratune.data.source import resolve_root
from rudratune.errors import warn
from rudratune.search.record import SweepRecord
from rudratune.search.results import TrialRow, reason_text, trial_ending
from rudratune.tracking.common import (
    ensure_mlflow_experiment,
    find_sweep_run,
    flat_params,
    mlflow_uri,
    output_environment,
    redact,
    run_tags,
    uri_source,
    wandb_mode,
    wandb_settings,
)
from rudratune.tracking.dataset import dataset_input, digest
from rudratune.tracking.lightning import best_values, define_summaries, tracked_metrics
from rudratune.train.cost import COST_KEYS

if TYPE_CHECKING:
    from rudratune.data.folder import SegmentationData


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
        scheduled: a scheduler may stop trials (ASHA); under FIFO a trial that ends early stopped itself.
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
        scheduled: bool = True,
    ) -> None:
        self.sweep, self.mlflow_uri = sweep, mlflow_uri
        self.experiment_id, self.parent_run_id = experiment_id, parent_run_id
        self.wandb_settings, self.base_params, self.max_epochs = wandb, base_params, max_epochs
        self.metric, self.scheduled = metric, scheduled
        self._history: dict[str, list[dict[str, float]]] = {}
        self._reached: dict[str, int] = {}
        """The last epoch any life of a trial logged: a driver killed before Tune saved leaves epochs in the
        trackers that the resumed trial (from its last saved checkpoint) may never reach again."""
        self._runs: dict[str, str] = {}
        self._wandb_runs: dict[str, Any] = {}
        self._client: Any = None
        self._cost_logged: set[str] = set()
        self._parent_ended = False
        self.cost_keys = cost_keys
        self.dataset_inputs: list[Any] = []
        """MLflow ``DatasetInput``s of the sweep's data (set with the parent run): each trial run logs them."""

    def __getstate__(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "_wandb_runs": {},
            "_client": None,
            "_history": {},
            "_reached": {},
            "dataset_inputs": [],
        }

    @contextlib.contextmanager
    def _outage(self, tracker: str) -> Iterator[None]:
        """A tracker that fails (a server down longer than its client retries, a full disk) is turned off for
        the rest of this driver, said once in one line: the sweep never dies of its tracker. The trials'
        results stay in Ray's files and results.csv; ``rudratune resume`` reconnects."""
        try:
            yield
        except Exception as err:
            where = redact(self.mlflow_uri) if tracker == "MLflow" else "W&B"
            warn(
                f"{tracker} failed ({type(err).__name__}: {str(err).splitlines()[0][:160] if str(err) else ''}); "
                f"the sweep goes on without {tracker} ({where}); every result is kept in the sweep folder "
                "(results.csv, Ray's result.json files)"
            )
            if tracker == "MLflow":
                self.mlflow_uri, self._client, self._runs = None, None, {}
                self.parent_run_id = None
            else:
                self.wandb_settings, self._wandb_runs = None, {}

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
        with self._outage("MLflow"):
            self._start_mlflow(trial, params)
        with self._outage("W&B"):
            self._start_wandb(trial, params)

    def _start_mlflow(self, trial: Any, params: dict[str, Any]) -> None:
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
                logged = self._history[trial.trial_id] = self._logged_history(run_id)
                if logged:
                    self._reach(trial.trial_id, int(logged[-1]["epoch"]))
            self._runs[trial.trial_id] = run_id

    def _start_wandb(self, trial: Any, params: dict[str, Any]) -> None:
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
            # a resumed trial's epochs from MLflow: W&B's records of them died with the killed driver's
            # unflushed queue (seen in the kill storm). On sync, W&B drops the steps it has already.
            for row in self._history.get(trial.trial_id, []):
                run.log(row, step=int(row["epoch"]))

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        # local: each tracker's library is imported only when it is on
        from mlflow.entities import Metric

        epoch = int(result.get("epoch", result.get("training_iteration", 0)))
        metrics = tracked_metrics(result)
        history = self._history.setdefault(trial.trial_id, [])
        history[:] = [row for row in history if row["epoch"] < epoch] + [{**metrics, "epoch": epoch}]
        self._reach(trial.trial_id, epoch)
        best = best_values(history, self.metric)
        run_id = self._runs.get(trial.trial_id)
        now = int(time.time() * 1000)
        cost = {k: float(result[k]) for k in self.cost_keys if result.get(k) is not None}
        first_cost = bool(cost) and trial.trial_id not in self._cost_logged  # measured once: logged once
        if first_cost:
            self._cost_logged.add(trial.trial_id)
        if run_id is not None:  # best_epoch is no series: it is logged once, when the trial ends
            with self._outage("MLflow"):
                logged = [Metric(k, float(v), now, epoch) for k, v in metrics.items()]
                if first_cost:
                    logged += [Metric(k, v, now, 0) for k, v in cost.items()]
                self.client.log_batch(run_id, metrics=logged)
        run = self._wandb_runs.get(trial.trial_id)
        if run is not None:
            with self._outage("W&B"):
                run.log({**metrics, "epoch": epoch}, step=epoch)
                run.summary.update({**best, **(cost if first_cost else {})})

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        run_id = self._runs.get(trial.trial_id)
        if run_id is not None:
            with self._outage("MLflow"):
                self.client.set_tag(run_id, "rudratune.last_retry_error", error_line(trial))

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._close(trial, self._reason(trial, failed=False), failed=False)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._close(trial, f"{self._reason(trial, failed=True)}: {error_line(trial)}", failed=True)

    def _reason(self, trial: Any, *, failed: bool) -> str:
        """How the trial ended in words, as its results row will say it."""
        last = trial.last_result or {}
        own = int((trial.config or {}).get("trainer.max_epochs", self.max_epochs))
        ending = trial_ending(failed, last, own, scheduled=self.scheduled)
        return reason_text(ending, int(last.get("epoch", 0)), str(last.get("violation") or ""))

    # --- helpers --------------------------------------------------------------------------------
    def _reach(self, trial_id: str, epoch: int) -> None:
        self._reached[trial_id] = max(self._reached.get(trial_id, 0), epoch)

    def _close(self, trial: Any, reason: str, *, failed: bool) -> None:
        history = self._history.get(trial.trial_id) or []
        lost = lost_epochs(int(history[-1]["epoch"]) if history else 0, self._reached.get(trial.trial_id, 0))
        run_id = self._runs.pop(trial.trial_id, None)
        if run_id is not None:
            with self._outage("MLflow"):
                if lost:  # MLflow keeps every value logged (no API removes one): said on the run instead
                    self.client.set_tag(run_id, LOST_TAG, lost)
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
            with self._outage("W&B"):
                run.summary["status"] = reason
                if lost:
                    run.summary["lost_epochs"] = lost
                run.finish(exit_code=1 if failed else 0)

    # --- the sweep's parent run --------------------------------------------------------------------
    @classmethod
    def for_record(cls, record: SweepRecord) -> SweepTracker:
        """The driver-side tracker of a sweep, not yet connected: it writes nothing until ``start``."""
        cfg = record.sweep.base
        output_root = Path(record.output_root)
        uri = mlflow_uri(cfg.tracking, output_root) if cfg.tracking.mlflow else None
        mode = wandb_mode(cfg.tracking)
        wandb = None
        output_environment(output_root)
        if cfg.tracking.wandb and mode != "disabled":
            wandb = {
                "project": cfg.tracking.wandb_project,
                "mode": mode,
                "dir": str(record.run_dir.resolve()),
            }
        settings = record.sweep.settings
        return cls(
            sweep=record.name,
            mlflow_uri=uri,
            experiment_id=None,
            parent_run_id=None,
            wandb=wandb,
            base_params=flat_params(record.sweep.base.to_dict(provenance=False)),
            max_epochs=record.sweep.max_epochs,
            cost_keys=COST_KEYS,
            metric=settings.metric,
            scheduled=settings.search.scheduler.name != "fifo",
        )

    def start(self, record: SweepRecord, data: dict[str, SegmentationData] | None, *, resume: bool) -> None:
        """Create (or reopen) the MLflow experiment and the sweep's parent run: the last step before Tune runs."""
        if resume:
            drop_empty_offline_runs(record.run_dir / "wandb")
        if self.mlflow_uri is None:
            return
        cfg = record.sweep.base.tracking
        self.experiment_id = ensure_mlflow_experiment(
            self.mlflow_uri, cfg.experiment, record.output_root, source=uri_source(cfg)
        )
        # the data's MLflow dataset, on the parent run and (through this tracker) on every trial run
        self.dataset_inputs = [
            dataset_input(
                decoded.root or resolve_root(record.sweep.base.data.root, record.output_root),
                digest_=digest(decoded),
            )
            for decoded in (data or {}).values()
        ]
        self.parent_run_id = self._parent_run(record, resume=resume)

    def _parent_run(self, record: SweepRecord, *, resume: bool) -> str:
        # local: mlflow is imported only when the sweep tracks to it
        from mlflow.entities import Param

        client, experiment_id = self.client, self.experiment_id
        run_dir = str(record.run_dir.resolve())
        if resume and experiment_id and (found := self._own_run(record)):
            parent = found.info.run_id
            client.set_tag(parent, "rudratune.run_dir", run_dir)  # a moved sweep: its run follows it
            for child in client.search_runs(
                [experiment_id],
                filter_string=f"tags.`mlflow.parentRunId` = '{parent}' and attributes.status = 'RUNNING'",
            ):  # the killed attempt's trials: closed now, reopened if Tune resumes them
                client.set_tag(child.info.run_id, "rudratune.status", "driver died; killed")
                client.set_terminated(child.info.run_id, "KILLED")
            client.update_run(parent, status="RUNNING")
            return str(parent)
        settings = record.sweep.settings
        tags = {"rudratune.kind": "sweep", "rudratune.run_dir": run_dir, "rudratune.sweep": record.name}
        run = client.create_run(
            experiment_id, run_name=record.name, tags={**tags, **run_tags(sweep_description(record))}
        )
        if self.dataset_inputs:
            client.log_inputs(run.info.run_id, datasets=self.dataset_inputs)
        params = flat_params(settings.model_dump(mode="json", exclude={"space"}))
        params.update(
            {
                f"space.{k}": json.dumps(p.model_dump(mode="json", exclude_unset=True))
                for k, p in record.sweep.space.items()
            }
        )
        client.log_batch(run.info.run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
        client.log_artifact(run.info.run_id, str(record.run_dir / "sweep.json"))
        return str(run.info.run_id)

    def _own_run(self, record: SweepRecord) -> Any | None:
        """The parent run of this sweep: the one tagged with its folder, or, for a sweep moved since, the one
        tagged with where sweep.json was written, if no sweep is there any more. A copy (the original still
        there) gets a run of its own."""
        client, experiment_id = self.client, str(self.experiment_id)
        found = find_sweep_run(client, experiment_id, record.run_dir)
        was = Path(record.saved_in) if record.saved_in else None
        moved = was is not None and was != record.run_dir.resolve() and not (was / "sweep.json").is_file()
        if found is None and moved and was is not None:
            found = find_sweep_run(client, experiment_id, was)
        return found

    def finish_parent(self, best: TrialRow | None, *, status: str) -> None:
        """The best trial's values and id on the parent run, which ends with ``status`` (MLflow's words)."""
        if self.client is None or self.parent_run_id is None:
            return
        with self._outage("MLflow"):
            self._finish_parent(best, status=status)

    def _finish_parent(self, best: TrialRow | None, *, status: str) -> None:
        client, run_id = self.client, self.parent_run_id
        if best is not None:
            values = {
                f"best_{self.metric}": best.best.get(self.metric),
                "best_val_dice": best.best.get("val_dice"),
                "best_val_loss": best.best.get("val_loss"),
                "best_epoch": best.best_epoch,
                **best.cost,
            }
            for key, value in values.items():
                if value is not None:  # its score, and its cost beside it
                    client.log_metric(run_id, key, float(value))
            client.set_tag(run_id, "rudratune.best_trial", best.trial_id)
        client.set_terminated(run_id, status)
        self._parent_ended = True

    @contextlib.contextmanager
    def closed_on_interrupt(self) -> Iterator[None]:
        """A Ctrl-C or SIGTERM after Tune has returned (closing the trials' runs, writing the results, logging
        the best model) ends the command with the line that resumes the sweep: every run still open, the
        parent's too, is closed KILLED first, not left RUNNING."""
        try:
            yield
        except KeyboardInterrupt:
            self.close_open_runs("KILLED")
            if not self._parent_ended:
                self.finish_parent(None, status="KILLED")
            raise

    def tag_pareto(self, front: list[TrialRow]) -> None:
        """A multi-objective sweep's front on the parent run."""
        if self.client is None or self.parent_run_id is None:
            return
        with self._outage("MLflow"):
            self.client.set_tag(
                self.parent_run_id, "rudratune.pareto_front", ",".join(r.trial_id for r in front)
            )
            self.client.log_metric(self.parent_run_id, "pareto_front_size", len(front))

    def log_best_model(self, record: SweepRecord, best: TrialRow) -> str | None:
        """Log the best trial's checkpointed network; a failure is a warning to print, never the sweep's end."""
        if self.parent_run_id is None and self.wandb_settings is None:
            return None
        if not record.sweep.base.tracking.log_models:
            return None
        try:
            return self._log_best(record, best)
        except Exception as err:  # the results are on disk already
            return f"could not log the best trial's model ({type(err).__name__}: {str(err)[:200]})"

    def _log_best(self, record: SweepRecord, best: TrialRow) -> str | None:
        # local: torch, the data and the model's library load only when a sweep ends with a model to log
        from rudratune.data.datamodule import to_tensors
        from rudratune.data.source import load_data
        from rudratune.search.driver.trial import CHECKPOINT_FILE
        from rudratune.tracking.model import log_mlflow, log_wandb, prepare
        from rudratune.train.checkpoint import load_trained

        checkpoint = Path(best.checkpoint or "") / CHECKPOINT_FILE
        if not checkpoint.is_file():
            return f"trial {best.trial_id} kept no checkpoint; its model was not logged"
        params = dict(best.params)
        cfg = record.sweep.trial_config(params, source=f"{record.run_dir} trial {best.trial_id}")
        data = load_data(cfg.data.root, record.output_root, cfg.data.intensity)
        module = load_trained(cfg, checkpoint, data.channels)
        images, _ = to_tensors(
            data.subset([0, min(1, len(data) - 1)]), cfg.data.image_size, cfg.data.normalize
        )
        export = prepare(module.net, images)
        model_uri = None
        if self.parent_run_id is not None:
            own = {"trial_id": best.trial_id, **params}
            tags = {"rudratune.sweep": record.name, "rudratune.trial_id": str(best.trial_id)}
            model_uri = log_mlflow(
                export, uri=str(self.mlflow_uri), run_id=self.parent_run_id, params=own, tags=tags
            )
            self.client.set_tag(self.parent_run_id, "rudratune.best_checkpoint", str(checkpoint))
            self._log_served(record, best, cfg, data, module.net)
        if self.wandb_settings is not None:
            import wandb

            run = wandb.init(
                **self.wandb_settings,
                group=record.name,
                job_type="best-model",
                name=f"{record.name}-best",
                config={"trial_id": best.trial_id, **params},
                reinit="create_new",
                settings=wandb_settings(),
            )
            try:
                summary = {
                    "best_val_loss": best.best.get("val_loss"),
                    "best_val_dice": best.best.get("val_dice"),
                }
                run.summary.update(
                    {k: v for k, v in {**summary, "best_epoch": best.best_epoch}.items() if v is not None}
                )
                log_wandb(export, run, name=f"model-{record.name}", model_uri=model_uri)
            finally:
                run.finish()
        return None

    def _log_served(self, record: SweepRecord, best: TrialRow, cfg: Any, data: Any, net: Any) -> None:
        """The served pyfunc model of the best trial on the parent run: named after the trial, with its own
        hyperparameters (not the sweep's)."""
        from rudratune.serve.pyfunc import log_pyfunc, serving_for

        assert self.parent_run_id is not None
        name = f"{record.name}-{best.trial_id}"
        tags = {"rudratune.sweep": record.name, "rudratune.trial_id": str(best.trial_id)}
        serving = serving_for(cfg, data.decoding, data.channels, name=name, tags=tags)
        params = {**serving.params, **best.params, "trial_id": best.trial_id}
        serving = dataclasses.replace(serving, params=params)
        log_pyfunc(net, serving, uri=str(self.mlflow_uri), run_id=self.parent_run_id)

    def close_open_runs(self, status: str = "KILLED") -> None:
        """End every run still open, e.g. when the sweep is interrupted."""
        for trial_id, run_id in list(self._runs.items()):
            with self._outage("MLflow"):
                self.client.set_tag(run_id, "rudratune.status", f"interrupted ({status})")
                self.client.set_terminated(run_id, status)
            self._runs.pop(trial_id, None)
        for trial_id, run in list(self._wandb_runs.items()):
            with self._outage("W&B"):
                run.finish(exit_code=1)
            self._wandb_runs.pop(trial_id, None)

    def _find_run(self, trial_id: str) -> str | None:
        found = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.`rudratune.trial_id` = '{trial_id}' and tags.`rudratune.sweep` = '{self.sweep}'"
            f" and tags.`mlflow.parentRunId` = '{self.parent_run_id}'",  # a copied sweep's runs are its own
            max_results=1,
        )
        return found[0].info.run_id if found else None

    def _logged_history(self, run_id: str) -> list[dict[str, float]]:
        """The epochs a resumed trial logged before the driver stopped, every tracked metric of each (its best
        values build on them; W&B is given them again: ``_start_wandb``)."""
        rows: dict[int, dict[str, float]] = {}
        metrics = self.client.get_run(run_id).data.metrics
        keys = [
            k for k in metrics if tracked_metrics({k: 0.0}) and k != "best_epoch"
        ]  # best_epoch: at the end
        for key in keys:
            for m in self.client.get_metric_history(run_id, key):
                if m.step >= 1:  # costs are logged at step 0, once
                    rows.setdefault(m.step, {"epoch": m.step})[key] = m.value
        return [rows[k] for k in sorted(rows)]

    def _log_params(self, run_id: str, params: dict[str, Any]) -> None:
        # local: each tracker's library is imported only when it is on
        from mlflow.entities import Param

        items = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(run_id, params=items[start : start + 100])


LOST_TAG = "rudratune.lost_epochs"
"""On a trial's MLflow run (``lost_epochs`` in its W&B summary): epochs past the trial's end that a lost life
of it logged. A driver killed before Tune saved loses the results since; the resumed trial goes on from its
last saved checkpoint, and ASHA may then stop it at a rung that the lost life had passed."""


def lost_epochs(last: int, reached: int) -> str:
    """``"9-10"`` for a trial that ended at epoch 8 after a lost life of it logged epoch 10; ``""`` if none."""
    if reached <= last:
        return ""
    return str(reached) if reached == last + 1 else f"{last + 1}-{reached}"


WANDB_HEADER = 7
"""Bytes of an offline run file's header (``:W&B``, a magic number, a version): a file of this size or less
holds no record."""


def drop_empty_offline_runs(wandb_dir: Path) -> int:
    """Offline W&B run folders whose run file holds no record (a driver killed while W&B started the run):
    nothing to sync, and each would count as a run. Removed before a resume starts its own. Returns how many."""
    dropped = 0
    for folder in wandb_dir.glob("offline-run-*"):
        files = list(folder.glob("run-*.wandb"))
        if all(f.stat().st_size <= WANDB_HEADER for f in files):
            shutil.rmtree(folder, ignore_errors=True)
            dropped += 1
    return dropped


def _wandb_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)[:128]


def sweep_description(record: SweepRecord) -> str:
    """One line for the parent run's description: what was searched, how, and for what."""
    settings = record.sweep.settings
    search = settings.search
    keys = ", ".join(k for k, p in record.sweep.space.items() if p.kind != "value") or "nothing"
    return (
        f"{search.num_samples} trials of {record.sweep.source.name} ({search.searcher.name} + "
        f"{search.scheduler.name}), {settings.direction} {settings.metric}, varying {keys}"
    )
