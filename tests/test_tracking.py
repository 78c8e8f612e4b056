"""The fluent tracking API as a script or notebook user calls it."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

import jupyter_tracker as jt
from jupyter_tracker.session import session
from jupyter_tracker.store import queries


def test_context_manager_finishes_and_keeps_what_was_logged(store):
    with jt.start_run(name="baseline", params={"alpha": 0.5}, tags={"stage": "dev"}) as run:
        jt.log_metric("loss", 0.9)
        jt.log_metric("loss", 0.4)
    got = jt.get_run(run.id)
    assert got.status == "FINISHED"
    assert got.name == "baseline"
    assert got.params == {"alpha": 0.5}
    assert got.metrics == {"loss": 0.4}
    assert got.tags == {"stage": "dev"}
    assert got.end_time >= got.start_time
    assert jt.active_run() is None


def test_exception_fails_the_run_keeps_traceback_and_reraises(store):
    with pytest.raises(ZeroDivisionError), jt.start_run() as run:
        1 / 0  # noqa: B018
    got = jt.get_run(run.id)
    assert got.status == "FAILED"
    assert "ZeroDivisionError" in got.error
    assert "Traceback" in got.error


def test_keyboard_interrupt_kills_the_run(store):
    with pytest.raises(KeyboardInterrupt), jt.start_run() as run:
        raise KeyboardInterrupt
    assert jt.get_run(run.id).status == "KILLED"


def test_plain_start_and_end_run(store):
    run = jt.start_run()
    assert jt.active_run() is run
    jt.log_param("a", 1)
    jt.end_run()
    assert jt.active_run() is None
    assert jt.get_run(run.id).status == "FINISHED"
    jt.end_run()  # nothing active: harmless


def test_end_run_refuses_unknown_status(store):
    jt.start_run()
    with pytest.raises(ValueError, match="FINISHED"):
        jt.end_run("DONE")
    jt.end_run("KILLED")
    assert jt.last_active_run().status == "KILLED"


def test_nested_runs_record_their_parent(store):
    with jt.start_run(name="parent") as parent:
        with pytest.raises(jt.TrackerError, match="nested=True"):
            jt.start_run()
        with jt.start_run(name="child", nested=True) as child:
            assert jt.active_run() is child
        assert jt.active_run() is parent
    assert jt.get_run(child.id).parent_id == parent.id
    assert jt.get_run(parent.id).parent_id is None


def test_resume_continues_steps_and_keeps_params(store):
    with jt.start_run(params={"alpha": 1}) as run:
        jt.log_metric("loss", 3.0)
        jt.log_metric("loss", 2.0)
    with jt.start_run(run_id=run.id[:8]) as again:
        assert again.id == run.id
        assert jt.get_run(run.id).status == "RUNNING"
        assert jt.param("alpha", 5) == 1
        jt.log_metric("loss", 1.0)
    history = jt.metric_history(run.id, "loss")
    assert list(history["step"]) == [0, 1, 2]
    assert list(history["value"]) == [3.0, 2.0, 1.0]
    assert jt.get_run(run.id).status == "FINISHED"


def test_resume_unknown_run_is_a_clear_error(store):
    with pytest.raises(jt.RunNotFoundError, match="runs list"):
        jt.start_run(run_id="0123456789abcdef")


def test_same_param_value_is_a_noop_a_new_one_names_both(store):
    with jt.start_run() as run:
        jt.log_param("alpha", 0.5)
        jt.log_param("alpha", 0.5)
        with pytest.raises(jt.ParamConflictError) as err:
            jt.log_param("alpha", 0.7)
        assert "0.5" in str(err.value) and "0.7" in str(err.value)
        assert "overwrite=True" in str(err.value)
        jt.log_param("alpha", 0.7, overwrite=True)
    got = jt.get_run(run.id)
    assert got.params["alpha"] == 0.7
    rows = store.read("SELECT key, value FROM param_history WHERE run_id = ?", (run.id,))
    assert rows == [("alpha", "0.5")]


def test_param_types_are_kept_and_mlflow_sees_text(store):
    values = {
        "i": 3,
        "f": 1e-3,
        "s": "adam",
        "b": True,
        "n": None,
        "l": [1, 2],
        "d": {"a": 1},
        "t": (1, "x"),
        "c": 1j,
    }
    with jt.start_run(params=values) as run:
        pass
    got = jt.get_run(run.id)
    assert got.params == values
    assert got.data.params == {k: str(v) for k, v in values.items()}
    assert got.info.run_id == run.id and got.info.status == "FINISHED"


def test_param_returns_the_value_set_for_the_run_else_the_default(store):
    with jt.start_run(params={"alpha": 0.5}) as run:
        assert jt.param("alpha", 0.1) == 0.5
        assert jt.param("epochs", 10) == 10
    assert jt.get_run(run.id).params == {"alpha": 0.5, "epochs": 10}


def test_metric_steps_default_to_the_next_step_per_key(store):
    with jt.start_run() as run:
        for value in (1.0, 2.0, 3.0):
            jt.log_metric("a", value)
        jt.log_metric("b", 9.0)
        jt.log_metric("a", 4.0, step=10)
        jt.log_metric("a", 5.0)
        jt.log_metrics({"a": 6.0, "b": 8.0}, step=20)
    assert list(jt.metric_history(run.id, "a")["step"]) == [0, 1, 2, 10, 11, 20]
    assert list(jt.metric_history(run.id, "b")["step"]) == [0, 20]


def test_explicit_timestamps_are_kept(store):
    with jt.start_run() as run:
        jt.log_metric("x", 1.0, timestamp=1_700_000_000_000)
    stamp = jt.metric_history(run.id, "x")["timestamp"][0]
    assert stamp.value // 1_000_000 == 1_700_000_000_000


def test_nan_and_infinities_are_stored_as_such(store):
    with jt.start_run() as run:
        jt.log_metric("x", float("nan"))
        jt.log_metric("x", float("inf"))
        jt.log_metric("x", float("-inf"))
        jt.log_metric("y", float("nan"))
    values = list(jt.metric_history(run.id, "x")["value"])
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]
    assert math.isnan(jt.get_run(run.id).metrics["y"])
    frame = jt.search_runs()
    assert math.isnan(frame["metrics.y"][0]) and frame["metrics.x"][0] == -math.inf


@pytest.mark.parametrize("bad", ["0.5", None, b"1", [1.0], {"v": 1}])
def test_non_numbers_are_a_type_error(store, bad):
    with jt.start_run(), pytest.raises(TypeError, match="must be a number"):
        jt.log_metric("x", bad)


def test_number_like_values_are_accepted(store):
    np = pytest.importorskip("numpy")
    with jt.start_run() as run:
        jt.log_metric("x", np.float32(0.5))
        jt.log_metric("x", np.int64(3))
        jt.log_metric("x", 7)
    assert list(jt.metric_history(run.id, "x")["value"]) == [0.5, 3.0, 7.0]


def test_bad_step_is_a_type_error(store):
    with jt.start_run(), pytest.raises(TypeError, match="step"):
        jt.log_metric("x", 1.0, step=1.5)


def test_tags(store):
    with jt.start_run() as run:
        jt.set_tag("stage", "dev")
        jt.set_tags({"stage": "prod", "owner": "ana"})
    assert jt.get_run(run.id).tags == {"stage": "prod", "owner": "ana"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: jt.log_param("bad key!", 1), "characters outside"),
        (lambda: jt.log_metric("a" * 251, 1.0), "1 to 250"),
        (lambda: jt.set_tag("", "x"), "1 to 250"),
        (lambda: jt.log_param("p", "x" * 6001), "limit is 6000"),
        (lambda: jt.set_tag("t", "x" * 8001), "limit is 8000"),
        (lambda: jt.log_param(3, 1), "must be a string"),
    ],
)
def test_keys_and_values_over_the_limits_are_clear_errors(store, call, message):
    with jt.start_run() as run, pytest.raises(ValueError, match=message):
        call()
    assert jt.get_run(run.id).params == {} and jt.get_run(run.id).tags == {}


def test_keys_may_use_mlflows_characters(store):
    with jt.start_run() as run:
        jt.log_metric("val/loss-1.2 top_k", 1.0)
    assert "val/loss-1.2 top_k" in jt.get_run(run.id).metrics


def test_run_name_and_experiment_are_validated(store):
    with pytest.raises(ValueError, match="limit is 250"):
        jt.start_run(name="n" * 251)
    with pytest.raises(ValueError, match="non-empty"):
        jt.start_run(experiment="")
    assert jt.active_run() is None


def test_search_runs_frame_columns_order_and_limits(store):
    for i, alpha in enumerate((0.1, 0.5, 0.9)):
        with jt.start_run(name=f"r{i}", experiment="exp" if i else "other"):
            jt.log_param("alpha", alpha)
            jt.log_metric("loss", 1 - alpha)
            jt.set_tag("stage", "dev")
    frame = jt.search_runs()
    for column in (
        "run_id",
        "name",
        "status",
        "start_time",
        "end_time",
        "params.alpha",
        "metrics.loss",
        "tags.stage",
    ):
        assert column in frame.columns
    assert list(frame["name"]) == ["r2", "r1", "r0"]  # newest first by default
    assert list(jt.search_runs(order_by=["metrics.loss DESC"])["name"]) == ["r0", "r1", "r2"]
    assert list(jt.search_runs(filter_string="params.alpha > 0.3", order_by="name")["name"]) == [
        "r1",
        "r2",
    ]
    assert list(jt.search_runs(experiment="exp", order_by="name ASC")["name"]) == ["r1", "r2"]
    assert len(jt.search_runs(max_results=1)) == 1
    assert str(frame["start_time"].dtype).startswith("datetime64")
    assert frame["params.alpha"].tolist() == ["0.9", "0.5", "0.1"]


def test_a_bad_filter_points_at_the_position(store):
    with pytest.raises(ValueError, match="position"):
        jt.search_runs(filter_string="metrics.loss <")


def test_log_without_a_run_starts_one_and_says_so_once(store, capsys):
    jt.log_metric("x", 1.0)
    jt.log_metric("x", 2.0)
    run = jt.active_run()
    assert run is not None
    err = capsys.readouterr().err
    assert err.count("started run") == 1 and run.id[:8] in err
    jt.end_run()
    assert jt.get_run(run.id).metrics == {"x": 2.0}


def test_points_reach_the_store_within_a_second_without_a_read(store):
    with jt.start_run() as run:
        jt.log_metric("x", 1.0)
        conn = sqlite3.connect(store.db_path)  # another reader sees only what was written
        import time

        deadline = time.monotonic() + 10
        count = 0
        while time.monotonic() < deadline and not count:
            count = conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]
            time.sleep(0.05)
        assert count == 1
        status = conn.execute("SELECT status FROM runs WHERE id = ?", (run.id,)).fetchone()
        assert status == ("RUNNING",)
        conn.close()


def test_script_runs_end_at_exit_finished_or_failed(run_script, tmp_path):
    run_script(
        """
        import jupyter_tracker as jt
        jt.start_run(name="ok")
        jt.log_metric("x", 1.0)
        """
    )
    failed = run_script(
        """
        import jupyter_tracker as jt
        jt.log_metric("x", 1.0)
        raise RuntimeError("boom")
        """,
        check=False,
    )
    assert failed.returncode == 1 and "boom" in failed.stderr
    jt.set_store(tmp_path / "store")
    frame = jt.search_runs(order_by="start_time")
    assert list(frame["status"]) == ["FINISHED", "FAILED"]
    failed_run = jt.get_run(frame["run_id"][1])
    assert "RuntimeError: boom" in failed_run.error
    assert failed_run.metrics == {"x": 1.0}  # flushed at exit
    assert 'raise RuntimeError("boom")' in failed_run.source  # the script is captured


def test_mlflow_quickstart_runs_unchanged(run_script, tmp_path):
    """MLflow's examples/quickstart/mlflow_tracking.py with only the import changed."""
    run_script(
        """
        import os
        from random import random, randint
        import jupyter_tracker as mlflow
        from jupyter_tracker import log_metric, log_param, log_artifacts

        if __name__ == "__main__":
            print("Running mlflow_tracking.py")
            log_param("param1", randint(0, 100))
            log_metric("foo", random())
            log_metric("foo", random() + 1)
            log_metric("foo", random() + 2)
            if not os.path.exists("outputs"):
                os.makedirs("outputs")
            with open("outputs/test.txt", "w") as f:
                f.write("hello world!")
            log_artifacts("outputs")
            mlflow.end_run()

            mlflow.set_experiment("quickstart")
            with mlflow.start_run(run_name="second") as run:
                mlflow.log_params({"lr": 0.01, "epochs": 3})
                mlflow.log_metrics({"acc": 0.9, "loss": 0.1}, step=1)
                mlflow.set_tag("Training Info", "Basic LR model")
                print(run.info.run_id)
            last = mlflow.last_active_run()
            assert last.info.run_id == run.info.run_id
            got = mlflow.get_run(run.info.run_id)
            assert got.data.params == {"lr": "0.01", "epochs": "3"}
            assert got.data.metrics == {"acc": 0.9, "loss": 0.1}
            assert got.data.tags["Training Info"] == "Basic LR model"
            assert got.data.tags["mlflow.runName"] == "second"
            frame = mlflow.search_runs(filter_string="metrics.acc > 0.5",
                                       experiment_names=["quickstart"])
            assert list(frame["run_id"]) == [run.info.run_id]
        """
    )
    jt.set_store(tmp_path / "store")
    first = jt.get_run(jt.search_runs(order_by="start_time")["run_id"][0])
    assert list(jt.metric_history(first.id, "foo")["step"]) == [0, 1, 2]
    assert [a["path"] for a in first.artifacts] == ["test.txt"]


