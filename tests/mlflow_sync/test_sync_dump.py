"""`jupyter-tracker dump DIR --format parquet|csv|json`: tables pandas reads as they are."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from _mlflow_server import cli

import jupyter_tracker as jt
from jupyter_tracker.store import sync

TABLES = ("runs", "params", "metrics", "tags", "artifacts")


@pytest.fixture
def runs(store):
    with jt.start_run(name="a", params={"alpha": 0.5, "opt": "adam"}, tags={"stage": "dev"}) as a:
        for value in (1.0, math.nan, math.inf, -math.inf):
            jt.log_metric("loss", value)
        jt.log_artifact("hello", name="notes/hello.txt")
    with jt.start_run(name="b", params={"alpha": 0.1}) as b:
        jt.log_metric("loss", 0.5, step=7)
    store.flush()
    return a, b


def _read(folder, table: str, format: str) -> pd.DataFrame:
    path = folder / f"{table}.{format}"
    if format == "csv":
        return pd.read_csv(path)
    if format == "json":
        return pd.read_json(path, dtype=False)
    return pd.read_parquet(path)


@pytest.mark.parametrize("format", ["csv", "json", "parquet"])
def test_dump_writes_tables_pandas_reads(store, runs, tmp_path, format):
    a, b = runs
    folder = tmp_path / "out"
    result = cli("dump", str(folder), "--format", format, store=store.path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Wrote 2 runs to {folder} as {format}")
    frames = {table: _read(folder, table, format) for table in TABLES}
    runs_table = frames["runs"].set_index("run_id")
    assert list(runs_table.loc[[a.id, b.id], "name"]) == ["a", "b"]
    assert runs_table.loc[a.id, "status"] == "FINISHED"
    assert int(runs_table.loc[a.id, "start_time"]) == jt.get_run(a.id)._start_ms
    params = frames["params"]
    assert set(zip(params.run_id, params.key, params.value.astype(str), strict=True)) == {
        (a.id, "alpha", "0.5"),
        (a.id, "opt", "adam"),
        (b.id, "alpha", "0.1"),
    }
    metrics = frames["metrics"]
    values = metrics[metrics.run_id == a.id].value.astype(float).tolist()  # JSON: "NaN" too
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2:] == [math.inf, -math.inf]
    assert metrics[metrics.run_id == b.id].step.tolist() == [7]
    tags = frames["tags"]
    assert {k: v for r, k, v in tags.itertuples(index=False) if r == a.id} == sync.all_tags(
        store, a.id
    )
    assert frames["artifacts"].path.tolist() == ["notes/hello.txt"]


def test_parquet_without_pyarrow_says_what_to_install(store, runs, tmp_path):
    absent = tmp_path / "no-pyarrow" / "pyarrow"
    absent.mkdir(parents=True)
    (absent / "__init__.py").write_text("raise ImportError('pyarrow is not installed')\n")
    folder = tmp_path / "out"
    result = cli(
        "dump", str(folder), "--format", "parquet", store=store.path, pythonpath=absent.parent
    )
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "needs pyarrow" in line and "--format csv" in line
    assert not folder.exists() or not list(folder.iterdir())


def test_dump_takes_a_filter(store, runs, tmp_path):
    result = cli("dump", str(tmp_path / "one"), "--filter", "params.alpha > 0.3", store=store.path)
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(tmp_path / "one" / "runs.csv").name.tolist() == ["a"]
