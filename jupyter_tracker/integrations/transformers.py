"""Hugging Face Transformers autologging (``jt.transformers.autolog()``) and its trainer
callback ``jt.transformers.Callback``.

The callback (``Trainer(callbacks=[jt.transformers.Callback()])``) logs, as the
``MLflowCallback`` of Transformers does: the ``TrainingArguments`` and the model's config as
params when training begins (nested names joined by ``.``; the arguments win over the
config where both have a name), every number the trainer logs (``loss``,
``learning_rate``, ``grad_norm``, ``eval_loss``, ``train_runtime``...; step = the global
step), and each checkpoint's folder, once saved, as the tag ``checkpoint_path`` (the last
one is the final checkpoint). It logs to the active run, else to a run of its own that ends
with training (a training that raises leaves that run active, as Transformers tells
callbacks nothing of it: ``jt.end_run("FAILED")`` ends it). ``autolog`` adds it to the
outermost ``Trainer.train`` (a trainer that has one is left to it), into the active run or
a run started for the call, which fails if training raises. Models are not logged.
Building the callback imports Transformers: it is made on first use of ``Callback``.
"""

from __future__ import annotations

import functools
import os
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

FLAVOR = "transformers"
SEPARATOR = "."  # nested arguments' and config's names, as Transformers' MLflowCallback


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = False,
    log_models: bool = False,
    log_datasets: bool = False,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Record Hugging Face ``Trainer`` training (with MLflow's ``mlflow.transformers.autolog``
    arguments): see the module's documentation. Patches ``transformers.Trainer.train`` when
    the trainer is imported (now, if it already is); ``disable=True`` undoes it. The model,
    signature, input example and dataset options are accepted as no-ops."""
    configure(FLAVOR, patch, disable, exclusive, silent, extra_tags)


def patch(module: Any) -> None:
    """Wrap ``Trainer.train`` (``module`` is ``transformers.trainer``)."""
    replace(FLAVOR, module.Trainer, "train", recorded_call(FLAVOR, _recorded_train, "self"))


def _recorded_train(
    chosen: Settings, original: Any, trainer: Any, args: tuple, kwargs: dict
) -> Any:
    callback_class = _callback_class()
    if any(isinstance(c, callback_class) for c in trainer.callback_handler.callbacks):
        return original(trainer, *args, **kwargs)  # our Callback records this training
    params = _params(trainer.args, trainer.model)
    with _training_run(chosen, params) as run:
        if run is None:
            return original(trainer, *args, **kwargs)
        with recording(FLAVOR):
            log_params(run, params)
        callback = callback_class(run)
        trainer.add_callback(callback)
        try:
            return original(trainer, *args, **kwargs)
        finally:
            trainer.remove_callback(callback)


def _params(arguments: Any, model: Any) -> dict[str, Any]:
    """The params of a training: the model's config and the ``TrainingArguments``."""
    config = getattr(model, "config", None)
    combined = {**(config.to_dict() if config is not None else {}), **arguments.to_dict()}
    return flattened(combined, SEPARATOR)


@functools.cache
def _callback_class() -> type:
    """The callback class, made (importing Transformers) on first use."""
    framework("transformers", "transformers", "jt.transformers.Callback")
    from transformers import TrainerCallback
    from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

    class Callback(TrainerCallback):
        """Logs a ``Trainer``'s training into jupyter-tracker: the ``TrainingArguments`` and
        model config as params, every number the trainer logs at its global step, each
        saved checkpoint's folder as the tag ``checkpoint_path``; to the active run, else to
        a run of its own that ends with training."""

        def __init__(self, run: Any = None) -> None:
            self._target = CallbackRun(run)

        def on_train_begin(
            self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any
        ) -> None:
            if state.is_world_process_zero:
                with recording(FLAVOR):
                    log_params(self._target.get(), _params(args, model))

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if not state.is_world_process_zero or not logs:
                return
            with recording(FLAVOR):
                log_numbers(self._target.get(), logs, state.global_step)

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            folder = os.path.join(args.output_dir, f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}")
            if state.is_world_process_zero and os.path.isdir(folder):
                with recording(FLAVOR):
                    self._target.get().set_tag("checkpoint_path", os.path.abspath(folder))

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self._target.end("FINISHED")

    return Callback


# Callback made on first use; the rest of mlflow.transformers (models) is out of scope
__getattr__ = module_attributes(__name__, "mlflow.transformers", Callback=_callback_class)