def test_a_bad_param_or_tag_at_start_starts_no_run(store):
    with pytest.raises(ValueError, match="characters outside"):
        jt.start_run(name="a", params={"bad key!": 1})
    with pytest.raises(ValueError, match="limit is 8000"):
        jt.start_run(tags={"t": "x" * 8001})
    assert jt.active_run() is None and jt.search_runs().empty
    with jt.start_run(name="next"):  # nothing was left active
        pass


def test_resuming_with_a_conflicting_param_changes_nothing(store):
    with jt.start_run(params={"alpha": 1}) as run:
        pass
    with pytest.raises(jt.ParamConflictError):
        jt.start_run(run_id=run.id, params={"alpha": 2})
    assert jt.active_run() is None and jt.get_run(run.id).status == "FINISHED"


def test_the_same_param_text_is_the_same_param(store):
    with jt.start_run() as run:
        jt.log_param("alpha", 0.5)
        jt.log_param("alpha", "0.5")  # MLflow compares the text
    assert jt.get_run(run.id).params == {"alpha": 0.5}


def test_a_thread_of_the_users_own_logs_to_the_active_run(store):
    import threading

    with jt.start_run() as run:
        worker = threading.Thread(target=lambda: jt.log_metric("from_thread", 1.0))
        worker.start()
        worker.join()
    assert jt.get_run(run.id).metrics == {"from_thread": 1.0}
    assert len(jt.search_runs()) == 1


