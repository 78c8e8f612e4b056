"""A kernelspec for tests that start real kernels (imported by the kernel and notebook tests)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def kernel_specs(folder: Path) -> Path:
    """A kernelspec folder with ``jt-test``: this interpreter's ipykernel, history in memory
    (whatever kernelspecs the machine has)."""
    specs = folder / "kernels"
    (specs / "jt-test").mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {
        "argv": [*argv, "--HistoryManager.hist_file=:memory:"],
        "display_name": "jupyter-tracker tests",
        "language": "python",
    }
    (specs / "jt-test" / "kernel.json").write_text(json.dumps(spec))
    return specs
