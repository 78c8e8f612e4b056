# Experiments: set_experiment returns one, search_runs reads the active one.
import os

import mlflow

os.environ["MLFLOW_EXPERIMENT_NAME"] = "from-env"
with mlflow.start_run(run_name="env"):
    mlflow.log_param("where", "env")
experiment = mlflow.set_experiment("chosen")
assert experiment.name == "chosen" and experiment.lifecycle_stage == "active"
with mlflow.start_run(run_name="chosen-run"):
    mlflow.log_param("where", "chosen")
assert mlflow.search_runs()["params.where"].tolist() == ["chosen"]
assert len(mlflow.search_runs(search_all_experiments=True)) == 2
by_id = mlflow.set_experiment(experiment_id=experiment.experiment_id)
assert by_id.name == "chosen"
assert mlflow.get_experiment_by_name("from-env") is not None
assert mlflow.get_experiment_by_name("missing") is None
names = mlflow.search_runs(experiment_names=["from-env"])["params.where"].tolist()
assert names == ["env"]