def test_set_store_on_the_same_folder_keeps_the_store_and_idle_writers_stop(store, monkeypatch):
    from jupyter_tracker.store import _writer

    assert jt.set_store(store.path) is store
    monkeypatch.setattr(_writer, "FLUSH_INTERVAL_S", 0.01)
    with jt.start_run():
        jt.log_metric("x", 1.0)
    writer = session().writers[store]
    import time

    deadline = time.monotonic() + 10
    while writer._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert writer._thread is None  # nothing runs: no thread left behind
    with jt.start_run() as run:  # and it starts again with work
        jt.log_metric("x", 2.0)
    assert jt.get_run(run.id).metrics == {"x": 2.0}


def test_search_runs_over_several_experiments_and_tracking_uri(store, tmp_path):
    for name in ("a", "b", "c"):
        with jt.start_run(experiment=name):
            pass
    frame = jt.search_runs(experiment_names=["a", "b"])
    assert sorted(frame["experiment"]) == ["a", "b"]
    ids = {e["name"]: e["id"] for e in queries.experiments(store)}
    assert list(jt.search_runs(experiment_ids=[str(ids["c"])])["experiment"]) == ["c"]
    with jt.start_run(experiment_id=ids["b"]) as run:
        pass
    assert jt.get_run(run.id).experiment == "b"
    with pytest.raises(ValueError, match="No experiment with id 999"):
        jt.search_runs(experiment_ids=["999"])
    jt.set_tracking_uri(f"file://{tmp_path / 'other'}")
    assert jt.get_tracking_uri() == (tmp_path / "other").as_uri()
    assert session().current_store().path == tmp_path / "other"


