"""Soak: many concurrent runs for a long time, with readers and a ``gc`` every minute.

    .venv/bin/python benchmarks/soak.py [--runs 20] [--minutes 30] [--rate 2000]

Each of ``--runs`` processes logs one run: ``--rate`` metric points a second (a tenth of
them as a burst of ``log_metrics``), a param and a tag now and then, an artifact a minute
(the same content again every other time, so ``gc`` and re-logging race). Two reader
processes search and read histories in a loop; every minute a process deletes the previous
minute's finished scratch runs and runs ``gc``. At the end every writer reports what it
logged (acknowledged calls) and the table compares it with what the store holds.
Not part of CI: it takes ``--minutes``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = r"""
import json, os, sys, time
import jupyter_tracker as jt
index, seconds, rate = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
done = 0; params = 0; artifacts = 0; errors = []
end = time.monotonic() + seconds
with jt.start_run(name=f"soak-{index}") as run:
    tick = time.monotonic()
    while time.monotonic() < end:
        try:
            for _ in range(rate // 10):
                jt.log_metric("loss", 1.0 / (done + 1)); done += 1
            jt.log_metrics({"a": 1.0, "b": 2.0}); done += 2
            if done % (rate * 5) < rate // 10:
                jt.log_param(f"p{params}", params); params += 1
                jt.set_tag("progress", str(done))
            if time.monotonic() - tick > 60:
                tick = time.monotonic()
                jt.log_text("same" if artifacts % 2 else f"new {artifacts}", "notes.txt")
                artifacts += 1
        except Exception as exc:  # counted, never hidden
            errors.append(repr(exc)[:200])
        time.sleep(0.1)
print(json.dumps({"run_id": run.id, "points": done, "params": params,
                  "artifacts": artifacts, "errors": errors[:5], "n_errors": len(errors)}))
"""

READER = r"""
import json, sys, time
import jupyter_tracker as jt
end = time.monotonic() + float(sys.argv[1]); reads = 0; errors = []
while time.monotonic() < end:
    try:
        frame = jt.search_runs(filter_string="status = 'RUNNING'")
        for run_id in frame["run_id"][:3]:
            jt.metric_history(run_id, "loss")
        reads += 1
    except Exception as exc:
        errors.append(repr(exc)[:200])
    time.sleep(0.5)
print(json.dumps({"reads": reads, "errors": errors[:5], "n_errors": len(errors)}))
"""

JANITOR = r"""
import json, sys, time
import jupyter_tracker as jt
from jupyter_tracker.store._maintenance import collect_garbage, delete_run
end = time.monotonic() + float(sys.argv[1]); passes = 0; errors = []
store = jt.set_store(None)
while time.monotonic() < end:
    time.sleep(60)
    try:
        with jt.start_run(name="scratch") as scratch:
            jt.log_text("scratch", "notes.txt")
        delete_run(store, scratch.id)
        collect_garbage(store)
        passes += 1
    except Exception as exc:
        errors.append(repr(exc)[:200])
print(json.dumps({"gc": passes, "errors": errors[:5], "n_errors": len(errors)}))
"""


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=int, default=2000, help="points a second per run")
    args = parser.parse_args()
    seconds = args.minutes * 60
    folder = Path(tempfile.mkdtemp(prefix="jt-soak-"))
    env = {**os.environ, "JUPYTER_TRACKER_STORE": str(folder / "store")}

    def start(code: str, *argv: object) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", code, *map(str, argv)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )

    writers = [start(WRITER, i, seconds, args.rate) for i in range(args.runs)]
    readers = [start(READER, seconds) for _ in range(2)]
    janitor = start(JANITOR, seconds)
    time.sleep(min(20, seconds / 4))
    rss_start = [rss_kb(p.pid) for p in writers]
    time.sleep(max(0, seconds - 20 - min(20, seconds / 4)))
    rss_end = [rss_kb(p.pid) for p in writers]
    reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in writers]
    read_reports = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in readers]
    gc_report = json.loads(janitor.communicate()[0].strip().splitlines()[-1])

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import jupyter_tracker as jt

    store = jt.set_store(folder / "store")
    offered = sum(r["points"] for r in reports)
    stored = 0
    false_crashed = 0
    for report in reports:
        rows = store.read(
            "SELECT COALESCE(SUM(count), 0) FROM series WHERE run_id = ?", (report["run_id"],)
        )
        stored += rows[0][0]
        false_crashed += jt.get_run(report["run_id"]).status != "FINISHED"
    missing_blobs = store.read("SELECT COUNT(*) FROM artifacts")[0][0] - sum(
        store.blob_path(sha).is_file() for (sha,) in store.read("SELECT sha256 FROM artifacts")
    )
    by_role = (
        sum(r["n_errors"] for r in reports),
        sum(r["n_errors"] for r in read_reports),
        gc_report["n_errors"],
    )
    errors = sum(by_role)
    print(f"soak: {args.runs} runs x {args.minutes:g} min at {args.rate} points/s each")
    print(f"| points acknowledged | {offered:,} |")
    print(f"| points stored | {stored:,} ({stored / max(offered, 1):.4%}) |")
    roles = " / ".join(map(str, by_role))
    print(f"| errors seen by users (writers / readers / gc) | {errors} ({roles}) |")
    print(f"| runs not FINISHED (false CRASHED) | {false_crashed} |")
    print(f"| reads / gc passes | {sum(r['reads'] for r in read_reports)} / {gc_report['gc']} |")
    print(f"| artifact rows whose blob is missing | {missing_blobs} |")
    print(
        f"| writer memory (RSS) at start / end | {sum(rss_start) / len(rss_start) / 1024:.1f}"
        f" / {sum(rss_end) / len(rss_end) / 1024:.1f} MB |"
    )
    for report in reports + read_reports + [gc_report]:
        for error in report["errors"]:
            print("error:", error)


if __name__ == "__main__":
    main()
