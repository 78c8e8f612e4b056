"""XGBoost autologging (``jt.xgboost.autolog()``), by MLflow's names.

For the outermost ``xgboost.train`` (also what ``XGBClassifier.fit`` and the other
scikit-learn-style models call): the params (the ``params`` dict, then ``train``'s other
plain arguments, given or their defaults: ``num_boost_round``, ``early_stopping_rounds``,
``maximize``, ``verbose_eval``, ``custom_metric``), each evaluation metric at each iteration
as ``<eval name>-<metric>`` (``train-logloss``, ``validation_0-error_at_0.7`` for the
scikit-learn models' ``eval_set``; ``@`` becomes ``_at_``; step = the iteration),
``best_iteration`` and ``stopped_iteration`` when early stopping chose one (with the best
iteration's metrics again at the step after the last), and the feature importance of each of
``importance_types`` as the artifact ``feature_importance_<type>.json`` (feature ->
importance, XGBoost's ``get_score``) and its chart ``feature_importance_<type>.png`` when
matplotlib is already imported. Models are not logged.
"""

from __future__ import annotations

from typing import Any

from . import (
    IterationLog,
    Settings,
    configure,
    log_early_stopping,
    log_feature_importance,
    module_attributes,
    patch_train,
)

FLAVOR = "xgboost"
# train()'s arguments that are data or code, not params
NOT_PARAMS = ("dtrain", "evals", "obj", "feval", "evals_result", "xgb_model", "callbacks")


def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Record XGBoost training (MLflow's ``mlflow.xgboost.autolog``): see the module's
    documentation. Patches XGBoost when it is imported (now, if it already is);
    ``disable=True`` undoes it. ``importance_types``: the feature importances logged
    (``["weight"]`` when None; also ``"gain"``, ``"cover"``, ``"total_gain"``...). The model,
    model format, signature, input example and dataset options are accepted as no-ops;
    ``registered_model_name`` is out of scope."""
    configure(
        FLAVOR,
        patch,
        disable,
        exclusive,
        silent,
        extra_tags,
        registered_model_name=registered_model_name,
        importance_types=list(importance_types or ["weight"]),
    )


def patch(module: Any) -> None:
    """Wrap ``train`` where XGBoost (``module``) and its scikit-learn models call it from."""
    import xgboost.sklearn
    import xgboost.training

    patch_train(
        FLAVOR, (xgboost.training, module, xgboost.sklearn), NOT_PARAMS, _callback, _log_booster
    )


def _callback(log: IterationLog) -> Any:
    """XGBoost's callback giving ``log`` each iteration's evaluation metrics."""
    from xgboost.callback import TrainingCallback

    class Record(TrainingCallback):
        def after_iteration(self, model: Any, epoch: int, evals_log: dict) -> bool:
            log(
                {
                    f"{data}-{metric.replace('@', '_at_')}": values[-1]
                    for data, metrics in evals_log.items()
                    for metric, values in metrics.items()
                },
                epoch,
            )
            return False  # go on training

    return Record()


def _log_booster(
    chosen: Settings,
    run: Any,
    booster: Any,
    iterations: dict[int, dict[str, Any]],
    logged: dict[str, Any],
) -> None:
    """Early stopping's iterations (when this training was given ``early_stopping_rounds``,
    as MLflow's: a booster it continues may carry an earlier one's) and the feature
    importance of a trained booster."""
    stopping = logged.get("early_stopping_rounds") is not None
    if stopping and "best_iteration" in booster.attributes() and iterations:
        stopped = max(iterations)  # the last iteration (MLflow's; LightGBM's counts them)
        at_best = iterations.get(booster.best_iteration, {})
        log_early_stopping(run, booster.best_iteration, stopped, at_best, stopped + 1)
    for kind in chosen.options["importance_types"]:
        log_feature_importance(run, kind, booster.get_score(importance_type=kind))


# MLflow's mlflow.xgboost beyond autolog (models) is out of scope
__getattr__ = module_attributes(__name__, "mlflow.xgboost")