def test_ctrl_c_in_a_script_kills_its_run(run_script, tmp_path):
    result = run_script(
        "import jupyter_tracker as jt\njt.start_run(name='stopped')\nraise KeyboardInterrupt\n",
        check=False,
    )
    assert result.returncode != 0
    jt.set_store(tmp_path / "store")
    assert jt.search_runs()["status"].tolist() == ["KILLED"]


# -- MLflow's signatures and semantics --------------------------------------------------


def test_positional_start_run_resumes_and_run_name_names(store):
    with jt.start_run(None, None, "first") as run:
        jt.log_metric("loss", 1.0)
    assert jt.get_run(run.id).name == "first"
    with jt.start_run(run.info.run_id) as again:  # MLflow's first positional is run_id
        jt.log_metric("loss", 0.5)
    assert again.id == run.id and len(jt.search_runs()) == 1
    assert list(jt.metric_history(run.id, "loss")["step"]) == [0, 1]


def test_a_worker_threads_start_run_gets_its_own_run(store):
    import threading

    started = {}

    def work():
        with jt.start_run() as own:
            started["id"] = own.id
            jt.log_metric("thread", 1.0)

    with jt.start_run() as main:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
        jt.log_metric("main", 1.0)
    assert started["id"] != main.id
    assert jt.get_run(started["id"]).metrics == {"thread": 1.0}
    assert jt.get_run(started["id"]).parent_id is None
    assert jt.get_run(main.id).metrics == {"main": 1.0}


