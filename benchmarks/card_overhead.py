"""The live run card's overhead: a tracked notebook cell against a plain ``start_run`` script.

    .venv/bin/python benchmarks/card_overhead.py [--points N] [--repeat R]

Logs N points (default 100,000) with ``jt.log_metric`` in a loop, three ways:

- ``script``: ``with jt.start_run(): <loop>`` in a fresh interpreter (subprocess), timed
  inside the script from before ``start_run`` to after the run ended (its final flush);
  the store is opened (created) and a 1,000-point warm-up run made before, untimed, in
  both cases;
- ``%%track_run (live card)``: the same loop as a ``%%track_run`` cell in a real kernel
  (jupyter_client), timed from sending the execute request to the kernel going idle: the
  run's start, the capture, the card and its refresh thread, the loop, the final flush and
  the final card;
- ``%%track_run --quiet``: the same cell without the card, to tell the card's cost from the
  magic's;
- ``start_run`` in a kernel cell: the script's code run as a cell, to tell what the kernel
  itself (request to idle, its threads) costs from what the magic adds.

Each repetition uses a fresh store; the modes are interleaved; the figure is the median.
Issue 3's target: the tracked cell with the live card at most 1.2x the script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.2
LOOP = "for i in range({points}):\n    jt.log_metric('loss', i * 1e-3)\n"
SCRIPT = """\
import os
import time
import jupyter_tracker as jt

jt.set_store(os.environ["JUPYTER_TRACKER_STORE"])  # untimed, as in the kernel
with jt.start_run(name="warmup"):  # first-run costs, untimed, as in the kernel
    for i in range(1000):
        jt.log_metric("loss", i * 1e-3)
t0 = time.perf_counter()
with jt.start_run(name="script"):
{loop}
print(time.perf_counter() - t0)
"""


def _indent(text: str) -> str:
    return "".join("    " + line for line in text.splitlines(keepends=True))


def time_script(points: int, store: Path) -> float:
    """Seconds for the loop in a ``start_run`` script, final flush included."""
    code = SCRIPT.format(loop=_indent(LOOP.format(points=points)))
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(store)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


class Kernel:
    """An ipykernel of this interpreter with the extension loaded."""

    def __init__(self, folder: Path) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        spec = folder / "kernels" / "jt-bench"
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        argv.append("--HistoryManager.hist_file=:memory:")
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
        self.km = KernelManager(
            kernel_name="jt-bench",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]),
        )
        self.km.start_kernel(
            env={**os.environ, "JUPYTER_TRACKER_STORE": str(folder / "warmup-store")},
            cwd=str(folder),
        )
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=60)
        self.run("%load_ext jupyter_tracker\nimport jupyter_tracker as jt")

    def run(self, code: str) -> tuple[float, int]:
        """Seconds from the request to idle, and how many card updates came meanwhile."""
        start = time.perf_counter()
        msg_id = self.kc.execute(code)
        updates = 0
        while True:
            msg = self.kc.get_iopub_msg(timeout=600)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "error":
                raise RuntimeError("\n".join(msg["content"]["traceback"]))
            updates += kind == "update_display_data"
            if kind == "status" and msg["content"]["execution_state"] == "idle":
                return time.perf_counter() - start, updates

    def time_cell(self, points: int, store: Path, quiet: bool) -> tuple[float, int]:
        self.run(f"jt.set_store({str(store)!r});")  # untimed: a fresh store per repetition
        flag = " --quiet" if quiet else ""
        return self.run(f"%%track_run --name cell{flag}\n" + LOOP.format(points=points))

    def time_plain_cell(self, points: int, store: Path) -> float:
        self.run(f"jt.set_store({str(store)!r});")
        loop = "".join("    " + line for line in LOOP.format(points=points).splitlines(True))
        return self.run("with jt.start_run(name='cell'):\n" + loop)[0]

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    times: dict[str, list[float]] = {"script": [], "card": [], "quiet": [], "kernel": []}
    updates: list[int] = []
    with tempfile.TemporaryDirectory(prefix="jt-card-bench-") as tmp:
        folder = Path(tmp)
        kernel = Kernel(folder)
        try:
            kernel.time_cell(1000, folder / "warmup-store", quiet=False)  # first-run caches
            for rep in range(args.repeat):
                times["script"].append(time_script(args.points, folder / f"script-{rep}"))
                seconds, shown = kernel.time_cell(args.points, folder / f"card-{rep}", False)
                times["card"].append(seconds)
                updates.append(shown)
                seconds, _ = kernel.time_cell(args.points, folder / f"quiet-{rep}", True)
                times["quiet"].append(seconds)
                times["kernel"].append(kernel.time_plain_cell(args.points, folder / f"k-{rep}"))
        finally:
            kernel.close()

    script = statistics.median(times["script"])
    rows = [
        ("plain start_run script", script, ""),
        ("%%track_run, live card", statistics.median(times["card"]), f"<= {TARGET}x"),
        ("%%track_run --quiet (no card)", statistics.median(times["quiet"]), ""),
        ("start_run in a kernel cell", statistics.median(times["kernel"]), ""),
    ]
    print(
        f"{args.points:,} log_metric calls, median of {args.repeat} "
        f"(load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs)\n"
    )
    print(f"| {'workload':<30} | {'seconds':>7} | {'points/s':>9} | {'ratio':>5} | target |")
    print(f"|{'-' * 32}|{'-' * 9}|{'-' * 11}|{'-' * 7}|--------|")
    for name, seconds, target in rows:
        ratio = seconds / script
        verdict = ("PASS" if ratio <= TARGET else "MISS") if target else ""
        print(
            f"| {name:<30} | {seconds:7.3f} | {args.points / seconds:9,.0f} | "
            f"{ratio:4.2f}x | {target} {verdict} |"
        )
    print(f"\ncard updates per tracked cell: {sorted(updates)}")


if __name__ == "__main__":
    main()
