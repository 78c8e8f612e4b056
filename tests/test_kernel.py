"""The magics in a real kernel (jupyter_client): cell ids, interrupts, restarts, display updates.

Each test starts an ipykernel from this venv's interpreter (a kernelspec written to a tmp
folder, so no user-level ``python3`` spec can shadow it), with the store of the ``store``
fixture; the test reads the same store from this process.
"""

from __future__ import annotations

import os
import signal

import pytest
from _kernels import kernel_specs
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

import jupyter_tracker as jt

TIMEOUT_S = 60
CELL_IDS = ("3f2a9c1e-cell-a", "77b0d4aa-cell-b")


class Kernel:
    """A kernel and a client, sending execute requests the way JupyterLab does."""

    def __init__(self, km: KernelManager) -> None:
        self.km = km
        self.kc = km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=TIMEOUT_S)

    def send(self, code: str, cell_id: str | None = None) -> str:
        """Send ``code`` as a cell (with JupyterLab's ``cellId`` metadata); the msg id."""
        content = {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }
        metadata = {"cellId": cell_id} if cell_id else {}
        msg = self.kc.session.msg("execute_request", content, metadata=metadata)
        self.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def until(self, msg_id: str, done) -> list[dict]:
        """The iopub messages of request ``msg_id`` up to the first one ``done`` accepts."""
        seen = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=TIMEOUT_S)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            seen.append(msg)
            if done(msg):
                return seen

    def collect(self, msg_id: str) -> list[dict]:
        """The iopub messages of request ``msg_id`` until the kernel is idle again."""
        return self.until(
            msg_id,
            lambda m: m["msg_type"] == "status" and m["content"]["execution_state"] == "idle",
        )

    def run(self, code: str, cell_id: str | None = None) -> list[dict]:
        """Run a cell to its end; its iopub messages."""
        return self.collect(self.send(code, cell_id))

    def wait_for_output(self, msg_id: str, text: str) -> None:
        """Block until the running cell prints ``text`` (no sleeps for ordering)."""
        self.until(
            msg_id, lambda m: m["msg_type"] == "stream" and text in m["content"].get("text", "")
        )

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def stdout(messages: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def errors(messages: list[dict]) -> list[str]:
    return [m["content"]["ename"] for m in messages if m["msg_type"] == "error"]


def value(messages: list[dict]) -> str | None:
    results = [m for m in messages if m["msg_type"] == "execute_result"]
    return results[-1]["content"]["data"]["text/plain"] if results else None


@pytest.fixture
def notebook_path(tmp_path):
    path = tmp_path / "work" / "analysis.ipynb"
    path.parent.mkdir()
    path.write_text("{}")
    return path


@pytest.fixture
def start_kernel(store, tmp_path, notebook_path):
    """Start kernels (this venv's Python) whose env names the store and the notebook."""
    specs = kernel_specs(tmp_path)
    env = {
        **os.environ,
        "JUPYTER_TRACKER_STORE": str(store.path),
        # what jupyter_server sets for the kernels of a notebook session
        "JPY_SESSION_NAME": str(notebook_path),
    }
    started: list[Kernel] = []

    def start() -> Kernel:
        km = KernelManager(
            kernel_name="jt-test",
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)]),
        )
        km.start_kernel(env=env, cwd=str(notebook_path.parent))
        kernel = Kernel(km)
        started.append(kernel)
        assert not errors(kernel.run("%load_ext jupyter_tracker"))
        return kernel

    yield start
    for kernel in started:
        kernel.close()


@pytest.fixture
def kernel(start_kernel):
    return start_kernel()


def runs_by_start():
    frame = jt.search_runs(order_by="start_time ASC")
    return [jt.get_run(run_id) for run_id in frame["run_id"]]


# A cell that logs forever; it prints once points are stored, so the test knows when to act.
ENDLESS = (
    "%%track_run --name endless\n"
    "import itertools, time\n"
    "import jupyter_tracker as jt\n"
    "for i in itertools.count():\n"
    "    jt.log_metric('loss', 1 / (i + 1))\n"
    "    if i == 2000:\n"
    "        print('logging', flush=True)\n"
    "    if i % 500 == 0:\n"
    "        time.sleep(0.005)\n"
)


# -- cell id, notebook path, re-runs ------------------------------------------------------