def test_numpy_floats_are_stored_as_mlflow_writes_them(store):
    np = pytest.importorskip("numpy")
    with jt.start_run() as run:
        jt.log_param("lr", np.float32(0.1))
        jt.log_param("n", np.int64(3))
    assert jt.get_run(run.id).data.params == {"lr": "0.1", "n": "3"}
    assert jt.get_run(run.id).params == {"lr": 0.1, "n": 3}
    assert list(jt.search_runs(filter_string="params.lr = '0.1'")["run_id"]) == [run.id]


def test_colons_in_keys_as_in_mlflow(store):
    with jt.start_run() as run:
        jt.log_param("opt:lr", 0.1)
        jt.log_metric("val:loss", 1.0)
        jt.set_tag("team:owner", "ana")
    assert list(jt.search_runs(filter_string="metrics.val:loss < 2")["run_id"]) == [run.id]
    assert jt.get_run(run.id).tags == {"team:owner": "ana"}


def test_the_latest_value_is_the_one_at_the_highest_step(store):
    np = pytest.importorskip("numpy")
    with jt.start_run() as run:
        jt.log_metric("m", 1.0, step=5)
        jt.log_metric("m", 2.0, step=3)
        jt.log_metric("m", 3.0, step=2.0)  # a whole float step, as MLflow takes it
        jt.log_metric("tie", 1.0, step=np.float32(4))
        jt.log_metric("tie", 2.0, step=4)  # equal steps: the later one
        assert run.metrics == {"m": 1.0, "tie": 2.0}
    assert jt.get_run(run.id).metrics == {"m": 1.0, "tie": 2.0}
    frame = jt.search_runs()
    assert frame["metrics.m"][0] == 1.0 and frame["metrics.tie"][0] == 2.0
    assert jt.search_runs(filter_string="metrics.m = 1").run_id.tolist() == [run.id]
    summary = queries.run_detail(store, run.id)["metric_summary"]["m"]
    assert summary["last"] == 1.0 and summary["step"] == 5 and summary["count"] == 3
    with jt.start_run(run.id):  # resumed: the next step follows the highest one
        jt.log_metric("m", 4.0)
    assert list(jt.metric_history(run.id, "m")["step"]) == [5, 3, 2, 6]
    assert jt.get_run(run.id).metrics["m"] == 4.0


def test_log_text_stores_the_text_even_when_it_names_a_file(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("the file's content")
    with jt.start_run() as run:
        jt.log_text("notes.txt", "copy.txt")
    client = jt.MlflowClient()
    copy = client.download_artifacts(run.id, "copy.txt", str(tmp_path / "out"))
    assert Path(copy).read_text() == "notes.txt"


def test_log_artifact_takes_a_folder_as_its_second_argument(store, tmp_path):
    (tmp_path / "features.txt").write_text("rooms, zipcode")
    (tmp_path / "outputs" / "plots").mkdir(parents=True)
    (tmp_path / "outputs" / "plots" / "loss.svg").write_text("<svg/>")
    with jt.start_run() as run:
        assert jt.log_artifact(tmp_path / "features.txt", "features") == ["features/features.txt"]
        assert jt.log_artifact(str(tmp_path / "features.txt")) == ["features.txt"]
        assert jt.log_artifacts(tmp_path / "outputs", "out") == ["out/plots/loss.svg"]
        assert jt.log_artifact({"a": 1}, "cfg", name="a.json") == ["cfg/a.json"]
        with pytest.raises(FileNotFoundError, match="pass a name"):
            jt.log_artifact("just some text")
    with jt.start_run() as other:
        jt.log_artifact(tmp_path / "features.txt", run_id=run.id)  # to another run
    assert jt.get_run(other.id).artifacts == []
    names = [f.path for f in jt.MlflowClient().list_artifacts(run.id)]
    assert names == ["cfg", "features", "features.txt", "out"]


def test_figures_images_tables_and_inputs(store):
    np = pytest.importorskip("numpy")
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, ax = plt.subplots()
    ax.plot([0, 1], [2, 3])
    with jt.start_run() as run:
        jt.log_figure(fig, "figure.png")
        with pytest.raises(TypeError, match="matplotlib Figure or a Plotly figure"):
            jt.log_figure(ax, "axes.png")
        jt.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "image.png")
        jt.log_image(np.ones((4, 4)), key="dogs", step=3)
        with pytest.raises(ValueError, match="from 0 to 1"):
            jt.log_image(np.full((4, 4), 2.0), "bad.png")
        jt.log_table({"inputs": ["a", "b"], "score": [0.1, 0.2]}, artifact_file="eval.json")
        jt.log_table({"inputs": ["c"], "score": [0.3]}, artifact_file="eval.json")  # appends
        jt.log_input(jt.data.from_numpy(np.arange(6).reshape(2, 3), source="data.csv"), "training")
    plt.close(fig)
    got = jt.get_run(run.id)
    paths = [a["path"] for a in got.artifacts]
    assert paths[:1] == ["datasets/" + paths[0].split("/")[1]] and paths[0].endswith(".json")
    assert paths[1:] == ["eval.json", "figure.png", "image.png", "images/dogs/step-3.png"]
    import json

    table = jt.MlflowClient().download_artifacts(run.id, "eval.json")
    assert json.loads(Path(table).read_text())["data"] == [["a", 0.1], ["b", 0.2], ["c", 0.3]]
    assert json.loads(got.data.tags["mlflow.loggedArtifacts"]) == [
        {"path": "eval.json", "type": "table"}
    ]


