# Values as MLflow stores them: numpy floats, ':' in keys, float steps, filters on them.
import mlflow
import numpy as np

with mlflow.start_run(run_name="values") as run:
    mlflow.log_param("lr", np.float32(0.1))
    mlflow.log_param("layers", np.int64(3))
    mlflow.log_params({"opt:name": "adam", "opt:beta": 0.9})
    mlflow.log_metric("val:loss", np.float64(0.5), step=2.0)
    mlflow.log_metrics({"acc": 0.75, "f1": 0.5}, step=1, timestamp=1_700_000_000_000)
    mlflow.set_tags({"team:owner": "ana", "stage": "dev"})
found = mlflow.search_runs(filter_string="params.lr = '0.1' and metrics.`val:loss` < 1")
assert found["run_id"].tolist() == [run.info.run_id]
assert mlflow.get_run(run.info.run_id).data.params["lr"] == "0.1"
