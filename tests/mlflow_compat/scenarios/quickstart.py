# MLflow's quickstart pattern: fluent calls with no run started, metrics without steps.
import os

from mlflow import end_run, log_artifacts, log_metric, log_param

log_param("param1", 42)
log_metric("foo", 0.25)
log_metric("foo", 1.25)
log_metric("foo", 2.25)
log_metric("accuracy 2", 0.5)
os.makedirs("outputs", exist_ok=True)
with open("outputs/test.txt", "w") as f:
    f.write("hello world!")
log_artifacts("outputs")
end_run()