def test_mlflows_system_tags_are_set_and_filter(store):
    with (
        jt.start_run(run_name="parent", description="the baseline") as parent,
        jt.start_run(run_name="child", nested=True) as child,
    ):
        pass
    with jt.start_run(run_name="adopted", parent_run_id=parent.id) as adopted:
        pass
    tags = jt.get_run(child.id).data.tags
    assert tags["mlflow.parentRunId"] == parent.id and tags["mlflow.runName"] == "child"
    assert {"mlflow.user", "mlflow.source.name", "mlflow.source.type"} <= set(tags)
    assert jt.get_run(parent.id).data.tags["mlflow.note.content"] == "the baseline"
    assert jt.get_run(parent.id).tags == {}  # jupyter-tracker's own views leave them out
    query = f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    frame = jt.search_runs(filter_string=query, order_by=["start_time"])
    assert frame["run_id"].tolist() == [child.id, adopted.id]
    assert frame["tags.mlflow.runName"].tolist() == ["child", "adopted"]
    assert list(frame.columns[:6]) == [
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
    ]
    assert frame["artifact_uri"][0] == f"runs:/{child.id}" and frame["experiment_id"][0] == "0"
    assert "tags.mlflow.runName" not in queries.run_keys(store)["tags"]


def test_set_experiment_returns_it_and_search_runs_reads_it(store):
    exp = jt.set_experiment("nlp")
    assert exp.name == "nlp" and exp.experiment_id != "0" and exp.lifecycle_stage == "active"
    assert jt.set_experiment(experiment_id=exp.experiment_id) == exp
    with pytest.raises(ValueError, match="exactly one"):
        jt.set_experiment()
    with jt.start_run():
        pass
    with jt.start_run(experiment="other"):
        pass
    assert jt.search_runs()["experiment"].tolist() == ["nlp"]  # the chosen experiment
    assert len(jt.search_runs(search_all_experiments=True)) == 2
    assert len(jt.search_runs([exp.experiment_id])) == 1  # experiment ids come first
    with pytest.raises(ValueError, match="filter_string"):
        jt.search_runs("metrics.loss < 1")
    assert jt.get_experiment_by_name("nope") is None
    assert jt.get_experiment(exp.experiment_id).name == "nlp"
    new = jt.create_experiment("fresh")
    with pytest.raises(ValueError, match="already exists"):
        jt.create_experiment("fresh")
    with pytest.raises(ValueError, match="no experiment tags"):
        jt.create_experiment("tagged", tags={"k": "v"})
    names = [e.name for e in jt.search_experiments(filter_string="name LIKE 'f%'")]
    assert names == ["fresh"] and jt.get_experiment(new).name == "fresh"
    assert [e.name for e in jt.search_experiments(order_by=["name"])] == [
        "Default",
        "fresh",
        "nlp",
        "other",
    ]