def test_cell_id_from_the_request_and_notebook_path_from_the_session(kernel, notebook_path):
    cell = (
        "%%track_run alpha=0.5 --name cell\nimport jupyter_tracker as jt\njt.log_metric('m', 1)\n"
    )
    assert not errors(kernel.run(cell, cell_id=CELL_IDS[0]))
    assert not errors(kernel.run(cell, cell_id=CELL_IDS[0]))  # the same cell, run again
    assert not errors(kernel.run(cell, cell_id=CELL_IDS[1]))  # another cell, same source
    assert not errors(kernel.run(cell))  # a frontend that sends no cell id

    first, again, other, anonymous = runs_by_start()
    assert (first.cell_id, first.rerun_of) == (CELL_IDS[0], None)
    assert (again.cell_id, again.rerun_of) == (CELL_IDS[0], first.id)
    assert (other.cell_id, other.rerun_of) == (CELL_IDS[1], None)
    assert (anonymous.cell_id, anonymous.rerun_of) == (None, None)
    assert {r.status for r in (first, again, other, anonymous)} == {"FINISHED"}
    assert {r.notebook for r in (first, again, other, anonymous)} == {str(notebook_path)}
    assert first.capture["location"]["cell_id"] == CELL_IDS[0]
    assert first.capture["kernel_id"]
    assert anonymous.capture["location"]["cell_id"] is None


def test_a_rerun_links_to_the_latest_run_of_that_cell(kernel):
    cell = "%%track_run --quiet\nx = 1\n"
    for _ in range(3):
        assert not errors(kernel.run(cell, cell_id=CELL_IDS[0]))
    first, second, third = runs_by_start()
    assert (second.rerun_of, third.rerun_of) == (first.id, second.id)


# -- the stop button ----------------------------------------------------------------------


def test_interrupt_kills_the_run_keeps_its_points_and_the_kernel_goes_on(kernel):
    msg_id = kernel.send(ENDLESS, cell_id=CELL_IDS[0])
    kernel.wait_for_output(msg_id, "logging")
    kernel.km.interrupt_kernel()
    messages = kernel.collect(msg_id)
    assert errors(messages) == ["KeyboardInterrupt"]
    final = [m for m in messages if m["msg_type"] == "update_display_data"][-1]
    assert "KILLED" in final["content"]["data"]["text/html"]

    (run,) = runs_by_start()
    assert run.status == "KILLED"
    assert "KeyboardInterrupt" in run.error
    logged = int(value(kernel.run("i")))  # the loop's counter when the interrupt landed
    stored = len(jt.metric_history(run.id, "loss"))
    assert logged >= 2000
    assert stored in (logged, logged + 1)  # every point logged before the interrupt

    # the kernel is still usable, and tracking too
    assert value(kernel.run("1 + 1")) == "2"
    assert not errors(kernel.run("%%track_run --name after\nx = 2\n"))
    assert [r.status for r in runs_by_start()] == ["KILLED", "FINISHED"]


# -- restarts and kernel death ------------------------------------------------------------


def test_a_kernel_killed_mid_cell_leaves_a_crashed_run_noted_on_the_next_load(start_kernel):
    kernel = start_kernel()
    msg_id = kernel.send(ENDLESS, cell_id=CELL_IDS[0])
    kernel.wait_for_output(msg_id, "logging")
    os.kill(kernel.km.provisioner.pid, signal.SIGKILL)  # the OOM killer, a segfault...
    kernel.km.provisioner.process.wait(timeout=TIMEOUT_S)
    (run,) = runs_by_start()
    assert run.status == "RUNNING"  # nobody could record the outcome

    kernel.km.restart_kernel(now=True)
    kernel.kc.wait_for_ready(timeout=TIMEOUT_S)
    out = stdout(kernel.run("%load_ext jupyter_tracker"))
    assert out.count("\n") == 1
    assert "1 run(s) left RUNNING by processes that died are now CRASHED" in out
    assert f"endless ({run.id[:8]})" in out
    (run,) = runs_by_start()
    assert run.status == "CRASHED"
    assert run.end_time is not None

    # loading again (or a new kernel) does not report it twice
    assert stdout(start_kernel().run("%reload_ext jupyter_tracker")) == ""


def test_a_restart_mid_cell_kills_the_run_says_so_on_the_card_and_keeps_its_points(kernel):
    """JupyterLab's restart (``restart_kernel(now=False)``): jupyter_client interrupts the
    kernel before asking it to shut down: the user stopped the run, so it is KILLED (never
    FINISHED, not CRASHED), its card says so before the kernel goes, every point stored."""
    msg_id = kernel.send(ENDLESS, cell_id=CELL_IDS[0])
    kernel.wait_for_output(msg_id, "logging")
    kernel.km.restart_kernel(now=False)
    final = kernel.until(
        msg_id,
        lambda m: (
            m["msg_type"] == "update_display_data"
            and "KILLED" in m["content"]["data"]["text/plain"]
        ),
    )
    assert final  # the card's last state reached the page before the kernel went
    kernel.kc.wait_for_ready(timeout=TIMEOUT_S)
    (run,) = runs_by_start()
    assert run.status == "KILLED"
    assert "KeyboardInterrupt" in run.error
    assert run.end_time is not None
    assert len(jt.metric_history(run.id, "loss")) > 2000
    assert stdout(kernel.run("%load_ext jupyter_tracker")) == ""  # nothing left to mark


