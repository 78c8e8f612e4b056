"""scikit-learn autologging with the real scikit-learn: what MLflow's autolog records, by
MLflow's names and values (checked against MLflow itself when its venv is there), in the
run it belongs to, patched only once scikit-learn is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import jupyter_tracker as jt

pytest.importorskip("sklearn")

from sklearn.datasets import make_classification  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
)
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
X, Y = make_classification(n_samples=120, n_features=5, random_state=0)


@pytest.fixture
def autolog(store):
    jt.sklearn.autolog(silent=True)
    yield
    jt.sklearn.autolog(disable=True)


def the_run() -> jt.Run:
    (run,) = [r for r in jt.search_runs(output_format="list") if r.parent_id is None]
    return run


def children(run: jt.Run) -> list[jt.Run]:
    return [r for r in jt.search_runs(output_format="list") if r.parent_id == run.id]


def test_a_fit_with_no_run_active_is_a_run_of_its_own(autolog):
    model = LogisticRegression(C=0.5).fit(X, Y)
    assert jt.active_run() is None  # started for the fit and ended with it
    run = the_run()
    assert run.status == "FINISHED"
    assert run.params["C"] == 0.5 and run.params["solver"] == "lbfgs"
    assert run.tags == {
        "estimator_name": "LogisticRegression",
        "estimator_class": "sklearn.linear_model._logistic.LogisticRegression",
    }
    assert run.metrics["training_accuracy_score"] == pytest.approx(model.score(X, Y))
    assert set(run.metrics) == {
        "training_accuracy_score",
        "training_precision_score",
        "training_recall_score",
        "training_f1_score",
        "training_log_loss",
        "training_roc_auc",
        "training_score",
    }
    paths = {a["path"] for a in run.artifacts}
    assert paths == {"estimator.html", "training_confusion_matrix.json"}


def test_a_pipeline_is_one_run_with_nested_param_names(autolog):
    make_pipeline(StandardScaler(), LogisticRegression(C=2.0)).fit(X, Y)
    run = the_run()  # the steps' own fits are part of the pipeline's
    assert run.params["logisticregression__C"] == 2.0
    assert run.params["standardscaler__with_mean"] is True
    assert run.tags["estimator_name"] == "Pipeline"


def test_fits_in_a_run_log_to_it_and_a_second_model_gets_a_child(autolog):
    with jt.start_run(run_name="mine") as mine:
        LogisticRegression(C=0.5).fit(X, Y)
        LogisticRegression(C=0.5).fit(X, Y)  # the same params: the same run
        LogisticRegression(C=3.0).fit(X, Y)  # another model: a child run
    run = jt.get_run(mine.id)
    assert run.params["C"] == 0.5 and "training_score" in run.metrics
    (child,) = children(run)
    assert child.params["C"] == 3.0 and child.status == "FINISHED"


def test_a_tracked_cell_records_its_fit(ip, autolog):
    ip.user_ns.update(X=X, Y=Y, LogisticRegression=LogisticRegression)
    ip.run_cell("%%track_run C=0.25 --name cell\nLogisticRegression(C=C).fit(X, Y)")
    run = the_run()
    assert run.name == "cell" and run.params["C"] == 0.25
    assert "training_accuracy_score" in run.metrics


def test_a_grid_search_has_best_params_and_a_child_per_best_candidate(autolog):
    grid = {"C": [0.01, 0.1, 1.0, 10.0]}
    GridSearchCV(LogisticRegression(), grid, cv=3).fit(X, Y)
    jt.sklearn.autolog(silent=True, max_tuning_runs=2)
    RandomizedSearchCV(LogisticRegression(), grid, n_iter=3, cv=3, random_state=0).fit(X, Y)
    runs = [r for r in jt.search_runs(output_format="list") if r.parent_id is None]
    search, randomized = sorted(runs, key=lambda r: r.tags["estimator_name"])
    assert search.params["param_grid"] == str(grid) and "best_C" in search.params
    assert search.metrics["best_cv_score"] > 0.5
    assert {a["path"] for a in search.artifacts} >= {"cv_results.csv", "estimator.html"}
    kids = children(search)
    assert len(kids) == 4
    assert {k.params["C"] for k in kids} == {0.01, 0.1, 1.0, 10.0}
    (best,) = [k for k in kids if k.params["C"] == search.params["best_C"]]
    assert best.metrics["rank_test_score"] == 1
    assert {"mean_test_score", "std_test_score", "mean_fit_time"} <= set(best.metrics)
    assert len(children(randomized)) == 2


def test_cross_validation_logs_each_fold(autolog):
    scores = cross_val_score(LogisticRegression(), X, Y, cv=4)
    run = the_run()
    history = jt.metric_history(run.id, "test_score")
    assert list(history["step"]) == [0, 1, 2, 3]
    assert list(history["value"]) == pytest.approx(list(scores))
    assert run.metrics["mean_test_score"] == pytest.approx(scores.mean())
    assert "std_test_score" in run.metrics and run.params["C"] == 1.0


def test_a_failing_fit_fails_its_run_and_raises(autolog):
    with pytest.raises(ValueError):
        LogisticRegression().fit(X, Y[:10])
    assert the_run().status == "FAILED"


def test_exclusive_leaves_the_users_run_alone_and_disable_unpatches(autolog):
    jt.sklearn.autolog(exclusive=True, silent=True)
    with jt.start_run() as mine:
        LogisticRegression().fit(X, Y)
    assert jt.get_run(mine.id).params == {}
    jt.sklearn.autolog(disable=True)
    assert "jupyter_tracker" not in LogisticRegression.fit.__code__.co_filename
    LogisticRegression().fit(X, Y)
    assert len(jt.search_runs()) == 1


def test_autolog_patches_scikit_learn_only_once_the_user_imports_it(run_script, tmp_path):
    out = run_script(
        """
        import sys
        import jupyter_tracker as mlflow
        mlflow.autolog(silent=True)
        assert "sklearn" not in sys.modules
        from sklearn.linear_model import Ridge
        Ridge(alpha=2.0).fit([[0.0], [1.0], [2.0]], [0.0, 1.0, 2.1])
        run = mlflow.last_active_run()
        print(run.data.params["alpha"], sorted(run.data.metrics))
        """
    )
    assert out.stdout.split("\n")[0] == (
        "2.0 ['training_mean_absolute_error', 'training_mean_squared_error', "
        "'training_r2_score', 'training_root_mean_squared_error', 'training_score']"
    )


# The same code run by MLflow (its own venv) and by jupyter-tracker: the same params,
# metrics, tags and child runs; artifacts differ where documented (no model, no plots).
SCENARIO = """
import json, sys
import numpy as np
import {module} as mlflow
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