def test_deleted_runs_and_view_types(store):
    from jupyter_tracker.entities import ViewType

    with jt.start_run() as kept:
        pass
    with jt.start_run() as gone:
        pass
    jt.delete_run(gone.id)
    assert jt.get_run(gone.id).info.lifecycle_stage == "deleted"
    assert jt.search_runs()["run_id"].tolist() == [kept.id]
    deleted = jt.search_runs(run_view_type=ViewType.DELETED_ONLY, output_format="list")
    assert [r.info.run_id for r in deleted] == [gone.id]
    assert len(jt.search_runs(run_view_type=ViewType.ALL)) == 2
    with pytest.raises(ValueError, match="deleted"):
        jt.start_run(gone.id)
    with pytest.raises(ValueError, match="deleted"):
        jt.log_params({"p": 1}, run_id=gone.id)
    jt.restore_run(gone.id)
    assert jt.get_run(gone.id).info.lifecycle_stage == "active"


def test_logging_to_a_run_by_id_leaves_its_status(store):
    with jt.start_run() as done:
        jt.log_metric("m", 1.0)
    jt.log_metrics({"m": 2.0}, run_id=done.id)
    jt.log_params({"late": 1}, run_id=done.id)
    jt.log_metric("m", 3.0, run_id=done.id, synchronous=True)
    assert jt.active_run() is None
    got = jt.get_run(done.id)
    assert got.status == "FINISHED" and got.params == {"late": 1} and got.metrics == {"m": 3.0}
    assert list(jt.metric_history(done.id, "m")["step"]) == [0, 1, 2]
    with jt.start_run() as run:
        operations = jt.log_metric("x", 1.0, synchronous=False)
        operations.wait()
    assert jt.get_run(run.id).metrics == {"x": 1.0}


def test_mlflow_client_logs_to_runs_it_names(store, tmp_path):
    from jupyter_tracker.entities import Metric, Param, RunTag

    client = jt.MlflowClient()
    run = client.create_run("0", tags={"t1": 1}, run_name="platform")
    run_id = run.info.run_id
    assert run.info.status == "RUNNING" and run.data.tags["t1"] == "1"
    assert jt.active_run() is None  # created, not made active
    assert client.log_param(run_id, "p", 1) == 1
    client.log_batch(run_id, [Metric("m", 1.5, 0, 1)], [Param("q", "x")], [RunTag("t2", "y")])
    client.log_metric(run_id, "m", 2.5, step=0)
    client.delete_tag(run_id, "t1")
    client.set_terminated(run_id, status="KILLED")
    got = client.get_run(run_id)
    assert got.info.status == "KILLED" and got.data.params == {"p": "1", "q": "x"}
    assert got.data.metrics == {"m": 1.5} and got.tags == {"t2": "y"}
    history = client.get_metric_history(run_id, "m")
    assert [(m.step, m.value) for m in history] == [(1, 1.5), (0, 2.5)]
    client.update_run(run_id, name="renamed")
    assert client.get_run(run_id).data.tags["mlflow.runName"] == "renamed"
    child = client.create_run("0")
    page = client.search_runs(["0"], max_results=1)
    assert [r.info.run_id for r in page] == [child.info.run_id] and page.token == "1"
    rest = client.search_runs("0", max_results=1, page_token=page.token)
    assert [r.info.run_id for r in rest] == [run_id] and rest.token is None
    client.delete_run(child.info.run_id)  # ends it first (KILLED), then deletes it
    assert client.get_run(child.info.run_id).info.lifecycle_stage == "deleted"
    assert client.get_parent_run(run_id) is None
    with pytest.raises(jt.OutOfScopeError, match="push"):
        client.create_registered_model("model")


def test_models_registry_and_tracing_are_one_clear_error(store):
    for name in ("pyfunc", "register_model", "start_span", "deployments"):
        with pytest.raises(jt.OutOfScopeError, match="jupyter-tracker push"):
            getattr(jt, name)
    for flavor in (jt.sklearn, jt.pytorch, jt.transformers):  # autolog only
        with pytest.raises(jt.OutOfScopeError, match="jupyter-tracker push"):
            flavor.log_model  # noqa: B018
    with pytest.raises(AttributeError):
        jt._private_name  # noqa: B018
    with jt.start_run(), pytest.raises(jt.OutOfScopeError):
        jt.log_metric("m", 1.0, model_id="m-1")
    with pytest.raises(jt.OutOfScopeError):
        jt.MlflowClient(registry_uri="databricks-uc")


