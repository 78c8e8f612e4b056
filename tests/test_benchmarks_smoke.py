"""The benchmark scripts run end to end and report every workload (figures are not judged)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_benchmark_reports_every_workload(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    names = " ".join(str(row) for row in report["table"])
    for workload in ("log_metric", "lifecycle", "new store", "search_runs", "import", "bytes"):
        assert workload in names
    assert all(row[-1] in ("PASS", "MISS", "n/a") for row in report["table"])


def test_quick_scale_benchmark_reports_every_view(tmp_path):
    out = tmp_path / "scale.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scale.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    names = " ".join(str(row) for row in report["table"])
    for view in ("top-100", "run table", "REST", "search_runs", "count", "on disk", "series"):
        assert view in names
    assert all(row[-1] in ("PASS", "MISS", "n/a") for row in report["table"])
    runs = report["runs"]
    assert {n: runs["rest"][str(n)]["rows"] for n in (200, 2000)} == {200: 50, 2000: 50}
