"""The benchmark scripts run end to end and report every workload (figures are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick_report(script: str, tmp_path: Path) -> tuple[dict, str]:
    """``benchmarks/<script> --quick``'s JSON report, and its rows' names in one text; every
    row's verdict is one the table knows."""
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert all(row[-1] in ("PASS", "MISS", "n/a") for row in report["table"])
    return report, " ".join(str(row) for row in report["table"])


def test_quick_benchmark_reports_every_workload(tmp_path):
    _, names = quick_report("run.py", tmp_path)
    for workload in ("log_metric", "lifecycle", "new store", "search_runs", "import", "bytes"):
        assert workload in names


def test_quick_scale_benchmark_reports_every_view(tmp_path):
    report, names = quick_report("scale.py", tmp_path)
    for view in ("top-100", "run table", "REST", "search_runs", "count", "on disk", "series"):
        assert view in names
    runs = report["runs"]
    assert {n: runs["rest"][str(n)]["rows"] for n in (200, 2000)} == {200: 50, 2000: 50}


def test_quick_autolog_benchmark_reports_every_workload(tmp_path):
    _, names = quick_report("autolog.py", tmp_path)
    for workload in ("RandomForest", "HistGradientBoosting", "every 1 s", "every 10 s"):
        assert workload in names