def test_tracking_uris_name_local_stores_or_a_server_to_mirror(store, tmp_path, monkeypatch):
    from jupyter_tracker import mirror

    jt.set_tracking_uri(f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}")
    assert session().current_store().path == tmp_path / "db" / ".jupyter_tracker"
    assert not (tmp_path / "db" / "mlflow.db").exists()  # MLflow's database is not written
    assert jt.get_tracking_uri() == f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}"
    mlruns = tmp_path / "project" / "mlruns"  # MLflow's own file store is never written
    (mlruns / "0").mkdir(parents=True)
    (mlruns / "0" / "meta.yaml").write_text("name: Default\n")
    jt.set_tracking_uri(str(mlruns))
    assert session().current_store().path == tmp_path / "project" / ".jupyter_tracker"
    assert sorted(p.name for p in mlruns.iterdir()) == ["0"]
    jt.set_tracking_uri(f"sqlite:///{tmp_path / 'db' / 'mlflow.db'}")
    followed = []
    monkeypatch.setattr(mirror, "start", followed.append)
    jt.set_tracking_uri("http://mlflow.example:5000")
    assert followed == ["http://mlflow.example:5000"]
    assert session().current_store().path == tmp_path / "db" / ".jupyter_tracker"  # kept
    with pytest.raises(ValueError, match="push"):
        jt.set_tracking_uri("postgresql://db/mlflow")


def test_mlflows_environment_variables(run_script, tmp_path):
    env = {"MLFLOW_EXPERIMENT_NAME": "from-env"}
    code = """
        import jupyter_tracker as mlflow
        with mlflow.start_run() as run:
            mlflow.log_param("a", 1)
        print(run.info.run_id, run.info.experiment_id, mlflow.get_tracking_uri())
    """
    import os

    mlflow_env = {**os.environ, **env, "MLFLOW_TRACKING_URI": str(tmp_path / "mlruns")}
    mlflow_env.pop("JUPYTER_TRACKER_STORE", None)
    first = subprocess_run(code, mlflow_env, tmp_path)
    run_id, experiment_id, uri = first.split()
    assert uri == str(tmp_path / "mlruns") and experiment_id != "0"
    again = "import jupyter_tracker as mlflow\nmlflow.start_run(); mlflow.log_param('b', 2)\n"
    subprocess_run(again, {**mlflow_env, "MLFLOW_RUN_ID": run_id}, tmp_path)
    jt.set_store(tmp_path / "mlruns")
    (got,) = jt.search_runs(search_all_experiments=True, output_format="list")
    assert got.info.run_id == run_id and got.data.params == {"a": "1", "b": "2"}
    assert jt.get_experiment(experiment_id).name == "from-env"
    # jupyter-tracker's own store setting wins: MLflow's environment is not for it
    run_script("import jupyter_tracker as jt\njt.start_run(); jt.log_param('c', 3)\n")
    jt.set_store(tmp_path / "store")
    assert jt.search_runs()["params.c"].tolist() == ["3"]


def subprocess_run(code: str, env: dict, cwd) -> str:
    import subprocess
    import sys
    import textwrap

    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_handle_logs_to_its_run_after_the_run_ended(store):
    """Nothing acknowledged is dropped: a point logged through a run's handle after it
    ended is written, after the run's own, as a param or tag would be."""
    run = jt.start_run()
    run.log_metric("loss", 1.0)
    jt.end_run()
    run.log_metric("loss", 0.5)
    run.log_metric("late", 3.0)
    history = jt.metric_history(run.id, "loss")
    assert list(history["step"]) == [0, 1] and list(history["value"]) == [1.0, 0.5]
    stored = jt.get_run(run.id)
    assert stored.metrics == {"loss": 0.5, "late": 3.0} and stored.status == "FINISHED"


def test_an_ended_runs_old_and_resumed_handles_log_the_same_metric_in_one_flush(store):
    run = jt.start_run()
    run.log_metric("x", 1.0)
    run.end()
    resumed = jt.start_run(run_id=run.id)
    resumed.log_metric("x", 2.0)
    run.log_metric("x", 3.0)  # the old handle too, before the same flush
    resumed.end()
    with jt.start_run() as later:  # the writer still writes
        later.log_metric("y", 1.0)
    assert list(jt.metric_history(run.id, "x")["value"]) == [1.0, 2.0, 3.0]
    assert jt.get_run(later.id).metrics == {"y": 1.0}


def test_points_after_a_runs_end_leave_nothing_behind_in_the_writer(store):
    writer = session().writer(store)
    for i in range(20):
        with jt.start_run() as run:
            run.log_metric("loss", 1.0)
        run.log_metric("test_acc", float(i))  # after the block, through the handle
    store.flush()
    assert writer._series == [] and writer.pending == 0
    assert jt.get_run(run.id).metrics == {"loss": 1.0, "test_acc": 19.0}
