"""PyTorch Lightning autologging (``jt.lightning.autolog()``, MLflow's ``pytorch`` flavor,
also as ``jt.pytorch.autolog()``) and its logger ``jt.lightning.Logger``.

``autolog`` wraps the outermost ``Trainer.fit`` of ``lightning.pytorch`` and of the
standalone ``pytorch_lightning`` package as MLflow's pytorch autolog does, logging into the
active run (or a run started for ``fit``): the params ``epochs``, ``optimizer_name`` and
the first optimizer's defaults (``lr``, ``betas``...) and the module's and datamodule's
hyperparameters (``save_hyperparameters``; nested names joined by ``/``), an
``EarlyStopping``'s ``monitor``, ``mode``, ``patience``...; the metrics in
``trainer.callback_metrics`` every ``log_every_n_epoch`` epochs (step = the epoch) and,
with ``log_every_n_step``, every n training steps (step = the global step), and where early
stopping stopped (``stopped_epoch``, ``restored_epoch``, ``best_score``, ``wait_count``);
the module's summary as ``model_summary.txt``; the tag ``Mode`` = ``training``; and the
last checkpoint the trainer's ``ModelCheckpoint`` wrote as the tag ``checkpoint_path``.
Where a hyperparameter has the name of one of MLflow's params (``lr``), MLflow's value is
logged. A trainer with our ``Logger`` is left to it.

``Logger`` is a Lightning logger (``Trainer(logger=jt.lightning.Logger())``, also for
``pytorch_lightning``'s trainers) logging what Lightning gives its loggers: the
hyperparameters as params, the metrics ``self.log`` records at the trainer's
``log_every_n_steps`` (step = the global step), and each saved checkpoint's path as the
tag ``checkpoint_path``. It logs to the active run, else to a run of its own that ends when
the trainer finalizes it (FINISHED, or FAILED if training fails); Lightning keeps its
checkpoints under ``lightning_logs/<run id>/checkpoints``. Models are not logged. Building
the logger imports Lightning: it is made on first use of ``Logger``.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

from . import (
    CallbackRun,
    Settings,
    configure,
    flattened,
    framework,
    log_numbers,
    log_params,
    module_attributes,
    recorded_call,
    recording,
    replace,
)
from . import training_run as _training_run

FLAVOR = "pytorch"
SEPARATOR = "/"  # nested hyperparameters' names, as Lightning's own loggers join them
# an EarlyStopping callback's attributes logged as params (MLflow's)
EARLY_STOPPING_PARAMS = ("monitor", "mode", "patience", "min_delta", "stopped_epoch")


def autolog(
    log_every_n_epoch: int = 1,
    log_every_n_step: int | None = None,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
    checkpoint: bool = True,
    checkpoint_monitor: str | None = "val_loss",
    checkpoint_mode: str = "min",
    checkpoint_save_best_only: bool = True,
    checkpoint_save_weights_only: bool = False,
    checkpoint_save_freq: int | str = "epoch",
    log_model_signatures: bool = True,
) -> None:
    """Record PyTorch Lightning training (MLflow's ``mlflow.pytorch.autolog``): see the
    module's documentation. Patches ``lightning.pytorch.Trainer.fit`` when Lightning is
    imported (now, if it already is); ``disable=True`` undoes it. The model, dataset and
    signature options are accepted as no-ops, and so are the ``checkpoint`` ones (the
    trainer's own checkpoints are recorded by path, not copied); ``registered_model_name``
    is out of scope."""
    if log_every_n_epoch < 1 or (log_every_n_step is not None and log_every_n_step < 1):
        raise ValueError(
            "Log every n epochs (log_every_n_epoch=n) and, if at all, every n steps "
            f"(log_every_n_step=n) with n at least 1, not {log_every_n_epoch=} with "
            f"{log_every_n_step=}."
        )
    configure(
        FLAVOR,
        patch,
        disable,
        exclusive,
        silent,
        extra_tags,
        log_every_n_epoch=log_every_n_epoch,
        log_every_n_step=log_every_n_step,
        registered_model_name=registered_model_name,
    )


def patch(module: Any) -> None:
    """Wrap ``Trainer.fit`` (``module`` is ``lightning.pytorch`` or ``pytorch_lightning``)."""
    replace(FLAVOR, module.Trainer, "fit", recorded_call(FLAVOR, _recorded_fit, "self"))


def _package(trainer: Any) -> Any:
    """The Lightning package ``trainer`` is a trainer of: ``lightning.pytorch`` or the
    standalone ``pytorch_lightning`` (each has classes of its own)."""
    for name in ("lightning.pytorch", "pytorch_lightning"):
        module = sys.modules.get(name)
        if module is not None and isinstance(trainer, module.Trainer):
            return module
    raise TypeError(f"{type(trainer).__name__} is not a Lightning trainer")


def _has_our_logger(trainer: Any) -> bool:
    """Whether ``trainer`` logs with our ``Logger`` (never made: it cannot)."""
    made = _logger_class.cache_info().currsize > 0
    return made and any(isinstance(logger, _logger_class()) for logger in trainer.loggers)


def _recorded_fit(chosen: Settings, original: Any, trainer: Any, args: tuple, kwargs: dict) -> Any:
    if _has_our_logger(trainer):
        return original(trainer, *args, **kwargs)  # our Logger records this fit
    with _training_run(chosen, {"epochs": trainer.max_epochs}) as run:
        if run is None:
            return original(trainer, *args, **kwargs)
        stopper = trainer.early_stopping_callback
        if stopper is not None:
            with recording(FLAVOR):
                log_params(run, {p: getattr(stopper, p) for p in EARLY_STOPPING_PARAMS})
        callback = _callback_class(_package(trainer))(
            run, chosen.options["log_every_n_epoch"], chosen.options["log_every_n_step"]
        )
        trainer.callbacks.append(callback)
        try:
            result = original(trainer, *args, **kwargs)
        finally:
            trainer.callbacks.remove(callback)
        with recording(FLAVOR):
            _log_checkpoint(run, trainer.checkpoint_callback)
            if stopper is not None and stopper.stopped_epoch:
                _log_early_stop(run, stopper)
        return result


def _log_early_stop(run: Any, stopper: Any) -> None:
    """Where an ``EarlyStopping`` callback stopped, as MLflow's metrics."""
    run.log_metric("stopped_epoch", stopper.stopped_epoch)
    run.log_metric("restored_epoch", stopper.stopped_epoch - max(1, stopper.patience))
    run.log_metric("best_score", float(stopper.best_score))
    run.log_metric("wait_count", stopper.wait_count)


def _log_checkpoint(run: Any, checkpoint_callback: Any) -> None:
    """The tag ``checkpoint_path``: the last file ``checkpoint_callback`` (a
    ``ModelCheckpoint``, or None) wrote."""
    path = checkpoint_callback and (
        checkpoint_callback.last_model_path or checkpoint_callback.best_model_path
    )
    if path:
        run.set_tag("checkpoint_path", os.fspath(path))


def _hyperparams(params: Any) -> dict[str, Any]:
    """Lightning's hyperparameters (a dict or an ``argparse.Namespace``) as params."""
    return flattened(dict(params if isinstance(params, dict) else vars(params)), SEPARATOR)


@functools.cache
def _callback_class(pl: Any) -> type:
    """Autolog's callback for the Lightning package ``pl``, made on first use."""
    model_summary = pl.utilities.model_summary

    class Callback(pl.Callback):
        """Logs one ``fit`` as MLflow's pytorch autolog does (see the module)."""

        def __init__(self, run: Any, every_epoch: int, every_step: int | None) -> None:
            self.run, self.every_epoch, self.every_step = run, every_epoch, every_step
            # a metric logged per step is not logged per epoch, and the other way round
            self.step_metrics: set[str] = set()
            self.epoch_metrics: set[str] = set()

        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            with recording(FLAVOR):
                self.run.set_tag("Mode", "training")  # MLflow's tag
                params: dict[str, Any] = {}
                for owner in (getattr(trainer, "datamodule", None), pl_module):
                    if owner is not None:
                        params.update(_hyperparams(owner.hparams_initial))
                params["epochs"] = trainer.max_epochs  # MLflow's names win
                if trainer.optimizers:
                    optimizer = trainer.optimizers[0]
                    inner = getattr(optimizer, "optimizer", optimizer)  # LightningOptimizer
                    params["optimizer_name"] = type(inner).__name__
                    params.update(getattr(inner, "defaults", {}))
                log_params(self.run, params)

        def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
            if self.every_step is None or trainer.global_step % self.every_step:
                return
            metrics = trainer.callback_metrics
            chosen = {
                name: value
                for name, value in metrics.items()
                if name not in self.epoch_metrics and f"{name}_step" not in metrics
            }
            self.step_metrics.update(chosen)
            with recording(FLAVOR):
                log_numbers(self.run, chosen, trainer.global_step)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            chosen = {
                name: value
                for name, value in trainer.callback_metrics.items()
                if name not in self.step_metrics
            }
            self.epoch_metrics.update(chosen)
            if (trainer.current_epoch + 1) % self.every_epoch == 0:
                with recording(FLAVOR):
                    log_numbers(self.run, chosen, trainer.current_epoch)

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            with recording(FLAVOR):
                summary = str(model_summary.ModelSummary(pl_module, max_depth=-1))
                self.run.log_text(summary, "model_summary.txt")

    return Callback


@functools.cache
def _logger_class() -> type:
    """The logger class, made (importing Lightning) on first use."""
    framework("lightning.pytorch", "lightning", "jt.lightning.Logger")
    from lightning.pytorch.loggers import Logger as LightningLogger
    from lightning.pytorch.utilities import rank_zero_only

    class Logger(LightningLogger):
        """A Lightning logger recording into jupyter-tracker
        (``Trainer(logger=jt.lightning.Logger())``): hyperparameters as params, metrics at
        Lightning's steps, each saved checkpoint's path as the tag ``checkpoint_path``; to
        the active run, else to a run of its own that ends when the trainer finalizes it.
        ``experiment`` is that run."""

        def __init__(self) -> None:
            super().__init__()
            self._target = CallbackRun()

        @property
        def experiment(self) -> Any:
            """The run this logger logs to (once training has ended, the run it logged to)."""
            return self._target.latest or self._target.get()

        @property
        def name(self) -> str:
            """The folder of Lightning's checkpoints for this logger's runs."""
            return "lightning_logs"

        @property
        def version(self) -> str:
            """The run's id (the folder of its checkpoints under ``name``)."""
            return str(self.experiment.id)

        @rank_zero_only
        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            with recording(FLAVOR):
                log_params(self._target.get(), _hyperparams(params))

        @rank_zero_only
        def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
            with recording(FLAVOR):
                log_numbers(self._target.get(), metrics, step)

        @rank_zero_only
        def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
            with recording(FLAVOR):
                _log_checkpoint(self._target.get(), checkpoint_callback)

        @rank_zero_only
        def finalize(self, status: str) -> None:
            self._target.end("FINISHED" if status in ("success", "finished") else "FAILED")

    return Logger


# Logger made on first use; the rest of mlflow.pytorch (models) is out of scope
__getattr__ = module_attributes(__name__, "mlflow.pytorch", Logger=_logger_class)
