"""The method-agnostic training loop: data, optimizers, LR schedules, logging, validation, checkpoints, resume.

Nothing here knows about pix2pix: a method (``i2i.methods``) provides networks, optimizer specs and a
``training_step``; the trainer feeds it batches and owns everything around it.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from i2i.config import dump_yaml, to_dict
from i2i.data import DATA_KINDS
from i2i.device import resolve_device
from i2i.errors import CheckpointError, DatasetError, I2IError
from i2i.evaluation.visuals import sample_grid
from i2i.imageio import write_image
from i2i.methods.base import Method
from i2i.models.weights import first_nonfinite
from i2i.run_config import RunConfig
from i2i.training import distributed
from i2i.training.checkpoint import (
    RunFolder,
    last_only,
    load_networks,
    load_state,
    resume_differences,
    save_state,
)
from i2i.training.engine import TrainEngine
from i2i.training.lock import remove_stale_temp_files, run_folder_lock
from i2i.training.loggers import JsonlLogger, Logger, TensorBoardLogger
from i2i.training.sampler import EpochSampler, sample_seed

log = logging.getLogger(__name__)


class TrainingDiverged(I2IError):
    """A loss or weight became NaN or infinite; nothing was written after that point."""


class TrainingInterrupted(I2IError):
    """The run was stopped by a signal after writing a resumable checkpoint."""


class TrainingWriteFailed(I2IError):
    """A file of the run folder could not be written (disk full, permissions); the last checkpoint is intact."""


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    epoch: int
    last_checkpoint: Path
    best_checkpoint: Path | None
    val_metrics: dict[str, float] = field(default_factory=dict)


@dataclass
class _Progress:
    """Position in the data stream, saved in every checkpoint."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_value: float | None = None
    best_step: int | None = None
    validated_step: int | None = None  # the step of the last validation round (a resume does not repeat it)
    sampled_step: int | None = None  # the step of the last sample grid


class _RunState:
    """Mutable bookkeeping of one ``fit`` call: progress, pending losses, what was last written when."""

    def __init__(
        self,
        progress: _Progress,
        loggers: list[Logger],
        val_records: list[Any],
        fallback_samples: list[Any],
        has_val: bool,
    ) -> None:
        self.progress = progress
        self.loggers = loggers
        self.val_records = val_records
        self.sample_records = val_records or fallback_samples
        self.val_metrics: dict[str, float] = {}
        self.loss_sums: dict[str, torch.Tensor] = {}
        self.loss_count = 0
        self.saved_at = -1
        self.has_val = has_val  # whether the run validates: the same on every process, even those without records
        self.rate_t, self.rate_step = time.perf_counter(), progress.step
        self.pbar: Any = None

    def add_losses(self, losses: dict[str, torch.Tensor], weight: float = 1.0) -> None:
        # Summed on the device: no host sync per step; NaN/inf propagate into the sum and are caught at the next check.
        for k, v in losses.items():
            v = v * weight if weight != 1.0 else v
            self.loss_sums[k] = self.loss_sums[k] + v if k in self.loss_sums else v.clone()
        self.loss_count += 1

    def check_losses(self, folder: RunFolder) -> dict[str, float]:
        """Mean losses since the last log; raises TrainingDiverged if any is NaN/inf."""
        values = {k: float(v) / max(self.loss_count, 1) for k, v in self.loss_sums.items()}
        bad = [k for k, v in values.items() if not math.isfinite(v)]
        if bad:
            raise _diverged(f"loss {bad[0]}", self.progress, folder)
        return values

    def reduce_losses(self) -> None:
        """Replaces each loss sum by its mean over all processes (a collective: every process must call it)."""
        if not self.loss_sums:
            return
        keys = sorted(self.loss_sums)
        stacked = torch.stack([self.loss_sums[k].float() for k in keys])
        torch.distributed.all_reduce(stacked)
        stacked /= torch.distributed.get_world_size()
        self.loss_sums = dict(zip(keys, stacked, strict=True))

    def pending_losses(self) -> dict[str, Any]:
        """The losses summed since the last log, for a checkpoint: a resumed run logs the same means."""
        return {"sums": {k: v.detach().float().cpu() for k, v in self.loss_sums.items()}, "count": self.loss_count}

    def restore_losses(self, pending: dict[str, Any], device: torch.device) -> None:
        self.loss_sums = {k: v.to(device) for k, v in pending.get("sums", {}).items()}
        self.loss_count = int(pending.get("count", 0))

    def take_losses(self, folder: RunFolder) -> dict[str, float]:
        values = self.check_losses(folder)
        self.loss_sums, self.loss_count = {}, 0
        return values