mlflow.set_tracking_uri(sys.argv[1])
mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
X, y = make_classification(n_samples=120, n_features=5, random_state=0)
Xr, yr = make_regression(n_samples=100, n_features=4, random_state=0)
fits = {{
    "classifier": lambda: LogisticRegression(C=0.5).fit(X, y),
    "multiclass": lambda: LogisticRegression().fit(X, np.arange(len(y)) % 3),
    "regressor": lambda: Ridge(alpha=2.0).fit(Xr, yr),
    "pipeline": lambda: make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y),
    "search": lambda: GridSearchCV(LogisticRegression(), {{"C": [0.1, 1, 10]}}, cv=3).fit(X, y),
}}
client = mlflow.MlflowClient()
found = {{}}
for name, fit in fits.items():
    with mlflow.start_run() as run:
        fit()
    got = mlflow.get_run(run.info.run_id)
    kids = [
        r for r in mlflow.search_runs(output_format="list", search_all_experiments=True)
        if r.data.tags.get("mlflow.parentRunId") == run.info.run_id
    ]
    found[name] = {{
        "params": got.data.params,
        "metrics": {{k: v for k, v in got.data.metrics.items() if "time" not in k}},
        "tags": {{k: v for k, v in got.data.tags.items() if k.startswith("estimator_")}},
        "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
        "children": sorted(
            (k.data.params["C"], k.data.metrics["rank_test_score"]) for k in kids
        ),
    }}
