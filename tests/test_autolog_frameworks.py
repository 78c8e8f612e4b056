"""LightGBM and Keras 3 (JAX backend) autologging with the real frameworks, on tiny models
and data made here."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import jupyter_tracker as jt

os.environ.setdefault("KERAS_BACKEND", "jax")  # before Keras is imported

X = np.random.RandomState(0).rand(64, 4).astype("float32")
Y = (X[:, 0] > 0.5).astype("int32")


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
    }
    history = jt.metric_history(run.id, "training-binary_logloss")
    assert list(history["step"]) == list(range(8))
    assert history["value"].iloc[-1] < history["value"].iloc[0]
    gain = json.loads(artifact(run, "feature_importance_gain.json"))
    split = json.loads(artifact(run, "feature_importance_split.json"))
    assert set(gain) == set(split) == {"a", "b", "c", "d"}
    assert max(gain, key=gain.get) == "a"  # the label is a's


def test_lightgbm_early_stopping_and_the_scikit_learn_model(autolog):
    lgb = pytest.importorskip("lightgbm")
    model = lgb.LGBMClassifier(n_estimators=50, verbose=-1)
    model.fit(X, Y, eval_X=(X,), eval_y=(Y,), callbacks=[lgb.early_stopping(3, verbose=False)])
    run = jt.last_active_run()
    assert run.status == "FINISHED" and run.params["num_boost_round"] == 50
    assert run.metrics["best_iteration"] == model.best_iteration_
    assert run.metrics["stopped_iteration"] >= run.metrics["best_iteration"]
    assert len(jt.metric_history(run.id, "valid_0-binary_logloss")) > 0


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