def _diverged(what: str, progress: _Progress, run: RunFolder) -> TrainingDiverged:
    last = run.last
    where = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was written"
    return TrainingDiverged(
        f"{what} became NaN/inf at step {progress.step} (epoch {progress.epoch + 1}); training stopped and "
        f"{where}; try a lower learning rate or check the data"
    )


class Trainer:
    """Trains ``cfg.method`` on ``cfg.data`` into the run folder ``cfg.run_dir``.

    Args:
        cfg: the resolved run configuration.
        resume: None (fresh run), "auto" (continue the run folder's last checkpoint if any) or a checkpoint path.
        resume_state: the checkpoint ``resume`` means, when the caller has already loaded it (read once, not twice).
    """

    def __init__(self, cfg: RunConfig, resume: str | None = None, resume_state: dict[str, Any] | None = None) -> None:
        self.cfg = cfg
        self.run_dir = cfg.run_dir
        self.folder = RunFolder(self.run_dir)
        self.resume_from = last_only(self.run_dir, resume)
        if self.resume_from is None and self.folder.last.exists():
            raise I2IError(
                f"{self.run_dir} already holds a training run; continue it with --resume auto, "
                "or start another with a different --name"
            )
        # Read before anything else happens: a checkpoint that cannot be resumed with this config is refused at once.
        if self.resume_from is None:
            self._resume_state = None
        else:
            self._resume_state = resume_state if resume_state is not None else load_state(self.resume_from)
        if self.resume_from is not None:
            self._check_resume_config(self.resume_from, self._resume_state)
        self.dist = distributed.context_from_env()
        distributed.check_batch(self.dist, cfg.train.batch_size)
        self.device = distributed.device_for(self.dist, resolve_device(cfg.train.device))
        self._stop_signal: int | None = None

    def _check_resume_config(self, path: Path, state: dict[str, Any]) -> None:
        """Refuses a resume whose config changes what the run learns (only ``RESUMABLE`` options may change), so
        that config.yaml never records a value the run did not use."""
        saved = state.get("config")
        if not isinstance(saved, dict):
            raise CheckpointError(f"{path}: the checkpoint holds no run config")
        saved_method = saved.get("method")
        for name in self.cfg.method.data_bound:  # filled from the data when the run started: the run's own values
            if getattr(self.cfg.method, name) is None and isinstance(saved_method, dict):
                setattr(self.cfg.method, name, saved_method.get(name))
        diffs = resume_differences(saved, to_dict(self.cfg))
        if diffs:
            raise CheckpointError(
                f"{path}: cannot resume with changed options: {'; '.join(diffs)} (on resume only how the run runs, "
                "reports and how long it goes may change; start a new run with --name to change the others)"
            )

    # -- setup -----------------------------------------------------------------------------------------------
    def _load_data(self) -> tuple[list[Any], list[Any]]:
        """Scans the training (and validation) split with the method's data kind; bad files refuse or warn."""
        cfg = self.cfg.data
        self.data = DATA_KINDS.get(self.cfg.method.data_kind)(cfg)
        report = self.data.scan(cfg.train_split)
        report.check(cfg.skip_bad)
        self.cfg.method.adopt_data(report)
        train, val = report.records, []
        reports = [report]
        if cfg.val_split is not None:
            try:
                val_report = self.data.scan(cfg.val_split)
            except DatasetError as exc:
                raise DatasetError(
                    f"validation split: {exc} (set --data.val_split=null, optionally with --data.holdout=0.2)"
                ) from None
            val_report.check(cfg.skip_bad)
            val = val_report.records
            reports.append(val_report)
        elif cfg.holdout > 0:
            train, val = self.data.holdout(train, cfg.holdout)
            if not train or not val:
                raise DatasetError(f"data.holdout={cfg.holdout} leaves an empty train or val set")
        for rep in reports:
            if rep.problems:
                log.warning("skipping %d bad file(s) in %s [%s]:", len(rep.problems), rep.root, rep.split)
                for problem in rep.problems:
                    log.warning("  %s", problem)
        unit = self.data.unit
        log.info("data: %d training %s, %d validation %s (%s)", len(train), unit, len(val), unit, report.summary())
        return train, val

    def _seed(self) -> None:
        seed = self.cfg.seed
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        if self.cfg.train.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
            torch.backends.cudnn.benchmark = False
        elif self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    def _build(self) -> None:
        self.engine = TrainEngine(self.cfg, self.device, self.dist)
        self.method: Method = self.engine.method
        self.optimizers = self.engine.optimizers
        self.preprocessing = self.cfg.preprocessing()
        self._seed_rank(0)

    def _seed_rank(self, step: int) -> None:
        """Processes other than the first draw their own dropout masks (all start from the same weights)."""
        if self.dist.rank > 0:
            torch.manual_seed(sample_seed(self.cfg.seed, step, -1 - self.dist.rank))

    def _restore(self, path: Path) -> _Progress:
        state, self._resume_state = self._resume_state or load_state(path), None
        load_networks(self.method.networks(), state, str(path))
        self.engine.load_optimizer_state(state, str(path))
        p = state["progress"]
        rng = state["rng"]
        random.setstate(rng["python"])
        if self.dist.rank == 0:
            torch.set_rng_state(rng["torch"])
            if self.device.type == "cuda" and rng.get("cuda"):
                torch.cuda.set_rng_state(rng["cuda"][0], self.device)
        else:  # only the first process's streams are saved; the others restart theirs from the step
            self._seed_rank(p["step"])
        self._pending_losses = state.get("pending_losses") or {}
        known = {f for f in _Progress.__dataclass_fields__}
        return _Progress(**{k: v for k, v in p.items() if k in known})

    # -- checkpoints -----------------------------------------------------------------------------------------
    def _state(self, run: _RunState) -> dict[str, Any]:
        return {
            "config": to_dict(self.cfg),
            "progress": vars(run.progress).copy(),
            "pending_losses": run.pending_losses(),
            **self.engine.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": [torch.cuda.get_rng_state(self.device)] if self.device.type == "cuda" else [],
                "python": random.getstate(),
            },
        }

    def _save(self, path: Path, run: _RunState, collective: bool = False) -> Path:
        """Writes a checkpoint, but only after checking that no loss since the last log and no weight or buffer is
        NaN/inf.

        Every process checks (their weights are equal, so they agree); only the first one writes. ``collective``
        (every process is saving this step) first averages the pending losses over processes, so that a resumed run
        logs the same means.
        """
        if collective and self.dist.enabled:
            run.reduce_losses()
        run.check_losses(self.folder)
        self._check_state_finite(run.progress)
        if self.dist.is_main:
            save_state(path, self._state(run))
        return path

    def _check_state_finite(self, progress: _Progress) -> None:
        """Every floating-point tensor of every network, buffers included (a BatchNorm ``running_var`` can become
        inf while the losses stay finite)."""
        for name, net in self.method.networks().items():
            bad = first_nonfinite(net.state_dict())
            if bad is not None:
                raise _diverged(f"tensor {bad} of network {name}", progress, self.folder)

    # -- validation and samples ------------------------------------------------------------------------------
    def _examples(self, records: list[Any], limit: int | None) -> Iterator[tuple[Any, dict[str, Any]]]:
        """(record, example) pairs, each example decoded when it is reached (a validation split of any size)."""
        for record in records[:limit] if limit else records:
            yield record, self.data.load_example(record)

    def _samples_and_validation(self, run: _RunState, sample: bool, validate: bool) -> None:
        """Writes a sample grid and/or runs a validation round at this step, in one pass over the examples they
        share: when both are due, the grid's rows are those validation already translated.

        An example a metric is undefined for (e.g. an image smaller than SSIM's window) is named in a warning and
        left out of both; the rest are scored and shown.
        """
        tc, step = self.cfg.train, run.progress.step
        # Recorded on every process (the checkpoint says the round was done), performed where there are records.
        if sample:
            run.progress.sampled_step = step
        if validate:
            run.progress.validated_step = step
        sample = sample and bool(run.sample_records) and tc.num_samples > 0
        validate = validate and bool(run.val_records)
        rows: dict[int, list[np.ndarray]] = {}
        failed: set[int] = set()

        def score(validation: Any, index: int, record: Any, example: dict[str, Any]) -> list[np.ndarray] | None:
            try:
                return validation.score(example)
            except ValueError as exc:
                if index not in failed:
                    log.warning("validation skipped %s: %s", getattr(record, "name", record), exc)
                failed.add(index)
                return None

        if validate:
            validation = self.method.validator(self.preprocessing, self.device)
            shared = sample and run.sample_records is run.val_records
            for index, (record, example) in enumerate(self._examples(run.val_records, tc.val_max_images)):
                row = score(validation, index, record, example)
                if row is not None and shared and index < tc.num_samples:
                    rows[index] = row
            run.val_metrics = validation.metrics()
            self._log(run.loggers, step, {f"val/{k}": v for k, v in run.val_metrics.items()})
            log.info(_format_val(run.progress, run.val_metrics))
            self._write_figures(run, step, validation)
            self._maybe_save_best(run)
        if sample:
            missing = [
                i for i in range(min(tc.num_samples, len(run.sample_records))) if i not in rows and i not in failed
            ]
            if missing:
                validation = self.method.validator(self.preprocessing, self.device)
                for index in missing:
                    record = run.sample_records[index]
                    if (row := score(validation, index, record, self.data.load_example(record))) is not None:
                        rows[index] = row
            if rows:
                grid = sample_grid([rows[i] for i in sorted(rows)], height=min(256, self.cfg.data.crop_size))
                write_image(self.folder.sample(step), grid)
                for logger in run.loggers:
                    logger.log_image(step, self.method.sample_tag, grid)

    # -- the loop --------------------------------------------------------------------------------------------
    def _write_figures(self, run: _RunState, step: int, validation: Any) -> None:
        """Images a validation round renders (a classifier's confusion matrix): ``<run>/<name>.png``, replaced each
        round, and TensorBoard's ``val/<name>``."""
        figures = validation.figures() if hasattr(validation, "figures") else {}
        for name, image in figures.items():
            write_image(self.run_dir / f"{name}.png", image)
            for logger in run.loggers:
                logger.log_image(step, f"val/{name}", image)

    def fit(self) -> TrainResult:
        """Trains to the end of the schedule (or max_steps) and returns where the results are.

        The first process holds the run folder's lock throughout (a second run on the same folder is refused) and
        removes the temp files a killed run left behind.
        """
        with contextlib.ExitStack() as stack:
            if self.dist.is_main:
                created = stack.enter_context(run_folder_lock(self.run_dir))
                stack.callback(_remove_if_unused, self.run_dir, created)
                for tmp in remove_stale_temp_files(self.run_dir):
                    log.info("removed %s, left by a run killed while writing it", tmp)
            stack.enter_context(_log_to_file(self.folder.log, enabled=self.dist.is_main))
            distributed.init_process_group(self.dist, self.device)
            try:
                return self._fit()
            finally:
                distributed.destroy_process_group(self.dist)

    def setup(self) -> tuple[list[Any], list[Any]]:
        """Scans the data, seeds and builds the engine; returns the (training, validation) records."""
        train_records, val_records = self._load_data()
        self._seed()
        self._build()
        return train_records, val_records

    def batches(self, train_records: list[Any]) -> _Batches:
        """The training batches of each epoch on this device: from the decoded cache, or from loader workers."""
        cfg, tc = self.cfg, self.cfg.train
        local_batch = tc.batch_size // self.dist.world_size
        rank, world = self.dist.rank, self.dist.world_size
        sampler = EpochSampler(len(train_records), local_batch, cfg.seed, rank=rank, world_size=world)
        cache, reason = self.data.device_cache(train_records, self.device)
        if cache is not None:
            log.info("data: %s, augmented in batches on %s", reason, self.device)
            return _Batches(sampler, _CachedLoader(cache, sampler, local_batch), self.engine.to_device)
        if reason:
            log.info("data: %s; loading with %d worker(s)", reason, cfg.data.num_workers)
        dataset = self.data.train_dataset(train_records)
        loader = DataLoader(
            dataset,
            batch_size=local_batch,
            sampler=sampler,
            num_workers=cfg.data.num_workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=cfg.data.num_workers > 0,
            # A private generator keeps the loader from drawing on the global RNG (dropout's), for exact resume.
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        return _Batches(sampler, loader, self.engine.to_device)

    def _fit(self) -> TrainResult:
        cfg, tc = self.cfg, self.cfg.train
        main = self.dist.is_main
        train_records, val_records = self.setup()
        if not self.resume_from:
            self.method.load_initial_weights()
        progress = self._restore(self.resume_from) if self.resume_from else _Progress()
        if self.resume_from:
            log.info("resuming from %s at step %d (epoch %d)", self.resume_from, progress.step, progress.epoch + 1)
        loggers: list[Logger] = []
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            dump_yaml(to_dict(cfg), self.folder.config)
            # Records a killed run wrote after its last checkpoint (or before its first one) are dropped.
            resume_step = progress.step if self.resume_from else 0
            loggers.append(JsonlLogger(self.folder.metrics, resume_step))
            if tc.tensorboard:
                loggers.append(TensorBoardLogger(self.folder.tensorboard, resume_step))

        batches = self.batches(train_records)
        steps_per_epoch = batches.steps_per_epoch
        total_steps = steps_per_epoch * tc.total_epochs
        if tc.max_steps is not None:
            total_steps = min(total_steps, tc.max_steps)
        log.info(
            "training %s on %s (%s): %d steps of %d image(s) (%d per epoch); run folder %s",
            cfg.method.name,
            self.device,
            self.engine.describe(),
            total_steps,
            tc.batch_size,
            steps_per_epoch,
            self.run_dir,
        )
        has_val = bool(val_records)  # the same on every process, which all take part in each round's bookkeeping
        if not main:
            val_records = []
        fallback = train_records[: tc.num_samples] if not has_val else []
        run = _RunState(progress, loggers, val_records, fallback, has_val)
        if not main:
            run.sample_records = []
        run.saved_at = progress.step if self.resume_from else -1
        if self.resume_from:
            run.restore_losses(self._pending_losses, self.device)
        pbar = tqdm(
            total=total_steps * tc.batch_size,
            initial=progress.step * tc.batch_size,
            unit="img",
            desc=cfg.name,
            disable=not (tc.progress and main),
            dynamic_ncols=True,
            smoothing=0.1,
        )
        run.pbar = pbar
        self.method.train()  # validation and samples run on inference copies, so this mode never changes
        with self._signals(), logging_redirect_tqdm():
            try:
                while progress.epoch < tc.total_epochs and progress.step < total_steps:
                    for batch in batches.epoch(progress.epoch, progress.batch_in_epoch):
                        losses = self.engine.train_step(batch)
                        # Losses are means over this process's share; weighted by the share's size, their mean over
                        # processes (reduce_losses) is that of the global batch, also when it is split unevenly.
                        n_global = min(tc.batch_size, len(train_records) - progress.batch_in_epoch * tc.batch_size)
                        run.add_losses(losses, self.engine.local_samples * self.dist.world_size / n_global)
                        progress.step += 1
                        progress.batch_in_epoch += 1
                        pbar.update(tc.batch_size)
                        self._periodic(run, "step", progress.step)
                        if self._should_stop():
                            raise _Stop()
                        if progress.step >= total_steps:
                            break
                    if progress.batch_in_epoch >= steps_per_epoch:
                        progress.epoch += 1
                        progress.batch_in_epoch = 0
                        self._step_schedulers()
                        self._periodic(run, "epoch", progress.epoch)
                # The end: last.pt first, so that nothing after the last step can lose it; then the final samples and
                # validation, and last.pt again to record them (a resumed finished run does not repeat them).
                if run.saved_at != progress.step:
                    self._save_last(run)
                sample_due = tc.num_samples > 0 and progress.sampled_step != progress.step
                validate_due = has_val and progress.validated_step != progress.step
                if sample_due or validate_due:
                    self._samples_and_validation(run, sample_due, validate_due)
                    self._save_last(run)
            except OSError as exc:
                raise self._write_failed(exc, run) from None
            except _Stop:
                path = self._save_last(run)
                raise TrainingInterrupted(
                    f"stopped by signal {self._stop_signal} at step {progress.step}; checkpoint written to {path}; "
                    f"continue with: i2i train --resume {path}"
                ) from None
            finally:
                pbar.close()
                for logger in loggers:
                    logger.close()
        best = self.folder.best
        return TrainResult(
            self.run_dir,
            progress.step,
            progress.epoch,
            self.folder.last,
            best if best.exists() else None,
            run.val_metrics,
        )

    def _should_stop(self) -> bool:
        """A signal stops the run after the current step; all processes agree on the step (one all_reduce)."""
        if not self.dist.enabled:
            return self._stop_signal is not None
        flag = torch.tensor([0 if self._stop_signal is None else self._stop_signal], device=self.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        if flag.item() and self._stop_signal is None:
            self._stop_signal = int(flag.item())
        return bool(flag.item())

    def _step_schedulers(self) -> None:
        with warnings.catch_warnings():
            # A run resumed exactly at an epoch's end steps the schedule before its first optimizer step; the
            # schedule's state came from the checkpoint, so torch's warning about skipped values does not apply.
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
            self.engine.step_schedulers()

    def _periodic(self, run: _RunState, unit: str, count: int) -> None:
        """Everything that happens on a cadence, after a step (unit 'step') or an epoch (unit 'epoch').

        If logging, samples or validation fail, the state of this step is saved first (when it is sound), so that
        no failure after a step loses the training done so far.
        """
        tc = self.cfg.train
        try:
            if tc.every("log_every").due(unit, count):
                self._log_losses(run)
            sample = tc.every("sample_every").due(unit, count)
            validate = run.has_val and tc.every("val_every").due(unit, count)
            if sample or validate:
                self._samples_and_validation(run, sample, validate)
        except (TrainingDiverged, _Stop, KeyboardInterrupt):
            raise
        except BaseException:
            self._save_before_failing(run)
            raise
        if tc.every("checkpoint_every").due(unit, count):
            self._save_last(run)
        if tc.every("keep_every").due(unit, count):
            self._save(self.folder.kept(run.progress.step), run, collective=True)

    def _save_before_failing(self, run: _RunState) -> None:
        """Writes last.pt for the current step while an error propagates (this process only: the others may not be
        failing); a state that cannot be saved (NaN weights, a full disk) leaves the previous last.pt as it is."""
        if run.saved_at == run.progress.step:
            return
        try:
            self._save(self.folder.last, run)
        except Exception as exc:  # noqa: BLE001 - the original error is the one to report
            log.warning("could not save step %d before stopping: %s", run.progress.step, exc)
            return
        run.saved_at = run.progress.step
        log.warning("the state of step %d was saved to %s before stopping", run.progress.step, self.folder.last)

    def _write_failed(self, exc: OSError, run: _RunState) -> TrainingWriteFailed:
        """The one-line report of a failed write: which file, at which step, and which checkpoint is still intact
        (checkpoints are written atomically, so a failed write leaves the previous one whole)."""
        what = exc.filename or "a file of the run folder"
        reason = exc.strerror or str(exc)
        last = self.folder.last
        if last.is_file() and run.saved_at >= 0:
            intact = f"the last good checkpoint is {last} (step {run.saved_at}), intact"
        else:
            intact = "no checkpoint was written yet"
        hint = "free some space and " if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        message = (
            f"could not write {what} at step {run.progress.step} ({reason}); {intact}; "
            f"{hint}continue with: i2i train --resume {self.run_dir}"
        )
        log.error(message)
        return TrainingWriteFailed(message)

    def _log_losses(self, run: _RunState) -> None:
        if self.dist.enabled:  # the logged losses are means over every process's share of the batches
            run.reduce_losses()
        values = run.take_losses(self.folder)
        now = time.perf_counter()
        values["images_per_sec"] = (run.progress.step - run.rate_step) * self.cfg.train.batch_size / (now - run.rate_t)
        run.rate_t, run.rate_step = now, run.progress.step
        values["lr"] = float(next(iter(self.optimizers.values())).param_groups[0]["lr"])
        self._log(run.loggers, run.progress.step, values)
        run.pbar.set_postfix({k: f"{v:.3g}" for k, v in values.items() if k != "lr"}, refresh=False)

    def _save_last(self, run: _RunState) -> Path:
        path = self._save(self.folder.last, run, collective=True)
        run.saved_at = run.progress.step
        return path

    def _maybe_save_best(self, run: _RunState) -> None:
        """Writes best.pt when the metric ``train.best_metric`` names (one the method reports) improved."""
        name, progress = self.cfg.train.best_metric, run.progress
        if name is None or name not in run.val_metrics:
            return
        value, best = run.val_metrics[name], progress.best_value
        better_is_lower = self.cfg.method.validation_metrics(self.cfg.data)[name] == "min"
        if best is None or (value < best if better_is_lower else value > best):
            progress.best_value, progress.best_step = value, progress.step
            self._save(self.folder.best, run)

    @staticmethod
    def _log(loggers: list[Logger], step: int, values: dict[str, float]) -> None:
        for logger in loggers:
            logger.log_scalars(step, values)

    @contextlib.contextmanager
    def _signals(self):
        """SIGINT/SIGTERM finish the current step, write last.pt and stop; a second SIGINT stops at once."""

        def handler(signum, frame):  # noqa: ARG001
            if self._stop_signal is not None and signum == signal.SIGINT:
                raise KeyboardInterrupt
            self._stop_signal = signum

        if threading.current_thread() is threading.main_thread():
            previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        else:
            previous = {}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def _remove_if_unused(folder: Path, created: Path | None) -> None:
    """Removes the folders this run created (``created``: the topmost one, e.g. ``runs/``) when the run wrote nothing
    into them but the lock file (a run refused before it starts: bad data, bad config)."""
    if created is None:
        return
    with contextlib.suppress(OSError):
        if [p.name for p in folder.iterdir()] == [".lock"]:
            (folder / ".lock").unlink()
            while True:
                folder.rmdir()  # only ever an empty folder
                if folder == created:
                    break
                folder = folder.parent


class _LazyFileHandler(logging.FileHandler):
    """A log file that is created (folder included) only when the first message arrives.

    A run refused before it starts (bad data, bad config) therefore leaves no empty run folder behind.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        """A log line that cannot be written (a full disk) is dropped with one warning, not a printed traceback;
        the error that matters reaches the user through the exception it raises."""
        if not getattr(self, "_warned", False):
            self._warned = True
            where = self.baseFilename
            print(f"i2i: warning: cannot write {where}; its messages go to the terminal only", file=sys.stderr)


@contextlib.contextmanager
def _log_to_file(path: Path, enabled: bool = True):
    """Copies the package's log messages (data summary, validation, warnings) to the run folder's train.log.

    Disabled (processes other than rank 0), the package logs warnings and errors only, so N processes don't
    print every message N times.
    """
    if not enabled:
        logger = logging.getLogger("i2i")
        previous_level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            yield
        finally:
            logger.setLevel(previous_level)
        return
    handler = _LazyFileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("i2i")
    previous_level = logger.level
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
        handler.close()


class _Stop(Exception):
    pass


class _CachedLoader:
    """Batches of the sampler's (index, seed) keys from a decoded cache, grouped as a DataLoader groups them."""

    def __init__(self, cache: Any, sampler: EpochSampler, batch_size: int) -> None:
        self.cache, self.sampler, self.batch_size = cache, sampler, batch_size

    def __iter__(self) -> Iterator[dict[str, Any]]:
        keys = list(self.sampler)
        for start in range(0, len(keys), self.batch_size):
            yield self.cache.batch(keys[start : start + self.batch_size])


class _Batches:
    """Training batches of any epoch from any batch on, already on the training device."""

    def __init__(self, sampler: EpochSampler, loader: Iterable[dict[str, Any]], to_device: Callable) -> None:
        self.sampler, self.loader, self.to_device = sampler, loader, to_device

    @property
    def steps_per_epoch(self) -> int:
        return self.sampler.batches_per_epoch()

    def epoch(self, epoch: int, start_batch: int) -> Iterator[dict[str, Any]]:
        if start_batch >= self.steps_per_epoch:
            return
        self.sampler.set_epoch(epoch, start_batch)
        for batch in self.loader:
            yield self.to_device(batch)


def _format_val(progress: _Progress, metrics: dict[str, float]) -> str:
    parts = ", ".join(f"{k} {v:.4g}" for k, v in headline(metrics).items())
    return f"step {progress.step} (epoch {progress.epoch}): validation {parts}"


def headline(metrics: dict[str, float]) -> dict[str, float]:
    """The metrics worth a log line: the method's own, without finer ones such as ``accuracy/<category>`` (those
    go to metrics.jsonl and TensorBoard)."""
    return {k: v for k, v in metrics.items() if "/" not in k}
