"""LightGBM, XGBoost and Keras 3 (JAX backend) autologging with the real frameworks, on tiny
models and data made here."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import jupyter_tracker as jt

os.environ.setdefault("KERAS_BACKEND", "jax")  # before Keras is imported

X = np.random.RandomState(0).rand(64, 4).astype("float32")
Y = (X[:, 0] > 0.5).astype("int32")
NOISE = np.random.RandomState(1).rand(64, 4).astype("float32")  # Y's validation stops early


@pytest.fixture
def autolog(store):
    jt.autolog(silent=True)
    yield
    jt.autolog(disable=True)


def artifact(run: jt.Run, path: str) -> bytes:
    (found,) = [a for a in run.artifacts if a["path"] == path]
    with run_store().open_blob(found["sha256"], found["size"]) as blob:
        return blob.read()


def run_store():
    from jupyter_tracker.tracking import current_store

    return current_store()


def test_lightgbm_train_logs_params_each_iteration_and_feature_importance(autolog):
    lgb = pytest.importorskip("lightgbm")
    pytest.importorskip("matplotlib")  # imported: the importance is also a chart
    data = lgb.Dataset(X, Y, feature_name=["a", "b", "c", "d"])
    with jt.start_run() as mine:
        lgb.train(
            {"objective": "binary", "learning_rate": 0.2, "verbose": -1},
            data,
            num_boost_round=8,
            valid_sets=[data],
            valid_names=["training"],
        )
    run = jt.get_run(mine.id)
    assert run.params == {
        "objective": "binary",
        "learning_rate": 0.2,
        "verbose": -1,
        "num_boost_round": 8,
        "keep_training_booster": False,  # train's defaults too, as MLflow logs them
    }
    history = jt.metric_history(run.id, "training-binary_logloss")
    assert list(history["step"]) == list(range(8))
    assert history["value"].iloc[-1] < history["value"].iloc[0]
    gain = json.loads(artifact(run, "feature_importance_gain.json"))
    split = json.loads(artifact(run, "feature_importance_split.json"))
    assert set(gain) == set(split) == {"a", "b", "c", "d"}
    assert max(gain, key=gain.get) == "a"  # the label is a's
    assert artifact(run, "feature_importance_gain.png").startswith(b"\x89PNG")


def test_lightgbm_early_stopping_and_the_scikit_learn_model(autolog):
    lgb = pytest.importorskip("lightgbm")
    model = lgb.LGBMClassifier(n_estimators=50, verbose=-1)
    model.fit(X, Y, eval_X=(NOISE,), eval_y=(Y,), callbacks=[lgb.early_stopping(3, verbose=False)])
    run = jt.last_active_run()
    assert run.status == "FINISHED" and run.params["num_boost_round"] == 50
    assert run.metrics["best_iteration"] == model.best_iteration_
    stopped = run.metrics["stopped_iteration"]
    assert stopped == model.best_iteration_ + 3  # the iterations made
    history = jt.metric_history(run.id, "valid_0-binary_logloss")
    assert list(history["step"]) == [*range(int(stopped)), stopped]  # then the best again
    assert history["value"].iloc[-1] == history["value"].iloc[model.best_iteration_ - 1]


def test_xgboost_train_logs_params_each_iteration_and_feature_importance(autolog):
    xgb = pytest.importorskip("xgboost")
    pytest.importorskip("matplotlib")  # imported: the importance is also a chart
    jt.xgboost.autolog(importance_types=["weight", "gain"], silent=True)
    data = xgb.DMatrix(X, Y, feature_names=["a", "b", "c", "d"])
    valid = xgb.DMatrix(NOISE, Y, feature_names=["a", "b", "c", "d"])
    with jt.start_run() as mine:
        xgb.train(
            {"objective": "binary:logistic", "eta": 0.3},
            data,
            8,
            evals=[(data, "train"), (valid, "valid")],
            verbose_eval=False,
        )
    run = jt.get_run(mine.id)
    assert run.status == "FINISHED" and jt.active_run() is None
    assert run.params == {
        "objective": "binary:logistic",
        "eta": 0.3,
        "num_boost_round": 8,
        "verbose_eval": False,
        "early_stopping_rounds": None,  # train's defaults too, as MLflow logs them
        "maximize": None,
        "custom_metric": None,
    }
    for key in ("train-logloss", "valid-logloss"):
        assert list(jt.metric_history(run.id, key)["step"]) == list(range(8)), key
    history = jt.metric_history(run.id, "train-logloss")
    assert history["value"].iloc[-1] < history["value"].iloc[0]
    assert "best_iteration" not in run.metrics  # no early stopping
    weight = json.loads(artifact(run, "feature_importance_weight.json"))
    gain = json.loads(artifact(run, "feature_importance_gain.json"))
    assert max(weight, key=weight.get) == max(gain, key=gain.get) == "a"  # the label is a's
    for kind in ("weight", "gain"):
        assert artifact(run, f"feature_importance_{kind}.png").startswith(b"\x89PNG")


def test_xgboost_early_stopping_and_the_scikit_learn_model(autolog):
    xgb = pytest.importorskip("xgboost")
    model = xgb.XGBClassifier(
        n_estimators=50, early_stopping_rounds=3, eval_metric=["error@0.7", "logloss"]
    )
    model.fit(X, Y, eval_set=[(NOISE, Y)], verbose=False)
    run = jt.last_active_run()  # a run of its own, ended with the fit
    assert run.status == "FINISHED" and jt.active_run() is None
    assert run.params["num_boost_round"] == 50 and run.params["early_stopping_rounds"] == 3
    assert run.params["objective"] == "binary:logistic"
    assert run.metrics["best_iteration"] == model.best_iteration
    stopped = run.metrics["stopped_iteration"]
    assert stopped == model.best_iteration + 3  # the last iteration
    history = jt.metric_history(run.id, "validation_0-logloss")
    assert list(history["step"]) == [*range(int(stopped) + 1), stopped + 1]  # the best again
    assert history["value"].iloc[-1] == history["value"].iloc[model.best_iteration]
    assert history["value"].iloc[-1] == model.best_score
    assert len(jt.metric_history(run.id, "validation_0-error_at_0.7")) == stopped + 2
    assert json.loads(artifact(run, "feature_importance_weight.json"))


def test_xgboost_autolog_disabled_records_nothing(autolog):
    xgb = pytest.importorskip("xgboost")
    jt.xgboost.autolog(disable=True)
    with jt.start_run() as mine:
        xgb.XGBRegressor(n_estimators=3).fit(X, Y, eval_set=[(X, Y)], verbose=False)
    run = jt.get_run(mine.id)
    assert run.params == {} and run.metrics == {} and run.artifacts == []
    assert jt.last_active_run().id == mine.id  # no run of its own either


def test_an_xgboost_autolog_cannot_patch_is_one_line_and_training_goes_on(run_script, tmp_path):
    fake = tmp_path / "xgboost"  # an XGBoost without its scikit-learn models
    fake.mkdir()
    (fake / "__init__.py").write_text("def train(params, dtrain):\n    return 'booster'\n")
    out = run_script(
        """
        import jupyter_tracker as jt
        jt.autolog()
        import xgboost
        print(xgboost.train({}, None))
        """
    )
    assert out.stdout == "booster\n"
    assert out.stderr.splitlines() == [
        "jupyter-tracker: autolog could not patch xgboost: No module named 'xgboost.sklearn'"
    ]


def test_no_chart_and_no_plotting_library_unless_the_user_imported_one(run_script):
    pytest.importorskip("xgboost")
    out = run_script(
        """
        import sys
        import numpy as np
        import jupyter_tracker as jt
        jt.autolog()
        import xgboost as xgb
        data = xgb.DMatrix(np.random.rand(32, 2), np.arange(32) % 2)
        xgb.train({"objective": "binary:logistic"}, data, 2)
        print([a["path"] for a in jt.last_active_run().artifacts], "matplotlib" in sys.modules)
        """
    )
    assert out.stdout == "['feature_importance_weight.json'] False\n"


def test_xgboost_missing_is_silent_until_the_user_imports_it(run_script):
    out = run_script(
        """
        import sys
        sys.modules["xgboost"] = None  # as if not installed
        import jupyter_tracker as jt
        jt.autolog()
        jt.xgboost.autolog(importance_types=["gain"])
        """
    )
    assert out.stdout == out.stderr == ""


def keras_model():
    keras = pytest.importorskip("keras")
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(2)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return keras, model


def test_keras_fit_logs_its_arguments_optimizer_and_each_epoch(autolog, tmp_path):
    keras, model = keras_model()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"))
    model.fit(
        X, Y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[checkpoint]
    )
    run = jt.last_active_run()
    assert run.status == "FINISHED"
    assert {"epochs": 3, "batch_size": 16, "validation_split": 0.25}.items() <= run.params.items()
    assert run.params["optimizer_name"] == "adam"
    assert run.params["optimizer_learning_rate"] == pytest.approx(0.01)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert list(jt.metric_history(run.id, key)["step"]) == [0, 1, 2], key
    assert "Dense" in artifact(run, "model_summary.txt").decode()
    assert run.tags["checkpoint_path"] == str(tmp_path / "best.keras")


def test_the_keras_callback_used_explicitly_logs_every_n_steps(store):
    keras, model = keras_model()
    with jt.start_run() as mine:
        model.fit(
            X,
            Y,
            epochs=2,
            batch_size=16,
            verbose=0,
            callbacks=[jt.keras.Callback(log_every_epoch=False, log_every_n_steps=2)],
        )
    steps = list(jt.metric_history(mine.id, "loss")["step"])
    assert steps == [2, 4, 6, 8]  # 4 batches an epoch
    assert jt.keras.MlflowCallback is jt.keras.Callback
    with pytest.raises(ValueError, match="log_every_n_steps"):
        jt.keras.Callback(log_every_epoch=True, log_every_n_steps=2)


def test_a_framework_param_whose_key_cannot_be_stored_leaves_the_others_logged(store):
    from jupyter_tracker.errors import InvalidInputError
    from jupyter_tracker.integrations import flattened, log_params

    config = {"learning_rate": 0.1, "label2id": {"don't": 0, "ok": 1}, "epochs": 3}
    with jt.start_run() as run, pytest.raises(InvalidInputError, match="don't"):
        log_params(run, flattened(config, "."))
    assert jt.get_run(run.id).params == {"learning_rate": 0.1, "label2id.ok": 1, "epochs": 3}


def test_xgboost_training_continued_from_an_early_stopped_booster_logs_no_early_stopping(
    autolog,
):
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 4)), rng.integers(0, 2, 200)
    train, valid = xgb.DMatrix(X[:150], label=y[:150]), xgb.DMatrix(X[150:], label=y[150:])
    params = {"objective": "binary:logistic", "eta": 0.5}
    jt.xgboost.autolog(disable=True)
    first = xgb.train(params, train, 50, evals=[(valid, "v")], early_stopping_rounds=2)
    jt.xgboost.autolog()
    with jt.start_run() as run:
        xgb.train(params, train, 5, evals=[(valid, "v")], xgb_model=first)
    recorded = jt.get_run(run.id)
    assert "best_iteration" not in recorded.metrics
    assert "stopped_iteration" not in recorded.metrics
