"""Keras 3 autologging (``jt.keras.autolog()``) and its callback ``jt.keras.Callback``
(MLflow's ``mlflow.keras.MlflowCallback``, also under that name), by MLflow's names.

The callback logs, into the active run (or the run autolog started for ``fit``): the
optimizer's config as ``optimizer_<key>`` params and the model's summary as
``model_summary.txt`` when training begins; the metrics Keras reports (``loss``,
``accuracy``, ``val_loss``...) at the end of each epoch (step = epoch), or every
``log_every_n_steps`` batches (step = the optimizer's iteration); an evaluation's metrics
as ``validation_<name>``. ``autolog`` adds it to the outermost ``Model.fit`` and logs the
arguments of ``fit`` as params (``epochs``, ``batch_size``, ``validation_split``...) and
the file a ``ModelCheckpoint`` callback writes as the tag ``checkpoint_path``. Building
the callback imports Keras: it is made on first use of ``jt.keras.Callback``.
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

from . import Settings, configure, log_params, module_attributes, recorded_call, recording, replace
from . import training_run as _training_run

FLAVOR = "keras"
# fit()'s arguments that are data, code or display, not params (MLflow's list)
NOT_PARAMS = ("self", "x", "y", "callbacks", "validation_data", "verbose")


def autolog(
    log_every_epoch: bool = True,
    log_every_n_steps: int | None = None,
    log_models: bool = True,
    log_model_signatures: bool = True,
    save_exported_model: bool = False,
    log_datasets: bool = True,
    log_input_examples: bool = False,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    save_model_kwargs: dict[str, Any] | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Record Keras 3 training (MLflow's ``mlflow.keras.autolog``): see the module's
    documentation. Patches ``keras.Model.fit`` when Keras is imported (now, if it already
    is); ``disable=True`` undoes it. The model, signature, export, dataset and input
    example options are accepted as no-ops; ``registered_model_name`` is out of scope."""
    _check_frequency(log_every_epoch, log_every_n_steps)
    configure(
        FLAVOR,
        patch,
        disable,
        exclusive,
        silent,
        extra_tags,
        log_every_epoch=log_every_epoch,
        log_every_n_steps=log_every_n_steps,
        registered_model_name=registered_model_name,
    )


def _check_frequency(log_every_epoch: bool, log_every_n_steps: int | None) -> None:
    if log_every_epoch == (log_every_n_steps is not None):
        raise ValueError(
            "Log every epoch (log_every_epoch=True) or every n steps (log_every_epoch=False, "
            f"log_every_n_steps=n), not {log_every_epoch=} with {log_every_n_steps=}."
        )


def patch(module: Any) -> None:
    """Wrap ``keras.Model.fit`` (``module`` is Keras)."""
    replace(FLAVOR, module.Model, "fit", recorded_call(FLAVOR, _recorded_fit, "self"))


def _recorded_fit(chosen: Settings, original: Any, model: Any, args: tuple, kwargs: dict) -> Any:
    bound = inspect.signature(original).bind(model, *args, **kwargs)
    bound.apply_defaults()
    params = {k: v for k, v in bound.arguments.items() if k not in NOT_PARAMS}
    with _training_run(chosen, params) as run:
        if run is None:
            return original(model, *args, **kwargs)
        with recording(FLAVOR):
            log_params(run, params)
        callbacks = list(bound.arguments.get("callbacks") or [])
        if not any(isinstance(c, _callback_class()) for c in callbacks):
            callback = _callback_class()(
                chosen.options["log_every_epoch"], chosen.options["log_every_n_steps"]
            )
            callback.run = run
            callbacks.append(callback)
        bound.arguments["callbacks"] = callbacks
        history = original(*bound.args, **bound.kwargs)
        with recording(FLAVOR):
            import keras

            for c in callbacks:
                if isinstance(c, keras.callbacks.ModelCheckpoint):
                    run.set_tag("checkpoint_path", os.fspath(c.filepath))
        return history


@functools.cache
def _callback_class() -> type:
    """The callback class, made (importing Keras) on first use."""
    import keras

    from ..session import session

    class Callback(keras.callbacks.Callback):
        """Logs a Keras model's training (MLflow's ``MlflowCallback``): the optimizer's
        config as ``optimizer_<key>`` params and ``model_summary.txt`` at the start, the
        metrics every epoch (``log_every_epoch=True``) or every ``log_every_n_steps``
        batches, an evaluation's as ``validation_<name>``. Logs to the active run (or the
        run autolog started for ``fit``)."""

        def __init__(self, log_every_epoch: bool = True, log_every_n_steps: int | None = None):
            super().__init__()
            _check_frequency(log_every_epoch, log_every_n_steps)
            self.log_every_epoch = log_every_epoch
            self.log_every_n_steps = log_every_n_steps
            self.run: Any = None  # set by autolog; else the active run

        def _run(self) -> Any:
            return self.run or session().run_for("keras.Callback")

        def _log(self, logs: dict[str, Any], step: int | None, prefix: str = "") -> None:
            run = self._run()
            with recording(FLAVOR):
                for key, value in logs.items():
                    try:
                        number = float(value)
                    except (TypeError, ValueError):
                        continue  # not a scalar (a metric returning an array)
                    run.log_metric(f"{prefix}{key}", number, step)

        def on_train_begin(self, logs: dict | None = None) -> None:
            run = self._run()
            with recording(FLAVOR):
                config = self.model.optimizer.get_config()
                log_params(run, {f"optimizer_{k}": v for k, v in config.items()})
                lines: list[str] = []
                self.model.summary(print_fn=lambda line, *a, **k: lines.append(line))
                run.log_text("\n".join(lines), "model_summary.txt")

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if self.log_every_epoch and logs:
                self._log(logs, epoch)

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if self.log_every_n_steps is None or not logs:
                return
            step = int(self.model.optimizer.iterations.numpy())
            if step % self.log_every_n_steps == 0:
                self._log(logs, step)

        def on_test_end(self, logs: dict | None = None) -> None:
            if logs:
                self._log(logs, None, "validation_")

    return Callback


# Callback (also MLflow's name MlflowCallback) made on first use; the rest of mlflow.keras
# (models) is out of scope
__getattr__ = module_attributes(
    __name__, "mlflow.keras", Callback=_callback_class, MlflowCallback=_callback_class
)
