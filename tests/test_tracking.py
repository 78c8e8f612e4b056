"""The fluent tracking API as a script or notebook user calls it."""

from __future__ import annotations

import math
import sqlite3

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
    assert list(jt.search_runs("params.alpha > 0.3", order_by="name")["name"]) == ["r1", "r2"]
    assert list(jt.search_runs(experiment="exp", order_by="name ASC")["name"]) == ["r1", "r2"]
    assert len(jt.search_runs(max_results=1)) == 1
    assert str(frame["start_time"].dtype).startswith("datetime64")
    assert frame["params.alpha"].tolist() == ["0.9", "0.5", "0.1"]


def test_a_bad_filter_points_at_the_position(store):
    with pytest.raises(ValueError, match="position"):
        jt.search_runs("metrics.loss <")


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
            assert got.data.tags == {"Training Info": "Basic LR model"}
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
    with pytest.raises(ValueError, match="local store"):
        jt.set_tracking_uri("http://mlflow.example:5000")


def test_ctrl_c_in_a_script_kills_its_run(run_script, tmp_path):
    result = run_script(
        "import jupyter_tracker as jt\njt.start_run(name='stopped')\nraise KeyboardInterrupt\n",
        check=False,
    )
    assert result.returncode != 0
    jt.set_store(tmp_path / "store")
    assert jt.search_runs()["status"].tolist() == ["KILLED"]
