# Resuming a run: start_run(run_id) positionally, and MLFLOW_RUN_ID (used once).
import os

import mlflow

with mlflow.start_run(run_name="first") as run:
    mlflow.log_param("a", 1)
    mlflow.log_metric("m", 1.0, step=0)
with mlflow.start_run(run.info.run_id):
    mlflow.log_metric("m", 2.0, step=1)
os.environ["MLFLOW_RUN_ID"] = run.info.run_id
with mlflow.start_run():
    mlflow.log_param("b", 2)
with mlflow.start_run(run_name="second"):  # MLFLOW_RUN_ID was used up
    mlflow.log_param("c", 3)
assert len(mlflow.search_runs()) == 2