print(json.dumps(found))
"""


def _scenario(python: Path, module: str, tmp_path: Path, uri: str) -> dict:
    script = tmp_path / f"scenario_{module}.py"
    script.write_text(textwrap.dedent(SCENARIO.format(module=module)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "JUPYTER_TR"))}
    done = subprocess.run(
        [str(python), str(script), uri],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_same_as_mlflows_sklearn_autolog(tmp_path):
    command = os.environ.get("JUPYTER_TRACKER_MLFLOW")
    mlflow = Path(command).with_name("python") if command else ROOT / ".venv-mlflow/bin/python"
    if not mlflow.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{mlflow} is missing: `make .venv-mlflow` installs MLflow")
        pytest.skip(f"{mlflow} is missing: `make .venv-mlflow` installs MLflow")
    theirs = _scenario(mlflow, "mlflow", tmp_path, f"sqlite:///{tmp_path}/mlflow.db")
    ours = _scenario(Path(sys.executable), "jupyter_tracker", tmp_path, str(tmp_path / "ours"))
    assert set(ours) == set(theirs)
    for name in theirs:
        mine, reference = ours[name], theirs[name]
        assert mine["params"] == reference["params"], name
        assert mine["metrics"] == pytest.approx(reference["metrics"]), name
        assert mine["tags"] == reference["tags"], name
        assert mine["children"] == reference["children"], name
        plots = {p for p in reference["artifacts"] if p.endswith(".png")}
        expected = set(reference["artifacts"]) - plots
        if plots:
            expected.add("training_confusion_matrix.json")  # its numbers, not a picture
        assert set(mine["artifacts"]) == expected, name


def test_the_example_notebook_records_its_fits(tmp_path, store):
    from test_notebooks import execute

    execute("autolog_sklearn.ipynb", tmp_path, store.path)
    runs = {r.name: r for r in jt.search_runs(output_format="list")}
    assert set(runs) == {"logreg", "grid"}
    logreg, grid = runs["logreg"], runs["grid"]
    assert logreg.params["C"] == logreg.params["logisticregression__C"] == 0.5
    assert {"training_accuracy_score", "training_log_loss", "test_accuracy"} <= set(logreg.metrics)
    assert grid.params["best_logisticregression__C"] in (0.01, 0.1, 1.0, 10.0)
    assert {"cv_results.csv", "estimator.html"} <= {a["path"] for a in grid.artifacts}


MODELS = {
    "forest": lambda: RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
    "boosting": lambda: HistGradientBoostingClassifier(max_iter=10, random_state=0),
    "gradient boosting": lambda: GradientBoostingClassifier(n_estimators=10, random_state=0),
    "logistic": lambda: LogisticRegression(C=0.1),
    "naive Bayes (its own predict)": GaussianNB,
}


@pytest.mark.parametrize("model", list(MODELS))
@pytest.mark.parametrize("labels", ["binary", "three classes", "strings", "weighted"])
def test_training_metrics_are_scikit_learns(labels, model):
    """The counted metrics, and predictions read from the probabilities, give
    scikit-learn's numbers (its predict and metric functions as the reference)."""
    import numpy as np
    from sklearn import metrics as m

    from jupyter_tracker.integrations.sklearn import training_metrics

    y = Y if labels != "three classes" else np.arange(len(Y)) % 3
    if labels == "strings":
        y = np.where(Y == 1, "yes", "no")
    weights = np.linspace(0.5, 2.0, len(y)) if labels == "weighted" else None
    model = MODELS[model]()
    model.fit(X, y, sample_weight=weights)
    found, matrix = training_metrics(model, X, y, weights)
    predicted, proba = model.predict(X), model.predict_proba(X)
    w = {"sample_weight": weights}
    p, r, f, _ = m.precision_recall_fscore_support(
        y, predicted, average="weighted", zero_division=0, **w
    )
    two = len(model.classes_) == 2
    auc = (
        m.roc_auc_score(y, proba[:, 1], **w)
        if two
        else m.roc_auc_score(y, proba, average="weighted", multi_class="ovo")
    )
    assert found == pytest.approx(
        {
            "training_precision_score": p,
            "training_recall_score": r,
            "training_f1_score": f,
            "training_accuracy_score": m.accuracy_score(y, predicted, **w),
            "training_log_loss": m.log_loss(y, proba, labels=model.classes_, **w),
            "training_roc_auc": auc,
            "training_score": model.score(X, y, **w),
        },
        rel=1e-12,
    )
    table = m.confusion_matrix(y, predicted, labels=model.classes_, **w)
    np.testing.assert_allclose(matrix["matrix"], table, rtol=1e-12)
    assert matrix["labels"] == list(model.classes_)
