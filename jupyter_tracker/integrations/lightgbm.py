"""LightGBM autologging (``jt.lightgbm.autolog()``), by MLflow's names.

For the outermost ``lightgbm.train`` (also what ``LGBMClassifier.fit`` and the other
scikit-learn-style models call): the params (the ``params`` dict, then ``train``'s other
plain arguments, given or their defaults: ``num_boost_round``, ``keep_training_booster``),
each evaluation metric at each iteration as ``<valid name>-<metric>``
(``training-binary_logloss``, ``valid_0-l2``...; step = the iteration), ``best_iteration``
and ``stopped_iteration`` when early stopping chose one (with the best iteration's metrics
again at step ``stopped_iteration``), and the feature importance as the artifacts
``feature_importance_split.json`` and ``feature_importance_gain.json`` (feature ->
importance; and their ``.png`` charts when matplotlib is already imported). Models are not
logged.
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

FLAVOR = "lightgbm"
# train()'s arguments that are data or code, not params
NOT_PARAMS = (
    "train_set",
    "valid_sets",
    "valid_names",
    "feval",
    "init_model",
    "callbacks",
)


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Record LightGBM training (MLflow's ``mlflow.lightgbm.autolog``): see the module's
    documentation. Patches LightGBM when it is imported (now, if it already is);
    ``disable=True`` undoes it. The model, signature, input example and dataset options
    are accepted as no-ops; ``registered_model_name`` is out of scope."""
    configure(
        FLAVOR,
        patch,
        disable,
        exclusive,
        silent,
        extra_tags,
        registered_model_name=registered_model_name,
    )


def patch(module: Any) -> None:
    """Wrap ``train`` where LightGBM (``module``) and its scikit-learn models call it from."""
    import lightgbm.engine
    import lightgbm.sklearn

    patch_train(
        FLAVOR, (lightgbm.engine, module, lightgbm.sklearn), NOT_PARAMS, _callback, _log_booster
    )


def _callback(log: IterationLog) -> Any:
    """LightGBM's callback giving ``log`` each iteration's evaluation metrics."""

    def record(env: Any) -> None:
        results = env.evaluation_result_list
        log({f"{data}-{metric}": value for data, metric, value, *_ in results}, env.iteration)

    record.order = 25  # type: ignore[attr-defined]  # before early stopping's (30), which ends it
    return record


def _log_booster(
    chosen: Settings,
    run: Any,
    booster: Any,
    iterations: dict[int, dict[str, Any]],
    logged: dict[str, Any],
) -> None:
    """Early stopping's iterations and the feature importance of a trained booster."""
    if booster.best_iteration > 0 and iterations:  # counted from 1; the booster is cut there
        stopped = max(iterations) + 1  # the iterations made
        at_best = iterations.get(booster.best_iteration - 1, {})
        log_early_stopping(run, booster.best_iteration, stopped, at_best, stopped)
    names = booster.feature_name()
    for kind in ("split", "gain"):
        values = booster.feature_importance(importance_type=kind)
        log_feature_importance(
            run, kind, {name: float(v) for name, v in zip(names, values, strict=True)}
        )


# MLflow's mlflow.lightgbm beyond autolog (models) is out of scope
__getattr__ = module_attributes(__name__, "mlflow.lightgbm")