def test_stopped_then_shut_down_at_once_stays_killed(kernel):
    """nbclient and papermill shut the kernel down right after the last cell: a run the
    user stopped just before is KILLED, and a later event never rewrites it."""
    msg_id = kernel.send(ENDLESS, cell_id=CELL_IDS[0])
    kernel.wait_for_output(msg_id, "logging")
    kernel.km.interrupt_kernel()
    kernel.collect(msg_id)
    kernel.km.shutdown_kernel(now=False)
    (run,) = runs_by_start()
    assert run.status == "KILLED"


# -- the live card ------------------------------------------------------------------------


def test_the_card_is_one_display_updated_in_place_until_the_final_state(kernel):
    messages = kernel.run(
        "%%track_run lr=0.1 --name live\n"
        "import time\n"
        "import jupyter_tracker as jt\n"
        "for step in range(40):\n"
        "    jt.log_metric('loss', 1 / (step + 1))\n"
        "    time.sleep(0.05)\n",
        cell_id=CELL_IDS[0],
    )
    displays = [m for m in messages if m["msg_type"] == "display_data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(displays) == 1
    display_id = displays[0]["content"]["transient"]["display_id"]
    assert display_id
    assert len(updates) >= 3  # refreshed while running, then the final state
    assert {m["content"]["transient"]["display_id"] for m in updates} == {display_id}
    for msg in displays + updates:
        assert {"text/html", "text/plain"} <= set(msg["content"]["data"])

    (run,) = runs_by_start()
    first = displays[0]["content"]["data"]
    assert "RUNNING" in first["text/plain"] and run.id[:8] in first["text/html"]
    live = [m["content"]["data"]["text/plain"] for m in updates[:-1]]
    assert any("RUNNING" in text and "loss:" in text for text in live)
    final = updates[-1]["content"]["data"]
    assert "FINISHED" in final["text/plain"] and "FINISHED" in final["text/html"]
    assert "loss: 0.025" in final["text/plain"]  # the last value, 1/40
    assert "<svg" in final["text/html"]  # the curve, from the stored history
    assert "✓ cell id" in final["text/html"] and "✓ notebook" in final["text/html"]
    assert run.metrics == {"loss": 1 / 40}


def test_a_failing_cell_ends_its_card_failed_with_the_error(kernel):
    messages = kernel.run(
        "%%track_run --name broken\nraise ValueError('learning rate too large')\n"
    )
    assert errors(messages) == ["ValueError"]
    final = [m for m in messages if m["msg_type"] == "update_display_data"][-1]["content"]["data"]
    assert "FAILED" in final["text/html"]
    assert "ValueError: learning rate too large" in final["text/html"]
    assert runs_by_start()[0].status == "FAILED"


def test_a_sweep_ends_with_its_results_table_as_html(kernel):
    messages = kernel.run(
        "%%track_sweep lr=0.1,0.5,1.0 --name grid --metric loss\n"
        "import jupyter_tracker as jt\n"
        "jt.log_metric('loss', abs(lr - 0.5))\n"
    )
    assert not errors(messages)
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1  # one live table, no card per child
    table = updates[-1]["content"]["data"]
    assert "sweep grid" in table["text/plain"] and "3/3 runs" in table["text/plain"]
    html = table["text/html"]
    assert "<table>" in html and "best lowest loss first" in html
    assert html.index("grid-2") < html.index("grid-1") < html.index("grid-3")  # by loss
    parents = [r for r in runs_by_start() if r.parent_id is None]
    assert [p.name for p in parents] == ["grid"]
    children = [r for r in runs_by_start() if r.parent_id == parents[0].id]
    assert sorted(c.params["lr"] for c in children) == [0.1, 0.5, 1.0]
    parent = parents[0]
    best = [c for c in children if c.params["lr"] == 0.5][0]
    assert parent.tags["jupyter_tracker.best_child"] == best.id
    assert parent.metrics == {"loss": 0.0} and "sweep_size" not in parent.params
    assert parent.tags["jupyter_tracker.sweep_size"] == "3"
    assert "★ grid-2" in html


def test_code_runs_show_a_card_and_bare_log_calls_end_with_their_cell(kernel):
    """`with jt.start_run()` shows a card that ends FINISHED; a bare log call's run ends with
    its cell (without %load_ext too: tests/test_magics.py)."""
    messages = kernel.run(
        "import jupyter_tracker as jt\nwith jt.start_run(name='ctx'):\n    jt.log_metric('x', 1.0)"
    )
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    updates = [m for m in messages if m["msg_type"] == "update_display_data"]
    assert len(shown) == 1 and "run ctx" in shown[0]["content"]["data"]["text/plain"]
    assert "FINISHED" in updates[-1]["content"]["data"]["text/plain"]
    kernel.run("jt.log_metric('y', 2.0)")
    statuses = {r.name: r.status for r in runs_by_start()}
    assert statuses["ctx"] == "FINISHED"
    assert set(statuses.values()) == {"FINISHED"}  # the bare call's run ended with its cell
