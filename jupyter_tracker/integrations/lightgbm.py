"""LightGBM autologging (``jt.lightgbm.autolog()``), by MLflow's names.

For the outermost ``lightgbm.train`` (also what ``LGBMClassifier.fit`` and the other
scikit-learn-style models call): the params (the ``params`` dict with ``num_boost_round``
and the other plain arguments given), each evaluation metric at each iteration as
``<valid name>-<metric>`` (``training-binary_logloss``, ``valid_0-l2``...; step = the
iteration), ``best_iteration`` and ``stopped_iteration`` when early stopping chose one, and
the feature importance as the artifacts ``feature_importance_split.json`` and
``feature_importance_gain.json`` (feature -> importance). Models are not logged.
"""

from __future__ import annotations

from typing import Any

from ..errors import OutOfScopeError
from . import Settings, configure, log_params, recorded_call, recording, replace
from . import training_run as _training_run

FLAVOR = "lightgbm"
# train()'s arguments that are data or code, not params
NOT_PARAMS = (
    "params",
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
        Settings(
            disable,
            exclusive,
            silent,
            dict(extra_tags or {}),
            {"registered_model_name": registered_model_name},
        ),
        patch,
    )


def patch(module: Any) -> None:
    """Wrap ``train`` where LightGBM (``module``) and its scikit-learn models call it from."""
    import lightgbm.engine
    import lightgbm.sklearn

    for owner in (lightgbm.engine, module, lightgbm.sklearn):
        replace(FLAVOR, owner, "train", recorded_call(FLAVOR, _recorded_train, "params"))


def _recorded_train(
    chosen: Settings, original: Any, params: dict, args: tuple, kwargs: dict
) -> Any:
    import inspect

    bound = inspect.signature(original).bind(params, *args, **kwargs)
    given = {k: v for k, v in bound.arguments.items() if k not in NOT_PARAMS}
    logged = {**dict(params or {}), "num_boost_round": 100, **given}
    with _training_run(chosen, logged) as run:
        if run is None:
            return original(params, *args, **kwargs)
        with recording(FLAVOR):
            log_params(run, logged)

        def record(env: Any) -> None:
            with recording(FLAVOR):
                for data_name, eval_name, value, *_ in env.evaluation_result_list:
                    run.log_metric(f"{data_name}-{eval_name}", float(value), env.iteration)

        record.order = 30  # type: ignore[attr-defined]  # after LightGBM's own callbacks
        bound.arguments["callbacks"] = [*(bound.arguments.get("callbacks") or []), record]
        booster = original(*bound.args, **bound.kwargs)
        with recording(FLAVOR):
            _log_booster(run, booster)
        return booster


def _log_booster(run: Any, booster: Any) -> None:
    """Early stopping's iterations and the feature importance of a trained booster."""
    if booster.best_iteration > 0:
        run.log_metric("best_iteration", booster.best_iteration)
        run.log_metric("stopped_iteration", booster.current_iteration())
    names = booster.feature_name()
    for kind in ("split", "gain"):
        values = booster.feature_importance(importance_type=kind)
        importance = {name: float(v) for name, v in zip(names, values, strict=True)}
        run.log_dict(importance, f"feature_importance_{kind}.json")


def __getattr__(name: str) -> Any:
    """MLflow's ``mlflow.lightgbm`` beyond ``autolog`` (models) is out of scope."""
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    raise OutOfScopeError(f"mlflow.lightgbm.{name}")
