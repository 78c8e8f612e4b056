"""System metrics sampled by the store's writer thread into the runs that ask for them, by
MLflow's names; no GPU (this machine has none) and no psutil are handled."""

from __future__ import annotations

import sys
import threading
import time
import types

import pytest

import jupyter_tracker as jt
from jupyter_tracker import system_metrics

pytest.importorskip("psutil")

MLFLOWS = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_usage_percentage",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}
DEADLINE_S = 20


@pytest.fixture
def every_second(store):
    jt.set_system_metrics_sampling_interval(1)
    yield
    jt.set_system_metrics_sampling_interval(None)
    system_metrics.enable(None)  # as the environment says


def sampled(run) -> set[str]:
    """The system metrics of a live run, waiting for the writer's first samples."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = {k for k in run.metrics if k.startswith("system/")}
        if found:
            return found
        time.sleep(0.05)
    return set()


def test_a_run_that_asks_gets_mlflows_system_metrics_and_no_gpu_ones(every_second):
    before = set(threading.enumerate())
    with jt.start_run(log_system_metrics=True) as run:
        names = sampled(run)
        other = jt.start_run(nested=True, log_system_metrics=True)
        assert sampled(other)
        new = set(threading.enumerate()) - before
        assert [t.name for t in new] in ([], ["jupyter-tracker-writer"])  # none of their own
        other.end()
    assert names == MLFLOWS  # this machine has no NVIDIA GPU: no gpu_* metric, no error
    stored = jt.get_run(run.id)
    assert 0 <= stored.metrics["system/cpu_utilization_percentage"] <= 100 * 64
    assert stored.metrics["system/system_memory_usage_megabytes"] > 0
    history = jt.metric_history(run.id, "system/disk_usage_percentage")
    assert list(history["step"]) == list(range(len(history)))


def test_runs_that_do_not_ask_get_none(every_second):
    with jt.start_run() as quiet, jt.start_run(nested=True, log_system_metrics=True) as loud:
        assert sampled(loud)
    assert not any(k.startswith("system/") for k in jt.get_run(quiet.id).metrics)


def test_enabled_for_every_run_by_the_setting_or_mlflows_variable(every_second, monkeypatch):
    jt.enable_system_metrics_logging()
    with jt.start_run() as run:
        assert sampled(run)
    with jt.start_run(log_system_metrics=False) as declined:
        time.sleep(1.5)  # a sample would have come by now
    assert not any(k.startswith("system/") for k in jt.get_run(declined.id).metrics)
    jt.disable_system_metrics_logging()
    system_metrics.enable(None)
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    with jt.start_run() as run:
        assert sampled(run)


def test_track_run_system_samples_the_cells_run(ip, every_second):
    ip.run_cell(
        "%%track_run --system --name sys\n"
        "import time, jupyter_tracker as jt\n"
        "deadline = time.monotonic() + 20\n"
        "while not any(k.startswith('system/') for k in jt.active_run().metrics):\n"
        "    assert time.monotonic() < deadline\n"
        "    time.sleep(0.05)\n"
    )
    (run,) = jt.search_runs(output_format="list")
    assert run.status == "FINISHED"
    assert "system/cpu_utilization_percentage" in run.metrics


def test_no_nvidia_library_or_driver_means_no_gpu(monkeypatch):
    pytest.importorskip("pynvml")  # nvidia-ml-py installed, but no driver or GPU here
    assert system_metrics._nvml_handles() == []
    monkeypatch.setitem(sys.modules, "pynvml", None)  # not installed
    assert system_metrics._nvml_handles() == []


def test_a_gpu_reading_is_named_as_mlflow_names_it():
    """The GPU path against a stand-in for NVML (no GPU on this machine): names and units;
    a quantity the device does not report is left out."""

    def unsupported(handle):
        raise RuntimeError("NVMLError_NotSupported")

    nvml = types.SimpleNamespace(
        NVML_TEMPERATURE_GPU=0,
        nvmlDeviceGetUtilizationRates=lambda h: types.SimpleNamespace(gpu=37),
        nvmlDeviceGetMemoryInfo=lambda h: types.SimpleNamespace(used=2e9, total=8e9),
        nvmlDeviceGetPowerUsage=lambda h: 150_000,  # milliwatts
        nvmlDeviceGetEnforcedPowerLimit=lambda h: 300_000,
        nvmlDeviceGetTemperature=unsupported,
    )
    assert system_metrics._gpu_sample(nvml, "handle", 1) == {
        "gpu_1_utilization_percentage": 37,
        "gpu_1_memory_usage_megabytes": 2000.0,
        "gpu_1_memory_usage_percentage": 25.0,
        "gpu_1_power_usage_watts": 150.0,
        "gpu_1_power_usage_percentage": 50.0,
    }


def test_without_psutil_one_line_says_what_to_install(store, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "psutil", None)
    monkeypatch.setattr(system_metrics._SETTINGS, "said", set())
    with jt.start_run(log_system_metrics=True) as run:
        jt.log_metric("loss", 1.0)
    assert "system metrics need psutil: pip install psutil" in capsys.readouterr().err
    assert jt.get_run(run.id).metrics == {"loss": 1.0}


def test_the_card_shows_the_runs_own_metrics_before_the_system_ones(store):
    from jupyter_tracker.notebook.card import RunCard

    with jt.start_run() as run:
        run.log_metric("system/cpu_utilization_percentage", 5.0)
        run.log_metric("zeta_loss", 1.0)
        card = RunCard(run, html=True)
        html, text = card.render_html(), card.text()
    for shown in (html, text):
        assert shown.index("zeta_loss") < shown.index("system/cpu_utilization_percentage")


def test_the_comparison_puts_the_runs_own_metrics_first(store):
    ids = []
    for loss in (0.5, 0.4):
        with jt.start_run() as run:
            run.log_metric("system/cpu_utilization_percentage", 5.0)
            run.log_metric("zeta_loss", loss)
        ids.append(run.id)
    comparison = jt.compare(ids)
    assert comparison.metric_keys == ["zeta_loss", "system/cpu_utilization_percentage"]


def test_autolog_and_system_metrics_import_no_framework(run_script):
    out = run_script(
        """
        import sys
        import jupyter_tracker as jt
        jt.autolog()
        jt.enable_system_metrics_logging()
        frameworks = (
            "sklearn", "lightgbm", "xgboost", "keras", "jax", "psutil", "pynvml", "papermill"
        )
        print(sorted(name for name in frameworks if name in sys.modules))
        """
    )
    assert out.stdout.strip() == "[]"
