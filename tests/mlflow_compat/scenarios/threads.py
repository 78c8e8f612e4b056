# A worker thread's start_run while the main thread has a run gets a run of its own.
import threading

import mlflow


def work():
    with mlflow.start_run(run_name="worker"):
        mlflow.log_metric("rows", 10.0, step=0)


with mlflow.start_run(run_name="main"):
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    mlflow.log_metric("rows", 20.0, step=0)
