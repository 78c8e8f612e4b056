# Artifacts as MLflow lays them out: the second argument of log_artifact is a folder.
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import mlflow

os.makedirs("data/states", exist_ok=True)
with open("data/features.txt", "w") as f:
    f.write("rooms, zipcode")
with open("data/states/tx.json", "w") as f:
    f.write('{"state": "TX"}')
fig, ax = plt.subplots()
ax.plot([0, 1], [2, 3])
with mlflow.start_run(run_name="files"):
    mlflow.log_artifact("data/features.txt")
    mlflow.log_artifact("data/features.txt", "features")
    mlflow.log_artifacts("data/states", artifact_path="states")
    mlflow.log_text("data/features.txt", "not_the_file.txt")  # the text itself
    mlflow.log_dict({"k": "v", "n": [1, 2]}, "config/params.json")
    mlflow.log_dict({"k": "v"}, "config/params.yaml")
    mlflow.log_table({"q": ["a", "b"], "score": [0.5, 0.25]}, artifact_file="eval/table.json")
    mlflow.log_table({"q": ["c"], "score": [1.0]}, artifact_file="eval/table.json")
    mlflow.log_figure(fig, "plots/line.png")
    try:
        mlflow.log_figure(ax, "plots/axes.png")
    except TypeError:
        pass
    else:
        raise AssertionError("an Axes is not a figure")
