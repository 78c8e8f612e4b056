# Nested runs, a run adopted with parent_run_id, and finding children by their parent.
import mlflow

experiment_id = mlflow.create_experiment("nested")
with mlflow.start_run(run_name="parent", experiment_id=experiment_id, tags={"v": "1"}) as parent:
    mlflow.log_param("role", "parent")
    for child in ("child-a", "child-b"):
        with mlflow.start_run(run_name=child, experiment_id=experiment_id, nested=True):
            mlflow.log_param("role", child)
            mlflow.log_metric("loss", 0.5, step=5)
            mlflow.log_metric("loss", 0.9, step=3)  # not the latest: its step is lower
with mlflow.start_run(
    run_name="adopted",
    experiment_id=experiment_id,
    parent_run_id=parent.info.run_id,
    description="a late child",
):
    mlflow.log_param("role", "adopted")

query = f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
children = mlflow.search_runs(
    [experiment_id], filter_string=query, order_by=["tags.mlflow.runName"]
)
assert children["tags.mlflow.runName"].tolist() == ["adopted", "child-a", "child-b"]
assert children["metrics.loss"].tolist()[1:] == [0.5, 0.5]
assert mlflow.get_parent_run(children["run_id"][0]).info.run_id == parent.info.run_id
