"""scikit-learn autologging (``jt.sklearn.autolog()``), recording what MLflow's does by
MLflow's names.

For the outermost ``fit``, ``fit_transform`` or ``fit_predict`` of an estimator:
- params: ``get_params(deep=True)`` (a pipeline's ``clf__C``...; a search's own params and
  ``best_<param>``), values as text cut to 6000 characters as MLflow does;
- tags ``estimator_name`` and ``estimator_class``;
- metrics on the training data: ``training_score`` and, for a classifier,
  ``training_accuracy_score``, ``training_precision_score``, ``training_recall_score``,
  ``training_f1_score`` (weighted averages), ``training_log_loss`` and ``training_roc_auc``
  (with ``predict_proba``); for a regressor ``training_mean_squared_error``,
  ``training_root_mean_squared_error``, ``training_mean_absolute_error``,
  ``training_r2_score``;
- artifacts ``estimator.html`` (the fitted estimator's summary) and, for a classifier,
  ``training_confusion_matrix.json``;
- ``GridSearchCV``/``RandomizedSearchCV``: ``best_cv_score``, ``cv_results.csv``, and a
  child run for each of the ``max_tuning_runs`` best candidates with its params and its
  ``cv_results_`` metrics (``mean_test_score``, ``rank_test_score``...);
- ``cross_validate`` and ``cross_val_score`` (jupyter-tracker's own; MLflow records only
  the first fold's fit): the estimator's params, each score per fold as a series (step =
  fold, e.g. ``test_score``) and its ``mean_``/``std_`` across folds.
Models are not logged (out of scope: ``jupyter-tracker push`` hands runs to MLflow), nor
MLflow's post-training metrics, datasets or plots.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..session import session
from . import (
    Settings,
    configure,
    log_params,
    module_attributes,
    recorded_call,
    recording,
    replace,
    training_run,
)

FLAVOR = "sklearn"
FIT_METHODS = ("fit", "fit_transform", "fit_predict")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, str] | None = None,
) -> None:
    """Record scikit-learn training (MLflow's ``mlflow.sklearn.autolog``): see the module's
    documentation for what is recorded. Patches scikit-learn when it is imported (now, if
    it already is); ``disable=True`` undoes it. ``max_tuning_runs``: child runs of a
    search (its best candidates; None: all); ``pos_label``: the positive class for binary
    precision, recall and F1. The model, signature, input example, dataset and
    post-training-metric options concern what is not recorded and are accepted as no-ops;
    ``registered_model_name`` is out of scope."""
    configure(
        FLAVOR,
        patch,
        disable,
        exclusive,
        silent,
        extra_tags,
        max_tuning_runs=max_tuning_runs,
        pos_label=pos_label,
        registered_model_name=registered_model_name,
    )


def patch(module: Any) -> None:
    """Wrap the fit methods of every scikit-learn estimator (``module`` is scikit-learn),
    and ``cross_validate`` where ``cross_val_score`` and users call it from."""
    import sklearn.model_selection
    from sklearn.model_selection import _validation
    from sklearn.utils import all_estimators

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # importing every estimator's module
        estimators = [cls for _, cls in all_estimators()]
    owners = {
        (klass, name)
        for cls in estimators
        for klass in cls.__mro__
        for name in FIT_METHODS
        if name in klass.__dict__ and klass.__module__.startswith("sklearn.")
    }
    for klass, name in owners:
        replace(FLAVOR, klass, name, recorded_call(FLAVOR, _recorded_fit, "self"))
    for owner in (_validation, sklearn.model_selection):
        replace(
            FLAVOR,
            owner,
            "cross_validate",
            recorded_call(FLAVOR, _recorded_cross_validate, "estimator"),
        )


def _arguments(original: Any, args: tuple, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by name (``X``, ``y``, ``sample_weight``...)."""
    try:
        bound = inspect.signature(original).bind_partial(None, *args, **kwargs)
    except TypeError:
        return {}
    named = dict(bound.arguments)
    named.update(named.pop("kwargs", None) or named.pop("fit_params", None) or {})
    return named


@contextmanager
def _estimator_run(chosen: Settings, estimator: Any) -> Iterator[Any]:
    """The run a fit or a cross-validation of ``estimator`` records into (None: it is not
    recorded), with the estimator's params and MLflow's tags naming its class logged."""
    params = _params(estimator)
    with training_run(chosen, params) as run:
        if run is not None:
            with recording(FLAVOR):
                log_params(run, params)
                name = type(estimator).__name__
                run.set_tag("estimator_name", name)
                run.set_tag("estimator_class", f"{type(estimator).__module__}.{name}")
        yield run


def _recorded_fit(
    chosen: Settings, original: Any, estimator: Any, args: tuple, kwargs: dict
) -> Any:
    with _estimator_run(chosen, estimator) as run:
        if run is None:
            return original(estimator, *args, **kwargs)
        result = original(estimator, *args, **kwargs)
        named = _arguments(original, args, kwargs)
        with recording(FLAVOR):
            _log_fitted(run, chosen, estimator, named)
        return result


def _params(estimator: Any) -> dict[str, Any]:
    """MLflow's params of an estimator: deep, but a search's own only."""
    from sklearn.model_selection._search import BaseSearchCV

    return estimator.get_params(deep=not isinstance(estimator, BaseSearchCV))


def _log_fitted(run: Any, chosen: Settings, estimator: Any, named: dict[str, Any]) -> None:
    from sklearn.model_selection._search import BaseSearchCV
    from sklearn.utils import estimator_html_repr

    if isinstance(estimator, BaseSearchCV):
        _log_search(run, chosen, estimator)
    X, y = named.get("X"), named.get("y")
    if X is not None and y is not None:
        metrics, matrix = training_metrics(
            estimator, X, y, named.get("sample_weight"), chosen.options.get("pos_label")
        )
        for key, value in metrics.items():
            run.log_metric(key, value)
        if matrix is not None:
            run.log_dict(matrix, "training_confusion_matrix.json")
    run.log_text(estimator_html_repr(estimator), "estimator.html")


def training_metrics(
    estimator: Any, X: Any, y: Any, sample_weight: Any = None, pos_label: Any = None
) -> tuple[dict[str, float], dict[str, Any] | None]:
    """MLflow's training metrics of a fitted classifier or regressor (others: none), and a
    classifier's confusion matrix (``labels``, ``matrix``: rows true, columns predicted)."""
    from sklearn import metrics as m
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor

    weights = {"sample_weight": sample_weight}
    found: dict[str, float] = {}
    matrix = None
    if is_classifier(estimator):
        proba = estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else None
        predicted = _predictions(estimator, X, proba)
        counted = None if pos_label is not None else _counted(estimator, y, predicted, weights)
        if counted is not None:  # the same numbers as below, without re-reading the labels
            found.update(counted.scores(proba))
        else:
            average = "weighted" if pos_label is None else "binary"
            label = {} if pos_label is None else {"pos_label": pos_label}
            precision, recall, f1, _ = m.precision_recall_fscore_support(
                y, predicted, average=average, zero_division=0, **label, **weights
            )
            found["training_precision_score"] = precision
            found["training_recall_score"] = recall
            found["training_f1_score"] = f1
            found["training_accuracy_score"] = m.accuracy_score(y, predicted, **weights)
        if proba is not None and "training_log_loss" not in found:
            labels = estimator.classes_
            found["training_log_loss"] = m.log_loss(y, proba, labels=labels, **weights)
        if proba is not None and "training_roc_auc" not in found:
            labels = estimator.classes_
            if len(labels) == 2:
                found["training_roc_auc"] = m.roc_auc_score(y, proba[:, 1], **weights)
            else:
                found["training_roc_auc"] = m.roc_auc_score(
                    y, proba, average="weighted", multi_class="ovo", labels=labels
                )
        if type(estimator).score is ClassifierMixin.score:
            found["training_score"] = found["training_accuracy_score"]
        labels = list(getattr(estimator, "classes_", []))
        if labels:
            table = (
                counted.table()
                if counted is not None
                else m.confusion_matrix(y, predicted, labels=labels, **weights).tolist()
            )
            matrix = {"labels": [_plain(v) for v in labels], "matrix": table}
    elif is_regressor(estimator):
        predicted = estimator.predict(X)
        mse = m.mean_squared_error(y, predicted, **weights)
        found["training_mean_squared_error"] = mse
        found["training_root_mean_squared_error"] = math.sqrt(mse)
        found["training_mean_absolute_error"] = m.mean_absolute_error(y, predicted, **weights)
        found["training_r2_score"] = m.r2_score(y, predicted, **weights)
        if type(estimator).score is RegressorMixin.score:
            found["training_score"] = found["training_r2_score"]
    else:
        return found, None
    if "training_score" not in found:
        extra = {} if sample_weight is None else weights
        found["training_score"] = estimator.score(X, y, **extra)
    return {k: float(v) for k, v in found.items()}, matrix


class _Counted:
    """A classifier's predictions on its training data counted once: the confusion
    matrix, from which accuracy, precision, recall and F1 (weighted by each class's
    support, 0 where undefined, as scikit-learn's ``zero_division=0``) follow; the log loss
    and the binary ROC AUC from the probabilities. scikit-learn's metric functions give the
    same numbers but validate and re-read the labels at each call, which on large data
    costs as much as some fits."""

    def __init__(self, true: Any, weights: Any, matrix: Any) -> None:
        self.true, self.weights, self.matrix = true, weights, matrix

    def table(self) -> list[list[Any]]:
        """The confusion matrix (rows: true class, columns: predicted), as counts without
        sample weights."""
        matrix = self.matrix if self.weights is not None else self.matrix.astype(int)
        return matrix.tolist()

    def scores(self, proba: Any) -> dict[str, float]:
        import numpy as np

        matrix = self.matrix
        hits, predicted, support = np.diag(matrix), matrix.sum(axis=0), matrix.sum(axis=1)

        def ratio(top: Any, bottom: Any) -> Any:
            return np.divide(top, bottom, out=np.zeros(len(top)), where=bottom != 0)

        total = support.sum()

        def weighted(per_class: Any) -> float:
            return float((per_class * support).sum() / total) if total else 0.0

        found = {
            "training_precision_score": weighted(ratio(hits, predicted)),
            "training_recall_score": weighted(ratio(hits, support)),
            "training_f1_score": weighted(ratio(2 * hits, predicted + support)),
            "training_accuracy_score": float(hits.sum() / total) if total else 0.0,
        }
        if proba is not None:
            found.update(self._from_probabilities(np.asarray(proba)))
        return found

    def _from_probabilities(self, proba: Any) -> dict[str, float]:
        """Log loss (probabilities clipped to [eps, 1 - eps], as scikit-learn) and, for two
        classes without sample weights, ROC AUC from the ranks of the scores (ties
        averaged), which is the area under the ROC curve."""
        import numpy as np
        from scipy.stats import rankdata

        if proba.ndim != 2 or proba.shape != (len(self.true), len(self.matrix)):
            return {}
        if proba.dtype not in (np.float32, np.float64):
            proba = proba.astype(np.float64)
        eps = np.finfo(proba.dtype).eps
        chosen = np.clip(proba[np.arange(len(self.true)), self.true], eps, 1 - eps)
        found = {"training_log_loss": float(np.average(-np.log(chosen), weights=self.weights))}
        positive = self.true == 1
        n_positive = int(positive.sum())
        n_negative = len(positive) - n_positive
        if len(self.matrix) == 2 and self.weights is None and n_positive and n_negative:
            ranks = rankdata(proba[:, 1])
            above = ranks[positive].sum() - n_positive * (n_positive + 1) / 2
            found["training_roc_auc"] = float(above / (n_positive * n_negative))
        return found


def _counted(estimator: Any, y: Any, predicted: Any, weights: dict[str, Any]) -> _Counted | None:
    """The counts of a classifier's single-label predictions among its ``classes_``; None
    for anything else (multi-output, labels outside ``classes_``), left to scikit-learn."""
    import numpy as np

    classes = np.asarray(getattr(estimator, "classes_", []))
    true, guessed = np.asarray(y), np.asarray(predicted)
    sample_weight = weights["sample_weight"]
    if classes.ndim != 1 or true.ndim != 1 or guessed.shape != true.shape or not len(true):
        return None
    try:
        order = np.argsort(classes, kind="stable")
        known = classes[order]
        true_at, guessed_at = np.searchsorted(known, true), np.searchsorted(known, guessed)
        k = len(known)
        if true_at.max() >= k or guessed_at.max() >= k:
            return None
        if not ((known[true_at] == true).all() and (known[guessed_at] == guessed).all()):
            return None
    except TypeError:  # labels of mixed types
        return None
    true_at, guessed_at = order[true_at], order[guessed_at]
    w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if w is not None and w.shape != true.shape:
        return None
    cells = np.bincount(true_at * k + guessed_at, weights=w, minlength=k * k)
    return _Counted(true_at, w, cells.reshape(k, k).astype(float))


def _reads_predictions_from_probabilities(estimator: Any) -> str | None:
    """How the estimator's ``predict`` relates to its ``predict_proba``, when the
    probabilities computed for the log loss can give the predictions too (single-output
    only): ``"argmax"``, it is the class of highest probability, ties to the first
    (scikit-learn's forests and trees); ``"unique argmax"``, it is that class wherever it is
    unique, its probabilities being an increasing map of the scores it compares ((histogram)
    gradient boosting, logistic regression); else None."""
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from sklearn.ensemble._forest import ForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.linear_model._base import LinearClassifierMixin
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._classes import BaseDecisionTree

    if getattr(estimator, "n_outputs_", 1) != 1:
        return None
    own = (type(estimator).predict, type(estimator).predict_proba)
    if own in (
        (ForestClassifier.predict, ForestClassifier.predict_proba),
        (BaseDecisionTree.predict, DecisionTreeClassifier.predict_proba),
    ):
        return "argmax"
    if own in (
        (HistGradientBoostingClassifier.predict, HistGradientBoostingClassifier.predict_proba),
        (GradientBoostingClassifier.predict, GradientBoostingClassifier.predict_proba),
        (LinearClassifierMixin.predict, LogisticRegression.predict_proba),
    ):
        return "unique argmax"
    return None


def _predictions(estimator: Any, X: Any, proba: Any) -> Any:
    """The estimator's predictions on ``X``, read from ``proba`` when its ``predict`` is
    the class of highest probability (where two classes tie and ``predict`` compares
    scores that rounding may have made equal, its own ``predict`` decides)."""
    import numpy as np

    relation = None if proba is None else _reads_predictions_from_probabilities(estimator)
    if relation is None or proba.ndim != 2 or proba.shape[1] < 2:
        return estimator.predict(X)
    if relation == "unique argmax":
        top = np.partition(proba, -2, axis=1)
        if (top[:, -1] == top[:, -2]).any():
            return estimator.predict(X)
    return estimator.classes_.take(proba.argmax(axis=1), axis=0)


def _plain(value: Any) -> Any:
    """A class label as JSON holds it (numpy scalars as Python's)."""
    return value.item() if hasattr(value, "item") else value


def _log_search(run: Any, chosen: Settings, search: Any) -> None:
    """A search's best params and score, its ``cv_results.csv``, and a child run for each
    of its best candidates."""
    import pandas as pd
    from sklearn.base import clone

    best = getattr(search, "best_params_", None) or {}
    log_params(run, {f"best_{key}": value for key, value in best.items()})
    if hasattr(search, "best_score_"):
        run.log_metric("best_cv_score", float(search.best_score_))
    results = pd.DataFrame(search.cv_results_)
    run.log_text(results.to_csv(index=False), "cv_results.csv")
    rank = next((c for c in results.columns if c.startswith("rank_test_")), None)
    limit = chosen.options.get("max_tuning_runs")
    order = results.sort_values(rank).index if rank else results.index
    metrics = [
        c
        for c in results.columns
        if not c.startswith(("param", "split")) and pd.api.types.is_numeric_dtype(results[c])
    ]
    base = search.estimator
    for i in list(order)[: None if limit is None else max(0, limit)]:
        candidate = clone(base).set_params(**results["params"][i])
        child = session().create(run._store, run.experiment, parent_id=run.id)
        try:
            log_params(child, candidate.get_params(deep=True))
            child.set_tag("estimator_name", type(base).__name__)
            child.set_tag("estimator_class", f"{type(base).__module__}.{type(base).__name__}")
            for column in metrics:
                child.log_metric(column, float(results[column][i]))
        finally:
            child.end("FINISHED")


def _recorded_cross_validate(
    chosen: Settings, original: Any, estimator: Any, args: tuple, kwargs: dict
) -> Any:
    with _estimator_run(chosen, estimator) as run:
        if run is None:
            return original(estimator, *args, **kwargs)
        results = original(estimator, *args, **kwargs)
        with recording(FLAVOR):
            _log_folds(run, results)
        return results


def _log_folds(run: Any, results: dict[str, Any]) -> None:
    """Each score of a cross-validation per fold (step = fold), and its mean and std."""
    import numpy as np

    for key, values in results.items():
        if not (key in ("fit_time", "score_time") or key.startswith(("test_", "train_"))):
            continue
        folds = np.asarray(values, dtype=float)
        for step, value in enumerate(folds):
            run.log_metric(key, float(value), step)
        run.log_metric(f"mean_{key}", float(folds.mean()))
        run.log_metric(f"std_{key}", float(folds.std()))


# MLflow's mlflow.sklearn beyond autolog (models) is out of scope
__getattr__ = module_attributes(__name__, "mlflow.sklearn")
