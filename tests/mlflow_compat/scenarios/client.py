# MlflowClient on runs that are not active: create, log, end, log again, read, delete.
import time

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType

client = MlflowClient()
experiment_id = client.create_experiment("client")
run = client.create_run(experiment_id, tags={"stage": "dev"}, run_name="low-level")
run_id = run.info.run_id
now = int(time.time() * 1000)
client.log_batch(
    run_id, metrics=[Metric("m", 1.5, now, 1)], params=[Param("p", "x")], tags=[RunTag("t", "y")]
)
client.log_metric(run_id, "m", 0.5, step=0)
client.set_terminated(run_id)
client.log_param(run_id, "late", 1)  # logging to an ended run is allowed
assert client.get_run(run_id).info.status == "FINISHED"
history = client.get_metric_history(run_id, "m")
assert [(m.step, m.value) for m in history] == [(1, 1.5), (0, 0.5)]
other = client.create_run(experiment_id, run_name="to-delete")
client.set_terminated(other.info.run_id, status="KILLED")
client.delete_run(other.info.run_id)
deleted = client.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
assert [r.info.run_id for r in deleted] == [other.info.run_id]
assert [f.path for f in client.list_artifacts(run_id)] == []
